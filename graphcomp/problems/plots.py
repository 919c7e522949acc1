"""The report's pictures as PNG bytes: Problem 1's convergence of each method, the phase transition and the two
curvature matrices, and the cost of forward and reverse mode (`jacobian --cost`).

matplotlib (Agg) is imported only when a picture is drawn. The PNG carries no
'Software' entry, so the bytes do not depend on the matplotlib version.
"""
import io

import numpy as np

from graphcomp.core.errors import GraphcompError
from graphcomp.problems.results import NAMES


def _figure(figsize=(6.4, 4.2), **grid):
    try:
        import matplotlib
    except ImportError:
        raise GraphcompError("drawing a plot needs matplotlib: pip install matplotlib "
                             "(or pip install -e '.[plot]')") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.subplots(figsize=figsize, dpi=150, **grid)


def _png(plt, fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def convergence_png(runs, *, n, m, seed, init):
    """f(x_k) against k (log scale) for {method: Run} on one instance."""
    plt, (fig, ax) = _figure()
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-.")]  # curves that coincide stay visible
    for (marker, line), (method, r) in zip(styles, runs.items()):
        k = [s.k for s in r.history]
        # f reaches exact zeros; clip them to the smallest positive float so the log scale can show them
        f = np.maximum([s.f for s in r.history], np.finfo(float).tiny)
        ax.semilogy(k, f, marker=marker, linestyle=line, markersize=4, markerfacecolor="none",
                    label=f"{NAMES[method]} ({r.verdict.kind})")
    ax.set(xlabel="iteration k", ylabel="f(x_k)", title=f"n={n}, m={m}, seed={seed}, {init} init")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return _png(plt, fig)


def phase_png(ratios, rates, *, n, count):
    """Gauss–Newton success rate (%) against m/n, one line per init ({init: rates})."""
    plt, (fig, ax) = _figure()
    for init, r in rates.items():
        ax.plot(ratios, 100 * np.asarray(r), marker="o", label=f"Gauss–Newton, {init} init")
    ax.set(xlabel="m / n", ylabel="success rate (%)", ylim=(-2, 102),
           title=f"Phase transition, n={n}, {count} instances per ratio")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _png(plt, fig)


def cost_png(by_n, by_m):
    """Operations of forward and reverse mode against n (m = 1) and against m (n = 1), log-log."""
    plt, (fig, ax) = _figure()
    for points, along, style in ((by_n, "n", "-"), (by_m, "m", "--")):
        xs = [getattr(p, along) for p in points]
        ax.loglog(xs, [p.forward_ops for p in points], "o" + style, label=f"forward mode, against {along}")
        ax.loglog(xs, [p.reverse_ops for p in points], "s" + style, label=f"reverse mode, against {along}")
    ax.set(xlabel="n inputs (m = 1), or m outputs (n = 1)", ylabel="operations executed (all sweeps)",
           title="Forward mode costs a sweep per input, reverse mode a sweep per output")
    ax.legend(fontsize=8)
    return _png(plt, fig)


def curvature_png(matrices, titles):
    """The Hessian and Gauss–Newton's ½JᵀJ at each point, as images on one colour scale (0 white, red positive,
    blue negative): {point: (∇²f, ½JᵀJ)} and {point: its title}; a column per point, ∇²f above ½JᵀJ."""
    plt, (fig, axes) = _figure((3.0 * len(matrices) + 1.2, 6.0), nrows=2, ncols=len(matrices), squeeze=False)
    scale = max(float(np.abs(M).max()) for pair in matrices.values() for M in pair)
    for k, (point, pair) in enumerate(matrices.items()):
        for row, (M, name) in enumerate(zip(pair, (r"$\nabla^2 f$", r"$\frac{1}{2}J^\top J$"))):
            ax = axes[row, k]
            image = ax.imshow(M, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
            ax.set_title(f"{name} at {titles[point]}", fontsize=9)
            ax.set(xticks=[], yticks=[])
    fig.colorbar(image, ax=axes, shrink=0.8, label="entry (one scale for all)")
    return _png(plt, fig)
