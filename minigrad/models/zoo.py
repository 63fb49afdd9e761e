"""d2l's networks: LeNet, AlexNet, VGG-11, NiN, GoogLeNet, ResNet-18 and DenseNet."""
from .. import nn
from ..kernels.shapes import output_size
from ..nn.blocks import DenseBlock, Inception, NiNBlock, Residual, TransitionBlock, VGGBlock
from ..ops.conv import pair


def _conv_out(size, kernel, stride=1, padding=0):
    return output_size(size, kernel, stride, padding, dilation=1)


def _check_size(name, size, minimum):
    h, w = size
    if min(h, w) < minimum:
        raise ValueError(f"{name}: image_size {size} is too small; d2l's layout needs at least "
                         f"{minimum}x{minimum}")


def lenet(in_channels=1, num_classes=10, image_size=28):
    """d2l's LeNet-5 (sigmoid activations, average pooling) for 28x28 inputs by default."""
    h, w = pair(image_size, "image_size")
    _check_size("lenet", (h, w), 12)
    h, w = (_conv_out(_conv_out(s, 5, 1, 2), 2, 2) for s in (h, w))
    h, w = (_conv_out(_conv_out(s, 5), 2, 2) for s in (h, w))
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * h * w, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, num_classes))


def alexnet(in_channels=1, num_classes=10, image_size=224, dropout=0.5):
    """d2l's AlexNet for 224x224 inputs by default (Fashion-MNIST resized); ``image_size`` sizes
    the first fully connected layer for another resolution (at least 65x65)."""
    h, w = pair(image_size, "image_size")
    _check_size("alexnet", (h, w), 65)

    def out(s):
        s = _conv_out(_conv_out(s, 11, 4, 1), 3, 2)
        s = _conv_out(s, 3, 2)
        return _conv_out(s, 3, 2)
    h, w = out(h), out(w)
    return nn.Sequential(
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(256 * h * w, 4096), nn.ReLU(), nn.Dropout(p=dropout),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=dropout),
        nn.Linear(4096, num_classes))


VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def vgg11(in_channels=1, num_classes=10, ratio=1, image_size=224, conv_arch=VGG11_ARCH,
          dropout=0.5):
    """d2l's VGG-11: five VGG blocks (channels divided by ``ratio``; d2l trains with ``ratio=4``),
    then 4096-4096-num_classes fully connected layers with dropout. 224x224 inputs by default;
    ``image_size`` must be a multiple of 32."""
    h, w = pair(image_size, "image_size")
    _check_size("vgg11", (h, w), 32)
    blocks = []
    for num_convs, out_channels in conv_arch:
        out_channels //= ratio
        blocks.append(VGGBlock(num_convs, in_channels, out_channels))
        in_channels = out_channels
        h, w = h // 2, w // 2
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(in_channels * h * w, 4096), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(4096, num_classes))


def nin(in_channels=1, num_classes=10, dropout=0.5):
    """d2l's Network in Network: four NiN blocks (the last with ``num_classes`` channels), global
    average pooling; for 224x224 inputs in d2l, any size from 67x67 works."""
    return nn.Sequential(
        NiNBlock(in_channels, 96, kernel_size=11, strides=4, padding=0),
        nn.MaxPool2d(3, stride=2),
        NiNBlock(96, 256, kernel_size=5, strides=1, padding=2),
        nn.MaxPool2d(3, stride=2),
        NiNBlock(256, 384, kernel_size=3, strides=1, padding=1),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(dropout),
        NiNBlock(384, num_classes, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten())


def googlenet(in_channels=1, num_classes=10):
    """d2l's GoogLeNet: stem b1, b2, then nine Inception blocks in b3-b5, global average pooling
    and a 1024-to-num_classes linear layer (96x96 inputs in d2l; any size works)."""
    b1 = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
                       nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(),
                       nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b3 = nn.Sequential(Inception(192, 64, (96, 128), (16, 32), 32),
                       Inception(256, 128, (128, 192), (32, 96), 64),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b4 = nn.Sequential(Inception(480, 192, (96, 208), (16, 48), 64),
                       Inception(512, 160, (112, 224), (24, 64), 64),
                       Inception(512, 128, (128, 256), (24, 64), 64),
                       Inception(512, 112, (144, 288), (32, 64), 64),
                       Inception(528, 256, (160, 320), (32, 128), 128),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b5 = nn.Sequential(Inception(832, 256, (160, 320), (32, 128), 128),
                       Inception(832, 384, (192, 384), (48, 128), 128),
                       nn.AdaptiveAvgPool2d((1, 1)),
                       nn.Flatten())
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, num_classes))


def _stem(in_channels, small_input):
    """d2l's b1 (7x7 conv stride 2, BN, ReLU, 3x3 max pool stride 2), or with ``small_input`` a 3x3
    stride-1 conv, BN and ReLU without pooling."""
    if small_input:
        return nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1),
                             nn.BatchNorm2d(64), nn.ReLU())
    return nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
                         nn.BatchNorm2d(64), nn.ReLU(),
                         nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


def resnet_block(input_channels, num_channels, num_residuals, first_block=False):
    """d2l's list of Residual blocks; the first halves height and width unless ``first_block``."""
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return blk


def resnet18(in_channels=1, num_classes=10, small_input=False):
    """d2l's ResNet-18 (11,178,378 parameters for one input channel and 10 classes): stem b1, four
    stages of two Residual blocks (64, 128, 256, 512 channels), global average pooling, linear.

    ``small_input=True`` swaps the stem for a 3x3 stride-1 conv without max pooling (28x28 or 32x32
    inputs at native resolution); the state_dict keys stay the same apart from the stem's shapes."""
    b1 = _stem(in_channels, small_input)
    b2 = nn.Sequential(*resnet_block(64, 64, 2, first_block=True))
    b3 = nn.Sequential(*resnet_block(64, 128, 2))
    b4 = nn.Sequential(*resnet_block(128, 256, 2))
    b5 = nn.Sequential(*resnet_block(256, 512, 2))
    return nn.Sequential(b1, b2, b3, b4, b5,
                         nn.AdaptiveAvgPool2d((1, 1)),
                         nn.Flatten(), nn.Linear(512, num_classes))


def densenet(in_channels=1, num_classes=10, growth_rate=32,
             num_convs_in_dense_blocks=(4, 4, 4, 4), small_input=False):
    """d2l's DenseNet: stem b1, four dense blocks of 4 convs (growth rate 32) with transition
    blocks halving channels and resolution between them, BN, ReLU, global average pooling, linear.
    Needs at least 32x32 inputs (96x96 in d2l), or 16x16 with ``small_input=True``."""
    b1 = _stem(in_channels, small_input)
    num_channels = 64
    blks = []
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        blks.append(DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(num_convs_in_dense_blocks) - 1:
            blks.append(TransitionBlock(num_channels, num_channels // 2))
            num_channels = num_channels // 2
    return nn.Sequential(
        b1, *blks,
        nn.BatchNorm2d(num_channels), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(num_channels, num_classes))
