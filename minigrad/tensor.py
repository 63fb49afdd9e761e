"""The Tensor: an array on a device, plus what autograd needs (requires_grad, grad, grad_fn, version)."""

import numpy as np

from . import autograd, dtypes, ops
from .device import Device, backend, move
from .autograd import Version
from .ops import elementwise
from .ops.registry import METHOD, as_method, registered


class memory_format:
    """torch's memory formats. minigrad keeps every tensor in one layout, so a format changes no
    value: `to(memory_format=...)` and the casts accept them as PyTorch code passes them."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name


preserve_format, contiguous_format = memory_format("preserve_format"), memory_format("contiguous_format")
channels_last, channels_last_3d = memory_format("channels_last"), memory_format("channels_last_3d")


def _check_memory_format(value):
    if not isinstance(value, memory_format):
        raise TypeError(f"memory_format must be a minigrad memory format (minigrad.channels_last, "
                        f"...), got {value!r}")


class Size(tuple):
    """A tensor's shape: a tuple that prints as torch.Size does."""

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def numel(self):
        return int(np.prod(self, dtype=np.int64))


class Tensor:
    __slots__ = ("_data", "_backend", "_requires_grad", "grad", "grad_fn", "_version", "_base",
                 "_hooks", "__weakref__")  # _hooks: unset until a leaf gets its first hook
    __array_ufunc__ = None  # `ndarray * tensor` must reach Tensor.__rmul__, not NumPy's loop

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        from .creation import tensor as make_tensor  # torch.Tensor(data) builds like torch.tensor
        built = make_tensor(data, dtype=dtype or dtypes.float32, device=device)
        self._init(built._data, built._backend)
        self.requires_grad = requires_grad

    def _init(self, data, backend):
        self._data, self._backend = data, backend
        self._requires_grad, self.grad, self.grad_fn = False, None, None
        self._version, self._base = Version(), None

    @classmethod
    def _make(cls, data, backend):
        """Wrap an array (no copy) as a tensor that does not require grad."""
        tensor = cls.__new__(cls)  # _init's work, inline: every op's result is made here
        tensor._data, tensor._backend, tensor._requires_grad, tensor.grad, tensor.grad_fn = (
            data, backend, False, None, None)
        tensor._version, tensor._base = Version(), None
        return tensor

    # ----- properties -------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self._data.shape[ops.normalize_dim(dim, self.ndim)]

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self):
        return dtypes.from_numpy_dtype(self._data.dtype)

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    @property
    def device(self):
        return self._backend.device

    @property
    def is_cuda(self):
        return self._backend.device.type == "cuda"

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and self._data.dtype.kind != "f":
            raise RuntimeError(f"Only Tensors of floating point dtype can require gradients "
                               f"(this tensor is {self.dtype})")
        if not flag and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use "
                               "detach() to get a tensor that does not require grad")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def data(self):
        """The same storage, detached, with a version counter of its own: changes made through
        `.data` are invisible to autograd, as in PyTorch."""
        return Tensor._make(self._data, self._backend)

    @data.setter
    def data(self, other):
        self._data = other._data if isinstance(other, Tensor) else self._backend.xp.asarray(other)

    @property
    def T(self):
        return ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    # ----- conversion -------------------------------------------------------------------------
    def numpy(self):
        """The NumPy array of a CPU tensor (sharing its memory); a GPU tensor's values copied to
        the host."""
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return move(self._data, backend("cpu"))

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export the storage through DLPack (zero-copy): np.from_dlpack, cupy.from_dlpack and
        torch.from_dlpack see the same memory. Only the arguments the consumer gave are passed on,
        so consumers and producers of older DLPack versions still meet."""
        if self._requires_grad:
            raise RuntimeError("Can't export a tensor that requires grad through DLPack; use "
                               "tensor.detach()")
        given = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
        return self._data.__dlpack__(**{k: v for k, v in given.items() if v is not None})

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an index "
                            f"(got {self.dtype}, shape {tuple(self.shape)})")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self.item())

    def __format__(self, spec):
        """f"{loss:.3f}" formats a one-element tensor as its number, as in torch."""
        if self._data.size == 1 and spec:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__

    def to(self, *args, **kwargs):
        """`to(device)`, `to(dtype)`, `to(device, dtype)` or `to(other_tensor)`, each optionally
        followed by `non_blocking` and `copy` (a new tensor even when nothing changes)."""
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        flags = [kwargs.pop("non_blocking", False), kwargs.pop("copy", False)]
        _check_memory_format(kwargs.pop("memory_format", preserve_format))
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        positional_flags = [arg for arg in args if isinstance(arg, bool)]
        if len(positional_flags) > 2:
            raise TypeError(f"to() takes at most two bools (non_blocking, copy), got {args!r}")
        flags[:len(positional_flags)] = positional_flags
        for arg in args:
            if isinstance(arg, bool):
                continue
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, Device)):
                device = arg
            else:
                dtype = arg
        result = self if device is None else ops.to_device(self, Device(device))
        result = result if dtype is None else ops.cast(result, dtypes.to_dtype(dtype))
        return ops.clone(result) if flags[1] and result is self else result

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int)
                       else device)

    def type(self, dtype=None, non_blocking=False):
        """Without `dtype`, torch's type name ('torch.FloatTensor'); else this tensor cast to `dtype`
        (a dtype or such a name), itself when it already has it."""
        if dtype is None:
            prefix = "torch.cuda." if self.is_cuda else "torch."
            return prefix + _TENSOR_TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            by_type_name = {name: dtype_name for dtype_name, name in _TENSOR_TYPE_NAMES.items()}
            name = dtype.rpartition(".")[2]
            if name not in by_type_name:
                raise TypeError(f"invalid type: {dtype!r}")
            result = self.to("cuda" if ".cuda." in dtype else "cpu")
            dtype = by_type_name[name]
            return ops.cast(result, dtypes.to_dtype(dtype))
        return ops.cast(self, dtypes.to_dtype(dtype))

    def type_as(self, other):
        return ops.cast(self, other.dtype)

    def float(self, memory_format=preserve_format):
        _check_memory_format(memory_format)
        return ops.cast(self, dtypes.float32)

    def double(self, memory_format=preserve_format):
        _check_memory_format(memory_format)
        return ops.cast(self, dtypes.float64)

    def half(self, memory_format=preserve_format):
        _check_memory_format(memory_format)
        return ops.cast(self, dtypes.float16)

    def long(self, memory_format=preserve_format):
        _check_memory_format(memory_format)
        return ops.cast(self, dtypes.int64)

    def int(self, memory_format=preserve_format):
        _check_memory_format(memory_format)
        return ops.cast(self, dtypes.int32)

    def bool(self, memory_format=preserve_format):
        _check_memory_format(memory_format)
        return ops.cast(self, dtypes.bool_)

    # ----- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=False):
        autograd.backward(self, gradient, retain_graph)

    def detach(self):
        """The same storage and version counter, cut from the graph."""
        detached = Tensor._make(self._data, self._backend)
        detached._version = self._version
        return detached

    def register_hook(self, hook):
        """`hook(grad)` runs on this tensor's whole gradient in each backward and may return a
        replacement; returns a handle whose `remove()` takes it out."""
        return autograd.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """`hook(tensor)` runs on a leaf after its gradient was accumulated into `.grad`."""
        return autograd.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self):
        if self.grad_fn is not None:
            autograd.retain_grad(self)

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn.retained is not None and (
            self.grad_fn.retained() is self)

    # ----- in-place ops -----------------------------------------------------------------------
    def _check_inplace(self, records):
        if any(stride == 0 and size > 1 for stride, size in zip(self._data.strides, self._data.shape)):
            # an expand() view: NumPy's are read-only, CuPy's would write one element many times
            raise RuntimeError(f"unsupported operation: more than one element of the written-to "
                               f"tensor (shape {tuple(self.shape)}, an expand() result) refers to a "
                               f"single memory location; clone() the tensor first")
        if records and self.grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               f"operation (shape {tuple(self.shape)}); use `with minigrad.no_grad():` "
                               "or `.data` to update it")
        if records and self._base is not None:
            raise RuntimeError(
                f"in-place operation with gradients on a view (shape {tuple(self.shape)}) of another "
                "tensor is not supported; assign through the base tensor instead, e.g. x[i, j] = v")

    def _inplace(self, op, *args, **kwargs):
        """Run `op` out of place, write the result into this tensor's storage, take its history."""
        records = autograd.is_grad_enabled() and (
            self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args))
        self._check_inplace(records)
        out = op(self, *args, **kwargs)
        if out._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {tuple(self.shape)} doesn't match the broadcast "
                               f"shape {tuple(out.shape)}")
        if dtypes.from_numpy_dtype(out._data.dtype).category > self.dtype.category:
            raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output type "
                               f"{self.dtype}")
        if out.grad_fn is not None:
            out.grad_fn._keep_copy_of(self._data)
        self._data[...] = out._data
        self._version.value += 1
        if out.grad_fn is not None:
            self._take_history(out.grad_fn)
        return self

    def _take_history(self, node):
        """After an in-place op this tensor is `node`'s output: a retained gradient moves along."""
        retains = self.retains_grad
        if retains:
            self.grad_fn.retained = None
        self._requires_grad, self.grad_fn = True, node
        if retains:
            autograd.retain_grad(self)

    def __setitem__(self, index, value):
        records = autograd.is_grad_enabled() and (
            self._requires_grad or (isinstance(value, Tensor) and value._requires_grad))
        self._check_inplace(records)
        out = ops.setitem(self, index, value)
        self._version.value += 1
        if out.grad_fn is not None:
            self._take_history(out.grad_fn)

    def __iadd__(self, other):
        return self._inplace(ops.add, other)

    def __isub__(self, other):
        return self._inplace(ops.sub, other)

    def __imul__(self, other):
        return self._inplace(ops.mul, other)

    def __itruediv__(self, other):
        return self._inplace(ops.div, other)

    def __ifloordiv__(self, other):
        return self._inplace(ops.floor_divide, other)

    def __imod__(self, other):
        return self._inplace(ops.remainder, other)

    def __ipow__(self, other):
        return self._inplace(ops.pow, other)

    def add_(self, other, alpha=1):
        return self._inplace(ops.add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self._inplace(ops.sub, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self._inplace(ops.mul, other)

    def div_(self, other):
        return self._inplace(ops.div, other)

    def pow_(self, other):
        return self._inplace(ops.pow, other)

    def clamp_(self, min=None, max=None):
        return self._inplace(ops.clamp, min, max)

    def relu_(self):
        return self._inplace(ops.relu)

    def zero_(self):
        return self._inplace(ops.full_like_value, 0)

    def fill_(self, value):
        return self._inplace(ops.full_like_value, value)

    def copy_(self, source):
        return self._inplace(ops.copy_into, source)

    # ----- printing ---------------------------------------------------------------------------
    def __repr__(self):
        data = move(self._data, backend("cpu"))
        # like torch: four fixed decimals, unless every value is integral ("19., 25.")
        fractional = data.dtype.kind == "f" and data.size and not np.all(
            np.mod(data[np.isfinite(data)], 1) == 0)
        # torch's linewidth 80 (numpy's 81 wraps the elements at the same places as torch's)
        body = np.array2string(data, separator=", ", precision=4, prefix="tensor(",
                               floatmode="fixed" if fractional else "maxprec",
                               max_line_width=81)
        extras = []
        if self._data.dtype not in (np.float32, np.int64, np.bool_) or self._data.size == 0:
            extras.append(f"dtype={self.dtype}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        # torch's _add_suffixes: a suffix that would pass column 80 goes on a line of its own
        text = "tensor(" + body
        last = len(text) - text.rfind("\n") + 1
        for extra in extras:
            if last + len(extra) + 2 > 80:
                text, last = text + ",\n" + " " * 7 + extra, 7 + len(extra)
            else:
                text, last = text + ", " + extra, last + len(extra) + 2
        return text + ")"


_TENSOR_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                      "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                      "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _binary_method(function, reflected=False):
    if reflected:
        return lambda self, other: function(other, self)
    return lambda self, other: function(self, other)


# +, - and / call their Functions, not add, sub and div: an operator has no alpha or rounding mode
for _name, _function in [("add", elementwise.Add.apply), ("sub", elementwise.Sub.apply),
                         ("mul", ops.mul), ("truediv", elementwise.Div.apply),
                         ("floordiv", ops.floor_divide), ("mod", ops.remainder), ("pow", ops.pow),
                         ("matmul", ops.matmul), ("and", ops.bitwise_and), ("or", ops.bitwise_or),
                         ("xor", ops.bitwise_xor)]:
    setattr(Tensor, f"__{_name}__", _binary_method(_function))
    setattr(Tensor, f"__r{_name}__", _binary_method(_function, reflected=True))
for _name, _function in [("eq", ops.eq), ("ne", ops.ne), ("lt", ops.lt), ("le", ops.le),
                         ("gt", ops.gt), ("ge", ops.ge)]:
    setattr(Tensor, f"__{_name}__", _binary_method(_function))


Tensor.__neg__ = as_method(ops.neg)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = as_method(ops.abs)
Tensor.__invert__ = as_method(ops.bitwise_not)
Tensor.__getitem__ = ops.getitem
for _name, _function in registered(METHOD).items():
    if _name in vars(Tensor):
        raise RuntimeError(f"Tensor.{_name} is both defined in tensor.py and registered as an op")
    setattr(Tensor, _name, as_method(_function))

autograd.Tensor = Tensor
