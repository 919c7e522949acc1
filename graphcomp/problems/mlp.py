r"""Problem 3(a): the analytic gradient of the three-layer network of Fig. 1, in plain numpy.

    f(W1, W2, W3) = ½ ‖y − W3 σ(W2 σ(W1 x))‖²,   σ = ReLU.

Nothing here uses the graph engine: these formulas are derived by hand and serve
as an independent reference for its reverse pass (see `graphcomp.verify`).

Derivation (the Taylor-expansion method). Name the intermediates as in Fig. 1:
V1 = W1 x, V2 = σ(V1), V3 = W2 V2, V4 = σ(V3), V5 = W3 V4, D = y − V5, f = ½‖D‖².
Perturb one weight matrix W by a small Δ and keep the terms of first order:

* f(D + δD) = ½‖D‖² + ⟨D, δD⟩ + o(δD), and δD = −δV5.
* W3 → W3 + Δ:  δV5 = Δ V4, so δf = −⟨D, Δ V4⟩ = ⟨−D V4ᵀ, Δ⟩, hence
  ∇W3 f = −D V4ᵀ.
* Through the ReLUs: σ(V + δ) = σ(V) + 1[V > 0] ⊙ δ for small δ wherever V ≠ 0
  (at V = 0 we take the derivative to be 0, as PyTorch does).
  Write S1 = 1[V1 > 0], S2 = 1[V3 > 0].
* W2 → W2 + Δ:  δV3 = Δ V2, δV4 = S2 ⊙ δV3, δV5 = W3 δV4, so
  δf = −⟨D, W3 (S2 ⊙ Δ V2)⟩ = ⟨S2 ⊙ (−W3ᵀ D), Δ V2⟩ = ⟨G3 V2ᵀ, Δ⟩ with
  G3 = S2 ⊙ (−W3ᵀ D); hence ∇W2 f = G3 V2ᵀ.
* W1 → W1 + Δ:  δV1 = Δ x, δV2 = S1 ⊙ δV1, δV3 = W2 δV2, then as above
  δf = ⟨G3, W2 (S1 ⊙ Δ x)⟩ = ⟨G1 xᵀ, Δ⟩ with G1 = S1 ⊙ (W2ᵀ G3); hence
  ∇W1 f = G1 xᵀ.

In closed form:
  ∇W3 f = −(y − V5) σ(W2 σ(W1 x))ᵀ
  ∇W2 f = [1[W2 σ(W1 x) > 0] ⊙ (−W3ᵀ (y − V5))] σ(W1 x)ᵀ
  ∇W1 f = [1[W1 x > 0] ⊙ W2ᵀ (1[W2 σ(W1 x) > 0] ⊙ (−W3ᵀ (y − V5)))] xᵀ

With many data points (X, Y ∈ ℝ^{2×N}, one per column, f = ½‖Y − W3 σ(W2 σ(W1 X))‖_F²)
the same formulas hold with x, y replaced by X, Y: each product G Vᵀ then sums
the per-point gradients over the columns.
"""
import numpy as np


def loss(W1, W2, W3, x, y):
    """f = ½‖y − W3 σ(W2 σ(W1 x))‖² (Frobenius norm when x, y hold one data point per column)."""
    D = y - W3 @ _relu(W2 @ _relu(W1 @ x))
    return 0.5 * float(np.sum(D * D))


def gradients(W1, W2, W3, x, y):
    """The analytic gradients (∇W1 f, ∇W2 f, ∇W3 f) of Problem 3(a); x, y are vectors or 2×N matrices."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    vector = x.ndim == 1
    X = x[:, None] if vector else x  # one column per data point
    Y = y[:, None] if vector else y
    V1 = W1 @ X
    V2 = _relu(V1)
    V3 = W2 @ V2
    V4 = _relu(V3)
    D = Y - W3 @ V4
    G3 = (V3 > 0) * (-W3.T @ D)  # ReLU'(0) = 0
    G1 = (V1 > 0) * (W2.T @ G3)
    return G1 @ X.T, G3 @ V2.T, -D @ V4.T


def _relu(a):
    return np.maximum(a, 0.0)


def fig1_spec(widths=(2, 3, 3, 2), n=None, *, seed=0, dist="normal"):
    """A spec dict for Fig. 1 with layer widths (d_in, h1, h2, d_out) and n data points (None: one vector x).

    The node names are those of Fig. 1 (x, W1, V1, …, D, z; X and Y for many data points);
    W_k is widths[k] × widths[k-1].
    """
    d0, d1, d2, d3 = widths
    data = [d0] if n is None else [d0, n]
    out = [d3] if n is None else [d3, n]
    x, y = ("x", "y") if n is None else ("X", "Y")
    return {
        "name": "fig1" if n is None else "fig1_batch",
        "description": "f = 1/2 ||y - W3 relu(W2 relu(W1 x))||^2",
        "seed": seed,
        "dist": dist,
        "inputs": [
            {"name": x, "shape": data, "kind": "data"},
            {"name": "W1", "shape": [d1, d0]},
            {"name": "W2", "shape": [d2, d1]},
            {"name": "W3", "shape": [d3, d2]},
            {"name": y, "shape": out, "kind": "data"},
        ],
        "nodes": [
            {"name": "V1", "op": "matmul", "inputs": ["W1", x]},
            {"name": "V2", "op": "relu", "inputs": ["V1"]},
            {"name": "V3", "op": "matmul", "inputs": ["W2", "V2"]},
            {"name": "V4", "op": "relu", "inputs": ["V3"]},
            {"name": "V5", "op": "matmul", "inputs": ["W3", "V4"]},
            {"name": "D", "op": "sub", "inputs": [y, "V5"]},
            {"name": "z", "op": "halfsq", "inputs": ["D"]},
        ],
        "output": "z",
    }
