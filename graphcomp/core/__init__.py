"""Layer 1: errors, labels, nodes and their order, input values; imports nothing else of graphcomp."""
