"""The tape: accumulation, graph shapes, retain_graph, non-scalar backward, leaves, grad mode, memory."""
import gc
import subprocess
import sys
import tracemalloc
import warnings
import weakref

import numpy as np
import pytest

from helpers import SELFTEST, check, gradcheck_op, mg


def test_diamond_and_shared_subexpressions():
    def fn(t, x):
        h = x * 2.0
        a = h.sin()
        b = h.cos()
        c = a * b + h
        return c * x + h.exp() * a
    check(fn, (3, 4))
    gradcheck_op(fn, (3, 4))


def test_x_used_many_times():
    x = mg.tensor([1.5, -0.5], requires_grad=True)
    y = x
    for _ in range(20):
        y = y + x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [21.0, 21.0])
    check(lambda t, a: a * a * a + a * a + a, (5,))


def test_gradient_values_simple():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 2).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    assert x.grad.dtype == mg.float32 and x.grad.shape == (3,)
    assert x.grad.requires_grad is False


def test_deep_chain_no_recursion_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for i in range(10000):
        y = y * 1.0001 if i % 2 else y + 0.0001
    y.sum().backward()
    expected = 1.0001 ** 5000
    np.testing.assert_allclose(x.grad.numpy(), [expected, expected], rtol=1e-3)
    del y  # dropping a 10,000-node graph must not blow the stack either


def test_deep_chain_under_low_recursion_limit():
    code = (
        "import sys\n"
        "import {m} as mg\n"
        "x = mg.ones(3, requires_grad=True)\n"
        "sys.setrecursionlimit(200)\n"
        "y = x\n"
        "for _ in range(3000):\n"
        "    y = (y * 1.0).tanh() + y\n"
        "y.sum().backward()\n"
        "del y\n"
        "print('ok')\n"
    ).format(m="torch" if SELFTEST else "minigrad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]


def test_retain_graph_accumulates():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_separate_graphs_accumulate_into_leaf():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x.exp()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 + np.exp([1.0, 2.0]), rtol=1e-6)


def test_backward_with_gradient_on_non_scalar():
    check(lambda t, a: a.exp() * 2, (2, 3))  # check() uses backward(gradient=...)
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.backward(gradient=mg.tensor([1.0, 0.1, 0.01]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.2, 0.02], rtol=1e-6)
    x.grad = None
    (x * x).backward(mg.tensor([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_backward_on_single_element_non_0d():
    x = mg.tensor([2.0], requires_grad=True)
    (x * 3).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0])
    z = mg.tensor([[1.0, 2.0]], requires_grad=True)
    z.sum(dim=1, keepdim=True).backward()
    np.testing.assert_allclose(z.grad.numpy(), [[1.0, 1.0]])


def test_backward_on_leaf_itself():
    x = mg.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_retain_grad_on_non_leaf():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    k = x * 4  # no retain_grad
    y = (h * h + k).sum()
    y.backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [22.0, 40.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert k.grad is None
        assert y.grad is None


def test_is_leaf_grad_fn_requires_grad_propagation():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0])
    assert a.is_leaf and b.is_leaf
    assert a.grad_fn is None and b.grad_fn is None
    c = a * b
    assert c.requires_grad and not c.is_leaf and c.grad_fn is not None
    d = b * 2
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    e = d + c
    assert e.requires_grad and e.grad_fn is not None
    f = b.exp().sum()
    assert not f.requires_grad and f.grad_fn is None


def test_detach():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])
    z = (y * d).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])  # d is a constant


def test_detach_shares_data_like_torch():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    d[0] = 10.0
    assert x[0].item() == 10.0


# ------------------------------------------------------------------------------------------------
# grad mode
# ------------------------------------------------------------------------------------------------

def test_no_grad_context_records_nothing():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2 + x.exp()
        z = y.sum()
        w = x.t() * 1.0
    assert mg.is_grad_enabled()
    for t in (y, z, w):
        assert t.grad_fn is None and not t.requires_grad
    assert x.requires_grad


def test_no_grad_decorator():
    @mg.no_grad()
    def f(x):
        assert not mg.is_grad_enabled()
        return x * 3

    x = mg.ones(2, requires_grad=True)
    y = f(x)
    assert y.grad_fn is None and not y.requires_grad
    assert mg.is_grad_enabled()


def test_no_grad_restored_after_exception():
    with pytest.raises(ValueError):
        with mg.no_grad():
            raise ValueError("boom")
    assert mg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            y = x * 2
        z = x * 2
        assert not mg.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_enable_grad_decorator():
    @mg.enable_grad()
    def f(x):
        return x * 2

    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        y = f(x)
    assert y.requires_grad


def test_set_grad_enabled():
    x = mg.ones(2, requires_grad=True)
    mg.set_grad_enabled(False)
    try:
        assert not mg.is_grad_enabled()
        y = x * 2
        assert not y.requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled()
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert mg.is_grad_enabled()
    with mg.no_grad():
        with mg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not mg.is_grad_enabled()


def test_no_grad_creation_ops_keep_requires_grad_flag():
    with mg.no_grad():
        w = mg.randn(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf


# ------------------------------------------------------------------------------------------------
# memory
# ------------------------------------------------------------------------------------------------

def _graph(x):
    h = x * 2.0
    y = h.exp() * h.sin()
    return h, y, y.sum()


def test_graph_freed_after_gc_collect():
    x = mg.randn(1000, requires_grad=True)
    h, y, z = _graph(x)
    refs = [weakref.ref(h), weakref.ref(y), weakref.ref(z)]
    try:
        refs.append(weakref.ref(z.grad_fn))
    except TypeError:
        assert SELFTEST, "grad_fn objects should support weak references"
    del h, y, z
    gc.collect()
    assert all(r() is None for r in refs)


def test_graph_freed_without_gc():
    """No reference cycles: the graph dies as soon as the last output dies."""
    x = mg.randn(1000, requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        h, y, z = _graph(x)
        refs = [weakref.ref(h), weakref.ref(y), weakref.ref(z)]
        try:
            refs.append(weakref.ref(z.grad_fn))
        except TypeError:
            assert SELFTEST
        del h, y, z
        assert all(r() is None for r in refs)
        # also after a backward that freed the saved arrays
        h, y, z = _graph(x)
        z.backward()
        refs = [weakref.ref(h), weakref.ref(y), weakref.ref(z)]
        del h, y, z
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_memory_does_not_grow_over_iterations():
    if SELFTEST:
        pytest.skip("torch allocations are not visible to tracemalloc")
    x = mg.randn(256, 256, requires_grad=True)  # 256 KiB per intermediate
    _, _, z = _graph(x)
    z.backward()
    del z
    x.grad = None
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(30):
            _, _, z = _graph(x)
            if i % 2:
                z.backward()
            del z
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # x.grad (256 KiB) stays; 30 leaked graphs would be > 20 MiB
    assert grown < 3 * 2 ** 20, f"{grown / 2 ** 20:.1f} MiB retained after 30 graphs"


def test_backward_frees_saved_arrays_without_retain_graph():
    # after backward the graph no longer holds the big intermediates even while the output lives
    if SELFTEST:
        pytest.skip("torch allocations are not visible to tracemalloc")
    x = mg.randn(512, 512, requires_grad=True)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        z = (x.exp() * 2.0).sin().sum()
        held = tracemalloc.get_traced_memory()[0] - base
        z.backward()
        x.grad = None
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held > 2 ** 20  # the graph did hold > 1 MiB of saved arrays (sanity)
    assert after < 2 ** 20 // 2, f"{after / 2 ** 20:.2f} MiB still held by a graph after backward"


# ------------------------------------------------------------------------------------------------
# a leaf's first gradient: adopted when only the tape holds it, copied when anything else may
# ------------------------------------------------------------------------------------------------

def gradient_op(make_grads):
    """f(a, b) = a + b whose backward returns make_grads(self, grad) and records (weakly) the
    arrays it returned, so that holding them keeps no reference."""
    returned = []

    class Op(mg.autograd.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad):
            grads = make_grads(self, grad)
            returned.extend(weakref.ref(g) for g in grads if g is not None)
            return grads
    return Op.apply, returned


def leaves(rng, n):
    return [mg.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
            for _ in range(2)]


def test_fresh_gradients_become_grad_without_a_copy():
    rng = np.random.default_rng(0)
    n = int(rng.integers(2, 50))
    for make in (lambda self, g: (g * 2, g * 3),  # NumPy's own arrays
                 lambda self, g: tuple(np.stack([g * 2, g * 3])[::1].copy()[i] * 1 for i in (0, 1)),
                 lambda self, g: ((g * 2).reshape(1, -1).reshape(-1), (g * 3)[::1])):  # views
        op, returned = gradient_op(make)
        a, b = leaves(rng, n)
        upstream = rng.standard_normal(n).astype(np.float32)
        op(a, b).backward(mg.tensor(upstream))
        assert a.grad._data is returned[0]() and b.grad._data is returned[1]()
        np.testing.assert_allclose(a.grad.numpy(), 2 * upstream, rtol=1e-6)
        np.testing.assert_allclose(b.grad.numpy(), 3 * upstream, rtol=1e-6)


def test_gradients_held_elsewhere_are_copied():
    rng = np.random.default_rng(1)
    n = int(rng.integers(2, 50))
    kept = []

    def keep(self, g):
        self.kept = g * 2
        kept.append(self.kept)
        return self.kept, None

    def shared_base(self, g):
        both = np.stack([g * 2, g * 3])
        return both[0], both[1]

    cases = {"kept by the op": keep,
             "one array for both": lambda self, g: (g * 2,) * 2,
             "views of one array": shared_base,
             "the incoming gradient itself": lambda self, g: (g, None)}
    for name, make in cases.items():
        op, returned = gradient_op(make)
        a, b = leaves(rng, n)
        upstream = rng.standard_normal(n).astype(np.float32)
        y = op(a, b)
        y.backward(mg.tensor(upstream), retain_graph=True)
        given = [r() for r in returned]
        first = [None if t.grad is None else t.grad.numpy().copy() for t in (a, b)]
        snapshot = [g.copy() for g in given if g is not None]
        y.backward(mg.tensor(upstream))  # accumulates into .grad in place
        for g, before in zip(given, snapshot):
            np.testing.assert_array_equal(g, before, err_msg=f"{name}: a later += wrote into it")
        for t, value in zip((a, b), first):
            if value is not None:
                np.testing.assert_allclose(t.grad.numpy(), 2 * value, rtol=1e-6, err_msg=name)
        assert a.grad._data is not b.grad._data if b.grad is not None else True


def test_adopted_gradients_train_as_before():
    """A model's weights adopt their gradients (no copy) and two steps still match torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 3, 9, 9)).astype(np.float32)
    nets = []
    for lib in (mg, torch):
        lib.manual_seed(0)
        nets.append(lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.ReLU(), lib.nn.Flatten(),
                                      lib.nn.Linear(4 * 7 * 7, 5)))
    nets[0].load_state_dict({k: v.detach().numpy() for k, v in nets[1].state_dict().items()})
    for net, lib in zip(nets, (mg, torch)):
        optimizer = lib.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            optimizer.zero_grad()
            (net(lib.tensor(x)) ** 2).mean().backward()
            optimizer.step()
    for (name, p), q in zip(nets[0].named_parameters(), nets[1].parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
