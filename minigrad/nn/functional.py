"""torch.nn.functional's names: the ops under the layers, as functions on tensors (each registered
beside its Function in minigrad/ops)."""
from ..ops import registry as _registry

globals().update(_registry.registered(_registry.FUNCTIONAL))
