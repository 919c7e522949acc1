"""File output: atomic writes through symlinks, '-' for standard output."""
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

from graphcomp.core.errors import GraphcompError

STDOUT = "-"
_SPECIAL = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def write_atomic(path, data):
    """Write str or bytes to `path` so that readers never see a half-written file; returns the path.

    A symlink is written through: its target gets the new contents (atomically) and the link stays.
    An existing file keeps its permissions. The string '-' means standard output, and /dev/stdout,
    /dev/fd/N and the like are written as the open streams they are. A path that is, or leads to, a
    directory, device, pipe or socket, or that cannot be written, is a GraphcompError.
    """
    stream = 1 if isinstance(path, str) and path == STDOUT else _own_fd(path)
    if stream is not None:
        _write_fd(stream, data, path)
        return path
    target = _regular_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
    mode = "wb" if isinstance(data, bytes) else "w"
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
        raise
    return Path(path)


def is_stream(path):
    """True when write_atomic(path, ...) writes to an open stream ('-', /dev/stdout, /dev/fd/N), not to a file."""
    return (isinstance(path, str) and path == STDOUT) or _own_fd(path) is not None


def _own_fd(path):
    """N when `path` is, or links to, this process's open file N (/dev/stdout, /dev/fd/N, /proc/self/fd/N), else None.

    Such a file is written as a stream: renaming onto it would replace the file a shell opened
    (with `>>`, losing what it held) or fail on a pipe.
    """
    p = os.path.abspath(path)
    own = re.compile(rf"/(?:dev/fd|proc/self/fd|proc/{os.getpid()}/fd)/(\d+)")
    for _ in range(40):  # the kernel's own limit on a chain of links
        m = own.fullmatch(p)
        if m:
            return int(m.group(1))
        if not os.path.islink(p):
            return None
        p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    return None


def _write_fd(fd, data, path):
    sys.stdout.flush()  # what was printed before must come out first
    if fd == 1:  # through sys.stdout, so that a redirected sys.stdout gets it too
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    try:
        with os.fdopen(os.dup(fd), "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    except OSError as exc:
        raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None


def _regular_target(path):
    """The regular file `path` names after following symlinks (it may not exist yet); anything else is an error."""
    try:
        st = os.stat(path)  # follows symlinks (a loop raises), and /proc's links to pipes and terminals
    except FileNotFoundError:
        return Path(os.path.realpath(path))  # a dangling link is written through too: its target is created
    except NotADirectoryError:
        raise GraphcompError("cannot write here: a folder on its path is a file", file=path) from None
    except OSError as exc:
        raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in _SPECIAL if test(st.st_mode)), "not a regular file")
        hint = "give a file name" if stat.S_ISDIR(st.st_mode) else "give a regular file, or '-' for standard output"
        raise GraphcompError(f"cannot write here: it is {what}; {hint}", file=path)
    return Path(os.path.realpath(path))


def _mode(target):
    """The permission bits for the new file: the old file's, else the usual 0666 less the umask (mkstemp gives 0600)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
