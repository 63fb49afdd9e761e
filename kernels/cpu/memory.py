"""Keep freed memory in the process instead of handing it back to the OS after every step.

glibc serves allocations above its mmap threshold (128 KB at first, rising with what is freed) from
fresh mmap-ed pages and returns freed heap tops to the OS; every training step then page-faults its
activations in again. The settings below keep those pages in the process (the ReLU and convolution
outputs gain most). They apply to the whole process (a PyTorch in it gains too), and the process's
resident memory stays at its peak, as with PyTorch's caching GPU allocator. Skipped off glibc, and
when the user set any MALLOC_* variable: their choice wins.
"""
import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit: bigger arrays still use mmap
_TRIM_THRESHOLD = 1 << 30


def keep_freed_memory(environ=os.environ):
    """Apply the settings; True when glibc took them."""
    if not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in environ):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, TypeError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1 and \
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1
