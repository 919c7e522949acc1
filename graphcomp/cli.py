"""Command-line entry point: one sub-command per module in graphcomp.commands.

Each command module defines `register(subparsers)` and keeps its heavy imports
(torch, matplotlib, scipy) inside the function that runs it, so that `trace`
starts fast. Every user error is a GraphcompError: one line, exit status 2.
"""
import argparse
import importlib
import sys

from graphcomp.errors import GraphcompError

COMMANDS = ("trace", "parse", "draw", "code", "verify", "solve", "report", "ops")


def build_parser():
    """The argparse parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="graphcomp",
        description="Explicit computational graphs: evaluate, differentiate (forward and reverse mode), "
        "print traces, draw, and check against PyTorch.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"graphcomp.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"graphcomp.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv=None):
    """Run the CLI; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except GraphcompError as exc:
        print(f"graphcomp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphcomp: interrupted", file=sys.stderr)
        return 130
