"""The SGD update as one pass over a parameter (torch.optim.SGD's rule, every option): the NumPy
composition made up to five passes and three temporaries per parameter."""
import numpy as np
from numba import njit, prange

from ..sgd_rule import sgd_update_element, update_flat


_update_element = njit(inline="always")(sgd_update_element)


@njit(parallel=True, fastmath=True, cache=True)
def _sgd_update(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    for i in prange(param.size):
        _update_element(i, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                        maximize, first)


def sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
               maximize, first_step):
    """Update `param` in place (and `momentum_buffer`, unless momentum is 0; on the first step the
    buffer is only written). The arrays have one shape and dtype; the buffer is C-contiguous."""
    update_flat(_sgd_update, np, param, grad, momentum_buffer, lr, momentum, dampening,
                weight_decay, nesterov, maximize, first_step)
