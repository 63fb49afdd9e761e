"""Losses: nll_loss, cross_entropy over class indices and the mean reduction as ops; label smoothing,
probability targets and mse_loss composed from ops.

Nothing here moves a value to the host (a GPU sync) but the target range check."""
import numpy as np

from ..autograd import Function
from ..device import is_capturing
from .reduce import LogSoftmax
from .registry import FUNCTIONAL, op


class NllLoss(Function):
    """Per-sample -scale[i] * logp[i, target[i]]; scale holds each target's class weight, 0 where
    the target is ignored."""

    def forward(self, logp, target, scale):
        self.save_for_backward(target, scale)
        self.shape = logp.shape
        picked = self.xp.take_along_axis(logp, target[:, None], axis=1)[:, 0]
        return -picked * scale

    def backward(self, grad):
        target, scale = self.saved_tensors
        xp = self.xp
        classes = xp.arange(self.shape[1])
        return xp.where(classes == target[:, None], (-grad * scale)[:, None], grad.dtype.type(0))


class CrossEntropy(Function):
    """Per-sample -scale[i] * log_softmax(logits)[i, target[i]]: log_softmax and nll_loss in one
    kernel each way."""

    def forward(self, logits, target, scale):
        losses, lse = self.kernels.cross_entropy_forward(logits, target, scale)
        self.save_for_backward(logits, lse, target, scale)
        return losses

    def backward(self, grad):
        return self.kernels.cross_entropy_backward(grad, *self.saved_tensors)


class WeightedMean(Function):
    """sum(losses) / total, torch's mean reduction. total is an array on the losses' device, so
    no value crosses to the host. A total of 0 (every target ignored) gives nan, with a zero
    gradient, as in torch."""

    def forward(self, losses, total):
        xp = self.xp
        empty = total == 0
        self.divisor = xp.where(empty, 1, total).astype(losses.dtype)
        self.shape = losses.shape
        return xp.where(empty, losses.dtype.type("nan"), losses.sum() / self.divisor)

    def backward(self, grad):
        return self.xp.broadcast_to(grad / self.divisor, self.shape), None


def _classes_last(input, target):
    """(N, C, d1, ...) inputs as (N * d1 * ..., C) rows, their targets as a flat vector."""
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1)
        input = input.reshape(-1, input.shape[-1])
        target = target.reshape(-1)
    return input, target


def _one_sample_as_batch(input, target, probabilities=False):
    """torch's unbatched form, input (C,) with a target () (or (C,) of probabilities): a batch of
    one."""
    if input.ndim == 1 and target.ndim == (1 if probabilities else 0):
        return input.unsqueeze(0), target.unsqueeze(0)
    return input, target


def check_target(name, input, target, ignore_index):
    """The errors torch raises for a target that does not fit `input`. The range check reads the
    target's values: while a CUDA graph is being captured it cannot, and the code that replays the
    graph checks each batch's targets (as Trainer does) before copying them in."""
    if input.ndim < 2:
        raise RuntimeError(f"{name} expected an input of shape (C,) with a target of shape (), "
                           f"(N, C) or (N, C, d1, ...), got input {tuple(input.shape)} and target "
                           f"{tuple(target.shape)}")
    if target.is_floating_point():
        raise RuntimeError(f"{name} expects class indices as an integer target, got {target.dtype}; "
                           "use target.long()")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise RuntimeError(f"{name}: expected target size {expected} for input shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")
    classes = input.shape[1]
    data = target._data
    if not data.size or is_capturing():
        return
    # as unsigned integers negative targets are huge: one comparison finds both kinds of outlier
    if (data.view(data.dtype.str.replace("i", "u")) >= classes).any():
        bad = (data != ignore_index) & ((data < 0) | (data >= classes))
        if bad.any():
            raise IndexError(f"{name} target {int(data[bad].reshape(-1)[0])} is out of range for "
                             f"{classes} classes")


def _reduce(losses, reduction, total):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return WeightedMean.apply(losses, total)
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _target_scales(target, weight, ignore_index, dtype):
    """The targets with ignored ones replaced by class 0 (any valid class: their scale is 0), and
    each target's scale: its class weight (1 without weights), 0 where it is ignore_index."""
    xp = target._backend.xp
    data = target._data
    valid = data != ignore_index
    safe = xp.where(valid, data, 0)
    if weight is None:
        return safe, valid.astype(dtype)
    return safe, xp.where(valid, weight._data[safe], 0).astype(dtype, copy=False)


@op(FUNCTIONAL)
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    shape = tuple(target.shape)
    input, target = _one_sample_as_batch(input, target)
    check_target("nll_loss", input, target, ignore_index)
    input, target = _classes_last(input, target)
    safe, scale = _target_scales(target, weight, ignore_index, input.dtype.np)
    losses = NllLoss.apply(input, safe, scale)
    if reduction == "none":
        return losses.reshape(shape)
    return _reduce(losses, reduction, scale.sum())


_KERNEL_FLOATS = (np.float32, np.float64)  # the kernel table's; float16 takes the composition


@op(FUNCTIONAL)
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """log_softmax then nll_loss; with label smoothing, each class also takes a share of
    label_smoothing / C of the target, as in torch. A floating-point target of input's shape
    holds class probabilities."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    shape = tuple(target.shape)
    if target.is_floating_point():
        return _cross_entropy_with_probabilities(input, target, weight, reduction, label_smoothing)
    input, target = _one_sample_as_batch(input, target)
    check_target("cross_entropy", input, target, ignore_index)
    input, target = _classes_last(input, target)
    safe, scale = _target_scales(target, weight, ignore_index, input.dtype.np)
    if label_smoothing == 0 and input.dtype.np in _KERNEL_FLOATS and input.shape[1]:
        losses = CrossEntropy.apply(input, safe, scale)
    else:
        logp = LogSoftmax.apply(input, dim=1)
        losses = NllLoss.apply(logp, safe, scale)
        if label_smoothing > 0:
            weighted = logp if weight is None else logp * weight
            smooth = -(weighted.sum(1)) * (target != ignore_index)
            losses = losses * (1 - label_smoothing) + smooth * (label_smoothing / input.shape[1])
    if reduction == "none":
        return losses.reshape(shape)
    return _reduce(losses, reduction, scale.sum())


def _cross_entropy_with_probabilities(input, target, weight, reduction, label_smoothing):
    """-sum over classes of weight[c] * target[..., c] * log_softmax(input)[..., c]; the mean is
    over the samples (and positions), as in torch."""
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"cross_entropy: a {target.dtype} target holds class probabilities and "
                           f"must have the input's shape {tuple(input.shape)}, got "
                           f"{tuple(target.shape)}; for class indices use target.long()")
    if target.dtype != input.dtype:
        raise RuntimeError(f"cross_entropy: expected a probability target of dtype {input.dtype}, "
                           f"got {target.dtype}")
    unbatched = input.ndim == 1
    input, target = _one_sample_as_batch(input, target, probabilities=True)
    classes = input.shape[1]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = LogSoftmax.apply(input, dim=1) * target
    if weight is not None:
        terms = terms * weight.reshape((classes,) + (1,) * (input.ndim - 2))
    losses = -terms.sum(1)
    if unbatched:
        losses = losses.reshape(())
    return losses.mean() if reduction == "mean" else _reduce(losses, reduction, None)


@op(FUNCTIONAL)
def mse_loss(input, target, reduction="mean"):
    if tuple(input.shape) != tuple(target.shape):
        raise RuntimeError(f"mse_loss: input shape {tuple(input.shape)} and target shape "
                           f"{tuple(target.shape)} differ (broadcasting them would compare every "
                           "pair); reshape one to match")
    squared = (input - target) ** 2
    # xp.full fills the count in on the device (asarray would copy it there from the host)
    return _reduce(squared, reduction, input._backend.xp.full((), input.numel(), squared.dtype.np))
