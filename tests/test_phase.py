"""Problem 1 (graphcomp.problems.phase and `cli.py solve`): derivatives, methods, classifier, CLI errors, plots."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_pdflatex

from graphcomp.problems import phase

ROOT = Path(__file__).resolve().parents[1]
README_SEED = 0  # the instance `python cli.py solve` uses by default: n=20, m=100, seed 0


def objective(A, y, x):
    """f written out again, independently of graphcomp.problems.phase."""
    return 0.25 * np.sum((y - (A @ x) ** 2) ** 2)


def fd_gradient(fun, x, h):
    return np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def fd_hessian(fun, x, h):
    """Central second differences of f itself (not of the gradient under test)."""
    E = h * np.eye(x.size)
    return np.array([[(fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (4 * h * h)
                      for ej in E] for ei in E])


@pytest.mark.parametrize("seed", range(4))
def test_gradient_and_hessian_match_finite_differences(seed):
    inst = phase.make_instance(5, 30, seed)
    deriv = phase.Analytic(inst.A, inst.y)
    x = np.random.default_rng(100 + seed).standard_normal(5)
    fun = lambda v: objective(inst.A, inst.y, v)  # noqa: E731
    assert deriv.f(x) == pytest.approx(fun(x), rel=1e-14)
    g = deriv.grad(x)
    assert np.linalg.norm(g - fd_gradient(fun, x, 1e-5)) <= 1e-7 * np.linalg.norm(g)
    H = deriv.hess(x)
    assert np.linalg.norm(H - fd_hessian(fun, x, 1e-3)) <= 1e-5 * np.linalg.norm(H)


@pytest.mark.parametrize("n, m, seed", [(20, 100, 0), (5, 30, 3)])
def test_engine_derivatives_agree_with_the_hand_derived_ones(n, m, seed):
    inst = phase.make_instance(n, m, seed)
    analytic, engine = phase.Analytic(inst.A, inst.y), phase.Engine(inst.A, inst.y)
    for x in np.random.default_rng(seed).standard_normal((2, n)):
        for name in ("grad", "hess", "residual", "jac"):
            want, got = getattr(analytic, name)(x), getattr(engine, name)(x)
            assert got.shape == want.shape
            assert np.linalg.norm(got - want) <= 1e-10 * np.linalg.norm(want), name
        assert engine.f(x) == pytest.approx(analytic.f(x), rel=1e-10)


def test_methods_on_engine_derivatives_follow_the_analytic_run():
    inst = phase.make_instance(20, 100, README_SEED)
    for method in ("newton", "gauss-newton"):
        a, e = (phase.recover(inst, method, "spectral", source=s)[0] for s in ("analytic", "engine"))
        assert e.verdict.success and e.iterations == a.iterations


def test_residual_jacobian_and_gauss_newton_identities():
    inst = phase.make_instance(6, 40, 7)
    deriv = phase.Analytic(inst.A, inst.y)
    x = np.random.default_rng(1).standard_normal(6)
    r, J = deriv.residual(x), deriv.jac(x)
    fd_J = np.column_stack([(deriv.residual(x + 1e-6 * e) - deriv.residual(x - 1e-6 * e)) / 2e-6 for e in np.eye(6)])
    assert np.allclose(J, fd_J, rtol=1e-6, atol=1e-6)
    assert deriv.f(x) == pytest.approx(0.25 * r @ r)
    assert np.allclose(deriv.grad(x), 0.5 * J.T @ r)
    # ∇²f = ½JᵀJ + Σ r_i a_i a_iᵀ: the Gauss–Newton model drops the residual term.
    assert np.allclose(deriv.hess(x), 0.5 * J.T @ J + (inst.A.T * r) @ inst.A)


def test_lstsq_agrees_with_svd_and_handles_rank_deficiency():
    rng = np.random.default_rng(3)
    J, b = rng.standard_normal((50, 8)), rng.standard_normal(50)
    assert np.allclose(phase.lstsq(J, b), np.linalg.lstsq(J, b, rcond=None)[0], rtol=1e-12, atol=1e-12)
    J[:, 3] = J[:, 2]  # rank 7: the QR path must hand over to the minimum-norm SVD solution
    assert np.allclose(phase.lstsq(J, b), np.linalg.lstsq(J, b, rcond=None)[0], rtol=1e-10, atol=1e-10)


def test_gauss_newton_from_spectral_init_recovers_the_readme_instance():
    runs = phase.recover(phase.make_instance(20, 100, README_SEED), "gauss-newton", "spectral")
    r = runs[0]
    assert len(runs) == 1 and r.status == "converged" and r.iterations < 20
    assert r.history[-1].f < 1e-20 and r.verdict.f < 1e-20
    assert r.verdict.rel_error < 1e-9
    assert r.verdict.kind == phase.GLOBAL and r.verdict.success


@pytest.mark.parametrize("method", ["newton", "lm"])
def test_other_methods_reach_the_global_minimum_from_spectral_init(method):
    assert phase.recover(phase.make_instance(20, 100, README_SEED), method, "spectral")[0].verdict.success


def test_sign_ambiguity_minus_x_counts_as_recovered():
    inst = phase.make_instance(20, 100, README_SEED)
    deriv = phase.Analytic(inst.A, inst.y)
    assert phase.rel_error(-inst.x_true, inst.x_true) == 0
    assert np.allclose(inst.y, (inst.A @ -inst.x_true) ** 2)
    start = -inst.x_true + 0.05 * np.random.default_rng(0).standard_normal(20)
    r = phase.run(deriv, "gauss-newton", start, x_true=inst.x_true)
    assert r.verdict.success and np.linalg.norm(r.x + inst.x_true) < 1e-9 * np.linalg.norm(inst.x_true)


def test_origin_is_a_local_maximum():
    # ∇f(0) = 0 and ∇²f(0) = −Σ y_i a_i a_iᵀ, negative definite when the a_i span ℝⁿ.
    inst = phase.make_instance(20, 100, README_SEED)
    deriv = phase.Analytic(inst.A, inst.y)
    v = phase.classify(deriv, np.zeros(20), x_true=inst.x_true)
    assert v.kind == phase.MAXIMUM and v.grad_norm == 0 and v.eig_max < 0 and not v.success
    r = phase.run(deriv, "newton", np.zeros(20), x_true=inst.x_true)  # Newton stays where ∇f = 0
    assert r.iterations == 1 and r.verdict.kind == phase.MAXIMUM


def diagonal_instance():
    """A = I₂, x = (1, 2): f = ¼(1 − x₁²)² + ¼(4 − x₂²)², stationary where each x_j ∈ {0, ±√y_j}."""
    return phase.Analytic(np.eye(2), np.array([1.0, 4.0])), np.array([1.0, 2.0])


def test_classifier_saddle_point():
    # At (1, 0): ∇f = 0 and ∇²f = diag(3x_j² − y_j) = diag(2, −4).
    deriv, x_true = diagonal_instance()
    v = phase.classify(deriv, np.array([1.0, 0.0]), x_true=x_true)
    assert v.kind == phase.SADDLE and v.eig_min == pytest.approx(-4) and v.eig_max == pytest.approx(2)


def test_newton_is_attracted_by_the_saddle_gauss_newton_is_not():
    deriv, x_true = diagonal_instance()
    start = np.array([1.1, 0.1])
    assert phase.run(deriv, "newton", start, x_true=x_true).verdict.kind == phase.SADDLE
    assert phase.run(deriv, "gauss-newton", start, x_true=x_true).verdict.success


def test_classifier_spurious_local_minimum():
    # n = 1, a = (1, 1), y = (1, 3): f = ¼(1 − x²)² + ¼(3 − x²)² has its minima at x² = 2,
    # where f = 1/2 > 0 and f'' = 6x² − 4 = 8 > 0.
    deriv = phase.Analytic(np.ones((2, 1)), np.array([1.0, 3.0]))
    v = phase.classify(deriv, np.array([np.sqrt(2)]))
    assert v.kind == phase.SPURIOUS and v.f == pytest.approx(0.5) and v.eig_min == pytest.approx(8)
    assert not v.success


def test_classifier_no_convergence_and_global_minimum():
    deriv, x_true = diagonal_instance()
    assert phase.classify(deriv, np.array([0.5, 1.0]), x_true=x_true).kind == phase.NO_CONVERGENCE
    assert phase.classify(deriv, x_true, x_true=x_true).success
    wrong = phase.classify(deriv, np.array([1.0, -2.0]), x_true=x_true)  # f = 0 but neither x nor −x
    assert wrong.kind == phase.GLOBAL and not wrong.success


SPURIOUS_SEED = 5  # an instance (n=20, m=100) where Newton from its random start converges to a spurious minimum


def test_restarts_recover_after_a_spurious_minimum():
    inst = phase.make_instance(20, 100, SPURIOUS_SEED)
    runs = phase.recover(inst, "newton", "random", restarts=10)
    assert not runs[0].verdict.success and runs[0].verdict.kind == phase.SPURIOUS
    assert runs[-1].verdict.success and 1 < len(runs) <= 11
    again = phase.recover(inst, "newton", "random", restarts=10)
    assert [r.iterations for r in again] == [r.iterations for r in runs]  # seeded


def test_trials_summaries_are_consistent():
    pytest.importorskip("scipy")
    calls = []
    summaries = phase.trials(10, 50, 3, seed=5, restarts=2, progress=lambda: calls.append(1))
    assert len(calls) == 3
    assert {(s.method, s.init) for s in summaries} == {(m, i) for m in phase.METHODS + (phase.REFERENCE,)
                                                        for i in phase.INITS}
    for s in summaries:
        assert s.trials == 3 and s.successes + sum(s.failures.values()) == 3
        assert s.successes <= s.successes_restarts <= 3 and s.median_iterations >= 1


def test_phase_transition_shape():
    rates = phase.phase_transition(5, 2, ratios=(1.5, 6.0), seed=1)
    assert set(rates) == set(phase.INITS)
    assert all(r.shape == (2,) and np.all((0 <= r) & (r <= 1)) for r in rates.values())


@pytest.fixture
def solve(cli):
    """`cli.py solve ARGS` in this process → (status, stdout, stderr)."""
    return lambda *args: cli("solve", *args)


def solve_in_a_new_process(*args):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "solve", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (("--n", "20", "--m", "10"), "--m must be at least --n"),
    (("--n", "0"), "--n must be positive"),
    (("--n", "-4", "--m", "3"), "--n must be positive"),
    (("--method", "bfgs"), "unknown method 'bfgs'"),
    (("--init", "zero"), "unknown init 'zero'"),
    (("--iters", "0"), "--iters must be at least 1"),
    (("--plot", "out.jpg"), "PNG"),
    (("--derivatives", "torch"), "unknown derivative source 'torch'"),
    (("--trials", "2", "--plot", "out.png"), "does not combine with --trials"),
    (("-o", "out.png"), "-o writes text, not a picture (.png): give a .tex, .md, .csv or .json"),
    (("-o", "out.PDF", "--format", "csv"), "--plot, `draw`"),
    (("-o", ""), "-o is empty"),
    (("--plot", ""), "--plot is empty"),
    (("--tol", "inf"), "--tol must be a positive finite number"),
    (("--tol", "nan"), "--tol must be a positive finite number"),
])
def test_cli_bad_arguments_exit_2_with_one_message(solve, args, message):
    _one_error(solve(*args), message)


def _one_error(p, words):
    assert p.status == 2 and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphcomp: error:") and words in lines[0], p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("source", phase.SOURCES)
def test_cli_prints_tables_and_verdicts(solve, source):
    p = solve("--method", "all", "--init", "spectral", "--n", "8", "--m", "40", "--seed", "5", "--derivatives", source)
    assert p.status == 0, p.stderr
    for name in ("Newton", "Gauss–Newton", "Levenberg–Marquardt"):
        assert f"{name}: global minimum reached" in p.stdout


def test_cli_trials_table_has_the_scipy_reference(solve):
    pytest.importorskip("scipy")
    p = solve("--trials", "3", "--n", "8", "--m", "40", "--restarts", "1")
    assert p.status == 0, p.stderr
    assert "scipy lm" in p.stdout and "Gauss–Newton" in p.stdout and "restarts" in p.stdout


def test_cli_writes_its_tables_to_a_file_in_each_format(solve, tmp_path):
    args = ("--method", "all", "--init", "spectral", "--n", "8", "--m", "40", "--seed", "5")
    for suffix in ("csv", "json", "md", "tex"):
        ran = solve(*args, "-o", str(tmp_path / f"p1.{suffix}"))
        assert ran.status == 0 and ran.stdout == f"wrote {tmp_path / f'p1.{suffix}'}\n", ran.stderr
    rows = list(csv.DictReader((tmp_path / "p1.csv").open(encoding="utf-8")))
    doc = json.loads((tmp_path / "p1.json").read_text(encoding="utf-8"))
    for method in phase.METHODS:
        mine = [r for r in rows if r["method"] == method]
        assert [int(r["k"]) for r in mine] == list(range(len(mine)))  # every iteration, in order
        assert float(mine[-1]["rel_error"]) < 1e-10 and float(mine[-1]["f"]) < 1e-20  # x recovered, as the verdict
        assert [it["f"] for it in doc[method]["iterations"]] == [float(r["f"]) for r in mine]
        assert "global minimum reached" in doc[method]["verdict"]
    md, tex = (tmp_path / "p1.md").read_text(), (tmp_path / "p1.tex").read_text()
    assert md.count("\n| ") == len(rows) + 3 * 1  # a row per iteration and a header row per method
    assert tex.count("\\begin{tabular}") == 3 and tex.startswith("% graphcomp solve: Newton, Gauss–Newton")
    assert solve("--trials", "2", "--n", "8", "--m", "40", "--format", "csv").stdout.startswith("method,init,success")
    assert "| m/n | m |" in solve("--phase-transition", "--trials", "2", "--n", "6", "--format", "markdown").stdout


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_plots_are_valid_deterministic_pngs(solve, tmp_path):
    first, second, ph = tmp_path / "a" / "convergence.png", tmp_path / "convergence.png", tmp_path / "phase.png"
    assert solve("--plot", str(first), "--n", "8", "--m", "40").status == 0
    # the second in a process of its own (own hash seed, fresh matplotlib): identical across runs, not only within one
    assert solve_in_a_new_process("--plot", str(second), "--n", "8", "--m", "40").returncode == 0
    for path in (first, second):
        assert is_png(path)
    assert first.read_bytes() == second.read_bytes()
    p = solve("--phase-transition", "--trials", "2", "--n", "5", "--plot", str(ph))
    assert p.status == 0, p.stderr
    assert is_png(ph) and "m/n" in p.stdout
    assert not list(tmp_path.rglob("*.tmp"))


def test_cli_a_plot_that_cannot_be_written_leaves_no_table(solve, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    (tmp_path / "t.tex").write_text("old")
    # a plot the checks let through (as /proc/p.png is, for root) but whose write fails
    monkeypatch.setattr("graphcomp.cli.solve.check_writable", lambda path: None)
    for table in ("t.tex", "new.tex"):
        p = solve("--n", "5", "--m", "20", "-o", str(tmp_path / table), "--plot", str(tmp_path / "file" / "p.png"))
        _one_error(p, "is a file")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["file", "t.tex"] and (tmp_path / "t.tex").read_text() == "old"


def test_cli_refuses_a_plot_and_a_table_in_one_file(solve, tmp_path):
    (tmp_path / "t.png").symlink_to("t.csv")
    p = solve("--n", "5", "--m", "20", "-o", str(tmp_path / "t.csv"), "--plot", str(tmp_path / "t.png"))
    _one_error(p, "--plot and -o name the same file")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["t.png"]


def test_cli_refuses_a_dangling_symlink_to_a_missing_folder(solve, tmp_path):
    (tmp_path / "t.tex").symlink_to(tmp_path / "nowhere" / "zz.tex")
    (tmp_path / "p.png").symlink_to(tmp_path / "nowhere" / "zz.png")
    for args in (("-o", str(tmp_path / "t.tex")), ("--plot", str(tmp_path / "p.png"))):
        _one_error(solve("--n", "5", "--m", "20", *args), "is a symlink to")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("command", [("trace", "eq2.yaml"), ("jacobian", "eq2.yaml"), ("hessian", "eq2.yaml"),
                                     ("check", "eq2.yaml", "--wrt", "x2", "answers.txt")])
def test_every_text_command_refuses_a_picture_or_an_empty_output(cli, tmp_path, command):
    for out, words in ((tmp_path / "x.png", "not a picture (.png)"), (tmp_path / "x.svg", "not a picture (.svg)"),
                       ("", "-o is empty")):
        _one_error(cli(*command, "-o", str(out)), words)
    assert list(tmp_path.iterdir()) == []


def test_cli_trials_print_nothing_on_stderr(solve, tmp_path):
    for out in (("-o", str(tmp_path / "tr.csv")), ("--format", "csv"), ()):  # progress goes to stderr with a file
        p = solve("--trials", "2", "--n", "5", "--m", "20", "--method", "gauss-newton", *out)
        assert p.status == 0 and p.stderr == "", repr(p.stderr)


def test_cli_wrote_lines_go_where_the_table_goes(solve, tmp_path):
    args = ("--phase-transition", "--trials", "2", "--n", "5", "--plot", str(tmp_path / "pt.png"))
    p = solve(*args, "-o", str(tmp_path / "pt.tex"))
    assert p.status == 0 and p.stderr == ""
    assert p.stdout == f"wrote {tmp_path / 'pt.png'}\nwrote {tmp_path / 'pt.tex'}\n"
    p = solve(*args, "--format", "csv")  # the table on standard output: the 'wrote' line stays off it
    assert p.status == 0 and p.stdout.startswith("m_over_n,") and "wrote" not in p.stdout
    assert p.stderr == f"wrote {tmp_path / 'pt.png'}\n"


@needs_pdflatex
def test_trials_latex_fits_an_articles_text(solve, tmp_path):
    p = solve("--trials", "2", "--n", "5", "--m", "20", "--restarts", "10", "-o", str(tmp_path / "tr.tex"))
    assert p.status == 0, p.stderr
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
                                      "\\noindent\\input{tr.tex}\\par\n\\end{document}\n", encoding="utf-8")
    ran = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert ran.returncode == 0 and "Overfull" not in log, log[-2000:]
