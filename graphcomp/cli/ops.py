"""`graphcomp ops`: the op registry as a table — each op's definition and its derivative rules."""
from rich.console import Console

from graphcomp.render.tables import ops_table


def register(sub):
    p = sub.add_parser("ops", help="list the ops a spec can use, with their definitions and derivative rules",
                       description="The op registry: for each op, y = its definition, and the adjoint each "
                       "argument receives in reverse mode (ȳ times the local partial).")
    p.set_defaults(run=run)


def run(args):
    Console().print(ops_table())
