"""Losses: nll_loss as one op; cross_entropy and mse_loss composed from ops."""
from ..autograd import Function
from .reduce import LogSoftmax


class NllLoss(Function):
    """Per-sample -weight[t] * logp[i, t], or 0 where t is ignore_index."""

    def forward(self, logp, target, weight, ignore_index):
        xp = self.xp
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        scale = valid.astype(logp.dtype)
        if weight is not None:
            scale = scale * weight[safe]
        self.save_for_backward(safe, scale)
        self.shape = logp.shape
        picked = xp.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        return -picked * scale

    def backward(self, grad):
        safe, scale = self.saved_tensors
        xp = self.xp
        classes = xp.arange(self.shape[1])
        return xp.where(classes == safe[:, None], (-grad * scale)[:, None], grad.dtype.type(0))


def _classes_last(input, target):
    """(N, C, d1, ...) inputs as (N * d1 * ..., C) rows, their targets as a flat vector."""
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1)
        input = input.reshape(-1, input.shape[-1])
        target = target.reshape(-1)
    return input, target


def _check_target(name, input, target, ignore_index):
    if input.ndim < 2:
        raise RuntimeError(f"{name} expected an input of shape (N, C) or (N, C, d1, ...), got "
                           f"{tuple(input.shape)}")
    if target.is_floating_point():
        raise RuntimeError(f"{name} expects class indices as an integer target, got {target.dtype}; "
                           "use target.long()")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise RuntimeError(f"{name}: expected target size {expected} for input shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")
    classes = input.shape[1]
    data = target._data
    bad = (data != ignore_index) & ((data < 0) | (data >= classes))
    if data.size and bad.any():
        raise IndexError(f"{name} target {int(data[bad].reshape(-1)[0])} is out of range for "
                         f"{classes} classes")


def _reduce(losses, reduction, weight_sum):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        if weight_sum == 0:  # every target ignored: torch's loss is nan, its gradient zero
            return losses.sum() + float("nan")
        return losses.sum() / weight_sum
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _weight_sum(target, weight, ignore_index):
    """What torch's mean reduction divides by: the summed weights of the non-ignored targets."""
    valid = target._data != ignore_index
    return float(valid.sum() if weight is None else weight._data[target._data[valid]].sum())


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    _check_target("nll_loss", input, target, ignore_index)
    shape = tuple(target.shape)
    input, target = _classes_last(input, target)
    losses = NllLoss.apply(input, target, None if weight is None else weight._data,
                           ignore_index=ignore_index)
    if reduction == "none":
        return losses.reshape(shape)
    return _reduce(losses, reduction, _weight_sum(target, weight, ignore_index))


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """log_softmax then nll_loss; with label smoothing, each class also takes a share of
    label_smoothing / C of the target, as in torch."""
    _check_target("cross_entropy", input, target, ignore_index)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    shape = tuple(target.shape)
    input, target = _classes_last(input, target)
    logp = LogSoftmax.apply(input, dim=1)
    losses = NllLoss.apply(logp, target, None if weight is None else weight._data,
                           ignore_index=ignore_index)
    if label_smoothing > 0:
        weighted = logp if weight is None else logp * weight
        smooth = -(weighted.sum(1)) * (target != ignore_index)
        losses = losses * (1 - label_smoothing) + smooth * (label_smoothing / input.shape[1])
    if reduction == "none":
        return losses.reshape(shape)
    return _reduce(losses, reduction, _weight_sum(target, weight, ignore_index))


def mse_loss(input, target, reduction="mean"):
    if tuple(input.shape) != tuple(target.shape):
        raise RuntimeError(f"mse_loss: input shape {tuple(input.shape)} and target shape "
                           f"{tuple(target.shape)} differ (broadcasting them would compare every "
                           "pair); reshape one to match")
    return _reduce((input - target) ** 2, reduction, input.numel())
