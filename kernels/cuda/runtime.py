"""What the CUDA kernel table runs on: its array module and how its Numba-CUDA kernels are launched.

The kernels are written once, in Python, for Numba-CUDA. Under Numba's CUDA simulator
(NUMBA_ENABLE_CUDASIM=1, no GPU needed) the array module is NumPy and the simulator runs every CUDA
thread in Python, so the tests on a CPU-only machine exercise the same table and the same kernels.

On a GPU the arrays are CuPy arrays, and a kernel is compiled and linked by Numba (its disk cache
included) once per argument signature, then loaded through CuPy's driver bindings and launched on
CuPy's current stream, in order with the CuPy and cuBLAS work around it. Why not Numba's own
launch: its Python per launch (typing every argument, converting every array) costs more than
small kernels take, and the training steps are bound by the host. Why not a CuPy RawModule
launch of the same cubin: it converts each of the 20-40 scalars an array-heavy kernel takes one
by one, so the arguments are packed instead with one struct call into a buffer kept per kernel.
"""
import ctypes
import re
import struct
import warnings

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


def is_capturing():
    """Whether CuPy's current stream is recording a CUDA graph (the simulator has no graphs)."""
    return not SIMULATED and xp.cuda.get_current_stream().is_capturing()


def launch(kernel, elements, *args):
    """Run a grid-stride kernel over `elements` items (on CuPy's current stream on a GPU)."""
    if elements == 0:
        return
    blocks = min(MAX_BLOCKS, -(-elements // THREADS_PER_BLOCK))
    if SIMULATED:
        kernel[blocks, THREADS_PER_BLOCK](*args)
        return
    # The arguments as the scalars of Numba's calling convention: an array is passed as its
    # (meminfo, parent, size, itemsize, data pointer, *shape, *strides in bytes), a scalar as itself.
    signature, values = [kernel], []
    for arg in args:
        if isinstance(arg, xp.ndarray):
            signature.append((arg.dtype.char, arg.ndim, arg.flags.c_contiguous))
            values += (0, 0, arg.size, arg.itemsize, arg.data.ptr)
            values += arg.shape
            values += arg.strides
        else:
            signature.append(type(arg))
            values.append(arg)
    signature = tuple(signature)
    launcher = _launchers.get(signature)
    if launcher is None:
        launcher = _launchers[signature] = _compile(kernel, args, len(values))
    launcher(blocks, values)


class _Launcher:
    """A kernel loaded from its cubin, and the buffer cuLaunchKernel reads its parameters from:
    one 8-byte slot each, filled by one struct.pack_into per launch."""

    def __init__(self, cubin, name, parameter_codes):
        self.module = xp.cuda.driver.moduleLoadData(cubin)  # loaded for the life of the process
        self.function = xp.cuda.driver.moduleGetFunction(self.module, name)
        self.packing = struct.Struct("<" + "".join(parameter_codes))
        self.slots = ctypes.create_string_buffer(8 * len(parameter_codes))
        first = ctypes.addressof(self.slots)
        self.slot_addresses = (ctypes.c_void_p * len(parameter_codes))(
            *(first + 8 * i for i in range(len(parameter_codes))))
        self.parameters = ctypes.addressof(self.slot_addresses)  # what cuLaunchKernel is given

    def __call__(self, blocks, values):
        self.packing.pack_into(self.slots, 0, *values)
        # cuLaunchKernel copies the parameters before it returns: the slots can be refilled
        xp.cuda.driver.launchKernel(self.function, blocks, 1, 1, THREADS_PER_BLOCK, 1, 1, 0,
                                    xp.cuda.get_current_stream().ptr, self.parameters, 0)


_launchers = {}  # (kernel, kind of each argument) -> _Launcher

# PTX parameter types -> struct codes padded to 8 bytes. Numba declares every 64-bit integer .u64,
# negative strides included: a signed int64 carries the same bits.
_PTX_PARAMETER_CODES = {"u64": "q", "s64": "q", "b64": "q", "u32": "i4x", "s32": "i4x",
                        "b32": "i4x", "u8": "B7x", "s8": "b7x", "b8": "B7x", "f32": "f4x",
                        "f64": "d"}


def _compile(kernel, args, parameter_count):
    """The launcher of `kernel` for arguments like `args`, compiled and linked by Numba for this
    GPU (the PTX declares the parameters; the cubin is what runs: the PTX may be newer than the
    driver can compile, NVVM 13.5 wrote PTX ISA 9.5 on the lent H100)."""
    compiled = kernel.compile(tuple(kernel.typeof_pyval(arg) for arg in args))
    cc = cuda.get_current_device().compute_capability
    name, parameters = re.search(r"\.entry\s+([^\s(]+)\s*\(([^)]*)\)",
                                 compiled.inspect_asm(cc)).groups()
    codes = [_PTX_PARAMETER_CODES[kind] for kind in re.findall(r"\.param\s+\.(\w+)", parameters)]
    if len(codes) != parameter_count:
        raise RuntimeError(f"internal error: {kernel.py_func.__name__} takes {len(codes)} "
                           f"parameters, its arguments flatten to {parameter_count}")
    cubin = compiled._codelibrary.get_cubin(cc)  # numba-cuda 0.30 has no public getter
    return _Launcher(bytes(getattr(cubin, "code", cubin)), name, codes)  # cuda.core's ObjectCode
