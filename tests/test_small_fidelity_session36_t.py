"""Small fidelity fixes of session 36 (t), each compared with torch 2.13 live.

- ``sort``/``argsort`` with ``stable=``: PyTorch's parser has the overloads ``(*, bool
  stable, int dim=-1, bool descending=False)`` and ``(int dim=-1, bool descending=False)``,
  so ``x.sort(1, stable=True)`` is a TypeError; ``stable`` must be a bool (``None`` too for
  ``sort``, not ``argsort``).
- ``F.rrelu(x, training=False)`` of a non-contiguous ``x``: a contiguous result.
- ``sparse @ dense`` (``mm``, ``@``, ``bmm``, ``dense @ sparse``) of a sparse tensor made by
  ``to_sparse()`` of a dense one in a graph: NaN only where a stored element meets a
  non-finite entry (the unstored zeros multiply nothing), as PyTorch's sparse kernels, with
  PyTorch's full gradient of the dense source (fuzzer seed 910: ``pad_nd`` then ``pow_(0.25)``
  made NaNs, ``sparse_coo`` multiplied).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
import chainrule.nn.functional as CF

__all__: list[str] = []

_NAN, _INF = float("nan"), float("inf")


def _outcome(lib: Any, call: Callable[[Any, Any], Any]) -> Any:
    """The call's indices (or values) as a list, or the type and first line of its error."""
    x = lib.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 4.0, 5.0]])
    try:
        out = call(lib, x)
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e).__name__, str(e).splitlines()[0]
    return (out[1] if isinstance(out, tuple) else out).tolist()


# ------------------------------------------------------------------ sort / argsort stable=

_SORT_FORMS: dict[str, Callable[[Any, Any], Any]] = {
    "method_stable": lambda L, x: x.sort(stable=True),
    "method_dim_kw_stable": lambda L, x: x.sort(dim=0, stable=True),
    "method_all_kw": lambda L, x: x.sort(dim=1, descending=True, stable=True),
    "method_stable_false": lambda L, x: x.sort(stable=False),
    "method_stable_none": lambda L, x: x.sort(stable=None),
    "method_no_stable_positional": lambda L, x: x.sort(0, True),
    "fn_positional_no_stable": lambda L, x: L.sort(x, 1, True),
    "fn_stable_dim_kw": lambda L, x: L.sort(x, stable=True, dim=0),
    "fn_input_kw": lambda L, x: L.sort(input=x, stable=True),
    "fn_stable_none": lambda L, x: L.sort(x, stable=None),
    "unbound_method_stable": lambda L, x: L.Tensor.sort(x, stable=True),
    "computed_receiver_kw": lambda L, x: (x + 1).sort(dim=1, stable=True),
    "argsort_method_stable": lambda L, x: x.argsort(stable=True),
    "argsort_fn_stable_kw": lambda L, x: L.argsort(x, dim=0, descending=True, stable=True),
    "argsort_fn_stable_false": lambda L, x: L.argsort(x, stable=False),
}

_SORT_REFUSED: dict[str, Callable[[Any, Any], Any]] = {
    "method_dim_pos_stable": lambda L, x: x.sort(1, stable=True),
    "method_dim_pos_stable_false": lambda L, x: x.sort(1, stable=False),
    "method_dim_pos_stable_none": lambda L, x: x.sort(1, stable=None),
    "method_stable_int": lambda L, x: x.sort(stable=1),
    "fn_dim_pos_stable": lambda L, x: L.sort(x, 1, stable=True),
    "fn_dim_pos_stable_false": lambda L, x: L.sort(x, 1, stable=False),
    "fn_dim_desc_pos_stable": lambda L, x: L.sort(x, 1, True, stable=True),
    "unbound_method_dim_pos": lambda L, x: L.Tensor.sort(x, 1, stable=True),
    "computed_receiver_pos": lambda L, x: x.clone().sort(0, stable=True),
    "argsort_method_dim_pos": lambda L, x: x.argsort(1, stable=True),
    "argsort_method_dim_pos_false": lambda L, x: x.argsort(1, stable=False),
    "argsort_fn_dim_pos": lambda L, x: L.argsort(x, 1, stable=True),
    "argsort_fn_stable_none": lambda L, x: L.argsort(x, stable=None),
}

# the first line of PyTorch's message, where chainrule writes the same
_SAME_FIRST_LINE = {
    "method_dim_pos_stable",
    "method_dim_pos_stable_false",
    "method_dim_pos_stable_none",
    "method_stable_int",
    "fn_dim_pos_stable",
    "fn_dim_pos_stable_false",
    "fn_dim_desc_pos_stable",
    "argsort_method_dim_pos",
    "argsort_fn_dim_pos",
    "argsort_fn_stable_none",
}


@pytest.mark.parametrize("form", list(_SORT_FORMS))
def test_sort_stable_forms_torch_accepts(form: str) -> None:
    expected = _outcome(torch, _SORT_FORMS[form])
    assert isinstance(expected, list), expected  # the probe: torch takes the call
    assert _outcome(cr, _SORT_FORMS[form]) == expected


@pytest.mark.parametrize("form", list(_SORT_REFUSED))
def test_sort_stable_forms_torch_refuses(form: str) -> None:
    expected = _outcome(torch, _SORT_REFUSED[form])
    got = _outcome(cr, _SORT_REFUSED[form])
    assert isinstance(expected, tuple) and expected[0] == "TypeError", expected
    assert isinstance(got, tuple) and got[0] == "TypeError", got
    if form in _SAME_FIRST_LINE:
        assert got[1] == expected[1]


def test_sort_stable_refusal_is_per_call_site() -> None:
    # the call-site cache must not carry one site's positional count to another
    for lib in (torch, cr):
        x = lib.tensor([2.0, 1.0, 2.0])
        for _ in range(2):
            assert x.sort(stable=True).indices.tolist() == [1, 0, 2]
            with pytest.raises(TypeError):
                x.sort(0, stable=True)


def test_sort_descending_int_is_refused() -> None:
    assert _outcome(cr, lambda L, x: x.sort(1, 0))[0] == "TypeError"
    assert _outcome(torch, lambda L, x: x.sort(1, 0))[0] == "TypeError"


# ------------------------------------------------------------------------ rrelu layouts

_VIEWS: dict[str, Callable[[Any], Any]] = {
    "transposed": lambda t: t.t(),
    "step_slice": lambda t: t[:, ::2],
    "permuted": lambda t: t.reshape(2, 3, 4).permute(2, 0, 1),
    "contiguous": lambda t: t,
}


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("view", list(_VIEWS))
def test_rrelu_result_layout(view: str, training: bool) -> None:
    a = np.arange(24.0).reshape(4, 6) - 10.5
    results = []
    for lib, fn in ((torch, F.rrelu), (cr, CF.rrelu)):
        lib.manual_seed(0)
        x = _VIEWS[view](lib.tensor(a, requires_grad=True))
        x.retain_grad()
        y = fn(x, training=training)
        (y * lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((y.stride(), y.is_contiguous(), y.detach().numpy(), x.grad.numpy()))
    (ts, tc, ty, tg), (cs, cc, cy, cg) = results
    assert (cs, cc) == (ts, tc)
    if not training:  # training draws: the layout only
        np.testing.assert_allclose(cy, ty)
        np.testing.assert_allclose(cg, tg)


# ----------------------------------------------------------- sparse products' NaN places


def _seed_910_like(lib: Any) -> tuple[Any, Any]:
    """A matrix with NaN (as pad -1.5 then ** 0.25 made them) among zeros, and a dense
    operand with a NaN and an inf facing unstored zeros."""
    a = lib.tensor(
        [[0.0, _NAN, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, _NAN, 0.0]],
        dtype=lib.float64,
        requires_grad=True,
    )
    d = lib.tensor(
        [[1.0, 2.0], [0.0, _NAN], [3.0, 0.0], [_INF, 1.0]], dtype=lib.float64, requires_grad=True
    )
    return a, d


_PRODUCTS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "matmul_op": lambda L, s, d: s @ d,
    "mm": lambda L, s, d: L.mm(s, d),
    "tensor_mm": lambda L, s, d: s.mm(d),
    "matmul": lambda L, s, d: L.matmul(s, d),
    "dense_at_sparse": lambda L, s, d: d.t() @ s.t(),
    "mm_dense_sparse": lambda L, s, d: L.mm(d.t(), s.t()),
    "addmm": lambda L, s, d: L.addmm(L.ones(3, 2, dtype=L.float64), s, d, beta=0.5),
    "sparse_mm": lambda L, s, d: L.sparse.mm(s, d),
    "scaled": lambda L, s, d: (s * 2) @ d,
    "dense_vector": lambda L, s, d: L.matmul(s, d[:, 1]),
}


def _dense(t: Any) -> np.ndarray:
    return (t.to_dense() if t.is_sparse else t).detach().numpy()


@pytest.mark.parametrize("upstream_nan", [False, True])
@pytest.mark.parametrize("form", list(_PRODUCTS))
def test_sparse_dense_product_nan_places(form: str, upstream_nan: bool) -> None:
    results = []
    for lib in (torch, cr):
        a, d = _seed_910_like(lib)
        y = _PRODUCTS[form](lib, a.to_sparse(), d)
        g = lib.ones_like(y)
        if upstream_nan:  # a NaN gradient meeting unstored zeros in d's gradient
            g = g.flatten().index_fill(0, lib.tensor([1]), _NAN).reshape(y.shape)
        y.backward(g)
        results.append((_dense(y), y.stride(), _dense(a.grad), _dense(d.grad)))
    (ty, tst, tga, tgd), (cy, cst, cga, cgd) = results
    np.testing.assert_allclose(cy, ty, equal_nan=True)
    assert cst == tst
    np.testing.assert_allclose(cga, tga, equal_nan=True)
    np.testing.assert_allclose(cgd, tgd, equal_nan=True)


def test_sparse_bmm_nan_places() -> None:
    results = []
    for lib in (torch, cr):
        a = lib.tensor(
            [[[0.0, _NAN], [0.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]]],
            dtype=lib.float64,
            requires_grad=True,
        )
        d = lib.tensor(
            [[[_INF, 1.0], [1.0, 2.0]], [[_NAN, 1.0], [1.0, 2.0]]],
            dtype=lib.float64,
            requires_grad=True,
        )
        y = lib.bmm(a.to_sparse(), d)
        y.backward(lib.ones_like(y))
        results.append((_dense(y), _dense(a.grad), _dense(d.grad)))
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, equal_nan=True)


@pytest.mark.parametrize("form", ["sparse_dense", "dense_sparse", "bmm"])
def test_sparse_dense_product_second_order_and_node(form: str) -> None:
    # the full gradient of the dense source, to the second order, and MmBackward0
    results = []
    for lib in (torch, cr):
        a = lib.tensor(
            [[0.0, 1.5, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, -3.0, 0.0]],
            dtype=lib.float64,
            requires_grad=True,
        )
        d = lib.tensor(
            [[1.0, 2.0], [0.0, -1.0], [3.0, 0.5], [2.0, 1.0]], dtype=lib.float64, requires_grad=True
        )
        if form == "sparse_dense":
            y = a.to_sparse() @ d
        elif form == "dense_sparse":
            y = d.t() @ a.to_sparse().t()
        else:
            y = lib.bmm(a.reshape(1, 3, 4).to_sparse(), d.reshape(1, 4, 2))[0]
        w = lib.arange(6.0, dtype=lib.float64).reshape(y.shape) + 1
        ga, gd = lib.autograd.grad((y * w).sum(), (a, d), create_graph=True)
        h = lib.autograd.grad((ga * ga).sum() + (gd * gd * gd).sum(), (a, d))
        name = type(y.grad_fn).__name__
        results.append((name, [_dense(t) for t in (y, ga, gd, *h)]))
    (tname, tvals), (cname, cvals) = results
    assert cname == tname
    for got, expected in zip(cvals, tvals):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
