"""What the CUDA kernel table runs on: its array module and how its Numba-CUDA kernels are launched.

The kernels are written once, in Python, for Numba-CUDA. Under Numba's CUDA simulator
(NUMBA_ENABLE_CUDASIM=1, no GPU needed) the array module is NumPy and the simulator runs every CUDA
thread in Python, so the tests on a CPU-only machine exercise the same table and the same kernels.

On a GPU the arrays are CuPy arrays, and a kernel is compiled and linked by Numba (its disk cache
included) once per argument signature, then loaded into CuPy and launched by CuPy on CuPy's current
stream, in order with the CuPy and cuBLAS work around it. Why not Numba's own launch: measured on
an H100, it took 0.12-0.17 ms of Python per launch (typing every argument, converting every
array), and a ResNet-18 training step is bound by the host; a CuPy launch takes about 0.01 ms.
"""
import os
import re
import tempfile
import warnings

import numpy as np
from numba import cuda
from numba.core import config

# numba-cuda warns about every launch of fewer than 128 blocks; small tensors make those on purpose
warnings.filterwarnings("ignore", message="Grid size .* under-utilization")

SIMULATED = bool(config.ENABLE_CUDASIM)

if SIMULATED:
    import numpy as xp
else:
    import cupy as xp

# Every kernel is a grid-stride loop (each thread takes elements i, i + grid size, ...), so the
# grid can stay bounded whatever the array size. On a GPU: 256 threads a block and enough blocks to
# fill an H100 many times over. In the simulator each thread is a Python thread: a small grid keeps
# it fast and makes every thread loop several times, which is the case worth testing.
THREADS_PER_BLOCK = 32 if SIMULATED else 256
MAX_BLOCKS = 4 if SIMULATED else 16384


@cuda.jit(device=True)
def unravel(index, rows, columns):
    """(plane, row, column) of a flat index into a C-contiguous (planes, rows, columns) array, in
    two integer divisions (they, not the memory traffic, bound the index-heavy kernels)."""
    plane = index // (rows * columns)
    rest = index - plane * (rows * columns)
    row = rest // columns
    return plane, row, rest - row * columns


def launch(kernel, elements, *args):
    """Run a grid-stride kernel over `elements` items (on CuPy's current stream on a GPU)."""
    if elements == 0:
        return
    blocks = min(MAX_BLOCKS, -(-elements // THREADS_PER_BLOCK))
    if SIMULATED:
        kernel[blocks, THREADS_PER_BLOCK](*args)
        return
    function, parameter_types = _compiled(kernel, args)
    values = [value for arg in args for value in _flattened(arg)]
    function((blocks,), (THREADS_PER_BLOCK,),
             tuple(kind(value) for kind, value in zip(parameter_types, values)))


def _flattened(value):
    """An argument as the scalars of Numba's calling convention: an array is passed as its
    (meminfo, parent, size, itemsize, data pointer, *shape, *strides in bytes), a scalar as
    itself."""
    if isinstance(value, xp.ndarray):
        return (0, 0, value.size, value.itemsize, value.data.ptr) + value.shape + value.strides
    return (value,)


def _signature_key(value):
    if isinstance(value, xp.ndarray):
        return value.dtype.char, value.ndim, value.flags.c_contiguous
    return type(value)


_compiled_kernels = {}  # (kernel, argument kinds) -> (CuPy function, NumPy type of each parameter)

# PTX parameter types -> NumPy scalar types of that width, which CuPy passes by value. Numba
# declares every 64-bit integer .u64, negative strides included: int64 carries the same bits.
_PTX_PARAMETER_TYPES = {"u64": np.int64, "s64": np.int64, "b64": np.int64, "u32": np.int32,
                        "s32": np.int32, "b32": np.int32, "u8": np.uint8, "s8": np.int8,
                        "b8": np.uint8, "f32": np.float32, "f64": np.float64}


def _compiled(kernel, args):
    """The CuPy function running `kernel` for arguments like `args`, compiled on first use."""
    key = (kernel, tuple(_signature_key(arg) for arg in args))
    entry = _compiled_kernels.get(key)
    if entry is None:
        compiled = kernel.compile(tuple(kernel.typeof_pyval(arg) for arg in args))
        cc = cuda.get_current_device().compute_capability
        # The PTX declares the parameters; the cubin Numba links for this GPU is what runs (the
        # PTX itself may be newer than the driver can compile: NVVM 13.5 wrote PTX ISA 9.5 here).
        name, parameters = re.search(r"\.entry\s+([^\s(]+)\s*\(([^)]*)\)",
                                     compiled.inspect_asm(cc)).groups()
        parameter_types = [_PTX_PARAMETER_TYPES[kind]
                           for kind in re.findall(r"\.param\s+\.(\w+)", parameters)]
        expected = sum(len(_flattened(arg)) for arg in args)
        if len(parameter_types) != expected:
            raise RuntimeError(f"internal error: {kernel.py_func.__name__} takes "
                               f"{len(parameter_types)} parameters, its arguments flatten to "
                               f"{expected}")
        cubin = bytes(compiled._codelibrary.get_cubin(cc))  # numba-cuda 0.30 has no public getter
        entry = _compiled_kernels[key] = (_load_cubin(cubin, name), parameter_types)
    return entry


_cubin_folder = None  # CuPy loads a module from a file and memoizes it by its path: never reuse one


def _load_cubin(cubin, name):
    global _cubin_folder
    if _cubin_folder is None:
        _cubin_folder = tempfile.TemporaryDirectory(prefix="minigrad-cubin-")  # removed at exit
    path = os.path.join(_cubin_folder.name, f"{len(_compiled_kernels)}.cubin")
    with open(path, "wb") as file:
        file.write(cubin)
    return xp.RawModule(path=path).get_function(name)
