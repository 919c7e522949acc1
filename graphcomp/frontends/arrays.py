"""Array data as a front-end: the named arrays of an .npz archive, checked to hold real numbers."""
import pickle
import zipfile

import numpy as np

from graphcomp.core.errors import GraphcompError

_NUMERIC = "iuf"  # numpy dtype kinds of real numbers: signed, unsigned, float


def read_npz(path):
    """The arrays of an .npz archive (numpy.savez) as {name: array}, each checked to hold real numbers.

    A missing or unreadable file, a .npy file (one unnamed array), any other file, and an archive holding
    complex, boolean, text or object arrays are GraphcompErrors naming the file (and the array).
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise GraphcompError(f"cannot read: {exc.strerror or exc}", file=path) from None
    except (ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError):
        raise GraphcompError("not an .npz file of numeric arrays (write one with numpy.savez)", file=path) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise GraphcompError("this is a .npy file, one unnamed array; --data needs an .npz archive whose arrays are "
                             "named after the inputs (numpy.savez(path, W1=..., x=...))", file=path)
    with loaded as z:
        try:
            arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            raise GraphcompError("a damaged .npz file, or one holding object arrays (write one with numpy.savez)",
                                 file=path) from None
    for name, a in arrays.items():
        _check_real(path, name, a)
    return arrays


def _check_real(path, name, a):
    if not isinstance(a, np.ndarray):  # a member savez did not write: numpy hands back its raw bytes
        raise GraphcompError("not a numpy array (write the file with numpy.savez)", file=path, node=name)
    if a.dtype.kind == "c":
        raise GraphcompError(f"a complex array ({a.dtype}); graphcomp works with real numbers, so give the real "
                             "part explicitly (numpy.real)", file=path, node=name)
    if a.dtype.kind not in _NUMERIC:
        raise GraphcompError(f"an array of {a.dtype}, not of real numbers", file=path, node=name)
