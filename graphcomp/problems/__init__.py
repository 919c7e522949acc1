"""Layer 6: the problem set's applications: Problem 1's solvers, Problem 3's network and checks, the report."""
