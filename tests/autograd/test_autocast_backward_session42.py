"""A backward run inside a CPU autocast block, against PyTorch 2.13: einsum, F.linear under
``LINEAR_GRAPH_AS_TORCH``, bilinear (``_trilinear``) and scaled_dot_product_attention's
math path (session 42).

PyTorch's einsum contracts two operands with ``bmm`` (a subscript summed across them) and
multiplies them otherwise (an outer or elementwise product, a sum inside one operand): its
backward runs ``bmm`` again, which autocast casts, so inside ``autocast("cpu")`` the
gradients of a contraction are the bfloat16 (float16) products cast back to the inputs'
dtype, and those of a plain product are not cast. The data are multiples of 1/16 below 4:
every product and sum is exact in float32 in any order (compared bit for bit), the sums too
long for bfloat16's 8 bits (and some for float16's 11), so a cast shows.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest

import chainrule as cr

from .test_autocast_backward_session41 import _draw, _same

# the module (``chainrule.nn.functional.linear`` as an attribute is the function)
linear_module = importlib.import_module("chainrule.nn.functional.linear")

torch = pytest.importorskip("torch")

_EINSUM = {
    "mm": ("ij,jk->ik", [(4, 5), (5, 3)]),
    "bmm": ("bij,bjk->bik", [(2, 4, 5), (2, 5, 3)]),
    "attention_scores": ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    "matvec": ("ij,j->i", [(4, 5), (5,)]),
    "dot": ("i,i->", [(5,), (5,)]),
    "summed_in_one": ("ij,jk->k", [(4, 5), (5, 3)]),
    "ellipsis": ("...ij,...jk->...ik", [(2, 4, 5), (2, 5, 3)]),
    "outer": ("i,j->ij", [(4,), (3,)]),  # a mul in PyTorch: not cast
    "elementwise": ("bi,bi->bi", [(2, 5), (2, 5)]),  # a mul: not cast
    "single": ("ij->j", [(4, 5)]),  # a sum: not cast
    # three operands or more: PyTorch contracts them pair by pair (opt_einsum's path), each
    # pair's products cast and rounded in the backward one pair at a time
    "chain": ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    "chain_of_four": ("ij,jk,kl,lm->im", [(2, 3), (3, 4), (4, 5), (5, 2)]),
    "batched_chain": ("bij,bjk,bkl->bil", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
    "vector_pair_first": ("ij,j,j->i", [(4, 5), (5,), (5,)]),
    "outer_of_three": ("i,j,k->ijk", [(2,), (3,), (4,)]),  # muls: not cast
}
_LINEAR = {
    "2d": ([(4, 5), (3, 5)], lambda m, a, w: m.nn.functional.linear(a, w)),
    "3d": ([(2, 4, 5), (3, 5)], lambda m, a, w: m.nn.functional.linear(a, w)),
    "1d": ([(5,), (3, 5)], lambda m, a, w: m.nn.functional.linear(a, w)),
    "bias_2d": ([(4, 5), (3, 5), (3,)], lambda m, a, w, b: m.nn.functional.linear(a, w, b)),
    "bias_3d": ([(2, 4, 5), (3, 5), (3,)], lambda m, a, w, b: m.nn.functional.linear(a, w, b)),
}
_PRODUCTS = {
    "bilinear": (
        [(4, 5), (4, 6), (3, 5, 6)],
        lambda m, a, b, w: m.nn.functional.bilinear(a, b, w),
    ),
    "sdpa_float_mask": (
        [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), (4, 5)],
        lambda m, q, k, v, mask: m.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask
        ),
    ),
}
_DTYPES = [("float32", "bfloat16"), ("float32", "float16"), ("float16", "bfloat16")]


def _grads(
    m: Any,
    shapes: list,
    f: Any,
    dtype: str,
    autocast_dtype: str = "bfloat16",
    inside: bool = True,
    forward_inside: bool = False,
    create_graph: bool = False,
    bwd: str = "grad",
) -> list:
    """The inputs' gradients (dtype name, values as float64) of ``f`` on fresh leaves, the
    backward run inside (or outside) ``autocast("cpu", autocast_dtype)``; with
    ``create_graph`` the gradients' node names too."""
    rng = np.random.default_rng(7)
    ts = [m.tensor(_draw(rng, s), dtype=getattr(m, dtype), requires_grad=True) for s in shapes]
    with m.autocast("cpu", dtype=getattr(m, autocast_dtype), enabled=forward_inside):
        y = f(m, *ts)
    g = m.tensor(_draw(rng, tuple(y.shape)), dtype=y.dtype)
    with m.autocast("cpu", dtype=getattr(m, autocast_dtype), enabled=inside):
        if bwd == "grad":
            grads = m.autograd.grad(y, ts, g, create_graph=create_graph)
        else:
            y.backward(g)
            grads = [t.grad for t in ts]
    out = [(str(t.dtype).split(".")[-1], t.detach().double().numpy()) for t in grads]
    if create_graph:
        out.append([None if t.grad_fn is None else t.grad_fn.name() for t in grads])
    return out


def _einsum(equation: str) -> Any:
    return lambda m, *ts: m.einsum(equation, *ts)


@pytest.mark.parametrize(("dtype", "autocast_dtype"), _DTYPES)
@pytest.mark.parametrize("case", sorted(_EINSUM))
def test_einsum_backward_inside_autocast(case: str, dtype: str, autocast_dtype: str) -> None:
    if case == "outer_of_three" and dtype == "float16":
        pytest.xfail(
            "float16 products of three operands: PyTorch rounds each pair's product to float16, "
            "chainrule's einsum rounds once (outside autocast too)"
        )
    eq, shapes = _EINSUM[case]
    got = _grads(cr, shapes, _einsum(eq), dtype, autocast_dtype)
    _same(got, _grads(torch, shapes, _einsum(eq), dtype, autocast_dtype))


@pytest.mark.parametrize("case", ["mm", "matvec", "outer"])
def test_einsum_cast_or_not_as_torch(case: str) -> None:
    """A contraction's gradients are bfloat16-rounded (they differ from the float32
    backward's), a plain product's equal it, in both libraries."""
    eq, shapes = _EINSUM[case]
    for m in (cr, torch):
        inside = _grads(m, shapes, _einsum(eq), "float32")
        plain = _grads(m, shapes, _einsum(eq), "float32", inside=False)
        cast = [not np.array_equal(a[1], b[1]) for a, b in zip(inside, plain, strict=True)]
        assert cast == [case != "outer"] * 2, (m.__name__, case)


@pytest.mark.parametrize("case", ["mm", "bmm", "chain"])
def test_einsum_backward_method_and_float64(case: str) -> None:
    """``.backward()`` casts as ``autograd.grad``; float64 is never cast; a forward run in
    the block too (bfloat16 operands) is unchanged; outside the block nothing is cast."""
    eq, shapes = _EINSUM[case]
    f = _einsum(eq)
    _same(
        _grads(cr, shapes, f, "float32", bwd="backward"),
        _grads(torch, shapes, f, "float32", bwd="backward"),
    )
    _same(_grads(cr, shapes, f, "float64"), _grads(torch, shapes, f, "float64"))
    _same(
        _grads(cr, shapes, f, "float32", forward_inside=True),
        _grads(torch, shapes, f, "float32", forward_inside=True),
    )
    _same(
        _grads(cr, shapes, f, "float32", inside=False),
        _grads(torch, shapes, f, "float32", inside=False),
    )


@pytest.mark.parametrize(
    "case",
    [
        "mm",
        "bmm",
        "chain",  # (pairwise under create_graph too: session 43)
    ],
)
def test_einsum_create_graph_values(case: str) -> None:
    """A backward that builds a graph casts the same products (the values; the nodes of
    the gradient's graph are einsum's own, as outside autocast)."""
    eq, shapes = _EINSUM[case]
    f = _einsum(eq)
    got = _grads(cr, shapes, f, "float32", create_graph=True)[:-1]
    _same(got, _grads(torch, shapes, f, "float32", create_graph=True)[:-1])


@pytest.mark.parametrize("graph_as_torch", [False, True])
@pytest.mark.parametrize(("dtype", "autocast_dtype"), _DTYPES)
@pytest.mark.parametrize("case", sorted(_LINEAR))
def test_linear_backward_inside_autocast(
    case: str,
    dtype: str,
    autocast_dtype: str,
    graph_as_torch: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """F.linear's gradients with its default fused node and with PyTorch's own graph
    (``LINEAR_GRAPH_AS_TORCH``: ``TBackward0`` under ``MmBackward0``/``AddmmBackward0``)."""
    monkeypatch.setattr(linear_module, "LINEAR_GRAPH_AS_TORCH", graph_as_torch)
    shapes, f = _LINEAR[case]
    _same(
        _grads(cr, shapes, f, dtype, autocast_dtype),
        _grads(torch, shapes, f, dtype, autocast_dtype),
    )


@pytest.mark.parametrize(("dtype", "autocast_dtype"), _DTYPES)
@pytest.mark.parametrize("case", sorted(_PRODUCTS))
def test_other_products_backward_inside_autocast(
    case: str, dtype: str, autocast_dtype: str
) -> None:
    """bilinear's gradients (``_trilinear``'s backward: per output feature a ``mul`` then a
    cast ``bmm``, summed into the first operand's dtype) and sdpa's math path's (four cast
    ``bmm``, the softmax backward not cast) bit for bit; the mask's gradient of a float32
    sdpa is the one left out (see the strict xfail below)."""
    shapes, f = _PRODUCTS[case]
    got = _grads(cr, shapes, f, dtype, autocast_dtype)
    want = _grads(torch, shapes, f, dtype, autocast_dtype)
    if case == "sdpa_float_mask" and dtype == "float32":
        np.testing.assert_allclose(got[3][1], want[3][1], rtol=0, atol=1e-5)
        got, want = got[:3], want[:3]
    _same(got, want)


@pytest.mark.parametrize("case", sorted(_PRODUCTS))
def test_other_products_cast_or_not_as_torch(case: str) -> None:
    """The products' gradients differ from the float32 backward's in both libraries (the
    cast shows), and a float64 graph, a ``.backward()`` call and a backward outside the
    block agree with PyTorch's (nothing cast in float64 or outside)."""
    shapes, f = _PRODUCTS[case]
    for m in (cr, torch):
        inside = _grads(m, shapes, f, "float32")
        plain = _grads(m, shapes, f, "float32", inside=False)
        cast = [not np.array_equal(a[1], b[1]) for a, b in zip(inside, plain, strict=True)]
        assert all(cast), (m.__name__, case, cast)
    n = 3 if case == "sdpa_float_mask" else len(shapes)  # (the float32 mask's: below)
    got = _grads(cr, shapes, f, "float32", bwd="backward")
    _same(got[:n], _grads(torch, shapes, f, "float32", bwd="backward")[:n])
    for kw in ({"inside": False}, {"dtype": "float64"}):
        got = _grads(cr, shapes, f, **{"dtype": "float32", **kw})
        want = _grads(torch, shapes, f, **{"dtype": "float32", **kw})
        if case == "bilinear":
            _same(got, want)
        else:  # not cast: sdpa's P is its own outside autocast (NumPy's exp), as before
            for (d1, x), (d2, y) in zip(got, want, strict=True):
                assert d1 == d2
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", sorted(_PRODUCTS))
def test_other_products_create_graph_values(case: str) -> None:
    """A backward that builds a graph casts the same products (the values; the gradients'
    nodes are chainrule's Tensor ops, not PyTorch's ``TrilinearBackward0``/bmm nodes)."""
    shapes, f = _PRODUCTS[case]
    got = _grads(cr, shapes, f, "float32", create_graph=True)[:-1]
    want = _grads(torch, shapes, f, "float32", create_graph=True)[:-1]
    n = 3 if case == "sdpa_float_mask" else len(shapes)  # (the float32 mask's: below)
    _same(got[:n], want[:n])


@pytest.mark.xfail(
    strict=True,
    reason="sdpa's float32 mask gradient is the softmax backward of chainrule's own P "
    "(NumPy's exp and division), an ulp off PyTorch's math path's P (its vectorized exp, "
    "a multiply by the reciprocal sum); nothing rounds it to bfloat16 after, so it shows",
)
def test_sdpa_float32_mask_gradient_bit_for_bit() -> None:
    shapes, f = _PRODUCTS["sdpa_float_mask"]
    _same(_grads(cr, shapes, f, "float32")[3:], _grads(torch, shapes, f, "float32")[3:])


@pytest.mark.parametrize("wanted", [0, 1, 2])
def test_einsum_chain_one_operand_wants_a_gradient(wanted: int) -> None:
    """An operand not kept by the node (only it wants a gradient) is recomputed as zeros:
    its gradient does not read its values."""

    def run(m: Any) -> np.ndarray:
        rng = np.random.default_rng(7)
        shapes = [(2, 3), (3, 4), (4, 5)]
        ts = [
            m.tensor(_draw(rng, s), dtype=m.float32, requires_grad=k == wanted)
            for k, s in enumerate(shapes)
        ]
        y = m.einsum("ij,jk,kl->il", *ts)
        g = m.tensor(_draw(rng, (2, 5)), dtype=m.float32)
        with m.autocast("cpu", dtype=m.bfloat16):
            return m.autograd.grad(y, ts[wanted], g)[0].detach().numpy()

    np.testing.assert_array_equal(run(cr), run(torch))
