"""File output: atomic writes through symlinks, '-' for standard output."""
import io
import os
import secrets
import stat
import sys
from pathlib import Path

from graphcomp.core.errors import GraphcompError

STDOUT = "-"
_SPECIAL = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def write_atomic(path, data):
    """Write str, bytes or an iterable of str (written piece by piece) to `path` so that readers never see a
    half-written file; returns the path.

    A symlink is written through: its target gets the new contents (atomically) and the link stays.
    An existing file keeps its permissions; a new one gets the usual ones (0666 less the umask). The
    string '-' means standard output, and so does a path that names it (/dev/stdout, or the file a
    shell's `>` or `>>` opened for it): that is written as the stream it is, not replaced. A path that
    is, or leads to, a directory, device, pipe or socket, or that cannot be written, is a GraphcompError.
    """
    write_all([(path, data)])
    return path if _stream(path) is not None else Path(path)


def write_all(outputs):
    """Write each (path, data) of `outputs` as write_atomic does, all or none: every file is first written to a
    temporary file beside it, and only when all are written are they moved into place (the streams, '-', last);
    if one cannot be written, none is changed and no temporary file or folder made for them is left."""
    staged, made = [], []
    try:
        for path, data in outputs:
            if _stream(path) is None:
                staged.append(_stage(path, data, made))
    except BaseException:
        _discard(staged, made)
        raise
    for k, (tmp, target, path) in enumerate(staged):
        try:
            os.replace(tmp, target)
        except OSError as exc:
            _discard(staged[k:], ())
            raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
    for path, data in outputs:
        stream = _stream(path)
        if stream is not None:
            _write_stream(stream, data, path)


def _stage(path, data, made):
    """(temporary file holding `data`, the file it is to replace, path); the folders it made are added to `made`."""
    target = _regular_target(path)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        missing = [f for f in (target.parent, *target.parent.parents) if not f.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        made.extend(reversed(missing))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the kernel applies the umask
    except OSError as exc:
        raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(_encoded(data))
        if target.exists():
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
        if isinstance(exc, UnicodeEncodeError):
            raise _not_text(exc, path) from None
        raise
    return tmp, target, path


def _discard(staged, made):
    """Remove the temporary files of `staged` and the folders in `made` (made for them, deepest last)."""
    for tmp, _, _ in staged:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            pass


def check_writable(path):
    """A GraphcompError now, before the work, if write_atomic could not write `path` later (where it can tell)."""
    if _stream(path) is not None:
        return
    folder = _regular_target(path).parent
    while not folder.exists():  # write_atomic makes the missing folders: the nearest one there must take them
        folder = folder.parent
    if not folder.is_dir():
        raise GraphcompError("cannot write here: a folder on its path is a file", file=path)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GraphcompError(f"cannot write here: {folder} is not writable", file=path)


def _encoded(data):
    """The bytes of `data` (bytes, str or an iterable of str), piece by piece."""
    pieces = [data] if isinstance(data, (bytes, str)) else data
    return (p if isinstance(p, bytes) else p.encode("utf-8") for p in pieces)


def _not_text(exc, path):
    return GraphcompError(f"cannot write {exc.object[exc.start]!r}: a lone surrogate is not a character "
                          "(a label or name made in Python?)", file=path)


def is_stream(path):
    """True when write_atomic(path, ...) writes to standard output or error rather than to a file."""
    return _stream(path) is not None


def _stream(path):
    """sys.stdout or sys.stderr when `path` is '-' or names the same file as one of them, else None."""
    if isinstance(path, str) and path == STDOUT:
        return sys.stdout
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    for stream in (sys.stdout, sys.stderr):
        try:
            if os.path.samestat(st, os.fstat(stream.fileno())):
                return stream
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # a stream with no file (pytest's)
            continue
    return None


def _write_stream(stream, data, path):
    try:
        stream.flush()
        if isinstance(data, bytes):
            stream.buffer.write(data)
        else:
            stream.writelines([data] if isinstance(data, str) else data)
        stream.flush()
    except BrokenPipeError:
        raise  # the reader stopped (| head): main ends quietly, as any filter does
    except OSError as exc:
        raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
    except UnicodeEncodeError as exc:
        raise _not_text(exc, path) from None


def _regular_target(path):
    """The regular file `path` names after following symlinks (it may not exist yet); anything else is an error."""
    if str(path).endswith(("/", os.sep)):  # realpath would drop the slash and write a file named like the folder
        raise GraphcompError("cannot write here: it names a folder (it ends in '/'); give a file name", file=path)
    try:
        st = os.stat(path)  # follows symlinks (a loop raises), and /proc's links to pipes and terminals
    except FileNotFoundError:
        _check_links(path)
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


def _check_links(path):
    """A GraphcompError if the first missing part of `path` is a symlink that leads where no folder is: writing
    through a dangling link creates its target file, but not the folders its target names."""
    parts = Path(path).absolute().parts
    for k in range(1, len(parts) + 1):
        prefix = Path(*parts[:k])
        if prefix.exists():
            continue
        if not prefix.is_symlink():
            return  # an ordinary missing folder or file: write_atomic makes it
        last = k == len(parts)
        if last and Path(os.path.realpath(prefix)).parent.is_dir():
            return
        where = "its target's folder" if last else "the folder it names"
        raise GraphcompError(f"cannot write here: {prefix} is a symlink to {os.readlink(prefix)}, and {where} "
                             "does not exist (make it first)", file=path)


def same_file(a, b):
    """Whether paths a and b lead to one file: after symlinks (neither need exist yet), or hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
