"""The model zoo of d2l.ai's chapters on modern CNNs (PyTorch edition), built from ``minigrad.nn``
with d2l's layouts, so that ``state_dict`` keys match the same network written with ``torch.nn``.

Every constructor takes ``in_channels=1`` and ``num_classes=10`` (d2l trains on Fashion-MNIST). The
networks d2l closes with a fully connected layer sized for one input resolution (``lenet``: 28x28,
``alexnet``: 224x224, ``vgg11``: 224x224) take ``image_size`` to size that layer for another one;
``resnet18`` and ``densenet`` take ``small_input=True`` for a 3x3 stride-1 stem without max pooling
(for 28x28 or 32x32 inputs, as CIFAR ResNets do).

``summary(net, input_shape)`` prints d2l's ``layer_summary`` as a table and returns its rows.
"""
from .summary import SummaryRow, count_parameters, summary
from .zoo import alexnet, densenet, googlenet, lenet, nin, resnet18, vgg11

__all__ = ["lenet", "alexnet", "vgg11", "nin", "googlenet", "resnet18", "densenet", "summary",
           "SummaryRow", "count_parameters"]
