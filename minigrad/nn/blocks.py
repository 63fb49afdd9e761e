"""The classic CNN building blocks of the d2l.ai book (PyTorch edition), with d2l's definitions and
attribute names, so that a block's ``state_dict`` keys match the same block written with
``torch.nn``.

- ``Residual(input_channels, num_channels, use_1x1conv=False, strides=1)``: ResNet's basic block.
- ``DenseBlock(num_convs, input_channels, num_channels)``: DenseNet's block of BN-ReLU-conv units.
- ``TransitionBlock(input_channels, num_channels)``: DenseNet's BN-ReLU-1x1 conv-2x2 avg pool.
- ``Inception(in_channels, c1, c2, c3, c4)``: GoogLeNet's four-path block.
- ``NiNBlock(in_channels, out_channels, kernel_size, strides, padding)``: a conv and two 1x1 convs.
- ``VGGBlock(num_convs, in_channels, out_channels)``: 3x3 convs with ReLU, then a 2x2 max pool.

``TransitionBlock``, ``NiNBlock`` and ``VGGBlock`` are ``Sequential`` subclasses (d2l writes them as
functions returning an ``nn.Sequential``), so their children are named ``0``, ``1``, ... as there.
"""
from ..ops import cat
from . import functional as F
from .layers import AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d, ReLU
from .module import Module, Sequential

__all__ = ["Residual", "DenseBlock", "TransitionBlock", "Inception", "NiNBlock", "VGGBlock",
           "conv_block"]


class Residual(Module):
    """d2l's residual block: conv3x3(stride)-BN-ReLU-conv3x3-BN, plus the input (through a 1x1 conv
    with the same stride when ``use_1x1conv``), then ReLU.

    ``Residual(3, 6, use_1x1conv=True, strides=2)`` maps (4, 3, 6, 6) to (4, 6, 3, 3).
    """

    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
        else:
            self.conv3 = None
        self.bn1 = BatchNorm2d(num_channels)
        self.bn2 = BatchNorm2d(num_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def conv_block(input_channels, num_channels):
    """DenseNet's unit: BN-ReLU-3x3 conv (padding 1)."""
    return Sequential(BatchNorm2d(input_channels), ReLU(),
                      Conv2d(input_channels, num_channels, kernel_size=3, padding=1))


class DenseBlock(Module):
    """d2l's dense block: ``num_convs`` BN-ReLU-conv units, each one's output concatenated to its
    input on the channel axis, so the output has ``input_channels + num_convs * num_channels``
    channels: ``DenseBlock(2, 3, 10)`` maps (4, 3, 8, 8) to (4, 23, 8, 8)."""

    def __init__(self, num_convs, input_channels, num_channels):
        super().__init__()
        self.num_convs, self.input_channels, self.num_channels = (num_convs, input_channels,
                                                                  num_channels)
        self.net = Sequential(*[conv_block(num_channels * i + input_channels, num_channels)
                                for i in range(num_convs)])

    @property
    def out_channels(self):
        return self.input_channels + self.num_convs * self.num_channels

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = cat((X, Y), dim=1)
        return X


class TransitionBlock(Sequential):
    """d2l's transition block: BN-ReLU-1x1 conv-2x2 average pool with stride 2 (halves height and
    width, sets the channel count)."""

    def __init__(self, input_channels, num_channels):
        super().__init__(BatchNorm2d(input_channels), ReLU(),
                         Conv2d(input_channels, num_channels, kernel_size=1),
                         AvgPool2d(kernel_size=2, stride=2))


class Inception(Module):
    """d2l's Inception block: four paths concatenated on the channel axis, giving
    ``c1 + c2[1] + c3[1] + c4`` channels at the input's height and width.

    1. 1x1 conv (c1);  2. 1x1 conv (c2[0]) then 3x3 conv (c2[1]);  3. 1x1 conv (c3[0]) then 5x5 conv
    (c3[1]);  4. 3x3 max pool (stride 1) then 1x1 conv (c4). Every conv is followed by a ReLU.
    """

    def __init__(self, in_channels, c1, c2, c3, c4):
        super().__init__()
        self.p1_1 = Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x):
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return cat((p1, p2, p3, p4), dim=1)


class NiNBlock(Sequential):
    """d2l's NiN block: a conv (kernel_size, strides, padding) and two 1x1 convs, each with ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, strides, padding):
        super().__init__(Conv2d(in_channels, out_channels, kernel_size, strides, padding), ReLU(),
                         Conv2d(out_channels, out_channels, kernel_size=1), ReLU(),
                         Conv2d(out_channels, out_channels, kernel_size=1), ReLU())


class VGGBlock(Sequential):
    """d2l's VGG block: ``num_convs`` 3x3 convs (padding 1) with ReLU, then a 2x2 max pool."""

    def __init__(self, num_convs, in_channels, out_channels):
        layers = []
        for _ in range(num_convs):
            layers += [Conv2d(in_channels, out_channels, kernel_size=3, padding=1), ReLU()]
            in_channels = out_channels
        layers.append(MaxPool2d(kernel_size=2, stride=2))
        super().__init__(*layers)
