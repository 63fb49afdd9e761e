"""Shared helpers for the minigrad test-suite: the PyTorch oracle `check` and `gradcheck_op`.

Every op test is one line:

    check(lambda t, a, b: t.matmul(a, b), (2, 3, 4), (4, 5))

`fn` receives the module (``torch`` or ``minigrad``) first, then the inputs built from the same random
NumPy arrays; `check` compares forward values, shapes, dtypes and ``requires_grad`` of every output, then
back-propagates the same random upstream gradient through both and compares the gradients of every input.

Set the environment variable ``MINIGRAD_TEST_AGAINST=torch`` to run the suite with ``mg = torch`` (used to
validate the tests themselves against PyTorch).
"""
import os

import numpy as np
import pytest

if os.environ.get("MINIGRAD_TEST_AGAINST") == "torch":  # self-test of the suite against PyTorch
    import torch as mg  # noqa: F401
    SELFTEST = True
else:
    import minigrad as mg  # noqa: F401
    SELFTEST = False

try:
    from hypothesis import HealthCheck, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    FAST = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
    SLOW = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
except ImportError:  # pragma: no cover
    st = hnp = None
    FAST = SLOW = None

DTYPE_NAMES = ("float32", "float64", "int64", "int32", "uint8", "bool", "int16", "int8", "float16")


def torch_or_skip():
    return pytest.importorskip("torch")


def dtype_name(module, dtype):
    """The name ("float32", ...) of a dtype object of `module` (torch or minigrad)."""
    for name in DTYPE_NAMES:
        d = getattr(module, name, None)
        if d is None:
            continue
        try:
            if dtype == d:
                return name
        except Exception:  # pragma: no cover
            pass
    return repr(dtype)


def np_dtype_of(name):
    return np.dtype("bool" if name == "bool" else name)


def is_tensor(module, x):
    return isinstance(x, module.Tensor)


def to_numpy(x):
    """NumPy copy of a torch or minigrad tensor (detached)."""
    return np.array(x.detach().numpy(), copy=True)


# ------------------------------------------------------------------------------------------------
# random inputs
# ------------------------------------------------------------------------------------------------

def rand_array(shape, rng, dtype=np.float32, low=-2.0, high=2.0, positive=False, nonzero=False):
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind in "iu":
        lo = 0 if dtype.kind == "u" else int(np.floor(low))
        hi = int(np.ceil(high))
        if positive:
            lo = max(lo, 1)
        a = rng.integers(lo, hi + 1, size=shape)
        if nonzero:
            a[a == 0] = 1
        return np.asarray(a).astype(dtype)
    if positive:
        a = rng.uniform(0.5, max(high, 1.0), size=shape)
    elif nonzero:
        a = rng.uniform(0.5, max(abs(low), abs(high), 1.0), size=shape)
        a *= rng.choice([-1.0, 1.0], size=shape)
    else:
        a = rng.uniform(low, high, size=shape)
    return np.asarray(a, dtype=dtype)


def _is_shape(a):
    return isinstance(a, tuple) and all(isinstance(s, (int, np.integer)) for s in a)


def make_inputs(args, rng, dtype, low, high, positive, nonzero):
    arrays = []
    for a in args:
        if _is_shape(a):
            arrays.append(rand_array(a, rng, dtype, low, high, positive, nonzero))
        elif isinstance(a, np.ndarray):
            arrays.append(a)
        else:
            arrays.append(a)
    return arrays


def _build(module, arrays, grad, requires_grad):
    out = []
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray):
            rg = grad and a.dtype.kind == "f"
            if requires_grad is not None:
                rg = rg and (i in requires_grad)
            out.append(module.tensor(a.copy(), requires_grad=rg))
        else:
            out.append(a)
    return out


def _flatten(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flatten(o))
        return res
    return [out]


def _tols(dtype_name_, rtol, atol):
    if dtype_name_ == "float64":
        return (1e-7 if rtol is None else rtol), (1e-9 if atol is None else atol)
    return (1e-4 if rtol is None else rtol), (1e-5 if atol is None else atol)


def _compare(what, m, t, mname, tname, rtol, atol):
    assert mname == tname, f"{what}: dtype {mname}, torch gives {tname}"
    mv, tv = to_numpy(m), to_numpy(t)
    assert mv.shape == tv.shape, f"{what}: shape {mv.shape}, torch gives {tv.shape}"
    assert mv.dtype == tv.dtype, f"{what}: numpy() dtype {mv.dtype}, torch gives {tv.dtype}"
    if tv.dtype.kind in "fc":
        r, a = _tols(tname, rtol, atol)
        np.testing.assert_allclose(mv, tv, rtol=r, atol=a, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(mv, tv, err_msg=what)


def check(fn, *args, dtype=np.float32, grad=True, rtol=None, atol=None, grad_rtol=None, grad_atol=None,
          low=-2.0, high=2.0, positive=False, nonzero=False, seed=0, requires_grad=None):
    """Run ``fn(torch, *inputs)`` and ``fn(mg, *inputs)`` on the same data and compare.

    args: a shape tuple (random array of `dtype` drawn in [low, high], or positive / nonzero), a NumPy
    array (used as is, its own dtype), or anything else (passed through unchanged to both).
    grad: float inputs require grad and gradients are compared after backward with a random upstream.
    requires_grad: optional set of argument indices that may require grad (others do not).
    Returns (mg_output, torch_output).
    """
    torch = torch_or_skip()
    rng = np.random.default_rng(seed)
    arrays = make_inputs(args, rng, dtype, low, high, positive, nonzero)
    t_in = _build(torch, arrays, grad, requires_grad)
    m_in = _build(mg, arrays, grad, requires_grad)
    t_out = fn(torch, *t_in)
    m_out = fn(mg, *m_in)
    t_outs, m_outs = _flatten(t_out), _flatten(m_out)
    assert len(m_outs) == len(t_outs), f"{len(m_outs)} outputs, torch gives {len(t_outs)}"
    diff = []
    for k, (m, t) in enumerate(zip(m_outs, t_outs)):
        what = f"output {k}"
        if isinstance(t, torch.Tensor):
            assert isinstance(m, mg.Tensor), f"{what}: got {type(m)}, torch gives a Tensor"
            tname, mname = dtype_name(torch, t.dtype), dtype_name(mg, m.dtype)
            _compare(what, m, t, mname, tname, rtol, atol)
            assert bool(m.requires_grad) == bool(t.requires_grad), \
                f"{what}: requires_grad {m.requires_grad}, torch gives {t.requires_grad}"
            if grad and t.requires_grad:
                diff.append((m, t, tname))
        else:
            assert type(m) is type(t), f"{what}: type {type(m)}, torch gives {type(t)}"
            if isinstance(t, float):
                r, a = _tols("float32", rtol, atol)
                np.testing.assert_allclose(m, t, rtol=r, atol=a, err_msg=what)
            else:
                assert m == t, what
    if not diff:
        return m_out, t_out
    ups = [rand_array(tuple(t.shape), rng, np_dtype_of(tname), -1.0, 1.0) for (_, t, tname) in diff]
    if len(diff) == 1:
        m, t, _ = diff[0]
        t.backward(torch.tensor(ups[0]))
        m.backward(mg.tensor(ups[0]))
    else:
        t_loss = sum((t * torch.tensor(g)).sum() for (_, t, _), g in zip(diff, ups))
        m_loss = sum((m * mg.tensor(g)).sum() for (m, _, _), g in zip(diff, ups))
        t_loss.backward()
        m_loss.backward()
    for i, (mi, ti) in enumerate(zip(m_in, t_in)):
        if not isinstance(ti, torch.Tensor) or not ti.requires_grad:
            continue
        what = f"grad of input {i}"
        if ti.grad is None:
            assert mi.grad is None, f"{what}: torch gives None, got {mi.grad}"
            continue
        assert mi.grad is not None, f"{what}: is None, torch gives a gradient"
        gname = dtype_name(torch, ti.grad.dtype)
        _compare(what, mi.grad, ti.grad, dtype_name(mg, mi.grad.dtype), gname,
                 grad_rtol if grad_rtol is not None else rtol,
                 grad_atol if grad_atol is not None else (None if gname == "float64" else
                                                          (atol if atol is not None else 1e-4)))
    return m_out, t_out


def gradcheck_op(fn, *args, low=-2.0, high=2.0, positive=False, nonzero=False, seed=0,
                 eps=1e-6, atol=1e-5, rtol=1e-3):
    """mg.autograd.gradcheck in float64 of ``fn(mg, *inputs)`` (shape tuples become float64 inputs
    requiring grad; NumPy arrays are used as float64 inputs requiring grad; anything else is passed
    through)."""
    rng = np.random.default_rng(seed)
    arrays = make_inputs(args, rng, np.float64, low, high, positive, nonzero)
    tensors, slots = [], []
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            tensors.append(mg.tensor(a.astype(np.float64), dtype=mg.float64, requires_grad=True))
            slots.append(i)

    def f(*ts):
        full = list(arrays)
        for i, tt in zip(slots, ts):
            full[i] = tt
        return fn(mg, *full)

    assert mg.autograd.gradcheck(f, tuple(tensors), eps=eps, atol=atol, rtol=rtol) is True


# ------------------------------------------------------------------------------------------------
# hypothesis strategies
# ------------------------------------------------------------------------------------------------

def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side)


def seeds():
    return st.integers(0, 2 ** 16)
