"""torch.nn.parameter: Parameter, and the uninitialized parameters and buffers of lazy modules."""
import weakref

from .. import creation, dtypes
from ..device import backend
from ..tensor import Tensor
from .module import Parameter

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]

_STORAGE = Tensor._data  # the storage slot, which the uninitialized tensors hide behind a property
_owners = {}  # id(tensor) -> "weight of LazyLinear": a buffer has no __dict__ to hold it


def describe(tensor, owner):
    """Record what `tensor` is (e.g. "weight of LazyLinear"), for the errors it raises."""
    if id(tensor) not in _owners:
        weakref.finalize(tensor, _owners.pop, id(tensor), None)
    _owners[id(tensor)] = owner


def uninitialized_shape_error():
    return RuntimeError(
        "Can't access the shape of an uninitialized parameter or buffer. This error usually "
        "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
        "initialized one. Call `forward` to initialize the parameters before accessing their "
        "attributes.")


class UninitializedTensorMixin:
    """An empty placeholder with a dtype and a device but no shape yet; any use of its values
    raises until `materialize(shape)` turns it into the class it becomes."""
    __slots__ = ()
    cls_to_become = None

    @property
    def _data(self):
        kind = "parameter" if isinstance(self, Parameter) else "buffer"
        owner = _owners.get(id(self))
        raise ValueError(
            f"Attempted to use an uninitialized {kind}{f' ({owner})' if owner else ''}. This "
            "error happens when you are using a `LazyModule` or explicitly manipulating "
            f"`minigrad.nn.parameter.{type(self).__name__}` objects. When using LazyModules call "
            "`forward` with a dummy batch to initialize the parameters before using them")

    @_data.setter
    def _data(self, array):
        _STORAGE.__set__(self, array)

    @property
    def shape(self):
        raise uninitialized_shape_error()

    # dtype, floating-pointness and requires_grad stay usable, as torch's: read from the slot
    @property
    def dtype(self):
        return dtypes.from_numpy_dtype(_STORAGE.__get__(self).dtype)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self._requires_grad = bool(flag)

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor a storage of `shape` (on its device and in its dtype unless given) and
        make it the plain class it stands for, keeping its identity (optimizers may hold it)."""
        target = self._backend if device is None else backend(device)
        dtype = self.dtype if dtype is None else dtypes.to_dtype(dtype)
        self._data = creation.empty(*tuple(shape), dtype=dtype, device=target.device)._data
        self._backend = target
        self.__class__ = self.cls_to_become

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            copy = type(self)(self.requires_grad, self.device, self.dtype)
            if id(self) in _owners:
                describe(copy, _owners[id(self)])
            memo[id(self)] = copy
        return memo[id(self)]

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _init_placeholder(tensor, requires_grad, device, dtype):
    placeholder = creation.empty(0, dtype=dtype, device=device)
    tensor._init(placeholder._data, placeholder._backend)
    tensor._requires_grad = bool(requires_grad)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's, until its first forward)."""
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        _init_placeholder(self, requires_grad, device, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet; it becomes a plain Tensor."""
    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None):
        _init_placeholder(self, requires_grad, device, dtype)


def is_lazy(tensor):
    """Whether `tensor` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(tensor, UninitializedTensorMixin)
