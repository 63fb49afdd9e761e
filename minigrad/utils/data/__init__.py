"""``minigrad.utils.data``: the same objects as ``minigrad.data`` under PyTorch's spelling
(``from minigrad.utils.data import DataLoader, TensorDataset``)."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
from ..data import datasets  # noqa: F401
