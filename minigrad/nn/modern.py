"""The layers of modern CNNs: 1-D and transposed convolutions, group / layer / instance norm,
channel dropout, resampling, pixel shuffle, embeddings."""
from .module import Module  # noqa: F401

__all__ = []
