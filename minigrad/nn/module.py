"""Module, Parameter and the containers, with PyTorch's registration rules and state_dict layout."""
from collections import OrderedDict, namedtuple

import numpy as np

from ..device import Device, backend, host_array, move
from .. import dtypes
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as a learnable parameter (requires grad by default)."""

    def __init__(self, data=None, requires_grad=True):
        data = Tensor._make(np.zeros(0, np.float32), backend("cpu")) if data is None else data
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter expects a Tensor, got {type(data).__name__}")
        self._init(data._data, data._backend)  # shares storage, as torch's Parameter does
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers and models: subclasses set submodules and Parameters as attributes
    in __init__ and write forward()."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----- registration -----------------------------------------------------------------------
    def _registries(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign to {type(self).__name__} before Module.__init__() "
                                 "call: call super().__init__() first in __init__")
        return self._parameters, self._buffers, self._modules

    def __setattr__(self, name, value):
        parameters, buffers, modules = self._registries()
        if isinstance(value, Parameter):
            for other in (self.__dict__, buffers, modules):
                other.pop(name, None)
            parameters[name] = value
        elif isinstance(value, Module):
            for other in (self.__dict__, parameters, buffers):
                other.pop(name, None)
            modules[name] = value
        elif name in parameters or name in modules:
            if value is not None:
                kind = "parameter" if name in parameters else "child module"
                raise TypeError(f"cannot assign {type(value).__name__} as {kind} '{name}' "
                                f"(a {'Parameter' if kind == 'parameter' else 'Module'} or None is "
                                "expected)")
            (parameters if name in parameters else modules)[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' "
                                "(a Tensor or None is expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(registry)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        self._registries()
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter '{name}'")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        self._registries()
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} as buffer '{name}'")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._registries()[2][name] = module

    register_module = add_module

    # ----- calling ----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _fused_with(self, following):
        """(op, count): an op computing the first `count` of the modules `following` applied to
        self(x), gradients included, in one (a Sequential runs it in place of them all), or
        None."""
        return None

    # ----- traversal --------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix=""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        return (module for _, module in self.named_children())

    def _named_members(self, registry, prefix, recurse):
        seen = set()
        owners = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for owner_name, owner in owners:
            for name, member in getattr(owner, registry).items():
                if member is None or id(member) in seen:
                    continue
                seen.add(id(member))
                yield (f"{owner_name}.{name}" if owner_name else name), member

    def named_parameters(self, prefix="", recurse=True):
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def apply(self, fn):
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----- modes and gradients ----------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    # ----- state ------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, in PyTorch's order and naming."""
        destination = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (tensors or NumPy arrays) into the parameters and buffers, in place."""
        # parameter.py builds on Parameter, defined here
        from .parameter import is_lazy, uninitialized_shape_error
        for name, module in self.named_modules():
            if hasattr(type(module), "_lazy_load_hook"):  # lazy ones take the loaded shapes first
                module._lazy_load_hook(state_dict, name + "." if name else "")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if is_lazy(value):
                if is_lazy(target):
                    continue  # two uninitialized ones: nothing to copy, as in torch
                raise uninitialized_shape_error()
            array = value.detach().cpu().numpy() if isinstance(value, Tensor) else host_array(value)
            if tuple(array.shape) != tuple(target.shape):
                problems.append(f"size mismatch for {key}: copying a param with shape "
                                f"{tuple(array.shape)} from checkpoint, the shape in current model "
                                f"is {tuple(target.shape)}")
                continue
            target._data[...] = target._backend.xp.asarray(array.astype(target._data.dtype))
            target._version.value += 1
        if strict and (missing or unexpected):
            if missing:
                problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(map(repr, missing)))
            if unexpected:
                problems.insert(0, "Unexpected key(s) in state_dict: "
                                + ", ".join(map(repr, unexpected)))
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        return IncompatibleKeys(missing, unexpected)

    # ----- devices and dtypes -----------------------------------------------------------------
    def _convert(self, convert):
        """Replace every parameter's and buffer's storage (and grads) in place, keeping identity so
        optimizers built before `.to()` still hold the same Parameters."""
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for tensor in registry.values():
                    if tensor is None:
                        continue
                    for t in (tensor, tensor.grad):
                        if t is not None:  # the slot: an uninitialized one's placeholder moves too
                            t._data, t._backend = convert(Tensor._data.__get__(t), t._backend)
        return self

    def to(self, *args, **kwargs):
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, (str, Device)):
                device = arg
            else:
                dtype = arg
        target = None if device is None else backend(device)
        dtype = None if dtype is None else dtypes.to_dtype(dtype)

        def convert(array, backend):
            if target is not None:
                array, backend = move(array, target), target
            if dtype is not None and array.dtype.kind == "f":  # like torch: floats only
                array = array.astype(dtype.np)
            return array, backend
        return self._convert(convert)

    def cuda(self, device=None):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    # ----- printing ---------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(module).replace("\n", "\n  ")
                 for name, module in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: an ordered list of modules, indexable and iterable."""

    def _slice(self, index):
        raise NotImplementedError

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._slice(index)
        return list(self._modules.values())[_checked_index(index, len(self))]

    def __setitem__(self, index, module):
        self.add_module(list(self._modules)[_checked_index(index, len(self))], module)

    def __delitem__(self, index):
        names = list(self._modules)
        doomed = names[index] if isinstance(index, slice) else [names[_checked_index(index, len(self))]]
        for name in doomed:
            del self._modules[name]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self


class Sequential(_ModuleSequence):
    """Modules applied in order; indexable (ints and slices), iterable, appendable."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def _slice(self, index):
        return Sequential(OrderedDict(list(self._modules.items())[index]))

    def forward(self, input):
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            fused = modules[i]._fused_with(modules[i + 1:])
            if fused is not None:
                op, count = fused
                input = op(input)
                i += 1 + count
            else:
                input = modules[i](input)
                i += 1
        return input


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters the owner registers."""

    def __init__(self, modules=None):
        super().__init__()
        self.extend(modules or [])

    def _slice(self, index):
        return ModuleList(list(self._modules.values())[index])

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)


def _checked_index(index, length):
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a container of {length} modules")
    return index % length


class Identity(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
