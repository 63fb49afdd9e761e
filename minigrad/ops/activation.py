"""Activations: torch.nn.functional's (and torch's) nonlinearities, each registered where torch has it."""
from ..autograd import Function
from .registry import FUNCTIONAL, METHOD, TORCH, op, register
from .unary import as_float, tanh

register(tanh, FUNCTIONAL, name="tanh")


class Sigmoid(Function):
    def forward(self, x):
        xp, x = self.xp, as_float(x)
        e = xp.exp(-xp.abs(x))  # never overflows: exp of a non-positive number
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        out, = self.saved_tensors
        return grad * out * (1 - out)


class Relu(Function):
    def forward(self, x):
        out = self.kernels.relu_forward(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        out, = self.saved_tensors
        return self.kernels.relu_backward(grad, out)



sigmoid = register(Sigmoid.apply, TORCH, FUNCTIONAL, METHOD, name="sigmoid")
register(Relu.apply, TORCH, METHOD, name="relu")


@op(FUNCTIONAL)
def relu(input, inplace=False):
    return input.relu_() if inplace else Relu.apply(input)


class LeakyRelu(Function):
    def forward(self, x, slope):
        self.save_for_backward(x)
        self.slope = slope
        return self.xp.where(x > 0, x, x * x.dtype.type(slope))

    def backward(self, grad):
        x, = self.saved_tensors
        return self.xp.where(x > 0, grad, grad * grad.dtype.type(self.slope))


@op(FUNCTIONAL)
def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return input._inplace(LeakyRelu.apply, slope=negative_slope)
    return LeakyRelu.apply(input, slope=negative_slope)


