"""Softmax cross-entropy on one row of logits, shared by the CPU and the CUDA kernels, which each
compile these rules (numba.njit / numba.cuda.jit(device=True)) and run them on every row (forward)
or element (backward) they own: log_softmax and nll_loss in one pass each way. The sums run in
float64; a row's log-sum-exp is shifted by its largest value, as torch's log_softmax."""
import math


def cross_entropy_row(logits, target, scale, losses, lse, row):
    """losses[row] = scale[row] * -log_softmax(logits[row])[target[row]]; lse[row] keeps the row's
    log-sum-exp for the backward pass: NaN when the row holds a NaN or its largest value is
    infinite, as torch's log_softmax. (One function: a rule cannot call another.)"""
    peak = logits[row, 0]
    for c in range(1, logits.shape[1]):
        value = logits[row, c]
        if not value <= peak:  # a NaN becomes the peak: the row's sum is NaN
            peak = value
    total = 0.0
    for c in range(logits.shape[1]):
        total += math.exp(logits[row, c] - peak)
    total = peak + math.log(total)
    lse[row] = total
    losses[row] = scale[row] * (total - logits[row, target[row]])


def cross_entropy_grad_element(grad, logits, lse, target, scale, grad_logits, row, c):
    """grad_logits[row, c] = grad[row] * scale[row] * (softmax(logits[row])[c] - (c == target))."""
    share = math.exp(logits[row, c] - lse[row])
    if c == target[row]:
        share -= 1
    grad_logits[row, c] = grad[row] * scale[row] * share
