"""The English edition's object-oriented API (d2l.ai, d2l 1.0.3): HyperParameters, Module,
DataModule, Trainer, Classifier, the FashionMNIST DataModule, add_to_class and init_cnn.

    model = LeNet(lr=0.1)
    data = d2l.FashionMNIST(batch_size=128)
    model.apply_init([next(iter(data.get_dataloader(True)))[0]], d2l.init_cnn)
    d2l.Trainer(max_epochs=10, num_gpus=1).fit(model, data)

The training curves go to a ProgressBoard (`minigrad.d2l.board`): inline in Jupyter, a PNG from a
script.
"""
import inspect
import math

from .. import data as _data
from .. import nn, optim
from ..autograd import no_grad
from ..dtypes import float32
from ..nn import functional as F
from ..vision import transforms
from ..creation import randn
from . import training
from .data import _check_resize, fashion_mnist, get_fashion_mnist_labels


def add_to_class(Class):
    """`@add_to_class(A)` over a function makes it a method of `A` (of objects made before too);
    the function is returned as well (d2l's decorator returns None)."""
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)
        return obj
    return wrapper


class HyperParameters:
    """The base class of objects that keep their constructor's arguments as attributes."""

    def save_hyperparameters(self, ignore=[]):
        """Set every local variable of the calling function (in `__init__`, its arguments) as an
        attribute, and all of them in `self.hparams`, except `self`, those named in `ignore` and
        those whose name starts with an underscore."""
        frame = inspect.currentframe().f_back
        try:
            local_vars = dict(frame.f_locals)
        finally:
            del frame
        skip = set(ignore) | {"self"}
        self.hparams = {k: v for k, v in local_vars.items()
                        if k not in skip and not k.startswith("_")}
        for k, v in self.hparams.items():
            setattr(self, k, v)


class Module(nn.Module, HyperParameters):
    """The base class of the book's models: an nn.Module with `loss`, `training_step`,
    `validation_step`, `configure_optimizers` and a ProgressBoard (`board`) its steps plot to."""

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        from .board import ProgressBoard
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        assert hasattr(self, "net"), "Neural network is defined"
        return self.net(X)

    def plot(self, key, value, train):
        """Plot a point in animation: `train_<key>` plot_train_per_epoch times an epoch (the mean
        of the batches' values), `val_<key>` plot_valid_per_epoch times."""
        assert hasattr(self, "trainer"), "Trainer is not inited"
        self.board.xlabel = "epoch"
        if train:
            x = self.trainer.train_batch_idx / self.trainer.num_train_batches
            n = self.trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = self.trainer.epoch + 1
            n = self.trainer.num_val_batches / self.plot_valid_per_epoch
        value = value.detach() if hasattr(value, "detach") else value
        self.board.draw(x, float(value), ("train_" if train else "val_") + key, every_n=int(n))

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=False)

    def configure_optimizers(self):
        return optim.SGD(self.parameters(), lr=self.lr)

    def apply_init(self, inputs, init=None):
        """A forward pass on `inputs` (a list of the forward's arguments) so that lazy layers
        get their shapes, then `init` applied to every module of `self.net`."""
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


class DataModule(HyperParameters):
    """The base class of the book's data: `get_dataloader(train)` gives the loaders."""

    def __init__(self, root="../data", num_workers=4):
        self.save_hyperparameters()

    def get_dataloader(self, train):
        raise NotImplementedError

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        """A DataLoader over `tensors[indices]` in batches of `self.batch_size`, shuffled when
        `train`."""
        tensors = tuple(a[indices] for a in tensors)
        dataset = _data.TensorDataset(*tensors)
        return _data.DataLoader(dataset, self.batch_size, shuffle=train)


class Trainer(HyperParameters):
    """Fits a Module to a DataModule: `fit(model, data)` runs `max_epochs` epochs of
    `training_step`s, then `validation_step`s in eval mode without grad; on the first
    `num_gpus` GPUs minigrad can use (none: the CPU); gradients clipped to a total norm of
    `gradient_clip_val` when it is positive."""

    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        self.save_hyperparameters()
        self.gpus = [training.gpu(i) for i in range(min(num_gpus, training.num_gpus()))]

    def prepare_data(self, data):
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = (len(self.val_dataloader)
                                if self.val_dataloader is not None else 0)

    def prepare_model(self, model):
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        if self.gpus:
            model.to(self.gpus[0])
        self.model = model

    def prepare_batch(self, batch):
        if self.gpus:
            batch = [a.to(self.gpus[0]) for a in batch]
        return batch

    def fit(self, model, data):
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.epoch = 0
        self.train_batch_idx = 0
        self.val_batch_idx = 0
        for self.epoch in range(self.max_epochs):
            self.fit_epoch()

    def fit_epoch(self):
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with no_grad():
                loss.backward()
                if self.gradient_clip_val > 0:
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is not None:
            self.model.eval()
            for batch in self.val_dataloader:
                with no_grad():
                    self.model.validation_step(self.prepare_batch(batch))
                self.val_batch_idx += 1
        board = getattr(self.model, "board", None)
        if hasattr(board, "flush"):  # a script's PNG: written once an epoch
            board.flush()

    def clip_gradients(self, grad_clip_val, model):
        """Scale the gradients down so that their total L2 norm is at most `grad_clip_val`."""
        params = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
        utils = getattr(nn, "utils", None)
        clip = getattr(utils, "clip_grad_norm_", None)
        if clip is not None:
            clip(params, grad_clip_val)
            return
        with no_grad():
            norm = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in params))
            if norm > grad_clip_val:
                for p in params:
                    p.grad.mul_(grad_clip_val / norm)


class Classifier(Module):
    """The base class of classification models: cross-entropy loss, and validation that plots
    the loss and the accuracy."""

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)
        self.plot("acc", self.accuracy(Y_hat, batch[-1]), train=False)

    def accuracy(self, Y_hat, Y, averaged=True):
        """The fraction of correct predictions (`averaged`), else a float32 0/1 per example."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(float32)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

    def layer_summary(self, X_shape):
        """Print each layer of `self.net` with the shape of its output on a random input."""
        param = next(iter(self.parameters()), None)  # on the model's device (the book: the CPU)
        X = randn(*X_shape, device=getattr(param, "device", None))
        with no_grad():
            for layer in self.net:
                X = layer(X)
                print(layer.__class__.__name__, "output shape:\t", X.shape)


class FashionMNIST(DataModule):
    """The Fashion-MNIST data set as a DataModule: images (B, 1, *resize) float32 in [0, 1]
    (resized per batch, bilinear, antialiased), found where `load_data_fashion_mnist` finds it."""

    def __init__(self, batch_size=64, resize=(28, 28)):
        super().__init__()
        self.save_hyperparameters()
        _check_resize(resize, "FashionMNIST")
        steps = [transforms.ToTensor()]
        if resize not in (28, (28, 28), [28, 28]):  # the stored size: nothing to resize
            steps.insert(0, transforms.Resize(resize))
        trans = transforms.Compose(steps)
        self.train = fashion_mnist(True, trans, self.root)
        self.val = fashion_mnist(False, trans, self.root)

    def text_labels(self, indices):
        return get_fashion_mnist_labels(indices)

    def get_dataloader(self, train):
        dataset = self.train if train else self.val
        return _data.DataLoader(dataset, self.batch_size, shuffle=train,
                                num_workers=self.num_workers)

    def visualize(self, batch, nrows=1, ncols=8, labels=[]):
        """Show the first nrows * ncols images of `batch` with their text labels."""
        from .plotting import show_images
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        show_images(X.squeeze(1), nrows, ncols, titles=labels)


def _inits_like(module, classes):
    """Whether `module` is exactly one of `classes`, or a lazy module (materialised) that becomes
    one (torch's LazyLinear turns into a Linear on its first forward)."""
    if type(module) in classes:
        return True
    becomes = getattr(type(module), "cls_to_become", None)
    uninitialized = getattr(module, "has_uninitialized_params", None)
    return becomes in classes and not (uninitialized is not None and uninitialized())


def init_cnn(module):
    """Xavier-uniform weights for every Linear and Conv2d (exactly those types, as the book);
    biases and other layers keep theirs. Use with `net.apply(init_cnn)` or `apply_init`."""
    if _inits_like(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)


class LeNet(Classifier):
    """The book's LeNet-5 (d2l.LeNet) with lazy layers: sigmoid activations, average pooling."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.LazyLinear(120), nn.Sigmoid(),
            nn.LazyLinear(84), nn.Sigmoid(),
            nn.LazyLinear(num_classes))
