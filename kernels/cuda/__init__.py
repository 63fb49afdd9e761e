"""CUDA kernels (Numba-CUDA kernels, CuPy arrays, cuBLAS GEMMs called directly): the CUDA kernel
table, with the names, arguments and return conventions of the CPU table (kernels/cpu), so the op
layer calls either without knowing which.

Imported only by set_device("cuda") / tensor.to("cuda") (the device layer), or by the simulator
tests: under NUMBA_ENABLE_CUDASIM=1 the same table runs on NumPy arrays in Numba's CUDA simulator
(runtime.py).
"""
from .activation import relu_backward, relu_forward, sigmoid_backward, sigmoid_forward
from .batch_norm import batch_norm_backward, batch_norm_forward
from .blas import matmul
from .conv import conv2d_backward, conv2d_forward
from .loss import cross_entropy_backward, cross_entropy_forward
from .optim import sgd_update
from .pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_max_pool2d_backward,
    adaptive_max_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    conv2d_relu_max_pool2d_backward,
    conv2d_relu_max_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    relu_max_pool2d_backward,
    relu_max_pool2d_forward,
)
from .special import erf, erfc, erfinv
from ..table import NAMES

__all__ = list(NAMES)
