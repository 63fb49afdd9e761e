"""The SGD update as one kernel per parameter (torch.optim.SGD's rule, every option), as the CPU
table's sgd_update: in CuPy expressions it took 4-5 calls a parameter, 4.8 ms of host time in a
ResNet-18 step on an H100."""
from numba import cuda

from ..sgd_rule import sgd_update_element
from .runtime import launch, xp


_update_element = cuda.jit(device=True)(sgd_update_element)


@cuda.jit(cache=True)
def _sgd_update(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        _update_element(i, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                        maximize, first)


def sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
               maximize, first_step):
    """As the CPU table's sgd_update."""
    target = param if param.flags.c_contiguous else xp.ascontiguousarray(param)
    flat = target.reshape(-1)
    # without momentum the kernel reads no buffer: an empty one (not `flat` again: an aliased
    # argument would be copied back over the update by the CUDA simulator)
    buf = flat[:0] if momentum_buffer is None else momentum_buffer.reshape(-1)
    launch(_sgd_update, flat.size, flat, xp.ascontiguousarray(grad).reshape(-1), buf, float(lr),
           float(momentum), float(dampening), float(weight_decay), bool(nesterov), bool(maximize),
           bool(first_step))
    if target is not param:  # a strided parameter (a view): write the update back
        param[...] = target
