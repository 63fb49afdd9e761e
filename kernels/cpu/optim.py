"""The SGD update as one pass over a parameter (torch.optim.SGD's rule, every option): the NumPy
composition made up to five passes and three temporaries per parameter. A parameter under SMALL
elements is updated on one thread: waking the others costs about what they would save, and a
model of small parameters (LeNet's largest has 48,000) then compiles only the serial kernel. The
loop runs the rule with the options of plain SGD, or of momentum after the first step, written
in as constants (_update): with the options as variables the loop stayed scalar."""
import numpy as np
from numba import njit, prange

from ..sgd_rule import sgd_update_element, update_flat

SMALL = 1 << 16

_update_element = njit(inline="always")(sgd_update_element)


@njit(inline="always")
def _case(momentum, weight_decay, nesterov, maximize, first):
    """1 plain SGD, 2 momentum after the first step, 0 any other options."""
    if weight_decay != 0 or nesterov or maximize:
        return 0
    if momentum == 0:
        return 1
    return 0 if first else 2


@njit(inline="always")
def _update(i, case, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize,
            first):
    """The rule with the options of the common cases as constants, which LLVM folds into a
    vectorised loop: 1 plain SGD, 2 momentum after the first step; 0 any options."""
    if case == 1:
        _update_element(i, param, grad, buf, lr, 0.0, 0.0, 0.0, False, False, False)
    elif case == 2:
        _update_element(i, param, grad, buf, lr, momentum, dampening, 0.0, False, False, False)
    else:
        _update_element(i, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                        maximize, first)


@njit(fastmath=True, cache=True)
def _sgd_update_serial(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize,
                       first):
    # a loop per case, its case a constant: LLVM does not take the test out of a serial loop, and
    # the loop stayed scalar (the prange loop below is vectorised as it is)
    case = _case(momentum, weight_decay, nesterov, maximize, first)
    if case == 1:
        for i in range(param.size):
            _update(i, 1, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                    maximize, first)
    elif case == 2:
        for i in range(param.size):
            _update(i, 2, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                    maximize, first)
    else:
        for i in range(param.size):
            _update(i, 0, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                    maximize, first)


@njit(parallel=True, fastmath=True, cache=True)
def _sgd_update_parallel(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                         maximize, first):
    case = _case(momentum, weight_decay, nesterov, maximize, first)
    for i in prange(param.size):
        _update(i, case, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                maximize, first)


def sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
               maximize, first_step):
    """Update `param` in place (and `momentum_buffer`, unless momentum is 0; on the first step the
    buffer is only written). The arrays have one shape and dtype; the buffer is C-contiguous."""
    kernel = _sgd_update_serial if param.size < SMALL else _sgd_update_parallel
    update_flat(kernel, np, param, grad, momentum_buffer, lr, momentum, dampening,
                weight_decay, nesterov, maximize, first_step)
