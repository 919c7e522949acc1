"""Problem 3(c): analytic gradients, the engine, float64 PyTorch and finite differences agree, and `verify` says so.

The PyTorch references here are written out from Eq. (6) with torch operations, not
run through graphcomp's graph, so they are independent of verify.torch_gradients.
"""
import configparser
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphcomp
from graphcomp import ops
from graphcomp.problems import mlp
from graphcomp.problems.verify import (
    TORCH_HINT,
    finite_differences_with_errors,
    verify,
)

ROOT = Path(__file__).resolve().parent.parent
TORCH_RTOL = 1e-12  # float64 on both sides, same products: rounding only
FD_RTOL = 1e-6


def _torch_eq6(W1, W2, W3, x, y):
    """∇W f by PyTorch autograd, float64, from copies of the numpy arrays; f = ½‖y − W3 σ(W2 σ(W1 x))‖²."""
    torch = pytest.importorskip("torch")
    W = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in (W1, W2, W3)]
    x, y = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    D = y - W[2] @ torch.relu(W[1] @ torch.relu(W[0] @ x))
    (0.5 * (D * D).sum()).backward()
    return [w.grad.numpy() for w in W]


def _draw(seed, dist, widths=(2, 3, 3, 2), n=None):
    g = graphcomp.from_dict(mlp.fig1_spec(widths, n, seed=seed, dist=dist))
    a = g.defaults()
    xy = ("x", "y") if n is None else ("X", "Y")
    return g, [a["W1"], a["W2"], a["W3"], a[xy[0]], a[xy[1]]]


@pytest.mark.parametrize("dist", ["normal", "uniform"])
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [None, 8])
def test_analytic_gradients_match_pytorch(seed, dist, n):
    _, args = _draw(seed, dist, n=n)
    for mine, ref in zip(mlp.gradients(*args), _torch_eq6(*args)):
        np.testing.assert_allclose(mine, ref, rtol=TORCH_RTOL, atol=1e-14)
    np.testing.assert_allclose(mlp.loss(*args), 0.5 * np.sum((args[4] - args[2] @ np.maximum(
        args[1] @ np.maximum(args[0] @ args[3], 0), 0)) ** 2), rtol=1e-15)


@pytest.mark.parametrize("seed", range(3))
def test_analytic_gradients_match_finite_differences(seed):
    g, args = _draw(seed, "normal", widths=(3, 4, 5, 2), n=6)
    fd, _ = finite_differences_with_errors(g, g.defaults())
    for k, mine in zip(("W1", "W2", "W3"), mlp.gradients(*args)):
        np.testing.assert_allclose(mine, fd[k], rtol=FD_RTOL, atol=1e-8)


@pytest.mark.parametrize("spec, seed, dist", [("fig1.yaml", None, None), ("fig1.yaml", 3, "uniform"),
                                              ("fig1.yaml", 21, "normal"), ("fig1_batch.yaml", 5, "uniform")])
def test_verify_fig1_four_ways(spec, seed, dist):
    pytest.importorskip("torch")
    r = verify(graphcomp.load(spec), seed=seed, dist=dist)
    assert list(r.gradients) == ["analytic", "engine", "torch", "fd"] and not r.skipped
    assert len(r.comparisons) == 6 * 3 and r.ok
    for c in r.comparisons:
        assert c.rel_diff <= (FD_RTOL if "fd" in (c.a, c.b) else TORCH_RTOL), c
    xy = ("x", "y") if "x" in r.inputs else ("X", "Y")
    args = [r.inputs[k] for k in ("W1", "W2", "W3", *xy)]
    for k, ref in zip(("W1", "W2", "W3"), _torch_eq6(*args)):  # the same arrays through Eq. (6) in torch
        np.testing.assert_allclose(r.gradients["engine"][k], ref, rtol=TORCH_RTOL, atol=1e-14)


def test_verify_any_scalar_graph_without_the_analytic_column():
    pytest.importorskip("torch")
    r = verify(graphcomp.load("eq2.yaml"))
    assert "analytic" in r.skipped and list(r.gradients) == ["engine", "torch", "fd"] and r.ok
    # Problem 2's reverse-mode answer to four digits, from the problem set's worked numbers
    assert round(float(r.gradients["torch"]["x2"]), 4) == 2.6955


def test_verify_a_fig1_lookalike_is_not_given_the_analytic_column():
    spec = mlp.fig1_spec()
    spec["nodes"][1]["op"] = "tanh"  # same names and shapes, another network
    r = verify(graphcomp.from_dict(spec), use_torch=False)
    assert "analytic" in r.skipped and r.ok


def test_verify_catches_a_wrong_rule(monkeypatch):
    relu = ops.REGISTRY["relu"]
    # the local partial is the rule the sweeps use for an elementwise op; its VJP is built from it
    wrong = dataclasses.replace(relu, partials=lambda m, y, a: ((a >= -0.5) * 1.0,),
                                vjp=lambda m, g, y, a: (g * (a >= -0.5),))
    monkeypatch.setitem(ops.REGISTRY, "relu", wrong)
    r = verify(graphcomp.load("fig1.yaml"), seed=2, use_torch=False)
    assert not r.ok
    assert all(not c.ok for c in r.comparisons if "engine" in (c.a, c.b) and c.param == "W1")
    assert all(c.ok for c in r.comparisons if c.a == "analytic" and c.b == "fd")


def test_relu_kinks_are_reported_and_only_finite_differences_disagree_there():
    pytest.importorskip("torch")
    r = verify(graphcomp.load("fig1.yaml"), seed=3, dist="rademacher")  # ±1 entries: pre-activations exactly 0
    assert r.kinks and not r.ok
    assert all(c.ok for c in r.comparisons if "fd" not in (c.a, c.b))
    assert verify(graphcomp.load("fig1.yaml")).kinks == {}


def test_without_torch_the_other_columns_still_run(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    r = verify(graphcomp.load("fig1.yaml"))
    assert list(r.gradients) == ["analytic", "engine", "fd"] and r.ok
    assert TORCH_HINT in r.skipped["torch"]
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    assert TORCH_HINT == f"pip install {setup['options.extras_require']['torch'].strip()}"  # the version we pin


@pytest.fixture
def verify_cli(cli):
    """`cli.py verify ARGS` in this process → (status, stdout, stderr)."""
    return lambda *args: cli("verify", *args, env={"COLUMNS": "120", "PATH": ""})


def test_tolerances_are_stated(verify_cli):
    """The tolerances verify applies, as its JSON gives them, are the ones docs/problem3.md states."""
    docs = " ".join((ROOT / "docs" / "problem3.md").read_text(encoding="utf-8").split())
    stated = re.search(r"rtol (\S+), atol (\S+) between the three exact methods .*? rtol (\S+), atol (\S+) plus "
                       r"the finite differences' own error estimate", docs)
    assert stated, "docs/problem3.md no longer states the tolerances"
    exact, against_fd = tuple(map(float, stated.group(1, 2))), tuple(map(float, stated.group(3, 4)))
    done = verify_cli("fig1.yaml", "--no-torch", "--format", "json", "-o", "-")
    assert done.status == 0, done.stderr
    doc = json.loads(done.stdout)
    pairs = {(c["a"], c["b"]) for c in doc["comparisons"]}
    assert pairs == {("analytic", "engine"), ("analytic", "fd"), ("engine", "fd")}
    for c in doc["comparisons"]:
        if "fd" in (c["a"], c["b"]):
            assert (c["rtol"], c["atol"]) == (against_fd[0], against_fd[1] + doc["fd_error"][c["parameter"]]), c
        else:
            assert (c["rtol"], c["atol"]) == exact, c


def test_verify_command(verify_cli, tmp_path):
    pytest.importorskip("torch")
    out = verify_cli("fig1.yaml", "--seed", "3", "--dist", "uniform")
    assert out.status == 0, out.stderr
    for text in ("(i) analytic", "(ii) engine reverse", "(iii) PyTorch autograd", "(iv) finite differences",
                 "analytic – torch", "engine – fd", "max rel diff", "AGREE", "all 18 comparisons",
                 "numpy.random.seed(3)", "W1 = numpy.random.uniform(-1.0, 1.0, (3, 2))"):
        assert text in " ".join(out.stdout.split())  # the drawing lines may wrap
    draws = np.random.RandomState(3)  # the lines it prints re-create the data: check them against the engine's
    x, W1 = draws.uniform(-1.0, 1.0, 2), draws.uniform(-1.0, 1.0, (3, 2))
    t = graphcomp.load("fig1.yaml").trace(seed=3, dist="uniform")
    np.testing.assert_array_equal(t["x"].v, x)
    np.testing.assert_array_equal(t["W1"].v, W1)
    np.savez(tmp_path / "mine.npz", **{k: np.asarray(v) for k, v in t.inputs.items()})
    data = verify_cli("fig1.yaml", "--data", str(tmp_path / "mine.npz"))
    assert data.status == 0 and "inputs from " in data.stdout and "numpy.random.seed" not in data.stdout
    eq2 = verify_cli("eq2.yaml")
    assert eq2.status == 0 and "(i) analytic: skipped" in eq2.stdout and "AGREE" in eq2.stdout


def test_verify_command_errors_are_one_line(verify_cli):
    out = verify_cli(str(ROOT / "tests" / "specs" / "fig1_problem_sizes.yaml"))
    assert out.status == 2 and out.stderr.count("\n") == 1 and "W1 ∈ ℝ^{3×2}" in out.stderr


def test_trace_does_not_import_torch():
    out = subprocess.run([sys.executable, "-X", "importtime", "cli.py", "trace", "eq2.yaml"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert not {"torch", "scipy", "matplotlib"} & imported


def _constant_output_spec():
    return {"name": "constout", "inputs": [{"name": "x", "value": 1.5}, {"name": "c", "value": 2.0, "kind": "data"}],
            "nodes": [{"name": "v1", "op": "sin", "inputs": ["c"]}, {"name": "v2", "op": "mul", "inputs": ["x", "x"]}],
            "output": "v1"}


def test_an_output_no_differentiable_input_reaches_has_zero_gradients():
    pytest.importorskip("torch")
    r = verify(graphcomp.from_dict(_constant_output_spec()))  # f = sin(c): ∂f/∂x = 0
    assert r.constant and r.ok and list(r.gradients) == ["engine", "torch", "fd"]
    assert all(float(g["x"]) == 0.0 for g in r.gradients.values())
    assert r.value == pytest.approx(np.sin(2.0), rel=1e-15)


def test_verify_command_on_a_constant_output(verify_cli, tmp_path):
    pytest.importorskip("torch")
    import yaml

    spec = tmp_path / "constout.yaml"
    spec.write_text(yaml.safe_dump(_constant_output_spec()))
    out = verify_cli(str(spec))
    assert out.status == 0 and out.stderr == "", out.stderr
    assert "no differentiable input reaches the output" in out.stdout and "AGREE" in out.stdout


# d/dx by hand at points where a step h·max(1, |x|) was too coarse (log near 0, sin and exp at large x)
# or stepped out of the domain (sqrt near 0)
CLOSED_FORMS = [("log(x)", 1e-3, lambda x: 1 / x), ("sin(x)", 1e6, np.cos), ("exp(x)", 700.0, np.exp),
                ("sqrt(x)", 1e-12, lambda x: 0.5 / np.sqrt(x)), ("exp(x)", 709.7, np.exp),
                ("cos(x) + x", 1e-8, lambda x: 1 - np.sin(x)), ("x*x", 0.0, lambda x: 2 * x)]


@pytest.mark.parametrize("expr, x, derivative", CLOSED_FORMS)
def test_finite_differences_are_accurate_at_every_scale(expr, x, derivative):
    r = verify(graphcomp.parse_expr(expr, at={"x": x}))
    assert r.ok and "fd" in r.gradients, r.comparisons
    exact = derivative(x)
    assert abs(r.gradients["fd"]["x"] - exact) <= 1e-8 * abs(exact) + 1e-12
    assert abs(r.gradients["fd"]["x"] - exact) <= r.fd_error["x"]  # the error estimate is an honest bound


def test_finite_differences_tolerance_still_catches_a_small_error(monkeypatch):
    sin = ops.REGISTRY["sin"]
    wrong = dataclasses.replace(sin, partials=lambda m, y, a: (m.cos(a) * (1 + 1e-5),))
    monkeypatch.setitem(ops.REGISTRY, "sin", wrong)
    r = verify(graphcomp.parse_expr("sin(x)", at={"x": 1e6}), use_torch=False)
    assert r.gradients["engine"]["x"] == pytest.approx(np.cos(1e6) * (1 + 1e-5), rel=1e-12)  # the rule is in use
    assert not r.ok and r.fd_error["x"] < 1e-8
    assert abs(r.gradients["fd"]["x"] - np.cos(1e6)) < 1e-8


def test_a_probe_outside_the_domain_skips_finite_differences_not_the_input():
    x = 1 - 2.0 ** -53  # the largest float below 1: every probe x + h reaches 1, where sqrt(1 - x²) ends
    r = verify(graphcomp.parse_expr("sqrt(1 - x*x)", at={"x": x}))
    assert "fd" not in r.gradients and "could not run" in r.skipped["fd"]
    assert "not an error in the input" in r.skipped["fd"] and r.ok
    exact = -x / np.sqrt(2.0 ** -52 - 2.0 ** -106)  # 1 - x² in exact arithmetic
    assert r.gradients["engine"]["x"] == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("expr, at, says", [("log(x)", "x=1e-3", "AGREE"), ("sin(x)", "x=1e6", "AGREE"),
                                            ("exp(x)", "x=700", "AGREE"), ("sqrt(x)", "x=1e-12", "AGREE"),
                                            ("sqrt(1 - x*x)", "x=0.9999999999999999", "could not run")])
def test_verify_command_agrees_where_finite_differences_used_to_fail(verify_cli, expr, at, says):
    out = verify_cli("--expr", expr, "--at", at, "--no-torch")  # the step, not torch, is what failed here
    assert out.status == 0 and out.stderr == "", out.stderr
    assert says in out.stdout and "DISAGREE" not in out.stdout

