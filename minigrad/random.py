"""The random state: one generator per device, all seeded by manual_seed (like torch's default
generator). It sits beside the device layer so that ops (dropout) and tensor creation share it."""
from .device import is_capturing

_seed = None
_generators = {}  # device type -> the generator of its array module


def manual_seed(seed):
    """Seed every random function, on every device."""
    global _seed
    _seed = int(seed)
    _generators.clear()


def generator(backend):
    """The random generator of a backend (NumPy's or CuPy's), created from the seed on first use."""
    kind = backend.device.type
    if is_capturing():
        raise RuntimeError("random numbers cannot be drawn while a CUDA graph is being captured: "
                           "every replay would reuse the same ones (dropout, rand, randn ...)")
    if kind not in _generators:
        _generators[kind] = backend.xp.random.default_rng(_seed)
    return _generators[kind]
