"""Layer 3: the graph, its step plans, the sweeps (values, tangents, adjoints), second order, jit, the Trace."""
