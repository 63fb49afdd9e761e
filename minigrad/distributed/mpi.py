"""The MPI transport (mpi4py): collectives on contiguous NumPy arrays, passed to MPI as buffers.

Every call starts a non-blocking collective and returns its MPI request; the process group waits on
it with a deadline, so a rank whose peers are gone raises instead of hanging.
"""
import os
import sys

import numpy as np

try:
    from mpi4py import MPI
except ImportError as error:  # the `distributed` extra brings mpi4py and an MPI library
    raise ImportError('minigrad.distributed over MPI needs mpi4py and an MPI library: '
                      'pip install "minigrad[distributed]", then launch with mpiexec -n N') from error

OPS = {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX,
       "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}


class Transport:
    device_type = "cpu"

    def __init__(self):
        self.comm = MPI.COMM_WORLD.Dup()  # our own context: the user's MPI traffic never meets ours
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        _abort_on_uncaught_exception(self.comm)

    def all_reduce(self, array, op):
        return self.comm.Iallreduce(MPI.IN_PLACE, array, op=OPS[op])

    def broadcast(self, array, src):
        return self.comm.Ibcast(array, root=src)

    def all_gather(self, array, out):
        return self.comm.Iallgather(array, out)

    def reduce_scatter(self, array, out, op):
        return self.comm.Ireduce_scatter_block(array, out, op=OPS[op])

    def reduce(self, array, dst, op):
        send = MPI.IN_PLACE if self.rank == dst else array
        return self.comm.Ireduce(send, array, op=OPS[op], root=dst)

    def gather(self, array, out, dst):
        return self.comm.Igather(array, out, root=dst)

    def scatter(self, array, out, src):
        return self.comm.Iscatter(array, out, root=src)

    def barrier(self):
        return self.comm.Ibarrier()

    @staticmethod
    def test(request):
        return request.Test()

    @staticmethod
    def empty(shape, dtype):
        return np.empty(shape, dtype)

    def abort(self):
        self.comm.Abort(1)

    def close(self):
        self.comm.Free()


def _abort_on_uncaught_exception(comm):
    """An exception that ends one rank ends them all (MPI_Abort), instead of leaving its peers
    waiting in a collective for a rank that has gone."""
    previous = sys.excepthook

    def abort(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.write(f"minigrad.distributed: rank {comm.Get_rank()} (pid {os.getpid()}) raised "
                         f"{kind.__name__}; aborting all ranks\n")
        sys.stderr.flush()
        comm.Abort(1)

    if getattr(sys.excepthook, "__name__", "") != "abort":
        sys.excepthook = abort

