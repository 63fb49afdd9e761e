"""The book's data helpers: Fashion-MNIST loaders and small in-memory ones."""
import numbers
import os

from .. import data
from ..vision import datasets, transforms

D2L_ROOT = os.path.join("..", "data")  # where d2l and torchvision put the book's data sets
TEXT_LABELS = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
               "bag", "ankle boot"]


def get_dataloader_workers():
    return 4


def get_fashion_mnist_labels(labels):
    """The text labels of Fashion-MNIST class indices."""
    return [TEXT_LABELS[int(i)] for i in labels]


def load_array(data_arrays, batch_size, is_train=True):
    """A DataLoader over tensors, shuffled when `is_train`."""
    return data.DataLoader(data.TensorDataset(*data_arrays), batch_size, shuffle=is_train)


def _check_resize(resize, who="load_data_fashion_mnist"):
    def positive(n):
        return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0

    if resize is None or positive(resize):
        return
    if isinstance(resize, (tuple, list)) and len(resize) == 2 and all(map(positive, resize)):
        return
    raise ValueError(f"{who}: resize must be None, a positive int or a pair of "
                     f"positive ints (height, width), got {resize!r}")


def fashion_mnist(train, transform, d2l_root=D2L_ROOT):
    """One split, found where d2l keeps it (../data/FashionMNIST/raw, or `d2l_root`, a DataModule's
    root), else where FashionMNIST() looks (the data home, Debian's dataset-fashion-mnist), else
    downloaded into `d2l_root` as d2l does; an error that lists every place looked in when none of
    these works."""
    for root in (d2l_root, None):
        try:
            return datasets.FashionMNIST(root, train=train, transform=transform)
        except FileNotFoundError:
            pass
    try:
        return datasets.FashionMNIST(d2l_root, train=train, transform=transform, download=True)
    except datasets.DownloadError as error:
        looked = datasets.FashionMNIST.search_dirs_under(d2l_root)
        looked += datasets.FashionMNIST.search_dirs_under(None)
        places = "\n".join(f"  {os.path.abspath(folder)}" for folder in looked)
        raise FileNotFoundError(
            f"Fashion-MNIST was not found and could not be downloaded. Looked in:\n{places}\n"
            f"The download failed: {error}\nTo get it: apt-get install dataset-fashion-mnist "
            f"(Debian/Ubuntu); or put the four IDX files (train-images-idx3-ubyte[.gz] ...) in "
            f"{os.path.abspath(looked[0])}; or load them from your own folder with "
            f"minigrad.vision.datasets.FashionMNIST(root, download=True).") from None


def load_data_fashion_mnist(batch_size, resize=None):
    """Fashion-MNIST's training and test DataLoaders: images (B, 1, 28, 28) float32 in [0, 1], or
    resized (bilinear, antialiased) to `resize` per batch as it is drawn; the training one shuffled."""
    _check_resize(resize)
    steps = [transforms.ToTensor()]
    if resize:
        steps.insert(0, transforms.Resize(resize))
    transform = transforms.Compose(steps)
    train, test = fashion_mnist(True, transform), fashion_mnist(False, transform)
    workers = get_dataloader_workers()
    return (data.DataLoader(train, batch_size, shuffle=True, num_workers=workers),
            data.DataLoader(test, batch_size, shuffle=False, num_workers=workers))
