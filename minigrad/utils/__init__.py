"""PyTorch's ``torch.utils`` spelling: ``minigrad.utils.data`` is ``minigrad.data``."""
from . import data

__all__ = ["data"]
