"""Graph specs in YAML: load with yaml.safe_load, validate every key, build a Graph.

    name: eq2
    inputs:
      - {name: x1, value: 1.0, label: "v_{-2}"}
    nodes:
      - {name: v1, op: mul, inputs: [x1, x2]}
    output: v6

Every error names the file, the node and the key.
"""
import re
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import yaml

from graphcomp import ops
from graphcomp.core.errors import SpecError
from graphcomp.core.labels import default_label
from graphcomp.core.nodes import CONST, DATA, INPUT, NODE, Node, no_gc
from graphcomp.core.values import DISTS, RNGS, as_value
from graphcomp.engine.graph import Graph

GRAPHS_DIR = Path(__file__).resolve().parents[2] / "graphs"
TOP_KEYS = {"name", "description", "notation", "seed", "dist", "rng", "inputs", "nodes", "output"}
INPUT_KEYS = {"name", "value", "shape", "label", "kind", "dist", "description"}
NODE_KEYS = {"name", "op", "inputs", "label", "description"}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def resolve(path):
    """A spec path as given, or a bare file name looked up in graphs/ (with or without .yaml)."""
    p = Path(path)
    if p.exists():
        return p
    if p.parent == Path("."):
        for folder in (Path("graphs"), GRAPHS_DIR):
            for cand in (folder / p.name, folder / f"{p.name}.yaml"):
                if cand.exists():
                    return cand
    raise SpecError(f"no such spec file (looked in ., ./graphs and {GRAPHS_DIR})", file=path)


def load(path):
    """Load, validate and build the graph in a YAML spec file; a bare name is looked up in graphs/."""
    p = resolve(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", file=path) from None
    try:
        doc = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"not valid YAML{where}: {problem}", file=path) from None
    return from_dict(doc, file=str(path))


def safe_load(text):
    """yaml.safe_load, except that a key given twice in one mapping is a yaml.YAMLError (safe_load keeps the last).

    The same SafeLoader steps as yaml.safe_load (compose the node graph, then construct it),
    with the node graph checked in between.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _unique_keys(loader, node)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def _unique_keys(loader, root):
    """A ConstructorError at the second occurrence of a key in any mapping of the node graph (walked without recursion)."""
    stack, seen_nodes = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes or isinstance(node, yaml.ScalarNode):
            continue
        seen_nodes.add(id(node))  # aliases share nodes
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
            continue
        keys = set()
        for key_node, value_node in node.value:
            stack.append(value_node)
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden, by design
                continue
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # construction reports an unhashable key
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {key!r} (each key may appear once)", key_node.start_mark)
            keys.add(key)


def from_dict(doc, file="<spec>"):
    """Validate a spec given as a dict (the parsed YAML) and build its Graph."""
    with no_gc():
        return _from_dict(doc, file)


def _from_dict(doc, file):
    if not isinstance(doc, dict):
        raise SpecError("a spec must be a mapping with keys inputs, nodes and output", file=file)
    _no_unknown(doc, TOP_KEYS, file, None)
    for key in ("inputs", "nodes", "output"):
        if key not in doc:
            raise SpecError(f"missing key '{key}'", file=file, key=key)
    inputs, nodes = doc["inputs"], doc["nodes"]
    if not isinstance(inputs, list) or not inputs:
        raise SpecError("'inputs' must be a non-empty list", file=file, key="inputs")
    if not isinstance(nodes, list):
        raise SpecError("'nodes' must be a list", file=file, key="nodes")
    if not isinstance(doc["output"], str):
        raise SpecError("'output' must name a node", file=file, key="output")
    _text(doc, file)
    notation = doc.get("notation")
    if notation not in (None, "bar", "dot"):
        raise SpecError("notation must be 'bar' (v̄, v̇) or 'dot' (.v, .d)", file=file, key="notation")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError("seed must be a non-negative integer", file=file, key="seed")
    dist = doc.get("dist", "normal")
    if dist not in DISTS:
        raise SpecError(f"unknown distribution '{dist}'; choose from {', '.join(DISTS)}", file=file, key="dist")
    rng = doc.get("rng", "legacy")
    if rng not in RNGS:
        raise SpecError(f"unknown generator {rng!r}; choose from {', '.join(RNGS)}", file=file, key="rng")

    built, names = [], set()

    def claim(name, where):
        if not isinstance(name, str) or not NAME.match(name):
            raise SpecError(f"name {name!r} is not a valid identifier", file=file, node=where, key="name")
        if name in names:
            raise SpecError(f"duplicate name '{name}'", file=file, node=name, key="name")
        names.add(name)

    for k, entry in enumerate(inputs):
        built.append(_input(entry, k, file, claim))
    consts = []
    for k, entry in enumerate(nodes):
        built.append(_node(entry, k, file, claim, consts))
    internal = {c.name for c in consts}
    for n in built:
        for a in n.inputs:
            if a not in names and a not in internal:
                raise SpecError(f"'{a}' is not defined (not an input, nor a node)", file=file, node=n.name, key="inputs")
    if doc["output"] not in names:
        raise SpecError(f"output '{doc['output']}' is not a defined name", file=file, key="output")
    return Graph(consts + built, doc["output"], file=file, name=doc.get("name"),
                 description=doc.get("description", ""), notation=notation, seed=seed, dist=dist, rng=rng)


def _text(doc, file):
    # the name titles tables and LaTeX % comments, so one line; a description may span several
    name = doc.get("name", "")
    if not isinstance(name, str) or "\n" in name or "\r" in name:
        raise SpecError(f"name must be a one-line string, not {name!r}", file=file, key="name")
    if not isinstance(doc.get("description", ""), str):
        raise SpecError(f"description must be a string, not {doc['description']!r}", file=file, key="description")


def _no_unknown(entry, allowed, file, node, extra=()):
    if len(entry) <= 3 and entry.keys() <= allowed:  # the common case, checked at C speed
        return
    for key in entry:
        if key not in allowed and key not in extra:
            raise SpecError(f"unknown key '{key}' (allowed: {', '.join(sorted(allowed | set(extra)))})",
                            file=file, node=node, key=key)


def _mapping(entry, what, k, file):
    if not isinstance(entry, dict):
        raise SpecError(f"{what} #{k + 1} must be a mapping like {{name: ..., ...}}", file=file, key=what)
    if "name" not in entry:
        raise SpecError(f"{what} #{k + 1} has no 'name'", file=file, key="name")
    return entry["name"]


def _input(entry, k, file, claim):
    name = _mapping(entry, "inputs", k, file)
    claim(name, name)
    _no_unknown(entry, INPUT_KEYS, file, name)
    kind = entry.get("kind", "variable")
    if kind not in ("variable", "data"):
        raise SpecError("kind must be 'variable' (differentiated) or 'data' (held fixed)", file=file, node=name, key="kind")
    shape = entry.get("shape")
    if shape is not None:
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
            raise SpecError("shape must be a list of positive integers, e.g. [3, 2]", file=file, node=name, key="shape")
        shape = tuple(shape)
    value = entry.get("value")
    if value is not None:
        value = as_value(value, file=file, node=name, key="value")
        vshape = np.shape(value)
        if shape is not None and vshape != shape:
            raise SpecError(f"value has shape {list(vshape)} but shape says {list(shape)}", file=file, node=name, key="value")
        shape = vshape
    dist = entry.get("dist")
    if dist is not None and dist not in DISTS:
        raise SpecError(f"unknown distribution '{dist}'; choose from {', '.join(DISTS)}", file=file, node=name, key="dist")
    label = _label(entry, name, file)
    return Node(name, DATA if kind == "data" else INPUT, label, shape=shape or (), value=value, dist=dist)


def _node(entry, k, file, claim, consts):
    name = _mapping(entry, "nodes", k, file)
    claim(name, name)
    if "op" not in entry:
        raise SpecError("missing key 'op'", file=file, node=name, key="op")
    op = ops.get(entry["op"], file=file, node=name)
    _no_unknown(entry, NODE_KEYS, file, name, extra=op.params)
    args = entry.get("inputs", [])
    if not isinstance(args, list):
        args = [args]
    if len(args) != op.arity:
        raise SpecError(f"op '{op.name}' takes {op.arity} input{'s' * (op.arity != 1)}, got {len(args)}",
                        file=file, node=name, key="inputs")
    args = [_arg(a, file, name) for a in args]
    if op.name == "pow" and not isinstance(args[1], str):
        exponent = args[1]
        if np.ndim(exponent) == 0:  # a literal exponent is powc's p: pow's partial in it, y ln a, needs a > 0
            op, args, entry = ops.REGISTRY["powc"], args[:1], {**entry, "p": exponent}
    refs = []
    for j, a in enumerate(args):
        if isinstance(a, str):
            refs.append(a)
        else:
            cname = f"#{name}.{j}"  # '#' is not in NAME, so no declared name can take it
            consts.append(Node(cname, CONST, _number_label(a), shape=np.shape(a), value=a))
            refs.append(cname)
    params = {}
    for p in op.params:
        if p not in entry:
            raise SpecError(f"op '{op.name}' needs the constant '{p}'", file=file, node=name, key=p)
        params[p] = _param(entry[p], file, name, p)
    return Node(name, NODE, _label(entry, name, file), op.name, params=params, inputs=tuple(refs))


def _arg(a, file, node):
    """One entry of a node's inputs: a name to look up later, or a literal number / list as float / array."""
    if isinstance(a, str) and NAME.match(a):
        return a  # a name, even 'inf' or 'nan': names come before numbers
    if isinstance(a, str):
        try:
            float(a)  # YAML 1.1 reads 1e-3 (no dot) as a string
        except ValueError:
            raise SpecError(f"'{a}' is not defined (not an input, nor a node)", file=file, node=node,
                            key="inputs") from None
    return as_value(a, file=file, node=node, key="inputs")


def _param(x, file, node, key):
    value = as_value(x, file=file, node=node, key=key)
    if np.ndim(value):
        raise SpecError(f"{key} must be a number, not a list: {x!r}", file=file, node=node, key=key)
    return float(value)


def _label(entry, name, file):
    label = entry["label"] if "label" in entry else default_label(name)
    if not isinstance(label, str):
        raise SpecError("label must be a string (LaTeX, e.g. v_{-2})", file=file, node=name, key="label")
    return label


def _number_label(value):
    if np.ndim(value):
        return "c"
    return f"{float(value):g}"


