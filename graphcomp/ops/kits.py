"""Math kits: the few functions the op rules call, for Python floats and for numpy arrays.

Rules are written once against a kit `m`; the sweeps pick the float kit for an
all-scalar graph (math is ~10× faster than numpy on a single float) and the array
kit otherwise. graphcomp.dual adds a third kit, dual numbers, for forward over reverse.
"""
import math

import numpy as np


def _relu(a):
    return a if a > 0.0 else 0.0


def _step(a):
    # ReLU's derivative at 0 is 0, as in PyTorch.
    return 1.0 if a > 0.0 else 0.0


def _sigmoid(a):
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)  # this branch never overflows
    return e / (1.0 + e)


class FloatKit:
    """Python floats with the math module: raises on a domain error (ValueError, ZeroDivisionError, OverflowError)."""

    sin, cos, tan, exp, log, sqrt, tanh = math.sin, math.cos, math.tan, math.exp, math.log, math.sqrt, math.tanh
    power = staticmethod(math.pow)
    relu, step, sigmoid = staticmethod(_relu), staticmethod(_step), staticmethod(_sigmoid)

    @staticmethod
    def total(a):
        return a

    @staticmethod
    def ones_like(a):
        return 1.0

    @staticmethod
    def zeros(shape):
        return 0.0

    @staticmethod
    def coerce(x):
        return float(x)


def _np_sigmoid(a):
    return np.exp(-np.logaddexp(0.0, -a))


class ArrayKit:
    """numpy; sweeps run it under np.errstate(raise) so that a domain error raises too."""

    sin, cos, tan, exp, log, sqrt, tanh = np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.tanh
    power, outer, total, ones_like, zeros = np.power, np.outer, np.sum, np.ones_like, np.zeros
    sigmoid = staticmethod(_np_sigmoid)

    @staticmethod
    def relu(a):
        return np.maximum(a, 0.0)

    @staticmethod
    def step(a):
        # ReLU's derivative at 0 is 0, as in PyTorch.
        return (a > 0.0).astype(float)

    @staticmethod
    def coerce(x):
        return np.asarray(x, dtype=float)

    @staticmethod
    def sum_to(g, shape):
        """Sum an adjoint back to `shape` after broadcasting (over leading axes and size-1 axes)."""
        g = np.sum(g, axis=tuple(range(np.ndim(g) - len(shape)))) if np.ndim(g) > len(shape) else g
        axes = tuple(k for k, size in enumerate(shape) if size == 1 and np.shape(g)[k] != 1)
        return np.sum(g, axis=axes, keepdims=True) if axes else g
