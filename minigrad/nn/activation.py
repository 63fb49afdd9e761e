"""PyTorch's activation modules beyond the classic ones of layers.py."""
from .module import Module  # noqa: F401

__all__ = []
