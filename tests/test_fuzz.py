"""Property-based hostile input: malformed specs and .npz files through `trace`, each within the stated limits.

For every generated case: exit status 0 or 2; for 2, one line on stderr and nothing written; never a
traceback; and each run within a time and a memory bound (the limits keep any input far below them).
Seeded (derandomize) and bounded (max_examples, a deadline per example), like every random thing here.
"""
import io
import json
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SECONDS, MIB = 2.0, 64  # per run (CPU seconds): far above what a spec of a few kB needs, far below what a limit lets through
FUZZ = settings(max_examples=300, derandomize=True, deadline=5000, suppress_health_check=[HealthCheck.too_slow])

BASE = {"name": "f", "inputs": [{"name": "x", "value": 0.5}, {"name": "W", "shape": [2, 2], "kind": "data"}],
        "nodes": [{"name": "h", "op": "mul", "inputs": ["W", "x"]}, {"name": "y", "op": "halfsq", "inputs": ["h"]}],
        "output": "y"}
PLACES = [(), ("inputs",), ("nodes",), ("inputs", 0), ("inputs", 1), ("nodes", 0), ("nodes", 1)]
KEYS = ["name", "value", "shape", "label", "kind", "op", "inputs", "output", "p", "seed", "dist", "notation", "<<"]


class Raw(str):
    """YAML text put into the spec as it is (tags, anchors, control characters)."""


RAW = st.sampled_from([
    "!!float abc", "!!int abc", "2024-02-30", "!!timestamp 2024-13-45", "!!binary AAAA", "*nowhere", "&a [1, *a]",
    "!!python/object/apply:os.system [echo]", "[" * 40 + "]" * 40, "{a: 1, a: 2}", '"\\ud800"', '"y\\n"', "\x00",
    "\x07", "\x1b[31m", "~", "[1, [2, 3]]", "[[[1]], [[2]]]", "1e400", "-.inf", ".nan", "[100000000000]",
    "[1000000, 1000000]", "[" + ", ".join(["1"] * 70) + "]", "9" * 400, "0x1F", "0o17", "1_000", "'v1'",
])
LEAF = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30), st.floats(), st.booleans(), st.none(),
    st.text(st.characters(codec="utf-8"), max_size=8), st.sampled_from(["x", "W", "h", "y", "sin", "matmul"]),
    st.lists(st.integers(min_value=-3, max_value=10**12), max_size=4),
)
JUNK = st.one_of(RAW.map(Raw), st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3), max_leaves=12))


def to_yaml(x):
    """Flow-style YAML for a document whose leaves may be Raw text."""
    if isinstance(x, Raw):
        return str(x)
    if isinstance(x, dict):
        return "{" + ", ".join(f"{to_yaml(k)}: {to_yaml(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ", ".join(map(to_yaml, x)) + "]"
    return json.dumps(x)


def _has_raw(x):
    return isinstance(x, Raw) or isinstance(x, dict) and any(map(_has_raw, [*x, *x.values()])) \
        or isinstance(x, list) and any(map(_has_raw, x))


@st.composite
def specs(draw):
    """(file name, bytes) of a spec: the base one with a few places set to junk, dropped or repeated."""
    doc = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 3))):
        where = doc
        for step in draw(st.sampled_from(PLACES)):
            where = where[step] if isinstance(where, (dict, list)) and (
                step in where if isinstance(where, dict) else step < len(where)) else where
        if not isinstance(where, dict):
            continue
        action, key = draw(st.sampled_from(["set", "set", "drop"])), draw(st.sampled_from(KEYS))
        if action == "drop":
            where.pop(key, None)
        else:
            where[key] = draw(JUNK)
    if not _has_raw(doc) and draw(st.booleans()):
        return "spec.json", json.dumps(doc).encode("utf-8", "surrogatepass")
    prefix = draw(st.sampled_from(["", "a: &a [1, 1, 1]\nb: &b [*a, *a, *a]\n", "name: dup\n", "\ufeff"]))
    return "spec.yaml", (prefix + to_yaml(doc) + "\n").encode("utf-8", "surrogatepass")


def _array(draw):
    dtype = draw(st.sampled_from(["<f8", "<f4", "<i4", "<u2", "<c16", "|b1", "<U2"]))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    fill = draw(st.sampled_from([0, 1, np.nan, np.inf])) if dtype[1] in "fc" else 0
    return np.full(shape, fill, dtype=dtype)


@st.composite
def npz_files(draw):
    """Bytes of an .npz: arrays of any dtype and small shape under the graph's names or others, maybe damaged."""
    names = draw(st.lists(st.sampled_from(["x", "W", "Q", "h"]), unique=True, max_size=3))
    arrays = {n: (np.ones((2, 2)) if draw(st.booleans()) and n == "W" else _array(draw)) for n in names}
    buf = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buf, **arrays)
    data = bytearray(buf.getvalue())
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip", "header"]))
    if damage == "truncate" and data:
        del data[draw(st.integers(0, len(data) - 1)):]
    elif damage == "flip" and data:
        k = draw(st.integers(0, len(data) - 1))
        data[k] ^= draw(st.integers(1, 255))
    elif damage == "header":  # a member whose header claims far more entries than the file holds
        out = io.BytesIO()
        np.lib.format.write_array_header_1_0(out, {"descr": "<f8", "fortran_order": False,
                                                   "shape": (draw(st.integers(1, 10**9)), 10**6)})
        with zipfile.ZipFile(buf, "a") as z:
            z.writestr("W.npy", out.getvalue() + bytes(16))
        data = bytearray(buf.getvalue())
    return bytes(data)


def run_bounded(cli, folder, *args):
    """Run the CLI in `folder`; check the status, the one line, no traceback and the time and memory it took."""
    before = set(folder.iterdir())
    tracemalloc.start()
    t0 = time.process_time()  # CPU time: other processes' load (a parallel test run) does not count
    try:
        ran = cli(*args, cwd=folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.process_time() - t0
    assert ran.status in (0, 2), ran
    assert "Traceback" not in ran.stderr
    assert elapsed < SECONDS and peak < MIB * 2**20, (elapsed, peak / 2**20)
    if ran.status == 2:
        lines = ran.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("graphcomp: error: "), ran.stderr
        assert set(folder.iterdir()) == before, "a file was written on error"
    return ran


@FUZZ
@given(specs())
def test_malformed_specs(cli, spec):
    name, data = spec
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / name).write_bytes(data)
        run_bounded(cli, folder, "trace", name, "--mode", "both", "--wrt", "x", "--format", "json", "-o", "out.json")


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # the "header" damage adds a second W.npy
@FUZZ
@given(npz_files())
def test_malformed_npz_files(cli, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "spec.json").write_text(json.dumps(BASE), encoding="utf-8")
        (folder / "d.npz").write_bytes(data)
        ran = run_bounded(cli, folder, "trace", "spec.json", "--data", "d.npz", "-o", "out.md")
        if ran.status == 2:
            assert ran.stderr.startswith("graphcomp: error: d.npz"), ran.stderr  # the .npz, never the spec
