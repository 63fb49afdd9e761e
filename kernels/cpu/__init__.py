"""Numba CPU kernels: NumPy arrays in, NumPy arrays out (float32 or float64; result dtype = input's).

This module is the CPU kernel table: it implements the kernels declared in kernels/table.py.
"""
import os

# Numba's OpenMP workers and OpenBLAS's workers take turns on the same cores (im2col, then GEMM,
# then a layout kernel). GNU OpenMP workers spin for milliseconds after each parallel region by
# default, stealing the core that the next BLAS call (or the data loader) needs; sleeping at once
# makes every kernel wait for its workers to wake: a short spin (GOMP_SPINCOUNT) keeps them awake
# between the kernels of one step (bench_lenet shows the effect). The variables are read when Numba
# first loads its OpenMP layer; a wait policy the user set wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # for OpenMP runtimes that ignore GOMP_SPINCOUNT

from .first_compile import announce_first_compile  # noqa: E402
from .memory import keep_freed_memory  # noqa: E402

keep_freed_memory()
announce_first_compile()

from .activation import relu_backward, relu_forward, sigmoid_backward, sigmoid_forward  # noqa: E402
from .blas import matmul
from .conv import (conv2d_backward, conv2d_forward, conv2d_relu_max_pool2d_backward,
                   conv2d_relu_max_pool2d_forward)
from .fused import batch_norm_backward, batch_norm_forward
from .loss import cross_entropy_backward, cross_entropy_forward
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
    relu_max_pool2d_backward,
    relu_max_pool2d_forward,
)
from .special import erf, erfc, erfinv
from ..table import NAMES

__all__ = list(NAMES)
