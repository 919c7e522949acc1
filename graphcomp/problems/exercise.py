"""Seeded exercise variants: one point per student for the same function, each reproducible from its own seed.

A student's seed is derived from the base seed and the student's name (sha256 of "BASE/NAME", its first 8 bytes
as an integer); the student's point is the first draw of numpy.random.default_rng(that seed) that every op takes
(no domain error, no overflow) and whose trace prints comfortably at 4 decimals (every value, tangent and adjoint
0 or between 1e-3 and 1e4 in magnitude), and that differs from the points of the students before it. Each input
is drawn uniformly within ±max(0.5, |x₀|/2) of its base value x₀ (the spec's, or --at's; 1 where there is none)
and rounded to `decimals` places, so that the numbers are easy to work with by hand; none is 0 or ±1, where a
product or a quotient by it would hide a missing factor.

Without a spec, each student gets a random function too (random_variant), drawn from default_rng([seed, 1]): `ops`
ops from `ops_from` in turn, each argument an earlier node (one not yet used, 7 times in 10, while there is one),
kept when every input and node reaches the last one and some node feeds two or more others, and when a point fits
(every input's base value 1).
"""
import hashlib
import math
import unicodedata

import numpy as np

from graphcomp.core.errors import GraphcompError
from graphcomp.frontends import spec as spec_io
from graphcomp.ops import REGISTRY

DRAWS = 1000  # draws tried per student before giving up
SMALL, LARGE = 1e-3, 1e4  # a nonzero number below SMALL or above LARGE does not print comfortably at 4 decimals
NAME_CHARS = "._@+-"  # beside letters and digits of any script (str.isalnum) and, after the first, combining marks
NAME_CHARACTERS, NAME_BYTES = 64, 128  # keys/NAME_forward.csv stays well within a file name's 255 bytes
RESERVED = {"keys", "index.csv"}
# names Windows keeps for devices, with any extension (NUL.txt): no file or folder can have them there
DEVICES = {"con", "prn", "aux", "nul", *(f"{d}{k}" for d in ("com", "lpt") for k in "123456789¹²³")}
NAME_RULE = (f"a name is a folder name: letters and digits (of any script) and {' '.join(NAME_CHARS)}, "
             f"starting with a letter or digit and not ending with '.', at most {NAME_CHARACTERS} characters")
OPS_FROM = ("mul", "add", "sin", "exp", "div", "log")  # the default ops of a random function


def student_seed(base, name):
    """The seed of one student's variant: sha256 of 'BASE/NAME', its first 8 bytes as a big-endian integer."""
    return int.from_bytes(hashlib.sha256(f"{base}/{name}".encode("utf-8")).digest()[:8], "big")


def count_names(n):
    """The names of --count N students: student01 … studentNN (at least two digits)."""
    width = max(2, len(str(n)))
    return [f"student{k:0{width}d}" for k in range(1, n + 1)]


MAX_STUDENTS = 10_000  # a roster's, as --count's


def name_problem(name):
    """Why `name` (NFC) cannot be a student's folder name, in words, or None if it can."""
    bad = next((c for c in name if not (c.isalnum() or c in NAME_CHARS or unicodedata.category(c).startswith("M"))),
               None)
    if bad is not None and bad.isspace():
        space = "a space" if bad == " " else f"white space ({bad!r})"
        return (f"it has {space}; write {'_'.join(name.split())} (the name is a folder name and is written unquoted "
                "in the check command)")
    if bad is not None:
        return f"{bad!r} may not be in it ({NAME_RULE})"
    if not name[0].isalnum() or name.endswith("."):
        return NAME_RULE
    if len(name) > NAME_CHARACTERS or len(name.encode("utf-8")) > NAME_BYTES:
        return f"it is too long ({NAME_RULE}, {NAME_BYTES} bytes as UTF-8)"
    if name.lower() in RESERVED:
        by = "the keys" if name.lower() == "keys" else "the index"
        return f"{name.lower()} is taken in the output folder (by {by})"
    if name.split(".")[0].lower() in DEVICES:
        return (f"{name.split('.')[0]} is a device name on Windows, where no folder can be called {name}; "
                f"write {name.split('.')[0]}_ or another spelling")
    return None


def roster_names(text, file):
    """The student names in a roster's text: one a line; blank lines and lines starting with # are skipped."""
    names, seen = [], {}
    for line, raw in enumerate(text.splitlines(), 1):
        name = raw.strip()
        if not name or name.startswith("#"):
            continue
        name = unicodedata.normalize("NFC", name)  # José typed either way is one name, one folder
        why = name_problem(name)
        if why:
            raise GraphcompError(f"line {line}: {name[:40]!r} is not a usable student name: {why}", file=file)
        if name.lower() in seen:  # Alice and alice: one folder where file names ignore case
            raise GraphcompError(f"line {line}: {name!r} is listed twice (first on line {seen[name.lower()]}, "
                                 "letter case aside)", file=file)
        if len(names) == MAX_STUDENTS:
            raise GraphcompError(f"line {line}: more than {MAX_STUDENTS:,} students".replace(",", " "), file=file)
        seen[name.lower()] = line
        names.append(name)
    if not names:
        raise GraphcompError("the roster names no student (one name a line)", file=file)
    return names


def _comfortable(x):
    return x is None or (math.isfinite(x) and (x == 0 or SMALL <= abs(x) <= LARGE))


def _fits(trace):
    """Every number of the trace prints comfortably at 4 decimals."""
    numbers = [*trace.values, *(trace.tangents or ()), *(trace.adjoints or ())]
    numbers += [c[4] for c in (trace.contributions or ())]
    return all(_comfortable(None if x is None else float(x)) for x in numbers)


def draw_point(graph, base, seed, wrt, mode, decimals=1, taken=()):
    """The point of one variant: {input: value}, the first draw from default_rng(seed) that fits (see the module)
    in `mode`: forward, reverse, or both (the tangents and the adjoints)."""
    rng = np.random.default_rng(seed)
    names, repeated, trivial = graph.input_names, 0, 0
    for _ in range(DRAWS):
        point = {}
        for name in names:
            x0 = base.get(name, 1.0)
            half = max(0.5, abs(x0) / 2)
            point[name] = round(float(rng.uniform(x0 - half, x0 + half)), decimals) + 0.0  # + 0.0: no -0.0
        if tuple(point.values()) in taken:
            repeated += 1
            continue
        if any(abs(x) in (0.0, 1.0) for x in point.values()):
            trivial += 1  # a factor 1 or 0 hides a missing factor: x3 = 1 makes v6 = v5 and v̄5 = v̄6 whatever is dropped
            continue
        try:
            t = graph.trace(at=point, wrt=wrt, mode=mode)
        except (GraphcompError, ArithmeticError, ValueError):
            continue
        if _fits(t):
            return point, t
    if repeated > (DRAWS - trivial) // 2:  # the points this near the base, to these decimals, are nearly all taken
        around = ", ".join(f"{k} = {v:g}" for k, v in base.items())
        more = ", or more --decimals" if decimals < 4 else ""
        raise GraphcompError(f"no point left for another student: {repeated} of {DRAWS} draws around {around} were "
                             f"other students' ({len(taken)} so far); fewer students{more}")
    if trivial > DRAWS // 2:
        raise GraphcompError(f"no point in {DRAWS} draws around {base} to {decimals} decimals without an input 0 or "
                             "±1 (it would hide a missing factor); more --decimals, or other values with --at")
    raise GraphcompError(f"no point in {DRAWS} draws around {base} where every op is in its domain and every "
                         "number prints at 4 decimals; give other values with --at")


def spec_doc(graph, doc, point, name):
    """The spec document of one variant: the base document with its inputs' values set to the point."""
    doc = dict(doc, name=f"{doc.get('name') or graph.name}-{name}")
    doc["inputs"] = [dict(entry, value=point[entry["name"]]) for entry in doc["inputs"]]
    return doc


def load_variant(text, file):
    """The graph of a variant's spec text, read back as `check` reads it."""
    return spec_io.from_dict(spec_io.parse_text(text, file=file), file=file)


def random_ops(names):
    """The ops a random function may use, checked: scalar ops of one or two arguments with no parameter."""
    bad = [n for n in names if n not in REGISTRY or not REGISTRY[n].elementwise or REGISTRY[n].params]
    if bad:
        usable = ", ".join(n for n, op in REGISTRY.items() if op.elementwise and not op.params)
        raise GraphcompError(f"--ops-from: {', '.join(bad)} cannot go in a random function; choose from {usable}")
    if not names:
        raise GraphcompError("--ops-from names no op")
    return list(dict.fromkeys(names))


def _random_doc(rng, n_inputs, n_ops, ops_from):
    """One draw of a random function's spec document, or None if it does not join up or has no fan-out."""
    inputs = [f"x{k}" for k in range(1, n_inputs + 1)]
    nodes, unused, users = [], list(inputs), {}
    for k in range(1, n_ops + 1):
        op = ops_from[rng.integers(len(ops_from))]
        names = inputs + [n["name"] for n in nodes]
        args = []
        for _ in range(REGISTRY[op].arity):
            fresh = [a for a in unused if a not in args]
            pool = fresh if fresh and rng.random() < 0.7 else [a for a in names if a not in args]
            args.append(pool[rng.integers(len(pool))])
        name = f"v{k}"
        for a in args:
            users.setdefault(a, set()).add(name)
            if a in unused:
                unused.remove(a)
        unused.append(name)
        nodes.append({"name": name, "op": op, "inputs": args})
    if unused != [nodes[-1]["name"]] or not any(len(u) > 1 for u in users.values()):
        return None
    return {"name": "random", "description": f"a random function of {', '.join(inputs)}",
            "inputs": [{"name": x, "value": 1.0} for x in inputs], "nodes": nodes, "output": nodes[-1]["name"]}


def random_variant(seed, n_inputs, n_ops, ops_from, mode, decimals=1, taken=(), wrt="x1"):
    """A random function and its point for one student: (spec document, graph, point), as the module says; the
    point fits the derivative with respect to `wrt` in `mode` (forward, reverse or both)."""
    rng = np.random.default_rng([seed, 1])
    for _ in range(DRAWS):
        doc = _random_doc(rng, n_inputs, n_ops, ops_from)
        if doc is None:
            continue
        graph = spec_io.from_dict(doc, file="<random>")
        try:
            point, _ = draw_point(graph, {}, seed, wrt, mode, decimals, taken)
        except GraphcompError:
            continue
        return doc, graph, point
    raise GraphcompError(f"no function of {n_inputs} inputs and {n_ops} ops from {', '.join(ops_from)} in {DRAWS} "
                         "draws joins up, has a node feeding two others and a point in every op's domain; "
                         "give more --ops or other --ops-from")
