"""Fig. 1's network, forward + reverse: graphcomp's engine on torch and on numpy, against PyTorch autograd and hand-written numpy.

f = ½‖Y − W3 σ(W2 σ(W1 X))‖_F² with X, Y ∈ ℝ^{2×256} and both hidden widths w up to 2048.
For each width, one run times, side by side, from the same numpy arrays to numpy gradients:
(a) graphcomp on torch: `graph.gradient(arrays, backend="torch")`, the engine's sweeps on torch tensors,
    each intermediate .v and .d dropped once used (as autograd frees its buffers);
(b) PyTorch autograd, float64, on tensors sharing the numpy arrays' memory (torch.from_numpy), forward
    and `backward()`;
(c) graphcomp on numpy: `graph.gradient(arrays)`;
(d) the same forward (f included, as the engine computes it) and backward written by hand in numpy, as
    graphcomp.problems.mlp.gradients writes Problem 3(a)'s gradients;
(e) and (f): `graph.trace(at=arrays, backend=...).gradient`, the same sweeps keeping every .v and .d in a
    Trace (what `trace` prints), shown as "trace ÷" against (b) and (d).
(a) / (b) and (c) / (d) are the engine's own overhead over the library it runs on.
Each time is the best of 3 rounds × 5 calls (after a warm-up), the six taking turns. The gradients
are checked to agree (rtol 1e-10). Targets: engine on torch / PyTorch ≤ 1.10 at every width;
engine on numpy / numpy by hand ≤ 1.15 at widths ≥ 256 and ≤ 1.3 at 64. On a shared 2-core machine
other processes' load makes single runs noisy (PyTorch's OpenMP threads suffer most): run it twice.

On some processors OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set in the environment
and slow numpy's OpenBLAS down; unset both for this command only:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_mlp.py [--quick]
"""
import argparse
import os
import time

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

import graphcomp
from graphcomp.problems import mlp

N = 256
WIDTHS = (64, 256, 1024, 2048)
TORCH_TARGET = 1.10


def numpy_target(width):
    return 1.3 if width < 256 else 1.15


PAUSE = 0.5  # seconds between the libraries' runs
ROUNDS = 3


def best_of(fn, repeats):
    """The smallest wall time of `repeats` calls of fn, after a pause and a warm-up call, and its last result.

    The pause lets the other library's idle BLAS/OpenMP threads stop spinning: on 2 cores they would
    otherwise steal the CPU from this one's threads.
    """
    time.sleep(PAUSE)
    out = fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def engine_step(graph, arrays, backend=None):
    """Forward and reverse pass through graphcomp on `backend`; returns the gradients."""
    return graph.gradient(arrays, backend=backend)


def trace_step(graph, arrays, backend=None):
    """The same, kept in a Trace (every .v and .d); returns the gradients."""
    return graph.trace(at=arrays, mode="reverse", backend=backend).gradient


def torch_step(torch, arrays):
    """Forward and backward in PyTorch float64 on tensors sharing the numpy arrays' memory; returns the gradients."""
    W = [torch.from_numpy(arrays[k]).requires_grad_() for k in ("W1", "W2", "W3")]
    X, Y = torch.from_numpy(arrays["X"]), torch.from_numpy(arrays["Y"])
    D = Y - W[2] @ torch.relu(W[1] @ torch.relu(W[0] @ X))
    (0.5 * (D * D).sum()).backward()
    return {k: w.grad.numpy() for k, w in zip(("W1", "W2", "W3"), W)}


def numpy_step(arrays):
    """f and its gradients by hand in numpy: the forward pass, then Problem 3(a)'s closed forms (ReLU'(0) = 0)."""
    W1, W2, W3, X, Y = (arrays[k] for k in ("W1", "W2", "W3", "X", "Y"))
    V1 = W1 @ X
    V2 = np.maximum(V1, 0.0)
    V3 = W2 @ V2
    V4 = np.maximum(V3, 0.0)
    D = Y - W3 @ V4
    f = 0.5 * np.sum(D * D)
    G3 = (V3 > 0) * (-W3.T @ D)
    G1 = (V1 > 0) * (W2.T @ G3)
    return f, {"W1": G1 @ X.T, "W2": G3 @ V2.T, "W3": -D @ V4.T}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="widths up to 256 only, fewer repeats")
    args = parser.parse_args()
    import torch

    widths = WIDTHS[:2] if args.quick else WIDTHS
    repeats = 2 if args.quick else 5
    console = Console(width=max(Console().width, 170))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            console.print(f"[yellow]{var} is set; run with env -u {var} for numpy's full speed[/]")
    table = Table(title=f"Fig. 1 forward + reverse, {N} data points, float64 "
                  f"(numpy threads: OpenBLAS, torch threads: {torch.get_num_threads()})", box=box.SIMPLE_HEAD)
    for col in ("width", "engine·torch ms", "PyTorch ms", "÷", "target", "trace ÷", "engine·numpy ms",
                "numpy by hand ms", "÷", "target", "trace ÷", "grad diff"):
        table.add_column(col, justify="right", no_wrap=True)
    ok = True
    for w in widths:
        graph = graphcomp.from_dict(mlp.fig1_spec((2, w, w, 2), N, seed=w))
        arrays = graph.defaults()
        steps = (lambda: engine_step(graph, arrays, "torch"), lambda: torch_step(torch, arrays),
                 lambda: engine_step(graph, arrays),
                 lambda: numpy_step(arrays)[1],
                 lambda: trace_step(graph, arrays, "torch"), lambda: trace_step(graph, arrays))
        best, results = [float("inf")] * len(steps), [None] * len(steps)
        for _ in range(ROUNDS):  # rounds, so that a burst of background load cannot hit one library only
            for k, step in enumerate(steps):
                t, results[k] = best_of(step, repeats)
                best[k] = min(best[k], t)
        ref = results[1]
        diff = max(float(np.max(np.abs(np.asarray(r[k]) - ref[k])) / np.max(np.abs(ref[k])))
                   for r in results for k in ref)
        assert diff < 1e-10, f"width {w}: gradients differ by {diff:.1e}"
        cells = [str(w)]
        for (engine, lib, trace), target in zip(((0, 1, 4), (2, 3, 5)), (TORCH_TARGET, numpy_target(w))):
            ratio = best[engine] / best[lib]
            ok &= ratio <= target
            cells += [f"{1e3 * best[engine]:.2f}", f"{1e3 * best[lib]:.2f}", f"{ratio:.2f}",
                      f"≤{target:.2f} " + ("met" if ratio <= target else "[red]missed[/]"),
                      f"{best[trace] / best[lib]:.2f}"]
        table.add_row(*cells, f"{diff:.1e}")
    console.print(table)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
