"""torch.optim.SGD's update of one element, shared by the CPU and the CUDA kernels, which each
compile it (numba.njit / numba.cuda.jit(device=True)) and call it for every element they own."""


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
