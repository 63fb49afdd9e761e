"""GEMMs on the GPU: cuBLAS, called through ctypes with minigrad's own handle and workspace.

Why not cupy.matmul: CuPy 14 refuses every cuBLAS call while a stream is being captured into a
CUDA graph (its cublas.setStream raises NotImplementedError), and a captured training step is how
minigrad.cuda.graph takes Python off a step's critical path. Setting the stream and a fixed
workspace on our own handle when the stream changes is what makes a GEMM capturable
(cublasSetStream resets the workspace, and cuBLAS must not allocate one during a capture), as
PyTorch does.

Under the CUDA simulator there is no cuBLAS: NumPy's matmul stands in.
"""
import ctypes
import os

from .runtime import SIMULATED, xp

# CUBLAS_OP_N / CUBLAS_OP_T
_AS_STORED, _TRANSPOSED = 0, 1
# the dtypes with a cuBLAS GEMM here (float32, float64); others go through xp.matmul
_GEMMS = ("f", "d")
# 32 MiB: what cuBLAS's documentation recommends for Hopper, enough for any algorithm it picks
WORKSPACE_BYTES = 32 * 1024 * 1024


def matmul(a, b):
    """a @ b as xp.matmul for 2-D or 3-D operands (a batch of one broadcasts); one cuBLAS call."""
    if SIMULATED or a.ndim not in (2, 3) or b.ndim not in (2, 3) or a.dtype != b.dtype \
            or a.dtype.char not in _GEMMS:
        return xp.matmul(a, b)
    batch = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
    if any(x.ndim == 3 and x.shape[0] not in (1, batch) for x in (a, b)) \
            or a.shape[-1] != b.shape[-2]:
        return xp.matmul(a, b)  # raises numpy's error
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out_shape = (m, n) if a.ndim == b.ndim == 2 else (batch, m, n)
    if m * n * batch == 0 or k == 0:
        return xp.zeros(out_shape, dtype=a.dtype)
    out = xp.empty(out_shape, dtype=a.dtype)
    (op_a, ld_a, stride_a), a = _operand(a)
    (op_b, ld_b, stride_b), b = _operand(b)
    # cuBLAS is column-major: a row-major (m, n) C is a column-major (n, m) C^T = B^T A^T
    _cublas().gemm(a.dtype.char, op_b, op_a, n, m, k, b.data.ptr, ld_b, stride_b, a.data.ptr,
                   ld_a, stride_a, out.data.ptr, n, m * n, batch)
    return out


def _operand(x):
    """How cuBLAS reads matrix x (its last two axes) in place: (operation, leading dimension, stride
    between batch matrices in elements, 0 for one broadcast matrix), and x, made contiguous if it
    is neither row- nor column-major."""
    layout = _layout(x)
    if layout is None:
        x = xp.ascontiguousarray(x)
        layout = _layout(x)
    return layout, x


def _layout(x):
    rows, cols = x.shape[-2:]
    row_stride, col_stride = (s // x.itemsize for s in x.strides[-2:])
    batch_stride = x.strides[0] // x.itemsize if x.ndim == 3 and x.shape[0] > 1 else 0
    if batch_stride < 0 or any(s % x.itemsize for s in x.strides):
        return None
    # a row-major matrix is, to column-major cuBLAS, its own transpose: used as stored
    if (cols == 1 or col_stride == 1) and (rows == 1 or row_stride >= cols):
        return _AS_STORED, (row_stride if rows > 1 else cols), batch_stride
    if (rows == 1 or row_stride == 1) and (cols == 1 or col_stride >= rows):
        return _TRANSPOSED, (col_stride if cols > 1 else rows), batch_stride
    return None


class _Cublas:
    """A cuBLAS handle of our own in the libcublas CuPy loaded, with a fixed workspace."""

    def __init__(self):
        self.library = ctypes.CDLL(_libcublas_path())
        handle = ctypes.c_void_p()
        self._check(self.library.cublasCreate_v2(ctypes.byref(handle)), "cublasCreate")
        self.handle = handle.value
        self.workspace = xp.empty(WORKSPACE_BYTES, dtype=xp.uint8)  # lives as long as the handle
        self.stream = None
        integer, pointer = ctypes.c_int, ctypes.c_void_p
        self.library.cublasSetStream_v2.argtypes = [pointer, pointer]
        self.library.cublasSetWorkspace_v2.argtypes = [pointer, pointer, ctypes.c_size_t]
        self.functions = {}
        self.scalars = {}  # alpha = 1 and beta = 0, read from host memory when a call is made
        for char, scalar, prefix in (("f", ctypes.c_float, "cublasS"),
                                     ("d", ctypes.c_double, "cublasD")):
            one, zero = scalar(1), scalar(0)
            self.scalars[char] = (one, zero, ctypes.addressof(one), ctypes.addressof(zero))
            single = getattr(self.library, prefix + "gemm_v2")
            # handle, op_a, op_b, m, n, k, alpha, a, ld_a, b, ld_b, beta, c, ld_c
            single.argtypes = ([pointer] + [integer] * 5 + [pointer, pointer, integer, pointer,
                                                            integer, pointer, pointer, integer])
            strided = getattr(self.library, prefix + "gemmStridedBatched")
            # the same with a stride between the matrices after each leading dimension, and a count
            stride = ctypes.c_longlong
            strided.argtypes = ([pointer] + [integer] * 5 + [pointer, pointer, integer, stride,
                                                             pointer, integer, stride, pointer,
                                                             pointer, integer, stride, integer])
            self.functions[char] = single, strided

    def gemm(self, char, op_a, op_b, m, n, k, a, ld_a, stride_a, b, ld_b, stride_b, c, ld_c,
             stride_c, batch):
        stream = xp.cuda.get_current_stream().ptr
        if stream != self.stream:
            self._check(self.library.cublasSetStream_v2(self.handle, stream), "cublasSetStream")
            self._check(self.library.cublasSetWorkspace_v2(self.handle, self.workspace.data.ptr,
                                                           WORKSPACE_BYTES), "cublasSetWorkspace")
            self.stream = stream
        single, strided = self.functions[char]
        one, zero = self.scalars[char][2:]
        if batch == 1:  # a plain GEMM: the call whose algorithm choice cuBLAS tunes most
            status = single(self.handle, op_a, op_b, m, n, k, one, a, ld_a, b, ld_b, zero, c, ld_c)
        else:
            status = strided(self.handle, op_a, op_b, m, n, k, one, a, ld_a, stride_a, b, ld_b,
                             stride_b, zero, c, ld_c, stride_c, batch)
        self._check(status, "GEMM")

    @staticmethod
    def _check(status, what):
        if status != 0:
            raise RuntimeError(f"cuBLAS {what} failed with status {status}")


_handle = None


def _cublas():
    global _handle
    if _handle is None:
        _handle = _Cublas()
    return _handle


def _libcublas_path():
    """The libcublas CuPy's cuBLAS bindings loaded (a CUDA toolkit's or a pip wheel's)."""
    import cupy_backends.cuda.libs.cublas  # noqa: F401  loads the library if CuPy has not yet
    with open(f"/proc/{os.getpid()}/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if os.path.basename(path).startswith("libcublas.so"):
                return path
    raise RuntimeError("cuBLAS: CuPy's libcublas is not loaded in this process")
