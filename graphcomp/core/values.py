"""Input values: numbers and arrays as the sweeps take them, and seeded random draws for tensor inputs."""
import math
import numbers
import reprlib

import numpy as np

from graphcomp.core.errors import GraphcompError, SpecError
from graphcomp.core.labels import shorten

DISTS = ("normal", "uniform", "rademacher")
RNGS = ("legacy", "pcg64")  # numpy.random.seed's generator (the problem set asks for it), or default_rng's
SEEDS = 2**32  # numpy.random.seed (the specs' legacy draws, Problem 1's instances) takes seeds below 2³²
_CALLS = {"normal": "standard_normal({shape})", "uniform": "uniform(-1.0, 1.0, {shape})",
          "rademacher": "choice([-1.0, 1.0], {shape})"}


def generator(rng, seed):
    """The seeded generator of kind `rng`: 'legacy' draws what numpy.random.seed(seed) and then numpy.random's
    functions draw, call by call; 'pcg64' what numpy.random.default_rng(seed) draws."""
    return np.random.RandomState(seed) if rng == "legacy" else np.random.default_rng(seed)


def draw_call(rng, dist, shape):
    """The numpy call that draws an array as draw(generator(rng, …), dist, shape) does, as text."""
    prefix = "numpy.random." if rng == "legacy" else "rng."
    return prefix + _CALLS[dist].format(shape=tuple(shape) if len(shape) > 1 else shape[0])


def draw(rng, dist, shape, *, file=None, node=None):
    """Draw an array of `shape` from a named distribution."""
    if dist == "normal":
        return rng.standard_normal(shape)
    if dist == "uniform":
        return rng.uniform(-1.0, 1.0, shape)
    if dist == "rademacher":
        return rng.choice([-1.0, 1.0], shape)
    raise GraphcompError(f"unknown distribution '{dist}'; choose from {', '.join(DISTS)}", file=file, node=node, key="dist")


def as_value(x, *, file=None, node=None, key="value"):
    """A number or a nested list of numbers as float / float array; anything else is a SpecError."""
    if isinstance(x, bool) or x is None:
        raise SpecError(f"{x!r} is not a number", file=file, node=node, key=key)
    if isinstance(x, numbers.Real):
        try:
            value = float(x)
        except OverflowError:  # an integer of more than 308 digits
            raise SpecError(f"{_short(x)} is out of the range of a float (about ±1.8e308)", file=file, node=node,
                            key=key) from None
        if not math.isfinite(value):
            raise SpecError(f"{x} is not a finite number", file=file, node=node, key=key)
        return value
    if isinstance(x, str):
        return as_value(number(x, file, node, key), file=file, node=node, key=key)
    try:
        arr = np.asarray(x, dtype=float)  # no copy of a float array: sweeps never write into inputs
    except (TypeError, ValueError):
        raise SpecError(f"{_short(x)} is not a number or a rectangular list of numbers", file=file, node=node,
                        key=key) from None
    except OverflowError:
        raise SpecError(f"{_short(x)} holds a number out of the range of a float (about ±1.8e308)", file=file,
                        node=node, key=key) from None
    if arr.dtype == object or not np.all(np.isfinite(arr)):
        raise SpecError(f"{_short(x)} holds a value that is not a finite number", file=file, node=node, key=key)
    return arr


def _short(x):
    """A value as one short line for a message: an array's repr spans lines, a list's may run to megabytes."""
    if isinstance(x, np.ndarray):
        return f"an array of shape {list(x.shape)}"
    return _REPR.repr(x)


_REPR = reprlib.Repr()  # Python 3.11's takes no keywords
_REPR.maxlist, _REPR.maxlevel, _REPR.maxlong, _REPR.maxstring, _REPR.maxother = 6, 3, 40, 40, 40


def number(text, file, node, key):
    """A number written as text (YAML 1.1 reads 1e-6, with no dot, as a string)."""
    # YAML 1.1 reads 1e-6 (no dot) as a string; take any string Python reads as a float
    try:
        return parse_float(text)
    except ValueError as exc:
        raise SpecError(str(exc), file=file, node=node, key=key) from None


def parse_float(text):
    """float(text), but a number too small for a float (1e-400, which float reads as 0) is a ValueError too."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"'{shorten(text)}' is not a number") from None
    if value == 0.0 and any(c in "123456789" for c in text.lower().split("e")[0]):
        raise ValueError(f"'{shorten(text)}' is too small for a float (it would be 0; the smallest is about 5e-324)")
    return value
