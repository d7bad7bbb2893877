"""The central table of differentiable op specs that drives tests/ops/test_ops.py.

Each :class:`OpSpec` names an op, gives the chainrule callable and the PyTorch callable
(both take the same positional tensors), the input shapes, a domain for the inputs (so
log/sqrt get positive values and kinked ops stay away from their kinks) and the set of
checks that apply:

    fwd   forward values vs PyTorch
    bwd   input gradients vs PyTorch for the same random upstream gradient
    gc    gradcheck (finite differences, float64)
    jvp   forward mode vs reverse mode: <J v, u> == <v, J^T u>
    gg    gradgradcheck (double backward)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

import chainrule as cr
import chainrule.nn.functional as F

TF = torch.nn.functional

ALL = frozenset({"fwd", "bwd", "gc", "jvp", "gg"})
NO_GG = ALL - {"gg"}
NO_JVP = ALL - {"jvp"}


@dataclass
class OpSpec:
    name: str
    cr_fn: Callable
    torch_fn: Callable
    shapes: tuple  # one tuple of input shapes per case
    domain: str = "real"  # real | positive | unit | nokink | distinct
    checks: frozenset = ALL
    id_suffix: str = ""
    atol: float = 1e-8
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.name + self.id_suffix


def make_inputs(spec: OpSpec, shapes: tuple, seed: int = 0) -> list:
    """float64 NumPy arrays for ``shapes`` drawn to respect the spec's domain."""
    rng = np.random.default_rng(seed)
    out = []
    for i, s in enumerate(shapes):
        n = int(np.prod(s))
        if spec.domain == "positive":
            a = rng.uniform(0.5, 2.0, s)
        elif spec.domain == "unit":
            a = rng.uniform(-0.8, 0.8, s)
        elif spec.domain in ("nokink", "distinct"):
            # distinct values with magnitude >= 0.2: no ties, no kinks at 0 / +-0.5 bounds
            base = rng.permutation(n).astype(np.float64) + 1.0
            sign = rng.choice([-1.0, 1.0], n)
            a = (sign * (0.2 + base / (n + 1)) + 0.013 * i).reshape(s)
        else:
            a = rng.standard_normal(s)
        out.append(np.asarray(a, dtype=np.float64))
    return out


# Fixed integer indices (constants captured by the callables).
_IDX_REP = np.array([0, 2, 0, 1, 2, 2])
_GATHER_IDX = np.array([[0, 2, 2, 1], [1, 1, 0, 3], [3, 0, 0, 0]])  # for (3, 4), dim=1
_SCATTER_IDX = np.array([[0, 2], [1, 3], [3, 0]])  # for dim=1 of (3, 4), unique per row
_MASK = np.array([[True, False, True, False], [False, False, True, True],
                  [True, True, False, False]])
_TAKE_IDX = np.array([[2], [0], [3]])
_CE_TARGET = np.array([1, 0, 3])
_EMB_IDX = np.array([[0, 2, 2], [4, 1, 0]])
_ZMASK = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])  # zeros for prod

B = ((3, 4), (3, 4))
BCAST = (((2, 3, 4), (3, 1)), ((4,), (2, 1, 4)), ((), (3, 2)))


def _t(a):
    return torch.as_tensor(a)


def _binary(name, cr_fn, th_fn, domain="real", checks=ALL):
    return OpSpec(name, cr_fn, th_fn, (B,) + BCAST, domain, checks)


def _unary(name, cr_fn, th_fn, domain="real", checks=ALL, shapes=(((3, 4),), ((),))):
    return OpSpec(name, cr_fn, th_fn, shapes, domain, checks)


def _spd(a, lib):
    """A symmetric positive-definite matrix built from any square ``a`` (for cholesky/eigh)."""
    n = a.shape[-1]
    return a @ a.mT + 3.0 * lib.eye(n, dtype=a.dtype)


def _gauge(result):
    """Eigen/singular vectors are defined up to sign: compare their squares."""
    return tuple(r ** 2 if r.ndim >= 2 else r for r in result)


SPECS: list = [
    # ------------------------------------------------------------ arithmetic
    _binary("add", lambda a, b: a + b, lambda a, b: a + b),
    _binary("sub", lambda a, b: a - b, lambda a, b: a - b),
    _binary("mul", lambda a, b: a * b, lambda a, b: a * b),
    _binary("div", lambda a, b: a / b, lambda a, b: a / b, "positive"),
    _binary("pow", lambda a, b: a ** b, lambda a, b: a ** b, "positive"),
    _unary("pow_scalar", lambda a: a ** 3, lambda a: a ** 3),
    _unary("pow_half", lambda a: a ** 0.5, lambda a: a ** 0.5, "positive"),
    _unary("rpow", lambda a: 2.0 ** a, lambda a: 2.0 ** a),
    _unary("rsub_scalar", lambda a: 1.5 - a, lambda a: 1.5 - a),
    _unary("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, "positive"),
    _unary("neg", lambda a: -a, lambda a: -a),
    _unary("abs", lambda a: a.abs(), lambda a: a.abs(), "nokink"),
    # ------------------------------------------------------------- elementwise
    _unary("exp", cr.exp, torch.exp),
    _unary("log", cr.log, torch.log, "positive"),
    _unary("log1p", cr.log1p, torch.log1p, "positive"),
    _unary("expm1", cr.expm1, torch.expm1),
    _unary("sqrt", cr.sqrt, torch.sqrt, "positive"),
    _unary("rsqrt", cr.rsqrt, torch.rsqrt, "positive"),
    _unary("sin", cr.sin, torch.sin),
    _unary("cos", cr.cos, torch.cos),
    _unary("tan", cr.tan, torch.tan, "unit"),
    _unary("tanh", cr.tanh, torch.tanh),
    _unary("sigmoid", cr.sigmoid, torch.sigmoid),
    _unary("relu", cr.relu, torch.relu, "nokink"),
    _unary("clamp", lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), "nokink"),
    _unary("clamp_min", lambda a: cr.clamp(a, min=0.1), lambda a: torch.clamp(a, min=0.1),
           "nokink"),
    _binary("maximum", cr.maximum, torch.maximum, "distinct"),
    _binary("minimum", cr.minimum, torch.minimum, "distinct"),
    OpSpec("where", lambda a, b: cr.where(cr.tensor(_MASK), a, b),
           lambda a, b: torch.where(_t(_MASK), a, b), (B, ((3, 4), (4,)))),
    _unary("reciprocal", cr.reciprocal, torch.reciprocal, "positive"),
    _unary("square", cr.square, torch.square),
    _unary("erf", cr.erf, torch.erf),
    _unary("softplus", cr.softplus, torch.nn.functional.softplus),
    _unary("softplus_beta", lambda a: cr.softplus(a, beta=2.0),
           lambda a: torch.nn.functional.softplus(a, beta=2.0)),
    # ------------------------------------------------------------- reductions
    _unary("sum", lambda a: a.sum(), lambda a: a.sum(), shapes=(((3, 4),),)),
    _unary("sum_dim", lambda a: a.sum(1), lambda a: a.sum(1), shapes=(((2, 3, 4),),)),
    _unary("sum_dims_keep", lambda a: a.sum((0, 2), keepdim=True),
           lambda a: a.sum((0, 2), keepdim=True), shapes=(((2, 3, 4),),)),
    _unary("mean", lambda a: a.mean(), lambda a: a.mean(), shapes=(((3, 4),),)),
    _unary("mean_dim", lambda a: a.mean(-1, keepdim=True), lambda a: a.mean(-1, keepdim=True),
           shapes=(((2, 3, 4),),)),
    _unary("prod", lambda a: a.prod(), lambda a: a.prod(), shapes=(((2, 3),),)),
    _unary("prod_dim", lambda a: a.prod(1), lambda a: a.prod(1), shapes=(((2, 3, 2),),)),
    _unary("prod_with_zeros", lambda a: (a * cr.tensor(_ZMASK.astype(np.float32))).prod(1),
           lambda a: (a * _t(_ZMASK)).prod(1), shapes=(((3, 3),),), checks=NO_GG),
    _unary("prod_all_with_zero",
           lambda a: (a * cr.tensor(_ZMASK[0].astype(np.float32))).prod(),
           lambda a: (a * _t(_ZMASK[0])).prod(), shapes=(((3,),),), checks=NO_GG),
    _unary("max", lambda a: a.max(), lambda a: a.max(), "distinct", shapes=(((3, 4),),)),
    _unary("min", lambda a: a.min(), lambda a: a.min(), "distinct", shapes=(((3, 4),),)),
    _unary("max_dim", lambda a: a.max(1)[0], lambda a: a.max(1)[0], "distinct",
           shapes=(((3, 4),),)),
    _unary("min_dim_keep", lambda a: a.min(0, keepdim=True)[0],
           lambda a: a.min(0, keepdim=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary("amax", lambda a: a.amax((0, 2)), lambda a: a.amax((0, 2)), "distinct",
           shapes=(((2, 3, 4),),)),
    _unary("amin", lambda a: a.amin(1, keepdim=True), lambda a: a.amin(1, keepdim=True),
           "distinct", shapes=(((2, 3, 4),),)),
    _unary("var", lambda a: a.var(), lambda a: a.var(), shapes=(((3, 4),),)),
    _unary("var_dim", lambda a: a.var(1, keepdim=True), lambda a: a.var(1, keepdim=True),
           shapes=(((3, 4),),)),
    _unary("var_biased", lambda a: a.var(0, unbiased=False), lambda a: a.var(0, unbiased=False),
           shapes=(((3, 4),),)),
    _unary("std", lambda a: a.std(), lambda a: a.std(), shapes=(((3, 4),),)),
    _unary("std_dim", lambda a: a.std(-1), lambda a: a.std(-1), shapes=(((3, 4),),)),
    _unary("logsumexp", lambda a: a.logsumexp(1), lambda a: a.logsumexp(1),
           shapes=(((3, 4),),)),
    _unary("logsumexp_keep", lambda a: cr.logsumexp(a, (0, 1), keepdim=True),
           lambda a: torch.logsumexp(a, (0, 1), keepdim=True), shapes=(((3, 4),),)),
    _unary("norm", lambda a: a.norm(), lambda a: a.norm(), shapes=(((3, 4),),)),
    _unary("norm_dim", lambda a: a.norm(dim=1, keepdim=True),
           lambda a: a.norm(dim=1, keepdim=True), shapes=(((3, 4),),)),
    _unary("norm_p1", lambda a: a.norm(p=1), lambda a: a.norm(p=1), "nokink",
           shapes=(((3, 4),),)),
    _unary("norm_p3", lambda a: a.norm(p=3), lambda a: a.norm(p=3), "nokink",
           shapes=(((3, 4),),)),
    _unary("norm_inf", lambda a: a.norm(p=float("inf")), lambda a: a.norm(p=float("inf")),
           "distinct", shapes=(((3, 4),),)),
    _unary("std_correction0", lambda a: a.std(1, correction=0),
           lambda a: a.std(1, correction=0), shapes=(((3, 4),),)),
    _binary("max_binary", lambda a, b: cr.max(a, b), lambda a, b: torch.max(a, b), "distinct"),
    OpSpec("clamp_tensor_bounds", lambda a, lo, hi: a.clamp(lo, hi + 1.0),
           lambda a, lo, hi: a.clamp(lo, hi + 1.0), (((3, 4), (4,), (3, 1)),), "distinct"),
    _unary("cumsum", lambda a: a.cumsum(1), lambda a: a.cumsum(1), shapes=(((3, 4),),)),
    _unary("cumsum0", lambda a: a.cumsum(0), lambda a: a.cumsum(0), shapes=(((3, 4),),)),
    # ------------------------------------------ trigonometric / hyperbolic / math (issue 11)
    _unary("sinh", cr.sinh, torch.sinh),
    _unary("cosh", cr.cosh, torch.cosh),
    _unary("asinh", cr.asinh, torch.asinh),
    _unary("acosh", lambda a: cr.acosh(a + 1.5), lambda a: torch.acosh(a + 1.5), "positive"),
    _unary("atanh", cr.atanh, torch.atanh, "unit"),
    _unary("asin", cr.asin, torch.asin, "unit"),
    _unary("acos", cr.acos, torch.acos, "unit"),
    _unary("atan", cr.atan, torch.atan),
    _unary("arctan_method", lambda a: a.arctan(), lambda a: a.arctan()),
    _binary("atan2", cr.atan2, torch.atan2, "nokink"),
    _binary("hypot", cr.hypot, torch.hypot, "nokink"),
    _unary("hypot_scalar", lambda a: cr.hypot(a, 2.0),
           lambda a: torch.hypot(a, torch.tensor(2.0, dtype=a.dtype)), "nokink"),
    OpSpec("lerp", cr.lerp, torch.lerp, (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)))),
    _binary("lerp_scalar_weight", lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3)),
    _unary("clamp_min_method", lambda a: a.clamp_min(0.1), lambda a: a.clamp_min(0.1),
           "nokink"),
    _unary("clamp_max_fn", lambda a: cr.clamp_max(a, -0.1), lambda a: torch.clamp_max(a, -0.1),
           "nokink"),
    _unary("nan_to_num", cr.nan_to_num, torch.nan_to_num),
    _unary("nan_to_num_inf",
           lambda a: cr.nan_to_num(cr.where(cr.tensor(_MASK), a, float("inf")), posinf=2.0),
           lambda a: torch.nan_to_num(torch.where(_t(_MASK), a, float("inf")), posinf=2.0),
           shapes=(((3, 4),),)),
    _unary("cumprod", lambda a: a.cumprod(1), lambda a: a.cumprod(1), shapes=(((3, 4),),)),
    _unary("cumprod_zeros", lambda a: (a * cr.tensor(_ZMASK.astype(np.float32))).cumprod(0),
           lambda a: (a * _t(_ZMASK)).cumprod(0), shapes=(((3, 3),),)),
    _unary("diff", lambda a: cr.diff(a), lambda a: torch.diff(a), shapes=(((3, 4),),)),
    _unary("diff_n2_dim0", lambda a: a.diff(2, 0), lambda a: a.diff(2, 0),
           shapes=(((4, 3),),)),
    OpSpec("diff_prepend_append", lambda a, p, q: cr.diff(a, 1, 1, p, q),
           lambda a, p, q: torch.diff(a, 1, 1, p, q), (((3, 4), (3, 1), (3, 2)),)),
    _unary("trace", cr.trace, torch.trace, shapes=(((3, 4),), ((4, 2),))),
    OpSpec("kron", cr.kron, torch.kron, (((2, 3), (3, 2)), ((2,), (3, 1, 2)))),
    OpSpec("addmm", lambda i, a, b: cr.addmm(i, a, b, beta=0.5, alpha=2.0),
           lambda i, a, b: torch.addmm(i, a, b, beta=0.5, alpha=2.0),
           (((3, 2), (3, 4), (4, 2)), ((2,), (3, 4), (4, 2)))),
    OpSpec("addmm_method", lambda i, a, b: i.addmm(a, b), lambda i, a, b: i.addmm(a, b),
           (((3, 2), (3, 4), (4, 2)),)),
    OpSpec("addmv", lambda i, a, v: cr.addmv(i, a, v, beta=2.0, alpha=-1.0),
           lambda i, a, v: torch.addmv(i, a, v, beta=2.0, alpha=-1.0),
           (((3,), (3, 4), (4,)),)),
    OpSpec("baddbmm", lambda i, a, b: cr.baddbmm(i, a, b, alpha=0.5),
           lambda i, a, b: torch.baddbmm(i, a, b, alpha=0.5),
           (((2, 3, 2), (2, 3, 4), (2, 4, 2)), ((3, 1), (2, 3, 4), (2, 4, 2)))),
    OpSpec("tensordot_int", lambda a, b: cr.tensordot(a, b, 2),
           lambda a, b: torch.tensordot(a, b, 2), (((2, 3, 4), (3, 4, 2)),)),
    OpSpec("tensordot_lists", lambda a, b: cr.tensordot(a, b, ([0, 2], [2, 0])),
           lambda a, b: torch.tensordot(a, b, ([0, 2], [2, 0])), (((2, 3, 4), (4, 5, 2)),)),
    # ------------------------------------------------------------------ linalg
    OpSpec("matmul", cr.matmul, torch.matmul,
           (((3, 4), (4, 2)), ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)),
            ((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (2, 4, 3)))),
    OpSpec("mm", cr.mm, torch.mm, (((3, 4), (4, 2)),)),
    OpSpec("bmm", cr.bmm, torch.bmm, (((2, 3, 4), (2, 4, 2)),)),
    OpSpec("dot", cr.dot, torch.dot, (((5,), (5,)),)),
    OpSpec("mv", cr.mv, torch.mv, (((3, 4), (4,)),)),
    OpSpec("outer", cr.outer, torch.outer, (((3,), (4,)),)),
    OpSpec("einsum_mm", lambda a, b: cr.einsum("ij,jk->ik", a, b),
           lambda a, b: torch.einsum("ij,jk->ik", a, b), (((3, 4), (4, 2)),)),
    OpSpec("einsum_batch", lambda a, b: cr.einsum("bij,bjk->bik", a, b),
           lambda a, b: torch.einsum("bij,bjk->bik", a, b), (((2, 3, 4), (2, 4, 2)),)),
    OpSpec("einsum_ellipsis_sum", lambda a, b: cr.einsum("...i,i->...", a, b),
           lambda a, b: torch.einsum("...i,i->...", a, b), (((2, 3, 4), (4,)),)),
    OpSpec("einsum_implicit", lambda a, b: cr.einsum("ij,kj", a, b),
           lambda a, b: torch.einsum("ij,kj", a, b), (((3, 4), (2, 4)),)),
    OpSpec("einsum_reduce", lambda a: cr.einsum("ijk->j", a),
           lambda a: torch.einsum("ijk->j", a), (((2, 3, 4),),)),
    # ------------------------------------------------------------------- shape
    _unary("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1),
           shapes=(((2, 3, 2),),)),
    _unary("view", lambda a: a.view(6, 2), lambda a: a.view(6, 2), shapes=(((2, 3, 2),),)),
    _unary("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), shapes=(((2, 3, 2),),)),
    _unary("squeeze", lambda a: a.squeeze(), lambda a: a.squeeze(), shapes=(((2, 1, 3, 1),),)),
    _unary("squeeze_dim", lambda a: a.squeeze(1), lambda a: a.squeeze(1),
           shapes=(((2, 1, 3, 1),),)),
    _unary("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1),
           shapes=(((2, 3),),)),
    _unary("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2),
           shapes=(((2, 3, 4),),)),
    _unary("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1),
           shapes=(((2, 3, 4),),)),
    _unary("T", lambda a: a.T, lambda a: a.T, shapes=(((2, 3),),)),
    _unary("mT", lambda a: a.mT, lambda a: a.mT, shapes=(((2, 3, 4),),)),
    _unary("t", lambda a: a.t(), lambda a: a.t(), shapes=(((2, 3),),)),
    _unary("expand", lambda a: a.expand(2, 3, 4), lambda a: a.expand(2, 3, 4),
           shapes=(((3, 1),),)),
    _unary("expand_neg1", lambda a: a.expand(2, -1, 4), lambda a: a.expand(2, -1, 4),
           shapes=(((3, 1),),)),
    _unary("broadcast_to", lambda a: cr.broadcast_to(a, (2, 3, 4)),
           lambda a: torch.broadcast_to(a, (2, 3, 4)), shapes=(((1, 4),),)),
    _unary("repeat", lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3),
           shapes=(((2, 3),),)),
    _unary("tile", lambda a: a.tile((2,)), lambda a: a.tile((2,)), shapes=(((2, 3),),)),
    _unary("flip", lambda a: a.flip(0, 1), lambda a: a.flip(0, 1), shapes=(((2, 3),),)),
    _unary("roll", lambda a: a.roll(1, 1), lambda a: a.roll(1, 1), shapes=(((2, 3),),)),
    _unary("roll_flat", lambda a: a.roll(2), lambda a: a.roll(2), shapes=(((2, 3),),)),
    _unary("roll_multi", lambda a: a.roll((1, -1), (0, 1)), lambda a: a.roll((1, -1), (0, 1)),
           shapes=(((2, 3),),)),
    OpSpec("cat", lambda a, b: cr.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
           (((2, 3), (2, 2)),)),
    OpSpec("cat0", lambda a, b, c: cr.cat([a, b, c]), lambda a, b, c: torch.cat([a, b, c]),
           (((1, 3), (2, 3), (3, 3)),)),
    OpSpec("stack", lambda a, b: cr.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1),
           (((2, 3), (2, 3)),)),
    _unary("split", lambda a: a.split(2, 1), lambda a: a.split(2, 1), shapes=(((2, 5),),)),
    _unary("split_sections", lambda a: a.split([1, 3, 1], 1),
           lambda a: a.split([1, 3, 1], 1), shapes=(((2, 5),),)),
    _unary("chunk", lambda a: a.chunk(3, 0), lambda a: a.chunk(3, 0), shapes=(((5, 2),),)),
    _unary("unbind", lambda a: a.unbind(1), lambda a: a.unbind(1), shapes=(((2, 3),),)),
    _unary("pad", lambda a: cr.pad(a, (1, 2)), lambda a: torch.nn.functional.pad(a, (1, 2)),
           shapes=(((2, 3),),)),
    _unary("pad2d", lambda a: cr.pad(a, (1, 0, 2, 1), value=0.5),
           lambda a: torch.nn.functional.pad(a, (1, 0, 2, 1), value=0.5),
           shapes=(((2, 3, 2),),)),
    _unary("pad_crop", lambda a: cr.pad(a, (-1, 1)),
           lambda a: torch.nn.functional.pad(a, (-1, 1)), shapes=(((2, 3),),)),
    # ---------------------------------------------------------------- indexing
    _unary("getitem_int", lambda a: a[1], lambda a: a[1], shapes=(((3, 4),),)),
    _unary("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], shapes=(((3, 4),),)),
    _unary("getitem_neg", lambda a: a[-1, -2], lambda a: a[-1, -2], shapes=(((3, 4),),)),
    _unary("getitem_none_ellipsis", lambda a: a[None, ..., 1], lambda a: a[None, ..., 1],
           shapes=(((2, 3, 4),),)),
    _unary("getitem_mask", lambda a: a[cr.tensor(_MASK)], lambda a: a[_t(_MASK)],
           shapes=(((3, 4),),)),
    _unary("getitem_intarray_rep", lambda a: a[cr.tensor(_IDX_REP)], lambda a: a[_t(_IDX_REP)],
           shapes=(((3, 4),),)),
    _unary("getitem_list_rep", lambda a: a[:, [0, 0, 3]], lambda a: a[:, [0, 0, 3]],
           shapes=(((3, 4),),)),
    _unary("getitem_two_arrays", lambda a: a[[0, 2, 2], [1, 1, 3]],
           lambda a: a[[0, 2, 2], [1, 1, 3]], shapes=(((3, 4),),)),
    _unary("gather", lambda a: a.gather(1, cr.tensor(_GATHER_IDX)),
           lambda a: a.gather(1, _t(_GATHER_IDX)), shapes=(((3, 4),),)),
    OpSpec("scatter", lambda a, s: a.scatter(1, cr.tensor(_SCATTER_IDX), s),
           lambda a, s: a.scatter(1, _t(_SCATTER_IDX), s), (((3, 4), (3, 2)),)),
    OpSpec("scatter_add", lambda a, s: a.scatter_add(1, cr.tensor(_GATHER_IDX), s),
           lambda a, s: a.scatter_add(1, _t(_GATHER_IDX), s), (((3, 4), (3, 4)),)),
    _unary("index_select", lambda a: a.index_select(1, cr.tensor(_IDX_REP[:4])),
           lambda a: a.index_select(1, _t(_IDX_REP[:4])), shapes=(((3, 4),),)),
    _unary("masked_fill", lambda a: a.masked_fill(cr.tensor(_MASK), 2.5),
           lambda a: a.masked_fill(_t(_MASK), 2.5), shapes=(((3, 4),),)),
    _unary("masked_fill_bcast", lambda a: a.masked_fill(cr.tensor(_MASK[0]), -1.0),
           lambda a: a.masked_fill(_t(_MASK[0]), -1.0), shapes=(((3, 4),),)),
    _unary("take_along_dim", lambda a: cr.take_along_dim(a, cr.tensor(_TAKE_IDX), 1),
           lambda a: torch.take_along_dim(a, _t(_TAKE_IDX), 1), shapes=(((3, 4),),)),
    _unary("masked_select", lambda a: a.masked_select(cr.tensor(_MASK)),
           lambda a: a.masked_select(_t(_MASK)), shapes=(((3, 4),),)),
    _unary("sort", lambda a: a.sort(1)[0], lambda a: a.sort(1)[0], "distinct",
           shapes=(((3, 4),),)),
    _unary("sort_desc", lambda a: a.sort(0, descending=True)[0],
           lambda a: a.sort(0, descending=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary("topk", lambda a: a.topk(2, 1)[0], lambda a: a.topk(2, 1)[0], "distinct",
           shapes=(((3, 4),),)),
    _unary("topk_smallest", lambda a: a.topk(2, 0, largest=False)[0],
           lambda a: a.topk(2, 0, largest=False)[0], "distinct", shapes=(((3, 4),),)),
    _unary("triu", lambda a: a.triu(1), lambda a: a.triu(1), shapes=(((3, 4),), ((2, 3, 3),))),
    _unary("tril", lambda a: cr.tril(a), lambda a: torch.tril(a), shapes=(((3, 4),),)),
    _unary("log2", lambda a: a.log2(), lambda a: a.log2(), "positive"),
    _unary("log10", lambda a: a.log10(), lambda a: a.log10(), "positive"),
    # ----------------------------------------------------------------- softmax
    _unary("softmax", lambda a: a.softmax(-1), lambda a: a.softmax(-1), shapes=(((3, 4),),)),
    _unary("softmax0", lambda a: cr.softmax(a, 0), lambda a: torch.softmax(a, 0),
           shapes=(((3, 4),),)),
    _unary("log_softmax", lambda a: a.log_softmax(1), lambda a: a.log_softmax(1),
           shapes=(((3, 4),), ((2, 3, 4),))),
    # ------------------------------------------------------------ structural
    _unary("diagonal", lambda a: cr.diagonal(a, 1, 0, 2), lambda a: torch.diagonal(a, 1, 0, 2),
           shapes=(((3, 4, 5),),)),
    _unary("diagonal_neg", lambda a: a.diagonal(-1), lambda a: a.diagonal(-1),
           shapes=(((4, 3),),)),
    _unary("diag_1d", lambda a: cr.diag(a, 1), lambda a: torch.diag(a, 1), shapes=(((3,),),)),
    _unary("diag_2d", lambda a: cr.diag(a, -1), lambda a: torch.diag(a, -1),
           shapes=(((3, 4),),)),
    _unary("diag_embed", lambda a: cr.diag_embed(a, 1, 0, 2),
           lambda a: torch.diag_embed(a, 1, 0, 2), shapes=(((2, 3),),)),
    _unary("narrow", lambda a: a.narrow(1, -3, 2), lambda a: a.narrow(1, -3, 2),
           shapes=(((3, 4),),)),
    _unary("rot90", lambda a: cr.rot90(a, 1, (0, 1)), lambda a: torch.rot90(a, 1, (0, 1)),
           shapes=(((3, 4),),)),
    _unary("rot90_k3", lambda a: a.rot90(3, (2, 0)), lambda a: a.rot90(3, (2, 0)),
           shapes=(((2, 3, 4),),)),
    _unary("rot90_k2", lambda a: a.rot90(-2, (0, 1)), lambda a: a.rot90(-2, (0, 1)),
           shapes=(((2, 3),),)),
    _unary("repeat_interleave", lambda a: a.repeat_interleave(2, 1),
           lambda a: a.repeat_interleave(2, 1), shapes=(((3, 4),),)),
    _unary("repeat_interleave_t", lambda a: cr.repeat_interleave(a, cr.tensor([1, 0, 3]), 0),
           lambda a: torch.repeat_interleave(a, torch.tensor([1, 0, 3]), 0),
           shapes=(((3, 2),),)),
    _unary("repeat_interleave_flat", lambda a: cr.repeat_interleave(a, 2),
           lambda a: torch.repeat_interleave(a, 2), shapes=(((2, 3),), ((),))),
    _unary("tensor_unfold", lambda a: a.unfold(1, 3, 2), lambda a: a.unfold(1, 3, 2),
           shapes=(((2, 7, 2),),)),
    _unary("tensor_unfold_overlap", lambda a: a.unfold(0, 3, 1), lambda a: a.unfold(0, 3, 1),
           shapes=(((5,),),)),
    OpSpec("meshgrid_ij", lambda a, b: cr.stack(cr.meshgrid(a, b, indexing="ij")),
           lambda a, b: torch.stack(torch.meshgrid(a, b, indexing="ij")), (((3,), (4,)),)),
    OpSpec("meshgrid_xy", lambda a, b, c: cr.stack(cr.meshgrid(a, b, c, indexing="xy")),
           lambda a, b, c: torch.stack(torch.meshgrid(a, b, c, indexing="xy")),
           (((2,), (3,), (4,)),)),
    OpSpec("cartesian_prod", lambda a, b: cr.cartesian_prod(a, b),
           lambda a, b: torch.cartesian_prod(a, b), (((3,), (2,)),)),
    OpSpec("cdist", lambda a, b: cr.cdist(a, b), lambda a, b: torch.cdist(a, b),
           (((3, 4), (5, 4)), ((2, 3, 2), (2, 4, 2)))),
    OpSpec("cdist_p1", lambda a, b: cr.cdist(a, b, 1.0), lambda a, b: torch.cdist(a, b, 1.0),
           (((3, 4), (2, 4)),), "distinct"),
    OpSpec("cdist_p3", lambda a, b: cr.cdist(a, b, 3.0), lambda a, b: torch.cdist(a, b, 3.0),
           (((3, 4), (2, 4)),), "distinct"),
    OpSpec("cdist_inf", lambda a, b: cr.cdist(a, b, float("inf")),
           lambda a, b: torch.cdist(a, b, float("inf")), (((3, 4), (2, 4)),), "distinct"),
    _unary("F_unfold", lambda a: cr.nn.functional.unfold(a, (2, 3), dilation=(1, 2),
                                                         padding=1, stride=(2, 1)),
           lambda a: torch.nn.functional.unfold(a, (2, 3), dilation=(1, 2), padding=1,
                                                stride=(2, 1)), shapes=(((2, 2, 5, 6),),)),
    _unary("F_fold", lambda a: cr.nn.functional.fold(a, (4, 5), 2, padding=1, stride=2),
           lambda a: torch.nn.functional.fold(a, (4, 5), 2, padding=1, stride=2),
           shapes=(((2, 12, 9),), ((8, 9),))),
    # ------------------------------------------------------------ cr.linalg
    _unary("linalg_inv", cr.linalg.inv, torch.linalg.inv, shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("linalg_det", cr.linalg.det, torch.linalg.det, shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("linalg_slogdet", lambda a: cr.linalg.slogdet(a).logabsdet,
           lambda a: torch.linalg.slogdet(a).logabsdet, shapes=(((3, 3),),)),
    OpSpec("linalg_solve", cr.linalg.solve, torch.linalg.solve,
           (((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((3, 3), (2, 3, 1)))),
    OpSpec("linalg_solve_right", lambda a, b: cr.linalg.solve(a, b, left=False),
           lambda a, b: torch.linalg.solve(a, b, left=False), (((3, 3), (2, 3)),)),
    _unary("linalg_cholesky", lambda a: cr.linalg.cholesky(_spd(a, cr)),
           lambda a: torch.linalg.cholesky(_spd(a, torch)), shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("linalg_cholesky_upper", lambda a: cr.linalg.cholesky(_spd(a, cr), upper=True),
           lambda a: torch.linalg.cholesky(_spd(a, torch), upper=True), shapes=(((3, 3),),)),
    _unary("linalg_qr", lambda a: tuple(cr.linalg.qr(a)), lambda a: tuple(torch.linalg.qr(a)),
           shapes=(((4, 3),), ((3, 3),))),
    _unary("linalg_eigh", lambda a: _gauge(cr.linalg.eigh(_spd(a, cr))),
           lambda a: _gauge(torch.linalg.eigh(_spd(a, torch))), shapes=(((3, 3),),)),
    _unary("linalg_eigvalsh", lambda a: cr.linalg.eigvalsh(a + a.mT),
           lambda a: torch.linalg.eigvalsh(a + a.mT), shapes=(((3, 3),), ((2, 4, 4),))),
    _unary("linalg_svd", lambda a: _gauge(cr.linalg.svd(a, full_matrices=False)),
           lambda a: _gauge(torch.linalg.svd(a, full_matrices=False)),
           checks=NO_JVP, shapes=(((4, 3),), ((3, 4),))),
    _unary("linalg_svdvals", cr.linalg.svdvals, torch.linalg.svdvals,
           shapes=(((4, 3),), ((2, 3, 4),))),
    _unary("linalg_pinv", cr.linalg.pinv, torch.linalg.pinv, checks=NO_JVP,
           shapes=(((4, 3),), ((3, 4),))),
    OpSpec("linalg_lstsq", lambda a, b: cr.linalg.lstsq(a, b).solution,
           lambda a, b: torch.linalg.lstsq(a, b).solution, (((5, 3), (5, 2)),), checks=NO_JVP),
    _unary("linalg_matrix_power", lambda a: cr.linalg.matrix_power(a, 3),
           lambda a: torch.linalg.matrix_power(a, 3), shapes=(((3, 3),),)),
    _unary("linalg_matrix_power_neg", lambda a: cr.linalg.matrix_power(a, -2),
           lambda a: torch.linalg.matrix_power(a, -2), shapes=(((3, 3),),)),
    OpSpec("linalg_cross", lambda a, b: cr.linalg.cross(a, b),
           lambda a, b: torch.linalg.cross(a, b), (((2, 3), (2, 3)), ((4, 3), (1, 3)))),
    _unary("linalg_vector_norm", lambda a: cr.linalg.vector_norm(a, dim=1),
           lambda a: torch.linalg.vector_norm(a, dim=1), shapes=(((3, 4),), ((2, 3, 2),))),
    _unary("linalg_vector_norm_p3", lambda a: cr.linalg.vector_norm(a, 3, keepdim=True),
           lambda a: torch.linalg.vector_norm(a, 3, keepdim=True), "nokink",
           shapes=(((3, 4),),)),
    _unary("linalg_vector_norm_inf", lambda a: cr.linalg.vector_norm(a, float("inf"), 0),
           lambda a: torch.linalg.vector_norm(a, float("inf"), 0), "distinct",
           shapes=(((3, 4),),)),
    _unary("linalg_matrix_norm_fro", cr.linalg.matrix_norm, torch.linalg.matrix_norm,
           shapes=(((3, 4),), ((2, 3, 4),))),
    _unary("linalg_matrix_norm_nuc", lambda a: cr.linalg.matrix_norm(a, "nuc"),
           lambda a: torch.linalg.matrix_norm(a, "nuc"), shapes=(((3, 4),),)),
    _unary("linalg_matrix_norm_2", lambda a: cr.linalg.matrix_norm(a, 2, keepdim=True),
           lambda a: torch.linalg.matrix_norm(a, 2, keepdim=True), shapes=(((3, 4),),)),
    _unary("linalg_matrix_norm_1", lambda a: cr.linalg.matrix_norm(a, 1),
           lambda a: torch.linalg.matrix_norm(a, 1), "distinct", shapes=(((3, 4),),)),
    _unary("linalg_matrix_norm_neginf", lambda a: cr.linalg.matrix_norm(a, -float("inf")),
           lambda a: torch.linalg.matrix_norm(a, -float("inf")), "distinct",
           shapes=(((3, 4),),)),
    _unary("linalg_norm", lambda a: cr.linalg.norm(a), lambda a: torch.linalg.norm(a),
           shapes=(((3, 4),), ((2, 3, 4),))),
    # ------------------------------------------------------------ nn.functional
    OpSpec("F_linear", F.linear, TF.linear, (((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,)))),
    OpSpec("F_conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1, stride=(1, 2)),
           lambda x, w, b: TF.conv2d(x, w, b, padding=1, stride=(1, 2)),
           (((2, 3, 5, 5), (4, 3, 3, 3), (4,)),)),
    OpSpec("F_conv1d", lambda x, w: F.conv1d(x, w, dilation=2),
           lambda x, w: TF.conv1d(x, w, dilation=2), (((2, 3, 7), (4, 3, 2)),)),
    _unary("F_max_pool2d", lambda a: F.max_pool2d(a, 2), lambda a: TF.max_pool2d(a, 2),
           "distinct", shapes=(((1, 2, 4, 4),),)),
    _unary("F_avg_pool2d", lambda a: F.avg_pool2d(a, 2, padding=1),
           lambda a: TF.avg_pool2d(a, 2, padding=1), shapes=(((1, 2, 4, 4),),)),
    _unary("F_adaptive_avg_pool2d", lambda a: F.adaptive_avg_pool2d(a, (2, 3)),
           lambda a: TF.adaptive_avg_pool2d(a, (2, 3)), shapes=(((1, 2, 5, 6),),)),
    OpSpec("F_layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b),
           lambda x, w, b: TF.layer_norm(x, (4,), w, b), (((3, 4), (4,), (4,)),)),
    OpSpec("F_batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
           (((4, 3), (3,), (3,)), ((2, 3, 2, 2), (3,), (3,)))),
    OpSpec("F_group_norm", lambda x, w, b: F.group_norm(x, 2, w, b),
           lambda x, w, b: TF.group_norm(x, 2, w, b), (((2, 4, 3), (4,), (4,)),)),
    OpSpec("F_rms_norm", lambda x, w: F.rms_norm(x, (4,), w),
           lambda x, w: TF.rms_norm(x, (4,), w), (((3, 4), (4,)),)),
    _unary("F_gelu", F.gelu, TF.gelu),
    _unary("F_gelu_tanh", lambda a: F.gelu(a, approximate="tanh"),
           lambda a: TF.gelu(a, approximate="tanh")),
    _unary("F_silu", F.silu, TF.silu),
    _unary("F_elu", F.elu, TF.elu, "nokink"),
    _unary("F_leaky_relu", lambda a: F.leaky_relu(a, 0.1), lambda a: TF.leaky_relu(a, 0.1),
           "nokink"),
    _unary("F_logsigmoid", F.logsigmoid, TF.logsigmoid),
    _unary("F_hardtanh", F.hardtanh, TF.hardtanh, "nokink"),
    OpSpec("F_mse_loss", F.mse_loss, TF.mse_loss, (B,)),
    OpSpec("F_l1_loss", F.l1_loss, TF.l1_loss, (B,), "distinct"),
    OpSpec("F_smooth_l1_loss", lambda a, b: F.smooth_l1_loss(a, b, beta=0.5),
           lambda a, b: TF.smooth_l1_loss(a, b, beta=0.5), (B,), "distinct"),
    OpSpec("F_huber_loss", lambda a, b: F.huber_loss(a, b, delta=0.7),
           lambda a, b: TF.huber_loss(a, b, delta=0.7), (B,), "distinct"),
    _unary("F_cross_entropy", lambda a: F.cross_entropy(a, cr.tensor(_CE_TARGET)),
           lambda a: TF.cross_entropy(a, torch.tensor(_CE_TARGET)), shapes=(((3, 4),),)),
    _unary("F_cross_entropy_smooth", lambda a: F.cross_entropy(
        a, cr.tensor(_CE_TARGET), label_smoothing=0.1, reduction="sum"),
           lambda a: TF.cross_entropy(a, torch.tensor(_CE_TARGET), label_smoothing=0.1,
                                      reduction="sum"), shapes=(((3, 4),),)),
    _unary("F_nll_loss", lambda a: F.nll_loss(a.log_softmax(1), cr.tensor(_CE_TARGET)),
           lambda a: TF.nll_loss(a.log_softmax(1), torch.tensor(_CE_TARGET)),
           shapes=(((3, 4),),)),
    OpSpec("F_bce_with_logits", lambda a, t: F.binary_cross_entropy_with_logits(a, t.sigmoid()),
           lambda a, t: TF.binary_cross_entropy_with_logits(a, t.sigmoid()), (B,)),
    OpSpec("F_bce", lambda a, t: F.binary_cross_entropy(a.sigmoid(), t.sigmoid()),
           lambda a, t: TF.binary_cross_entropy(a.sigmoid(), t.sigmoid()), (B,)),
    OpSpec("F_kl_div", lambda a, b: F.kl_div(a.log_softmax(1), b.softmax(1),
                                             reduction="batchmean"),
           lambda a, b: TF.kl_div(a.log_softmax(1), b.softmax(1), reduction="batchmean"), (B,)),
    _unary("F_normalize", lambda a: F.normalize(a, dim=1), lambda a: TF.normalize(a, dim=1),
           shapes=(((3, 4),),)),
    OpSpec("F_cosine_similarity", F.cosine_similarity, TF.cosine_similarity, (B,)),
    OpSpec("F_pairwise_distance", F.pairwise_distance, TF.pairwise_distance, (B,)),
    _unary("F_embedding", lambda w: F.embedding(cr.tensor(_EMB_IDX), w),
           lambda w: TF.embedding(torch.tensor(_EMB_IDX), w), shapes=(((5, 3),),)),
    OpSpec("F_sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
           lambda q, k, v: TF.scaled_dot_product_attention(q, k, v),
           (((2, 3, 4), (2, 5, 4), (2, 5, 2)),)),
    OpSpec("F_sdpa_causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v,
                                                                          is_causal=True),
           lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
           (((1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 3)),)),
    _unary("F_interpolate_bilinear", lambda a: F.interpolate(a, size=(5, 3), mode="bilinear"),
           lambda a: TF.interpolate(a, size=(5, 3), mode="bilinear"), shapes=(((1, 2, 3, 4),),)),
    _unary("F_pixel_shuffle", lambda a: F.pixel_shuffle(a, 2),
           lambda a: TF.pixel_shuffle(a, 2), shapes=(((1, 8, 2, 3),),)),
    # ------------------------------------------------------ composite chains
    OpSpec("mlp_chain", lambda x, w, b: (x @ w + b).tanh().sum(1).sigmoid(),
           lambda x, w, b: (x @ w + b).tanh().sum(1).sigmoid(), (((3, 4), (4, 2), (2,)),)),
]


def cases() -> list:
    """(spec, shapes) pairs with readable ids for pytest.mark.parametrize."""
    out = []
    for spec in SPECS:
        for k, shapes in enumerate(spec.shapes):
            out.append((spec, shapes, f"{spec.id}-{k}"))
    return out
