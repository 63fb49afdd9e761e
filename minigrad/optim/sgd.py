"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
(PyTorch's update rule, including its first-step momentum buffer: the buffer starts as the gradient)."""
from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """`SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
    maximize=False)`, exactly torch.optim.SGD:

        g = grad + weight_decay * p
        buf = g (first step), else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf (nesterov), else buf
        p -= lr * g
    """

    capturable = True

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        lr, momentum = group["lr"], group["momentum"]
        if lr is not None and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if group["weight_decay"] < 0.0:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")
        if group["nesterov"] and (momentum <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov = bool(group["nesterov"])
            maximize = bool(group.get("maximize", False))
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf, first_step = None, False
                if momentum != 0:
                    state = self.state[p]
                    if state.get("momentum_buffer") is None:  # torch: the first buffer is g
                        xp = p._backend.xp
                        state["momentum_buffer"] = Tensor._make(
                            xp.empty(p._data.shape, dtype=p._data.dtype), p._backend)
                        first_step = True
                    buf = state["momentum_buffer"]._data
                p._backend.kernels.sgd_update(p._data, self._grad_array(p), buf, lr, momentum,
                                              dampening, weight_decay, nesterov, maximize,
                                              first_step)
                p._version.value += 1
        return loss
