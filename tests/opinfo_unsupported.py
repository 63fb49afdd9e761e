"""What tests/test_opinfo.py does not compare sample by sample, each with why. UNSUPPORTED lists
the OpInfo sample forms minigrad does not support yet (issue 16 asks for every one of them):
a listed sample that minigrad runs is still compared with torch, and must match."""
import torch

RANDOM = {
    "randn": "random values",
    "randn_like": "random values",
    "rand_like": "random values",
    "randint": "random values",
    "normal": "random values",
    "normal.number_mean": "random values",
    "normal.in_place": "random values",
    "nn.functional.dropout": "random mask",
}

UNDEFINED_VALUES = {"empty", "empty_like"}  # uninitialised memory: shapes and dtypes compared


def _kwarg(name, value=None):
    """Samples that pass keyword `name` (with a true value, or equal to `value`)."""
    if value is None:
        return lambda sample: bool(sample.kwargs.get(name))
    return lambda sample: sample.kwargs.get(name) == value


def _has_tensor_argument(sample):
    return any(isinstance(arg, torch.Tensor) for arg in list(sample.args) + list(sample.kwargs.values()))


def _empty_or_scalar_input(sample):
    return isinstance(sample.input, torch.Tensor) and (sample.input.numel() == 0 or sample.input.dim() == 0)


def _has_empty_tensor(sample):
    tensors = sample.input if isinstance(sample.input, (list, tuple)) else [sample.input]
    return any(isinstance(t, torch.Tensor) and t.numel() == 0 for t in tensors)


def _one_tuple_geometry(sample):
    values = list(sample.args) + list(sample.kwargs.values())
    return any(isinstance(v, tuple) and len(v) < 2 for v in values)


UNSUPPORTED = {
    "clamp": [(_has_tensor_argument, "tensor bounds are not supported")],
    "max.reduction_with_dim": [(_empty_or_scalar_input, "dim= on a 0-d tensor raises")],
    "min.reduction_with_dim": [(_empty_or_scalar_input, "dim= on a 0-d tensor raises")],
    "nn.functional.avg_pool2d": [(_one_tuple_geometry, "1-tuples and () for kernel, stride, padding are not accepted")],
    "nn.functional.batch_norm": [(_empty_or_scalar_input, "an input of shape (0,) raises")],
    "prod": [(_kwarg("dtype"), "dtype= is not supported"),
             (_has_empty_tensor, "empty inputs break the backward pass"),
             (_empty_or_scalar_input, "dim= on a 0-d tensor raises")],
    "cat": [(_has_empty_tensor, "a legacy 1-D empty tensor beside others raises")],
}
