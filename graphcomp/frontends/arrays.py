"""Array data as a front-end: the named arrays of an .npz archive, checked before any data is decompressed.

Each member's .npy header (its dtype and shape) is read first and checked, against the shapes
the graph declares when they are given and against the limits; only then is its data read,
so a small file that declares or decompresses to gigabytes is refused at the cost of its headers.
"""
import contextlib
import zipfile
import zlib

import numpy as np

from graphcomp.core.errors import GraphcompError
from graphcomp.frontends.limits import MB, check_entries, limit, over, regular_file

_NUMERIC = "iuf"  # numpy dtype kinds of real numbers: signed, unsigned, float
_NPY_MAGIC = b"\x93NUMPY"
_DAMAGED = "a damaged .npz file (write one with numpy.savez)"


def read_npz(path, shapes=None):
    """The arrays of an .npz archive (numpy.savez) as {name: array}, each checked to hold finite real numbers.

    `shapes` ({input name: shape}), when given, is what the graph declares: an array that names no
    input, or has another shape, is refused from its header. A missing, unreadable or non-regular file,
    a .npy file (one unnamed array), any other file, an archive holding complex, boolean, text or
    object arrays, and one over the limits are GraphcompErrors naming the file (and the array).
    """
    with _archive(path) as z:
        members = [(info, _header(z, info, path, shapes)) for info in z.infolist()]
        cap, declared = limit("GRAPHCOMP_MAX_NPZ_MB") * MB, sum(size for _, (_, size, _) in members)
        if declared > cap:
            raise over("GRAPHCOMP_MAX_NPZ_MB", -(-declared // MB), file=path)
        return {name: _data(z, info, path, name) for info, (name, _, _) in members}


def npz_shapes(path):
    """{array name: shape} of an .npz archive, from its members' headers alone (no data is read), each checked as
    read_npz checks it."""
    with _archive(path) as z:
        return {name: shape for name, _, shape in (_header(z, info, path, None) for info in z.infolist())}


@contextlib.contextmanager
def _archive(path):
    """The open zipfile.ZipFile of an .npz file; its failures as it is read are one GraphcompError naming it."""
    with regular_file(path, "GRAPHCOMP_MAX_NPZ_MB") as fh:
        if fh.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
            raise GraphcompError("this is a .npy file, one unnamed array; --data needs an .npz archive whose arrays "
                                 "are named after the inputs (numpy.savez(path, W1=..., x=...))", file=path)
        fh.seek(0)
        try:
            with zipfile.ZipFile(fh) as z:
                yield z
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
            raise GraphcompError("not an .npz file of numeric arrays (write one with numpy.savez)", file=path) from None


def _header(z, info, path, shapes):
    """(array name, bytes of its data, shape) from a member's .npy header, after checking its dtype, shape and the
    limits."""
    name = info.filename.removesuffix(".npy")
    if not info.filename.endswith(".npy"):
        raise GraphcompError("not a numpy array (write the file with numpy.savez)", file=path, node=info.filename)
    with z.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(member, max_header_size=10_000)
        except (ValueError, EOFError, OSError):
            raise GraphcompError(_DAMAGED, file=path, node=name) from None
    _check_real(path, name, dtype)
    if shapes is not None:
        if name not in shapes:
            raise GraphcompError(f"'{name}' is not an input of the graph; its inputs: {', '.join(shapes)}",
                                 file=path, node=name)
        if tuple(shape) != tuple(shapes[name]):
            raise GraphcompError(f"an array of shape {list(shape)}, but the input has shape {list(shapes[name])}",
                                 file=path, node=name)
    check_entries(shape, file=path, node=name)
    return name, int(np.prod(shape, dtype=object)) * dtype.itemsize, tuple(shape)


def _data(z, info, path, name):
    with z.open(info) as member:
        try:
            a = np.lib.format.read_array(member, allow_pickle=False)
        except (ValueError, EOFError, OSError, zlib.error, zipfile.BadZipFile):
            raise GraphcompError(_DAMAGED, file=path, node=name) from None
    if not np.all(np.isfinite(a)):
        raise GraphcompError("the array holds a value that is not a finite number (nan or inf)", file=path, node=name)
    return a.astype(float, copy=False)


def _check_real(path, name, dtype):
    if dtype.kind == "c":
        raise GraphcompError(f"a complex array ({dtype}); graphcomp works with real numbers, so give the real "
                             "part explicitly (numpy.real)", file=path, node=name)
    if dtype.kind not in _NUMERIC:
        raise GraphcompError(f"an array of {dtype}, not of real numbers", file=path, node=name)
