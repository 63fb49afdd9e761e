"""`minigrad.cuda`: asking about the GPU without importing anything GPU-related unless it exists."""
from .device import cuda_is_available as is_available  # noqa: F401
