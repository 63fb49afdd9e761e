"""torch.nn.functional's names: the ops under the layers, as functions on tensors."""
from .. import ops
from ..ops import log_softmax, sigmoid, softmax, tanh  # noqa: F401
from ..ops.conv import conv2d  # noqa: F401
from ..ops.layers import batch_norm, dropout, leaky_relu, linear, pad  # noqa: F401
from ..ops.loss import cross_entropy, mse_loss, nll_loss  # noqa: F401
from ..ops.pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_unpool2d,  # noqa: F401
                        max_pool2d)


def relu(input, inplace=False):
    return input.relu_() if inplace else ops.relu(input)
