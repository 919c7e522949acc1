"""Atomic file output: write to a temporary name beside the target, then rename."""
import os
import tempfile
from pathlib import Path

from graphcomp.errors import GraphcompError


def write_atomic(path, data):
    """Write str or bytes to `path` so that readers never see a half-written file.

    A path that cannot be written (a directory, no permission, no such place) is a GraphcompError.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "it is a directory")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
    mode = "wb" if isinstance(data, bytes) else "w"
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a written file gets the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GraphcompError(f"cannot write here: {exc.strerror or exc}", file=path) from None
        raise
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

