"""Layer 4: ways in: YAML specs, formulas, and .npz array data."""
