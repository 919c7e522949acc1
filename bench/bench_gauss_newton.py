"""Gauss–Newton (graphcomp.problems.phase) against scipy least_squares 'lm': time to relative error 1e-9.

Both solvers start from the same spectral initial point (not timed) and get
the same analytic residual and Jacobian. Neither reports the error while it
runs, so for each solver the stopping tolerance is the loosest of 1e-1 … 1e-15
whose end point is within 1e-9 of ±x_true; that run is then timed (best of a
few repeats). Usage: python bench/bench_gauss_newton.py [--quick]
"""
import argparse
import time

from rich import box
from rich.console import Console
from rich.table import Table

from graphcomp.problems import phase

TARGET = 1e-9
TOLERANCES = [10.0 ** -k for k in range(1, 16)]
SIZES = ((20, 100), (1000, 5000))
SOLVERS = (("gauss-newton", "graphcomp GN"), (phase.REFERENCE, "scipy lm"))


def time_to_target(deriv, method, x0, x_true, repeats):
    """(tol, iterations, best seconds, error) for the loosest tolerance reaching TARGET."""
    for tol in TOLERANCES:
        times, r = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            r = phase.run(deriv, method, x0, tol=tol, judge=False)
            times.append(time.perf_counter() - start)
            err = phase.rel_error(r.x, x_true)
            if err > TARGET:
                break
        else:
            return tol, r.iterations, min(times), err
    raise RuntimeError(f"{method} did not reach relative error {TARGET:g} at any tolerance")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only n=20, m=100")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = Table(title=f"time to relative error {TARGET:g} from spectral init (seed {args.seed})",
                  box=box.SIMPLE_HEAD)
    for col in ("n", "m", "solver", "tol", "iters", "error", "seconds", "scipy / ours"):
        table.add_column(col, justify="left" if col == "solver" else "right", no_wrap=True)
    for n, m in SIZES[:1] if args.quick else SIZES:
        inst = phase.make_instance(n, m, args.seed)
        deriv = phase.Analytic(inst.A, inst.y)
        x0 = phase.spectral_init(inst.A, inst.y)
        repeats = 30 if n * m <= 10**4 else 2
        results = {method: time_to_target(deriv, method, x0, inst.x_true, repeats) for method, _ in SOLVERS}
        ratio = results[phase.REFERENCE][2] / results["gauss-newton"][2]
        for method, label in SOLVERS:
            tol, iters, seconds, err = results[method]
            table.add_row(str(n), str(m), label, f"{tol:.0e}", str(iters), f"{err:.1e}", f"{seconds:.4g}",
                          f"{ratio:.2f}×" if method == phase.REFERENCE else "", end_section=method == phase.REFERENCE)
    Console().print(table)


if __name__ == "__main__":
    main()
