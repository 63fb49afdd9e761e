"""The functional ops, with PyTorch's names and arguments: each family's module holds its Functions,
their public wrappers (which check arguments, raising errors that name shapes and dtypes) and the
registrations that publish them (registry.py). This package exposes every registered op by name."""
import importlib
import pkgutil

from .dims import normalize_dim, normalize_dims  # noqa: F401
from .indexing import getitem, setitem  # noqa: F401
from .registry import TORCH, registered
from .shape import cast, copy_into, full_like_value, to_device  # noqa: F401

for _module in pkgutil.iter_modules(__path__):  # each family's module registers its ops on import
    importlib.import_module(f"{__name__}.{_module.name}")
globals().update(registered(TORCH))
