"""Train d2l's DenseNet on Fashion-MNIST, written the way PyTorch code is.

    python demos/densenet_fashion.py                  # native 28x28 inputs, small-input stem
    python demos/densenet_fashion.py --resize 96      # d2l's setting: 96x96 inputs, d2l's stem
    python demos/densenet_fashion.py --max-steps 30   # a quick smoke run: 30 batches per epoch
    python demos/densenet_fashion.py --plot curves.png --checkpoint densenet.npz

d2l's DenseNet: four dense blocks of four BN-ReLU-3x3 conv units (growth rate 32), transition blocks
halving channels and resolution between them, then BN, ReLU, global average pooling and a linear
layer.
By default the images stay 28x28 and the stem is a 3x3 convolution with stride 1 without max pooling
(d2l's 7x7 stride-2 stem and max pool would shrink 28x28 to 7x7, too small for three transition
blocks), so the dense blocks see 28x28, 14x14, 7x7 and 3x3 maps. With ``--resize 96`` the images
are resized (bilinearly) to 96x96 and the network is exactly d2l's (7x7 stride-2 stem, max pool).
d2l trains with plain SGD, lr 0.1, batch 256, 10 epochs.
"""
import minigrad as torch
import minigrad.models
from resnet_fashion import parse_args, run  # the data, training and reporting of the ResNet demo


def main():
    args = parse_args(__doc__.splitlines()[0], lr=0.1, batch_size=256)
    torch.manual_seed(args.seed)
    net = minigrad.models.densenet(in_channels=1, num_classes=10, small_input=not args.resize)
    run(net, args)


if __name__ == "__main__":
    main()
