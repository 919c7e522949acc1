"""Problem 1 in the report: the Hessian against Gauss–Newton's ½JᵀJ at the start and end points (against their
closed forms), the instance chosen for it, and "why reverse mode" beside Problem 3 (against the family's counts)."""
import re

import numpy as np

from graphcomp.problems import costs, phase, report, results


def test_the_two_matrices_against_their_closed_forms():
    inst = phase.make_instance(6, 20, 3)
    x = np.random.default_rng(0).standard_normal(6)
    H, G = phase.curvature(phase.Analytic(inst.A, inst.y), x)
    z = inst.A @ x
    r = z * z - inst.y
    np.testing.assert_allclose(G, 2 * inst.A.T @ np.diag(z * z) @ inst.A, rtol=1e-12)  # ½ (2 z a)ᵀ(2 z a)
    np.testing.assert_allclose(H - G, inst.A.T @ np.diag(r) @ inst.A, rtol=1e-9, atol=1e-9 * np.abs(H).max())
    assert np.linalg.eigvalsh(G).min() >= -1e-9 * np.abs(G).max()  # ½JᵀJ is never indefinite


def test_the_instance_is_the_first_where_newton_ends_at_a_saddle():
    inst = phase.first_instance(20, 100, 0)
    kinds = [phase.recover(phase.make_instance(20, 100, s), "newton", "random")[0].verdict.kind
             for s in range(inst.seed + 1)]
    assert kinds[-1] == phase.SADDLE and phase.SADDLE not in kinds[:-1]


def test_the_table_holds_the_eigenvalues_at_each_point_and_the_saddle_is_one():
    artifacts, sentence = report.problem1_curvature(0)
    inst = phase.first_instance(20, 100, 0)
    deriv = phase.Analytic(inst.A, inst.y)
    end = phase.recover(inst, "newton", "random")[0].x
    tex = next(a.data for a in artifacts if a.name == "problem1_curvature.tex")
    row = next(line for line in tex.splitlines() if line.startswith("Newton's end point"))
    cells = [c.strip().strip("$") for c in row.rstrip(" \\").split("&")]
    H, G = deriv.hess(end), 2 * inst.A.T @ np.diag((inst.A @ end) ** 2) @ inst.A
    eh, eg = np.linalg.eigvalsh(H), np.linalg.eigvalsh(G)
    assert [float(c) for c in cells[2:4] + cells[5:7]] == [round(e, 1) for e in (eh[0], eh[-1], eg[0], eg[-1])]
    assert int(cells[4]) == int(np.sum(eh < 0)) >= 1 and int(cells[7]) == 0  # a saddle for ∇²f, not for ½JᵀJ
    assert np.linalg.norm(deriv.grad(end)) <= 1e-6 * np.linalg.norm(deriv.grad(phase.initial_point(inst, "random")))
    assert f"seed {inst.seed}" in sentence and "saddle point" in sentence
    assert next(a for a in artifacts if a.name == "curvature.png").data[:4] == b"\x89PNG"


def test_why_reverse_mode_tabulates_the_family_counts():
    artifacts, sentence = report.why_reverse_mode()
    tex = next(a.data for a in artifacts if a.name == "cost.tex")
    rows = [list(map(int, line.rstrip(" \\").split("&"))) for line in tex.splitlines() if re.match(r"^\d", line)]
    assert [r[0] for r in rows] == list(costs.SIZES)
    for n, _, rev_n, m, fwd_m, rev_m in rows:
        # one reverse sweep runs n − 1 adds, the core and the output; one forward sweep from the one input runs the
        # core and every output; m reverse sweeps run the core and their output each
        assert rev_n == n - 1 + costs.DEPTH + 1 and fwd_m == costs.DEPTH + m and rev_m == m * (costs.DEPTH + 1)
    assert "$n = 3$" in sentence and "\\mathbb{R}" in sentence and "ℝ" not in sentence
    assert results.cost_sentence(*costs.sweep(sizes=(1, 10)), costs.crossover).count("ℝ") == 2  # the plain text
