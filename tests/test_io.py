"""graphcomp.cli.io and graphcomp.frontends.arrays: atomic writes go through symlinks and refuse what is not a regular file; .npz archives are checked."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphcomp.cli.io import check_writable, is_stream, write_all, write_atomic
from graphcomp.core.errors import GraphcompError
from graphcomp.frontends.arrays import read_npz

ROOT = Path(__file__).resolve().parent.parent


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_symlink_is_written_through_and_kept(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "t.md"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.md"
    link.symlink_to(os.path.join("real", "t.md"))  # relative, as `ln -s` makes them
    write_atomic(str(link), "new")
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "t.md")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file written through keeps its permissions
    assert _names(tmp_path / "real") == ["t.md"]  # no temporary file left behind


def test_a_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "sub" / "t.md")
    write_atomic(link, b"\x00bytes")
    assert link.is_symlink() and (tmp_path / "sub" / "t.md").read_bytes() == b"\x00bytes"


@pytest.mark.parametrize("through", ["file", "folder"])
def test_a_dangling_symlink_does_not_create_its_targets_folders(tmp_path, through):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere" / ("t.md" if through == "file" else "d"))
    path = link if through == "file" else link / "t.md"
    for call in (check_writable, lambda p: write_atomic(p, "text")):
        with pytest.raises(GraphcompError, match="symlink .* does not exist"):
            call(path)
    assert _names(tmp_path) == ["link"]


def test_a_regular_path_still_gets_its_missing_folders(tmp_path):
    write_atomic(tmp_path / "a" / "b" / "t.md", "text")
    assert (tmp_path / "a" / "b" / "t.md").read_text() == "text"


def test_write_all_writes_all_or_none(tmp_path):
    (tmp_path / "t.md").write_text("old")
    (tmp_path / "file").write_text("x")
    with pytest.raises(GraphcompError, match="is a file"):
        write_all([(tmp_path / "t.md", "new"), (tmp_path / "new" / "p.png", b"png"),
                   (tmp_path / "file" / "under", "text")])
    assert (tmp_path / "t.md").read_text() == "old"  # not replaced: the last one could not be written
    assert _names(tmp_path) == ["file", "t.md"]  # no temporary file, nor the folder made for p.png
    write_all([(tmp_path / "t.md", "new"), (tmp_path / "new" / "p.png", b"png")])
    assert (tmp_path / "t.md").read_text() == "new" and (tmp_path / "new" / "p.png").read_bytes() == b"png"


@pytest.mark.parametrize("kind, words", [("dir", "directory"), ("fifo", "pipe"), ("loop", "symbolic links"),
                                         ("under-a-file", "is a file")])
def test_what_is_not_a_regular_file_is_refused(tmp_path, kind, words):
    path = tmp_path / "out"
    if kind == "dir":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it for writing would block: it must be refused before
    elif kind == "loop":
        os.symlink(tmp_path / "other", path)
        os.symlink(path, tmp_path / "other")
    else:
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "out"
    before = _names(tmp_path)
    with pytest.raises(GraphcompError, match=words) as err:
        write_atomic(path, "text")
    assert str(path) in str(err.value)
    assert _names(tmp_path) == before


def test_a_symlink_to_a_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "d")
    with pytest.raises(GraphcompError, match="directory"):
        write_atomic(tmp_path / "link", "text")
    assert (tmp_path / "link").is_symlink() and _names(tmp_path / "d") == []


def test_dash_is_standard_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert is_stream("-") and not is_stream("out.md")
    write_atomic("-", "a table\n")
    write_atomic("-", b"bytes\n")
    assert capsys.readouterr().out == "a table\nbytes\n"
    assert _names(tmp_path) == []
    write_atomic("./-", "a file named -")  # spelled as a path, '-' is a file name
    assert (tmp_path / "-").read_text() == "a file named -"


def test_a_path_that_names_standard_output_writes_to_the_stream(tmp_path):
    """-o /dev/stdout (here through a link) appends to what a shell's `>> log.txt` opened, never replaces it;
    a process of its own, since its standard output is the point."""
    log, link = tmp_path / "log.txt", tmp_path / "stdout"
    log.write_text("kept\n")
    link.symlink_to("/dev/stdout")
    with open(log, "a") as fh:
        done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "parse", "--expr", "x*y", "-o", str(link)],
                              stdout=fh, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    assert text.startswith("kept\n# generated by: graphcomp parse") and "op: mul" in text and "wrote" not in text
    assert link.is_symlink()


def test_a_new_file_gets_the_umask_permissions_and_no_temporary_is_left(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.md", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o640
    assert _names(tmp_path) == ["new.md"]


def test_read_npz_returns_the_saved_arrays(tmp_path):
    W, x = np.arange(6.0).reshape(2, 3), np.array([1, -2], dtype=np.int32)
    np.savez(tmp_path / "d.npz", W=W, x=x)
    got = read_npz(tmp_path / "d.npz")
    assert set(got) == {"W", "x"}
    np.testing.assert_array_equal(got["W"], W)
    np.testing.assert_array_equal(got["x"], [1, -2])


def _npy(path):
    np.save(path, np.ones(3))


def _complex(path):
    np.savez(path, W=np.array([1.0, 2.0]), x=np.array([1 + 2j, 3 - 1j]))


def _text(path):
    path.write_text("x = 1\n")


def _strings(path):
    np.savez(path, x=np.array(["1", "2"]))


def _bools(path):
    np.savez(path, x=np.array([True, False]))


@pytest.mark.parametrize("name, make, words", [
    ("plain.npy", _npy, r"\.npy file"),
    ("c.npz", _complex, r"node 'x': a complex array"),
    ("t.npz", _text, r"not an \.npz file"),
    ("s.npz", _strings, r"node 'x': an array of <U1"),
    ("b.npz", _bools, r"node 'x': an array of bool"),
    ("missing.npz", None, "cannot read"),
])
def test_read_npz_refuses_what_is_not_an_archive_of_real_arrays(tmp_path, name, make, words):
    path = tmp_path / name
    if make is not None:
        make(path)
    with pytest.raises(GraphcompError, match=words) as err:
        read_npz(path)
    assert str(err.value).startswith(str(path))


def test_read_npz_refuses_a_directory(tmp_path):
    with pytest.raises(GraphcompError, match="cannot read"):
        read_npz(tmp_path)
