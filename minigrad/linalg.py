"""torch.linalg's norms: `minigrad.linalg.vector_norm`, `matrix_norm`, and `norm`, which picks one
of the two from `ord` and `dim`."""
from .ops.linalg import matrix_norm, vector_norm

__all__ = ["matrix_norm", "norm", "vector_norm"]


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    dims = (dim,) if isinstance(dim, int) else dim
    if dims is not None and len(dims) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
                           f"{list(dims)}")
    if dims is None and ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                           f"or 2D. Got {A.ndim}D (shape {tuple(A.shape)}).")
    if (dims is not None and len(dims) == 2) or (dims is None and ord is not None and A.ndim == 2):
        return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dims is None else dims,
                           keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: the order {ord!r} is a matrix norm's, and the norm is "
                           f"taken over one dim (dim {dim}, shape {tuple(A.shape)})")
    return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
