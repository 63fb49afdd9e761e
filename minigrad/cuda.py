"""`minigrad.cuda`: whether a GPU is usable, and CUDA graphs (torch.cuda.CUDAGraph, torch.cuda.graph).

Nothing GPU-related is imported until a GPU is asked for.
"""
import contextlib

from .device import backend, cuda_is_available as is_available  # noqa: F401
from .device import is_capturing as is_current_stream_capturing  # noqa: F401


def device_count():
    """The number of GPUs CuPy sees; 0 without CuPy or a GPU."""
    return backend("cuda").xp.cuda.runtime.getDeviceCount() if is_available() else 0


def synchronize():
    """Wait until the GPU has finished the work queued on it."""
    backend("cuda").xp.cuda.get_current_stream().synchronize()


class CUDAGraph:
    """GPU work recorded once and replayed with one launch, as torch.cuda.CUDAGraph.

    Why: a small model's training step is bound by Python's host time (LeNet on the lent H100: 2.9
    ms of host time a step, the GPU busy a fraction of it); a replay costs one launch. A replay runs
    what the capture recorded, on the same memory with the same host-side values:

    - copy each new batch into the tensors the capture read, and read results from the tensors it
      made (their values change with every replay);
    - a Python number the capture used is baked in (a learning rate: capture again after changing
      one; Adam's step count: not capturable);
    - a capture cannot read a GPU value on the host (.item(), printing a tensor, a data-dependent
      check) nor draw random numbers (every replay would reuse them); both raise;
    - run the step eagerly a few times before capturing it (the first optimizer step creates the
      momentum buffers), and start the captured step with zero_grad() (set_to_none) so that it
      makes its own gradients.

    Memory allocated during the capture comes from a pool of the graph's own: nothing outside the
    graph is handed memory that a replay writes.
    """

    def __init__(self):
        self._cuda = backend("cuda").xp.cuda  # without CuPy or a GPU: the clear set_device error
        self._pool = self._cuda.MemoryPool()
        self._graph = None
        self._capture = None  # the capture stream and allocator while recording

    def capture_begin(self):
        if self._graph is not None or self._capture is not None:
            raise RuntimeError("this CUDAGraph already holds a capture; call reset() first")
        current = self._cuda.get_current_stream()
        stream = self._cuda.Stream(non_blocking=True)  # CUDA cannot capture the default stream
        stream.wait_event(current.record())  # the capture comes after the work queued before it
        context = contextlib.ExitStack()
        context.enter_context(stream)
        context.enter_context(self._cuda.using_allocator(self._pool.malloc))
        self._capture = stream, context
        stream.begin_capture()

    def capture_end(self):
        if self._capture is None:
            raise RuntimeError("CUDAGraph.capture_end() without capture_begin()")
        stream, context = self._capture
        self._capture = None
        try:
            self._graph = stream.end_capture()
        finally:
            context.close()

    def replay(self):
        """Run the captured work on the current stream (asynchronously, as any GPU work)."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay() needs a capture first (minigrad.cuda.graph)")
        self._graph.launch()

    def reset(self):
        """Drop the captured work; the graph can capture again."""
        self._graph = None


@contextlib.contextmanager
def graph(cuda_graph):
    """`with minigrad.cuda.graph(g): ...` records the GPU work of the block into `g` (a CUDAGraph)
    instead of running it, as torch.cuda.graph. An error inside the block ends the capture and
    leaves `g` empty."""
    cuda_graph.capture_begin()
    try:
        yield cuda_graph
    except BaseException:
        try:
            cuda_graph.capture_end()  # the stream must leave capture mode
        except Exception:
            pass  # an invalidated capture says so here; the block's error is the one to see
        cuda_graph.reset()
        raise
    cuda_graph.capture_end()
