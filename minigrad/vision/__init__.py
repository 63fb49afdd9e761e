"""`minigrad.vision`: torchvision's datasets and transforms, so that `import minigrad.vision as
torchvision` serves code written for torchvision."""
from . import datasets, transforms

__all__ = ["datasets", "transforms"]
