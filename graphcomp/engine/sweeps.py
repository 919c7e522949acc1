"""The three sweeps over a graph's flat step list: values, tangents (forward mode), adjoints (reverse mode).

A graph is compiled once per math kit into plain tuples (node, rule, arg, arg);
each sweep is then one flat loop with no recursion and no dictionary look-ups.
Adjoints accumulate over fan-out. Contributions to nodes that need no derivative
(data, constants) go to a spare slot at the end of the adjoint list and are dropped.
"""
import math
from contextlib import nullcontext

import numpy as np

from graphcomp import ops
from graphcomp.core.errors import DomainError, GraphcompError
from graphcomp.core.nodes import CONST, DATA, INPUT
from graphcomp.core.values import as_value
from graphcomp.engine import jit as jit_
from graphcomp.engine.plan import plan
from graphcomp.engine.trace import Trace
from graphcomp.ops.kits import FloatKit, kit_for, numpy_kit


def values(graph, plan_, inputs):
    """Forward pass: the list of every node's value (.v), inputs given by position."""
    v = [None] * plan_.n
    for i, x in inputs.items():
        v[i] = x
    for i, x in plan_.consts:
        v[i] = x
    i = a = b = -1
    try:
        for i, f, a, b, _, _ in plan_.steps:
            v[i] = f(v[a]) if b < 0 else f(v[a], v[b])
    except (ArithmeticError, ValueError) as exc:
        _reraise_bugs(exc)
        raise _domain(graph, (i, None, a, b), v, exc, "evaluating") from None
    _finite(graph, plan_, v, v, "evaluating")
    return v


def tangents(graph, plan_, v, seed, counted=None):
    """Forward mode: every node's tangent v̇ for the seed {input position: direction}. A step whose arguments'
    tangents are all 0 is skipped, and so is a matmul's term whose tangent is 0 (Op.jvp_args); with a list `counted`,
    the number of steps computed is appended to it."""
    kit, nodes = plan_.kit, graph.nodes
    t = [_ZERO] * plan_.n
    live = [False] * plan_.n  # a tangent that is not live is 0: its steps and terms are skipped
    for i, x in seed.items():
        t[i], live[i] = x, True
    step = None
    try:
        for step in plan_.jvp:
            i, f, a, b, local, sides = step
            if b < 0:
                if live[a]:
                    t[i], live[i] = f(v[i], v[a])[0] * t[a] if local else f(v[i], v[a], t[a]), True
            elif live[a] or live[b]:
                if sides and not (live[a] and live[b]):  # one term: the other argument's partial is not computed
                    t[i] = sides[0](v[i], v[a], v[b], t[a]) if live[a] else sides[1](v[i], v[a], v[b], t[b])
                elif local:
                    da, db = f(v[i], v[a], v[b])
                    t[i] = da * t[a] + db * t[b]
                else:
                    ta = t[a] if live[a] else kit.zeros(nodes[a].shape)
                    t[i] = f(v[i], v[a], v[b], ta, t[b] if live[b] else kit.zeros(nodes[b].shape))
                live[i] = True
    except (ArithmeticError, ValueError) as exc:
        _reraise_bugs(exc)
        raise _domain(graph, step, v, exc, "computing tangents (forward mode)") from None
    for i, shape in plan_.tensors:
        if not live[i]:
            t[i] = kit.zeros(shape)  # a tangent 0, of its node's shape
    _finite(graph, plan_, t, v, "computing tangents (forward mode)")
    if counted is not None:
        counted.append(sum(live[step[0]] for step in plan_.jvp))
    return t


class _Sink:
    """The adjoint slot of nodes that need none: adding to it keeps nothing, whatever the shape."""

    def __add__(self, other):
        return self


_SINK = _Sink()
_ZERO = 0.0  # every adjoint starts as this one object; a first contribution replaces it, with no copy


def adjoints(graph, plan_, v, seed=1.0, output=None, counted=None):
    """Reverse mode: every node's adjoint v̄ = ∂f/∂v, from the output back, accumulated over fan-out; `output`
    (a position in graph.outputs) seeds another output than the first, whose steps are plan_.vjp_for(output).
    Every step runs; with a list `counted`, their number is appended to it."""
    output = graph.output if output is None else output
    steps = plan_.vjp_for(output)
    if counted is not None:
        counted.append(len(steps))
    d = [_ZERO] * plan_.n + [_SINK]
    d[output] = seed
    _reverse(graph, steps, v, d)
    d.pop()
    return finish_adjoints(graph, plan_, d, v, steps)


def _reverse(graph, steps, v, d):
    """The reverse sweep's loop over `steps`: each node's adjoint d[i] times its local partials, added to its
    arguments' adjoints."""
    step = None
    try:
        for step in steps:
            i, f, a, b, ta, tb, local = step
            g = d[i]
            if b < 0:
                ga = g * f(v[i], v[a])[0] if local else f(g, v[i], v[a])[0]
                d[ta] = ga if d[ta] is _ZERO else d[ta] + ga
            else:
                if local:
                    da, db = f(v[i], v[a], v[b])
                    ga, gb = g * da, g * db
                else:
                    ga, gb = f(g, v[i], v[a], v[b])
                d[ta] = ga if d[ta] is _ZERO else d[ta] + ga
                d[tb] = gb if d[tb] is _ZERO else d[tb] + gb
    except (ArithmeticError, ValueError) as exc:
        _reraise_bugs(exc)
        raise _domain(graph, step, v, exc, "computing adjoints (reverse mode)") from None


def gradient(graph, *, at=None, seed=None, data=None, dist=None, jit=False, backend=None, device=None):
    """{input name: ∂f/∂input}, as run(...).gradient gives it; on a tensor graph each intermediate .v and .d is
    dropped once the reverse sweep has used it, and no Trace is made (less memory, less time)."""
    kit = kit_for(graph.scalar, backend, device)
    if graph.scalar:  # floats: nothing large to drop
        return run(graph, at=at, seed=seed, data=data, dist=dist, jit=jit, backend=backend, device=device).gradient
    p = plan(graph, kit)
    inputs = input_values(graph, at, kit, seed=seed, data=data, dist=dist)
    _differentiable(graph)
    d = [_ZERO] * p.n + [_SINK]
    d[graph.output] = _output_seeds(graph, seed, kit)[0]
    with np.errstate(divide="raise", over="raise", invalid="raise") if kit.raises else nullcontext():
        v = values(graph, p, inputs)
        for steps, dropped in p.lean_vjp:
            _reverse(graph, steps, v, d)
            for j in dropped:
                d[j] = v[j] = None
    if not kit.finite([d[i] for i in p.adjoint_checks]):
        # an inf or nan: the whole trace finds the node where it arose, and says so
        return run(graph, at=at, seed=seed, data=data, dist=dist, backend=backend, device=device).gradient
    nodes = graph.nodes
    wanted = [i for i in graph.inputs if nodes[i].kind == INPUT]
    grads = [kit.zeros(nodes[i].shape) if d[i] is _ZERO and nodes[i].shape else d[i] for i in wanted]
    return dict(zip((nodes[i].name for i in wanted), kit.to_numpy(grads)))


def finish_adjoints(graph, plan_, d, v, steps=None):
    """Check the adjoints for overflow, set None for nodes that need none, give arrays their node's shape."""
    _finite(graph, plan_, d, v, "computing adjoints (reverse mode)", steps)
    for i in plan_.inactive:
        d[i] = None
    for i, shape in plan_.tensors:
        if d[i] is _ZERO:  # no contribution reached it: its adjoint is 0, of its node's shape
            d[i] = plan_.kit.zeros(shape)
    return d


def _finite(graph, plan_, xs, v, phase, steps=None):
    """Arithmetic that gives inf or nan without raising (floats' + and *, torch): find the first such node
    (among `steps`, by default the sweep's that `phase` names)."""
    kit = plan_.kit
    if kit.raises:
        return  # an inf or nan raised where it arose
    if graph.scalar or "tangents" in phase:
        checked = xs[plan_.computed:] if xs is v and plan_.computed else xs
    else:  # a tensor graph: the nodes where an inf or nan can arise first, one pass over each array
        checked = [xs[i] for i in (plan_.value_checks if xs is v else plan_.adjoint_checks)]
    if kit.finite(checked):
        return  # a false alarm (a finite sum that overflows) makes the search below find nothing
    if xs is v:  # an input that holds an inf or a nan is the input's error, as it would have been on the way in
        for i in graph.inputs:
            if not kit.finite([v[i]]):
                as_value(kit.to_numpy([v[i]])[0], file=graph.file, node=graph.nodes[i].name)
    if steps is None:
        steps = plan_.steps if phase == "evaluating" else plan_.jvp if "tangents" in phase else plan_.vjp
    for step in steps:
        targets = step[4:6] if phase.startswith("computing adjoints") else ()
        bad = [xs[j] for j in (step[0], *targets) if j < plan_.n and not kit.finite([xs[j]])]
        if bad:
            op = ops.REGISTRY[graph.nodes[step[0]].op]
            args = [np.asarray(x, dtype=float) for x in kit.to_numpy([v[j] for j in step[2:4] if j >= 0])]
            nan = _nan_partial(op, graph.nodes[step[0]].params, kit.to_numpy([v[step[0]]])[0], args)
            raise _domain(graph, step, v, _why(kit, op, bad, args, nan if phase != "evaluating" else None), phase)


def _nan_partial(op, params, y, args):
    """Whether a local partial of the op is nan at these arguments (pow's y ln x at x < 0), on numpy."""
    if op.partials is None:
        return False
    with np.errstate(all="ignore"):
        partials = op.partials(numpy_kit(), np.asarray(y, dtype=float), *args, **params)
    return any(np.isnan(p).any() for p in partials)


def _why(kit, op, bad, args, nan_partial):
    """inf from an argument 0 (1/0, log 0) is outside the op's domain, and so is a value's nan (`nan_partial` None)
    or a derivative's whose local partial is nan (pow's y ln x at x < 0); other inf and nan are overflows (a partial
    that overflowed, times 0: log's 1/x at 1e-320 under a ReLU that is off), and so is any inf or nan of an op
    without a domain (matmul's, with a 0 in them)."""
    if not op.domain:
        return OverflowError("the result overflows the range of floating point numbers")
    bad = [np.asarray(x, dtype=float) for x in kit.to_numpy(bad)]
    zero = any(np.any(a == 0.0) for a in args)
    if zero or (nan_partial if nan_partial is not None else any(np.isnan(x).any() for x in bad)):
        return ValueError("math domain error")
    return OverflowError("the result overflows the range of floating point numbers")


def _reraise_bugs(exc):
    # math raises ValueError only for a domain error; any other ValueError is a bug to show as such
    if isinstance(exc, ValueError) and "math domain error" not in str(exc):
        raise exc


def _arg_text(node, value):
    if node.kind == CONST:
        return node.label  # a constant shows as its number, not its internal name
    return f"{node.name} = {value:.6g}" if isinstance(value, float) else node.name


def _domain(graph, step, v, exc, phase):
    i, _, a, b = step[:4]
    n = graph.nodes[i]
    op = ops.REGISTRY[n.op]
    args = [graph.nodes[j] for j in (a, b) if j >= 0]
    shown = ", ".join([*(_arg_text(x, v[j]) for x, j in zip(args, (a, b))),
                       *(f"{k} = {x:g}" for k, x in n.params.items())])  # powc's p: what the domain depends on
    overflow = isinstance(exc, OverflowError) or "overflow" in str(exc)  # numpy says so in its message
    what = "the result" if phase == "evaluating" else "a derivative (a local partial, or its product)"
    reason = f"{what} overflows the range of floating point numbers" if overflow else op.domain or str(exc)
    return DomainError(f"{reason}: {n.op}({shown}), while {phase}", file=graph.file, node=n.name)


def run(graph, *, at=None, wrt=None, mode="reverse", seed=None, data=None, dist=None, jit=False, backend=None,
        device=None):
    """Evaluate and differentiate `graph`; returns a Trace (see Graph.trace)."""
    if mode not in ("forward", "reverse", "both", "value"):
        raise GraphcompError(f"unknown mode '{mode}'; choose forward, reverse, both or value")
    wrt = None if mode == "value" else wrt  # nothing is differentiated: wrt is not read
    kit = kit_for(graph.scalar, backend, device)
    p = plan(graph, kit)
    inputs = input_values(graph, at, kit, seed=seed, data=data, dist=dist)  # a missing value is said first
    if mode != "value":
        _differentiable(graph)
    columns = _columns(graph, wrt, mode, seed, kit)
    direction = columns[0][1] if columns else {}
    reverse = mode in ("reverse", "both")
    out_seeds = _output_seeds(graph, seed, kit) if reverse else []
    done = None
    if jit and kit is FloatKit:
        done = jit_.run(graph, p, inputs, reverse)  # None if a step raised: the sweeps below name the node
    # numpy raises where an inf or nan arises (Kit.raises); floats (math) raise by themselves, torch's are searched for
    with np.errstate(divide="raise", over="raise", invalid="raise") if kit.raises else nullcontext():
        if done is None:
            v = values(graph, p, inputs)
            d = adjoints(graph, p, v, out_seeds[0]) if reverse else None
        else:
            v, d = done
            _finite(graph, p, v, v, "evaluating")
            d = finish_adjoints(graph, p, d, v) if reverse else None
        t = [tangents(graph, p, v, seeds) for _, seeds in columns] if mode in ("forward", "both") else None
        # several outputs: a reverse sweep for each of the others (d is the first's), as forward mode runs a sweep
        # per input asked
        more = [adjoints(graph, p, v, s, output=o) for o, s in zip(graph.outputs[1:], out_seeds[1:])]
    named = {label: (_named(graph, kit, seeds), kit.to_numpy(ts)) for (label, seeds), ts in zip(columns, t or [])}
    by_output = {name: (s, kit.to_numpy(xs)) for name, s, xs in zip(graph.output_names, kit.to_numpy(out_seeds),
                                                                     [d, *more])} if more else None
    inputs = {graph.nodes[i].name: x for i, x in inputs.items()}
    direction = _named(graph, kit, direction) if direction else {}
    return Trace(graph, mode, v, t[0] if t else None, d, wrt=wrt, direction=direction, inputs=inputs,
                 columns=named if len(named) > 1 else None, adjoint_columns=by_output, to_numpy=kit.to_numpy)


def _differentiable(graph):
    if not any(graph.nodes[i].kind == INPUT for i in graph.inputs):
        raise GraphcompError("nothing to differentiate: every input of the graph is data (kind: data, --fixed); make "
                             "one an input, or evaluate only (mode='value', --mode value)", file=graph.file)


def _output_seeds(graph, seed, kit):
    """The reverse sweeps' seeds, an output each: 1 on a scalar output; on a tensor output a random direction ū
    (the sweep gives ∂⟨ū, f⟩/∂v, a vector–Jacobian product), drawn apart from the inputs' and tangents' draws."""
    shapes = [graph.nodes[o].shape for o in graph.outputs]
    if not any(shapes):
        return [1.0] * len(shapes)  # the common case: no generator to make
    rng = np.random.default_rng([0 if seed is None else seed, 2])
    return [kit.coerce(rng.standard_normal(shape)) if shape else 1.0 for shape in shapes]


def _named(graph, kit, seeds):
    return dict(zip((graph.nodes[i].name for i in seeds), kit.to_numpy(list(seeds.values()))))


def input_values(graph, at, kit, *, seed=None, data=None, dist=None):
    """{input position: value}: the spec's values (or seeded draws), then the .npz `data`, then `at`."""
    arrays, names = dict(data or {}), graph.input_names
    for source, keys in (("data", arrays), ("values given", at or {})):
        unknown = sorted(set(keys).difference(names))
        if unknown:
            raise GraphcompError(f"{source}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not an input "
                                 f"of the graph; its inputs: {', '.join(names)}", file=graph.file)
    given = {**arrays, **(at or {})}
    if not given.keys() >= set(names):  # draw only when something is missing: a 2048² draw costs a matmul
        given = {**graph.defaults(seed, dist), **given}
    inputs = {}
    for i in graph.inputs:
        n = graph.nodes[i]
        if n.name not in given:
            raise GraphcompError(f"input '{n.name}' has no value: give it in the spec, or as at={{'{n.name}': ...}} "
                                 f"(--at {n.name}=... on the command line)",
                                 file=graph.file, node=n.name)
        inputs[i] = _coerce(graph, n, given[n.name], kit)
    return inputs


def _coerce(graph, n, x, kit, key="value"):
    if type(x) is float and not n.shape and math.isfinite(x):
        return kit.coerce(x)  # a finite float: skip the general checks
    if type(x) is np.ndarray and x.dtype == np.float64 and x.shape == n.shape and (
            (key == "value" and not kit.raises and not graph.scalar) or _ALL(np.isfinite(x), axis=None)):
        # a float array of the input's shape (a network's weights), finite, or searched with the values after the
        # forward sweep where the kit does not raise (on a tensor graph plan.value_checks covers the inputs)
        return kit.coerce(x)
    x = as_value(x, file=graph.file, node=n.name, key=key)
    if np.shape(x) != tuple(n.shape):
        raise GraphcompError(f"{'a direction' if key == 'wrt' else 'value'} of shape {np.shape(x)}, but the input "
                             f"has shape {tuple(n.shape)}", file=graph.file, node=n.name, key=key)
    return kit.coerce(x)


_ALL = np.logical_and.reduce  # the ufunc itself: ndarray.all() runs two Python frames first


def _columns(graph, wrt, mode, seed, kit):
    """The forward-mode sweeps to run: [(input name or None, seed {input position: tangent})], one per input when
    `wrt` names several (a column each, as the textbook's forward table), else the one direction wrt gives."""
    if mode in ("forward", "both") and isinstance(wrt, (list, tuple)) and len(wrt) > 1:
        return [(name, _direction(graph, name, mode, seed, kit)) for name in wrt]
    if mode not in ("forward", "both"):
        wrt_names = [wrt] if isinstance(wrt, str) else list(wrt or [])
        for name in wrt_names:
            wrt_input(graph, name)
        return []
    return [(None, _direction(graph, wrt, mode, seed, kit))]


def _direction(graph, wrt, mode, seed, kit):
    """The forward-mode seed as {input position: tangent}; names alone get 1 (scalars) or a seeded random direction."""
    if wrt is None:
        variables = [i for i in graph.inputs if graph.nodes[i].kind == INPUT]
        wrt = [graph.nodes[variables[0]].name] if graph.scalar else [graph.nodes[i].name for i in variables]
    if isinstance(wrt, str):
        wrt = [wrt]
    if not isinstance(wrt, dict):
        rng = np.random.default_rng([0 if seed is None else seed, 1])  # a stream apart from the inputs' draws
        shapes = {name: graph.nodes[wrt_input(graph, name)].shape for name in wrt}
        wrt = {name: rng.standard_normal(shape) if shape else 1.0 for name, shape in shapes.items()}
    out = {}
    for name, x in wrt.items():
        i = wrt_input(graph, name)
        out[i] = _coerce(graph, graph.nodes[i], x, kit, key="wrt")
    return out


def wrt_input(graph, name):
    """The position of the differentiable input `name`, or a GraphcompError saying what it is instead."""
    i = graph.index.get(name)
    if i is None or graph.nodes[i].kind not in (INPUT, DATA):
        # the derivative is of the outputs, with respect to inputs: say what the name is instead
        what = "no node of the graph" if i is None or graph.nodes[i].kind == CONST else (
            "an output" if i in graph.outputs else "an intermediate node")
        raise GraphcompError(f"wrt '{name}' is not an input ({what}); inputs: {', '.join(graph.input_names)}",
                             file=graph.file)
    if graph.nodes[i].kind == DATA:
        raise GraphcompError(f"wrt '{name}': it is declared as data (kind: data), which is not differentiated",
                             file=graph.file, node=name)
    return i
