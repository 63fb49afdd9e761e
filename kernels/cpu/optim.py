"""The SGD update as one pass over a parameter (torch.optim.SGD's rule, every option): the NumPy
composition made up to five passes and three temporaries per parameter."""
import numpy as np
from numba import njit, prange

from ..sgd_rule import sgd_update_element


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
    target = param if param.flags.c_contiguous else np.ascontiguousarray(param)
    flat = target.reshape(-1)
    # without momentum the kernel reads no buffer: an empty one (not `flat` again: an aliased
    # argument would be copied back over the update by the CUDA simulator)
    buf = flat[:0] if momentum_buffer is None else momentum_buffer.reshape(-1)
    _sgd_update(flat, np.ascontiguousarray(grad).reshape(-1), buf, float(lr), float(momentum),
                float(dampening), float(weight_decay), bool(nesterov), bool(maximize),
                bool(first_step))
    if target is not param:  # a strided parameter (a view): write the update back
        param[...] = target
