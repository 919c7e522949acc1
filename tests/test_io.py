"""graphcomp.cli.io and graphcomp.frontends.arrays: atomic writes go through symlinks and refuse what is not a regular file; .npz archives are checked."""
import os
import stat

import numpy as np
import pytest

from graphcomp.cli.io import is_stream, write_atomic
from graphcomp.core.errors import GraphcompError
from graphcomp.frontends.arrays import read_npz


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
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "sub" / "t.md")
    write_atomic(link, b"\x00bytes")
    assert link.is_symlink() and (tmp_path / "sub" / "t.md").read_bytes() == b"\x00bytes"


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


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux's /proc/self/fd")
def test_a_link_to_an_open_file_writes_to_the_stream(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("kept\n")
    with open(log, "a") as fh:  # as a shell's `>> log.txt` opens it
        link = tmp_path / "stdout"
        link.symlink_to(f"/proc/self/fd/{fh.fileno()}")
        assert is_stream(link)
        write_atomic(link, "appended\n")
    assert log.read_text() == "kept\nappended\n"  # renaming onto it would have lost 'kept'
    assert link.is_symlink()


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
