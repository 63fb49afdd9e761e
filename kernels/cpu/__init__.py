"""Numba CPU kernels: NumPy arrays in, NumPy arrays out (float32 or float64; result dtype = input's).

This module is the CPU kernel table: the device layer looks kernels up here by name.
"""
import os

# Numba's OpenMP workers and OpenBLAS's workers take turns on the same cores (im2col, then GEMM,
# then a layout kernel). By default GNU OpenMP workers spin for about 3 ms after each parallel
# region, stealing the core that the next BLAS call (or the data loader) needs; measured on 2 cores
# under load, a LeNet conv layer's forward+backward burnt 4-8x more CPU time and ran 3-5x slower
# than with passive waiting. Sleeping at once, though, makes every kernel wait for its workers to
# wake up: a short spin (GOMP_SPINCOUNT, about 0.1 ms) keeps them awake between the kernels of one
# step. Measured, minigrad alone, 2 threads: LeNet step at batch 256 10.1-10.4 -> 9.4-9.7 ms, at
# batch 64 3.5-3.6 -> 3.1 ms; ResNet-18 (im2col, GEMM threads) 121 -> 119 ms. The variables are
# read when Numba first loads its OpenMP layer; a wait policy the user set wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # for OpenMP runtimes that ignore GOMP_SPINCOUNT

from .first_compile import announce_first_compile  # noqa: E402
from .memory import keep_freed_memory  # noqa: E402

keep_freed_memory()
announce_first_compile()

from .activation import relu_backward, relu_forward
from .blas import matmul
from .conv import conv2d_backward, conv2d_forward
from .fused import batch_norm_backward, batch_norm_forward
from .optim import sgd_update
from .pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_max_pool2d_backward,
    adaptive_max_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

__all__ = [
    "matmul",
    "conv2d_forward",
    "conv2d_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d_forward",
    "adaptive_max_pool2d_backward",
    "batch_norm_forward",
    "batch_norm_backward",
    "relu_forward",
    "relu_backward",
    "sgd_update",
]

from .special import erf, erfc, erfinv  # noqa: E402

__all__ += ["erf", "erfc", "erfinv"]
