"""The SGD update as one pass over a parameter (torch.optim.SGD's rule, every option): the NumPy
composition made up to five passes and three temporaries per parameter. A parameter under SMALL
elements is updated on one thread: waking the others costs about what they would save, and a
model of small parameters (LeNet's largest has 48,000) then compiles only the serial kernel."""
import numpy as np
from numba import njit, prange

from ..sgd_rule import sgd_update_element, update_flat

SMALL = 1 << 16

_update_element = njit(inline="always")(sgd_update_element)


@njit(fastmath=True, cache=True)
def _sgd_update_serial(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize,
                       first):
    for i in range(param.size):
        _update_element(i, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                        maximize, first)


@njit(parallel=True, fastmath=True, cache=True)
def _sgd_update_parallel(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                         maximize, first):
    for i in prange(param.size):
        _update_element(i, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                        maximize, first)


def sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
               maximize, first_step):
    """Update `param` in place (and `momentum_buffer`, unless momentum is 0; on the first step the
    buffer is only written). The arrays have one shape and dtype; the buffer is C-contiguous."""
    kernel = _sgd_update_serial if param.size < SMALL else _sgd_update_parallel
    update_flat(kernel, np, param, grad, momentum_buffer, lr, momentum, dampening,
                weight_decay, nesterov, maximize, first_step)
