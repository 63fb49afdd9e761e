"""The tape: recording ops as nodes, and running them backward.

A `Function` is one op: `forward` and `backward` work on arrays (NumPy or CuPy, through `self.xp`).
`Function.apply` runs `forward` and, when grad mode is on and some input requires grad, keeps the
function object itself as the output's `grad_fn`: a node holding what `forward` saved, the edges to its
inputs (the inputs' own nodes, or the leaf tensors that accumulate gradients), and a sequence number.
Inputs are always recorded before their consumers, so visiting nodes in decreasing sequence number
(reverse tape order) delivers every gradient to a node before the node runs. The graph is reachable
only from the output tensors, so it is freed when they die.
"""
import itertools
import sys
import weakref
from heapq import heappop, heappush

import numpy as np


Tensor = None  # the Tensor class: registered by minigrad.tensor, which sits above this layer

_grad_enabled = True
_sequence = itertools.count()
_FREED = "freed"
_patterns = {}  # each needs_input_grad tuple made so far, shared by the nodes that have it


def is_grad_enabled():
    return _grad_enabled


class _GradMode:
    """Base of no_grad / enable_grad: a context manager that is also a decorator."""
    mode = True

    def __enter__(self):
        global _grad_enabled
        self._previous, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, func):
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = func.__name__, func.__doc__, func
        return wrapper


class no_grad(_GradMode):
    mode = False


class enable_grad(_GradMode):
    mode = True


class set_grad_enabled(_GradMode):
    """Sets grad mode on construction (so it works as a plain call) and restores it on exit."""

    def __init__(self, mode):
        global _grad_enabled
        self._previous, _grad_enabled = _grad_enabled, bool(mode)
        self.mode = bool(mode)

    def __enter__(self):
        pass


class Version:
    """How many times a storage was modified in place; shared by a tensor and its views."""
    value = 0  # a class attribute until the first change: making a Version runs no __init__


class Function:
    """One op. Subclasses write `forward(self, *args, **params) -> array` and
    `backward(self, grad) -> one gradient (or None) per positional argument`.

    In both, `self.xp` is the array module and `self.kernels` the kernel table of the inputs'
    device. Arrays that backward needs go through `save_for_backward`, so they can be freed and
    checked for in-place changes. Backward must not write into `grad`.
    """
    differentiable = True
    is_view = False  # True when forward may return a view of its first input's storage

    _saved = None
    _versions = ()  # (saved array, its tensor's version counter, version then) * k, once recorded
    hooks = None  # the output tensor's gradient hooks ({id: fn}), from register_hook or retain_grad
    retained = None  # a weak reference to the output tensor, after retain_grad()

    @classmethod
    def apply(cls, *args, **params):
        node = cls()
        backend, arrays, edges, needs, record = None, [], [], [], False
        for arg in args:
            if isinstance(arg, Tensor):
                arrays.append(arg._data)
                if backend is None:
                    backend = arg._backend
                elif arg._backend is not backend:
                    raise RuntimeError(f"expected all tensors on one device, got "
                                       f"{backend.device} and {arg._backend.device} ({cls.__name__})")
                if arg._requires_grad:
                    edges.append(arg.grad_fn or arg)
                    needs.append(True)
                    record = True
                    continue
            else:
                arrays.append(arg)
            edges.append(None)
            needs.append(False)
        node.backend, node.xp, node.kernels = backend, backend.xp, backend.kernels
        record = record and _grad_enabled and cls.differentiable
        needs = tuple(needs) if record else (False,) * len(args)
        node.needs_input_grad = _patterns.setdefault(needs, needs)  # one tuple per pattern, for the GC
        out = node.forward(*arrays, **params) if params else node.forward(*arrays)  # ** costs a copy
        if type(out) is not np.ndarray and isinstance(out, np.generic):  # tensors hold arrays
            out = np.asarray(out)
        result = Tensor.__new__(Tensor)  # Tensor._make, inline: every op's result is made here
        result._data, result._backend, result.grad, result._version, result._base = (
            out, node.backend, None, Version(), None)  # forward may change node.backend (to_device)
        if cls.is_view and backend.xp.may_share_memory(out, arrays[0]):
            base = args[0]._base
            result._version, result._base = args[0]._version, args[0] if base is None else base
        if record and out.dtype.kind == "f":  # integer and bool results never require grad
            node.inputs, node.seq = edges, next(_sequence)
            if node._saved is not None:
                node._record_versions(args, out, result)
            result._requires_grad, result.grad_fn = True, node
        else:
            result._requires_grad, result.grad_fn = False, None
        return result

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._saved is _FREED:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({self.name} has freed what it "
                "saved); specify retain_graph=True on the first backward call if you need to")
        return self._saved

    torch_name = None  # torch's name for the op where it differs from the class's (reshape: View)

    @property
    def name(self):
        """The node's name as torch prints it: the op, "Backward" and the overload's index."""
        return (self.torch_name or type(self).__name__) + "Backward0"

    def __repr__(self):
        return f"<{self.name}>"

    def _record_versions(self, args, out, result):
        """Note the version of each saved array's tensor, so backward can tell it was modified:
        (array, its tensor's version counter, version then, ...) in one flat tuple."""
        versions = ()
        for array in self._saved:
            if array is out:
                owner = result
            else:
                for owner in args:
                    if isinstance(owner, Tensor) and owner._data is array:
                        break
                else:
                    continue  # not an input's array (a cast copy, or a scalar)
            versions += (array, owner._version, owner._version.value)
        self._versions = versions

    def _keep_copy_of(self, array):
        """`array` is about to be overwritten in place by this very op: keep its old value."""
        if self._saved and self._saved is not _FREED:
            self._saved = tuple(a.copy() if a is array else a for a in self._saved)
            v = self._versions
            self._versions = sum((v[i:i + 3] for i in range(0, len(v), 3) if v[i] is not array),
                                 ())

    def _check_versions(self):
        versions = self._versions
        for i in range(0, len(versions), 3):
            array, version, value = versions[i:i + 3]
            if version.value != value:
                raise RuntimeError(
                    f"a tensor saved for backward was modified in place: {self.name} saved a "
                    f"tensor of shape {tuple(array.shape)} ({array.dtype}) at version {value}, "
                    f"and it is now at version {version.value}")

    def _backward(self, grad, retain_graph):
        if self._versions:
            self._check_versions()
        grads = self.backward(grad)
        if not retain_graph and self._saved is not None:
            self._saved, self._versions = _FREED, ()
        return grads if isinstance(grads, tuple) else (grads,)


# References to a gradient that only the tape holds, seen from _run_tape's loop: the tuple
# backward returned, zip's result tuple, the loop variable, and getrefcount's argument
_TAPE_ONLY_REFERENCES = 4


def _adoptable(grad, tensor):
    """Whether grad, which no one else references, can become tensor.grad as it is: an array of
    tensor's kind and dtype, C-contiguous and writeable (CuPy's always are), whose memory no other
    array shares (its base, a Numba allocation or the array it views, is held by it alone)."""
    return (type(grad) is type(tensor._data) and grad.dtype == tensor._data.dtype
            and grad.flags.c_contiguous and getattr(grad.flags, "writeable", True)
            and (grad.base is None or sys.getrefcount(grad.base) == 2))  # grad's and the argument


def _accumulate(tensor, grad, adopt=False):
    """Add grad into tensor.grad. A first gradient is copied, unless `adopt` says no one else
    holds it and _adoptable agrees (as torch's AccumulateGrad steals it): a copy of every weight's
    gradient in every step saved."""
    if grad.shape != tensor._data.shape:
        raise RuntimeError(f"internal error: gradient of shape {tuple(grad.shape)} for a tensor of "
                           f"shape {tuple(tensor.shape)}")
    if tensor.grad is None:
        if not (adopt and _adoptable(grad, tensor)):
            grad = tensor._backend.xp.array(grad, dtype=tensor._data.dtype)
        tensor.grad = Tensor._make(grad, tensor._backend)
    else:
        tensor.grad._data += grad


class RemovableHandle:
    """What register_hook returns: `remove()` takes the hook out again."""
    _ids = itertools.count()  # one per registration: the same function may be registered twice

    def __init__(self, hooks, hook):
        self._hooks, self.id = hooks, next(self._ids)
        hooks[self.id] = hook

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class LeafHooks:
    """A leaf's hooks: `pre` see its whole gradient of one backward (and may replace it) before it is
    accumulated into `.grad`; `post` see the tensor after."""

    def __init__(self):
        self.pre, self.post = {}, {}


def register_hook(tensor, hook):
    if not tensor._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is None:
        return RemovableHandle(leaf_hooks(tensor).pre, hook)
    node = tensor.grad_fn
    if node.hooks is None:
        node.hooks = {}
    return RemovableHandle(node.hooks, hook)


def register_post_accumulate_grad_hook(tensor, hook):
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not tensor._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    return RemovableHandle(leaf_hooks(tensor).post, hook)


_leaf_hooks_registered = False  # until a leaf's first hook, backward does not look for them


def leaf_hooks(tensor):
    global _leaf_hooks_registered
    hooks = getattr(tensor, "_hooks", None)  # unset until the first hook: ops pay nothing for it
    if hooks is None:
        hooks = tensor._hooks = LeafHooks()
        _leaf_hooks_registered = True
    return hooks


def _run_hooks(hooks, grad, backend):
    for hook in tuple(hooks.values()):  # a hook may remove itself
        result = hook(None if grad is None else Tensor._make(grad, backend))
        if result is not None:
            if not isinstance(result, Tensor) or grad is None or result.shape != grad.shape:
                raise RuntimeError(f"hook {_name(hook)} returned {_describe(result)}; a gradient "
                                   f"hook must return None or a tensor of shape "
                                   f"{None if grad is None else tuple(grad.shape)}")
            if result._data.dtype != grad.dtype:
                raise RuntimeError(f"hook {_name(hook)} has changed the type of value (was "
                                   f"{grad.dtype} got {result._data.dtype})")
            grad = result._data
    return grad


def _name(hook):
    return repr(getattr(hook, "__name__", type(hook).__name__))


def _describe(value):
    return f"a tensor of shape {tuple(value.shape)}" if isinstance(value, Tensor) else repr(value)


def _deliver_to_leaf(tensor, grad):
    """Accumulate a leaf's whole gradient of this backward (None: every use gave none), with its
    hooks around."""
    hooks = getattr(tensor, "_hooks", None)
    if hooks is not None and hooks.pre:
        grad = _run_hooks(hooks.pre, grad, tensor._backend)
    if grad is not None:
        _accumulate(tensor, grad)
    if hooks is not None:
        for hook in tuple(hooks.post.values()):
            hook(tensor)


_callbacks = None  # the running backward's queue_callback list


def queue_callback(callback):
    """Run `callback()` once the running backward has delivered every gradient (torch's
    `Variable._execution_engine.queue_callback`)."""
    if _callbacks is None:
        raise RuntimeError("queue_callback can only be called during the backward pass")
    _callbacks.append(callback)


def backward(tensor, gradient=None, retain_graph=False):
    """Run the tape backward from `tensor`, accumulating into the `.grad` of leaves."""
    if not tensor._requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs "
                               f"(got a tensor of shape {tuple(tensor.shape)}); pass gradient=")
        grad = tensor._backend.xp.ones_like(tensor._data)
    else:
        grad = gradient._data if isinstance(gradient, Tensor) else tensor._backend.xp.asarray(gradient)
        if grad.shape != tensor._data.shape:
            raise RuntimeError(f"gradient has shape {tuple(grad.shape)} but the tensor has shape "
                               f"{tuple(tensor.shape)}")
    global _callbacks, _grad_enabled
    outer, _callbacks = _callbacks, []
    grad_mode, _grad_enabled = _grad_enabled, False  # hooks and callbacks run as torch's: no grad
    try:
        if tensor.grad_fn is None:
            _deliver_to_leaf(tensor, grad)
        else:
            # gradients of inf or nan come out as torch's do, without NumPy's warnings
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                _run_tape(tensor.grad_fn, grad, retain_graph)
        for callback in _callbacks:  # a callback may queue another
            callback()
    finally:
        _callbacks, _grad_enabled = outer, grad_mode


def _run_tape(root, grad, retain_graph):
    pending = {root: grad}  # node -> the sum of the gradients delivered to it so far
    heap = [(-root.seq, root)]
    hooked = None  # leaf with hooks -> [edges still to deliver, gradient so far], once one is met
    while heap:
        node = heappop(heap)[1]
        grad = pending.pop(node)
        if node.hooks is not None:
            grad = _tensor_hooks(node, grad)
        for edge, input_grad in zip(node.inputs, node._backward(grad, retain_graph)):
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                if not _leaf_hooks_registered or getattr(edge, "_hooks", None) is None:
                    if input_grad is not None:
                        adopt = sys.getrefcount(input_grad) <= _TAPE_ONLY_REFERENCES
                        _accumulate(edge, input_grad, adopt)
                    continue
                if hooked is None:
                    hooked = _hooked_leaf_uses(root)
                waiting = hooked.get(edge)
                if waiting is None:  # its first hook came from a hook of this very backward
                    _deliver_to_leaf(edge, input_grad)
                    continue
                waiting[0] -= 1
                if input_grad is not None:
                    waiting[1] = input_grad if waiting[1] is None else waiting[1] + input_grad
                if waiting[0] == 0:
                    _deliver_to_leaf(edge, waiting[1])
                continue
            if input_grad is None:
                continue
            earlier = pending.get(edge)
            if earlier is None:
                pending[edge] = input_grad
                heappush(heap, (-edge.seq, edge))
            else:
                pending[edge] = earlier + input_grad
    for leaf, (uses_left, leaf_grad) in (hooked or {}).items():
        if uses_left:  # a node of the graph never ran (it gave its inputs no gradient)
            _deliver_to_leaf(leaf, leaf_grad)


def _tensor_hooks(node, grad):
    """A non-leaf's hooks on its whole gradient, then retain_grad's copy (last, as in torch)."""
    grad = _run_hooks(node.hooks, grad, node.backend)
    retained = node.retained and node.retained()
    if retained is not None:
        _accumulate(retained, grad)
    return grad


def _hooked_leaf_uses(root):
    """How many edges of the graph below `root` reach each leaf that has hooks: a leaf's hooks run
    once, on its whole gradient, after the last of them delivers."""
    uses, seen, stack = {}, {root}, [root]
    while stack:
        for edge in stack.pop().inputs:
            if isinstance(edge, Tensor):
                if getattr(edge, "_hooks", None) is not None:
                    uses.setdefault(edge, [0, None])[0] += 1
            elif edge is not None and edge not in seen:
                seen.add(edge)
                stack.append(edge)
    return uses


def retain_grad(tensor):
    node = tensor.grad_fn
    node.retained = weakref.ref(tensor)
    if node.hooks is None:
        node.hooks = {}


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Compare the gradients of `fn` with central finite differences, in float64.

    The output is reduced with a fixed random weighting, so every output element is checked.
    Returns True, or raises GradcheckError naming the input and the largest difference.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in checked:
        if inputs[i].dtype.np != np.float64:
            raise GradcheckError(f"gradcheck needs float64 inputs; input {i} is {inputs[i].dtype}")
    out = fn(*inputs)
    weights = np.random.default_rng(0).standard_normal(out.shape)
    weights = out._backend.xp.asarray(weights)
    for i in checked:
        inputs[i].grad = None
    (out * Tensor._make(weights, out._backend)).sum().backward()
    for i in checked:
        x = inputs[i]
        analytic = np.zeros(x.shape) if x.grad is None else _device_to_numpy(x.grad._data)
        numeric = np.zeros(x.shape)
        flat = x._data.reshape(-1)  # a view: perturbing it perturbs x
        with no_grad():
            for j in range(flat.size):
                original = flat[j].item()
                flat[j] = original + eps
                plus = float((fn(*inputs)._data * weights).sum())
                flat[j] = original - eps
                minus = float((fn(*inputs)._data * weights).sum())
                flat[j] = original
                numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        difference = np.abs(analytic - numeric)
        if not np.all(difference <= atol + rtol * np.abs(numeric)):
            worst = np.unravel_index(np.argmax(difference - rtol * np.abs(numeric)), x.shape)
            raise GradcheckError(
                f"gradient of input {i} (shape {tuple(x.shape)}) disagrees with finite differences: "
                f"at index {tuple(int(k) for k in worst)} analytic {analytic[worst]:.8g}, numeric "
                f"{numeric[worst]:.8g} (largest difference {difference.max():.3g})")
    return True


def _device_to_numpy(array):
    return array if isinstance(array, np.ndarray) else array.get()
