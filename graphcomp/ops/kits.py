"""Math kits: what an op rule may call on its first argument `m`, written down once (Kit) and provided
for Python floats (FloatKit) and for any Array API namespace (ArrayKit: numpy, torch, through
array-api-compat).

Rules are written once against a kit. The sweeps run a scalar graph on FloatKit (math is ~10× faster
than numpy on one float) and a tensor graph on an ArrayKit; graphcomp.engine.dual builds a kit of
dual numbers from the registry for forward over reverse, and graphcomp.engine.jit one of Python
expressions. tests/test_kits.py checks that every kit provides every function a registered rule calls.
"""
import ctypes
import math
import platform
from typing import Protocol

import array_api_compat
import numpy as np

from graphcomp.core.errors import GraphcompError

# the math functions rules call; each is also a registered op of the same name (power: pow), whose
# local partials give its derivative (graphcomp.engine.dual reads them there)
MATH = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "step", "power")
# what rules and sweeps call besides: reductions and shapes
STRUCTURE = ("mask", "total", "ones_like", "zeros", "outer", "sum_to", "coerce", "finite", "to_numpy")


class Kit(Protocol):
    """What every kit provides. `a`, `b` are the kit's values (floats, arrays, duals, expressions)."""

    floats: bool  # values are Python floats: forward steps may call an op's C builtin (Op.on_floats)
    raises: bool  # a domain error or overflow raises where it arises (numpy under np.errstate), so `finite` holds

    def sin(self, a): ...
    def cos(self, a): ...
    def tan(self, a): ...
    def exp(self, a): ...
    def log(self, a): ...
    def sqrt(self, a): ...
    def tanh(self, a): ...
    def sigmoid(self, a): ...
    def relu(self, a): ...
    def step(self, a): """1 where a > 0, else 0: ReLU's derivative, 0 at 0 as in PyTorch."""
    def power(self, a, b): ...
    def mask(self, g, a): """g where a > 0, else 0: g times ReLU's derivative, in one pass."""
    def total(self, a): """The sum of every entry."""
    def ones_like(self, a): ...
    def zeros(self, shape): ...
    def outer(self, a, b): """a bᵀ of two vectors."""
    def sum_to(self, g, shape): """Sum an adjoint back to `shape` after broadcasting."""
    def coerce(self, x): """An input or constant (float or numpy array) as this kit's value."""
    def finite(self, xs): """False if a value in the list xs holds an inf or a nan (it may be a false alarm)."""
    def to_numpy(self, xs): """A list of values as floats or numpy arrays, for the Trace."""


def _relu(a):
    return a if a > 0.0 else 0.0


def _step(a):
    return 1.0 if a > 0.0 else 0.0


def _mask(g, a):
    return g if a > 0.0 else 0.0


def _sigmoid(a):
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)  # this branch never overflows
    return e / (1.0 + e)


def _float(x):
    return float(x)


class FloatKit:
    """Python floats with the math module: raises on a domain error (ValueError, ZeroDivisionError, OverflowError);
    + and * overflow to inf without raising, which `finite` catches."""

    floats, raises = True, False
    sin, cos, tan, exp, log, sqrt, tanh = math.sin, math.cos, math.tan, math.exp, math.log, math.sqrt, math.tanh
    power = staticmethod(math.pow)
    relu, step, sigmoid, mask = staticmethod(_relu), staticmethod(_step), staticmethod(_sigmoid), staticmethod(_mask)
    coerce = staticmethod(_float)

    @staticmethod
    def finite(xs):
        return math.isfinite(sum(xs))  # inf and nan reach the sum; a sum that overflows is a false alarm

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
    def outer(a, b):
        return a * b

    @staticmethod
    def sum_to(g, shape):
        return g

    @staticmethod
    def to_numpy(xs):
        return xs


class ArrayKit:
    """An Array API namespace (array-api-compat's numpy or torch) in float64 on one device.

    numpy runs under np.errstate(raise), so a domain error raises; torch returns inf or nan, which the
    sweeps find with `finite` after each sweep."""

    floats = False

    def __init__(self, xp, device=None, threshold_backward=None):
        """`threshold_backward`: torch's kernel of ReLU's backward (torch.ops.aten), for `mask` on torch."""
        self.xp, self.device = xp, device
        self.name = f"{xp.__name__.rsplit('.', 1)[-1]}" + (f":{device}" if device is not None else "")
        self.sin, self.cos, self.tan, self.exp, self.log = xp.sin, xp.cos, xp.tan, xp.exp, xp.log
        self.sqrt, self.tanh, self.power = xp.sqrt, xp.tanh, xp.pow
        self._numpy = array_api_compat.is_numpy_namespace(xp)
        self.raises = self._numpy  # numpy raises inside np.errstate; others do not
        self._cpu = array_api_compat.is_torch_namespace(xp) and str(device or "cpu") == "cpu"  # Tensor.numpy()
        self._threshold_backward = threshold_backward

    def __repr__(self):
        return f"<ArrayKit {self.name}>"

    def sigmoid(self, a):
        return self.xp.exp(-self.xp.logaddexp(self.xp.zeros_like(a), -a))

    def relu(self, a):
        # numpy: one pass (a − min(a, 0) makes a temporary, 10× slower from 256×256 on: bench/bench_mlp.py).
        # torch: threshold(a, 0, 0) is max(a, 0) with +0 for a ≤ 0 (as numpy's maximum; torch.relu keeps −0) in one
        # pass and, differentiated by torch's autograd (verify's method iii), has derivative 0 at 0 as ReLU
        if self._numpy:
            return self.xp.maximum(a, 0.0)
        return self.xp.threshold(a, 0.0, 0.0)

    def step(self, a):
        # 1 for a > 0 and 0 for a ≤ 0 (ReLU's derivative at 0 is 0, as in PyTorch). numpy: a comparison cast to
        # float, 15× faster than two float passes from 256×256 on; torch: ⌈clip(a, 0, 1)⌉ rounded in place (one
        # temporary), where a comparison and a cast take 1.4× longer
        if self._numpy:
            return (a > 0).astype(self.xp.float64)
        return self.xp.clamp(a, 0.0, 1.0).ceil_()

    def mask(self, g, a):
        # numpy: a product by the comparison (a float times a bool, no cast: 1.2× faster than g · step(a)); torch:
        # the kernel of its own ReLU's backward, one pass (2× faster than g · step(a))
        if self._numpy:
            return g * (a > 0)
        if not hasattr(g, "shape"):  # a float adjoint (a scalar output's seed 1.0): torch's kernel takes tensors only
            return g * self.step(a)
        return self._threshold_backward(g, a, 0.0)

    def total(self, a):
        return a.sum()  # the array's own method: no wrapper call (numpy's xp.sum is two Python frames)

    def ones_like(self, a):
        return self.xp.ones_like(self.xp.asarray(a))

    def zeros(self, shape):
        return self.xp.zeros(tuple(shape), dtype=self.xp.float64, device=self.device)

    def outer(self, a, b):
        return a[:, None] * b[None, :]

    def sum_to(self, g, shape):
        extra = g.ndim - len(shape)
        g = self.xp.sum(g, axis=tuple(range(extra))) if extra > 0 else g
        axes = tuple(k for k, size in enumerate(shape) if size == 1 and g.shape[k] != 1)
        return self.xp.sum(g, axis=axes, keepdims=True) if axes else g

    def coerce(self, x):
        if type(x) is np.ndarray and x.dtype == np.float64:
            if self._numpy:
                return x  # as xp.asarray would give it (no copy), without its two calls
            if self._cpu and x.flags.writeable:  # torch warns of a read-only array's memory
                return self.xp.from_numpy(x)  # its memory shared, as PyTorch users do (the sweeps write in no value)
        return self.xp.asarray(np.asarray(x, dtype=float), dtype=self.xp.float64, device=self.device)

    def finite(self, xs):
        if self.raises:
            return True
        # inf and nan reach each array's sum, so one sum per array (a pass with no temporary, by the tensor's own
        # method: no wrapper call) clears the common case; a sum that overflows is checked entry by entry
        if math.isfinite(sum(float(x.sum()) if hasattr(x, "shape") else x for x in xs)):
            return True
        xp = self.xp
        return all(bool(xp.all(xp.isfinite(x))) if hasattr(x, "shape") else math.isfinite(x) for x in xs)

    def to_numpy(self, xs):
        if self.raises:
            return xs
        cpu = self._cpu
        return [(x.numpy() if cpu else np.asarray(array_api_compat.to_device(x, "cpu")))
                if hasattr(x, "shape") else x for x in xs]


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def _keep_freed_memory():
    """Ask glibc's malloc to keep the memory a trace frees for the next trace.

    A trace holds every node's value and derivative until it is dropped, so it frees tens of MB at once; glibc
    would hand that back to the system and fault it in again, page by page, on the next trace (on numpy, 2.6× the
    time of a trace at Fig. 1's width 64, 1.5× at 1024; numpy by hand loses as much). PyTorch's autograd frees as it
    goes and reuses it. So large blocks (up to 32 MB) come from the heap, and up to 256 MB of free heap is kept, in
    this process, once a tensor graph runs on numpy or torch."""
    if platform.libc_ver()[0] == "glibc":
        libc = ctypes.CDLL(None)  # the C library this process runs on
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)


_KITS = {}


def numpy_kit():
    """The ArrayKit of numpy: numpy itself from 2.1 on (an Array API namespace, without array-api-compat's wrapper
    call around each function), else array-api-compat's numpy namespace (made on first use: ~0.1 s to import)."""
    if "numpy" not in _KITS:
        native = np.lib.NumpyVersion(np.__version__) >= "2.1.0"
        _KITS["numpy"] = ArrayKit(np if native else array_api_compat.array_namespace(np.empty(0)))
        _keep_freed_memory()
    return _KITS["numpy"]


TORCH_HINT = "pip install torch==2.13.0"
DEVICES = ("cpu", "cuda", "mps")  # torch's devices that hold numbers


def torch_kit(device=None):
    """The ArrayKit of torch on `device` ('cpu', 'cuda', 'cuda:1'…; default cpu); torch is imported only here.

    Without torch, or with a device torch cannot use, a GraphcompError that says what to do."""
    device = device or "cpu"
    try:
        import torch  # only when asked for: trace and draw never import it
    except ImportError:
        raise GraphcompError(f"the torch backend needs PyTorch: {TORCH_HINT}") from None
    if device not in _KITS:
        if device.split(":")[0] not in DEVICES:  # meta, say: tensors with no numbers
            raise GraphcompError(f"device '{device}': the sweeps run on {', '.join(DEVICES)} (cuda:1 for a second GPU)")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise GraphcompError(f"device '{device}': torch sees no CUDA GPU here; use --device cpu")
        try:
            torch.empty(0, device=device)
        except (RuntimeError, ValueError) as exc:
            raise GraphcompError(f"device '{device}': {str(exc).splitlines()[0]}") from None
        _KITS[device] = ArrayKit(array_api_compat.array_namespace(torch.empty(0)), device,
                                 torch.ops.aten.threshold_backward)
        _keep_freed_memory()
    return _KITS[device]


BACKENDS = ("numpy", "torch")


def kit_for(scalar, backend=None, device=None):
    """The kit a graph's sweeps run on: floats for a scalar graph and numpy for a tensor graph, or torch."""
    if backend in (None, "numpy"):
        if device not in (None, "cpu"):
            raise GraphcompError(f"device '{device}' needs the torch backend (backend='torch', --backend torch)")
        return FloatKit if scalar else numpy_kit()
    if backend == "torch":
        return torch_kit(device)
    raise GraphcompError(f"unknown backend '{backend}'; choose from {', '.join(BACKENDS)}")
