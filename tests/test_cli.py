"""The CLI's listing commands."""
import os
import subprocess
import sys
from pathlib import Path

from graphcomp.ops import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_ops_lists_every_registered_op_with_its_rules():
    done = subprocess.run([sys.executable, "cli.py", "ops"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    for name in REGISTRY:
        assert f"\n  {name} " in done.stdout, name
    assert "a\u0304 += ȳ · cos a" in done.stdout
    assert "0 is taken to be 0" in done.stdout  # ReLU's convention at 0


def test_help_lists_every_command():
    done = subprocess.run([sys.executable, "cli.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    for command in ("trace", "parse", "draw", "verify", "solve", "report", "ops"):
        assert command in done.stdout
