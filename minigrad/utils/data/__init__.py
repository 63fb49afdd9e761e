"""``minigrad.utils.data``: the same objects as ``minigrad.data`` under PyTorch's spelling
(``from minigrad.utils.data import DataLoader, TensorDataset``;
``from minigrad.utils.data.distributed import DistributedSampler``)."""
from ...data import *  # noqa: F401,F403
from ...data import __all__  # noqa: F401
from ...data import datasets  # noqa: F401
from . import distributed  # noqa: F401  (torch.utils.data.distributed after `import torch`)
