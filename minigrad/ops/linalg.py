"""Matrix products, tensor contractions (tensordot, kron, einsum) and norms."""
import numpy as np

from ..autograd import Function
from ..dtypes import from_numpy_dtype, result_type, to_dtype
from .dims import normalize_dim, normalize_dims, sum_to_shape
from .elementwise import mul
from . import reduce
from .registry import METHOD, TORCH, op
from .shape import cast, permute, reshape
from .unary import quiet


class MatMul(Function):
    """torch.matmul: 1-D operands become a row (left) or a column (right) and are squeezed back."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        self.save_for_backward(a2, b2)
        out = self.kernels.matmul(a2, b2)
        if a.ndim == 1:
            out = out.reshape(out.shape[:-2] + out.shape[-1:])
        if b.ndim == 1:
            out = out.reshape(out.shape[:-1])
        return out

    def backward(self, grad):
        a2, b2 = self.saved_tensors
        shape_a, shape_b = self.shapes
        grad = grad.reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
                            + (a2.shape[-2], b2.shape[-1]))
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = self.kernels.matmul(grad, self.xp.swapaxes(b2, -1, -2))
            grad_a = sum_to_shape(grad_a, a2.shape).reshape(shape_a)
        if self.needs_input_grad[1]:
            grad_b = self.kernels.matmul(self.xp.swapaxes(a2, -1, -2), grad)
            grad_b = sum_to_shape(grad_b, b2.shape).reshape(shape_b)
        return grad_a, grad_b


# ----- the public functions ----------------------------------------------------------------------
@op(TORCH, METHOD)
def matmul(input, other):
    a, b = input.shape, other.shape
    if len(a) == 0 or len(b) == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(a)}D and {len(b)}D")
    inner_b = b[-2] if len(b) > 1 else b[0]
    if a[-1] != inner_b:
        if len(a) == 2 and len(b) == 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({a[0]}x{a[1]} and {b[0]}x{b[1]})")
        raise RuntimeError(f"matmul: shapes {tuple(a)} and {tuple(b)} cannot be multiplied "
                           f"({a[-1]} != {inner_b})")
    try:
        np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    except ValueError:
        raise RuntimeError(f"matmul: the batch dimensions of shapes {tuple(a)} and {tuple(b)} "
                           "cannot be broadcast together") from None
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected both operands of matmul to have the same dtype, got "
                           f"{input.dtype} and {other.dtype}")
    return MatMul.apply(input, other)


@op(TORCH, METHOD)
def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm expects two matrices, got shapes {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)}")
    return matmul(input, mat2)


class AddMatMul(Function):
    """beta * input + alpha * (a @ b) for addmm, addmv (b a vector) and baddbmm (batches); with
    beta 0 the input is ignored, nan and inf included, as in torch."""

    def forward(self, input, a, b, beta=1, alpha=1):
        self.input_shape, self.b_shape, self.beta, self.alpha = input.shape, b.shape, beta, alpha
        self.save_for_backward(a, b)
        out = self.kernels.matmul(a, b.reshape(-1, 1) if b.ndim == 1 else b)
        if b.ndim == 1:
            out = out.reshape(out.shape[:-1])
        if alpha != 1:
            out = out * out.dtype.type(alpha)
        if beta == 0:
            return out
        return out + (input if beta == 1 else input * input.dtype.type(beta))

    def backward(self, grad):
        a, b = self.saved_tensors
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        grad_input = grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_input = sum_to_shape(grad * grad.dtype.type(self.beta), self.input_shape)
        scaled = (grad * grad.dtype.type(self.alpha)).reshape(a.shape[:-1] + b2.shape[-1:])
        if self.needs_input_grad[1]:
            grad_a = self.kernels.matmul(scaled, self.xp.swapaxes(b2, -1, -2))
        if self.needs_input_grad[2]:
            grad_b = self.kernels.matmul(self.xp.swapaxes(a, -1, -2), scaled).reshape(self.b_shape)
        return grad_input, grad_a, grad_b


class Einsum(Function):
    """xp.einsum over subscripts without ellipses; an operand's gradient is one more einsum of the
    output's gradient with the other operands, identity matrices rebuilding repeated subscripts
    (diagonals) and ones vectors the subscripts only that operand has (broadcast sums)."""

    def forward(self, *arrays, terms, output, sizes):
        self.terms, self.output, self.sizes = terms, output, sizes
        self.shapes = [a.shape for a in arrays]
        self.save_for_backward(*arrays)
        out = self.xp.einsum(",".join(terms) + "->" + output, *self._broadcast(arrays),
                             optimize=True)
        # one operand may come back as a view of it (a transpose, a diagonal): outputs own storage
        return out.copy() if self.xp.may_share_memory(out, arrays[0]) else out

    def _broadcast(self, arrays):
        """Size-1 dims broadcast to their subscript's size."""
        return [self.xp.broadcast_to(a, tuple(self.sizes[s] for s in term))
                for a, term in zip(arrays, self.terms)]

    def backward(self, grad):
        arrays, xp = self._broadcast(self.saved_tensors), self.xp
        grads = []
        for i, (term, shape) in enumerate(zip(self.terms, self.shapes)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(self.terms) if j != i]
            subscripts, operands = [self.output] + others, [grad] + [
                a for j, a in enumerate(arrays) if j != i]
            renamed, unused = [], iter(sorted(set(_LETTERS) - set("".join(self.terms))))
            for position, s in enumerate(term):
                if s in term[:position]:  # a repeated subscript: a diagonal
                    fresh = next(unused)
                    subscripts.append(s + fresh)
                    operands.append(xp.eye(self.sizes[s], dtype=grad.dtype))
                    s = fresh
                renamed.append(s)
            for s in dict.fromkeys(term):
                if s not in "".join(subscripts):
                    subscripts.append(s)
                    operands.append(xp.ones(self.sizes[s], dtype=grad.dtype))
            full = xp.einsum(",".join(subscripts) + "->" + "".join(renamed), *operands,
                             optimize=True)
            grads.append(sum_to_shape(full, shape))
        return tuple(grads)


class VectorNorm(Function):
    """The ord-norm over dims; at zero norms and zero elements the gradients are torch's
    subgradients (zero), and ties of the inf norms share the gradient evenly."""

    @quiet
    def forward(self, x, ord, dims, keepdim):
        self.ord, self.dims, self.keepdim = ord, dims, keepdim
        magnitude, kind = self.xp.abs(x), x.dtype.type
        if ord == np.inf:
            out = magnitude.max(axis=dims, keepdims=keepdim)
        elif ord == -np.inf:
            out = magnitude.min(axis=dims, keepdims=keepdim)
        elif ord == 0:
            out = (x != 0).sum(axis=dims, keepdims=keepdim, dtype=x.dtype)
        elif ord == 1:
            out = magnitude.sum(axis=dims, keepdims=keepdim)
        elif ord == 2:
            out = self.xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
        else:
            out = (magnitude ** kind(ord)).sum(axis=dims, keepdims=keepdim) ** kind(1 / ord)
        self.save_for_backward(x, out)
        return out

    def backward(self, grad):
        x, norm = self.saved_tensors
        xp, ord, kind = self.xp, self.ord, x.dtype.type
        if ord == 0:  # piecewise constant: no gradient, as torch gives none
            return None
        if not self.keepdim:
            kept = [1 if i in self.dims else n for i, n in enumerate(x.shape)]
            grad, norm = grad.reshape(kept), norm.reshape(kept)
        zero = kind(0)
        if ord == 1:
            return xp.sign(x) * grad
        if ord == 2:
            return x * xp.where(norm == 0, zero, grad / norm)
        if ord in (np.inf, -np.inf):
            magnitude = xp.abs(x)
            ties = (magnitude == norm) | xp.isnan(magnitude)
            shares = ties.sum(axis=self.dims, keepdims=True, dtype=x.dtype)
            return xp.sign(x) * ties * (grad / shares)
        power = xp.sign(x) * xp.abs(x) ** kind(ord - 1)
        if ord < 1:
            return xp.where(x == 0, zero, power) * grad * norm ** kind(1 - ord)
        return power * xp.where(norm == 0, zero, grad / norm ** kind(ord - 1))


class SingularValueNorm(Function):
    """The nuclear norm (sum of singular values) or the largest / smallest singular value of the
    matrices in the last two dims; gradients U V^T or u v^T of the singular vectors, tied extreme
    singular values sharing it evenly, as torch's amax / amin of them do."""

    def forward(self, x, ord):
        u, s, vh = self.xp.linalg.svd(x, full_matrices=False)
        if ord == "nuc":
            self.save_for_backward(u, vh)
            return s.sum(axis=-1)
        extreme = s.max(axis=-1) if ord == 2 else s.min(axis=-1)
        ties = (s == extreme[..., None]).astype(s.dtype)
        self.save_for_backward(u * (ties / ties.sum(axis=-1, keepdims=True))[..., None, :], vh)
        return extreme

    def backward(self, grad):
        weighted_u, vh = self.saved_tensors
        return grad[..., None, None] * self.xp.matmul(weighted_u, vh)


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# ----- products ----------------------------------------------------------------------------------
def _same_dtype(name, *tensors):
    for tensor in tensors[1:]:
        if tensor.dtype is not tensors[0].dtype:
            raise RuntimeError(f"{name}: expected all operands to have the same dtype, got "
                               f"{', '.join(str(t.dtype) for t in tensors)}")


def _check_product(name, a, b, ndims):
    """a @ b as `name` takes it: operands of `ndims` dims, equal inner (and batch) sizes."""
    if (a.ndim, b.ndim) != ndims:
        raise RuntimeError(f"{name}: expected {ndims[0]}D and {ndims[1]}D operands, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    inner = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner or a.shape[:-2] != b.shape[:-2]:
        if a.ndim == b.ndim == 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x"
                               f"{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
        raise RuntimeError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           "multiplied")


def _add_product(name, input, a, b, beta, alpha, ndims):
    """AddMatMul, once input broadcasts to the product's shape and beta, alpha suit its dtype."""
    _check_product(name, a, b, ndims)
    _same_dtype(name, input, a, b)
    if not input.dtype.is_floating_point and (isinstance(beta, float) or isinstance(alpha, float)):
        raise RuntimeError(f"{name}: for integral input tensors, arguments beta and alpha must not "
                           f"be floating point numbers (got beta={beta}, alpha={alpha})")
    shape = tuple(a.shape[:-1]) + tuple(b.shape[-1:] if b.ndim > 1 else ())
    try:
        broadcast = np.broadcast_shapes(tuple(input.shape), shape)
    except ValueError:
        broadcast = None
    if broadcast != shape:
        raise RuntimeError(f"{name}: input of shape {tuple(input.shape)} cannot be broadcast to the "
                           f"product's shape {shape}")
    return AddMatMul.apply(input, a, b, beta=beta, alpha=alpha)


@op(TORCH, METHOD)
def bmm(input, mat2):
    _check_product("bmm", input, mat2, (3, 3))
    _same_dtype("bmm", input, mat2)
    return MatMul.apply(input, mat2)


@op(TORCH, METHOD)
def mv(input, vec):
    _check_product("mv", input, vec, (2, 1))
    _same_dtype("mv", input, vec)
    return MatMul.apply(input, vec)


@op(TORCH, METHOD)
def dot(input, tensor):
    _check_product("dot", input, tensor, (1, 1))
    _same_dtype("dot", input, tensor)
    return MatMul.apply(input, tensor)


@op(TORCH, METHOD)
def vdot(input, other):
    return dot(input, other)  # complex conjugation aside, which minigrad's real dtypes do not need


@op(TORCH, METHOD, aliases=("ger",))
def outer(input, vec2):
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1D operands, got shapes {tuple(input.shape)} and "
                           f"{tuple(vec2.shape)}")
    dtype = from_numpy_dtype(result_type(input._data, vec2._data))
    return MatMul.apply(reshape(cast(input, dtype), -1, 1), reshape(cast(vec2, dtype), 1, -1))


@op(TORCH, METHOD)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    return _add_product("addmm", input, mat1, mat2, beta, alpha, (2, 2))


@op(TORCH, METHOD)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _add_product("addmv", input, mat, vec, beta, alpha, (2, 1))


@op(TORCH, METHOD)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _add_product("baddbmm", input, batch1, batch2, beta, alpha, (3, 3))


# ----- contractions ------------------------------------------------------------------------------
def _contracted(dims, tensor):
    axes = [normalize_dim(d, tensor.ndim) for d in dims]
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"tensordot: dim {dims} appears multiple times in the list of dims")
    return axes


@op(TORCH)
def tensordot(a, b, dims=2):
    if hasattr(dims, "tolist"):  # torch also takes the dims as a tensor
        dims = dims.tolist()
    if isinstance(dims, (list, tuple)):
        if len(dims) != 2:
            raise RuntimeError(f"tensordot expects dims to be an int or a pair of dim lists, got "
                               f"{dims}")
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    else:
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects 0 <= dims <= {min(a.ndim, b.ndim)} for shapes "
                               f"{tuple(a.shape)} and {tuple(b.shape)}, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"both dimension lists should have same length, got {dims_a} and {dims_b}")
    dims_a, dims_b = _contracted(dims_a, a), _contracted(dims_b, b)
    for dim_a, dim_b in zip(dims_a, dims_b):
        # a size-1 dim against a longer one broadcasts: the longer side is summed first
        if a.shape[dim_a] == 1 and b.shape[dim_b] > 1:
            b = reduce.sum(b, dim_b, keepdim=True)
        elif b.shape[dim_b] == 1 and a.shape[dim_a] > 1:
            a = reduce.sum(a, dim_a, keepdim=True)
        elif a.shape[dim_a] != b.shape[dim_b]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[dim_a]} in dim {dim_a} and second has size "
                               f"{b.shape[dim_b]} in dim {dim_b}")
    _same_dtype("tensordot", a, b)
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    rows, inner, columns = (int(np.prod(sizes, dtype=np.int64)) for sizes in (
        [a.shape[d] for d in free_a], [a.shape[d] for d in dims_a], [b.shape[d] for d in free_b]))
    left = reshape(permute(a, free_a + dims_a), rows, inner)
    right = reshape(permute(b, dims_b + free_b), inner, columns)
    shape = tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b)
    return reshape(MatMul.apply(left, right), shape)


@op(TORCH, METHOD)
def kron(input, other):
    ndim = max(input.ndim, other.ndim)
    shape_a = (1,) * (ndim - input.ndim) + tuple(input.shape)
    shape_b = (1,) * (ndim - other.ndim) + tuple(other.shape)
    # interleaved axes (a0, 1, a1, 1, ...) times (1, b0, 1, b1, ...) put a's blocks around b's
    left = reshape(input, tuple(n for size in shape_a for n in (size, 1)))
    right = reshape(other, tuple(n for size in shape_b for n in (1, size)))
    return reshape(mul(left, right), tuple(x * y for x, y in zip(shape_a, shape_b)))


def _sublist_equation(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [output sublist]) as an equation string."""
    def subscripts(sublist):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sublist)
    operands, sublists = args[0::2], args[1::2]
    output = ""
    if len(operands) > len(sublists):  # an odd count: the last list is the output's
        operands, output = operands[:-1], "->" + subscripts(operands[-1])
    return ",".join(subscripts(s) for s in sublists) + output, operands


def _einsum_subscripts(equation, operands):
    """The terms with ellipses spelled out as letters, the output's subscripts, and each
    subscript's size (size-1 dims broadcast)."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum(): the equation {equation!r} has subscripts for {len(terms)} "
                           f"operands, but {len(operands)} operands were given")
    for term in terms + [rhs]:
        if set(term.replace("...", "")) - set(_LETTERS):
            raise RuntimeError(f"einsum(): invalid subscripts {term!r} in the equation {equation!r}; "
                               "subscripts are letters, with at most one '...' per operand")
    spans = []
    for number, (term, operand) in enumerate(zip(terms, operands)):
        explicit = len(term.replace("...", ""))
        span = operand.ndim - explicit if "..." in term else 0
        if span < 0 or ("..." not in term and explicit != operand.ndim):
            raise RuntimeError(f"einsum(): the subscripts {term!r} of operand {number} do not match "
                               f"its shape {tuple(operand.shape)}")
        spans.append(span)
    width = max(spans, default=0)
    ellipsis = "".join([s for s in _LETTERS if s not in equation][:width])
    named = [term.replace("...", ellipsis[width - span:]) for term, span in zip(terms, spans)]
    if arrow:
        output = rhs.replace("...", ellipsis)
        if len(set(output)) != len(output) or set(output) - set("".join(named)):
            raise RuntimeError(f"einsum(): the output subscripts {rhs!r} must be distinct and appear "
                               f"in the operands' subscripts (equation {equation!r})")
    else:  # implicit output: the ellipsis, then the subscripts seen once, in alphabetical order
        letters = "".join(terms).replace("...", "")
        output = ellipsis + "".join(sorted(s for s in set(letters) if letters.count(s) == 1))
    sizes = {}
    for number, (term, operand) in enumerate(zip(named, operands)):
        for s, n in zip(term, operand.shape):
            if sizes.get(s, 1) == 1:
                sizes[s] = n
            elif n not in (1, sizes[s]):
                raise RuntimeError(f"einsum(): subscript {s} has size {n} in operand {number} (shape "
                                   f"{tuple(operand.shape)}), which does not broadcast with size "
                                   f"{sizes[s]} elsewhere (equation {equation!r})")
    return tuple(named), output, sizes


@op(TORCH)
def einsum(*args):
    if not args:
        raise RuntimeError("einsum(): must specify the equation string and at least one operand")
    if isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    _same_dtype("einsum", *operands)
    terms, output, sizes = _einsum_subscripts(equation, operands)
    return Einsum.apply(*operands, terms=terms, output=output, sizes=sizes)


# ----- norms (minigrad.linalg publishes vector_norm and matrix_norm) ----------------------------
def _floating(name, x, dtype):
    """x cast to `dtype` (never narrowing, as in torch), and checked to be floating point."""
    if dtype is not None:
        dtype = to_dtype(dtype)
        if x.dtype.is_floating_point and dtype.itemsize < x.dtype.itemsize:
            raise RuntimeError(f"{name}: the dtype of the input ({x.dtype}) should be convertible "
                               f"without narrowing to the specified dtype ({dtype})")
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point tensor as input. Got {x.dtype}")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    x = _floating("linalg.vector_norm", x, dtype)
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    ord = float(ord)
    everything = dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0)
    dims = tuple(range(x.ndim)) if everything else normalize_dims(dim, x.ndim)
    if (ord < 0 or ord == np.inf) and any(x.shape[d] == 0 for d in dims):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty tensor "
                           f"because the operation does not have an identity (shape "
                           f"{tuple(x.shape)}, dim {dim})")
    return VectorNorm.apply(x, ord=ord, dims=dims, keepdim=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    A = _floating("linalg.matrix_norm", A, dtype)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions "
                           f"(got shape {tuple(A.shape)})")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    rows, columns = (normalize_dim(d, A.ndim) for d in dim)
    if rows == columns:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({rows}, {columns})")
    kept = tuple(1 if i in (rows, columns) else n for i, n in enumerate(A.shape))
    reduced = tuple(n for i, n in enumerate(A.shape) if i not in (rows, columns))
    if ord == "fro":
        return vector_norm(A, 2, (rows, columns), keepdim)
    if ord in ("nuc", 2, -2):
        if ord != "nuc" and 0 in A.shape:
            raise RuntimeError(f"linalg.matrix_norm: the {ord} norm of an empty matrix is not "
                               f"defined (shape {tuple(A.shape)})")
        rest = [d for d in range(A.ndim) if d not in (rows, columns)]
        out = SingularValueNorm.apply(permute(A, rest + [rows, columns]), ord=ord)
        return reshape(out, kept) if keepdim else out
    if isinstance(ord, str) or ord not in (1, -1, np.inf, -np.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # the 1-norms take the largest (smallest) column sum, the inf-norms the row sums
    summed, extreme = (rows, columns) if ord in (1, -1) else (columns, rows)
    sums = vector_norm(A, 1, summed, keepdim=True)
    out = vector_norm(sums, np.inf if ord > 0 else -np.inf, extreme, keepdim=True)
    return out if keepdim else reshape(out, reduced)


@op(TORCH, METHOD)
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    dims = [dim] if isinstance(dim, int) else dim
    if isinstance(p, str):
        if p == "fro" and (dims is None or len(dims) <= 2):
            return vector_norm(input, 2, dims, keepdim, dtype=dtype)
        dims = tuple(range(input.ndim)) if dims is None else tuple(dims)
        return matrix_norm(input, p, dims, keepdim, dtype=dtype)
    return vector_norm(input, 2.0 if p is None else p, dims, keepdim, dtype=dtype)
