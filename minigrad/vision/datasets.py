"""torchvision.datasets' names for minigrad's datasets (one implementation: `minigrad.data.datasets`).

    import minigrad.vision as torchvision
    train = torchvision.datasets.FashionMNIST(root="../data", train=True,
                                              transform=torchvision.transforms.ToTensor())

A transform is handed the raw image as a uint8 NumPy array where torchvision hands a PIL image.
"""
from ..data.datasets import MNIST, DownloadError, FashionMNIST

__all__ = ["MNIST", "FashionMNIST", "DownloadError"]
