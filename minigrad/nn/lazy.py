"""torch's lazy modules: layers that infer their input size (in_features, in_channels,
num_features) from the first input. Until then their parameters and running statistics are
UninitializedParameters / UninitializedBuffers; the first call materialises them, initialises them
as the eager layer does, and turns the module into that layer (its `cls_to_become`)."""
import itertools
import math
from collections import OrderedDict

import numpy as np

from .. import creation, dtypes
from . import init
from .layers import BatchNorm1d, BatchNorm2d, Conv2d, Linear
from .modern import Conv1d, ConvTranspose2d
from .module import Module
from .parameter import UninitializedBuffer, UninitializedParameter, describe, is_lazy

# LazyModuleMixin stays here, out of minigrad.nn, as torch keeps it in torch.nn.modules.lazy
__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConvTranspose2d", "LazyBatchNorm1d",
           "LazyBatchNorm2d"]


class LazyModuleMixin:
    """The shape inference of lazy modules, before an eager layer in the bases.

    A subclass writes `initialize_parameters(*inputs)` (materialise the uninitialized tensors from
    the inputs) and `reset_parameters()`. Convert the module's dtype and device before the first
    call ("dry run"); build optimizers over its parameters whenever (they keep their identity).
    """
    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lazy_pending = True  # torch's forward pre-hook and load_state_dict pre-hook

    def __call__(self, *args, **kwargs):
        if self.__dict__.get("_lazy_pending"):
            self._infer_parameters(*args, **kwargs)
        return Module.__call__(self, *args, **kwargs)

    def _infer_parameters(self, *args, **kwargs):
        self.initialize_parameters(*args, **kwargs)
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        del self._lazy_pending
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self):
        return any(is_lazy(tensor) for tensor in itertools.chain(self._parameters.values(),
                                                                 self._buffers.values()))

    # ----- state dicts --------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Module.state_dict, holding the uninitialized tensors themselves (they have no values to
        detach), as torch's lazy modules do."""
        own = super().state_dict(None, prefix, keep_vars=True)
        destination = OrderedDict() if destination is None else destination
        for key, value in own.items():
            destination[key] = value if keep_vars or is_lazy(value) else value.detach()
        return destination

    def _lazy_load_hook(self, state_dict, prefix):
        """Before load_state_dict copies values: materialise the uninitialized tensors that the
        state dict has initialized values for, with their shapes."""
        if not self.__dict__.get("_lazy_pending"):
            return
        for name, tensor in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if is_lazy(tensor) and key in state_dict and not is_lazy(state_dict[key]):
                tensor.materialize(np.shape(state_dict[key]))


class _LazyLayer(LazyModuleMixin):
    """What the lazy versions of minigrad's eager layers share: their uninitialized tensors are
    named in errors, and they take the eager layer's init once the input gave the sizes."""
    inferred_size = None  # the attribute that the first input gives, e.g. "in_features"

    def _register_uninitialized(self, name, kind, device, dtype):
        tensor = kind(device=device, dtype=dtype)
        describe(tensor, f"{name} of {type(self).__name__}")
        if kind is UninitializedBuffer:
            self.register_buffer(name, tensor)
        else:
            setattr(self, name, tensor)

    def reset_parameters(self):
        # the eager __init__ may call this on its empty tensors; it counts once sizes are known
        if not self.has_uninitialized_params() and getattr(self, self.inferred_size) != 0:
            self._reset_like_eager()

    def _materialize(self, sizes, shapes):
        """Set the inferred `sizes` ({attribute: size}), materialise the uninitialized tensors of
        `shapes` ({name: shape}) and initialise them as the eager layer does. Tensors that a state
        dict gave already must have those shapes, and then none may still be uninitialized."""
        tensors = {name: getattr(self, name) for name in shapes}
        lazy = [name for name, tensor in tensors.items() if is_lazy(tensor)]
        loaded = [name for name in shapes if name not in lazy]
        given = ", ".join(f"{attribute}={size}" for attribute, size in sizes.items())
        for name in loaded:
            if tuple(tensors[name].shape) != tuple(shapes[name]):
                raise RuntimeError(f"{type(self).__name__}: an input with {given} needs {name} of "
                                   f"shape {tuple(shapes[name])}, but the state dict loaded into "
                                   f"it gave shape {tuple(tensors[name].shape)}")
        if lazy and loaded:
            raise RuntimeError(f"{type(self).__name__}: {', '.join(loaded)} came from a state "
                               f"dict but {', '.join(lazy)} did not; load all of them or none "
                               "before the first forward")
        for attribute, size in sizes.items():
            setattr(self, attribute, size)
        for name in lazy:
            tensors[name].materialize(shapes[name])
        if lazy:
            self.reset_parameters()


def _reset_uniform(layer, fan_in):
    """Linear's and Conv2d's init (torch's kaiming_uniform_(a=sqrt(5))): U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) for the weight, then the bias, as their __init__ draws them."""
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    init.uniform_(layer.weight, -bound, bound)
    if layer.bias is not None:
        init.uniform_(layer.bias, -bound, bound)


class LazyLinear(_LazyLayer, Linear):
    """A Linear whose in_features is inferred from input.shape[-1]."""
    cls_to_become = Linear
    inferred_size = "in_features"

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, 0, False)  # no bias: nothing to build for what is replaced next
        self.out_features = out_features
        self._register_uninitialized("weight", UninitializedParameter, device, dtype)
        if bias:
            self._register_uninitialized("bias", UninitializedParameter, device, dtype)

    def _reset_like_eager(self):
        _reset_uniform(self, self.in_features)

    def initialize_parameters(self, input):
        if input.ndim == 0:
            raise IndexError("LazyLinear infers in_features from the input's last dimension, "
                             "but got a 0-d input")
        in_features = input.shape[-1]
        shapes = {"weight": (self.out_features, in_features)}
        if self.bias is not None:
            shapes["bias"] = (self.out_features,)
        self._materialize({"in_features": in_features}, shapes)


class _LazyConv(_LazyLayer):
    """in_channels from input.shape[1] (input.shape[0] for an unbatched input)."""
    inferred_size = "in_channels"
    transposed = False
    spatial_dims = 2

    def _register_conv_parameters(self, out_channels, bias, device, dtype):
        if out_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: out_channels ({out_channels}) must be "
                             f"divisible by groups ({self.groups})")
        self.out_channels = out_channels
        self._register_uninitialized("weight", UninitializedParameter, device, dtype)
        if bias:
            self._register_uninitialized("bias", UninitializedParameter, device, dtype)

    def initialize_parameters(self, input, *args, **kwargs):
        batched = self.spatial_dims + 2
        if input.ndim not in (batched - 1, batched):
            raise RuntimeError(f"Expected {batched - 1}D (unbatched) or {batched}D (batched) "
                               f"input to {type(self).__name__}, but got input of size: "
                               f"{input.shape}")
        in_channels = input.shape[1] if input.ndim == batched else input.shape[0]
        if in_channels % self.groups:
            raise ValueError(f"in_channels must be divisible by groups (in_channels="
                             f"{in_channels}, groups={self.groups}, input shape "
                             f"{tuple(input.shape)})")
        if self.transposed:
            weight = (in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            weight = (self.out_channels, in_channels // self.groups, *self.kernel_size)
        shapes = {"weight": weight}
        if self.bias is not None:
            shapes["bias"] = (self.out_channels,)
        self._materialize({"in_channels": in_channels}, shapes)


class LazyConv1d(_LazyConv, Conv1d):
    cls_to_become = Conv1d
    spatial_dims = 1

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode)
        self._register_conv_parameters(out_channels, bias, device, dtype)

    def _reset_like_eager(self):
        Conv1d.reset_parameters(self)


class LazyConv2d(_LazyConv, Conv2d):
    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode)
        self._register_conv_parameters(out_channels, bias, device, dtype)

    def _reset_like_eager(self):
        _reset_uniform(self, self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1])


class LazyConvTranspose2d(_LazyConv, ConvTranspose2d):
    cls_to_become = ConvTranspose2d
    transposed = True

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode)
        self._register_conv_parameters(out_channels, bias, device, dtype)

    def _reset_like_eager(self):
        ConvTranspose2d.reset_parameters(self)


class _LazyBatchNorm(_LazyLayer):
    """num_features from input.shape[1]; the running statistics are UninitializedBuffers."""
    inferred_size = "num_features"

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__(0, eps, momentum, False, False)  # nothing to build, as above
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self._register_uninitialized("weight", UninitializedParameter, device, dtype)
            if bias:
                self._register_uninitialized("bias", UninitializedParameter, device, dtype)
        if track_running_stats:
            self._register_uninitialized("running_mean", UninitializedBuffer, device, dtype)
            self._register_uninitialized("running_var", UninitializedBuffer, device, dtype)
            self.register_buffer("num_batches_tracked",
                                 creation.tensor(0, dtype=dtypes.int64, device=device))

    def _reset_like_eager(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def initialize_parameters(self, input):
        if input.ndim not in self.dims:
            raise ValueError(f"{type(self).__name__} expected "
                             f"{' or '.join(f'{d}D' for d in self.dims)} input (got {input.ndim}D "
                             f"input of shape {tuple(input.shape)})")
        num_features = input.shape[1]
        shapes = {name: (num_features,) for name in ("weight", "bias", "running_mean",
                                                     "running_var")
                  if getattr(self, name) is not None}
        self._materialize({"num_features": num_features}, shapes)


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    cls_to_become = BatchNorm2d
