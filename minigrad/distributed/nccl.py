"""The NCCL transport (CuPy's cupy.cuda.nccl): collectives on contiguous CuPy arrays.

The ranks come from the MPI launcher, which also carries NCCL's unique id from rank 0 to the rest.
Each rank takes the GPU `local_rank % device_count` (one process per GPU). Every call is queued on
CuPy's current stream, in order with the kernels that made its input, and returns an event recorded
after it: the process group waits on the event with a deadline.
"""
import cupy
from cupy.cuda import nccl

from .mpi import Transport as MPITransport

OPS = {"sum": nccl.NCCL_SUM, "avg": nccl.NCCL_AVG, "product": nccl.NCCL_PROD,
       "min": nccl.NCCL_MIN, "max": nccl.NCCL_MAX}
DTYPES = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32,
          "float64": nccl.NCCL_FLOAT64, "int8": nccl.NCCL_INT8, "uint8": nccl.NCCL_UINT8,
          "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64}


class Transport:
    device_type = "cuda"

    def __init__(self):
        self.bootstrap = MPITransport()
        self.rank, self.size = self.bootstrap.rank, self.bootstrap.size
        self.local_rank, self.local_size = self.bootstrap.local_rank, self.bootstrap.local_size
        cupy.cuda.Device(self.local_rank % cupy.cuda.runtime.getDeviceCount()).use()
        unique_id = nccl.get_unique_id() if self.rank == 0 else None
        unique_id = self.bootstrap.comm.bcast(unique_id, root=0)
        self.comm = nccl.NcclCommunicator(self.size, unique_id, self.rank)

    def _queued(self):
        event = cupy.cuda.Event(block=False, disable_timing=True)
        event.record(cupy.cuda.get_current_stream())
        return event

    @staticmethod
    def _describe(array):
        if array.dtype.name not in DTYPES:
            raise TypeError(f"NCCL has no {array.dtype} collectives")
        return array.data.ptr, array.size, DTYPES[array.dtype.name]

    @staticmethod
    def _op(op):
        if op not in OPS:
            raise ValueError(f"NCCL has no ReduceOp.{op.upper()}")
        return OPS[op]

    def _stream(self):
        return cupy.cuda.get_current_stream().ptr

    def all_reduce(self, array, op):
        pointer, count, dtype = self._describe(array)
        self.comm.allReduce(pointer, pointer, count, dtype, self._op(op), self._stream())
        return self._queued()

    def broadcast(self, array, src):
        pointer, count, dtype = self._describe(array)
        self.comm.bcast(pointer, count, dtype, src, self._stream())
        return self._queued()

    def all_gather(self, array, out):
        pointer, count, dtype = self._describe(array)
        self.comm.allGather(pointer, out.data.ptr, count, dtype, self._stream())
        return self._queued()

    def reduce_scatter(self, array, out, op):
        pointer, count, dtype = self._describe(out)
        self.comm.reduceScatter(array.data.ptr, pointer, count, dtype, self._op(op), self._stream())
        return self._queued()

    def reduce(self, array, dst, op):
        pointer, count, dtype = self._describe(array)
        self.comm.reduce(pointer, pointer, count, dtype, self._op(op), dst, self._stream())
        return self._queued()

    def gather(self, array, out, dst):
        pointer, count, dtype = self._describe(array)
        stream = self._stream()
        nccl.groupStart()
        if self.rank == dst:
            for peer in range(self.size):
                if peer != dst:
                    self.comm.recv(out[peer].data.ptr, count, dtype, peer, stream)
        else:
            self.comm.send(pointer, count, dtype, dst, stream)
        nccl.groupEnd()
        if self.rank == dst:
            out[dst] = array
        return self._queued()

    def scatter(self, array, out, src):
        pointer, count, dtype = self._describe(out)
        stream = self._stream()
        nccl.groupStart()
        if self.rank == src:
            for peer in range(self.size):
                if peer != src:
                    self.comm.send(array[peer].data.ptr, count, dtype, peer, stream)
        else:
            self.comm.recv(pointer, count, dtype, src, stream)
        nccl.groupEnd()
        if self.rank == src:
            out[...] = array[src]
        return self._queued()

    def barrier(self):
        cupy.cuda.get_current_stream().synchronize()
        return self.bootstrap.barrier()

    @staticmethod
    def test(request):
        return request.done if isinstance(request, cupy.cuda.Event) else request.Test()

    @staticmethod
    def empty(shape, dtype):
        return cupy.empty(shape, dtype)

    def abort(self):
        self.comm.abort()
        self.bootstrap.abort()

    def close(self):
        self.comm.destroy()
        self.bootstrap.close()
