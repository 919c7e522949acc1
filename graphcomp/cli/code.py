"""`graphcomp code`: the straight-line program that `jit=True` compiles, forward sweep then adjoint program."""
from graphcomp.cli.common import add_graph_args, emit, load_graph
from graphcomp.core.errors import GraphcompError
from graphcomp.engine import jit, plan
from graphcomp.ops.kits import FloatKit


def register(sub):
    p = sub.add_parser("code", help="print the forward and adjoint program of a scalar graph (what jit compiles)",
                       description="Print the Python that Graph.trace(jit=True) compiles for a scalar graph: one "
                       "line per step of the forward sweep (v_i), then the adjoint program (d_i = v̄_i), "
                       "accumulating over fan-out. Each node's value goes by its name, its adjoint by name_bar.")
    add_graph_args(p)
    p.add_argument("-o", "--output", help="write to this file instead of the terminal ('-': standard output)")
    p.set_defaults(run=run)


def run(args):
    graph, _ = load_graph(args)
    if not graph.scalar:
        raise GraphcompError("code shows the compiled sweeps of scalar graphs; this graph has tensor nodes "
                             "(their work is numpy's: see `trace --mode reverse`)", file=graph.file)
    emit(args, jit.listing(graph, plan.plan(graph, FloatKit)))
