"""Tensor hooks (`register_hook`, `register_post_accumulate_grad_hook`, their handles) and
`autograd.queue_callback`, side by side with PyTorch: every test builds the same computation in both
libraries from the same NumPy values and compares what the hooks saw, how often they ran, and `.grad`."""
import numpy as np
import pytest

from helpers import SELFTEST, mg

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-4, 1e-5
LIBS = (torch, mg)


def arr(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(np.float32)


def leaf(lib, a):
    return lib.tensor(np.array(a, dtype=np.float32), requires_grad=True)


def npy(t):
    return None if t is None else np.array(t.detach().numpy(), copy=True)


def close(a, b, what=""):
    if a is None or b is None:
        assert a is None and b is None, f"{what}: {a} vs {b}"
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=what)


def same_log(ours, theirs):
    """Two logs of (label, value-or-None) entries: equal labels in the same order, values close."""
    assert [e[0] for e in ours] == [e[0] for e in theirs], f"ours {ours}\ntorch {theirs}"
    for (label, a), (_, b) in zip(ours, theirs):
        close(a, b, label)


def queue_callback(lib):
    if lib is torch:
        return torch.autograd.Variable._execution_engine.queue_callback
    return lib.autograd.queue_callback


def drop_second_grad(lib):
    """An op `f(a, b) = a + b` whose backward gives `a` its gradient and `b` none."""
    if lib is torch:
        class DropSecond(torch.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a + b

            @staticmethod
            def backward(ctx, grad):
                return grad, None
        return DropSecond.apply

    class DropSecondMg(lib.autograd.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad):
            return grad, None
    return DropSecondMg.apply


def both(fn):
    """(our result, torch's result) of fn(lib)."""
    return fn(mg), fn(torch)


# ------------------------------------------------------------------------------------------------
# return values, order, removal, handles
# ------------------------------------------------------------------------------------------------

def test_leaf_hook_return_value_replaces_gradient():
    a = arr(3, 4)

    def run(lib, hooked):
        x = leaf(lib, a)
        if hooked:
            x.register_hook(lambda g: g * 3.0 + 1.0)
        (x.sin() * x).sum().backward()
        return npy(x.grad)
    ours, theirs = both(lambda lib: run(lib, True))
    close(ours, theirs, "x.grad with a replacing hook")
    plain = run(mg, False)
    close(ours, plain * 3.0 + 1.0, "the hook's result is what accumulates")


def test_nonleaf_hook_return_value_replaces_gradient():
    a, b = arr(3, 4), arr(3, 4, seed=1)

    def run(lib):
        x, w = leaf(lib, a), leaf(lib, b)
        y = x * w
        y.register_hook(lambda g: g * -2.0)
        (y.sin() + y).sum().backward()
        return npy(x.grad), npy(w.grad)
    (ox, ow), (tx, tw) = both(run)
    close(ox, tx, "x.grad")
    close(ow, tw, "w.grad")
    expected_x = -2.0 * (np.cos(a * b) + 1.0) * b
    close(ox, expected_x, "x.grad by hand")


@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_hook_returning_none_keeps_gradient_and_sees_it(where):
    a = arr(2, 5)

    def run(lib):
        x = leaf(lib, a)
        y = x * 1.5
        seen = []
        (x if where == "leaf" else y).register_hook(lambda g: seen.append(npy(g)))
        (y * y).sum().backward()
        return seen, npy(x.grad)
    (oseen, og), (tseen, tg) = both(run)
    assert len(oseen) == len(tseen) == 1
    close(oseen[0], tseen[0], "gradient seen by the hook")
    close(og, tg, "x.grad")
    close(og, 2 * 1.5 * 1.5 * a, "x.grad by hand")


@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_hooks_run_in_registration_order_each_seeing_the_previous_result(where):
    a = arr(4, 3)

    def run(lib):
        x = leaf(lib, a)
        y = x.sin()
        target = x if where == "leaf" else y
        log = []

        def first(g):
            log.append(("first", npy(g)))
            return g * 2.0

        def second(g):
            log.append(("second", npy(g)))
            return g + 1.0

        def third(g):
            log.append(("third", npy(g)))

        for h in (first, second, third):
            target.register_hook(h)
        (y * 3.0).sum().backward()
        return log, npy(x.grad)
    (olog, og), (tlog, tg) = both(run)
    same_log(olog, tlog)
    close(olog[1][1], 2 * olog[0][1], "second sees first's result")
    close(olog[2][1], olog[1][1] + 1.0, "third sees second's result")
    close(og, tg, "x.grad")


def test_hook_gradient_argument_matches_torch():
    """The tensor a hook receives: shape, dtype, requires_grad, is_leaf."""
    a = arr(2, 3)

    def run(lib):
        x = leaf(lib, a)
        y = x * 2.0
        info = []

        def record(g):
            info.append((tuple(g.shape), str(g.dtype).split(".")[-1], g.requires_grad, g.is_leaf))
        x.register_hook(record)
        y.register_hook(record)
        y.sum().backward()
        return info
    ours, theirs = both(run)
    assert ours == theirs


@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_remove_before_backward(where):
    a = arr(3)

    def run(lib):
        x = leaf(lib, a)
        y = x * 2.0
        calls = []
        handle = (x if where == "leaf" else y).register_hook(lambda g: calls.append(1) or g * 10.0)
        handle.remove()
        handle.remove()  # a second remove is harmless
        y.sum().backward()
        return len(calls), npy(x.grad)
    (oc, og), (tc, tg) = both(run)
    assert oc == tc == 0
    close(og, tg, "x.grad")
    close(og, np.full(3, 2.0), "x.grad without the removed hook")


def test_remove_between_two_backwards_keeps_the_other_hooks():
    a = arr(3)

    def run(lib):
        x = leaf(lib, a)
        log = []
        h1 = x.register_hook(lambda g: log.append(("h1", None)) or g * 2.0)
        x.register_hook(lambda g: log.append(("h2", npy(g))))
        (x * 1.0).sum().backward()
        h1.remove()
        (x * 1.0).sum().backward()
        return log, npy(x.grad)
    (olog, og), (tlog, tg) = both(run)
    same_log(olog, tlog)
    close(og, tg, "x.grad")


@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_remove_inside_a_hook_during_backward(where):
    """A hook removing itself runs once; a hook removing a later one: the later one still runs in
    this backward (torch runs the hooks registered when the backward reached the tensor), and not
    in the next."""
    a = arr(3)

    def run(lib):
        x = leaf(lib, a)
        y = x * 2.0
        target = x if where == "leaf" else y
        log, handles = [], {}

        def once(g):
            log.append(("once", npy(g)))
            handles["once"].remove()
            return g * 3.0

        def remover(g):
            log.append(("remover", npy(g)))
            handles["later"].remove()

        def later(g):
            log.append(("later", npy(g)))

        handles["once"] = target.register_hook(once)
        handles["remover"] = target.register_hook(remover)
        handles["later"] = target.register_hook(later)
        z = (y * y).sum()
        z.backward(retain_graph=True)
        log.append(("---", None))
        z.backward()
        return log, npy(x.grad)
    (olog, og), (tlog, tg) = both(run)
    same_log(olog, tlog)
    close(og, tg, "x.grad")
    assert [e[0] for e in olog].count("once") == 1


def test_handle_is_a_context_manager():
    from torch.utils.hooks import RemovableHandle
    assert hasattr(RemovableHandle, "__enter__") and hasattr(RemovableHandle, "__exit__")
    a = arr(3)

    def run(lib):
        x = leaf(lib, a)
        calls = []
        with x.register_hook(lambda g: calls.append(1) or g * 5.0) as handle:
            assert handle is not None
            (x * 1.0).sum().backward()
        (x * 1.0).sum().backward()  # the hook was removed on exit
        return len(calls), npy(x.grad)
    (oc, og), (tc, tg) = both(run)
    assert oc == tc == 1
    close(og, tg, "x.grad")
    close(og, np.full(3, 6.0), "5 from the hooked backward, 1 from the other")


def test_same_function_registered_twice_runs_twice():
    """torch keeps each registration: the same function registered twice runs twice, and each
    handle removes only its own registration."""
    a = arr(3)

    def run(lib):
        x = leaf(lib, a)
        calls = []

        def double(g):
            calls.append(1)
            return g * 2.0
        h1 = x.register_hook(double)
        x.register_hook(double)
        (x * 1.0).sum().backward()
        first = (len(calls), npy(x.grad))
        h1.remove()
        x.grad = None
        (x * 1.0).sum().backward()
        return first, (len(calls), npy(x.grad))
    ours, theirs = both(run)
    assert theirs[0][0] == 2 and theirs[1][0] == 3
    assert ours[0][0] == theirs[0][0], f"calls after the first backward: {ours[0][0]}, torch {theirs[0][0]}"
    close(ours[0][1], theirs[0][1], "x.grad after the first backward (torch: 4)")
    assert ours[1][0] == theirs[1][0], f"calls after removing one handle: {ours[1][0]}, torch {theirs[1][0]}"
    close(ours[1][1], theirs[1][1], "x.grad with one registration left (torch: 2)")


def test_stale_handle_does_not_remove_a_later_registration():
    """handle.remove() of a hook already removed must not take out a hook registered after it."""
    a = arr(3)

    def run(lib):
        x = leaf(lib, a)
        calls = []

        def hook(g):
            calls.append(1)
            return g * 2.0
        old = x.register_hook(hook)
        old.remove()
        x.register_hook(hook)  # registered again: a new registration with its own handle
        old.remove()  # the old handle is spent; it must not remove the new registration
        (x * 1.0).sum().backward()
        return len(calls), npy(x.grad)
    (oc, og), (tc, tg) = both(run)
    assert tc == 1
    assert oc == tc, f"our hook ran {oc} times, torch's {tc}"
    close(og, tg, "x.grad")


# ------------------------------------------------------------------------------------------------
# leaves used several times: one call on the whole gradient
# ------------------------------------------------------------------------------------------------

def test_shared_leaf_hook_runs_once_on_the_total():
    """w is used by three ops far apart on the tape (and once as both inputs of one op)."""
    xa, wa = arr(3, 4), arr(4, 4, seed=1)

    def run(lib):
        x, w = leaf(lib, xa), leaf(lib, wa)
        log = []
        w.register_hook(lambda g: log.append(("pre", npy(g))) or g * 0.5)
        w.register_post_accumulate_grad_hook(lambda p: log.append(("post", npy(p.grad))))
        a = x @ w                       # first use
        b = a.sin() * 2.0
        c = b.sum(0, keepdim=True) * w  # second use, later on the tape
        d = c.cos() + (w * w)           # third and fourth uses (one node, both edges)
        e = (d.sum() + b.sum())
        e.backward()
        return log, npy(w.grad), npy(x.grad)
    (olog, ow, ox), (tlog, tw, tx) = both(run)
    assert [e[0] for e in tlog] == ["pre", "post"]
    same_log(olog, tlog)
    close(ow, tw, "w.grad")
    close(ox, tx, "x.grad")
    close(olog[1][1], 0.5 * olog[0][1], "post sees the hook-scaled total")


def test_leaf_used_twice_one_use_gives_no_gradient():
    """v reaches the loss directly and through an op that gives its operand no gradient: its hook
    runs once, on the part that arrives."""
    wa, va = arr(5), arr(5, seed=1)

    def run(lib):
        w, v = leaf(lib, wa), leaf(lib, va)
        log = []
        v.register_hook(lambda g: log.append(("v pre", npy(g))) or g * 2.0)
        v.register_post_accumulate_grad_hook(lambda p: log.append(("v post", npy(p.grad))))
        w.register_hook(lambda g: log.append(("w pre", npy(g))))
        f = drop_second_grad(lib)
        (f(w, v.sin()) * 3.0 + v * v).sum().backward()
        return log, npy(w.grad), npy(v.grad)
    (olog, ow, ov), (tlog, tw, tv) = both(run)
    same_log(olog, tlog)
    close(ow, tw, "w.grad")
    close(ov, tv, "v.grad")
    close(ov, 4.0 * va, "v.grad by hand")


def test_leaf_used_once_through_an_op_that_gives_another_edge_no_gradient():
    wa, va = arr(5), arr(5, seed=1)

    def run(lib):
        w, v = leaf(lib, wa), leaf(lib, va)
        log = []
        w.register_hook(lambda g: log.append(("w pre", npy(g))) or g * 4.0)
        w.register_post_accumulate_grad_hook(lambda p: log.append(("w post", npy(p.grad))))
        f = drop_second_grad(lib)
        (f(w, v) * w.detach()).sum().backward()
        return log, npy(w.grad), npy(v.grad)
    (olog, ow, ov), (tlog, tw, tv) = both(run)
    assert [e[0] for e in tlog] == ["w pre", "w post"]
    same_log(olog, tlog)
    close(ow, tw, "w.grad")
    assert ov is None and tv is None


def test_leaf_hooks_when_no_gradient_reaches_the_leaf():
    """torch runs a leaf's hooks even when every use gave it no gradient: the pre-hook with None,
    then the post-accumulate hook (with .grad still None)."""
    wa, va = arr(5), arr(5, seed=1)

    def run(lib):
        w, v = leaf(lib, wa), leaf(lib, va)
        log = []
        v.register_hook(lambda g: log.append(("v pre", None if g is None else npy(g))))
        v.register_post_accumulate_grad_hook(lambda p: log.append(("v post", npy(p.grad))))
        drop_second_grad(lib)(w, v).sum().backward()
        return log, npy(v.grad)
    (olog, ov), (tlog, tv) = both(run)
    assert ov is None and tv is None
    assert [e[0] for e in tlog] == ["v pre", "v post"]
    assert [e[0] for e in olog] == [e[0] for e in tlog], f"ours {olog}, torch {tlog}"


@pytest.mark.parametrize("preset", [False, True])
def test_post_accumulate_hook_once_per_backward_sees_accumulated_grad(preset):
    xa, wa, g0 = arr(2, 3), arr(3, 3, seed=1), arr(3, 3, seed=2)

    def run(lib):
        x, w = leaf(lib, xa), leaf(lib, wa)
        if preset:
            w.grad = lib.tensor(g0.copy())
        log = []
        w.register_hook(lambda g: log.append(("pre", npy(g))))
        w.register_post_accumulate_grad_hook(lambda p: log.append(("post", npy(p.grad))))
        for _ in range(2):
            h = x @ w
            ((h * w.sum(0)).sin() + h * w[0]).sum().backward()
        return log, npy(w.grad)
    (olog, og), (tlog, tg) = both(run)
    assert [e[0] for e in tlog] == ["pre", "post", "pre", "post"]
    same_log(olog, tlog)
    close(og, tg, "w.grad")
    start = g0 if preset else 0.0
    close(olog[1][1], start + olog[0][1], "first post sees .grad after one accumulation")
    close(olog[3][1], olog[1][1] + olog[2][1], "second post sees the two accumulated")


def test_backward_on_the_leaf_itself_runs_its_hooks():
    a, g = arr(2, 3), arr(2, 3, seed=1)

    def run(lib):
        x = leaf(lib, a)
        log = []
        x.register_hook(lambda gr: log.append(("pre", npy(gr))) or gr * 3.0)
        x.register_post_accumulate_grad_hook(lambda p: log.append(("post", npy(p.grad))))
        x.backward(lib.tensor(g.copy()))
        x.backward(lib.tensor(g.copy()))
        return log, npy(x.grad)
    (olog, og), (tlog, tg) = both(run)
    same_log(olog, tlog)
    close(og, tg, "x.grad")
    close(og, 6.0 * g, "x.grad by hand")


def test_nonleaf_root_hook_runs_on_the_given_gradient():
    a, g = arr(4), arr(4, seed=1)

    def run(lib):
        x = leaf(lib, a)
        y = x.sin()
        seen = []
        y.register_hook(lambda gr: seen.append(npy(gr)) or gr * 5.0)
        y.backward(lib.tensor(g.copy()))
        return seen, npy(x.grad)
    (oseen, og), (tseen, tg) = both(run)
    assert len(oseen) == len(tseen) == 1
    close(oseen[0], g, "the root's hook sees the gradient passed to backward")
    close(og, tg, "x.grad")


# ------------------------------------------------------------------------------------------------
# non-leaf hooks and retain_grad
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("retain_first", [True, False])
def test_retain_grad_sees_the_hook_modified_gradient(retain_first):
    a = arr(3, 2)

    def run(lib):
        x = leaf(lib, a)
        y = x.sin() * 2.0
        if retain_first:
            y.retain_grad()
        y.register_hook(lambda g: g * 10.0)
        if not retain_first:
            y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        once = npy(y.grad)
        z.backward()
        return once, npy(y.grad), npy(x.grad)
    (o1, o2, ox), (t1, t2, tx) = both(run)
    close(o1, t1, "y.grad after one backward")
    close(o2, t2, "y.grad after two")
    close(ox, tx, "x.grad")
    y = np.sin(a) * 2.0
    close(o1, 10.0 * 2 * y, "y.grad by hand")


def test_hook_registered_before_an_inplace_op_sees_the_old_versions_gradient():
    a = arr(4)

    def run(lib):
        x = leaf(lib, a)
        y = x * 2.0
        seen = []
        y.register_hook(lambda g: seen.append(npy(g)))
        y.mul_(3.0)
        (y * y).sum().backward()
        return seen, npy(x.grad)
    (oseen, og), (tseen, tg) = both(run)
    assert len(oseen) == len(tseen) == 1
    close(oseen[0], tseen[0], "gradient of y before mul_")
    close(og, tg, "x.grad")


def test_retain_grad_then_inplace_op_retains_the_new_versions_gradient():
    """torch: retain_grad follows the tensor, so after y.mul_(3) y.grad is the gradient of the
    modified y."""
    a = arr(4)

    def run(lib):
        x = leaf(lib, a)
        y = x * 2.0
        y.retain_grad()
        y.mul_(3.0)
        (y * 5.0).sum().backward()
        return npy(y.grad)
    ours, theirs = both(run)
    close(theirs, np.full(4, 5.0), "torch's y.grad")
    close(ours, theirs, "y.grad after retain_grad then an in-place op")


# ------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------

def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.type, str(info.value)


def test_register_hook_on_tensor_without_grad_raises():
    for make in (lambda lib: lib.tensor(arr(3)),
                 lambda lib: lib.tensor(arr(3), requires_grad=True).detach()):
        (ot, om), (tt, tm) = both(lambda lib: _error(lambda: make(lib).register_hook(lambda g: g)))
        assert tt is RuntimeError and ot is RuntimeError, (ot, om)
        assert "doesn't require gradient" in tm
        assert "require" in om and "grad" in om, om


def test_post_accumulate_hook_on_nonleaf_raises():
    def run(lib):
        y = leaf(lib, arr(3)) * 2.0
        return _error(lambda: y.register_post_accumulate_grad_hook(lambda p: None))
    (ot, om), (tt, tm) = both(run)
    assert ot is tt is RuntimeError
    assert "non-leaf" in tm and "non-leaf" in om, om
    assert "post accumulate" in om


def test_post_accumulate_hook_on_tensor_without_grad_raises():
    (ot, om), (tt, tm) = both(lambda lib: _error(
        lambda: lib.tensor(arr(3)).register_post_accumulate_grad_hook(lambda p: None)))
    assert ot is tt is RuntimeError
    assert "require" in om and "grad" in om, om


@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_hook_returning_wrong_shape_raises_a_clear_error(where):
    def run(lib):
        x = leaf(lib, arr(2, 3))
        y = x * 2.0
        (x if where == "leaf" else y).register_hook(lambda g: g.sum(0))
        return _error(lambda: y.sum().backward())
    (ot, om), (tt, tm) = both(run)
    assert tt is RuntimeError and "changed the size" in tm
    assert ot is RuntimeError
    if not SELFTEST:
        assert "hook" in om and "(2, 3)" in om and "(3,)" in om, om


def test_hook_returning_a_non_tensor_raises():
    def run(lib):
        x = leaf(lib, arr(2, 3))
        x.register_hook(lambda g: g.numpy())
        return _error(lambda: (x * 2.0).sum().backward())
    (ot, om), (tt, tm) = both(run)
    assert tt is TypeError
    assert issubclass(ot, (TypeError, RuntimeError)), ot
    assert "hook" in om and "array" in om.lower(), om


@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_hook_returning_another_dtype_raises(where):
    """torch refuses a hook that changes the gradient's dtype ("hook ... has changed the type of
    value (was torch.FloatTensor got torch.DoubleTensor)")."""
    def run(lib):
        x = leaf(lib, arr(2, 3))
        y = x * 2.0
        (x if where == "leaf" else y).register_hook(lambda g: g.double())
        return _error(lambda: y.sum().backward())
    theirs = run(torch)
    assert theirs[0] is RuntimeError and "changed the type" in theirs[1]
    x = leaf(mg, arr(2, 3))
    y = x * 2.0
    (x if where == "leaf" else y).register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match="float64|dtype|type"):
        y.sum().backward()


def test_error_in_a_hook_leaves_no_backward_state_behind():
    """A hook that raises: the error reaches the caller; callbacks it queued never run; the next
    backward works and queue_callback outside backward raises again."""
    def run(lib):
        qc = queue_callback(lib)
        x = leaf(lib, arr(3))
        log = []

        def bad(g):
            qc(lambda: log.append("stale callback"))
            raise ValueError("boom")
        handle = x.register_hook(bad)
        with pytest.raises(ValueError, match="boom"):
            (x * 2.0).sum().backward()
        handle.remove()
        (x * 2.0).sum().backward()
        with pytest.raises(RuntimeError):
            qc(lambda: None)
        return log, npy(x.grad)
    (olog, og), (tlog, tg) = both(run)
    assert olog == tlog == []
    close(og, tg, "x.grad")


# ------------------------------------------------------------------------------------------------
# grad mode inside hooks
# ------------------------------------------------------------------------------------------------

def test_grad_mode_is_off_inside_hooks():
    """torch runs backward (and so every hook) with grad mode off (create_graph=False)."""
    def run(lib):
        x, w = leaf(lib, arr(3)), leaf(lib, arr(3, seed=1))
        seen = []
        x.register_hook(lambda g: seen.append((lib.is_grad_enabled(), (g * w).requires_grad)))
        w.register_post_accumulate_grad_hook(lambda p: seen.append((lib.is_grad_enabled(), None)))
        (x * w).sum().backward()
        return seen
    ours, theirs = both(run)
    assert theirs == [(False, False), (False, None)]
    assert ours == theirs, f"(is_grad_enabled(), (g * w).requires_grad) in hooks: ours {ours}, torch {theirs}"


def test_post_accumulate_hook_can_update_its_parameter_in_place():
    """torch's optimizer-in-backward pattern: a post-accumulate hook updating its leaf in place
    (grad mode is off during backward, so this is allowed there)."""
    a = arr(4)

    def run(lib):
        p = leaf(lib, a)
        p.register_post_accumulate_grad_hook(lambda t: t.sub_(0.5 * t.grad))
        (p * p).sum().backward()
        return npy(p), p.requires_grad, p.is_leaf
    (ov, orq, olf), (tv, trq, tlf) = both(run)
    close(tv, np.zeros(4), "torch: p - 0.5 * 2p")
    close(ov, tv, "p after the hook's update")
    assert (orq, olf) == (trq, tlf) == (True, True)


# ------------------------------------------------------------------------------------------------
# hooks registered during backward
# ------------------------------------------------------------------------------------------------

def test_leaf_hook_registered_by_an_earlier_hook_during_backward_runs():
    """A non-leaf's hook registers a hook on a leaf that the backward has not reached yet (while
    another leaf with hooks was already met): torch runs the new hook in this backward."""
    xa, wa = arr(3), arr(3, seed=1)

    def run(lib):
        x, w = leaf(lib, xa), leaf(lib, wa)
        log = []
        w.register_hook(lambda g: log.append(("w", npy(g))))
        y = x * 3.0

        def register_on_x(g):
            log.append(("y", npy(g)))
            x.register_hook(lambda gx: log.append(("x late", npy(gx))) or gx * 10.0)
        z = (y * w).sum() + (w * 2.0).sum()
        y.register_hook(register_on_x)
        z.backward()
        return log, npy(x.grad), npy(w.grad)
    theirs = run(torch)
    assert [e[0] for e in theirs[0]] == ["w", "y", "x late"]
    ours = run(mg)
    same_log(ours[0], theirs[0])
    close(ours[1], theirs[1], "x.grad")
    close(ours[2], theirs[2], "w.grad")


def test_first_leaf_hook_of_the_process_registered_during_backward_runs():
    """The same, in a fresh process where no leaf had a hook before this backward began."""
    import subprocess
    import sys
    code = (
        "import {m} as lib\n"
        "x = lib.ones(3, requires_grad=True)\n"
        "y = x * 3.0\n"
        "log = []\n"
        "def late(g):\n"
        "    log.append('x late')\n"
        "    return g * 10.0\n"
        "def register(g):\n"
        "    x.register_hook(late)\n"
        "y.register_hook(register)\n"
        "(y * 2.0).sum().backward()\n"
        "print(log, x.grad.tolist())\n"
    )
    out = {}
    for name in ("torch", "torch" if SELFTEST else "minigrad"):
        r = subprocess.run([sys.executable, "-c", code.format(m=name)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        out[name] = r.stdout.strip().splitlines()[-1]
    assert out["torch"] == "['x late'] [60.0, 60.0, 60.0]"
    assert len(set(out.values())) == 1, out


def test_backward_inside_a_hook_keeps_its_own_callbacks():
    def run(lib):
        qc = queue_callback(lib)
        a, b = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        log = []

        def inner(g):
            log.append(("inner hook", None))
            qc(lambda: log.append(("inner callback", None)))

        def outer(g):
            log.append(("outer hook", None))
            qc(lambda: log.append(("outer callback", None)))
            with lib.enable_grad():
                c = (b * 2.0).sum()
            b.register_hook(inner)
            c.backward()
            log.append(("after inner backward", None))
        a.register_hook(outer)
        (a * 3.0).sum().backward()
        return log, npy(b.grad)
    (olog, ob), (tlog, tb) = both(run)
    same_log(olog, tlog)
    close(ob, tb, "b.grad")


# ------------------------------------------------------------------------------------------------
# queue_callback
# ------------------------------------------------------------------------------------------------

def test_queue_callback_runs_after_all_post_hooks_in_order():
    xa, wa, va = arr(2, 3), arr(3, 3, seed=1), arr(3, seed=2)

    def run(lib):
        qc = queue_callback(lib)
        x, w, v = leaf(lib, xa), leaf(lib, wa), leaf(lib, va)
        log = []
        for name, t in (("x", x), ("w", w), ("v", v)):
            t.register_post_accumulate_grad_hook(lambda p, name=name: log.append((name + " post", None)))
        h = x @ w

        def queue(g):
            log.append(("h hook", None))
            qc(lambda: log.append(("cb1", None)))
            qc(lambda: log.append(("cb2", None)))
        h.register_hook(queue)
        ((h + v).sin().sum() + (x * 2.0).sum()).backward()
        return log
    ours, theirs = both(run)
    labels = [e[0] for e in ours]
    assert labels[-2:] == ["cb1", "cb2"], labels
    assert sorted(labels[:-2]) == sorted(e[0] for e in theirs[:-2]), (ours, theirs)
    assert [e[0] for e in theirs][-2:] == ["cb1", "cb2"]
    assert labels.count("cb1") == 1 and labels.count("x post") == 1


def test_callbacks_queued_by_callbacks_run_and_old_ones_do_not_rerun():
    def run(lib):
        qc = queue_callback(lib)
        x = leaf(lib, arr(3))
        log, queued = [], []

        def third():
            log.append(("third", None))

        def second():
            log.append(("second", None))
            qc(third)

        def first():
            log.append(("first", None))
            qc(second)

        def hook(g):
            if not queued:  # only in the first backward
                queued.append(1)
                qc(first)
            log.append(("hook", None))
        x.register_hook(hook)
        (x * 2.0).sum().backward()
        log.append(("--- second backward", None))
        (x * 2.0).sum().backward()
        return log
    ours, theirs = both(run)
    same_log(ours, theirs)
    assert [e[0] for e in ours] == ["hook", "first", "second", "third", "--- second backward", "hook"]


def test_queue_callback_outside_backward_raises():
    for lib in LIBS:
        with pytest.raises(RuntimeError) as info:
            queue_callback(lib)(lambda: None)
        if lib is mg and not SELFTEST:
            assert "backward" in str(info.value)
    # and after a backward has finished
    x = leaf(mg, arr(2))
    (x * 2.0).sum().backward()
    with pytest.raises(RuntimeError):
        queue_callback(mg)(lambda: None)


def test_queue_callback_from_a_leaf_backward():
    def run(lib):
        qc = queue_callback(lib)
        x = leaf(lib, arr(3))
        log = []
        x.register_hook(lambda g: qc(lambda: log.append(("cb", npy(x.grad)))))
        x.register_post_accumulate_grad_hook(lambda p: log.append(("post", None)))
        x.backward(lib.ones(3))
        return log
    ours, theirs = both(run)
    same_log(ours, theirs)
    assert [e[0] for e in ours] == ["post", "cb"]


# ------------------------------------------------------------------------------------------------
# random graphs
# ------------------------------------------------------------------------------------------------

N = 3
SHAPES = ((N, N), (1, N), (N, 1), (1, 1))


def _draw_program(seed):
    """A random program over leaves of the shapes in SHAPES: a list of ops on pool indices, the
    hooks (scale factors; None keeps the gradient) and which tensors retain their grad."""
    rng = np.random.default_rng(seed)
    n_leaves = int(rng.integers(2, 5))
    leaves = [SHAPES[int(rng.integers(len(SHAPES)))] if i else (N, N) for i in range(n_leaves)]
    values = [rng.uniform(-1.5, 1.5, size=s).astype(np.float32) for s in leaves]
    shapes = list(leaves)
    ops = []
    for _ in range(int(rng.integers(4, 14))):
        kind = ["mul", "add", "sin", "matmul", "sum", "scale"][int(rng.integers(6))]

        def pick():  # favour leaves, so that they are reused
            if rng.random() < 0.5:
                return int(rng.integers(n_leaves))
            return int(rng.integers(len(shapes)))
        a = pick()
        if kind in ("mul", "add"):
            b = pick()
            shape = tuple(np.broadcast_shapes(shapes[a], shapes[b]))
            ops.append((kind, a, b))
        elif kind == "matmul":
            candidates = [b for b in range(len(shapes)) if shapes[b][0] == shapes[a][1]]
            if not candidates:
                ops.append(("sin", a, None))
                shapes.append(shapes[a])
                continue
            b = candidates[int(rng.integers(len(candidates)))]
            shape = (shapes[a][0], shapes[b][1])
            ops.append((kind, a, b))
        elif kind == "sum":
            dim = int(rng.integers(2))
            shape = tuple(1 if d == dim else s for d, s in enumerate(shapes[a]))
            ops.append((kind, a, dim))
        elif kind == "scale":
            ops.append((kind, a, float(rng.choice([-2.0, 0.5, 3.0]))))
            shape = shapes[a]
        else:
            ops.append((kind, a, None))
            shape = shapes[a]
        shapes.append(shape)
    total = len(shapes)
    factors = [None, 1.0, 0.5, -1.0, 2.0]
    hooks = {}
    for i in range(total):
        if i < n_leaves or rng.random() < 0.5:
            hooks[i] = [factors[int(rng.integers(len(factors)))] for _ in range(int(rng.integers(1, 3)))]
    post = [i for i in range(n_leaves) if rng.random() < 0.6]
    retain = [i for i in range(n_leaves, total) if rng.random() < 0.3]
    outs = sorted(set(int(k) for k in rng.integers(n_leaves, total, size=int(rng.integers(1, 3)))))
    weights = [rng.uniform(-1, 1, size=shapes[k]).astype(np.float32) for k in outs]
    twice = bool(rng.random() < 0.3)
    return values, ops, hooks, post, retain, outs, weights, twice


def _run_program(lib, program):
    values, ops, hooks, post, retain, outs, weights, twice = program
    pool = [leaf(lib, v) for v in values]
    for kind, a, b in ops:
        x = pool[a]
        if kind == "mul":
            y = x * pool[b]
        elif kind == "add":
            y = x + pool[b]
        elif kind == "matmul":
            y = x @ pool[b]
        elif kind == "sum":
            y = x.sum(b, keepdim=True)
        elif kind == "scale":
            y = x * b
        else:
            y = x.sin()
        pool.append(y)
    log = []
    for i, factors in hooks.items():
        for j, f in enumerate(factors):
            def hook(g, i=i, j=j, f=f):
                log.append((f"t{i} hook{j}", npy(g)))
                return None if f is None else g * f
            pool[i].register_hook(hook)
    for i in post:
        pool[i].register_post_accumulate_grad_hook(lambda p, i=i: log.append((f"t{i} post", npy(p.grad))))
    for i in retain:
        pool[i].retain_grad()
    loss = sum((pool[k] * lib.tensor(w)).sum() for k, w in zip(outs, weights))
    loss.backward(retain_graph=twice)
    if twice:
        log.append(("--- second backward", None))
        loss.backward()
    grads = {i: npy(pool[i].grad) for i in range(len(values))}
    grads.update({i: npy(pool[i].grad) for i in retain})
    return log, grads


@pytest.mark.parametrize("seed", range(40))
def test_random_graph_hooks_match_torch(seed):
    program = _draw_program(seed)
    olog, ograds = _run_program(mg, program)
    tlog, tgrads = _run_program(torch, program)
    # the same calls, each tensor's hooks in the same order with the same gradients
    assert sorted(e[0] for e in olog) == sorted(e[0] for e in tlog), f"ours {olog}\ntorch {tlog}"
    for label in set(e[0] for e in tlog):
        same_log([e for e in olog if e[0] == label], [e for e in tlog if e[0] == label])
    # non-leaf hooks run in reverse tape order, as torch's do
    n_leaves = len(program[0])

    def nonleaf(log):
        return [e[0] for e in log if e[0].startswith("---") or (
            not e[0].endswith("post") and int(e[0][1:].split()[0]) >= n_leaves)]
    assert nonleaf(olog) == nonleaf(tlog)
    assert sorted(ograds) == sorted(tgrads)
    for i in tgrads:
        close(ograds[i], tgrads[i], f"grad of t{i}")
    assert any(e[0].endswith("hook0") for e in tlog)


# ------------------------------------------------------------------------------------------------
# no_grad and modules
# ------------------------------------------------------------------------------------------------

def test_hooks_and_tensors_made_under_no_grad():
    a = arr(3)

    def run(lib):
        x = leaf(lib, a)
        with lib.no_grad():
            y = x * 2.0  # no graph: a leaf that does not require grad
            z = lib.tensor(a.copy(), requires_grad=True)  # a leaf made under no_grad still requires grad
            handle = z.register_hook(lambda g: g * 4.0)  # registering under no_grad is fine
        refused = _error(lambda: y.register_hook(lambda g: g))[0]
        y.requires_grad_()
        log = []
        y.register_hook(lambda g: log.append(("y", npy(g))) or g * 3.0)
        x.register_hook(lambda g: log.append(("x", npy(g))))
        ((y * y).sum() + (z * x).sum()).backward()
        assert handle is not None
        return refused, log, npy(x.grad), npy(y.grad), npy(z.grad)
    ours, theirs = both(run)
    assert ours[0] is theirs[0] is RuntimeError
    same_log(ours[1], theirs[1])
    for k, name in ((2, "x"), (3, "y"), (4, "z")):
        close(ours[k], theirs[k], f"{name}.grad")
    close(ours[4], 4.0 * a, "z.grad by hand")


def test_leaf_used_partly_under_no_grad():
    a = arr(4)

    def run(lib):
        x = leaf(lib, a)
        calls = []
        x.register_hook(lambda g: calls.append(npy(g)))
        with lib.no_grad():
            c = x * 100.0  # no gradient from this use
        (x * c + x.sin()).sum().backward()
        return calls, npy(x.grad)
    (oc, og), (tc, tg) = both(run)
    assert len(oc) == len(tc) == 1
    close(oc[0], tc[0], "gradient seen by the hook")
    close(og, tg, "x.grad")


def test_linear_parameters_post_accumulate_hooks(capsys):
    rng = np.random.default_rng(3)
    weights = [rng.uniform(-0.5, 0.5, size=s).astype(np.float32) for s in ((5, 4), (5,), (3, 5), (3,))]
    xa = rng.standard_normal((6, 4)).astype(np.float32)

    def run(lib):
        net = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(), lib.nn.Linear(5, 3))
        with lib.no_grad():
            for p, w in zip(net.parameters(), weights):
                p.copy_(lib.tensor(w))
        order, seen = [], {}
        for name, p in net.named_parameters():
            def post(t, name=name):
                order.append(name)
                seen[name] = npy(t.grad)
            p.register_post_accumulate_grad_hook(post)
        loss = (net(lib.tensor(xa)) ** 2).mean()
        loss.backward()
        return order, seen, {n: npy(p.grad) for n, p in net.named_parameters()}
    (oorder, oseen, ograds), (torder, tseen, tgrads) = both(run)
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sorted(torder) == sorted(names)
    assert sorted(oorder) == sorted(names), f"each parameter's hook once: {oorder}"
    for n in names:
        close(oseen[n], tseen[n], f"{n}.grad seen by its post hook")
        close(ograds[n], tgrads[n], f"{n}.grad")
    with capsys.disabled():  # reported, not asserted: the order the post hooks fired in
        print(f"\n[post-accumulate hook order] torch: {torder}; minigrad: {oorder}; "
              f"{'same' if oorder == torder else 'DIFFERENT'}")
