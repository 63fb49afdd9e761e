"""torch.nn.parallel.DistributedDataParallel: one model per rank, gradients averaged in backward.

Parameters are grouped into buckets of about `bucket_cap_mb`, in reverse order of registration
(backward finishes the last layers first). A post-accumulate-grad hook on each parameter counts the
bucket's gradients; once a bucket is complete, and every bucket before it has started, its gradients
are copied into one flat buffer and its all-reduce starts without blocking, so communication runs
while backward goes on. At the end of backward (an autograd callback) the remaining buckets start,
every reduction is waited for, and the averages are written back into `.grad`.
"""
import contextlib

from .. import autograd
from .. import distributed as dist
from ..autograd import no_grad
from ..tensor import Tensor
from .module import Module

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel needs the default process group: call "
                               "minigrad.distributed.init_process_group first")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self.process_group = process_group
        parameters = [p for p in module.parameters() if p.requires_grad]
        with no_grad():
            _broadcast_coalesced(parameters + list(module.buffers()), process_group)
        self._reducer = _Reducer(parameters, int(bucket_cap_mb * 2**20), process_group)

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers:
            with no_grad():
                _broadcast_coalesced(list(self.module.buffers()), self.process_group)
        if autograd.is_grad_enabled() and self.require_backward_grad_sync:
            self._reducer.expect_backward()
        else:
            self._reducer.skip_backward()
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally; the first synchronised backward
        after averages the sum."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


def _broadcast_coalesced(tensors, process_group):
    """Rank 0's values of `tensors`, one broadcast per dtype."""
    by_dtype = {}
    for tensor in tensors:
        by_dtype.setdefault((tensor._data.dtype, tensor.device), []).append(tensor)
    for group in by_dtype.values():
        xp = group[0]._backend.xp
        flat = xp.concatenate([t._data.reshape(-1) for t in group])
        dist.broadcast(Tensor._make(flat, group[0]._backend), src=0, group=process_group)
        offset = 0
        for tensor in group:
            tensor._data[...] = flat[offset:offset + tensor._data.size].reshape(tensor._data.shape)
            offset += tensor._data.size


class _Bucket:
    def __init__(self, parameters):
        self.parameters = parameters
        xp, first = parameters[0]._backend.xp, parameters[0]
        self.flat = Tensor._make(xp.empty(sum(p._data.size for p in parameters), first._data.dtype),
                                 first._backend)
        self.ready = 0
        self.work = None

    def start(self, process_group):
        offset, flat = 0, self.flat._data
        for p in self.parameters:
            part = flat[offset:offset + p._data.size]
            if p.grad is None:  # unused on this rank: its peers' gradients still count
                part[...] = 0
            else:
                part[...] = p.grad._data.reshape(-1)
            offset += p._data.size
        self.work = dist.all_reduce(self.flat, dist.ReduceOp.AVG, group=process_group,
                                    async_op=True)

    def finish(self):
        self.work.wait()
        offset, flat = 0, self.flat._data
        for p in self.parameters:
            part = flat[offset:offset + p._data.size].reshape(p._data.shape)
            if p.grad is None:
                p.grad = Tensor._make(part.copy(), p._backend)
            else:
                p.grad._data[...] = part
            offset += p._data.size
        self.ready, self.work = 0, None


class _Reducer:
    def __init__(self, parameters, cap_bytes, process_group):
        self.process_group = process_group
        self.buckets, self.bucket_of = [], {}
        current, size = [], 0
        for p in reversed(parameters):
            if current and (size + p._data.nbytes > cap_bytes or p._data.dtype != current[0]._data.dtype
                            or p.device != current[0].device):
                self.buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p._data.nbytes
        if current:
            self.buckets.append(_Bucket(current))
        for index, bucket in enumerate(self.buckets):
            for p in bucket.parameters:
                self.bucket_of[id(p)] = index
                p.register_post_accumulate_grad_hook(self._gradient_ready)
        self.expecting, self.callback_queued, self.started = False, False, 0

    def expect_backward(self):
        self.expecting, self.callback_queued, self.started = True, False, 0
        for bucket in self.buckets:
            bucket.ready, bucket.work = 0, None

    def skip_backward(self):
        self.expecting = False

    def _gradient_ready(self, parameter):
        if not self.expecting:
            return
        if not self.callback_queued:
            autograd.queue_callback(self._finish)
            self.callback_queued = True
        self.buckets[self.bucket_of[id(parameter)]].ready += 1
        self._start_complete_buckets()
        for bucket in self.buckets[:self.started]:  # MPI moves a message on only inside its calls
            bucket.work.is_completed()

    def _start_complete_buckets(self):
        # in bucket order on every rank: MPI matches collectives by the order they start in
        while (self.started < len(self.buckets)
               and self.buckets[self.started].ready == len(self.buckets[self.started].parameters)):
            self.buckets[self.started].start(self.process_group)
            self.started += 1

    def _finish(self):
        for bucket in self.buckets[self.started:]:
            bucket.start(self.process_group)
        for bucket in self.buckets:
            bucket.finish()
        self.expecting = False
