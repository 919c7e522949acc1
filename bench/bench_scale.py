"""Scale benchmark: a chain spec of 10³ … 10⁶ nodes through each stage, and through the command line.

    .venv/bin/python bench/bench_scale.py                 # 10³ … 10⁶ nodes, JSON and YAML specs
    .venv/bin/python bench/bench_scale.py --max 1e5       # a quicker run

The spec is a chain x → sin → cos → tanh → sigmoid → sin → … (one input, one op a node),
written as JSON (what a program that generates a graph writes; it is YAML too) and as
block YAML with one flow mapping a node. For each size and format, in a fresh process:
  parse   the file's text to a document (graphcomp.frontends.spec.parse_text, limits checked)
  build   the document to a Graph (validation, ordering, shapes)
  sweeps  graph.trace(mode="reverse"): values, then adjoints
  render  the trace as JSON, streamed to a file (what `trace --format json -o` writes)
with the wall time of each and the process's peak resident memory after it (it only grows).
Then the whole command, `cli.py trace SPEC --format json -o out.json`, in its own process:
wall time and peak memory. Nothing is timed in the test suite; sizes are the issue's.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's graphcomp, not another installed one

from graphcomp.cli.io import write_atomic  # noqa: E402
from graphcomp.frontends.spec import from_dict, parse_text  # noqa: E402
from graphcomp.render.tables import json_chunks  # noqa: E402

SIZES = (10**3, 10**4, 10**5, 10**6)
OPS = ("sin", "cos", "tanh", "sigmoid")


def write_chain(path, n, fmt):
    """A chain spec of n nodes (the input and n - 1 ops) at `path`, as 'json' or 'yaml'."""
    names = ["x"] + [f"v{i}" for i in range(1, n)]
    if fmt == "json":  # written node by node: a child forked from a big parent would start with its memory counted
        with open(path, "w", encoding="utf-8") as fh:
            fh.write('{"name": "chain", "inputs": [{"name": "x", "value": 0.5}], "nodes": [')
            fh.writelines((", " if i > 1 else "") + json.dumps({"name": names[i], "op": OPS[i % 4], "inputs": [names[i - 1]]})
                          for i in range(1, n))
            fh.write(f'], "output": "{names[-1]}"}}')
        return
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("name: chain\ninputs:\n  - {name: x, value: 0.5}\nnodes:\n")
        fh.writelines(f"  - {{name: {names[i]}, op: {OPS[i % 4]}, inputs: [{names[i - 1]}]}}\n" for i in range(1, n))
        fh.write(f"output: {names[-1]}\n")


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stages(path, out):
    """Run the four stages on the spec at `path` in this process; prints one JSON line of times and peaks."""
    row, t0 = {}, time.perf_counter()

    def mark(stage):
        nonlocal t0
        now = time.perf_counter()
        row[stage] = (now - t0, peak_mb())
        t0 = now

    doc = parse_text(Path(path).read_text(encoding="utf-8"), file=path)
    mark("parse")
    graph = from_dict(doc, file=path)
    del doc
    mark("build")
    trace = graph.trace(mode="reverse")
    mark("sweeps")
    write_atomic(out, json_chunks(trace))
    mark("render")
    print(json.dumps(row))


def cli_run(path, out):
    """(wall seconds, peak MiB) of `cli.py trace SPEC --format json -o out` in a fresh process."""
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "trace", str(path), "--format", "json", "-o",
                              str(out)], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest of all children's
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"cli.py trace {path} exited with status {child.returncode}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def machine():
    try:
        model = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown"
    return f"{model}, Python {platform.python_version()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=float, default=1e6, help="largest size (default 1e6)")
    ap.add_argument("--formats", default="json,yaml", help="spec formats to run (default json,yaml)")
    ap.add_argument("--stages", metavar="SPEC", help=argparse.SUPPRESS)  # the child process's entry
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stages:
        stages(args.stages, args.out)
        return
    print(f"machine: {machine()}")
    print("| spec | nodes | MB | parse s | build s | sweeps s | render s | stages peak MiB | CLI s | CLI peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            for n in (s for s in SIZES if s <= args.max):
                if fmt == "yaml" and n > 10**5:
                    continue  # YAML's target is 10⁵ nodes; 10⁶ takes minutes
                spec, out = Path(tmp) / f"chain{n}.{fmt}", Path(tmp) / "out.json"
                write_chain(spec, n, fmt)
                child = subprocess.run([sys.executable, __file__, "--stages", str(spec), "--out", str(out)],
                                       check=True, capture_output=True, text=True)
                row = json.loads(child.stdout)
                wall, peak = cli_run(spec, out)
                times = " | ".join(f"{row[s][0]:.2f}" for s in ("parse", "build", "sweeps", "render"))
                print(f"| {fmt} | {n:,} | {spec.stat().st_size / 2**20:.1f} | {times} | {row['render'][1]:.0f} | "
                      f"{wall:.1f} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
