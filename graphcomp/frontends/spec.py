"""Graph specs in YAML: load with yaml.safe_load, validate every key, build a Graph.

    name: eq2
    inputs:
      - {name: x1, value: 1.0, label: "v_{-2}"}
    nodes:
      - {name: v1, op: mul, inputs: [x1, x2]}
    output: v6            # or, for several outputs f1, f2, …: outputs: [f1, f2]

Every error names the file, the node and the key.
"""
import json
import re
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import yaml

from graphcomp import ops
from graphcomp.core.errors import SpecError, closest
from graphcomp.core.labels import default_label, label_problem, number_tex
from graphcomp.core.nodes import CONST, DATA, INPUT, NODE, Node, no_gc
from graphcomp.core.values import DISTS, RNGS, SEEDS, as_value, parse_float
from graphcomp.engine.graph import Graph
from graphcomp.frontends.limits import MAX_DEPTH, check_entries, limit, over, read_text

GRAPHS_DIR = Path(__file__).resolve().parents[2] / "graphs"
TOP_KEYS = {"name", "description", "notation", "seed", "dist", "rng", "inputs", "nodes", "output", "outputs"}
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
    """Load, validate and build the graph in a spec file (YAML, or JSON, which is YAML too); a bare name is looked up in graphs/."""
    text = read_text(resolve(path), "GRAPHCOMP_MAX_SPEC_MB", shown=path, error=SpecError)
    return from_dict(parse_text(text, file=path), file=str(path))


@no_gc()
def parse_text(text, file="<spec>"):
    """The document in a spec's text, within the limits (nesting depth, scalar values); errors are SpecErrors.

    Text that is JSON goes through the json module (its C scanner, about 3 µs a node); anything it does
    not take as it is (YAML, a duplicate key, NaN, nesting too deep) goes through the YAML loader, so both
    give the same documents and the same errors. The cyclic garbage collector is paused meanwhile:
    rescanning the growing node graph took two thirds of the time of a 10⁵-node YAML spec.
    """
    if text.lstrip().startswith("{") and not _TINY.search(text):
        try:
            doc = json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_not_json)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; YAML says what is wrong
            pass
        else:
            _check_tree(doc, file)
            return doc
    try:
        return safe_load(text, file)
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML{_mark(exc, text)}: {_problem(exc)}", file=file) from None


# an exponent from e-300 down: json would read 1e-400 as 0 without a word, so such a text goes to the YAML loader,
# which refuses a number too small for a float at its line
_TINY = re.compile(r"[eE]-0*(?:[3-9][0-9]{2}|[0-9]{4,})")


def _unique_pairs(pairs):
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise ValueError("a duplicate key")
    return doc


def _not_json(name):
    raise ValueError(f"{name} is not a JSON number")


def _mark(exc, text):
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f" (line {mark.line + 1}, column {mark.column + 1})"
    position = getattr(exc, "position", None)  # a ReaderError: a character position in the text
    if position is None:
        return ""
    line, start = text.count("\n", 0, position), text.rfind("\n", 0, position) + 1
    return f" (line {line + 1}, column {position - start + 1})"


def _problem(exc):
    if isinstance(exc, yaml.reader.ReaderError):
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)  # libyaml gives the number
        return f"the control character U+{code:04X} is not allowed in YAML"
    problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
    if "maximum nesting depth" in problem:  # libyaml's own limit, 1000 levels
        return _TOO_DEEP
    return problem


_STR, _SEQ, _MAP, _MERGE, _FLOAT, _INT = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map", "merge", "float",
                                                                               "int"))
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)")  # an int as written in base 10 (YAML 1.1 reads 017 as octal)
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep (a spec needs at most 5)"
# libyaml's parser where PyYAML was built with it: 3-4x faster than the pure-Python one
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text, file="<spec>", loader_class=LOADER):
    """yaml.safe_load within the limits, and a key given twice in one mapping is a yaml.YAMLError (safe_load keeps the last).

    The SafeLoader's node graph (composed by libyaml where there is one), then built bottom up in one
    pass without recursion, checking as it goes: unique keys, nesting depth, the scalar values with
    aliases expanded (an alias shares what it names, as in safe_load, so nothing is expanded in memory),
    and values YAML cannot build, each a yaml.YAMLError at its line. Plain strings, lists and mappings
    are built here; anything else (numbers, dates, merge keys, !!set…) by SafeLoader's own constructors.
    """
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # the pure-Python composer recurses once per level
            raise yaml.composer.ComposerError(None, None, _TOO_DEEP, None) from None
        return None if node is None else _build(loader, node, file)
    finally:
        loader.dispose()


def _build(loader, root, file):
    cap = limit("GRAPHCOMP_MAX_VALUES")
    # id(node) → its value; and for a list or mapping, its scalar values with aliases expanded and its levels (a
    # scalar counts 1 and 0: most nodes are scalars, built as soon as their parent is reached, never stacked)
    built, size, depth = {}, {}, {}
    expanding = set()  # the nodes whose children are being built: meeting one again is an alias to itself
    if isinstance(root, yaml.ScalarNode):
        return _scalar(loader, root, file)
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        nid = id(node)
        seq = isinstance(node, yaml.SequenceNode)
        kids = node.value if seq else [n for pair in node.value for n in pair]
        if children_done:
            expanding.discard(nid)
            total = sum(size.get(id(k), 1) for k in kids)
            deep = max((depth.get(id(k), 0) for k in kids), default=0)
            size[nid], depth[nid] = total, deep + 1
            if deep + 1 > MAX_DEPTH:
                raise _at(node, _TOO_DEEP)
            if total > cap:
                raise over("GRAPHCOMP_MAX_VALUES", total, file=file)
            built[nid] = [built[id(k)] for k in kids] if seq and node.tag == _SEQ else \
                _yaml_mapping(loader, node, built) if not seq and node.tag == _MAP else _construct(loader, node)
            continue
        if nid in built:
            continue  # an alias to a node already built
        if nid in expanding:
            raise _at(node, "an alias refers to a value that contains it (a value cannot contain itself)")
        expanding.add(nid)
        stack.append((node, True))
        for k in kids:
            kid = id(k)
            if kid in built:
                continue
            if isinstance(k, yaml.ScalarNode):
                built[kid] = _scalar(loader, k, file)
            else:
                stack.append((k, False))
    return built[id(root)]


def _scalar(loader, node, file):
    if not node.value.isascii():
        _valid_unicode(node.value, file, lambda message: _at(node, message))
    return node.value if node.tag in (_STR, _MERGE) else _construct(loader, node)


def _yaml_mapping(loader, node, built):
    """A plain mapping's dict from its built keys and values; a key given twice is a ConstructorError at the second."""
    doc = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:  # `<<: *base`: SafeLoader's own merge rules
            return _construct(loader, node)
        key = built[id(key_node)]
        if not isinstance(key, Hashable):
            raise _at(key_node, f"found an unhashable key ({type(key).__name__})")
        if key in doc:
            raise _at(key_node, f"duplicate key {key!r} (each key may appear once)")
        doc[key] = built[id(value_node)]
    return doc


def _construct(loader, node):
    """SafeLoader's own constructor for `node` (a number, a date, !!binary, !!set, a merge…), its errors at its line;
    a number YAML 1.1 reads other than it is written (1.0e-400 as 0, 1:30 as 90, 0x10 as 16, 017 as 15) is one too."""
    try:
        value = loader.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:  # !!float abc, 2024-02-30, an int of 5000 digits
        raise _at(node, f"{_shown(node)!r} cannot be read as {node.tag.rsplit(':', 1)[-1]}: "
                        f"{str(exc).splitlines()[0]}") from None
    if node.tag == _FLOAT and value == 0.0:
        try:
            parse_float(node.value.replace("_", ""))  # 1.0e-400: too small for a float, read as 0
        except ValueError as exc:
            raise _at(node, str(exc)) from None
    if node.tag == _INT and not _DECIMAL.fullmatch(node.value):
        raise _at(node, f"YAML reads {_shown(node)!r} as {value} (base 60, 16, 8 or 2): write the number in decimal")
    return value


def _shown(node):
    shown = node.value if isinstance(node.value, str) else "this value"
    return shown if len(shown) <= 20 else f"{shown[:12]}... ({len(shown)} characters)"


def _valid_unicode(text, file, error=None):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        message = f"the text holds {text[exc.start]!r}, a lone surrogate, which is not a character"
        raise (error(message) if error else SpecError(message, file=file)) from None


def _at(node, message):
    return yaml.constructor.ConstructorError(None, None, message, node.start_mark)


def _check_tree(doc, file):
    """The limits on a document built by the json module: nesting depth, scalar values, valid Unicode."""
    cap, count = limit("GRAPHCOMP_MAX_VALUES"), 0
    stack = [(doc, 1)]
    while stack:
        x, level = stack.pop()
        if level > MAX_DEPTH:
            raise SpecError(_TOO_DEEP, file=file)
        if isinstance(x, dict):
            items = [*x.keys(), *x.values()]
        elif isinstance(x, list):
            items = x
        else:
            continue
        for y in items:
            if isinstance(y, (dict, list)):
                stack.append((y, level + 1))
                continue
            count += 1
            if isinstance(y, str) and not y.isascii():
                _valid_unicode(y, file)
        if count > cap:
            raise over("GRAPHCOMP_MAX_VALUES", count, file=file)


@no_gc()
def from_dict(doc, file="<spec>"):
    """Validate a spec given as a dict (the parsed YAML) and build its Graph (the garbage collector paused)."""
    if not isinstance(doc, dict):
        raise SpecError("a spec must be a mapping with keys inputs, nodes and output", file=file)
    _no_unknown(doc, TOP_KEYS, file, None)
    for key in ("inputs", "nodes"):
        if key not in doc:
            raise SpecError(f"missing key '{key}'", file=file, key=key)
    if "outputs" in doc:  # several outputs f1, f2, …: a list in place of output
        if "output" in doc:
            raise SpecError("give either 'output' (one node) or 'outputs' (a list), not both", file=file, key="outputs")
        if not isinstance(doc["outputs"], list) or not doc["outputs"]:
            raise SpecError("'outputs' must be a non-empty list of node names", file=file, key="outputs")
    elif "output" not in doc:
        raise SpecError("missing key 'output'", file=file, key="output")
    inputs, nodes = doc["inputs"], doc["nodes"]
    if not isinstance(inputs, list) or not inputs:
        raise SpecError("'inputs' must be a non-empty list", file=file, key="inputs")
    if not isinstance(nodes, list):
        raise SpecError("'nodes' must be a list", file=file, key="nodes")
    if "output" in doc and not isinstance(doc["output"], str):
        raise SpecError("'output' must name a node", file=file, key="output")
    _text(doc, file)
    notation = doc.get("notation")
    if notation not in (None, "bar", "dot"):
        raise SpecError("notation must be 'bar' (v̄, v̇) or 'dot' (.v, .d)", file=file, key="notation")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < SEEDS:
        raise SpecError(f"seed must be a whole number from 0 to {SEEDS - 1} (numpy.random.seed's range)", file=file,
                        key="seed")
    dist = doc.get("dist", "normal")
    if dist not in DISTS:
        raise SpecError(f"unknown distribution '{dist}'; choose from {', '.join(DISTS)}", file=file, key="dist")
    rng = doc.get("rng", "legacy")
    if rng not in RNGS:
        raise SpecError(f"unknown generator {rng!r}; choose from {', '.join(RNGS)}", file=file, key="rng")

    built, names = [], set()

    def claim(name):
        if not isinstance(name, str) or not NAME.match(name):
            raise SpecError(f"name {name!r} is not a valid identifier", file=file, node=name, key="name")
        if name in names:
            raise SpecError(f"duplicate name '{name}'", file=file, node=name, key="name")
        names.add(name)

    for k, entry in enumerate(inputs):
        built.append(_input(entry, k, file, claim))
    if not any(n.shape for n in built):  # scalar inputs: unlabelled ones are v_{1-k} … v_0, as in the lecture
        for j, (n, entry) in enumerate(zip(built, inputs)):
            if "label" not in entry:
                n.label = f"v_{{{j - len(built) + 1}}}"
    consts = []
    for k, entry in enumerate(nodes):
        built.append(_node(entry, k, file, claim, consts))
    internal = {c.name for c in consts}
    for n in built:
        for a in n.inputs:
            if a not in names and a not in internal:
                raise SpecError(f"'{a}' is not defined (not an input, nor a node)", file=file, node=n.name, key="inputs")
    output = doc["output"] if "output" in doc else doc["outputs"]
    for name in [output] if isinstance(output, str) else output:
        if not isinstance(name, str) or name not in names:
            key = "output" if isinstance(output, str) else "outputs"
            raise SpecError(f"output {name!r} is not a defined name", file=file, key=key)
    return Graph(consts + built, output, file=file, name=doc.get("name"),
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
            known = sorted(allowed | set(extra))
            close = closest(key, known)
            hint = f"did you mean '{close}'? " if close else ""
            raise SpecError(f"unknown key '{key}' ({hint}allowed: {', '.join(known)})", file=file, node=node, key=key)


def _mapping(entry, what, k, file, claim):
    """The name of the k-th entry of inputs or nodes, claimed (checked to be new and an identifier)."""
    if not isinstance(entry, dict):
        raise SpecError(f"{what} #{k + 1} must be a mapping like {{name: ..., ...}}", file=file, key=what)
    if "name" not in entry:
        raise SpecError(f"{what} #{k + 1} has no 'name'", file=file, key="name")
    claim(entry["name"])
    return entry["name"]


def _input(entry, k, file, claim):
    name = _mapping(entry, "inputs", k, file, claim)
    _no_unknown(entry, INPUT_KEYS, file, name)
    kind = entry.get("kind", "variable")
    if kind not in ("variable", "data"):
        raise SpecError("kind must be 'variable' (differentiated) or 'data' (held fixed)", file=file, node=name, key="kind")
    shape = entry.get("shape")
    if shape is not None:
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
            raise SpecError("shape must be a list of positive integers, e.g. [3, 2]", file=file, node=name, key="shape")
        shape = tuple(shape)
        check_entries(shape, file=file, node=name, key="shape")
    value = entry.get("value")
    if value is not None:
        value = as_value(value, file=file, node=name, key="value")
        vshape = np.shape(value)
        check_entries(vshape, file=file, node=name, key="value")
        if shape is not None and vshape != shape:
            raise SpecError(f"value has shape {list(vshape)} but shape says {list(shape)}", file=file, node=name, key="value")
        shape = vshape
    dist = entry.get("dist")
    if dist is not None and dist not in DISTS:
        raise SpecError(f"unknown distribution '{dist}'; choose from {', '.join(DISTS)}", file=file, node=name, key="dist")
    label = _label(entry, name, file)
    return Node(name, DATA if kind == "data" else INPUT, label, shape=shape or (), value=value, dist=dist)


def _node(entry, k, file, claim, consts):
    name = _mapping(entry, "nodes", k, file, claim)
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
    value = as_value(a, file=file, node=node, key="inputs")
    check_entries(np.shape(value), file=file, node=node, key="inputs")
    return value


def _param(x, file, node, key):
    value = as_value(x, file=file, node=node, key=key)
    if np.ndim(value):
        raise SpecError(f"{key} must be a number, not a list: {x!r}", file=file, node=node, key=key)
    return float(value)


def _label(entry, name, file):
    if "label" not in entry:
        return default_label(name)
    label = entry["label"]
    if not isinstance(label, str):
        raise SpecError("label must be a string (LaTeX, e.g. v_{-2})", file=file, node=name, key="label")
    problem = label_problem(label)  # it goes into LaTeX, TikZ and exercise PDFs as it is
    if problem:
        raise SpecError(problem, file=file, node=name, key="label")
    return label


def _number_label(value):
    return "c" if np.ndim(value) else number_tex(value)
