"""GEMMs on the GPU: cuBLAS through CuPy (no splitting: one call fills the GPU)."""
from .runtime import xp


def matmul(a, b):
    return xp.matmul(a, b)
