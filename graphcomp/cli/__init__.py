"""The command line: argument parsing and one small module per command; the only layer that does I/O."""
from graphcomp.cli.app import main

__all__ = ["main"]
