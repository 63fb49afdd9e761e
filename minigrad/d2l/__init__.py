"""`from minigrad import d2l`: the d2l package's (1.0.3) helpers for the book's chapters on
convolutional networks, over minigrad, with the book's names, signatures and printed lines.

    import minigrad as torch
    from minigrad import nn
    from minigrad import d2l
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=256)
    d2l.train_ch6(net, train_iter, test_iter, num_epochs=10, lr=0.9, device=d2l.try_gpu())

and the English edition's (d2l.ai, chapters 7-8) object-oriented API:

    class Net(d2l.Classifier): ...      # self.net, lr
    d2l.Trainer(max_epochs=10, num_gpus=1).fit(Net(lr=0.1), d2l.FashionMNIST(batch_size=128))

`d2l.plt` is matplotlib.pyplot, imported when first used.
"""
import minigrad as _torch

from .blocks import ResNeXtBlock, Residual
from .board import ProgressBoard
from .data import (get_dataloader_workers, get_fashion_mnist_labels, load_array,
                   load_data_fashion_mnist)
from .framework import (Classifier, DataModule, FashionMNIST, HyperParameters, LeNet, Module,
                        Trainer, add_to_class, init_cnn)
from .plotting import (Animator, plot, set_axes, set_figsize, show_images, use_svg_display)
from .training import (Accumulator, Timer, accuracy, corr2d, cpu, evaluate_accuracy_gpu, gpu,
                       num_gpus, train_ch6, try_all_gpus, try_gpu)

# The book's tensor aliases (d2l's config.ini), over minigrad.
ones_like, ones, zeros_like, zeros = _torch.ones_like, _torch.ones, _torch.zeros_like, _torch.zeros
tensor, arange, linspace, eye = _torch.tensor, _torch.arange, _torch.linspace, _torch.eye
sin, cos, tanh, exp, log, abs = _torch.sin, _torch.cos, _torch.tanh, _torch.exp, _torch.log, _torch.abs
sinh, cosh, meshgrid, batch_matmul = _torch.sinh, _torch.cosh, _torch.meshgrid, _torch.bmm
sigmoid, normal, rand, randn, matmul = (_torch.sigmoid, _torch.normal, _torch.rand, _torch.randn,
                                        _torch.matmul)
int32, int64, float32 = _torch.int32, _torch.int64, _torch.float32
concat, stack = _torch.cat, _torch.stack
nn_Module = _torch.nn.Module


def _method(name):
    """The book's function form of a Tensor method: `d2l.reshape(x, shape)` is `x.reshape(shape)`."""
    def alias(x, *args, **kwargs):
        return getattr(x, name)(*args, **kwargs)
    alias.__name__ = alias.__qualname__ = name
    return alias


def numpy(x, *args, **kwargs):
    return x.detach().numpy(*args, **kwargs)


size, reshape, to = _method("numel"), _method("reshape"), _method("to")
reduce_sum, reduce_mean, argmax = _method("sum"), _method("mean"), _method("argmax")
astype, transpose, expand_dims = _method("type"), _method("t"), _method("unsqueeze")
swapaxes, repeat = _method("swapaxes"), _method("repeat")


def __getattr__(name):
    if name == "plt":
        from .plotting import pyplot
        return pyplot()
    raise AttributeError(f"module 'minigrad.d2l' has no attribute {name!r}")
