"""minigrad.nn: modules, layers, losses, initialisation; `functional` has the ops beneath them."""
from . import functional, init  # noqa: F401
from .layers import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BatchNorm1d,  # noqa: F401
                     BatchNorm2d, CircularPad2d, ConstantPad2d, Conv2d, CosineSimilarity,
                     CrossEntropyLoss, Dropout, Flatten, LeakyReLU, Linear, LogSoftmax, MaxPool2d,
                     MaxUnpool2d, MSELoss, NLLLoss, PairwiseDistance, ReflectionPad2d, ReLU,
                     ReplicationPad2d, Sigmoid, Softmax, Tanh, Unflatten, ZeroPad2d)
from .module import Identity, Module, ModuleList, Parameter, Sequential  # noqa: F401
from .blocks import DenseBlock, Inception, NiNBlock, Residual, TransitionBlock, VGGBlock  # noqa: F401
from .activation import *  # noqa: F401,F403
from .modern import *  # noqa: F401,F403
from . import parallel, parameter, utils  # noqa: F401
from .sync_batchnorm import SyncBatchNorm  # noqa: F401
from .parameter import UninitializedBuffer, UninitializedParameter  # noqa: F401
from .lazy import *  # noqa: F401,F403
