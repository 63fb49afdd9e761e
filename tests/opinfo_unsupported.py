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


def _training(sample):
    return sample.kwargs.get("training", True) and sample.kwargs.get("p", 0.5) > 0


# samples whose values are random: (which, why); the rest of the op's samples are compared
RANDOM_SAMPLES = {name: (_training, "random channel mask: tests/test_modern_layers.py checks that "
                                    "whole maps are dropped and the rest scaled")
                  for name in ("nn.functional.dropout2d", "nn.functional.dropout3d")}

UNDEFINED_VALUES = {"empty", "empty_like"}  # uninitialised memory: shapes and dtypes compared


def _negative_divisor(sample):
    divisor = sample.kwargs.get("divisor_override", sample.args[5] if len(sample.args) > 5 else None)
    return divisor is not None and divisor < 0


def _empty_or_scalar_input(sample):
    return isinstance(sample.input, torch.Tensor) and (sample.input.numel() == 0 or sample.input.dim() == 0)


def _has_empty_tensor(sample):
    tensors = sample.input if isinstance(sample.input, (list, tuple)) else [sample.input]
    return any(isinstance(t, torch.Tensor) and t.numel() == 0 for t in tensors)


UNSUPPORTED = {
    "nn.functional.batch_norm": [(_empty_or_scalar_input, "an input of shape (0,) raises")],
    "nn.functional.avg_pool2d": [(_negative_divisor, "a negative divisor_override is refused "
                                                     "(torch divides by it)")],
    "cat": [(_has_empty_tensor, "a legacy 1-D empty tensor beside others raises")],
}


def _number_first(sample):
    return not isinstance(sample.input, torch.Tensor)


def _tensor_bounds(sample):
    return isinstance(sample.input, torch.Tensor)


# OpInfo error inputs minigrad accepts: (which, why)
_NUMBER_FIRST = (_number_first, "a Python number as the first operand is accepted (torch wants a "
                                "Tensor)")
NOT_RAISED = {name: _NUMBER_FIRST for name in ("eq", "ne", "lt", "le", "gt", "ge")}
NOT_RAISED.update({name: (_tensor_bounds, "1-D tensor start and end are accepted")
                   for name in ("linspace", "linspace.tensor_overload")})
NOT_RAISED.update({name: (lambda sample: isinstance(sample.input, torch.Tensor),
                          "a Python number bound is accepted, as torch itself does (the generic "
                          "binary-op error input OpInfo attaches)")
                   for name in ("clamp_min", "clamp_max")})
