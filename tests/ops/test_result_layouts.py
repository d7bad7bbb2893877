"""Result memory layouts (strides) match PyTorch's, for many ops and input layouts.

A result's strides are observable: ``y.view(...)`` succeeds or fails by them, and
``y.reshape(...)`` returns a view or a copy by them, so an in-place write through that
reshape changes ``y`` in one framework and not in the other. Each case runs one op on the
same values laid out in several ways (contiguous, a transposed matrix, a permuted 3-d
tensor, step slices, broadcast (expanded) tensors, 1-d and 0-d) in torch and in chainrule,
and compares every returned tensor's shape, strides and values.

Strides of size-1 dims are left out of the comparison: they never change which elements a
view or reshape reaches, and PyTorch sets them arbitrarily. A layout on which torch raises
must raise in chainrule too. Known differences that live outside the ops this file covers
are listed as strict xfails with the file that owns the fix.
"""

from __future__ import annotations

import itertools
import random
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

_rng = np.random.default_rng(0)
_A3 = _rng.standard_normal((2, 3, 4))
_A2 = _rng.standard_normal((3, 4))
_A8 = _rng.standard_normal((3, 8))
_A31 = _rng.standard_normal((3, 1))
_A1 = _rng.standard_normal(5)


def _make(lib: Any, arr: np.ndarray) -> Any:
    return torch.from_numpy(arr.copy()) if lib is torch else cr.tensor(arr.copy())


# the same values in the same layout in either framework: lib -> tensor
LAYOUTS: dict[str, Callable[[Any], Any]] = {
    "contiguous": lambda L: _make(L, _A3),
    "permuted": lambda L: _make(L, _A3).permute(2, 0, 1),  # (4, 2, 3), strides (1, 12, 4)
    "transposed": lambda L: _make(L, _A2).t(),  # (4, 3), strides (1, 4)
    "step": lambda L: _make(L, _A8)[:, ::2],  # (3, 4), strides (8, 2): not dense
    "step_t": lambda L: _make(L, _A8.T)[::2].t(),  # (3, 4), strides (1, 6)
    "expanded": lambda L: _make(L, _A31).expand(3, 4),  # strides (1, 0)
    "expanded_p": lambda L: _make(L, _A3[:, :1]).expand(2, 3, 4).permute(2, 0, 1),
    "1d": lambda L: _make(L, _A1),
    "0d": lambda L: _make(L, np.array(1.5)),
}
ND = ("contiguous", "permuted", "transposed", "step", "step_t", "expanded", "expanded_p")
DENSE = ("contiguous", "permuted", "transposed")
ALL = (*ND, "1d", "0d")
# no broadcast input: the order statistics pick among ties (an expanded tensor's copies) in
# an implementation-defined way, and PyTorch's median reads garbage from an expanded input
NO_TIES = ("contiguous", "permuted", "transposed", "step", "step_t", "1d", "0d")


def _layout(r: Any) -> Any:
    """Shape, strides of size>1 dims and dtype of a tensor (or a tuple/list of them)."""
    if isinstance(r, (tuple, list)):
        return tuple(_layout(t) for t in r)
    if isinstance(r, (torch.Tensor, cr.Tensor)):
        strides = tuple(s if n > 1 else None for s, n in zip(r.stride(), r.shape))
        return tuple(r.shape), strides, str(r.dtype).split(".")[-1]
    return r


def _values(r: Any) -> list[np.ndarray]:
    if isinstance(r, (tuple, list)):
        return [v for t in r for v in _values(t)]
    return [np.asarray(r.detach().numpy())]


def _compare(fn: Callable[[Any, Any], Any], layouts: tuple[str, ...]) -> None:
    compared = 0
    for name in layouts:
        try:
            with warnings.catch_warnings():  # torch.searchsorted's note on a strided input
                warnings.filterwarnings("ignore", "torch.searchsorted", UserWarning)
                expected = fn(torch, LAYOUTS[name](torch))
        except (RuntimeError, IndexError, ValueError, TypeError):
            with pytest.raises(Exception):  # noqa: B017 - the error types are tested elsewhere
                fn(cr, LAYOUTS[name](cr))
            continue
        with warnings.catch_warnings():  # chainrule gives the same note
            warnings.filterwarnings("ignore", "torch.searchsorted", UserWarning)
            got = fn(cr, LAYOUTS[name](cr))
        assert _layout(got) == _layout(expected), f"layout {name!r}"
        for g, e in zip(_values(got), _values(expected)):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=name)
        compared += 1
    assert compared, "torch raised on every layout: the case compares nothing"


def _index(L: Any, x: Any, d: int, n: int = 2) -> Any:
    """An int64 index shaped as ``x`` with ``n`` entries along ``d`` (gather, scatter)."""
    shape = list(x.shape)
    shape[d] = n
    return L.tensor(np.arange(int(np.prod(shape))).reshape(shape) % x.shape[d])


def _src(L: Any, x: Any, d: int, n: int = 2) -> Any:
    shape = list(x.shape)
    shape[d] = n
    return L.ones(shape, dtype=L.float64)


CASES: list[Any] = []


def case(name: str, fn: Callable[[Any, Any], Any], layouts: tuple = ALL, xfail: str = "") -> None:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    CASES.append(pytest.param(fn, layouts, id=name, marks=marks))


for d in range(3):
    case(f"index_select{d}", lambda L, x, d=d: L.index_select(x, d, L.tensor([1, 0, 1])))
    for kw in ({}, {"stable": True}, {"descending": True}):
        tag = "".join(kw) or "plain"
        case(f"sort{d}_{tag}", lambda L, x, d=d, kw=kw: L.sort(x, dim=d, **kw))
        case(f"argsort{d}_{tag}", lambda L, x, d=d, kw=kw: L.argsort(x, dim=d, **kw))
    case(f"topk{d}", lambda L, x, d=d: L.topk(x, 2 if x.ndim else 1, dim=d), NO_TIES)
    case(f"kthvalue{d}", lambda L, x, d=d: L.kthvalue(x, 1, dim=d), NO_TIES)
    for op in ("cummax", "cummin", "cumsum", "cumprod", "logcumsumexp"):
        case(f"{op}{d}", lambda L, x, d=d, op=op: getattr(L, op)(x, d))
    for kd in (False, True):
        for op in ("median", "nanmedian", "mode"):
            f = lambda L, x, d=d, kd=kd, op=op: getattr(L, op)(x, d, kd)  # noqa: E731
            case(f"{op}{d}_k{kd:d}", f, NO_TIES)
        for op in ("max", "min", "amax", "amin", "argmax"):
            case(f"{op}{d}_k{kd:d}", lambda L, x, d=d, kd=kd, op=op: getattr(L, op)(x, d, kd))
        for op in ("argmin", "sum", "mean", "prod", "logsumexp", "all", "any"):
            case(f"{op}{d}_k{kd:d}", lambda L, x, d=d, kd=kd, op=op: getattr(L, op)(x, d, kd))
        for op in ("std", "var"):  # a 0-d input has no degree of freedom (a warning)
            case(f"{op}{d}_k{kd:d}", lambda L, x, d=d, kd=kd, op=op: getattr(L, op)(x, d, kd), ND)
        case(f"norm{d}_k{kd:d}", lambda L, x, d=d, kd=kd: L.norm(x, dim=d, keepdim=kd))
        case(f"quantile{d}_k{kd:d}", lambda L, x, d=d, kd=kd: L.quantile(x, 0.3, d, kd))
        case(f"aminmax{d}_k{kd:d}", lambda L, x, d=d, kd=kd: L.aminmax(x, dim=d, keepdim=kd))
    case(f"count_nonzero{d}", lambda L, x, d=d: L.count_nonzero(x, d))
    case(f"gather{d}", lambda L, x, d=d: L.gather(x, d, _index(L, x, d)))
    case(f"take_along_dim{d}", lambda L, x, d=d: L.take_along_dim(x, _index(L, x, d), d))
    case(f"scatter{d}", lambda L, x, d=d: L.scatter(x, d, _index(L, x, d, 1), 7.0))
    case(
        f"scatter_add{d}",
        lambda L, x, d=d: L.scatter_add(x, d, _index(L, x, d, 1), _src(L, x, d, 1)),
    )
    case(f"index_add{d}", lambda L, x, d=d: L.index_add(x, d, L.tensor([1]), _src(L, x, d, 1)))
    case(f"index_copy{d}", lambda L, x, d=d: L.index_copy(x, d, L.tensor([0]), _src(L, x, d, 1)))
    case(f"index_fill{d}", lambda L, x, d=d: L.index_fill(x, d, L.tensor([0]), 2.0))
    case(f"flip{d}", lambda L, x, d=d: L.flip(x, [d]))
    case(f"roll{d}", lambda L, x, d=d: L.roll(x, 1, d))
    case(f"softmax{d}", lambda L, x, d=d: L.softmax(x, d))
    case(f"repeat_interleave{d}", lambda L, x, d=d: L.repeat_interleave(x, 2, dim=d))
    case(f"unique_dim{d}", lambda L, x, d=d: L.unique(x, dim=d))

for op in ("max", "min", "amax", "sum", "mean", "norm", "all"):
    case(f"{op}_all", lambda L, x, op=op: getattr(L, op)(x))
for op in ("median", "nanmedian"):
    case(f"{op}_all", lambda L, x, op=op: getattr(L, op)(x), NO_TIES)
case("std_all", lambda L, x: L.std(x), (*ND, "1d"))
case("msort", lambda L, x: L.msort(x))
case("sort_last_dim", lambda L, x: L.sort(x))
case("flip_all", lambda L, x: L.flip(x, list(range(x.ndim))))
case("roll_flat", lambda L, x: L.roll(x, 1))
for k in (1, 2, 3):
    case(f"rot90_{k}", lambda L, x, k=k: L.rot90(x, k, (0, 1)))
case("fliplr", lambda L, x: L.fliplr(x))
case("tril", lambda L, x: L.tril(x))
case("triu", lambda L, x: L.triu(x, 1))
case("diagonal", lambda L, x: L.diagonal(x).clone(), (*NO_TIES, "expanded"))
case("diag", lambda L, x: L.diag(x))
case("diag_embed", lambda L, x: L.diag_embed(x))
case("diagflat", lambda L, x: L.diagflat(x))
case("trace", lambda L, x: L.trace(x))
case("clone", lambda L, x: L.clone(x))
case("clone_preserve", lambda L, x: x.clone(memory_format=L.preserve_format), DENSE)
case("contiguous", lambda L, x: x.contiguous())
case("masked_select", lambda L, x: L.masked_select(x, x > 0))
case("masked_fill", lambda L, x: L.masked_fill(x, x > 0, 0.0))
case("unique", lambda L, x: L.unique(x, return_inverse=True, return_counts=True))
case("searchsorted", lambda L, x: L.searchsorted(L.tensor([-1.0, 0.0, 1.0]).double(), x))
case("searchsorted_nd", lambda L, x: L.searchsorted(L.sort(x, dim=-1)[0], x))
case("bucketize", lambda L, x: L.bucketize(x, L.tensor([-1.0, 0.0, 1.0]).double()))
case("take", lambda L, x: L.take(x, L.tensor([[0, 0], [0, 0]])))
case("std_mean", lambda L, x: L.std_mean(x, dim=0), ND)
case("logsumexp_2dims", lambda L, x: L.logsumexp(x, (0, 1)))
case("elementwise_unary", lambda L, x: (L.exp(x), L.neg(x), L.sigmoid(x), L.relu(x), x * 2))
case("normalize", lambda L, x: L.nn.functional.normalize(x, dim=0))
case("kron", lambda L, x: L.kron(x, x), ("contiguous", "transposed", "step"))
case(
    "select_scatter",  # the input's strides, a step slice's gaps included
    lambda L, x: L.select_scatter(x, L.zeros(x.select(0, 0).shape).double(), 0, 0),
    ALL,
)
case(
    "slice_scatter",
    lambda L, x: L.slice_scatter(x, L.zeros(x[1:].shape).double(), 0, 1),
    ALL,
)
case(
    "slice_scatter_step",
    lambda L, x: L.slice_scatter(x, L.zeros(x[:, ::2].shape).double(), 1, 0, None, 2),
    ALL,
)
case(
    "diagonal_scatter",
    lambda L, x: L.diagonal_scatter(x, L.zeros(x.diagonal().shape).double()),
    ("permuted", "transposed", "step"),
)
case("index_put", lambda L, x: L.index_put(x, (L.tensor([0]),), L.tensor(0.0).double()), ND)
case("masked_scatter", lambda L, x: L.masked_scatter(x, x > 0, L.zeros(x.shape).double()), ND)
case("nonzero", lambda L, x: (L.nonzero(x > 0), L.nonzero(x > 0, as_tuple=True)))
case("cross", lambda L, x: L.cross(x, x, dim=x.shape.index(3)), ND)
case("renorm", lambda L, x: L.renorm(x, 2, 0, 1.0), ND)
case("clone_expanded", lambda L, x: L.clone(x[:1].expand(2, 3, 4)), ("contiguous",))  # (0, 4, 1)
case("clone_expanded_3d", lambda L, x: L.clone(x.unsqueeze(-1).expand(*x.shape, 5)), ND)


@pytest.mark.parametrize(("fn", "layouts"), CASES)
def test_result_layout_matches_torch(fn: Callable, layouts: tuple[str, ...]) -> None:
    _compare(fn, layouts)


# --- elementwise ops on operands of mixed layouts -------------------------------------------

_B3 = _rng.standard_normal((2, 3, 4))
OPERANDS: dict[str, Callable[[Any], Any]] = {
    "c": lambda L: _make(L, _A3),
    "p": lambda L: _make(L, _A3.transpose(2, 0, 1)).permute(1, 2, 0),  # strides (3, 1, 6)
    "q": lambda L: _make(L, _B3.transpose(1, 0, 2)).permute(1, 0, 2),  # strides (4, 8, 1)
    "t": lambda L: _make(L, _A3.transpose(0, 2, 1)).transpose(1, 2),  # strides (12, 1, 3)
    "s": lambda L: _make(L, np.concatenate([_A3, _B3], 2))[:, :, ::2],  # not dense
    "e": lambda L: _make(L, _A3[:, :, :1]).expand(2, 3, 4),
    "row": lambda L: _make(L, _A3[0, 0]),  # (4,), broadcast
    "col": lambda L: _make(L, _B3[:, :, :1]),  # (2, 3, 1), broadcast
    "num": lambda L: _make(L, np.array(2.0)),
}


def _pairs(op: Callable[[Any, Any, Any], Any]) -> None:
    for a, b in itertools.product(OPERANDS, OPERANDS):
        expected = op(torch, OPERANDS[a](torch), OPERANDS[b](torch))
        got = op(cr, OPERANDS[a](cr), OPERANDS[b](cr))
        assert _layout(got) == _layout(expected), f"{a} with {b}"
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "op",
    [
        lambda L, a, b: a + b,
        lambda L, a, b: L.mul(a, b),
        lambda L, a, b: a / b,
        lambda L, a, b: L.maximum(a, b),
        lambda L, a, b: L.atan2(a, b),
        lambda L, a, b: L.sub(a, b, alpha=2),
        lambda L, a, b: L.addcmul(a, b, b),
    ],
    ids=["add", "mul", "div", "maximum", "atan2", "sub_alpha", "addcmul"],
)
def test_binary_result_layout_follows_torch(op: Callable) -> None:
    _pairs(op)


@pytest.mark.parametrize(
    "op",
    [
        pytest.param(lambda L, a, b: L.eq(a, b), id="eq"),
        pytest.param(lambda L, a, b: L.where(a > 0, b, a), id="where_cond_first"),
        pytest.param(lambda L, a, b: L.lerp(a, b, 0.5), id="lerp"),
        pytest.param(lambda L, a, b: L.lerp(a, a, b), id="lerp_tensor_weight"),
        pytest.param(lambda L, a, b: L.lerp(b, a, 0.25), id="lerp_near_start"),
        pytest.param(lambda L, a, b: a > b, id="gt"),
        pytest.param(lambda L, a, b: L.logical_xor(a > 0, b), id="logical_xor"),
        pytest.param(lambda L, a, b: L.where(b > 0, a, 0.0), id="where_number"),
    ],
)
def test_other_elementwise_result_layout(op: Callable) -> None:
    _pairs(op)


def _random_recipe(rnd: random.Random, shape: tuple[int, ...]) -> tuple:
    """How to lay out a tensor of ``shape``: a dim order, steps, narrowed dims, dropped dims."""
    nd = len(shape)
    order = rnd.sample(range(nd), nd)
    steps = [rnd.choice((1, 1, 2)) for _ in range(nd)]
    narrow = [d for d in range(nd) if rnd.random() < 0.2]
    drop = rnd.randint(1, nd - 1) if rnd.random() < 0.3 else 0
    return shape, order, steps, narrow, drop


def _laid_out(L: Any, recipe: tuple, values: np.ndarray) -> Any:
    """A tensor of ``values`` (flat) laid out by ``recipe``: permuted, stepped, narrowed to
    size 1 (so that it broadcasts), with leading dims indexed away."""
    shape, order, steps, narrow, drop = recipe
    full = [shape[i] * steps[i] for i in order]
    base = _make(L, values[: int(np.prod(full))].reshape(full))
    t = base[tuple(slice(None, None, steps[i]) for i in order)]
    t = t.permute(*[order.index(i) for i in range(len(shape))])
    for d in narrow:
        t = t.narrow(d, 0, 1)
    return t[(0,) * drop] if drop else t


def test_random_binary_layouts_follow_torch() -> None:
    rnd = random.Random(0)
    values = _rng.standard_normal(4**4 * 16)
    for _ in range(150):
        shape = tuple(rnd.randint(2, 4) for _ in range(rnd.randint(2, 4)))
        ra, rb = _random_recipe(rnd, shape), _random_recipe(rnd, shape)
        expected = _laid_out(torch, ra, values) * _laid_out(torch, rb, values)
        got = _laid_out(cr, ra, values) * _laid_out(cr, rb, values)
        assert _layout(got) == _layout(expected), (ra, rb)


# --- gradients of leaves in non-contiguous layouts -------------------------------------------
# PyTorch's gradient layout contract: a leaf's first .grad has the leaf's strides when the
# leaf is dense and non-overlapping, else it is row-major; later gradients are summed into it
# keeping its layout (autograd/engine.py accumulate_grad).

GRAD_LAYOUTS = ("permuted", "transposed", "step", "step_t", "expanded", "expanded_p")
GRADS = {
    "exp": lambda L, x: L.exp(x),
    "mul_self": lambda L, x: x * x,
    "amax": lambda L, x: x.amax(0),
    "std": lambda L, x: x.std(0),
    "where": lambda L, x: L.where(x > 0, x, 0.0),
    "sum": lambda L, x: x.sum(0),
    "sort": lambda L, x: L.sort(x, 0)[0],
    "cumsum": lambda L, x: L.cumsum(x, 0),
    "index_select": lambda L, x: L.index_select(x, 0, L.tensor([0, 1])),
    "transpose_back": lambda L, x: x.t().exp() if x.ndim == 2 else x.permute(1, 2, 0).exp(),
}


def _leaf_grads(fn: Callable, name: str, create_graph: bool = False, twice: bool = False) -> list:
    grads = []
    for L in (torch, cr):
        leaf = LAYOUTS[name](L).detach().requires_grad_(True)
        for _ in range(2 if twice else 1):
            with warnings.catch_warnings():  # torch's note on backward(create_graph=True)
                warnings.simplefilter("ignore", UserWarning)
                fn(L, leaf).sum().backward(create_graph=create_graph)
        grads.append(leaf.grad)
    assert _layout(grads[1]) == _layout(grads[0]), name
    np.testing.assert_allclose(
        grads[1].detach().numpy(), grads[0].detach().numpy(), rtol=1e-12, atol=1e-12
    )
    return grads


@pytest.mark.parametrize("fn", list(GRADS.values()), ids=list(GRADS))
def test_leaf_grad_layout_matches_torch(fn: Callable) -> None:
    for name in GRAD_LAYOUTS:
        _leaf_grads(fn, name)


@pytest.mark.parametrize("op", ["sum", "exp", "transpose_back"])
def test_leaf_grad_layout_with_create_graph_and_accumulation(op: str) -> None:
    """The contract holds with ``create_graph`` (a recorded relayout: the gradient stays
    differentiable) and a second backward keeps the first gradient's layout."""
    for name in ("contiguous", "permuted", "step", "expanded_p"):
        grads = _leaf_grads(GRADS[op], name, create_graph=True)
        assert grads[1].requires_grad == grads[0].requires_grad
        _leaf_grads(GRADS[op], name, twice=True)
        _leaf_grads(GRADS[op], name, create_graph=True, twice=True)


def test_accumulation_keeps_an_assigned_grad_layout() -> None:
    """A ``.grad`` the user assigned keeps its layout when backward adds into it."""
    for make in (lambda L, x: L.zeros(x.shape, dtype=L.float64), lambda L, x: L.zeros_like(x)):
        got = []
        for L in (torch, cr):
            leaf = LAYOUTS["permuted"](L).detach().requires_grad_(True)
            leaf.grad = make(L, leaf)
            with warnings.catch_warnings():  # torch: "grad and param do not obey the contract"
                warnings.simplefilter("ignore", UserWarning)
                (leaf * 2).sum().backward()
            got.append(_layout(leaf.grad))
        assert got[1] == got[0]


def test_accumulated_grad_of_a_0d_leaf_is_a_tensor_in_memory() -> None:
    """Two backward passes into a 0-d leaf leave a 0-d array ``.grad`` (NumPy's sum of two
    0-d arrays is a scalar), which in-place updates and views work on, as in PyTorch."""
    got = []
    for L in (torch, cr):
        x = L.tensor(1.5, dtype=L.float64, requires_grad=True)
        for _ in range(2):
            (x * 2).backward()
        x.grad.add_(1.0)
        got.append((_layout(x.grad.view(1)), float(x.grad)))
    assert got[1] == got[0]


def test_create_graph_grad_of_a_non_contiguous_leaf_is_differentiable() -> None:
    """The recorded relayout of a first gradient passes second derivatives on."""
    vals = []
    for L in (torch, cr):
        x = LAYOUTS["transposed"](L).detach().requires_grad_(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            (x.t() ** 3).sum().backward(create_graph=True)
        g = x.grad
        x.grad = None
        (g * g).sum().backward()
        vals.append(x.grad.detach().numpy())
    np.testing.assert_allclose(vals[1], vals[0], rtol=1e-12)


def test_contiguous_inside_vmap_of_per_sample_values() -> None:
    """``contiguous`` of a tensor holding ``cr.func.vmap`` per-sample values (a comparison's
    result) is the tensor itself: its memory is the batch's (no flags to read)."""
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    for L in (torch, cr):
        got = L.func.vmap(lambda r, L=L: (r > 0).contiguous().to(L.float64).sum(0))(L.tensor(x))
        np.testing.assert_array_equal(got.numpy(), (x > 0).sum(1))


@pytest.mark.parametrize("shape", [(1,), (1, 3), (3, 1)])
def test_flip_of_size_one_dims_is_still_a_copy(shape: tuple[int, ...]) -> None:
    """A flip that moves no element is already in the input's layout; it must copy anyway
    (a write into the result must not reach the input, as in PyTorch)."""
    for L in (torch, cr):
        x = L.zeros(shape, dtype=L.float64)
        y = x.flip(0)
        y.add_(1.0)
        assert float(x.abs().sum()) == 0.0, L.__name__
