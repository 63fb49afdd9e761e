"""PyTorch's own OpInfo samples (op_db) replayed on minigrad: every op minigrad exports, float32 and
float64, forward values, dtypes and shapes, and the gradient of every input that requires grad.

A sample that minigrad cannot run fails unless UNSUPPORTED lists its form with the reason; a
sample that runs must match torch, whatever the list says. Samples torch itself rejects are not
replayed."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as mgF

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # op_db imports it
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

from opinfo_unsupported import (NOT_RAISED, RANDOM, RANDOM_SAMPLES, UNDEFINED_VALUES,  # noqa: E402
                                UNSUPPORTED)

DTYPES = {"float32": torch.float32, "float64": torch.float64}
TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-7}  # relative, and absolute times the scale


# OpInfo ops whose `op` reorders torch's arguments: the same reordering of minigrad's function
REORDERED = {
    "nn.functional.embedding": lambda weight, indices, *args, **kwargs: mgF.embedding(
        indices, weight, *args, **kwargs),
    "einsum": lambda operands, equation: mg.einsum(equation, operands),
}


def _minigrad_callable(op):
    """What minigrad exports for the OpInfo `op`: its function, or its Tensor method."""
    if op.name in REORDERED:
        return REORDERED[op.name]
    if op.name.startswith("nn.functional."):
        return getattr(mgF, op.name[len("nn.functional."):], None)
    if op.name.startswith("linalg."):
        return getattr(getattr(mg, "linalg", None), op.name[len("linalg."):], None)
    if "." in op.name:
        return None
    function = getattr(mg, op.name, None)
    if callable(function) and not isinstance(function, mg.dtype) and op.op is getattr(torch, op.name, None):
        return function
    # methods only: in-place variants (x_) and properties (T) take other forms in OpInfo
    method = getattr(mg.Tensor, op.name, None)
    if callable(method) and not op.name.endswith("_"):
        return lambda x, *args, **kwargs: getattr(x, op.name)(*args, **kwargs)
    return None


OPS = [op for op in op_db if _minigrad_callable(op) is not None]


def _case_id(op):
    return op.name + ("." + op.variant_test_name if op.variant_test_name else "")


def _to_minigrad(value, leaves):
    """The same sample in minigrad's types; leaves collects (torch leaf, minigrad leaf) pairs."""
    if isinstance(value, torch.Tensor):
        array = value.detach().numpy().copy()
        converted = mg.tensor(array, requires_grad=value.requires_grad)
        if value.requires_grad:
            leaves.append((value, converted))
        return converted
    if isinstance(value, (torch.dtype, torch.memory_format)):
        return getattr(mg, str(value).rpartition(".")[2])
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_minigrad(v, leaves) for v in value)
    if isinstance(value, dict):
        return {k: _to_minigrad(v, leaves) for k, v in value.items()}
    return value


def _outputs(result):
    """A result's tensors, flattened (named tuples such as max's (values, indices) included)."""
    if isinstance(result, (tuple, list)):
        return [t for item in result for t in _outputs(item)]
    return [result]


def _compare(actual, expected, dtype, what, op_name):
    if not isinstance(expected, torch.Tensor):  # a Python number (item)
        assert type(actual) is type(expected) and np.isclose(actual, expected, equal_nan=True), \
            f"{what}: {actual!r}, torch {expected!r}"
        return
    expected = expected.detach()
    assert isinstance(actual, mg.Tensor), f"{what}: got {type(actual).__name__}, torch a Tensor"
    assert str(actual.dtype) == str(expected.dtype), f"{what}: dtype {actual.dtype}, torch {expected.dtype}"
    assert tuple(actual.shape) == tuple(expected.shape), \
        f"{what}: shape {tuple(actual.shape)}, torch {tuple(expected.shape)}"
    if op_name in UNDEFINED_VALUES:
        return
    wanted = expected.numpy()
    got = actual.detach().numpy()
    if wanted.dtype.kind in "fc":
        tol = TOLERANCE[dtype]
        scale = max(1.0, float(np.nanmax(np.abs(wanted), initial=0.0))) if wanted.size else 1.0
        np.testing.assert_allclose(got, wanted, rtol=tol, atol=tol * scale, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(got, wanted, err_msg=what)


def _replay(op, fn, sample, dtype):
    """Runs one sample on both; returns None when it matched, else why not (unsupported or wrong)."""
    try:
        expected = op.op(sample.input, *sample.args, **sample.kwargs)
    except Exception:  # torch rejects this sample: nothing to compare
        return None
    leaves = []
    inputs = _to_minigrad((sample.input, sample.args, sample.kwargs), leaves)
    try:
        actual = fn(inputs[0], *inputs[1], **inputs[2])
    except Exception as error:
        return "unsupported", f"{type(error).__name__}: {error}"
    expected_outputs, actual_outputs = _outputs(expected), _outputs(actual)
    try:
        assert len(actual_outputs) == len(expected_outputs), \
            f"{len(actual_outputs)} outputs, torch {len(expected_outputs)}"
        for i, (a, e) in enumerate(zip(actual_outputs, expected_outputs)):
            _compare(a, e, dtype, f"output {i}", op.name)
        differentiable = [(a, e) for a, e in zip(actual_outputs, expected_outputs)
                          if isinstance(e, torch.Tensor) and e.requires_grad
                          and e.dtype.is_floating_point]
        if differentiable and leaves:
            generator = torch.Generator().manual_seed(0)
            cotangents = [torch.randn(e.shape, dtype=e.dtype, generator=generator)
                          for _, e in differentiable]
            grads = torch.autograd.grad([e for _, e in differentiable], [t for t, _ in leaves],
                                        cotangents, allow_unused=True)
            total = sum(((a * mg.tensor(c.numpy())).sum() for (a, _), c in zip(differentiable, cotangents)))
            total.backward()
            for i, (grad, (_, leaf)) in enumerate(zip(grads, leaves)):
                if grad is None:
                    assert leaf.grad is None or not np.any(leaf.grad.numpy()), f"grad {i}: torch none"
                else:
                    assert leaf.grad is not None, f"grad {i}: minigrad none"
                    if grad._is_zerotensor():  # torch's symbolic zeros (sgn's gradient)
                        grad = torch.zeros(grad.shape, dtype=grad.dtype)
                    _compare(leaf.grad, grad, dtype, f"grad of input {i}", op.name)
    except Exception as error:
        if isinstance(error, AssertionError):
            return "wrong", str(error)[:400]
        return "unsupported", f"{type(error).__name__}: {error}"
    return None


def _listed(op, sample):
    for applies, reason in UNSUPPORTED.get(_case_id(op), ()):
        if applies(sample):
            return reason
    return None


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("op", OPS, ids=_case_id)
def test_opinfo_samples(op, dtype_name):
    dtype = DTYPES[dtype_name]
    if _case_id(op) in RANDOM:
        pytest.skip(RANDOM[_case_id(op)])
    if dtype not in op.supported_dtypes("cpu"):
        pytest.skip(f"torch has no {dtype_name} {op.name} on the CPU")
    fn = _minigrad_callable(op)
    failures, replayed, listed = [], 0, 0
    random_sample = RANDOM_SAMPLES.get(_case_id(op), (lambda sample: False,))[0]
    for index, sample in enumerate(op.sample_inputs("cpu", dtype, requires_grad=op.supports_autograd)):
        if random_sample(sample):
            continue
        outcome = _replay(op, fn, sample, dtype)
        replayed += 1
        if outcome is None:
            continue
        kind, detail = outcome
        if kind == "unsupported" and _listed(op, sample):
            listed += 1
            continue
        failures.append(f"sample {index} ({kind}): {sample.summary() if hasattr(sample, 'summary') else sample}\n    {detail}")
    assert not failures, f"{len(failures)} of {replayed} samples:\n" + "\n".join(failures[:8])


ERROR_OPS = [op for op in OPS if op.error_inputs_func is not None]


@pytest.mark.parametrize("op", ERROR_OPS, ids=_case_id)
def test_opinfo_error_inputs_raise(op):
    """Where torch raises (OpInfo's error inputs), minigrad raises too."""
    fn = _minigrad_callable(op)
    silent = []
    for error in op.error_inputs("cpu"):
        sample = error.sample_input
        if _case_id(op) in NOT_RAISED and NOT_RAISED[_case_id(op)][0](sample):
            continue
        try:
            inputs = _to_minigrad((sample.input, sample.args, sample.kwargs), [])
        except (TypeError, ValueError):  # a dtype (complex) or a rank (over 64) minigrad cannot
            continue  # hold: refused at the door
        try:
            fn(inputs[0], *inputs[1], **inputs[2])
        except Exception:
            continue
        silent.append(f"{sample} (torch: {error.error_type.__name__} {error.error_regex!r})")
    assert not silent, "minigrad computes where torch raises:\n" + "\n".join(silent)
