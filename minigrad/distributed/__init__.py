"""torch.distributed's names over MPI (CPU tensors) and NCCL (CUDA tensors).

    mpiexec -n 2 python train.py        # in train.py:
    import minigrad.distributed as dist
    dist.init_process_group("mpi")      # ranks and world size come from the MPI launcher
    dist.all_reduce(t, op=dist.ReduceOp.SUM)

Collectives work in place on contiguous tensors, as torch's do; with `async_op=True` they return a
`Work` whose `wait()` finishes them. Arrays go to MPI or NCCL as buffers, never pickled. Every wait
has the group's deadline (`timeout=`), and an uncaught exception on one rank aborts every rank, so a
failing rank never leaves the others hanging. Without a launcher the group has one rank.

`init_process_group` also gives each rank its share of the machine's cores (Numba's threads divided
by the ranks on the node) unless NUMBA_NUM_THREADS or OMP_NUM_THREADS chose a count: two ranks of
two threads on two cores would run at half speed.
"""
import datetime
import enum
import importlib.util
import os
import time

from .. import autograd
from ..device import get_device, get_num_threads, set_num_threads
from ..tensor import Tensor

__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "get_rank", "get_world_size", "get_backend",
           "ReduceOp", "Work", "group", "all_reduce", "broadcast", "all_gather",
           "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor", "reduce", "gather",
           "scatter", "barrier"]

default_pg_timeout = datetime.timedelta(minutes=30)


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class ProcessGroup:
    """The world: every rank the launcher started."""

    def __init__(self, backend, transport, timeout):
        self.backend, self.transport, self.timeout = backend, transport, timeout

    def rank(self):
        return self.transport.rank

    def size(self):
        return self.transport.size


class group:
    WORLD = None  # the world ProcessGroup once init_process_group made it (torch's dist.group.WORLD)


class Work:
    """A collective in flight: `wait()` blocks until it is done (then finishes any copy-out) and
    returns True; `is_completed()` asks without blocking."""

    def __init__(self, process_group, request, name, finish=None):
        self._group, self._request, self._name, self._finish = process_group, request, name, finish
        self._done = False

    def is_completed(self):
        if not self._done and self._group.transport.test(self._request):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if self._done:
            return True
        transport = self._group.transport
        seconds = _seconds(timeout or self._group.timeout)
        deadline, pause = time.monotonic() + seconds, 0.0
        while not transport.test(self._request):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self._name} timed out after {seconds:g} s on rank {transport.rank} of "
                    f"{transport.size}: a peer rank never joined it (it failed, hung, or called "
                    f"the collectives in another order)")
            time.sleep(pause)
            pause = min(2 * pause or 1e-5, 1e-3)
        self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def _seconds(timeout):
    return timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)


_world = None


def is_available():
    return is_mpi_available()


def is_mpi_available():
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available():
    return is_mpi_available() and importlib.util.find_spec("cupy") is not None


def is_initialized():
    return _world is not None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the ranks the MPI launcher started. `backend`: "mpi" for CPU tensors ("gloo", torch's
    CPU backend, means the same here), "nccl" for CUDA tensors; by default the one for the current
    device. `world_size` and `rank`, when given, must be what the launcher says."""
    if _world is not None:
        raise RuntimeError("trying to initialize the default process group twice")
    if backend is None:
        backend = "nccl" if get_device().type == "cuda" else "mpi"
    backend = str(backend).lower()
    if backend in ("mpi", "gloo"):
        from .mpi import Transport
    elif backend == "nccl":
        from .nccl import Transport
    else:
        raise ValueError(f'unknown backend {backend!r}: minigrad.distributed has "mpi" (or "gloo") '
                         f'for CPU tensors and "nccl" for CUDA tensors')
    transport = Transport()
    for name, given, actual in (("world_size", world_size, transport.size),
                                ("rank", rank, transport.rank)):
        if given not in (-1, None) and given != actual:
            transport.close()
            raise ValueError(f"init_process_group({name}={given}), but the MPI launcher started "
                             f"this process with {name} {actual}")
    if (transport.local_size > 1 and "NUMBA_NUM_THREADS" not in os.environ
            and "OMP_NUM_THREADS" not in os.environ):
        set_num_threads(max(1, get_num_threads() // transport.local_size))
    _set_world(ProcessGroup(backend, transport, default_pg_timeout if timeout is None else timeout))


def _set_world(process_group):
    global _world
    _world = group.WORLD = process_group


def destroy_process_group(group=None):
    _check_group(group).transport.close()
    _set_world(None)


class ProcessGroupNotInitializedError(RuntimeError, ValueError):
    """No default process group: torch 2.13 raises a ValueError here, older versions a
    RuntimeError, so this is both and either `except` catches it."""


def _check_group(process_group=None):
    if _world is None:
        raise ProcessGroupNotInitializedError("Default process group has not been initialized, please make sure to "
                           "call init_process_group.")
    if process_group is not None and process_group is not _world:
        raise ValueError("minigrad.distributed has only the world group (group=None)")
    return _world


def get_rank(group=None):
    return _check_group(group).rank()


def get_world_size(group=None):
    return _check_group(group).size()


def get_backend(group=None):
    return _check_group(group).backend


def _array(tensor, what, process_group):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} must be a minigrad tensor, got {type(tensor).__name__}")
    array = tensor._data
    if not array.flags.c_contiguous:
        raise ValueError(f"{what} must be contiguous (shape {tuple(tensor.shape)}, strides "
                         f"{array.strides}); call .contiguous() first")
    device = process_group.transport.device_type
    if tensor.device.type != device:
        raise RuntimeError(f"the {process_group.backend!r} backend works on {device} tensors, got "
                           f"a {tensor.device.type} tensor ({what})")
    return array


def _modified(*tensors):
    for tensor in tensors:
        tensor._version.value += 1


def _reduce_op(op, array):
    op = ReduceOp(op.value if isinstance(op, ReduceOp) else op)
    if op is ReduceOp.AVG and array.dtype.kind != "f":
        raise TypeError(f"ReduceOp.AVG needs a floating-point tensor, got {array.dtype}")
    return op


def _started(process_group, request, name, async_op, finish=None):
    work = Work(process_group, request, name, finish)
    if async_op:
        return work
    work.wait()
    return None


def _averaged(process_group, op, array):
    """What finishes a reduction: MPI has no average, so SUM and divide (None: nothing to do)."""
    if op is not ReduceOp.AVG or process_group.backend == "nccl":
        return None

    def divide():
        array[...] /= process_group.size()
    return divide


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    process_group = _check_group(group)
    array = _array(tensor, "all_reduce's tensor", process_group)
    op = _reduce_op(op, array)
    request = process_group.transport.all_reduce(array, op.value)
    _modified(tensor)
    return _started(process_group, request, "all_reduce", async_op,
                    _averaged(process_group, op, array))


def broadcast(tensor, src, group=None, async_op=False):
    process_group = _check_group(group)
    _check_rank(src, "src", process_group)
    request = process_group.transport.broadcast(_array(tensor, "broadcast's tensor", process_group),
                                                src)
    _modified(tensor)
    return _started(process_group, request, "broadcast", async_op)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    process_group = _check_group(group)
    _check_rank(dst, "dst", process_group)
    array = _array(tensor, "reduce's tensor", process_group)
    op = _reduce_op(op, array)
    request = process_group.transport.reduce(array, dst, op.value)
    _modified(tensor)
    finish = _averaged(process_group, op, array) if process_group.rank() == dst else None
    return _started(process_group, request, "reduce", async_op, finish)


def _check_rank(rank, what, process_group):
    if not isinstance(rank, int) or not 0 <= rank < process_group.size():
        raise ValueError(f"{what}={rank!r} is not a rank of the group (ranks 0 to "
                         f"{process_group.size() - 1})")


def _check_list(tensors, tensor, what, process_group):
    """A list of one tensor per rank, each of `tensor`'s shape and dtype; their arrays."""
    size = process_group.size()
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        count = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{what} must be a list of {size} tensors (one per rank), got {count}")
    arrays = [_array(t, f"{what}[{i}]", process_group) for i, t in enumerate(tensors)]
    for i, array in enumerate(arrays):
        if array.shape != tensor._data.shape or array.dtype != tensor._data.dtype:
            raise ValueError(f"{what}[{i}] has shape {tuple(array.shape)} ({array.dtype}), but the "
                             f"tensor has shape {tuple(tensor.shape)} ({tensor._data.dtype})")
    return arrays


def _stacked(process_group, arrays):
    buffer = process_group.transport.empty((len(arrays),) + arrays[0].shape, arrays[0].dtype)
    for i, array in enumerate(arrays):
        buffer[i] = array
    return buffer


def _copy_out(buffer, tensors):
    def finish():
        for part, tensor in zip(buffer, tensors):
            tensor._data[...] = part
        _modified(*tensors)
    return finish


def all_gather(tensor_list, tensor, group=None, async_op=False):
    process_group = _check_group(group)
    array = _array(tensor, "all_gather's tensor", process_group)
    _check_list(tensor_list, tensor, "tensor_list", process_group)
    buffer = process_group.transport.empty((process_group.size(),) + array.shape, array.dtype)
    request = process_group.transport.all_gather(array, buffer)
    return _started(process_group, request, "all_gather", async_op, _copy_out(buffer, tensor_list))


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    process_group = _check_group(group)
    array = _array(input_tensor, "all_gather_into_tensor's input", process_group)
    out = _array(output_tensor, "all_gather_into_tensor's output", process_group)
    _check_concatenated(out, array, "output", process_group)
    request = process_group.transport.all_gather(array, out)
    _modified(output_tensor)
    return _started(process_group, request, "all_gather_into_tensor", async_op)


def _check_concatenated(whole, part, what, process_group):
    size = process_group.size()
    stacked = (size,) + part.shape
    concatenated = (size * part.shape[0],) + part.shape[1:] if part.ndim else stacked
    if whole.dtype != part.dtype or whole.shape not in (stacked, concatenated):
        raise ValueError(f"the {what} tensor of shape {tuple(whole.shape)} ({whole.dtype}) must "
                         f"hold {size} tensors of shape {tuple(part.shape)} ({part.dtype}), "
                         f"stacked or concatenated along dim 0")


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    process_group = _check_group(group)
    out = _array(output, "reduce_scatter's output", process_group)
    op = _reduce_op(op, out)
    arrays = _check_list(input_list, output, "input_list", process_group)
    request = process_group.transport.reduce_scatter(_stacked(process_group, arrays), out, op.value)
    _modified(output)
    return _started(process_group, request, "reduce_scatter", async_op,
                    _averaged(process_group, op, out))


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    process_group = _check_group(group)
    out = _array(output, "reduce_scatter_tensor's output", process_group)
    array = _array(input, "reduce_scatter_tensor's input", process_group)
    op = _reduce_op(op, out)
    _check_concatenated(array, out, "input", process_group)
    request = process_group.transport.reduce_scatter(array, out, op.value)
    _modified(output)
    return _started(process_group, request, "reduce_scatter_tensor", async_op,
                    _averaged(process_group, op, out))


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    process_group = _check_group(group)
    _check_rank(dst, "dst", process_group)
    array = _array(tensor, "gather's tensor", process_group)
    buffer = finish = None
    if process_group.rank() == dst:
        _check_list(gather_list, tensor, "gather_list", process_group)
        buffer = process_group.transport.empty((process_group.size(),) + array.shape, array.dtype)
        finish = _copy_out(buffer, gather_list)
    elif gather_list:
        raise ValueError(f"gather_list is given on rank {process_group.rank()}, which is not the "
                         f"destination rank {dst}")
    request = process_group.transport.gather(array, buffer, dst)
    return _started(process_group, request, "gather", async_op, finish)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    process_group = _check_group(group)
    _check_rank(src, "src", process_group)
    out = _array(tensor, "scatter's tensor", process_group)
    send = None
    if process_group.rank() == src:
        send = _stacked(process_group, _check_list(scatter_list, tensor, "scatter_list",
                                                   process_group))
    elif scatter_list:
        raise ValueError(f"scatter_list is given on rank {process_group.rank()}, which is not the "
                         f"source rank {src}")
    request = process_group.transport.scatter(send, out, src)
    _modified(tensor)
    return _started(process_group, request, "scatter", async_op)


def barrier(group=None, async_op=False, device_ids=None):
    process_group = _check_group(group)
    return _started(process_group, process_group.transport.barrier(), "barrier", async_op)


def _sum_now(array):
    process_group, total = _check_group(), array.copy()
    _started(process_group, process_group.transport.all_reduce(total, "sum"), "all_reduce", False)
    return total


class AllReduceSum(autograd.Function):
    """A sum over the ranks that gradients flow back through: each rank's input gets the sum of
    every rank's output gradient (what SyncBatchNorm's statistics need)."""

    def forward(self, x):
        return _sum_now(x)

    def backward(self, grad):
        return _sum_now(grad)
