"""Two blocks the d2l package (1.0.3) keeps for the English edition's later chapters: ResNet's
`Residual(num_channels, use_1x1conv=False, strides=1)` and ResNeXt's
`ResNeXtBlock(num_channels, groups, bot_mul, use_1x1conv=False, strides=1)`, built of lazy layers.
Their attribute names (conv1, bn1, ...) and order are d2l's, so that state_dicts are
interchangeable. (`minigrad.nn.Residual` is the Chinese edition's: `input_channels` first.)
"""
from .. import nn
from ..nn import functional as F


class Residual(nn.Module):
    """ResNet's basic block: two 3x3 convolutions with batch norm (the first one strided), the
    shortcut projected by a strided 1x1 convolution when use_1x1conv, ReLU after the sum."""

    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()

        def conv(kernel_size, stride):  # 'same' padding for odd kernels
            return nn.LazyConv2d(num_channels, kernel_size=kernel_size, stride=stride,
                                 padding=kernel_size // 2)

        self.conv1, self.conv2 = conv(3, strides), conv(3, 1)
        self.conv3 = conv(1, strides) if use_1x1conv else None
        self.bn1, self.bn2 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()

    def forward(self, X):
        body = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(X)))))
        shortcut = X if self.conv3 is None else self.conv3(X)
        return F.relu(body + shortcut)


class ResNeXtBlock(nn.Module):
    """ResNeXt's bottleneck: 1x1 down to round(bot_mul * num_channels) channels, a grouped and
    strided 3x3, 1x1 back up, each with batch norm; the shortcut projected (1x1 and batch norm)
    when use_1x1conv. As in d2l, the 3x3 layer's group count is bottleneck channels // `groups`,
    so `groups` is in effect the channels per group: the chapter's shapes depend on it."""

    def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False, strides=1):
        super().__init__()
        width = int(round(num_channels * bot_mul))
        self.conv1 = nn.LazyConv2d(width, kernel_size=1)
        self.conv2 = nn.LazyConv2d(width, kernel_size=3, stride=strides, padding=1,
                                   groups=width // groups)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1, self.bn2, self.bn3 = (nn.LazyBatchNorm2d() for _ in range(3))
        self.conv4 = None
        if use_1x1conv:
            self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
            self.bn4 = nn.LazyBatchNorm2d()

    def forward(self, X):
        Y = X
        for conv, norm in ((self.conv1, self.bn1), (self.conv2, self.bn2)):
            Y = F.relu(norm(conv(Y)))
        Y = self.bn3(self.conv3(Y))
        shortcut = X if self.conv4 is None else self.bn4(self.conv4(X))
        return F.relu(Y + shortcut)
