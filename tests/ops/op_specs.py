"""The central table of differentiable op specs that drives tests/ops/test_ops.py.

Each :class:`OpSpec` names an op once, as tinygrad's ``helper_test_op`` does: ``fn`` is
either a dotted name found in both libraries (``"exp"``, ``"linalg.inv"``,
``"nn.functional.gelu"``; omitted in ``_unary``/``_binary`` when it is the spec's name) or
one callable written for both, with ``lib(x)`` / ``nnf(x)`` / ``const(x, array)`` picking
the library of its first tensor. ``torch_fn`` is given only where PyTorch's name or call
differs. A spec also gives the input shapes, a domain for the inputs (so log/sqrt get
positive values and kinked ops stay away from their kinks), bad inputs whose error must
match PyTorch's (``bad``, see tests/ops/test_bad_inputs.py) and the set of checks:

    fwd   forward values vs PyTorch
    bwd   input gradients vs PyTorch for the same random upstream gradient
    gc    gradcheck (finite differences, float64)
    jvp   forward mode vs reverse mode: <J v, u> == <v, J^T u>
    gg    gradgradcheck (double backward)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

ALL = frozenset({"fwd", "bwd", "gc", "jvp", "gg"})
NO_GG = ALL - {"gg"}
NO_JVP = ALL - {"jvp"}


def lib(x: Any) -> Any:
    """The library ``x`` belongs to: ``chainrule`` or ``torch``."""
    return cr if isinstance(x, cr.Tensor) else torch


def nnf(x: Any) -> Any:
    """The ``nn.functional`` module of ``x``'s library."""
    return lib(x).nn.functional


def const(x: Any, array: Any) -> Any:
    """A constant tensor of ``x``'s library (floats in ``x``'s dtype, so float32 stays so)."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        return lib(x).tensor(array, dtype=x.dtype, device=x.device)
    return lib(x).tensor(array, device=x.device)


def _resolve(module: Any, path: str) -> Callable:
    return functools.reduce(getattr, path.split("."), module)


@dataclass(frozen=True)
class BadInput:
    """A bad call whose error (or value) must match PyTorch's (tests/ops/test_bad_inputs.py).

    ``arrays(spec_arrays) -> arrays`` builds the inputs (NumPy, the same for both libraries);
    ``call(fn, *tensors)`` calls the op (default ``fn(*tensors)``), so a spec can also pass a
    bad argument such as an out-of-range ``dim``."""

    label: str
    arrays: Callable = lambda arrays: arrays
    call: Callable | None = None


def bad_call(label: str, call: Callable) -> BadInput:
    """A bad input that keeps the spec's arrays and changes the call."""
    return BadInput(label, call=lambda fn, *xs: call(*xs))


@dataclass
class OpSpec:
    name: str
    fn: Callable | str  # a dotted name in both libraries, or one callable for both
    shapes: tuple  # one tuple of input shapes per case
    domain: str = "real"  # real | positive | unit | nokink | distinct
    checks: frozenset = ALL
    torch_fn: Callable | None = None  # only where PyTorch's name or call differs
    bad: tuple = ()  # BadInput cases (tests/ops/test_bad_inputs.py)
    bwd_rtol: float = 1e-9  # gradient tolerance vs PyTorch (float64)

    @property
    def id(self) -> str:
        return self.name

    @property
    def cr_fn(self) -> Callable:
        return _resolve(cr, self.fn) if isinstance(self.fn, str) else self.fn

    @property
    def th_fn(self) -> Callable:
        if self.torch_fn is not None:
            return self.torch_fn
        return _resolve(torch, self.fn) if isinstance(self.fn, str) else self.fn


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
_MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
_TAKE_IDX = np.array([[2], [0], [3]])
_CE_TARGET = np.array([1, 0, 3])
_EMB_IDX = np.array([[0, 2, 2], [4, 1, 0]])
_CE_IDX = np.array([0, 2, 1, 2])  # class targets for (4, 3) logits
_CE_WEIGHT = np.array([0.5, 1.0, 2.0])
_CE_PROBS = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.3, 0.3, 0.4]])
_ZMASK = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])  # zeros for prod

B = ((3, 4), (3, 4))
BCAST = (((2, 3, 4), (3, 1)), ((4,), (2, 1, 4)), ((), (3, 2)))


def _binary(name, fn=None, domain="real", checks=ALL, **kw):
    return OpSpec(name, fn or name, (B,) + BCAST, domain, checks, **kw)


def _unary(name, fn=None, domain="real", checks=ALL, shapes=(((3, 4),), ((),)), **kw):
    return OpSpec(name, fn or name, shapes, domain, checks, **kw)


def _spd(a):
    """A symmetric positive-definite matrix built from any square ``a`` (for cholesky/eigh).

    A bad ``a`` (not a batch of square matrices) is passed through unchanged, so that the op
    under test, not this builder, meets it (tests/ops/test_bad_inputs.py)."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        return a
    return a @ a.mT + 3.0 * lib(a).eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _sym(a):
    """``a + a.mT`` for a batch of square matrices; anything else passes through (as _spd)."""
    return a + a.mT if a.ndim >= 2 and a.shape[-1] == a.shape[-2] else a


def _log_probs(a):
    """log_softmax over the last dim; an integer ``a`` (a bad input) passes through, so that
    the loss under test, not this builder, meets it."""
    return a.log_softmax(-1) if a.is_floating_point() else a


def _probs(a):
    """softmax over the last dim; an integer ``a`` passes through (as _log_probs)."""
    return a.softmax(-1) if a.is_floating_point() else a


def _fit(mask, a):
    """A constant mask cut to ``a``'s leading size when their ranks agree, so an input with an
    empty first dimension (a bad input) reaches the op under test instead of failing to
    broadcast against the mask."""
    mask = np.asarray(mask)
    return const(a, mask[: a.shape[0]] if a.ndim == mask.ndim >= 1 else mask)


def _gauge(result):
    """Eigen/singular vectors are defined up to sign: compare their squares."""
    return tuple(r**2 if r.ndim >= 2 else r for r in result)


SPECS: list = [
    # ------------------------------------------------------------ arithmetic
    _binary("add", lambda a, b: a + b),
    _binary("sub", lambda a, b: a - b),
    _binary("mul", lambda a, b: a * b),
    _binary("div", lambda a, b: a / b, "positive"),
    _binary("pow", lambda a, b: a**b, "positive"),
    _unary("pow_scalar", lambda a: a**3),
    _unary("pow_half", lambda a: a**0.5, "positive"),
    _unary("rpow", lambda a: 2.0**a),
    _unary("rsub_scalar", lambda a: 1.5 - a),
    _unary("rdiv_scalar", lambda a: 2.0 / a, "positive"),
    _unary("neg", lambda a: -a),
    _unary("abs", lambda a: a.abs(), "nokink"),
    # ------------------------------------------------------------- elementwise
    _unary("exp"),
    _unary("exp2"),
    _unary("log", domain="positive"),
    _unary("log1p", domain="positive"),
    _unary("expm1"),
    _unary("sqrt", domain="positive"),
    _unary("rsqrt", domain="positive"),
    _unary("sin"),
    _unary("cos"),
    _unary("tan", domain="unit"),
    _unary("tanh"),
    _unary("sigmoid"),
    _unary("relu", domain="nokink"),
    _unary("clamp", lambda a: a.clamp(-0.5, 0.5), "nokink"),
    _unary("clamp_min", lambda a: lib(a).clamp(a, min=0.1), "nokink"),
    _binary("maximum", domain="distinct"),
    _binary("minimum", domain="distinct"),
    OpSpec("where", lambda a, b: lib(a).where(const(a, _MASK), a, b), (B, ((3, 4), (4,)))),
    _unary("reciprocal", domain="positive"),
    _unary("square"),
    _unary("erf"),
    # chainrule also has softplus at the top level; PyTorch only in nn.functional
    _unary("softplus", cr.softplus, torch_fn=torch.nn.functional.softplus),
    _unary(
        "softplus_beta",
        lambda a: cr.softplus(a, beta=2.0),
        torch_fn=lambda a: torch.nn.functional.softplus(a, beta=2.0),
    ),
    # ------------------------------------------------------------- reductions
    _unary("sum", lambda a: a.sum(), shapes=(((3, 4),),)),
    _unary(
        "sum_dim",
        lambda a: a.sum(1),
        shapes=(((2, 3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.sum(3)),),
    ),
    _unary("sum_dims_keep", lambda a: a.sum((0, 2), keepdim=True), shapes=(((2, 3, 4),),)),
    _unary("mean", lambda a: a.mean(), shapes=(((3, 4),),)),
    _unary("mean_dim", lambda a: a.mean(-1, keepdim=True), shapes=(((2, 3, 4),),)),
    _unary("prod", lambda a: a.prod(), shapes=(((2, 3),),)),
    _unary("prod_dim", lambda a: a.prod(1), shapes=(((2, 3, 2),),)),
    _unary(
        "prod_with_zeros",
        lambda a: (a * _fit(_ZMASK, a)).prod(1),
        shapes=(((3, 3),),),
        checks=NO_GG,
    ),
    _unary(
        "prod_all_with_zero",
        lambda a: (a * _fit(_ZMASK[0], a)).prod(),
        shapes=(((3,),),),
        checks=NO_GG,
    ),
    _unary("max", lambda a: a.max(), "distinct", shapes=(((3, 4),),)),
    _unary("min", lambda a: a.min(), "distinct", shapes=(((3, 4),),)),
    _unary("max_dim", lambda a: a.max(1)[0], "distinct", shapes=(((3, 4),),)),
    _unary("min_dim_keep", lambda a: a.min(0, keepdim=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary("amax", lambda a: a.amax((0, 2)), "distinct", shapes=(((2, 3, 4),),)),
    _unary("amin", lambda a: a.amin(1, keepdim=True), "distinct", shapes=(((2, 3, 4),),)),
    _unary("var", lambda a: a.var(), shapes=(((3, 4),),)),
    _unary("var_dim", lambda a: a.var(1, keepdim=True), shapes=(((3, 4),),)),
    _unary("var_biased", lambda a: a.var(0, unbiased=False), shapes=(((3, 4),),)),
    _unary("std", lambda a: a.std(), shapes=(((3, 4),),)),
    _unary("std_dim", lambda a: a.std(-1), shapes=(((3, 4),),)),
    _unary(
        "logsumexp",
        lambda a: a.logsumexp(1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.logsumexp(2)),),
    ),
    _unary(
        "logsumexp_keep", lambda a: lib(a).logsumexp(a, (0, 1), keepdim=True), shapes=(((3, 4),),)
    ),
    _unary("norm", lambda a: a.norm(), shapes=(((3, 4),),)),
    _unary("norm_dim", lambda a: a.norm(dim=1, keepdim=True), shapes=(((3, 4),),)),
    _unary("norm_p1", lambda a: a.norm(p=1), "nokink", shapes=(((3, 4),),)),
    _unary("norm_p3", lambda a: a.norm(p=3), "nokink", shapes=(((3, 4),),)),
    _unary("norm_inf", lambda a: a.norm(p=float("inf")), "distinct", shapes=(((3, 4),),)),
    _unary("std_correction0", lambda a: a.std(1, correction=0), shapes=(((3, 4),),)),
    _binary("max_binary", lambda a, b: lib(a).max(a, b), "distinct"),
    OpSpec(
        "clamp_tensor_bounds",
        lambda a, lo, hi: a.clamp(lo, hi + 1.0),
        (((3, 4), (4,), (3, 1)),),
        "distinct",
    ),
    _unary(
        "cumsum",
        lambda a: a.cumsum(1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.cumsum(-3)),),
    ),
    _unary("cumsum0", lambda a: a.cumsum(0), shapes=(((3, 4),),)),
    # ------------------------------------------ trigonometric / hyperbolic / math (issue 11)
    _unary("sinh"),
    _unary("cosh"),
    _unary("asinh"),
    _unary("acosh", lambda a: lib(a).acosh(a + 1.5), "positive"),
    _unary("atanh", domain="unit"),
    _unary("asin", domain="unit"),
    _unary("acos", domain="unit"),
    _unary("atan"),
    _unary("arctan_method", lambda a: a.arctan()),
    _binary("atan2", domain="nokink"),
    _binary("hypot", domain="nokink"),
    _binary("logaddexp"),
    _unary("deg2rad"),
    # torch.hypot takes no Python number: its side wraps 2.0 in a 0-d tensor of the dtype a
    # Python scalar promotes to (float for an integer tensor, as chainrule's hypot(a, 2.0))
    _unary(
        "hypot_scalar",
        lambda a: cr.hypot(a, 2.0),
        "nokink",
        torch_fn=lambda a: torch.hypot(a, torch.tensor(2.0, dtype=torch.result_type(a, 2.0))),
    ),
    OpSpec("lerp", "lerp", (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)))),
    _binary("lerp_scalar_weight", lambda a, b: a.lerp(b, 0.3)),
    _binary("lerp_scalar_weight_high", lambda a, b: lib(a).lerp(a, b, 0.8)),
    _unary("clamp_min_method", lambda a: a.clamp_min(0.1), "nokink"),
    _unary("clamp_max_fn", lambda a: lib(a).clamp_max(a, -0.1), "nokink"),
    _unary("nan_to_num"),
    _unary(
        "nan_to_num_inf",
        lambda a: lib(a).nan_to_num(lib(a).where(_fit(_MASK, a), a, float("inf")), posinf=2.0),
        shapes=(((3, 4),),),
    ),
    _unary("cumprod", lambda a: a.cumprod(1), shapes=(((3, 4),),)),
    _unary("cumprod_zeros", lambda a: (a * _fit(_ZMASK, a)).cumprod(0), shapes=(((3, 3),),)),
    _unary("diff", lambda a: lib(a).diff(a), shapes=(((3, 4),),)),
    _unary("diff_n2_dim0", lambda a: a.diff(2, 0), shapes=(((4, 3),),)),
    OpSpec(
        "diff_prepend_append",
        lambda a, p, q: lib(a).diff(a, 1, 1, p, q),
        (((3, 4), (3, 1), (3, 2)),),
    ),
    _unary("trace", shapes=(((3, 4),), ((4, 2),))),
    OpSpec("kron", "kron", (((2, 3), (3, 2)), ((2,), (3, 1, 2)))),
    OpSpec(
        "addmm",
        lambda i, a, b: lib(i).addmm(i, a, b, beta=0.5, alpha=2.0),
        (((3, 2), (3, 4), (4, 2)), ((2,), (3, 4), (4, 2))),
    ),
    OpSpec("addmm_method", lambda i, a, b: i.addmm(a, b), (((3, 2), (3, 4), (4, 2)),)),
    OpSpec(
        "addmv",
        lambda i, a, v: lib(i).addmv(i, a, v, beta=2.0, alpha=-1.0),
        (((3,), (3, 4), (4,)),),
    ),
    OpSpec(
        "baddbmm",
        lambda i, a, b: lib(i).baddbmm(i, a, b, alpha=0.5),
        (((2, 3, 2), (2, 3, 4), (2, 4, 2)), ((3, 1), (2, 3, 4), (2, 4, 2))),
    ),
    OpSpec("tensordot_int", lambda a, b: lib(a).tensordot(a, b, 2), (((2, 3, 4), (3, 4, 2)),)),
    OpSpec(
        "tensordot_lists",
        lambda a, b: lib(a).tensordot(a, b, ([0, 2], [2, 0])),
        (((2, 3, 4), (4, 5, 2)),),
    ),
    # ------------------------------------------------------------------ linalg
    OpSpec(
        "matmul",
        "matmul",
        (
            ((3, 4), (4, 2)),
            ((4,), (4,)),
            ((4,), (4, 2)),
            ((3, 4), (4,)),
            ((2, 3, 4), (4, 2)),
            ((2, 1, 3, 4), (3, 4, 2)),
            ((4,), (2, 4, 3)),
        ),
    ),
    OpSpec("mm", "mm", (((3, 4), (4, 2)),)),
    OpSpec("bmm", "bmm", (((2, 3, 4), (2, 4, 2)),)),
    OpSpec("dot", "dot", (((5,), (5,)),)),
    OpSpec("mv", "mv", (((3, 4), (4,)),)),
    OpSpec("outer", "outer", (((3,), (4,)),)),
    OpSpec("einsum_mm", lambda a, b: lib(a).einsum("ij,jk->ik", a, b), (((3, 4), (4, 2)),)),
    OpSpec(
        "einsum_batch", lambda a, b: lib(a).einsum("bij,bjk->bik", a, b), (((2, 3, 4), (2, 4, 2)),)
    ),
    OpSpec(
        "einsum_ellipsis_sum", lambda a, b: lib(a).einsum("...i,i->...", a, b), (((2, 3, 4), (4,)),)
    ),
    OpSpec("einsum_implicit", lambda a, b: lib(a).einsum("ij,kj", a, b), (((3, 4), (2, 4)),)),
    OpSpec("einsum_reduce", lambda a: lib(a).einsum("ijk->j", a), (((2, 3, 4),),)),
    OpSpec("einsum_diagonal", lambda a: lib(a).einsum("ii->i", a), (((3, 3),),)),
    OpSpec(
        "einsum_repeated_contract",
        lambda a, b: lib(a).einsum("iij,j->i", a, b),
        (((3, 3, 4), (4,)),),
    ),
    OpSpec(
        "einsum_sublist",
        lambda a, b: lib(a).einsum(a, [0, 1], b, [1, 2], [0, 2]),
        (((3, 4), (4, 2)),),
    ),
    # ------------------------------------------------------------------- shape
    _unary(
        "reshape",
        lambda a: a.reshape(4, -1),
        shapes=(((2, 3, 2),),),
        bad=(bad_call("bad_size", lambda a: a.reshape(5, -1)),),
    ),
    _unary("view", lambda a: a.view(6, 2), shapes=(((2, 3, 2),),)),
    _unary(
        "flatten",
        lambda a: a.flatten(1),
        shapes=(((2, 3, 2),),),
        bad=(bad_call("start_after_end", lambda a: a.flatten(2, 1)),),
    ),
    _unary("squeeze", lambda a: a.squeeze(), shapes=(((2, 1, 3, 1),),)),
    _unary(
        "squeeze_dim",
        lambda a: a.squeeze(1),
        shapes=(((2, 1, 3, 1),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.squeeze(4)),),
    ),
    _unary(
        "unsqueeze",
        lambda a: a.unsqueeze(-1),
        shapes=(((2, 3),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.unsqueeze(4)),),
    ),
    _unary(
        "transpose",
        lambda a: a.transpose(0, 2),
        shapes=(((2, 3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.transpose(0, 3)),),
    ),
    _unary("permute", lambda a: a.permute(2, 0, 1), shapes=(((2, 3, 4),),)),
    _unary("T", lambda a: a.T, shapes=(((2, 3),),)),
    _unary("mT", lambda a: a.mT, shapes=(((2, 3, 4),),)),
    _unary("t", lambda a: a.t(), shapes=(((2, 3),),)),
    _unary("clone"),
    _unary("clone_method", lambda a: a.clone()),
    _unary(
        "expand",
        lambda a: a.expand(2, 3, 4),
        shapes=(((3, 1),),),
        bad=(bad_call("bad_size", lambda a: a.expand(2, 4, 4)),),
    ),
    _unary("expand_neg1", lambda a: a.expand(2, -1, 4), shapes=(((3, 1),),)),
    _unary("broadcast_to", lambda a: lib(a).broadcast_to(a, (2, 3, 4)), shapes=(((1, 4),),)),
    _unary(
        "repeat",
        lambda a: a.repeat(2, 1, 3),
        shapes=(((2, 3),),),
        bad=(bad_call("too_few_repeats", lambda a: a.repeat(2)),),
    ),
    _unary("tile", lambda a: a.tile((2,)), shapes=(((2, 3),),)),
    _unary("flip", lambda a: a.flip(0, 1), shapes=(((2, 3),),)),
    _unary("roll", lambda a: a.roll(1, 1), shapes=(((2, 3),),)),
    _unary("roll_flat", lambda a: a.roll(2), shapes=(((2, 3),),)),
    _unary(
        "roll_multi",
        lambda a: a.roll((1, -1), (0, 1)),
        shapes=(((2, 3),),),
        bad=(bad_call("shifts_dims_mismatch", lambda a: a.roll((1, 2), (0,))),),
    ),
    OpSpec(
        "cat",
        lambda a, b: lib(a).cat([a, b], 1),
        (((2, 3), (2, 2)),),
        bad=(bad_call("dim_out_of_range", lambda a, b: lib(a).cat([a, b], 2)),),
    ),
    OpSpec("cat0", lambda a, b, c: lib(a).cat([a, b, c]), (((1, 3), (2, 3), (3, 3)),)),
    OpSpec("stack", lambda a, b: lib(a).stack([a, b], 1), (((2, 3), (2, 3)),)),
    _unary("split", lambda a: a.split(2, 1), shapes=(((2, 5),),)),
    _unary(
        "split_sections",
        lambda a: a.split([1, 3, 1], 1),
        shapes=(((2, 5),),),
        bad=(
            bad_call("bad_sections", lambda a: a.split([1, 1], 1)),
            bad_call("negative_section", lambda a: a.split([-1, 5, 1], 1)),
        ),
    ),
    _unary("chunk", lambda a: a.chunk(3, 0), shapes=(((5, 2),),)),
    _unary("unbind", lambda a: a.unbind(1), shapes=(((2, 3),),)),
    # chainrule also has pad at the top level; PyTorch only in nn.functional
    _unary(
        "pad",
        lambda a: cr.pad(a, (1, 2)),
        shapes=(((2, 3),),),
        torch_fn=lambda a: torch.nn.functional.pad(a, (1, 2)),
    ),
    _unary(
        "pad2d",
        lambda a: cr.pad(a, (1, 0, 2, 1), value=0.5),
        shapes=(((2, 3, 2),),),
        torch_fn=lambda a: torch.nn.functional.pad(a, (1, 0, 2, 1), value=0.5),
    ),
    _unary(
        "pad_crop",
        lambda a: cr.pad(a, (-1, 1)),
        shapes=(((2, 3),),),
        torch_fn=lambda a: torch.nn.functional.pad(a, (-1, 1)),
    ),
    # ---------------------------------------------------------------- indexing
    _unary("getitem_int", lambda a: a[1], shapes=(((3, 4),),)),
    _unary("getitem_slice", lambda a: a[1:, ::2], shapes=(((3, 4),),)),
    _unary("getitem_neg", lambda a: a[-1, -2], shapes=(((3, 4),),)),
    _unary("getitem_none_ellipsis", lambda a: a[None, ..., 1], shapes=(((2, 3, 4),),)),
    _unary("getitem_mask", lambda a: a[const(a, _MASK)], shapes=(((3, 4),),)),
    _unary("getitem_intarray_rep", lambda a: a[const(a, _IDX_REP)], shapes=(((3, 4),),)),
    _unary("getitem_list_rep", lambda a: a[:, [0, 0, 3]], shapes=(((3, 4),),)),
    _unary("getitem_two_arrays", lambda a: a[[0, 2, 2], [1, 1, 3]], shapes=(((3, 4),),)),
    _unary(
        "gather",
        lambda a: a.gather(1, const(a, _GATHER_IDX)),
        shapes=(((3, 4),),),
        bad=(
            bad_call("dim_out_of_range", lambda a: a.gather(2, const(a, _GATHER_IDX))),
            bad_call("index_too_large", lambda a: a.gather(1, const(a, _GATHER_IDX + 4))),
            bad_call("index_negative", lambda a: a.gather(1, const(a, _GATHER_IDX - 5))),
            bad_call("float_index", lambda a: a.gather(1, const(a, _GATHER_IDX * 1.0))),
        ),
    ),
    OpSpec("scatter", lambda a, s: a.scatter(1, const(a, _SCATTER_IDX), s), (((3, 4), (3, 2)),)),
    OpSpec(
        "scatter_add", lambda a, s: a.scatter_add(1, const(a, _GATHER_IDX), s), (((3, 4), (3, 4)),)
    ),
    _unary(
        "index_select",
        lambda a: a.index_select(1, const(a, _IDX_REP[:4])),
        shapes=(((3, 4),),),
        bad=(bad_call("index_too_large", lambda a: a.index_select(1, const(a, _IDX_REP[:4] + 4))),),
    ),
    _unary(
        "index_select_dim0",
        lambda a: lib(a).index_select(a, 0, const(a, [2, 2, 0])),
        shapes=(((3, 4),), ((3,),)),
    ),
    _unary("index_select_0d", lambda a: a.sum().index_select(0, const(a, [0])), shapes=(((3,),),)),
    _unary("masked_fill", lambda a: a.masked_fill(const(a, _MASK), 2.5), shapes=(((3, 4),),)),
    _unary(
        "masked_fill_bcast", lambda a: a.masked_fill(const(a, _MASK[0]), -1.0), shapes=(((3, 4),),)
    ),
    _unary(
        "take_along_dim",
        lambda a: lib(a).take_along_dim(a, const(a, _TAKE_IDX), 1),
        shapes=(((3, 4),),),
    ),
    _unary("masked_select", lambda a: a.masked_select(const(a, _MASK)), shapes=(((3, 4),),)),
    _unary("sort", lambda a: a.sort(1)[0], "distinct", shapes=(((3, 4),),)),
    _unary("sort_desc", lambda a: a.sort(0, descending=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary(
        "topk",
        lambda a: a.topk(2, 1)[0],
        "distinct",
        shapes=(((3, 4),),),
        bad=(bad_call("k_too_large", lambda a: a.topk(5, 1)),),
    ),
    _unary(
        "topk_smallest", lambda a: a.topk(2, 0, largest=False)[0], "distinct", shapes=(((3, 4),),)
    ),
    _unary("triu", lambda a: a.triu(1), shapes=(((3, 4),), ((2, 3, 3),))),
    _unary("tril", lambda a: lib(a).tril(a), shapes=(((3, 4),),)),
    _unary("log2", lambda a: a.log2(), "positive"),
    _unary("log10", lambda a: a.log10(), "positive"),
    # ----------------------------------------------------------------- softmax
    _unary(
        "softmax",
        lambda a: a.softmax(-1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.softmax(2)),),
    ),
    _unary("softmax0", lambda a: lib(a).softmax(a, 0), shapes=(((3, 4),),)),
    _unary("log_softmax", lambda a: a.log_softmax(1), shapes=(((3, 4),), ((2, 3, 4),))),
    # ------------------------------------------------------------ structural
    _unary(
        "diagonal",
        lambda a: lib(a).diagonal(a, 1, 0, 2),
        shapes=(((3, 4, 5),),),
        bad=(bad_call("same_dims", lambda a: lib(a).diagonal(a, 0, 1, 1)),),
    ),
    _unary("diagonal_neg", lambda a: a.diagonal(-1), shapes=(((4, 3),),)),
    _unary("diag_1d", lambda a: lib(a).diag(a, 1), shapes=(((3,),),)),
    _unary("diag_2d", lambda a: lib(a).diag(a, -1), shapes=(((3, 4),),)),
    _unary("diag_embed", lambda a: lib(a).diag_embed(a, 1, 0, 2), shapes=(((2, 3),),)),
    _unary(
        "narrow",
        lambda a: a.narrow(1, -3, 2),
        shapes=(((3, 4),),),
        bad=(bad_call("out_of_range", lambda a: a.narrow(1, 3, 2)),),
    ),
    _unary("rot90", lambda a: lib(a).rot90(a, 1, (0, 1)), shapes=(((3, 4),),)),
    _unary("rot90_k3", lambda a: a.rot90(3, (2, 0)), shapes=(((2, 3, 4),),)),
    _unary("rot90_k2", lambda a: a.rot90(-2, (0, 1)), shapes=(((2, 3),),)),
    _unary("repeat_interleave", lambda a: a.repeat_interleave(2, 1), shapes=(((3, 4),),)),
    _unary(
        "repeat_interleave_t",
        lambda a: lib(a).repeat_interleave(a, const(a, [1, 0, 3]), 0),
        shapes=(((3, 2),),),
    ),
    _unary(
        "repeat_interleave_flat",
        lambda a: lib(a).repeat_interleave(a, 2),
        shapes=(((2, 3),), ((),)),
    ),
    _unary("tensor_unfold", lambda a: a.unfold(1, 3, 2), shapes=(((2, 7, 2),),)),
    _unary("tensor_unfold_overlap", lambda a: a.unfold(0, 3, 1), shapes=(((5,),),)),
    OpSpec(
        "meshgrid_ij",
        lambda a, b: lib(a).stack(lib(a).meshgrid(a, b, indexing="ij")),
        (((3,), (4,)),),
    ),
    OpSpec(
        "meshgrid_xy",
        lambda a, b, c: lib(a).stack(lib(a).meshgrid(a, b, c, indexing="xy")),
        (((2,), (3,), (4,)),),
    ),
    OpSpec("cartesian_prod", lambda a, b: lib(a).cartesian_prod(a, b), (((3,), (2,)),)),
    OpSpec("cdist", lambda a, b: lib(a).cdist(a, b), (((3, 4), (5, 4)), ((2, 3, 2), (2, 4, 2)))),
    OpSpec("cdist_p1", lambda a, b: lib(a).cdist(a, b, 1.0), (((3, 4), (2, 4)),), "distinct"),
    OpSpec("cdist_p3", lambda a, b: lib(a).cdist(a, b, 3.0), (((3, 4), (2, 4)),), "distinct"),
    OpSpec(
        "cdist_inf", lambda a, b: lib(a).cdist(a, b, float("inf")), (((3, 4), (2, 4)),), "distinct"
    ),
    _unary(
        "F_unfold",
        lambda a: nnf(a).unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        shapes=(((2, 2, 5, 6),),),
    ),
    _unary(
        "F_fold",
        lambda a: nnf(a).fold(a, (4, 5), 2, padding=1, stride=2),
        shapes=(((2, 12, 9),), ((8, 9),)),
    ),
    # ------------------------------------------------------------ cr.linalg
    _unary(
        "linalg_inv",
        "linalg.inv",
        shapes=(((3, 3),), ((2, 3, 3),)),
        bad=(bad_call("not_square", lambda a: lib(a).linalg.inv(a[..., :2])),),
    ),
    _unary("linalg_det", "linalg.det", shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("linalg_slogdet", lambda a: lib(a).linalg.slogdet(a).logabsdet, shapes=(((3, 3),),)),
    OpSpec(
        "linalg_solve", "linalg.solve", (((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((3, 3), (2, 3, 1)))
    ),
    OpSpec(
        "linalg_solve_right",
        lambda a, b: lib(a).linalg.solve(a, b, left=False),
        (((3, 3), (2, 3)),),
    ),
    _unary(
        "linalg_cholesky",
        lambda a: lib(a).linalg.cholesky(_spd(a)),
        shapes=(((3, 3),), ((2, 3, 3),)),
    ),
    _unary(
        "linalg_cholesky_upper",
        lambda a: lib(a).linalg.cholesky(_spd(a), upper=True),
        shapes=(((3, 3),),),
    ),
    _unary("linalg_qr", lambda a: tuple(lib(a).linalg.qr(a)), shapes=(((4, 3),), ((3, 3),))),
    _unary("linalg_eigh", lambda a: _gauge(lib(a).linalg.eigh(_spd(a))), shapes=(((3, 3),),)),
    _unary(
        "linalg_eigvalsh",
        lambda a: lib(a).linalg.eigvalsh(_sym(a)),
        shapes=(((3, 3),), ((2, 4, 4),)),
    ),
    _unary(
        "linalg_svd",
        lambda a: _gauge(lib(a).linalg.svd(a, full_matrices=False)),
        shapes=(((4, 3),), ((3, 4),)),
    ),
    _unary("linalg_svdvals", "linalg.svdvals", shapes=(((4, 3),), ((2, 3, 4),))),
    _unary("linalg_pinv", "linalg.pinv", shapes=(((4, 3),), ((3, 4),))),
    OpSpec(
        "linalg_lstsq",
        lambda a, b: lib(a).linalg.lstsq(a, b).solution,
        (((5, 3), (5, 2)),),
        checks=NO_JVP,
    ),
    _unary("linalg_matrix_power", lambda a: lib(a).linalg.matrix_power(a, 3), shapes=(((3, 3),),)),
    _unary(
        "linalg_matrix_power_neg", lambda a: lib(a).linalg.matrix_power(a, -2), shapes=(((3, 3),),)
    ),
    OpSpec(
        "linalg_cross", lambda a, b: lib(a).linalg.cross(a, b), (((2, 3), (2, 3)), ((4, 3), (1, 3)))
    ),
    _unary(
        "linalg_vector_norm",
        lambda a: lib(a).linalg.vector_norm(a, dim=1),
        shapes=(((3, 4),), ((2, 3, 2),)),
    ),
    _unary(
        "linalg_vector_norm_p3",
        lambda a: lib(a).linalg.vector_norm(a, 3, keepdim=True),
        "nokink",
        shapes=(((3, 4),),),
    ),
    _unary(
        "linalg_vector_norm_inf",
        lambda a: lib(a).linalg.vector_norm(a, float("inf"), 0),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("linalg_matrix_norm_fro", "linalg.matrix_norm", shapes=(((3, 4),), ((2, 3, 4),))),
    _unary(
        "linalg_matrix_norm_nuc", lambda a: lib(a).linalg.matrix_norm(a, "nuc"), shapes=(((3, 4),),)
    ),
    _unary(
        "linalg_matrix_norm_2",
        lambda a: lib(a).linalg.matrix_norm(a, 2, keepdim=True),
        shapes=(((3, 4),),),
    ),
    _unary(
        "linalg_matrix_norm_1",
        lambda a: lib(a).linalg.matrix_norm(a, 1),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "linalg_matrix_norm_neginf",
        lambda a: lib(a).linalg.matrix_norm(a, -float("inf")),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("linalg_norm", lambda a: lib(a).linalg.norm(a), shapes=(((3, 4),), ((2, 3, 4),))),
    # ------------------------------------------------------------ nn.functional
    OpSpec("F_linear", "nn.functional.linear", (((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,)))),
    OpSpec(
        "F_conv2d",
        lambda x, w, b: nnf(x).conv2d(x, w, b, padding=1, stride=(1, 2)),
        (((2, 3, 5, 5), (4, 3, 3, 3), (4,)),),
    ),
    OpSpec("F_conv1d", lambda x, w: nnf(x).conv1d(x, w, dilation=2), (((2, 3, 7), (4, 3, 2)),)),
    _unary(
        "F_max_pool2d", lambda a: nnf(a).max_pool2d(a, 2), "distinct", shapes=(((1, 2, 4, 4),),)
    ),
    _unary("F_avg_pool2d", lambda a: nnf(a).avg_pool2d(a, 2, padding=1), shapes=(((1, 2, 4, 4),),)),
    _unary(
        "F_adaptive_avg_pool2d",
        lambda a: nnf(a).adaptive_avg_pool2d(a, (2, 3)),
        shapes=(((1, 2, 5, 6),),),
    ),
    _unary(
        "F_adaptive_avg_pool2d_one",
        lambda a: nnf(a).adaptive_avg_pool2d(a, 1),
        shapes=(((2, 3, 3, 4),), ((3, 2, 5),)),
    ),
    _unary(
        "F_adaptive_avg_pool2d_grow",
        lambda a: nnf(a).adaptive_avg_pool2d(a, (None, 7)),
        shapes=(((1, 2, 3, 4),), ((2, 3, 5),)),
    ),
    _unary(
        "F_adaptive_avg_pool1d",
        lambda a: nnf(a).adaptive_avg_pool1d(a, 3),
        shapes=(((2, 3, 7),), ((3, 5),)),
    ),
    OpSpec(
        "F_layer_norm", lambda x, w, b: nnf(x).layer_norm(x, (4,), w, b), (((3, 4), (4,), (4,)),)
    ),
    OpSpec(
        "F_batch_norm",
        lambda x, w, b: nnf(x).batch_norm(x, None, None, w, b, training=True),
        (((4, 3), (3,), (3,)), ((2, 3, 2, 2), (3,), (3,))),
    ),
    OpSpec(
        "F_group_norm", lambda x, w, b: nnf(x).group_norm(x, 2, w, b), (((2, 4, 3), (4,), (4,)),)
    ),
    OpSpec("F_rms_norm", lambda x, w: nnf(x).rms_norm(x, (4,), w), (((3, 4), (4,)),)),
    _unary("F_gelu", "nn.functional.gelu"),
    _unary("F_gelu_tanh", lambda a: nnf(a).gelu(a, approximate="tanh")),
    _unary("F_silu", "nn.functional.silu"),
    _unary("F_elu", "nn.functional.elu", "nokink"),
    _unary("F_leaky_relu", lambda a: nnf(a).leaky_relu(a, 0.1), "nokink"),
    _unary("F_logsigmoid", "nn.functional.logsigmoid"),
    _unary("F_hardtanh", "nn.functional.hardtanh", "nokink"),
    OpSpec("F_mse_loss", "nn.functional.mse_loss", (B,)),
    OpSpec("F_l1_loss", "nn.functional.l1_loss", (B,), "distinct"),
    OpSpec(
        "F_smooth_l1_loss", lambda a, b: nnf(a).smooth_l1_loss(a, b, beta=0.5), (B,), "distinct"
    ),
    OpSpec("F_huber_loss", lambda a, b: nnf(a).huber_loss(a, b, delta=0.7), (B,), "distinct"),
    _unary(
        "F_cross_entropy",
        lambda a: nnf(a).cross_entropy(a, const(a, _CE_TARGET)),
        shapes=(((3, 4),),),
        bad=(
            bad_call(
                "target_out_of_range",
                lambda a: nnf(a).cross_entropy(a, const(a, np.array([1, 0, 7]))),
            ),
        ),
    ),
    _unary(
        "F_cross_entropy_smooth",
        lambda a: nnf(a).cross_entropy(
            a, const(a, _CE_TARGET), label_smoothing=0.1, reduction="sum"
        ),
        shapes=(((3, 4),),),
    ),
    _unary(
        "F_nll_loss",
        lambda a: nnf(a).nll_loss(_log_probs(a), const(a, _CE_TARGET)),
        shapes=(((3, 4),),),
    ),
    OpSpec(
        "F_bce_with_logits",
        lambda a, t: nnf(a).binary_cross_entropy_with_logits(a, t.sigmoid()),
        (B,),
    ),
    OpSpec(
        "F_bce_with_logits_weights_none",
        lambda a, t: nnf(a).binary_cross_entropy_with_logits(
            a,
            t.sigmoid(),
            const(a, [0.5, 1.0, 2.0, 1.5]),
            reduction="none",
            pos_weight=const(a, [[3.0], [0.5], [1.0]]),
        ),
        (B,),
    ),
    OpSpec(
        "F_bce_with_logits_pos_weight_sum",
        lambda a, t: nnf(a).binary_cross_entropy_with_logits(
            a, t.sigmoid(), reduction="sum", pos_weight=const(a, 2.5)
        ),
        (B, ((), ())),
    ),
    OpSpec("F_bce", lambda a, t: nnf(a).binary_cross_entropy(a.sigmoid(), t.sigmoid()), (B,)),
    # binary_cross_entropy: one node (BinaryCrossEntropyBackward0), weight and reduction inside
    OpSpec(
        "F_bce_weight_none",
        lambda a, t: nnf(a).binary_cross_entropy(
            a.sigmoid(), t.sigmoid(), const(a, [0.5, 1.0, 2.0, 1.5]), reduction="none"
        ),
        (B,),
    ),
    OpSpec(
        "F_bce_bcast_weight_sum",
        lambda a, t: nnf(a).binary_cross_entropy(
            a.sigmoid(), t.sigmoid(), const(a, [[3.0], [0.5], [1.0]]), reduction="sum"
        ),
        (B,),
    ),
    OpSpec(
        "F_bce_0d",
        lambda a, t: nnf(a).binary_cross_entropy(a.sigmoid(), t.sigmoid(), const(a, 2.5)),
        (((), ()),),
    ),
    OpSpec(
        "F_kl_div",
        lambda a, b: nnf(a).kl_div(_log_probs(a), _probs(b), reduction="batchmean"),
        (B,),
    ),
    _unary("F_normalize", lambda a: nnf(a).normalize(a, dim=1), shapes=(((3, 4),),)),
    OpSpec("F_cosine_similarity", "nn.functional.cosine_similarity", (B,)),
    OpSpec("F_pairwise_distance", "nn.functional.pairwise_distance", (B,)),
    _unary(
        "F_pdist",
        "nn.functional.pdist",
        checks=NO_GG,  # PyTorch's _pdist_backward has no derivative, nor has ours
        shapes=(((4, 3),), ((1, 3),), ((2, 1),)),
        bad=(
            bad_call("not_2d", lambda a: nnf(a).pdist(a.reshape(-1))),
            bad_call("negative_p", lambda a: nnf(a).pdist(a, -1.0)),
        ),
    ),
    _unary("F_pdist_p1", lambda a: nnf(a).pdist(a, 1.0), "distinct", NO_GG, shapes=(((4, 3),),)),
    _unary("F_pdist_p3", lambda a: nnf(a).pdist(a, 3.0), "distinct", NO_GG, shapes=(((4, 3),),)),
    _unary(
        "F_pdist_inf", lambda a: nnf(a).pdist(a, np.inf), "distinct", NO_GG, shapes=(((4, 3),),)
    ),
    _unary(
        "F_embedding",
        lambda w: nnf(w).embedding(const(w, _EMB_IDX), w),
        shapes=(((5, 3),),),
        bad=(
            bad_call("index_out_of_range", lambda w: nnf(w).embedding(const(w, _EMB_IDX + 5), w)),
        ),
    ),
    OpSpec(
        "F_sdpa",
        lambda q, k, v: nnf(q).scaled_dot_product_attention(q, k, v),
        (((2, 3, 4), (2, 5, 4), (2, 5, 2)),),
    ),
    OpSpec(
        "F_sdpa_causal",
        lambda q, k, v: nnf(q).scaled_dot_product_attention(q, k, v, is_causal=True),
        (((1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 3)),),
    ),
    _unary(
        "F_interpolate_bilinear",
        lambda a: nnf(a).interpolate(a, size=(5, 3), mode="bilinear"),
        shapes=(((1, 2, 3, 4),),),
    ),
    _unary("F_pixel_shuffle", lambda a: nnf(a).pixel_shuffle(a, 2), shapes=(((1, 8, 2, 3),),)),
    # nn.functional ops also run by the in-place-after-forward test under their own names
    _unary("F_layer_norm_plain", lambda x: nnf(x).layer_norm(x, (5,)), shapes=(((3, 5),),)),
    _unary(
        "F_batch_norm_plain",
        lambda x: nnf(x).batch_norm(x, None, None, training=True),
        shapes=(((4, 3),),),
    ),
    _unary(
        "F_batch_norm_eval",  # running statistics, constant weight and bias: one affine pass
        lambda x: nnf(x).batch_norm(
            x,
            const(x, [0.3, -0.2, 0.1]),
            const(x, [1.5, 0.7, 2.0]),
            const(x, [0.9, -1.1, 0.4]),
            const(x, [0.2, 0.0, -0.5]),
            training=False,
        ),
        shapes=(((4, 3),), ((2, 3, 2, 2),)),
    ),
    _unary("F_instance_norm", lambda x: nnf(x).instance_norm(x), shapes=(((2, 3, 4),),)),
    _unary("F_softmax", lambda x: nnf(x).softmax(x, dim=1), shapes=(((3, 4),),)),
    _unary("F_log_softmax", lambda x: nnf(x).log_softmax(x, dim=1), shapes=(((3, 4),),)),
    _unary("F_softmin", lambda x: nnf(x).softmin(x, dim=1), shapes=(((3, 4),),)),
    _unary(
        "F_cross_entropy_none",
        lambda x: nnf(x).cross_entropy(x, const(x, _CE_IDX), reduction="none"),
        shapes=(((4, 3),),),
    ),
    _unary(
        "F_cross_entropy_smooth_weight",
        lambda x: nnf(x).cross_entropy(
            x, const(x, _CE_IDX), const(x, _CE_WEIGHT), label_smoothing=0.1
        ),
        shapes=(((4, 3),),),
    ),
    _unary(
        "F_cross_entropy_probs",
        lambda x: nnf(x).cross_entropy(x, const(x, _CE_PROBS)),
        shapes=(((4, 3),),),
    ),
    _unary("F_nll_loss_raw", lambda x: nnf(x).nll_loss(x, const(x, _CE_IDX)), shapes=(((4, 3),),)),
    OpSpec(
        "F_kl_div_positive",
        lambda x, y: nnf(x).kl_div(x, y, reduction="batchmean"),
        (B,),
        "positive",
    ),
    OpSpec("F_bilinear", "nn.functional.bilinear", (((3, 2), (3, 4), (5, 2, 4)),)),
    OpSpec(
        "F_conv1d_bias",
        lambda x, w, b: nnf(x).conv1d(x, w, b, padding=1),
        (((2, 3, 5), (4, 3, 3), (4,)),),
    ),
    OpSpec("F_conv_transpose2d", "nn.functional.conv_transpose2d", (((1, 2, 3, 3), (2, 3, 2, 2)),)),
    _unary("F_relu", "nn.functional.relu", "nokink"),
    _unary("F_relu6", lambda x: nnf(x).relu6(x * 4), "nokink"),
    _unary("F_selu", "nn.functional.selu", "nokink"),
    _unary("F_celu", "nn.functional.celu", "nokink"),
    _unary("F_mish", "nn.functional.mish"),
    _unary("F_softplus", "nn.functional.softplus"),
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 (rel. error 3e-8);
    # no double backward: PyTorch's hardsigmoid_backward has no derivative, nor has chainrule's
    # (tests/test_parity_session24.py checks that both raise)
    _unary("F_hardsigmoid", "nn.functional.hardsigmoid", "nokink", NO_GG, bwd_rtol=1e-7),
    _unary("F_hardswish", "nn.functional.hardswish", "nokink"),
    _unary("F_softsign", "nn.functional.softsign"),
    _unary("F_tanhshrink", "nn.functional.tanhshrink"),
    _unary("F_sigmoid", "nn.functional.sigmoid"),
    _unary("F_tanh", "nn.functional.tanh"),
    OpSpec("F_prelu", "nn.functional.prelu", (((2, 3), (1,)),), "nokink"),
    _unary("F_dropout_eval", lambda x: nnf(x).dropout(x, 0.5, training=False)),
    _unary("F_pad", lambda x: nnf(x).pad(x, (1, 2)), shapes=(((3, 4),),)),
    # reflect / replicate padding: one node each (ReflectionPad2DBackward0, ...); negative
    # entries crop inside it, after the positive ones padded (PyTorch's order)
    _unary(
        "F_pad_reflect_1d",
        lambda x: nnf(x).pad(x, (2, 1), mode="reflect"),
        shapes=(((2, 3, 4),), ((3, 5),)),
    ),
    _unary(
        "F_pad_reflect_2d",
        lambda x: nnf(x).pad(x, (1, 2, 2, 0), mode="reflect"),
        shapes=(((2, 2, 3, 4),), ((2, 4, 3),)),
    ),
    _unary(
        "F_pad_reflect_3d",
        lambda x: nnf(x).pad(x, (1, 1, 0, 2, 1, 0), mode="reflect"),
        shapes=(((1, 2, 3, 4, 3),),),
    ),
    _unary(
        "F_pad_reflect_crop",
        lambda x: nnf(x).pad(x, (-2, 3, 1, -1), mode="reflect"),
        shapes=(((1, 2, 3, 4),),),
    ),
    _unary(
        "F_pad_replicate_1d",
        lambda x: nnf(x).pad(x, (3, 1), mode="replicate"),
        shapes=(((2, 3, 2),), ((3, 1),)),
    ),
    _unary(
        "F_pad_replicate_2d",
        lambda x: nnf(x).pad(x, (1, 3, 2, 2), mode="replicate"),
        shapes=(((2, 2, 3, 4),),),
    ),
    _unary(
        "F_pad_replicate_3d",
        lambda x: nnf(x).pad(x, (2, 0, 1, 1, 0, 3), mode="replicate"),
        shapes=(((2, 3, 2, 4),), ((1, 2, 2, 3, 2),)),
    ),
    _unary(
        "F_pad_replicate_crop",
        lambda x: nnf(x).pad(x, (3, -2), mode="replicate"),
        shapes=(((2, 3, 4),),),
    ),
    # circular padding: one node (under torch's top CopySlices); negative entries crop first,
    # then the cropped dim wraps
    _unary(
        "F_pad_circular_1d",
        lambda x: nnf(x).pad(x, (2, 3), mode="circular"),
        shapes=(((2, 3, 4),), ((3, 5),)),
    ),
    _unary(
        "F_pad_circular_2d",
        lambda x: nnf(x).pad(x, (1, 2, 3, 0), mode="circular"),
        shapes=(((2, 2, 3, 4),), ((2, 4, 3),)),
    ),
    _unary(
        "F_pad_circular_3d",
        lambda x: nnf(x).pad(x, (1, 1, 0, 2, 2, 1), mode="circular"),
        shapes=(((1, 2, 3, 4, 3),), ((2, 2, 3, 2),)),
    ),
    _unary(
        "F_pad_circular_crop",
        lambda x: nnf(x).pad(x, (-1, 2, 2, -1), mode="circular"),
        shapes=(((1, 2, 3, 4),),),
    ),
    OpSpec(
        "F_cosine_embedding_loss",
        lambda x, y: nnf(x).cosine_embedding_loss(x, y, const(x, np.array([1.0, -1.0, 1.0]))),
        (((3, 4), (3, 4)),),
    ),
    # ----------------------------------------------- wave 2: reductions, statistics, scans
    # nan-skipping reductions: entries with |a| <= 0.25 become NaN (no gradient flows there)
    _unary(
        "nansum", lambda a: a.where(a.abs() > 0.25, float("nan")).nansum(1), shapes=(((3, 4),),)
    ),
    _unary(
        "nansum_all",
        lambda a: lib(a).nansum(a.where(a.abs() > 0.25, float("nan"))),
        bad=(bad_call("dim_out_of_range", lambda a: a.nansum(2)),),
    ),
    _unary("nansum_plain", lambda a: a.nansum((0, 1), keepdim=True), shapes=(((3, 4),),)),
    _unary(
        "nanmean",
        lambda a: lib(a).nanmean(a.where(a.abs() > 0.25, float("nan")), 0, keepdim=True),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.nanmean(-3)),),
    ),
    _unary(
        "nanmean_all",
        lambda a: a.where(a.abs() > 0.25, float("nan")).nanmean(),
        shapes=(((3, 4),), ((5,),)),
    ),
    # order statistics (distinct values: the selected element is unambiguous)
    _unary(
        "median_dim",
        lambda a: a.median(1)[0],
        "distinct",
        shapes=(((3, 4),), ((2, 5, 3),)),
        bad=(bad_call("dim_out_of_range", lambda a: a.median(2)),),
    ),
    _unary("median_keep", lambda a: a.median(0, keepdim=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary("median_all", lambda a: a.median(), "distinct", shapes=(((3, 4),), ((5,),), ((),))),
    _unary(
        "nanmedian_dim",
        lambda a: a.where(a.abs() > 0.25, float("nan")).nanmedian(1)[0],
        shapes=(((3, 4),),),
    ),
    _unary(
        "nanmedian_all",
        lambda a: lib(a).nanmedian(a.where(a.abs() > 0.25, float("nan"))),
        shapes=(((3, 4),),),
    ),
    _unary(
        "kthvalue",
        lambda a: a.kthvalue(2, 1)[0],
        "distinct",
        shapes=(((3, 4),),),
        bad=(
            bad_call("k_too_large", lambda a: a.kthvalue(5, 1)),
            bad_call("k_zero", lambda a: a.kthvalue(0, 1)),
            bad_call("dim_out_of_range", lambda a: a.kthvalue(1, 2)),
        ),
    ),
    _unary(
        "kthvalue_keep",
        lambda a: lib(a).kthvalue(a, 3, 0, keepdim=True)[0],
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("mode", lambda a: a.mode(1)[0], "distinct", shapes=(((3, 4),),)),
    _unary("mode_keep", lambda a: lib(a).mode(a, 0, True)[0], "distinct", shapes=(((3, 4),),)),
    _unary(
        "quantile",
        lambda a: a.quantile(0.3, 1),
        "distinct",
        shapes=(((3, 4),),),
        bad=(
            bad_call("q_above_1", lambda a: a.quantile(1.5, 1)),
            bad_call("q_negative", lambda a: a.quantile(-0.1)),
            bad_call("bad_interpolation", lambda a: a.quantile(0.5, interpolation="cubic")),
            bad_call("dim_out_of_range", lambda a: a.quantile(0.5, 2)),
            bad_call("q_2d", lambda a: a.quantile(const(a, [[0.5]]))),
        ),
    ),
    _unary(
        "quantile_vector",
        lambda a: a.quantile(const(a, [0.0, 0.25, 0.6, 1.0]), dim=0, keepdim=True),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("quantile_all", lambda a: lib(a).quantile(a, 0.7), "distinct", shapes=(((3, 4),),)),
    _unary(
        "quantile_all_keep",
        lambda a: a.quantile(const(a, [0.2, 0.9]), keepdim=True),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_lower",
        lambda a: a.quantile(0.4, 1, interpolation="lower"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_higher",
        lambda a: a.quantile(0.4, 1, interpolation="higher"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_midpoint",
        lambda a: a.quantile(const(a, [0.1, 0.5]), 1, interpolation="midpoint"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_nearest",
        lambda a: a.quantile(const(a, [0.1, 0.5, 5 / 6]), 0, interpolation="nearest"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "nanquantile",
        lambda a: a.where(a.abs() > 0.25, float("nan")).nanquantile(const(a, [0.3, 0.8]), 1),
        shapes=(((3, 4),),),
    ),
    _unary("msort", lambda a: lib(a).msort(a), "distinct", shapes=(((3, 4),), ((5,),))),
    # running extremes and running log-sum-exp
    _unary(
        "cummax",
        lambda a: a.cummax(-1)[0],
        "distinct",
        shapes=(((3, 4),), ((6,),)),
        bad=(bad_call("dim_out_of_range", lambda a: a.cummax(2)),),
    ),
    _unary("cummin", lambda a: lib(a).cummin(a, 0)[0], "distinct", shapes=(((3, 4),),)),
    _unary(
        "logcumsumexp",
        lambda a: a.logcumsumexp(1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.logcumsumexp(2)),),
    ),
    _unary("logcumsumexp0", lambda a: lib(a).logcumsumexp(a * 30.0, 0), shapes=(((5, 2),), ((),))),
    # aminmax (both outputs differentiable), covariance and correlation
    _unary(
        "aminmax",
        lambda a: lib(a).aminmax(a, dim=1),
        "distinct",
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.aminmax(dim=2)),),
    ),
    _unary("aminmax_all", lambda a: a.aminmax(), "distinct", shapes=(((3, 4),),)),
    _unary("cov", lambda a: lib(a).cov(a), shapes=(((3, 5),), ((6,),))),
    _unary("cov_correction0", lambda a: a.cov(correction=0), shapes=(((2, 4),),)),
    _unary(
        "cov_weights",
        lambda a: lib(a).cov(
            a,
            fweights=const(a, np.array([1, 2, 1, 3, 1])[: a.shape[-1]]),
            aweights=const(a, np.array([0.5, 1.0, 2.0, 1.0, 0.3])[: a.shape[-1]]),
        ),
        shapes=(((3, 5),),),
    ),
    _unary("corrcoef", lambda a: lib(a).corrcoef(a), shapes=(((3, 5),),)),
    # ----------------------------------------------- wave 2: pointwise and special functions
    # aliases (ops/aliases.py)
    _unary("absolute", domain="nokink"),
    _unary("negative"),
    _unary("negative_method", lambda a: a.negative()),
    _binary("multiply"),
    _binary("divide", domain="positive"),
    _binary("subtract_alpha", lambda a, b: lib(a).subtract(a, b, alpha=2.0)),
    _unary("rad2deg"),
    # addcmul / addcdiv (ops/pointwise_extra.py)
    OpSpec(
        "addcmul",
        lambda a, b, c: lib(a).addcmul(a, b, c, value=0.5),
        (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1))),
    ),
    OpSpec("addcmul_default", "addcmul", (((3, 4), (3, 4), (3, 4)),)),
    OpSpec("addcdiv_default", "addcdiv", (((3, 4), (3, 4), (3, 4)),), "positive"),
    OpSpec(
        "addcdiv",
        lambda a, b, c: a.addcdiv(b, c, value=-1.5),
        (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1))),
        "positive",
    ),
    _unary("frac"),
    # float_power returns float64 for any input (tests/ops/test_wave2_pointwise.py checks that);
    # .to(a.dtype) keeps the float32 check of test_ops about the gradient only
    _binary("float_power", lambda a, b: lib(a).float_power(a, b).to(a.dtype), "positive"),
    _unary("float_power_scalar", lambda a: lib(a).float_power(a, 2.5).to(a.dtype), "positive"),
    # special functions (ops/special.py)
    _binary("xlogy", domain="positive"),
    OpSpec("xlogy_zero_x", lambda a, b: lib(a).xlogy(a * _fit(_MASK, a), b), (B,), "positive"),
    _unary("xlogy_scalar_x", lambda a: lib(a).xlogy(2.0, a), "positive"),
    _unary("logit", lambda a: lib(a).logit(a * 0.4), "positive"),
    _unary("logit_eps", lambda a: a.mul(0.4).logit(eps=0.3), "positive"),
    _unary("sinc"),
    _unary("lgamma", domain="positive"),
    _unary("lgamma_negative", lambda a: lib(a).lgamma(a - 3.25), "unit"),
    _unary("digamma", domain="positive"),
    _unary("digamma_negative", lambda a: a.sub(2.5).digamma(), "unit"),
    _unary("polygamma2", lambda a: lib(a).polygamma(2, a), "positive"),
    _unary("polygamma3_method", lambda a: a.polygamma(3), "positive"),
    _unary("erfinv", domain="unit"),
    # ----------------------------------------------- wave 2: indexing, shapes, linear algebra
    _unary(
        "index_add",
        lambda a: a.index_add(1, const(a, [3, 0, 3]), a[:, :3] * 0.5 + 1.0, alpha=2.0),
        shapes=(((3, 4),),),
        bad=(
            bad_call("dim_out_of_range", lambda a: a.index_add(2, const(a, [0]), a[:, :1])),
            bad_call("index_too_large", lambda a: a.index_add(1, const(a, [4]), a[:, :1])),
            bad_call("float_index", lambda a: a.index_add(1, const(a, [1.0]), a[:, :1])),
        ),
    ),
    OpSpec(
        "index_add_src",
        lambda a, s: lib(a).index_add(a, 0, const(a, [1, 1, 0]), s),
        (((2, 3), (3, 3)), ((3,), (3,))),
    ),
    OpSpec(
        "index_copy",
        lambda a, s: a.index_copy(1, const(a, [3, 0]), s),
        (((3, 4), (3, 2)),),
        bad=(bad_call("index_negative", lambda a, s: a.index_copy(1, const(a, [-1, 0]), s)),),
    ),
    _unary(
        "index_fill",
        lambda a: a.index_fill(1, const(a, [3, 1]), 1.5),
        shapes=(((3, 4),),),
        bad=(bad_call("index_too_large", lambda a: a.index_fill(1, const(a, [4]), 1.5)),),
    ),
    OpSpec(
        "index_fill_tensor",
        lambda a, v: lib(a).index_fill(a, 0, const(a, [2, 0, 2]), v),
        (((3, 4), ()),),
    ),
    OpSpec(
        "masked_scatter",
        lambda a, s: a.masked_scatter(_fit(_MASK, a), s),
        (((3, 4), (7,)),),
    ),
    OpSpec(
        "masked_scatter_bcast",
        lambda a, s: lib(a).masked_scatter(a, const(a, _MASK[0]), s),
        (((3, 4), (2, 3)),),
    ),
    OpSpec(
        "masked_scatter_bcast_self",
        lambda a, s: lib(a).masked_scatter(a, const(a, _MASK), s),
        (((4,), (2, 5)),),
    ),
    _unary(
        "take",
        lambda a: lib(a).take(a, const(a, [[-1, 0], [5, 5]])),
        shapes=(((3, 4),),),
        bad=(bad_call("index_out_of_range", lambda a: lib(a).take(a, const(a, [12]))),),
    ),
    _unary(
        "select",
        lambda a: lib(a).select(a, 1, -1),
        shapes=(((3, 4),),),
        bad=(bad_call("index_out_of_range", lambda a: a.select(1, 4)),),
    ),
    OpSpec("select_scatter", lambda a, s: lib(a).select_scatter(a, s, 1, 2), (((3, 4), (3,)),)),
    OpSpec(
        "slice_scatter",
        lambda a, s: lib(a).slice_scatter(a, s, 1, 0, None, 2),
        (((3, 4), (3, 2)),),
    ),
    OpSpec(
        "slice_scatter_dim0",
        lambda a, s: a.slice_scatter(s, start=-2),
        (((3, 4), (2, 4)),),
    ),
    OpSpec(
        "scatter_reduce_sum",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "sum"),
        (((3, 4), (3, 4)),),
        bad=(
            bad_call(
                "bad_reduce", lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "max")
            ),
        ),
    ),
    OpSpec(
        "segment_reduce_sum",
        lambda a: lib(a).segment_reduce(a, "sum", lengths=const(a, [2, 0, 3])),
        (((5, 3),),),
    ),
    OpSpec(
        "segment_reduce_mean_offsets_axis1",
        lambda a: lib(a).segment_reduce(
            a, "mean", offsets=const(a, [[0, 1, 4], [0, 2, 4]]), axis=1
        ),
        (((2, 4),),),
    ),
    OpSpec(
        "segment_reduce_max_initial",
        lambda a: lib(a).segment_reduce(a, "max", lengths=const(a, [3, 2]), initial=-1.0),
        (((5, 2),),),
        domain="distinct",
    ),
    OpSpec(
        "scatter_reduce_sum_noself",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "sum", include_self=False),
        (((3, 4), (3, 4)),),
    ),
    OpSpec(
        "scatter_reduce_mean",
        lambda a, s: lib(a).scatter_reduce(a, 1, const(a, _GATHER_IDX), s, "mean"),
        (((3, 4), (3, 4)),),
    ),
    OpSpec(
        "scatter_reduce_mean_noself",
        lambda a, s: a.scatter_reduce(
            0, const(a, _SCATTER_IDX[:2] % 3), s, "mean", include_self=False
        ),
        (((3, 4), (2, 2)),),
    ),
    OpSpec(
        "scatter_reduce_amax",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "amax"),
        (((3, 4), (3, 4)),),
        "distinct",
    ),
    OpSpec(
        "scatter_reduce_amin_noself",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "amin", include_self=False),
        (((3, 4), (3, 4)),),
        "distinct",
    ),
    OpSpec(
        "scatter_reduce_prod",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "prod"),
        (((3, 4), (3, 4)),),
        "nokink",
    ),
    OpSpec(
        "scatter_reduce_prod_noself",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "prod", include_self=False),
        (((3, 4), (3, 4)),),
        "nokink",
    ),
    _unary("tensor_split", lambda a: lib(a).tensor_split(a, [1, -1], 1), shapes=(((3, 4),),)),
    _unary(
        "tensor_split_sections",
        lambda a: a.tensor_split(3, 1),
        shapes=(((3, 5),),),
        bad=(bad_call("zero_sections", lambda a: a.tensor_split(0)),),
    ),
    _unary("fliplr", lambda a: lib(a).fliplr(a), shapes=(((3, 4),),)),
    _unary("flipud", lambda a: a.flipud(), shapes=(((3, 4),),)),
    _unary("moveaxis", lambda a: lib(a).moveaxis(a, (0, 1), (2, 0)), shapes=(((2, 3, 4),),)),
    _unary("swapdims", lambda a: a.swapdims(0, -1), shapes=(((2, 3, 4),),)),
    _unary("ravel", lambda a: lib(a).ravel(a)),
    _unary("reshape_as", lambda a: a.reshape_as(const(a, np.zeros((4, 3)))), shapes=(((3, 4),),)),
    _unary(
        "sum_to_size",
        lambda a: a.sum_to_size(1, 4),
        shapes=(((3, 4),),),
        bad=(bad_call("not_expandable", lambda a: a.sum_to_size(3, 5)),),
    ),
    OpSpec("inner", "inner", (((3, 4), (2, 4)), ((4,), (2, 4)), ((), (2, 3)))),
    OpSpec("vdot", "vdot", (((4,), (4,)),)),
    OpSpec("ger", "ger", (((3,), (4,)),)),
    OpSpec(
        "addbmm",
        lambda i, a, b: lib(i).addbmm(i, a, b, beta=0.5, alpha=2.0),
        (((3, 4), (2, 3, 5), (2, 5, 4)), ((4,), (2, 3, 5), (2, 5, 4))),
    ),
    OpSpec("dist", "dist", (B,) + BCAST),
    OpSpec("dist_p3", lambda a, b: lib(a).dist(a, b, 3), (B,), "distinct"),
    OpSpec("dist_inf", lambda a, b: a.dist(b, float("inf")), (B,), "distinct"),
    _unary("renorm", lambda a: lib(a).renorm(a, 2, 0, 1.5), shapes=(((3, 4),),)),
    _unary(
        "renorm_p1",
        lambda a: a.renorm(1, 1, 1.0),
        shapes=(((3, 4),), ((2, 3, 2),)),
        bad=(bad_call("negative_maxnorm", lambda a: a.renorm(1, 1, -1.0)),),
    ),
    _unary("inverse", "inverse", shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("det", lambda a: a.det(), shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("logdet", lambda a: lib(a).logdet(_spd(a)), shapes=(((3, 3),),)),
    _unary("slogdet", lambda a: lib(a).slogdet(a).logabsdet, shapes=(((3, 3),),)),
    _unary("pinverse", "pinverse", checks=NO_JVP, shapes=(((4, 3),), ((3, 4),))),
    _unary("matrix_exp", "matrix_exp", shapes=(((3, 3),), ((2, 2, 2),))),
    _unary("matrix_exp_scaled", lambda a: (a * 4).matrix_exp(), shapes=(((3, 3),),)),
    _unary("matrix_power", lambda a: a.matrix_power(-2), shapes=(((3, 3),),)),
    _unary(
        "cholesky",
        lambda a: lib(a).cholesky(_spd(a), upper=True),
        shapes=(((3, 3),), ((2, 3, 3),)),
        # torch.cholesky/qr/svd warn that they are deprecated: compared with the
        # torch.linalg calls their warnings name as equivalent
        torch_fn=lambda a: torch.linalg.cholesky(_spd(a), upper=True),
    ),
    _unary(
        "qr",
        lambda a: tuple(lib(a).qr(a)),
        shapes=(((4, 3),), ((3, 3),)),
        torch_fn=lambda a: tuple(torch.linalg.qr(a)),
    ),
    _unary(
        "svd",
        lambda a: _gauge(lib(a).svd(a)),
        shapes=(((4, 3),), ((3, 4),)),
        torch_fn=lambda a: _gauge(
            (lambda u, s, vh: (u, s, vh.mT))(*torch.linalg.svd(a, full_matrices=False))
        ),
    ),
    _unary(
        "svd_values",
        lambda a: a.svd(compute_uv=False).S,
        shapes=(((4, 3),),),
        torch_fn=lambda a: torch.linalg.svdvals(a),
    ),
    # ------------------------------------------------------ composite chains
    OpSpec(
        "mlp_chain", lambda x, w, b: (x @ w + b).tanh().sum(1).sigmoid(), (((3, 4), (4, 2), (2,)),)
    ),
]

# specs kept in their own files (each module imports OpSpec and its helpers from here)
from . import (  # noqa: E402 - after the table's helpers, which those modules import
    op_specs_activation_extra,
    op_specs_complex,
    op_specs_complex_linalg,
    op_specs_conv3d,
    op_specs_ctc,
    op_specs_embedding_bag,
    op_specs_fake_quantize,
    op_specs_grid_sample,
    op_specs_index_put,
    op_specs_linalg_extras,
    op_specs_linalg_lowrank,
    op_specs_linalg_more,
    op_specs_loss_extra,
    op_specs_misc_more,
    op_specs_new_formats,
    op_specs_nn_more,
    op_specs_pointwise_more,
    op_specs_pool_extra,
    op_specs_rnn_functional,
    op_specs_root_session33,
    op_specs_slice_inverse,
    op_specs_sparse,
    op_specs_special_more,
    op_specs_stacking,
    op_specs_view_copies,
)

for _extra in (
    op_specs_activation_extra,
    op_specs_conv3d,
    op_specs_ctc,
    op_specs_embedding_bag,
    op_specs_grid_sample,
    op_specs_loss_extra,
    op_specs_pool_extra,
    op_specs_linalg_more,
    op_specs_pointwise_more,
    op_specs_stacking,
    op_specs_nn_more,
    op_specs_index_put,
    op_specs_linalg_extras,
    op_specs_special_more,
    op_specs_misc_more,
    op_specs_rnn_functional,
    op_specs_linalg_lowrank,
    op_specs_new_formats,
    op_specs_sparse,
    op_specs_complex,
    op_specs_complex_linalg,
    op_specs_slice_inverse,
    op_specs_view_copies,
    op_specs_fake_quantize,
    op_specs_root_session33,
):
    SPECS += _extra.SPECS


def cases() -> list:
    """(spec, shapes) pairs with readable ids for pytest.mark.parametrize."""
    out = []
    for spec in SPECS:
        for k, shapes in enumerate(spec.shapes):
            out.append((spec, shapes, f"{spec.id}-{k}"))
    return out
