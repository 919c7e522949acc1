"""`graphcomp ops`: the op registry as a table — each op's definition and its derivative rules."""


def register(sub):
    p = sub.add_parser("ops", help="list the ops a spec can use, with their definitions and derivative rules",
                       description="The op registry: for each op, y = its definition, and the adjoint each "
                       "argument receives in reverse mode (ȳ times the local partial).")
    p.set_defaults(run=run)


def run(args):
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from graphcomp.ops import REGISTRY
    from graphcomp.render.text import tex_to_text

    names = {"0": "a", "1": "b", "y": "y", "g": "ȳ", "p": "p", "pm1": "p-1", "pc": "p", "t0": "ȧ", "t1": "ḃ"}
    table = Table(box=box.SIMPLE_HEAD, header_style="bold cyan", title="graphcomp ops", title_justify="left")
    for col in ("op", "kind", "y =", "adjoint of each argument", "notes"):
        table.add_column(col, overflow="fold")
    for name, op in REGISTRY.items():
        shapes = [()] * op.arity if op.elementwise else [(2,), (2,)][:op.arity]
        args = ["a", "b"][:op.arity]
        rules = ", ".join(f"{x}̄ += {tex_to_text(t.format(*args, **names))}" for x, t in zip(args, op.vjp_tex(shapes)))
        notes = "; ".join(filter(None, (op.doc.rstrip("."), f"error: {op.domain}" if op.domain else "")))
        definition = tex_to_text(op.tex.format(*args, **names))
        kind = "elementwise" if op.elementwise else "tensor"
        table.add_row(name, kind, escape(definition), escape(rules), escape(notes))
    Console().print(table)
