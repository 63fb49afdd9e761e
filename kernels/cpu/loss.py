"""Softmax cross-entropy, forward and backward, one pass over the logits each (the rules of
kernels/cross_entropy_rule.py), a row per iteration. Logits under SMALL elements (LeNet's (256, 10))
go to the serial kernels: waking the worker threads costs more than the pass."""
import numpy as np
from numba import njit, prange

from ..cross_entropy_rule import cross_entropy_grad_element, cross_entropy_row

SMALL = 1 << 16

_row = njit(inline="always")(cross_entropy_row)
_grad_element = njit(inline="always")(cross_entropy_grad_element)


@njit(fastmath=False, cache=True)
def _forward_serial(logits, target, scale, losses, lse):
    for row in range(logits.shape[0]):
        _row(logits, target, scale, losses, lse, row)


@njit(parallel=True, fastmath=False, cache=True)
def _forward_parallel(logits, target, scale, losses, lse):
    for row in prange(logits.shape[0]):
        _row(logits, target, scale, losses, lse, row)


@njit(fastmath=False, cache=True)
def _backward_serial(grad, logits, lse, target, scale, grad_logits):
    for row in range(logits.shape[0]):
        for c in range(logits.shape[1]):
            _grad_element(grad, logits, lse, target, scale, grad_logits, row, c)


@njit(parallel=True, fastmath=False, cache=True)
def _backward_parallel(grad, logits, lse, target, scale, grad_logits):
    for row in prange(logits.shape[0]):
        for c in range(logits.shape[1]):
            _grad_element(grad, logits, lse, target, scale, grad_logits, row, c)


def cross_entropy_forward(logits, target, scale):
    logits = np.ascontiguousarray(logits)
    losses = np.empty(logits.shape[0], logits.dtype)
    lse = np.empty_like(losses)
    kernel = _forward_serial if logits.size < SMALL else _forward_parallel
    kernel(logits, np.ascontiguousarray(target), np.ascontiguousarray(scale, logits.dtype), losses,
           lse)
    return losses, lse


def cross_entropy_backward(grad, logits, lse, target, scale):
    logits = np.ascontiguousarray(logits)
    grad_logits = np.empty_like(logits)
    kernel = _backward_serial if logits.size < SMALL else _backward_parallel
    kernel(np.ascontiguousarray(grad, logits.dtype), logits, np.ascontiguousarray(lse),
           np.ascontiguousarray(target), np.ascontiguousarray(scale, logits.dtype), grad_logits)
    return grad_logits
