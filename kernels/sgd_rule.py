"""torch.optim.SGD's update of one element, shared by the CPU and the CUDA kernels, which each
compile it (numba.njit / numba.cuda.jit(device=True)) and call it for every element they own; and
the wrapper both tables' sgd_update run their kernel through."""


def sgd_update_element(i, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                       maximize, first):
    """Update param[i] (and buf[i], unless momentum is 0; on the first step buf[i] starts as the
    gradient)."""
    g = -grad[i] if maximize else grad[i]
    if weight_decay != 0:
        g += weight_decay * param[i]
    if momentum != 0:
        b = g if first else momentum * buf[i] + (1 - dampening) * g
        buf[i] = b
        g = g + momentum * b if nesterov else b
    param[i] -= lr * g


def update_flat(run_kernel, xp, param, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                nesterov, maximize, first_step):
    """Call run_kernel(param, grad, buffer, *options) on 1-D views (a strided parameter through a
    contiguous copy, written back after). Without momentum the kernel reads no buffer: it gets an
    empty one (not the parameter again: an aliased argument would be copied back over the update
    by the CUDA simulator)."""
    target = param if param.flags.c_contiguous else xp.ascontiguousarray(param)
    flat = target.reshape(-1)
    buf = flat[:0] if momentum_buffer is None else momentum_buffer.reshape(-1)
    run_kernel(flat, xp.ascontiguousarray(grad).reshape(-1), buf, float(lr), float(momentum),
               float(dampening), float(weight_decay), bool(nesterov), bool(maximize),
               bool(first_step))
    if target is not param:
        param[...] = target
