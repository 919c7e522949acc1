"""Layer 2: the op registry (graphcomp.ops.registry), its scalar and tensor ops, and the math kits the rules run on."""
from graphcomp.ops import scalar, tensor  # noqa: F401  (importing them registers their ops)
from graphcomp.ops.registry import REGISTRY, Op, get, partial_shape, register

__all__ = ["REGISTRY", "Op", "get", "partial_shape", "register"]
