"""Training loops: fit / Trainer with a progress bar and a per-epoch history, evaluate_accuracy, and
plot_history (matplotlib, from the `plot` extra). Under a process group of several ranks (mpiexec)
the Trainer trains data-parallel: see Trainer."""
import itertools
import sys
import time

import numpy as np
from tqdm import tqdm

from . import cuda
from . import distributed as dist
from .autograd import no_grad
from .creation import tensor
from .data.distributed import DistributedSampler
from .device import Device
from .nn.parallel import DistributedDataParallel
from .ops.loss import check_target
from .serialization import save


# Sums of the loss and of the correct predictions stay on the batches' device, where reading one is
# a host sync (on a GPU, a stall): the progress bar reads them at most this often, the epoch once.
PROGRESS_SECONDS = 0.5


def _correct(output, target):
    """How many rows' largest output is the target: a tensor on their device."""
    return (output.argmax(dim=1) == target).sum()


def _length(loader):
    try:
        return len(loader)
    except TypeError:  # an iterable without a length: the bar counts without a total
        return None


def _to(batch, device):
    return batch if device is None else batch.to(device)


def _rank_and_world():
    """This process's rank and how many ranks train together: (0, 1) without a process group."""
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gathered(values):
    """Every rank's `values` (numbers), one row per rank in rank order: the same array on every
    rank, so sums and maxima taken from it are too."""
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # where the backend's tensors live
    mine = tensor(np.array(values, dtype=np.float64), device=device)
    everyone = [tensor(np.zeros(len(values)), device=device) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    return np.stack([row.cpu().numpy() for row in everyone])


def _unwrapped(net):
    """The model a DistributedDataParallel wraps (what a checkpoint holds), or `net` itself."""
    return net.module if isinstance(net, DistributedDataParallel) else net


def _correct_and_total(net, data_iter, device):
    was_training = getattr(net, "training", False)
    if hasattr(net, "eval"):
        net.eval()
    correct = total = 0
    with no_grad():
        for X, y in data_iter:
            X, y = _to(X, device), _to(y, device)
            correct = _correct(net(X), y) + correct
            total += y.numel()
    if was_training:
        net.train()
    return int(correct), total


def evaluate_accuracy(net, data_iter, device=None):
    """The fraction of samples whose largest output is the target, in eval mode, without grad."""
    correct, total = _correct_and_total(net, data_iter, device)
    return correct / max(total, 1)


class History(list):
    """One dict per epoch: epoch, loss, train_acc, test_acc (None without a test set), images_per_s,
    seconds."""

    def plot(self, path):
        plot_history(self, path)


def plot_history(history, path):
    """Draw loss and accuracy curves per epoch into a PNG file."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('plot_history needs matplotlib: pip install "minigrad[plot]"') from None
    epochs = [h["epoch"] for h in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, [h["loss"] for h in history], marker="o", label="train loss")
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.legend()
    right.plot(epochs, [h["train_acc"] for h in history], marker="o", label="train acc")
    if any(h["test_acc"] is not None for h in history):
        right.plot(epochs, [h["test_acc"] for h in history], marker="o", label="test acc")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


class Trainer:
    """Trains `net` with `optimizer` on `loss(net(X), y)`; `fit` runs epochs and returns a History.

    `checkpoint` (a path) saves {"model", "optimizer", "epoch"} after every epoch (atomically).
    `scheduler` is stepped after every epoch, or after every batch with scheduler_interval="batch"
    (what OneCycleLR expects).
    `cuda_graph=True` (device "cuda", an optimizer that can be captured: SGD) replays the training
    step from a CUDA graph (minigrad.cuda.CUDAGraph) instead of running its Python every batch: see
    GraphedSteps for when it still runs eagerly.

    Data-parallel training: under a process group of several ranks (`mpiexec -n N`,
    minigrad.distributed.init_process_group), with `net` a DistributedDataParallel and a train loader
    whose sampler is a DistributedSampler (its set_epoch(epoch - 1) is called before each epoch),
    every rank gets the same History: loss and train accuracy over all the ranks' samples, images/s
    counting all their images over the slowest rank's time, and the accuracy on the whole test
    loader (the ranks share its batches: see test_accuracy). Only rank 0 shows the progress bar and
    prints, and only rank 0 writes the checkpoint, whose "model" is the wrapped model's state (its
    keys without DDP's "module.", so it loads into the model alone).
    """

    def __init__(self, net, optimizer, loss, device=None, checkpoint=None, progress=True,
                 scheduler=None, scheduler_interval="epoch", cuda_graph=False):
        if scheduler_interval not in ("epoch", "batch"):
            raise ValueError(f"scheduler_interval must be 'epoch' or 'batch', got "
                             f"{scheduler_interval!r}")
        self.net, self.optimizer, self.loss = net, optimizer, loss
        self.device = None if device is None else Device(device)
        self.graphed = None
        if cuda_graph:
            if self.device is None or self.device.type != "cuda":
                raise ValueError(f"cuda_graph=True needs device='cuda', got device={device!r}")
            if not getattr(optimizer, "capturable", False):
                raise ValueError(f"cuda_graph=True: {type(optimizer).__name__}.step() cannot be "
                                 "captured in a CUDA graph (it keeps a step count on the host); "
                                 "use SGD or cuda_graph=False")
            self.graphed = GraphedSteps(self)
        self.checkpoint, self.progress = checkpoint, progress
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.history = History()
        if self.device is not None and hasattr(net, "to"):
            net.to(self.device)

    def train_epoch(self, train_loader, epoch, epochs):
        rank, world = _rank_and_world()
        shows_progress = self.progress and rank == 0
        set_epoch = getattr(getattr(train_loader, "sampler", None), "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch - 1)  # counted from 0, as a PyTorch loop's range(epochs) counts
        self.net.train()
        loss_sum = correct = seen = 0
        start = time.perf_counter()
        bar = None
        for X, y in train_loader:
            if self.graphed is None:
                y = _to(y, self.device)
                output, loss = self.step(_to(X, self.device), y)
            else:
                output, loss, y = self.graphed(X, y)
            if self.scheduler is not None and self.scheduler_interval == "batch":
                self.scheduler.step()
            n = y.shape[0]
            with no_grad():
                loss_sum = loss.detach() * n + loss_sum
                correct = _correct(output, y) + correct
            seen += n
            now = time.perf_counter()
            # the first step may have compiled kernels: the bar's rate, ETA, images/s start after it
            if bar is None:
                bar = tqdm(total=_length(train_loader), initial=1, desc=f"epoch {epoch}/{epochs}",
                           leave=True, file=sys.stdout, disable=not shows_progress,
                           dynamic_ncols=True)
                warm_start = shown = now
                warm_seen = seen
                continue
            bar.update()
            if shows_progress and now - shown >= PROGRESS_SECONDS:
                shown = now
                # this rank's sums; its peers' rate taken to be its own, not asked for mid-epoch
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.4f}",
                                acc=f"{int(correct) / seen:.3f}",
                                img_s=f"{world * (seen - warm_seen) / (now - warm_start):.0f}")
        if bar is not None:
            bar.close()
        loss_sum, correct = float(loss_sum), int(correct)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        seconds = time.perf_counter() - start
        if world > 1:  # one collective per epoch for the sums and counts of all the ranks
            everyone = _gathered([loss_sum, correct, seen, seconds])
            loss_sum, correct, seen = everyone[:, :3].sum(axis=0).tolist()
            seconds = float(everyone[:, 3].max())
        return loss_sum / max(seen, 1), correct / max(seen, 1), seen / seconds, seconds

    def test_accuracy(self, test_loader):
        """The accuracy on the whole of `test_loader`. Under a process group of several ranks,
        every rank returns the same number: rank r evaluates batches r, r + N, r + 2N, ... of
        `test_loader` (each rank's own shard where its sampler is a DistributedSampler) with rank 0's
        model, and the counts are summed."""
        rank, world = _rank_and_world()
        if world == 1:
            return evaluate_accuracy(self.net, test_loader, self.device)
        # the wrapped model: DDP's forward would broadcast buffers, a collective per batch
        model = _unwrapped(self.net)
        with no_grad():
            for buffer in model.buffers():  # rank 0's running statistics: the checkpoint's model
                dist.broadcast(buffer, src=0)
        if isinstance(getattr(test_loader, "sampler", None), DistributedSampler):
            batches = test_loader
        else:  # every rank still loads the batches it skips: only the forward passes are shared
            batches = itertools.islice(test_loader, rank, None, world)
        correct, total = _gathered(_correct_and_total(model, batches, self.device)).sum(axis=0)
        return float(correct / max(total, 1))

    def step(self, X, y):
        """One training step on a batch on the model's device: (output, loss)."""
        output = self.net(X)
        loss = self.loss(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return output, loss

    def fit(self, train_loader, test_loader=None, epochs=1):
        rank, world = _rank_and_world()
        for epoch in range(len(self.history) + 1, len(self.history) + epochs + 1):
            loss, train_acc, images_per_s, seconds = self.train_epoch(train_loader, epoch, epochs)
            test_acc = None if test_loader is None else self.test_accuracy(test_loader)
            self.history.append({"epoch": epoch, "loss": loss, "train_acc": train_acc,
                                 "test_acc": test_acc, "images_per_s": images_per_s,
                                 "seconds": seconds})
            if self.progress and rank == 0:
                shown = "" if test_acc is None else f", test acc {test_acc:.4f}"
                print(f"epoch {epoch}: loss {loss:.4f}, train acc {train_acc:.4f}{shown}, "
                      f"{images_per_s:.0f} images/s, {seconds:.1f} s")
            if self.checkpoint is not None:
                if rank == 0:
                    save({"model": _unwrapped(self.net).state_dict(),
                          "optimizer": self.optimizer.state_dict(), "epoch": epoch}, self.checkpoint)
                if world > 1:  # no rank goes on (and perhaps reads the file) before it is written
                    dist.barrier()
        return self.history


def fit(net, train_loader, test_loader, epochs, optimizer, loss, device=None, checkpoint=None,
        progress=True, scheduler=None, scheduler_interval="epoch", cuda_graph=False):
    """Train for `epochs` and return the History (see Trainer)."""
    trainer = Trainer(net, optimizer, loss, device, checkpoint, progress, scheduler,
                      scheduler_interval, cuda_graph)
    return trainer.fit(train_loader, test_loader, epochs)


class GraphedSteps:
    """A Trainer's step captured in a CUDA graph once per batch shape and replayed for the batches
    after. The first WARMUP_STEPS batches of a shape run eagerly (the first creates the momentum
    buffers, which the capture must find in place); a change of the optimizer's options (a learning
    rate schedule) drops the captures, so a rate changed every batch keeps every step eager."""

    WARMUP_STEPS = 2

    def __init__(self, trainer):
        self.trainer = trainer
        self.captures, self.eager_steps, self.options = {}, {}, None

    def __call__(self, X, y):
        """One step on the batch (X, y): (output, loss, y on the device)."""
        trainer = self.trainer
        options = [[(key, value) for key, value in sorted(group.items()) if key != "params"]
                   for group in trainer.optimizer.param_groups]
        if options != self.options:
            self.captures.clear()
            self.eager_steps.clear()
            self.options = options
        shape = (tuple(X.shape), X.dtype, tuple(y.shape), y.dtype)
        capture = self.captures.get(shape)
        if capture is None:
            self.eager_steps[shape] = self.eager_steps.get(shape, 0) + 1
            if self.eager_steps[shape] <= self.WARMUP_STEPS:
                y = _to(y, trainer.device)
                return trainer.step(_to(X, trainer.device), y) + (y,)
            capture = self.captures[shape] = _CapturedStep(trainer, X, y)
        return capture.replay(X, y)


class _CapturedStep:
    """The static batch a captured step reads, its output and loss, and the gradients it makes."""

    def __init__(self, trainer, X, y):
        self.trainer = trainer
        self.X, self.y = X.to(trainer.device).clone(), y.to(trainer.device).clone()
        self.graph = cuda.CUDAGraph()
        try:
            with cuda.graph(self.graph):
                self.output, self.loss = trainer.step(self.X, self.y)
        except Exception as error:
            raise RuntimeError(f"Trainer(cuda_graph=True): the training step cannot be captured "
                               f"in a CUDA graph ({error}); use cuda_graph=False") from error
        self.parameters = [p for group in trainer.optimizer.param_groups for p in group["params"]]
        self.grads = [p.grad for p in self.parameters]

    def replay(self, X, y):
        loss = self.trainer.loss
        if hasattr(loss, "ignore_index"):  # the capture could not check the targets' values
            check_target(type(loss).__name__, self.output, y, loss.ignore_index)
        for static, batch in ((self.X, X), (self.y, y)):  # into the memory the capture reads
            static.copy_(batch if batch.device == static.device else batch.numpy())
        self.graph.replay()
        for p, grad in zip(self.parameters, self.grads):  # the gradients this replay wrote
            p.grad = grad
        return self.output, self.loss, self.y
