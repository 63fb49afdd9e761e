"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, state_dict.

Subclasses write `step()`. Updates work on the raw arrays (`p._data`, `p.grad._data`) with the array
module of the parameter's device, in place and in the parameter's dtype, so nothing is recorded on the
tape; after each update they bump the parameter's version counter so that autograd notices a parameter
that a recorded op saved and that was changed since.
"""
import warnings
from collections import defaultdict
from itertools import chain

import numpy as np

from .. import autograd
from ..tensor import Tensor


class _RequiredParameter:
    """Marks a default that each parameter group must give (like torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _shape(tensor):
    return tuple(tensor._data.shape)


def _to_param_array(value, param):
    """A fresh array with the values of `value` (a minigrad tensor, a NumPy / CuPy array, a torch
    tensor or anything array-like) on the device and in the dtype of `param`."""
    xp, dtype = param._backend.xp, param._data.dtype
    if isinstance(value, Tensor):
        if value._backend is param._backend:
            return xp.array(value._data, dtype=dtype, copy=True)
        value = value._data
    if not isinstance(value, np.ndarray):
        if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
            value = value.detach().cpu().numpy()
        elif hasattr(value, "get") and hasattr(value, "__cuda_array_interface__"):  # a CuPy array
            value = value.get()
    return xp.array(value, dtype=dtype, copy=True)


def _is_array_like(value):
    return isinstance(value, (Tensor, np.ndarray)) or hasattr(value, "__cuda_array_interface__") or (
        hasattr(value, "detach") and hasattr(value, "numpy"))


class Optimizer:
    """Base class of all optimizers.

    `params` is an iterable of tensors, of `(name, tensor)` pairs, or of dicts (parameter groups, each
    with a "params" entry and any options that override `defaults`).
    """

    # Whether step() can be recorded into a CUDA graph: it reads nothing but the parameter groups'
    # options and arrays that stay in place (no step counter kept on the host, as Adam's)
    capturable = False

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {type(params).__name__}")
        if isinstance(params, dict):
            params = [params]
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ----- parameter groups -------------------------------------------------------------------
    def _validate_group(self, group):
        """Checks a group's options (subclasses raise PyTorch's messages)."""

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with "params" and options overriding the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError('a parameter group must have a "params" entry')
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list "
                            "instead.")
        else:
            params = list(params)
        if params and all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                          for item in params):  # named parameters
            param_group["param_names"] = [name for name, _ in params]
            params = [param for _, param in params]
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(param).__module__}.{type(param).__name__}")
            if not param.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (shape {_shape(param)}): optimize "
                                 "the leaf tensors it was computed from, or detach() it and call "
                                 "requires_grad_()")
            if not param.requires_grad:
                raise ValueError(f"optimizer got a parameter that does not require grad (shape "
                                 f"{_shape(param)}): call requires_grad_() on it or leave it out")
        param_group["params"] = params

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)

        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, "
                          "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for "
                          "more information", stacklevel=3)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for param in params:
            if id(param) in seen:
                raise ValueError("some parameters appear in more than one parameter group (a "
                                 f"parameter of shape {_shape(param)})")
        self._validate_group(param_group)
        self.param_groups.append(param_group)

    # ----- gradients and steps ----------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad = p.grad = grad.detach()
                    grad._data[...] = 0
                    grad._version.value += 1

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with autograd.enable_grad():
            return closure()

    def step(self, closure=None):
        raise NotImplementedError

    @staticmethod
    def _grad_array(p):
        """The gradient of `p` as an array of p's dtype and shape (never modified in place)."""
        g = p.grad._data
        if g.shape != p._data.shape:
            raise RuntimeError(f"the gradient of a parameter has shape {tuple(g.shape)}, but the "
                               f"parameter has shape {tuple(p._data.shape)}")
        if g.dtype != p._data.dtype:
            g = g.astype(p._data.dtype)
        return g

    # ----- saving and loading -----------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state in PyTorch's layout: {"state": {index: {...}}, "param_groups":
        [{options..., "params": [indices]}]}. State arrays are copies, as minigrad tensors."""
        index_of = {}
        start = 0
        packed_groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            packed_groups.append(packed)
        packed_state = {}
        for param, values in self.state.items():
            key = index_of[id(param)] if isinstance(param, Tensor) else param
            packed_state[key] = {name: (Tensor._make(value._data.copy(), value._backend)
                                        if isinstance(value, Tensor) else value)
                                 for name, value in values.items()}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict):
        """Load a state saved by `state_dict()` (of this optimizer type, same group sizes)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError('an optimizer state dict must be a dict with "state" and "param_groups"')
        groups = self.param_groups
        saved_groups = [dict(group) for group in state_dict["param_groups"]]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}, the optimizer has {len(groups)})")
        for group, saved in zip(groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the "
                                 f"size of optimizer's group ({len(saved['params'])} parameters, the "
                                 f"optimizer's group has {len(group['params'])})")
        id_map = {int(index): p for index, p in zip(
            chain.from_iterable(g["params"] for g in saved_groups),
            chain.from_iterable(g["params"] for g in groups))}

        state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            try:
                param = id_map.get(int(key))
            except (TypeError, ValueError):
                param = None
            if param is None:
                state[key] = values
                continue
            restored = {}
            for name, value in values.items():
                if name == "step":
                    restored[name] = int(float(value.item() if hasattr(value, "item") else value))
                elif _is_array_like(value):
                    array = _to_param_array(value, param)
                    if array.shape != param._data.shape:
                        raise ValueError(f"loaded state {name!r} of parameter {key} has shape "
                                         f"{tuple(array.shape)}, but the parameter has shape "
                                         f"{_shape(param)}")
                    restored[name] = Tensor._make(array, param._backend)
                else:
                    restored[name] = value
            state[param] = restored

        new_groups = []
        for group, saved in zip(groups, saved_groups):
            for key, value in saved.items():  # undo what a trip through NumPy files does to options
                if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
                    saved[key] = value.item()
                elif isinstance(value, (np.ndarray, list, tuple)) and key == "betas":
                    saved[key] = tuple(float(v) for v in value)
                elif isinstance(value, np.ndarray):
                    saved[key] = value.tolist()
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
