"""The SGD update as one kernel per parameter (torch.optim.SGD's rule, every option), as the CPU
table's sgd_update: in CuPy expressions it took 4-5 calls a parameter, and a step's host time
went on those calls rather than on the GPU's work."""
from numba import cuda

from ..sgd_rule import sgd_update_element, update_flat
from .runtime import launch, xp


_update_element = cuda.jit(device=True)(sgd_update_element)


@cuda.jit(cache=True)
def _sgd_update(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        _update_element(i, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                        maximize, first)


def _run(param, *args):
    launch(_sgd_update, param.size, param, *args)


def sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
               maximize, first_step):
    """As the CPU table's sgd_update."""
    update_flat(_run, xp, param, grad, momentum_buffer, lr, momentum, dampening,
                weight_decay, nesterov, maximize, first_step)
