"""Training loops: fit / Trainer with a progress bar and a per-epoch history, evaluate_accuracy, and
plot_history (matplotlib, from the `plot` extra)."""
import sys
import time

from tqdm import tqdm

from .autograd import no_grad
from .device import Device
from .serialization import save


# Sums of the loss and of the correct predictions stay on the batches' device, where reading one is
# a host sync (on a GPU, a stall): the progress bar reads them at most this often, the epoch once.
PROGRESS_SECONDS = 0.5


def _correct(output, target):
    """How many rows' largest output is the target: a tensor on their device."""
    return (output.argmax(dim=1) == target).sum()


def _to(batch, device):
    return batch if device is None else batch.to(device)


def evaluate_accuracy(net, data_iter, device=None):
    """The fraction of samples whose largest output is the target, in eval mode, without grad."""
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
    return int(correct) / max(total, 1)


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
    """

    def __init__(self, net, optimizer, loss, device=None, checkpoint=None, progress=True,
                 scheduler=None, scheduler_interval="epoch"):
        if scheduler_interval not in ("epoch", "batch"):
            raise ValueError(f"scheduler_interval must be 'epoch' or 'batch', got "
                             f"{scheduler_interval!r}")
        self.net, self.optimizer, self.loss = net, optimizer, loss
        self.device = None if device is None else Device(device)
        self.checkpoint, self.progress = checkpoint, progress
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.history = History()
        if self.device is not None and hasattr(net, "to"):
            net.to(self.device)

    def train_epoch(self, train_loader, epoch, epochs):
        self.net.train()
        loss_sum = correct = seen = 0
        start = shown = time.perf_counter()
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", leave=True, file=sys.stdout,
                   disable=not self.progress, dynamic_ncols=True)
        for X, y in bar:
            X, y = _to(X, self.device), _to(y, self.device)
            output = self.net(X)
            loss = self.loss(output, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_interval == "batch":
                self.scheduler.step()
            n = y.shape[0]
            with no_grad():
                loss_sum = loss.detach() * n + loss_sum
                correct = _correct(output, y) + correct
            seen += n
            now = time.perf_counter()
            if self.progress and now - shown >= PROGRESS_SECONDS:
                shown = now
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.4f}",
                                acc=f"{int(correct) / seen:.3f}", img_s=f"{seen / (now - start):.0f}")
        loss_sum, correct = float(loss_sum), int(correct)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        seconds = time.perf_counter() - start
        return loss_sum / max(seen, 1), correct / max(seen, 1), seen / seconds, seconds

    def fit(self, train_loader, test_loader=None, epochs=1):
        for epoch in range(len(self.history) + 1, len(self.history) + epochs + 1):
            loss, train_acc, images_per_s, seconds = self.train_epoch(train_loader, epoch, epochs)
            test_acc = None if test_loader is None else evaluate_accuracy(self.net, test_loader,
                                                                          self.device)
            self.history.append({"epoch": epoch, "loss": loss, "train_acc": train_acc,
                                 "test_acc": test_acc, "images_per_s": images_per_s,
                                 "seconds": seconds})
            if self.progress:
                shown = "" if test_acc is None else f", test acc {test_acc:.4f}"
                print(f"epoch {epoch}: loss {loss:.4f}, train acc {train_acc:.4f}{shown}, "
                      f"{images_per_s:.0f} images/s, {seconds:.1f} s")
            if self.checkpoint is not None:
                save({"model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                      "epoch": epoch}, self.checkpoint)
        return self.history


def fit(net, train_loader, test_loader, epochs, optimizer, loss, device=None, checkpoint=None,
        progress=True, scheduler=None, scheduler_interval="epoch"):
    """Train for `epochs` and return the History (see Trainer)."""
    trainer = Trainer(net, optimizer, loss, device, checkpoint, progress, scheduler,
                      scheduler_interval)
    return trainer.fit(train_loader, test_loader, epochs)
