"""All ops, and the binding of them onto :class:`Tensor` as methods and operators."""
from __future__ import annotations

from .. import creation
from ..autograd.tensor import Tensor
from . import (
    binary,
    indexing,
    inplace,
    keywords,
    linalg,
    reduction,
    sampling,
    shape,
    structural,
    unary,
)
from .binary import (
    add,
    div,
    floor_divide,
    fmod,
    lerp,
    maximum,
    minimum,
    mul,
    pow,
    remainder,
    sub,
    true_divide,
    where,
)
from .cast import type_as
from .cumulative import cumprod, diff
from .distance import cdist
from .indexing import (
    gather,
    index_put_,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    one_hot,
    scatter,
    scatter_add,
    take_along_dim,
)
from .layout import data_ptr, is_contiguous, is_floating_point, stride
from .linalg import (
    addmm,
    addmv,
    baddbmm,
    bmm,
    dot,
    einsum,
    kron,
    matmul,
    mm,
    mv,
    outer,
    tensordot,
    trace,
)
from .logical import (
    allclose,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    eq,
    equal,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    not_equal,
)
from .reduction import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    count_nonzero,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from .rounding import ceil, floor, round, trunc
from .sampling import normal_, poisson, uniform_
from .search import argsort, bucketize, histc, multinomial, searchsorted, sort, topk, unique
from .shape import (
    broadcast_to,
    cat,
    chunk,
    concatenate,
    contiguous,
    expand,
    flatten,
    flip,
    movedim,
    pad,
    permute,
    repeat,
    reshape,
    roll,
    split,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    t,
    tile,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
    view,
)
from .softmax import log_softmax, softmax
from .structural import (
    cartesian_prod,
    diag,
    diag_embed,
    diagonal,
    meshgrid,
    narrow,
    repeat_interleave,
    rot90,
    tril,
    tril_indices,
    triu,
    triu_indices,
)
from .trig import (
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cos,
    cosh,
    hypot,
    sin,
    sinh,
    tan,
)
from .unary import (
    abs,
    cast,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    erf,
    exp,
    expm1,
    log,
    log1p,
    log2,
    log10,
    nan_to_num,
    neg,
    reciprocal,
    relu,
    rsqrt,
    sigmoid,
    sign,
    softplus,
    sqrt,
    square,
    tanh,
)


def _rev(fn):
    # Annotated for the generated stub (tools/gen_tensor_stub.py): ``2 - x`` is a Tensor.
    def method(self: Tensor, other: object) -> Tensor:
        return fn(other, self)

    return method


def _bind_elementwise(T: type) -> None:
    """Elementwise/math methods, their in-place forms and the bitwise operators."""
    fns = dict(
        sinh=sinh, cosh=cosh, asin=asin, acos=acos, atan=atan, asinh=asinh, acosh=acosh,
        atanh=atanh, arcsin=arcsin, arccos=arccos, arctan=arctan, arcsinh=arcsinh,
        arccosh=arccosh, arctanh=arctanh, atan2=atan2, arctan2=arctan2, hypot=hypot,
        lerp=lerp, clamp_min=clamp_min, clamp_max=clamp_max, nan_to_num=nan_to_num,
        isclose=isclose, true_divide=true_divide, bitwise_and=bitwise_and,
        bitwise_or=bitwise_or, bitwise_xor=bitwise_xor, bitwise_not=bitwise_not,
        bitwise_left_shift=bitwise_left_shift, bitwise_right_shift=bitwise_right_shift,
        not_equal=not_equal, less=less, less_equal=less_equal, greater=greater,
        greater_equal=greater_equal, cumprod=cumprod, diff=diff, trace=trace, kron=kron,
        addmm=addmm, addmv=addmv, baddbmm=baddbmm,
    )
    for name, fn in fns.items():
        setattr(T, name, fn)
    for name in ("sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh",
                 "atanh", "atan2", "hypot", "lerp", "clamp_min", "clamp_max", "nan_to_num",
                 "log1p", "expm1", "rsqrt", "reciprocal", "square", "erf", "sign",
                 "floor_divide", "remainder", "true_divide", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
                 "logical_and", "logical_or", "logical_xor", "logical_not", "cumprod",
                 "addmm", "addmv", "baddbmm", "lerp"):
        setattr(T, name + "_", inplace.make_inplace(name + "_", getattr(T, name)))
    T.__and__ = T.__rand__ = bitwise_and
    T.__or__ = T.__ror__ = bitwise_or
    T.__xor__ = T.__rxor__ = bitwise_xor
    T.__invert__ = bitwise_not
    T.__lshift__, T.__rlshift__ = bitwise_left_shift, _rev(bitwise_left_shift)
    T.__rshift__, T.__rrshift__ = bitwise_right_shift, _rev(bitwise_right_shift)
    T.__iand__, T.__ior__, T.__ixor__ = T.bitwise_and_, T.bitwise_or_, T.bitwise_xor_
    T.__ilshift__, T.__irshift__ = T.bitwise_left_shift_, T.bitwise_right_shift_
    T.__ifloordiv__, T.__imod__ = T.floor_divide_, T.remainder_


def _bind_structural(T: type) -> None:
    """Diagonals, windows, rotations, repeats, searching and sampling methods."""
    for name, fn in dict(diagonal=diagonal, diag=diag, diag_embed=diag_embed, narrow=narrow,
                         rot90=rot90, repeat_interleave=repeat_interleave,
                         unfold=structural.unfold, unique=unique, histc=histc,
                         multinomial=multinomial, bucketize=bucketize,
                         apply_=sampling.apply_, fmod=fmod,
                         fmod_=inplace.make_inplace("fmod_", fmod)).items():
        setattr(T, name, fn)


# Methods PyTorch has only on Tensor (there is no torch.new_zeros or torch.stride): bound
# here, and kept out of ``__all__`` so that they never become ``chainrule.*`` functions.
_TENSOR_ONLY = dict(
    new_zeros=creation.new_zeros, new_ones=creation.new_ones, new_empty=creation.new_empty,
    new_full=creation.new_full, new_tensor=creation.new_tensor, type_as=type_as,
    is_floating_point=is_floating_point, is_contiguous=is_contiguous, stride=stride,
    data_ptr=data_ptr, uniform_=uniform_, normal_=normal_, index_put_=index_put_,
)
_count_nonzero = count_nonzero  # Tensor.count_nonzero takes no NumPy keywords (as before)


def _bind() -> None:
    T = Tensor
    methods = dict(
        add=add, sub=sub, mul=mul, div=div, pow=pow, maximum=maximum, minimum=minimum,
        floor_divide=floor_divide, remainder=remainder, eq=eq, ne=ne, lt=lt, le=le, gt=gt,
        ge=ge, logical_and=logical_and, logical_or=logical_or, logical_xor=logical_xor,
        logical_not=logical_not, isnan=isnan, isinf=isinf, isfinite=isfinite,
        allclose=allclose, equal=equal,
        neg=neg, exp=exp, log=log, log1p=log1p, expm1=expm1, sqrt=sqrt, rsqrt=rsqrt, sin=sin,
        cos=cos, tan=tan, tanh=tanh, sigmoid=sigmoid, relu=relu, abs=abs, sign=sign, erf=erf,
        softplus=softplus, reciprocal=reciprocal, square=square, clamp=clamp, clip=clip,
        sum=sum, mean=mean, prod=prod, max=max, min=min, amax=amax, amin=amin, argmax=argmax,
        argmin=argmin, var=var, std=std, logsumexp=logsumexp, norm=norm, cumsum=cumsum,
        all=all, any=any,
        matmul=matmul, mm=mm, bmm=bmm, dot=dot, mv=mv, outer=outer,
        reshape=reshape, view=view, flatten=flatten, unflatten=unflatten, squeeze=squeeze,
        unsqueeze=unsqueeze, transpose=transpose, swapaxes=swapaxes, permute=permute, t=t,
        expand=expand, broadcast_to=broadcast_to, repeat=repeat, tile=tile, flip=flip,
        roll=roll, split=split, chunk=chunk, unbind=unbind, movedim=movedim,
        contiguous=contiguous,
        gather=gather, scatter=scatter, scatter_add=scatter_add, index_select=index_select,
        masked_fill=masked_fill, masked_select=masked_select, take_along_dim=take_along_dim,
        nonzero=nonzero, softmax=softmax, log_softmax=log_softmax,
    )
    for name, fn in methods.items():
        setattr(T, name, fn)
    _bind_elementwise(T)
    _bind_structural(T)
    for name, fn in dict(floor=floor, ceil=ceil, round=round, trunc=trunc, sort=sort,
                         argsort=argsort, topk=topk, triu=triu, tril=tril, log2=log2,
                         log10=log10, count_nonzero=_count_nonzero).items():
        setattr(T, name, fn)
    for name, fn in _TENSOR_ONLY.items():
        setattr(T, name, fn)
    T.expand_as = shape.expand_as
    T.view_as = shape.view_as
    T.where = lambda self, cond, other: where(cond, self, other)
    T.clone = lambda self: add(self, 0) if self.requires_grad else Tensor._make(
        self._data.copy(), False, None, 0)
    T.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))
    T.mT = property(lambda self: transpose(self, -2, -1))
    T.__getitem__ = indexing.getitem
    T.__setitem__ = indexing.setitem
    T.__add__ = T.__radd__ = add
    T.__sub__, T.__rsub__ = sub, _rev(sub)
    T.__mul__ = T.__rmul__ = mul
    T.__truediv__, T.__rtruediv__ = div, _rev(div)
    T.__floordiv__, T.__rfloordiv__ = floor_divide, _rev(floor_divide)
    T.__mod__, T.__rmod__ = remainder, _rev(remainder)
    T.__pow__, T.__rpow__ = pow, _rev(pow)
    T.__matmul__, T.__rmatmul__ = matmul, _rev(matmul)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    T.__eq__, T.__ne__ = eq, ne
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = lt, le, gt, ge
    for name, fn in dict(add_=add, sub_=sub, mul_=mul, div_=div, pow_=pow, clamp_=clamp,
                         clip_=clamp, exp_=exp, log_=log, sqrt_=sqrt, neg_=neg, abs_=abs,
                         relu_=relu, sigmoid_=sigmoid, tanh_=tanh, masked_fill_=masked_fill,
                         scatter_=scatter, scatter_add_=scatter_add).items():
        setattr(T, name, inplace.make_inplace(name, fn))
    T.__iadd__, T.__isub__ = T.add_, T.sub_
    T.__imul__, T.__itruediv__ = T.mul_, T.div_
    T.zero_ = inplace.zero_
    T.fill_ = inplace.fill_
    T.copy_ = inplace.copy_


# NumPy-style axis=/keepdims= aliases and out= (ops/keywords.py) on the functions that
# programs call with them; calls without keywords pass straight through.
_KEYWORD_OPS = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder", "fmod",
                "atan2", "matmul", "mm", "bmm", "mv", "dot", "cat", "concatenate", "stack",
                "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "std",
                "var", "logsumexp", "all", "any", "norm", "cumsum", "cumprod", "softmax",
                "log_softmax", "count_nonzero", "squeeze", "unsqueeze", "exp", "log", "sqrt",
                "abs", "neg", "sin", "cos", "tanh", "sigmoid", "clamp", "where", "diff")
for _name in _KEYWORD_OPS:
    globals()[_name] = keywords.accepts_torch_keywords(globals()[_name], _name)
del _name

_bind()


# The public ops: functions only, so that ``from chainrule.ops import *`` never leaks this
# package's modules (``shape``, ``unary``, ``linalg`` ...) into ``chainrule``'s namespace
# (``cr.linalg`` is the ``torch.linalg`` counterpart in ``chainrule/linalg/``).
__all__ = sorted(name for name, value in list(globals().items())
                 if not name.startswith("_") and callable(value) and not isinstance(value, type)
                 and name not in _TENSOR_ONLY)
