"""All ops, and the binding of them onto :class:`Tensor` as methods and operators."""
from __future__ import annotations

from ..autograd.tensor import Tensor
from . import binary, indexing, inplace, linalg, reduction, shape, tensor_methods, unary
from .binary import (
    add,
    allclose,
    div,
    eq,
    equal,
    floor_divide,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    pow,
    remainder,
    sub,
    where,
)
from .indexing import (
    gather,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    one_hot,
    scatter,
    scatter_add,
    take_along_dim,
)
from .linalg import bmm, dot, einsum, matmul, mm, mv, outer
from .reduction import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
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
from .tensor_methods import (
    argsort,
    ceil,
    count_nonzero,
    floor,
    log2,
    log10,
    round,
    sort,
    topk,
    tril,
    triu,
    trunc,
)
from .unary import (
    abs,
    cast,
    clamp,
    clip,
    cos,
    erf,
    exp,
    expm1,
    log,
    log1p,
    neg,
    reciprocal,
    relu,
    rsqrt,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    square,
    tan,
    tanh,
)


def _rev(fn):
    def method(self, other):
        return fn(other, self)

    return method


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
    tm = tensor_methods
    for name in ("floor", "ceil", "round", "trunc", "new_zeros", "new_ones", "new_empty",
                 "new_full", "new_tensor", "type_as", "is_floating_point", "is_contiguous",
                 "stride", "data_ptr", "uniform_", "normal_", "index_put_", "sort", "argsort",
                 "topk", "triu", "tril", "log2", "log10", "count_nonzero"):
        setattr(T, name, getattr(tm, name))
    T.expand_as = shape.expand_as
    T.view_as = shape.view_as
    T.where = lambda self, cond, other: where(cond, self, other)
    T.clone = lambda self: add(self, 0) if self.requires_grad else Tensor._make(
        self.data.copy(), False, None, 0)
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
    T.__and__ = T.__rand__ = logical_and
    T.__or__ = T.__ror__ = logical_or
    T.__xor__ = T.__rxor__ = logical_xor
    T.__invert__ = logical_not
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


_bind()
