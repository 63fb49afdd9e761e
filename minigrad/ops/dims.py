"""Shape helpers shared by the ops: dimension checks and reducing broadcast gradients."""


def normalize_dim(dim, ndim):
    """A possibly negative dim as an index into a tensor of `ndim` dimensions (0-d counts as 1-d)."""
    low, high = -max(ndim, 1), max(ndim, 1) - 1
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {dim!r}")
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


def normalize_dims(dim, ndim):
    """`dim` (None, an int, or a sequence of ints) as a sorted tuple of axes; None means all."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(sorted({normalize_dim(d, ndim) for d in dims}))
    if len(axes) != len(dims):
        raise RuntimeError(f"dim {dim} appears multiple times in the list of dims")
    return tuple(a for a in axes if a < ndim)  # a 0-d tensor accepts dim 0 or -1 and has no axis


def sum_to_shape(grad, shape):
    """Sum a broadcast gradient back to the shape of the input it was broadcast from."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def broadcast_error(name, a, b):
    shape_a, shape_b = (tuple(getattr(x, "shape", ())) for x in (a, b))
    return RuntimeError(f"{name}: shapes {shape_a} and {shape_b} cannot be broadcast together")


def dim_or_axis(dim, axis):
    """The dimension argument under either of torch's names (dim=, or NumPy's axis=)."""
    return axis if dim is None else dim
