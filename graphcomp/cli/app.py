"""Command-line entry point: one sub-command per module of graphcomp.cli.

Each command module defines `register(subparsers)`, parses its arguments, calls
the layers below and writes what they return. Only the command asked for is
imported (so `trace` starts without Graphviz, torch or scipy); without one, all
are, for the help. Every user error is a GraphcompError: one line, exit status 2.
"""
import argparse
import importlib
import os
import sys

from graphcomp.core.errors import GraphcompError

COMMANDS = ("trace", "parse", "draw", "code", "verify", "jacobian", "hessian", "solve", "report", "ops", "check", "exercise",
            "explain")


class _Parser(argparse.ArgumentParser):
    """argparse's parser with its errors on one line, as every other error is (argparse prints its usage first)."""

    def error(self, message):
        if "expected one argument" in message:
            message += " (if the value starts with '-', write it --option=-value: --expr=-x)"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv=None):
    """The argparse parser with the sub-command named in `argv` registered, or every one when none is named."""
    parser = _Parser(
        prog="graphcomp",
        description="Explicit computational graphs: evaluate, differentiate (forward and reverse mode), "
        "print traces, draw, and check against PyTorch.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    named = [a for a in (sys.argv[1:] if argv is None else argv)[:1] if a in COMMANDS]
    for name in named or COMMANDS:
        importlib.import_module(f"graphcomp.cli.{name}").register(sub)
    return parser


def main(argv=None):
    """Run the CLI; returns the process exit status."""
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    late = getattr(args, "late_positional", None)  # a last positional after options: check SPEC --wrt x2 ANSWERS
    if late and len(extra) == 1 and getattr(args, late) is None and not extra[0].startswith("-"):
        setattr(args, late, extra.pop())
    if extra:  # the command's own help lists what it takes
        _Parser(prog=f"graphcomp {args.command}").error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.run(args) or 0
    except GraphcompError as exc:
        print(f"graphcomp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphcomp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of standard output stopped reading (| head): quietly, with a shell's status for SIGPIPE; what is
        # left unflushed goes nowhere, so that Python's exit does not report the pipe again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
