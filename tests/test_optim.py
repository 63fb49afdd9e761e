"""minigrad.optim against torch.optim: SGD, Adam, AdamW and the lr schedulers, step for step.

Every oracle test starts both frameworks from the same random parameters, feeds both the same sequence of
gradients, and compares the parameters after every step (float32, rtol 1e-5)."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
import minigrad.optim as optim
from minigrad.optim import lr_scheduler

SHAPES = [(3, 4), (5,), (2, 3, 2), ()]
RTOL, ATOL = 1e-5, 1e-6


def _torch():
    return pytest.importorskip("torch")


def _arrays(seed, shapes=SHAPES, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def _grads(seed, steps, shapes=SHAPES, dtype=np.float32):
    return [_arrays(seed * 1000 + step, shapes, dtype) for step in range(steps)]


def _mg_params(arrays):
    return [mg.tensor(a.copy(), requires_grad=True) for a in arrays]


def _torch_params(torch, arrays):
    return [torch.tensor(a.copy(), requires_grad=True) for a in arrays]


def _groups(params, groups):
    """`groups`: None (one plain list) or a list of (indices, options) pairs."""
    if groups is None:
        return params
    return [dict(options, params=[params[i] for i in indices]) for indices, options in groups]


def _assert_params_equal(mg_params, torch_params, step, rtol=RTOL, atol=ATOL):
    for i, (p, q) in enumerate(zip(mg_params, torch_params)):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"parameter {i} after step {step}")
        assert p.detach().numpy().dtype == q.detach().numpy().dtype


def _run_both(name, kwargs, groups=None, steps=8, seed=0, skip=(), shapes=SHAPES):
    """Run minigrad's and torch's optimizer `name` on the same gradient sequence; compare every step.
    Parameters whose index is in `skip` get no gradient (grad None)."""
    torch = _torch()
    arrays = _arrays(seed, shapes)
    mp, tp = _mg_params(arrays), _torch_params(torch, arrays)
    mopt = getattr(optim, name)(_groups(mp, groups), **kwargs)
    topt = getattr(torch.optim, name)(_groups(tp, groups), **kwargs)
    for step, grads in enumerate(_grads(seed + 1, steps, shapes)):
        for i, (p, q, g) in enumerate(zip(mp, tp, grads)):
            if i not in skip:
                p.grad, q.grad = mg.tensor(g), torch.tensor(g)
        mopt.step()
        topt.step()
        _assert_params_equal(mp, tp, step)
    return mp, mopt, arrays


SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.5},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
    {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05, "nesterov": True},
    {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01},
    {"lr": 0.1, "momentum": 0.9, "maximize": True},
    {"lr": 0.1, "weight_decay": 0.1, "maximize": True},
]
ADAM_CASES = [
    {},
    {"lr": 0.01},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "amsgrad": True},
    {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05},
    {"lr": 0.02, "betas": (0.5, 0.9)},          # lerp weight 0.5: torch's second lerp branch
    {"lr": 0.02, "betas": (0.2, 0.99), "eps": 1e-3},
    {"lr": 0.01, "maximize": True},
]
ADAMW_CASES = [
    {},
    {"lr": 0.01},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "weight_decay": 0.0},
    {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05},
    {"lr": 0.02, "betas": (0.3, 0.95)},
]
ALL_CASES = ([("SGD", c) for c in SGD_CASES] + [("Adam", c) for c in ADAM_CASES]
             + [("AdamW", c) for c in ADAMW_CASES])


def _case_id(case):
    name, kwargs = case
    return name + "-" + ("-".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults")


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_matches_torch_step_for_step(case):
    name, kwargs = case
    _run_both(name, kwargs)


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=lambda kwargs: _case_id(("SGD", kwargs)))
def test_sgd_on_parameters_above_and_below_the_parallel_size_matches_torch(kwargs):
    from minigrad.kernels.cpu.optim import SMALL
    _run_both("SGD", kwargs, steps=3, shapes=[(SMALL + 7,), (SMALL - 1,), (3, 4)])


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_shapes_and_options_match_torch(data):
    torch = _torch()
    name = data.draw(st.sampled_from(["SGD", "Adam", "AdamW"]), label="optimizer")
    shapes = data.draw(st.lists(hnp.array_shapes(min_dims=0, max_dims=3, max_side=5), min_size=1,
                                max_size=3), label="shapes")
    lr = data.draw(st.floats(1e-4, 0.5), label="lr")
    weight_decay = data.draw(st.sampled_from([0.0, 1e-3, 0.1]), label="weight_decay")
    if name == "SGD":
        momentum = data.draw(st.sampled_from([0.0, 0.5, 0.9]), label="momentum")
        nesterov = momentum > 0 and data.draw(st.booleans(), label="nesterov")
        dampening = 0.0 if nesterov else data.draw(st.sampled_from([0.0, 0.3]), label="dampening")
        kwargs = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                      nesterov=nesterov)
    else:
        betas = (data.draw(st.floats(0.0, 0.95), label="beta1"),
                 data.draw(st.floats(0.5, 0.999), label="beta2"))
        kwargs = dict(lr=lr, betas=betas, weight_decay=weight_decay,
                      amsgrad=data.draw(st.booleans(), label="amsgrad"))
    seed = data.draw(st.integers(0, 2**16), label="seed")
    arrays = _arrays(seed, shapes)
    mp, tp = _mg_params(arrays), _torch_params(torch, arrays)
    mopt, topt = getattr(optim, name)(mp, **kwargs), getattr(torch.optim, name)(tp, **kwargs)
    for step, grads in enumerate(_grads(seed + 1, 6, shapes)):
        for p, q, g in zip(mp, tp, grads):
            p.grad, q.grad = mg.tensor(g), torch.tensor(g)
        mopt.step()
        topt.step()
        _assert_params_equal(mp, tp, step)


GROUP_CASES = [
    ("SGD", {"lr": 0.1}, [([0, 2], {}), ([1], {"lr": 0.01, "momentum": 0.9})]),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, [([0], {"lr": 0.3}), ([1, 2], {"nesterov": True,
                                                                       "weight_decay": 0.1})]),
    ("Adam", {"lr": 0.01}, [([0], {"lr": 0.1}), ([1], {"amsgrad": True}),
                            ([2], {"betas": (0.8, 0.99), "weight_decay": 0.1})]),
    ("AdamW", {"lr": 0.01}, [([2, 0], {"lr": 0.05, "weight_decay": 0.2}), ([1], {})]),
]


@pytest.mark.parametrize("case", GROUP_CASES, ids=lambda c: c[0])
def test_param_groups_match_torch(case):
    name, kwargs, groups = case
    _, opt, _ = _run_both(name, kwargs, groups=groups)
    assert len(opt.param_groups) == len(groups)
    assert opt.param_groups[0]["lr"] == groups[0][1].get("lr", kwargs.get("lr", 1e-3))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_parameters_without_grad_are_skipped(name):
    kwargs = {"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.1}
    params, opt, arrays = _run_both(name, kwargs, skip=(1,), steps=4)
    np.testing.assert_array_equal(params[1].detach().numpy(), arrays[1])
    assert params[1] not in opt.state or not opt.state[params[1]]


def test_editing_group_lr_mid_run_matches_torch():
    torch = _torch()
    arrays = _arrays(3)
    mp, tp = _mg_params(arrays), _torch_params(torch, arrays)
    mopt = optim.SGD(mp, lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tp, lr=0.1, momentum=0.9)
    for step, grads in enumerate(_grads(4, 6)):
        if step == 3:
            for opt in (mopt, topt):
                for group in opt.param_groups:
                    group["lr"] = 0.01
                    group["momentum"] = 0.5
        for p, q, g in zip(mp, tp, grads):
            p.grad, q.grad = mg.tensor(g), torch.tensor(g)
        mopt.step()
        topt.step()
        _assert_params_equal(mp, tp, step)


def test_add_param_group_matches_torch():
    torch = _torch()
    arrays = _arrays(5)
    mp, tp = _mg_params(arrays), _torch_params(torch, arrays)
    mopt, topt = optim.Adam(mp[:2], lr=0.01), torch.optim.Adam(tp[:2], lr=0.01)
    mopt.add_param_group({"params": mp[2], "lr": 0.1, "amsgrad": True})
    topt.add_param_group({"params": tp[2], "lr": 0.1, "amsgrad": True})
    assert mopt.param_groups[1]["betas"] == (0.9, 0.999) and mopt.param_groups[1]["lr"] == 0.1
    for step, grads in enumerate(_grads(6, 5)):
        for p, q, g in zip(mp, tp, grads):
            p.grad, q.grad = mg.tensor(g), torch.tensor(g)
        mopt.step()
        topt.step()
        _assert_params_equal(mp, tp, step)


# ----- dtype, in-place semantics, autograd interplay --------------------------------------------
@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1,
                                                   "nesterov": True}),
                                          ("Adam", {"lr": 0.1, "weight_decay": 0.1, "amsgrad": True}),
                                          ("AdamW", {"lr": 0.1})])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_updates_in_place_keep_dtype_and_record_nothing(name, kwargs, dtype):
    array = np.random.default_rng(0).standard_normal((4, 3)).astype(dtype)
    p = mg.tensor(array, requires_grad=True)
    storage, version = p._data, p._version.value
    opt = getattr(optim, name)([p], **kwargs)
    for step in range(3):
        p.grad = mg.tensor(np.full((4, 3), 0.5, dtype))
        grad_storage = p.grad._data.copy()
        opt.step()
        np.testing.assert_array_equal(p.grad._data, grad_storage)  # the gradient is left alone
    assert p._data is storage and p._data.dtype == dtype
    assert p._version.value == version + 3
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    for value in opt.state[p].values():
        if isinstance(value, mg.Tensor):
            assert value._data.dtype == dtype and not value.requires_grad


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_strided_parameter_matches_torch(name):
    """A parameter that is a transposed view is updated in place, as torch updates its own."""
    torch = _torch()
    rng = np.random.default_rng(7)
    array = rng.standard_normal((3, 4)).astype(np.float32)
    p = mg.tensor(array, requires_grad=True).detach().T.requires_grad_()
    q = torch.tensor(array).T.requires_grad_()
    assert not p._data.flags.c_contiguous
    kwargs = {"lr": 0.1, "momentum": 0.9, "nesterov": True} if name == "SGD" else {"lr": 0.1}
    mopt, topt = getattr(optim, name)([p], **kwargs), getattr(torch.optim, name)([q], **kwargs)
    for step in range(3):
        grad = rng.standard_normal((4, 3)).astype(np.float32)
        p.grad, q.grad = mg.tensor(grad), torch.tensor(grad)
        mopt.step()
        topt.step()
        _assert_params_equal([p], [q], step)


def test_float32_gradient_for_float64_parameter_is_cast():
    p = mg.tensor(np.ones(3), dtype=mg.float64, requires_grad=True)
    p.grad = mg.tensor(np.ones(3, np.float32))
    optim.Adam([p], lr=0.1).step()
    assert p._data.dtype == np.float64
    np.testing.assert_allclose(p.detach().numpy(), 0.9)


def test_step_after_saving_parameter_for_backward_is_detected():
    w = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    x = mg.tensor(np.arange(3, dtype=np.float32), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = (w * x).sum()  # mul saves w for x's gradient
    w.grad = mg.tensor(np.ones(3, np.float32))
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_step_closure_returns_loss_and_runs_with_grad_enabled():
    w = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        assert mg.is_grad_enabled()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(3.0)
    np.testing.assert_allclose(w.detach().numpy(), 0.8)
    assert opt.step() is None


# ----- end to end: linear regression with minigrad ops -------------------------------------------
E2E_CASES = [("SGD", {"lr": 0.05}), ("SGD", {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
             ("SGD", {"lr": 0.02, "momentum": 0.9, "weight_decay": 1e-3}),
             ("Adam", {"lr": 0.05}), ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 1e-3}),
             ("AdamW", {"lr": 0.05})]


@pytest.mark.parametrize("case", E2E_CASES, ids=_case_id)
def test_linear_regression_trains_and_matches_torch(case):
    torch = _torch()
    name, kwargs = case
    rng = np.random.default_rng(42)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    true_w = rng.standard_normal((5, 1)).astype(np.float32)
    y = (x @ true_w + 0.01 * rng.standard_normal((64, 1))).astype(np.float32)
    w0 = (0.1 * rng.standard_normal((5, 1))).astype(np.float32)
    mw, tw = mg.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    mx, my, tx, ty = mg.tensor(x), mg.tensor(y), torch.tensor(x), torch.tensor(y)
    mopt, topt = getattr(optim, name)([mw], **kwargs), getattr(torch.optim, name)([tw], **kwargs)
    losses = []
    for step in range(30):
        mopt.zero_grad()
        topt.zero_grad()
        mloss = (mx @ mw - my).pow(2).mean()
        tloss = (tx @ tw - ty).pow(2).mean()
        mloss.backward()
        tloss.backward()
        mopt.step()
        topt.step()
        assert mloss.item() == pytest.approx(tloss.item(), rel=1e-4, abs=1e-6)
        _assert_params_equal([mw], [tw], step, rtol=1e-4, atol=1e-5)
        losses.append(mloss.item())
    assert losses[-1] < 0.5 * losses[0]


# ----- zero_grad --------------------------------------------------------------------------------
def test_zero_grad_set_to_none():
    p, q = _mg_params(_arrays(0)[:2])
    opt = optim.SGD([p, q], lr=0.1)
    p.grad = mg.tensor(np.ones(p.shape, np.float32))
    opt.zero_grad()
    assert p.grad is None and q.grad is None
    p.grad = mg.tensor(np.ones(p.shape, np.float32))
    opt.zero_grad(set_to_none=True)
    assert p.grad is None


def test_zero_grad_to_zeros_in_place():
    p, q = _mg_params(_arrays(0)[:2])
    opt = optim.SGD([p, q], lr=0.1)
    (p.sum() * 3).backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and q.grad is None
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(p.shape, np.float32))
    (p.sum() * 2).backward()  # accumulates into the zeroed gradient
    np.testing.assert_array_equal(p.grad.numpy(), np.full(p.shape, 2, np.float32))


# ----- state_dict -------------------------------------------------------------------------------
SD_CASES = [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
            ("SGD", {"lr": 0.1}),
            ("Adam", {"lr": 0.01, "amsgrad": True}),
            ("AdamW", {"lr": 0.01, "weight_decay": 0.1})]


def _state_to_numpy(state_dict):
    """What a trip through NumPy (np.savez / mg.load) gives back: arrays instead of tensors."""
    return {"state": {str(k): {n: np.asarray(v.numpy() if isinstance(v, mg.Tensor) else v)
                               for n, v in s.items()}
                      for k, s in state_dict["state"].items()},
            "param_groups": [{k: np.asarray(v) for k, v in g.items()}
                             for g in state_dict["param_groups"]]}


@pytest.mark.parametrize("through_numpy", [False, True])
@pytest.mark.parametrize("case", SD_CASES, ids=_case_id)
def test_state_dict_round_trip_continues_like_uninterrupted_run(case, through_numpy):
    name, kwargs = case
    arrays = _arrays(7)
    grads = _grads(8, 8)
    groups = [([0, 1], {}), ([2], {"lr": 0.05})]
    full = _mg_params(arrays)
    full_opt = getattr(optim, name)(_groups(full, groups), **kwargs)
    for step in range(3):
        for p, g in zip(full, grads[step]):
            p.grad = mg.tensor(g)
        full_opt.step()
    saved = full_opt.state_dict()
    assert sorted(saved) == ["param_groups", "state"]
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert saved["param_groups"][1]["lr"] == 0.05
    if "momentum" in kwargs or name != "SGD":
        assert sorted(saved["state"]) == [0, 1, 2]
    if through_numpy:
        saved = _state_to_numpy(saved)

    resumed = _mg_params([p.detach().numpy().copy() for p in full])
    resumed_opt = getattr(optim, name)(_groups(resumed, [([0, 1], {}), ([2], {})]), **kwargs)
    resumed_opt.load_state_dict(saved)
    assert resumed_opt.param_groups[1]["lr"] == 0.05
    assert resumed_opt.param_groups[0]["params"][0] is resumed[0]
    for step in range(3, 8):
        for params in (full, resumed):
            for p, g in zip(params, grads[step]):
                p.grad = mg.tensor(g)
        full_opt.step()
        resumed_opt.step()
        for p, q in zip(full, resumed):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_state_dict_is_a_snapshot_and_plain():
    p = _mg_params(_arrays(0)[:1])[0]
    opt = optim.Adam([p], lr=0.1)
    p.grad = mg.tensor(np.ones(p.shape, np.float32))
    opt.step()
    saved = opt.state_dict()
    state = saved["state"][0]
    assert state["step"] == 1 and isinstance(state["step"], int)
    before = state["exp_avg"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(state["exp_avg"].numpy(), before)  # not aliased to the live state
    assert saved["param_groups"][0]["params"] == [0]
    assert set(saved["param_groups"][0]) >= {"lr", "betas", "eps", "weight_decay", "amsgrad"}


@pytest.mark.parametrize("case", SD_CASES, ids=_case_id)
def test_load_torch_state_dict(case):
    """A torch optimizer's state (tensors, tensor steps, extra group keys) loads and continues."""
    torch = _torch()
    name, kwargs = case
    arrays = _arrays(9)
    grads = _grads(10, 6)
    tp = _torch_params(torch, arrays)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    for step in range(3):
        for q, g in zip(tp, grads[step]):
            q.grad = torch.tensor(g)
        topt.step()
    mp = _mg_params([q.detach().numpy().copy() for q in tp])
    mopt = getattr(optim, name)(mp, **kwargs)
    mopt.load_state_dict(topt.state_dict())
    for step in range(3, 6):
        for p, q, g in zip(mp, tp, grads[step]):
            p.grad, q.grad = mg.tensor(g), torch.tensor(g)
        mopt.step()
        topt.step()
        _assert_params_equal(mp, tp, step)


def test_load_state_dict_errors():
    params = _mg_params(_arrays(0))
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    two_groups = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())
    smaller = optim.SGD(params[:2], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(smaller.state_dict())
    params[0].grad = mg.tensor(np.ones((3, 4), np.float32))
    opt.step()
    saved = opt.state_dict()
    other = optim.SGD(_mg_params(_arrays(0, shapes=[(2, 2), (5,), (2, 3, 2), ()])), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"shape \(3, 4\).*\(2, 2\)"):
        other.load_state_dict(saved)


# ----- errors -----------------------------------------------------------------------------------
def _param():
    return mg.tensor(np.ones(3, np.float32), requires_grad=True)


@pytest.mark.parametrize("make,message", [
    (lambda: optim.SGD([_param()], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda: optim.SGD([_param()], lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda: optim.SGD([_param()], lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda: optim.SGD([_param()], lr=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: optim.SGD([_param()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    (lambda: optim.Adam([], lr=0.1), "optimizer got an empty parameter list"),
    (lambda: optim.Adam([_param()], lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda: optim.Adam([_param()], eps=-1e-8), "Invalid epsilon value"),
    (lambda: optim.Adam([_param()], betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
    (lambda: optim.AdamW([_param()], betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda: optim.AdamW([_param()], weight_decay=-0.1), "Invalid weight_decay value"),
    (lambda: optim.SGD([{"params": [_param()], "lr": -1.0}], lr=0.1), "Invalid learning rate"),
    (lambda: optim.SGD([mg.tensor(np.ones((2, 5), np.float32))], lr=0.1),
     r"does not require grad \(shape \(2, 5\)\)"),
    (lambda: optim.SGD([_param() * 2], lr=0.1), r"non-leaf Tensor \(shape \(3,\)\)"),
])
def test_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_parameter_in_two_groups_is_an_error():
    p, q = _param(), _param()
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p, q]}, {"params": [q]}], lr=0.1)
    opt = optim.Adam([p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [q, p]})
    assert len(opt.param_groups) == 1


def test_type_errors():
    p = _param()
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=3)


def test_generator_and_named_parameters_are_accepted():
    p, q = _param(), _param()
    assert optim.SGD((t for t in [p, q]), lr=0.1).param_groups[0]["params"] == [p, q]
    opt = optim.SGD([("weight", p), ("bias", q)], lr=0.1)
    assert opt.param_groups[0]["params"] == [p, q]
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]


def test_defaults_and_repr():
    opt = optim.AdamW([_param()])
    assert opt.defaults["weight_decay"] == 1e-2 and opt.defaults["lr"] == 1e-3
    assert optim.Adam([_param()]).defaults["weight_decay"] == 0
    assert optim.SGD([_param()], 0.5).param_groups[0]["lr"] == 0.5
    assert "Parameter Group 0" in repr(opt) and "weight_decay: 0.01" in repr(opt)


# ----- schedulers -------------------------------------------------------------------------------
SCHEDULER_CASES = [
    ("StepLR", {"step_size": 7}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 20], "gamma": 0.3}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 30, "eta_min": 1e-3}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 31}),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "epochs": 3, "steps_per_epoch": 11,
                    "anneal_strategy": "linear"}),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 40, "three_phase": True, "pct_start": 0.25}),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 40, "cycle_momentum": False}),
]
SCHEDULER_OPTIMIZERS = [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01}),
                        ("SGD", {"lr": 0.1})]


def _scheduler_pair(torch, opt_case, sched_case, arrays):
    opt_name, opt_kwargs = opt_case
    sched_name, sched_kwargs = sched_case
    mp, tp = _mg_params(arrays), _torch_params(torch, arrays)
    groups = [([0, 1], {}), ([2], {"lr": opt_kwargs["lr"] / 10})]
    mopt = getattr(optim, opt_name)(_groups(mp, groups), **opt_kwargs)
    topt = getattr(torch.optim, opt_name)(_groups(tp, groups), **opt_kwargs)
    msched = getattr(lr_scheduler, sched_name)(mopt, **sched_kwargs)
    tsched = getattr(torch.optim.lr_scheduler, sched_name)(topt, **sched_kwargs)
    return mp, tp, mopt, topt, msched, tsched


def _compare_schedules(mopt, topt, msched, tsched):
    assert msched.last_epoch == tsched.last_epoch
    assert msched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
    for mg_group, torch_group in zip(mopt.param_groups, topt.param_groups):
        assert mg_group["lr"] == pytest.approx(torch_group["lr"], rel=1e-12, abs=1e-15)
        assert mg_group["initial_lr"] == pytest.approx(torch_group["initial_lr"], rel=1e-12)
        for key in ("momentum", "betas"):
            if key in torch_group:
                assert mg_group[key] == pytest.approx(torch_group[key], rel=1e-12)


@pytest.mark.parametrize("opt_case", SCHEDULER_OPTIMIZERS, ids=_case_id)
@pytest.mark.parametrize("sched_case", SCHEDULER_CASES, ids=_case_id)
def test_scheduler_matches_torch(sched_case, opt_case):
    torch = _torch()
    arrays = _arrays(11)
    mp, tp, mopt, topt, msched, tsched = _scheduler_pair(torch, opt_case, sched_case, arrays)
    _compare_schedules(mopt, topt, msched, tsched)
    grads = _grads(12, 30)
    for step in range(30):
        for p, q, g in zip(mp, tp, grads[step]):
            p.grad, q.grad = mg.tensor(g), torch.tensor(g)
        mopt.step()
        topt.step()
        msched.step()
        tsched.step()
        _compare_schedules(mopt, topt, msched, tsched)
        _assert_params_equal(mp, tp, step, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sched_case", SCHEDULER_CASES[::2], ids=_case_id)
def test_scheduler_state_dict_round_trip(sched_case):
    torch = _torch()
    opt_case = ("SGD", {"lr": 0.1, "momentum": 0.9})
    arrays = _arrays(13)
    _, _, mopt, topt, msched, tsched = _scheduler_pair(torch, opt_case, sched_case, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: scheduler.step() before optimizer.step()
        for _ in range(10):
            mopt.step()
            topt.step()
            msched.step()
            tsched.step()
        opt_state, sched_state = mopt.state_dict(), msched.state_dict()
        assert "optimizer" not in sched_state and sched_state["last_epoch"] == 10
        _, _, mopt2, _, msched2, _ = _scheduler_pair(torch, opt_case, sched_case, arrays)
        msched2.load_state_dict(sched_state)
        mopt2.load_state_dict(opt_state)
        _compare_schedules(mopt2, topt, msched2, tsched)
        for _ in range(15):
            mopt2.step()
            topt.step()
            msched2.step()
            tsched.step()
            _compare_schedules(mopt2, topt, msched2, tsched)


def test_onecycle_errors():
    opt = optim.SGD([_param()], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=10)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_scheduler_sets_initial_lr_and_step_epoch():
    opt = optim.SGD([{"params": [_param()], "lr": 0.1}, {"params": [_param()], "lr": 1.0}], lr=0.5)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert sched.get_last_lr() == [0.1, 1.0] and sched.last_epoch == 0
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(5)
    assert sched.get_last_lr() == pytest.approx([0.025, 0.25])


# ----- GPU (skipped without one) ----------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("case", [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True,
                                           "weight_decay": 0.1}),
                                  ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
                                  ("AdamW", {"lr": 0.01})], ids=_case_id)
def test_cuda_matches_cpu(case):
    if not mg.cuda.is_available():
        pytest.skip("no GPU")
    name, kwargs = case
    arrays = _arrays(14)
    cpu = _mg_params(arrays)
    gpu = [mg.tensor(a.copy(), device="cuda", requires_grad=True) for a in arrays]
    cpu_opt, gpu_opt = getattr(optim, name)(cpu, **kwargs), getattr(optim, name)(gpu, **kwargs)
    for step, grads in enumerate(_grads(15, 5)):
        for p, q, g in zip(cpu, gpu, grads):
            p.grad, q.grad = mg.tensor(g), mg.tensor(g, device="cuda")
        cpu_opt.step()
        gpu_opt.step()
        for p, q in zip(cpu, gpu):
            assert q._data.dtype == np.float32
            np.testing.assert_allclose(q.detach().cpu().numpy(), p.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)
    saved = gpu_opt.state_dict()
    cpu_opt.load_state_dict(saved)  # GPU state loads onto CPU parameters
    assert all(v.device.type == "cpu" for s in cpu_opt.state.values() for v in s.values()
               if isinstance(v, mg.Tensor))
