"""torch.nn.SyncBatchNorm: batch normalisation whose statistics span every rank's batch.

In training, on a process group of more than one rank, each channel is normalised with the mean and
the biased variance of the samples of every rank, and gradients flow back through those statistics
to every rank's input (what one process would compute on the concatenated batch). Two all-reduces
per forward, each with its mirror in backward: the per-channel sums with the sample count (so the
ranks' batches may differ in size), then the per-channel sums of squared deviations from the global
mean, which loses less to rounding than subtracting the squared mean from a mean of squares.
Otherwise (eval, no process group, one rank) it is BatchNorm.
"""
from .. import creation
from .. import distributed as dist
from ..autograd import no_grad
from ..ops import cat
from .layers import _BatchNorm
from .parameter import is_lazy

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    # (N, C, ...) of every rank NumPy and CuPy hold (64 dims): _BatchNorm's rank check passes them all
    dims = range(2, 65)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.process_group = process_group

    def forward(self, input):
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm expected at least 2D input (got {input.ndim}D input of "
                             f"shape {tuple(input.shape)})")
        if not (self.training and self._world_size() > 1):
            return super().forward(input)
        self._check_channels(input)
        return self._normalize_over_ranks(input)

    def _world_size(self):
        return dist.get_world_size(self.process_group) if dist.is_initialized() else 1

    def _normalize_over_ranks(self, input):
        channels = input.shape[1]
        axes = (0,) + tuple(range(2, input.ndim))
        per_channel = (1, channels) + (1,) * (input.ndim - 2)
        # the count rides in the sums' message, in their dtype (exact up to 2**24 samples in float32)
        local_count = creation.full((1,), input.numel() // channels, dtype=input.dtype,
                                    device=input.device)
        totals = dist.AllReduceSum.apply(cat([input.sum(dim=axes), local_count]))
        count = int(round(totals[channels].item()))
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got {count} "
                             f"over {self._world_size()} ranks (this rank's input size "
                             f"{tuple(input.shape)})")
        mean = totals[:channels] / count
        centered = input - mean.reshape(per_channel)
        var = dist.AllReduceSum.apply((centered * centered).sum(dim=axes)) / count
        out = centered * (var + self.eps).rsqrt().reshape(per_channel)
        if self.weight is not None:
            out = out * self.weight.reshape(per_channel)
        if self.bias is not None:
            out = out + self.bias.reshape(per_channel)
        if self.track_running_stats:
            self._update_running_stats(mean, var, count)
        return out

    def _update_running_stats(self, mean, var, count):
        with no_grad():
            self.num_batches_tracked.add_(1)
            momentum = (1.0 / int(self.num_batches_tracked.item()) if self.momentum is None
                        else self.momentum)  # None: a cumulative moving average, as BatchNorm's
            self.running_mean.mul_(1 - momentum).add_(mean * momentum)
            # the running variance is the unbiased one, over the global count
            self.running_var.mul_(1 - momentum).add_(var * (momentum * count / (count - 1)))

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm in it (itself included) replaced by a SyncBatchNorm that
        holds the same Parameters and buffers; a BatchNorm shared by several parents stays shared."""
        return cls._converted(module, process_group, {})

    @classmethod
    def _converted(cls, module, process_group, done):
        if id(module) in done:
            return done[id(module)]
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls._from_batchnorm(module, process_group)
        done[id(module)] = converted
        for name, child in list(module._modules.items()):
            if child is not None:
                converted.add_module(name, cls._converted(child, process_group, done))
        return converted

    @classmethod
    def _from_batchnorm(cls, batchnorm, process_group):
        own = list(batchnorm._parameters.values()) + list(batchnorm._buffers.values())
        if any(is_lazy(tensor) for tensor in own):
            raise ValueError(f"convert_sync_batchnorm: {type(batchnorm).__name__} has not inferred "
                             f"num_features yet; run a forward pass through the model first")
        sync = cls(batchnorm.num_features, batchnorm.eps, batchnorm.momentum, batchnorm.affine,
                   batchnorm.track_running_stats, process_group)
        for name, parameter in batchnorm._parameters.items():
            setattr(sync, name, parameter)
        for name, buffer in batchnorm._buffers.items():
            sync.register_buffer(name, buffer, persistent=name not in batchnorm._non_persistent)
        sync.training = batchnorm.training
        return sync
