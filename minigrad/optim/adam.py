"""Adam and AdamW (PyTorch's update rules: bias correction, optional AMSGrad, L2 or decoupled decay)."""
from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """`Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    maximize=False)`, exactly torch.optim.Adam:

        g = grad + weight_decay * p                  (AdamW instead: p *= 1 - lr * weight_decay)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_hat, v) (amsgrad)
        p -= lr / (1 - beta1**t) * m / (sqrt(v or v_hat) / sqrt(1 - beta2**t) + eps)
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        lr, eps, betas = group["lr"], group["eps"], group["betas"]
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= group["weight_decay"]:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._closure_loss(closure)
        decoupled = self._decoupled_weight_decay
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            amsgrad = bool(group["amsgrad"])
            maximize = bool(group.get("maximize", False))
            weight1 = 1.0 - beta1
            weight2 = 1.0 - beta2
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p._data
                xp = p._backend.xp
                grad = self._grad_array(p)
                if maximize:
                    grad = -grad
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = Tensor._make(xp.zeros_like(data), p._backend)
                    state["exp_avg_sq"] = Tensor._make(xp.zeros_like(data), p._backend)
                if amsgrad and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = Tensor._make(xp.zeros_like(data), p._backend)
                step = state["step"] = int(state["step"]) + 1

                if weight_decay != 0:
                    if decoupled:
                        data *= 1.0 - lr * weight_decay
                    else:
                        decayed = data * weight_decay
                        decayed += grad
                        grad = decayed

                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                # exp_avg.lerp_(grad, 1 - beta1), with torch's two-sided lerp formula
                tmp = xp.empty_like(data)  # (explicit: NumPy turns 0-d results into scalars)
                xp.subtract(grad, exp_avg, out=tmp)
                if weight1 < 0.5:
                    tmp *= weight1
                    exp_avg += tmp
                else:
                    tmp *= 1.0 - weight1
                    xp.subtract(grad, tmp, out=exp_avg)
                # exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
                exp_avg_sq *= beta2
                xp.multiply(grad, weight2, out=tmp)
                tmp *= grad
                exp_avg_sq += tmp

                bias_correction1 = 1.0 - beta1 ** step
                bias_correction2_sqrt = (1.0 - beta2 ** step) ** 0.5
                step_size = lr / bias_correction1
                if amsgrad:
                    max_sq = state["max_exp_avg_sq"]._data
                    xp.maximum(max_sq, exp_avg_sq, out=max_sq)
                    second = max_sq
                else:
                    second = exp_avg_sq
                denom = xp.sqrt(second, out=tmp)
                denom /= bias_correction2_sqrt
                denom += eps
                xp.divide(exp_avg, denom, out=denom)
                denom *= step_size
                data -= denom
                p._version.value += 1
        return loss


class AdamW(Adam):
    """`AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False)`: Adam with decoupled weight decay (p *= 1 - lr * weight_decay before the update),
    exactly torch.optim.AdamW."""

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
