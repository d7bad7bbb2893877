"""Result and gradient layouts, ninth pass, against PyTorch 2.13 (session 45).

- ``addmm``'s gradient for a column-major ``mat1`` / ``mat2`` is computed as a transposed
  product, column-major too, as PyTorch's ``mm_mat1_backward`` / ``mm_mat2_backward``;
- ``clamp`` (number or tensor bounds, ``clamp_min`` / ``clamp_max``): the input gradient is
  PyTorch's ``where(mask, grad, 0)``, laid out by the mask (the input's layout) first;
- ``masked_fill``'s input gradient is row-major whatever the mask's layout (PyTorch's
  ``grad.masked_fill(mask, 0)`` clones contiguous);
- batch norm (training) and group norm: the input gradient of a channels-last input is
  channels-last (PyTorch's ``suggest_memory_format``);
- two-operand ``einsum`` results in PyTorch's layout (``ops/einsum_layout.py``: its
  ``sumproduct_pair`` order, or the elementwise product's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(4545)
X = _RNG.standard_normal((2, 4, 6, 5)) - 0.1
G = _RNG.standard_normal((2, 4, 6, 5))
M = _RNG.standard_normal((5, 4))


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def lay(t: Any) -> list:
    """Shape, strides and contiguity of ``t``."""
    return [tuple(t.shape), t.stride(), t.is_contiguous()]


def values(got: Any, want: Any, atol: float = 1e-10) -> None:
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=atol)


def cl_view(lib: Any, a: Any = X) -> Any:
    """``a``'s values as a channels-last view of a leaf that requires grad."""
    return lib.tensor(a.transpose(0, 2, 3, 1).copy(), requires_grad=True).permute(0, 3, 1, 2)


# ---------------------------------------------------------------- pointwise gradients
POINTWISE: dict[str, Any] = {
    "clamp": lambda lib, a: a.clamp(-0.3, 0.3),
    "clamp_min": lambda lib, a: a.clamp(min=0),
    "clamp_max": lambda lib, a: a.clamp(max=0),
    "clamp_tensor": lambda lib, a: a.clamp(lib.zeros(1, 4, 1, 1, dtype=a.dtype)),
    "clamp_tensor_both": lambda lib, a: a.clamp(
        lib.zeros(1, 4, 1, 1, dtype=a.dtype), lib.ones(4, 1, 1, dtype=a.dtype)
    ),
    "clamp_min_tensor": lambda lib, a: lib.clamp_min(a, lib.zeros(4, 1, 1, dtype=a.dtype)),
    "clip": lambda lib, a: a.clip(-0.2, 0.5),
    "hardtanh": lambda lib, a: F(lib).hardtanh(a, -0.3, 0.3),
    "relu6": lambda lib, a: F(lib).relu6(a),
    "nan_to_num": lambda lib, a: lib.nan_to_num(a),
    "masked_fill": lambda lib, a: a.masked_fill(a > 0, 0.0),
    "masked_fill_row_mask": lambda lib, a: a.masked_fill(lib.tensor(X) > 0, 0.0),
    "where": lambda lib, a: lib.where(a > 0, a, 0.0),
    "abs": lambda lib, a: a.abs(),
    "gelu": lambda lib, a: F(lib).gelu(a),
    "sigmoid": lambda lib, a: a.sigmoid(),
    "relu": lambda lib, a: F(lib).relu(a),
    "leaky_relu": lambda lib, a: F(lib).leaky_relu(a),
    "threshold": lambda lib, a: F(lib).threshold(a, 0.1, 2.0),
    "prelu": lambda lib, a: F(lib).prelu(a, lib.full((4,), 0.2, dtype=a.dtype)),
    "maximum": lambda lib, a: lib.maximum(a, lib.tensor(G)),
    "erf": lambda lib, a: a.erf(),
}
POINTWISE_GAPS: set[str] = set()  # closed in session 46 (ops/input_first_grads.py)
POINTWISE_REASON = (
    "the input gradient of a channels-last input with a row-major incoming gradient: "
    "PyTorch's backward kernel takes the input first (channels-last gradient); chainrule's "
    "is row-major"
)


@pytest.mark.parametrize(
    "op",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=POINTWISE_REASON))
        if n in POINTWISE_GAPS
        else n
        for n in POINTWISE
    ],
)
def test_pointwise_gradient_of_a_channels_last_input(op: str) -> None:
    def run(lib: Any) -> Any:
        a = cl_view(lib)
        y = POINTWISE[op](lib, a)
        return lib.autograd.grad((y * lib.tensor(G)).sum(), a)[0]

    got, want = run(cr), run(torch)
    assert lay(got) == lay(want)
    values(got, want)


def test_pointwise_gap_names_exist() -> None:
    assert POINTWISE_GAPS <= set(POINTWISE)


@pytest.mark.parametrize("op", ["clamp", "clamp_tensor_both", "clamp_min"])
def test_clamp_double_backward_and_tangent(op: str) -> None:
    """Under ``create_graph`` the layout and a second order's values; the tangent's values
    and layout."""

    def run(lib: Any) -> list:
        a = cl_view(lib)
        g = lib.autograd.grad((POINTWISE[op](lib, a) ** 2).sum(), a, create_graph=True)[0]
        return [g, lib.autograd.grad((g * lib.tensor(G)).sum(), a)[0]]

    got, want = run(cr), run(torch)
    assert lay(got[0]) == lay(want[0])
    for g, w in zip(got, want, strict=True):
        values(g, w)

    def tangent(lib: Any) -> Any:
        fwd = lib.autograd.forward_ad
        with fwd.dual_level():
            p = lib.tensor(X.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)
            a = fwd.make_dual(p, lib.tensor(G))
            return fwd.unpack_dual(POINTWISE[op](lib, a)).tangent

    got_t, want_t = tangent(cr), tangent(torch)
    assert lay(got_t) == lay(want_t)
    values(got_t, want_t)


def test_clamp_of_a_zero_dim_tensor() -> None:
    """The mask of a 0-d input stays an array (its gradient and values as PyTorch's)."""
    for v in (0.5, -2.0):

        def run(lib: Any, v: float = v) -> Any:
            a = lib.tensor(v, requires_grad=True)
            return lib.autograd.grad(a.clamp(-1, 1) * 3, a)[0]

        got, want = run(cr), run(torch)
        assert (got.shape, float(got)) == (tuple(want.shape), float(want))


def test_masked_fill_with_a_value_tensor_gradient() -> None:
    def run(lib: Any) -> list:
        a = cl_view(lib)
        v = lib.tensor(0.5, dtype=lib.float64, requires_grad=True)
        y = a.masked_fill(lib.tensor(X) > 0, v)
        return list(lib.autograd.grad((y * lib.tensor(G)).sum(), (a, v)))

    got, want = run(cr), run(torch)
    assert [lay(o) for o in got] == [lay(o) for o in want]
    for g, w in zip(got, want, strict=True):
        values(g, w)


# ---------------------------------------------------------------- addmm
def _mat(lib: Any, a: Any, col: bool) -> Any:
    """``a``'s values as a row- or column-major matrix that requires grad (a view)."""
    if col:
        return lib.tensor(a.T.copy(), requires_grad=True).t()
    return lib.tensor(a, requires_grad=True) * 1


@pytest.mark.parametrize("cols", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("scale", [(1, 1), (0.5, 2.0), (0.0, -1.0)])
@pytest.mark.parametrize("create_graph", [False, True])
def test_addmm_gradients_of_column_major_operands(
    cols: tuple, scale: tuple, create_graph: bool
) -> None:
    beta, alpha = scale
    b0 = _RNG.standard_normal((4, 3))
    c0 = _RNG.standard_normal((5, 3))

    def run(lib: Any) -> list:
        c = lib.tensor(c0, requires_grad=True)
        a, b = _mat(lib, M, cols[0]), _mat(lib, b0, cols[1])
        y = lib.addmm(c, a, b, beta=beta, alpha=alpha)
        w = lib.tensor(np.arange(15.0).reshape(5, 3) / 7)
        gs = list(lib.autograd.grad((y * w).sum(), (c, a, b), create_graph=create_graph))
        if create_graph:
            gs += lib.autograd.grad((gs[1] ** 2).sum() + (gs[2] ** 2).sum(), (a, b))
        return gs

    got, want = run(cr), run(torch)
    assert [lay(o) for o in got] == [lay(o) for o in want]
    for g, w in zip(got, want, strict=True):
        values(g, w)


def test_addmm_grad_fn_and_baddbmm_unchanged() -> None:
    """The node keeps PyTorch's name; ``baddbmm`` (no column-major rule in PyTorch's bmm
    backward) keeps row-major gradients."""
    a = cr.tensor(M.T.copy(), requires_grad=True).t()
    y = cr.addmm(cr.zeros(5, 5, dtype=cr.float64), a, cr.tensor(M.T))
    assert y.grad_fn.name() == "AddmmBackward0"
    b3 = _RNG.standard_normal((2, 5, 4))

    def run(lib: Any) -> Any:
        t = lib.tensor(b3.swapaxes(1, 2).copy(), requires_grad=True).transpose(1, 2)
        z = lib.baddbmm(lib.zeros(2, 5, 5, dtype=lib.float64), t, t.transpose(1, 2))
        return lib.autograd.grad(z.sum(), t)[0]

    got, want = run(cr), run(torch)
    assert lay(got) == lay(want)
    values(got, want)


# ---------------------------------------------------------------- norms
NORMS: dict[str, Any] = {
    "batch_norm": lambda lib, a: F(lib).batch_norm(a, None, None, training=True),
    "batch_norm_affine": lambda lib, a: F(lib).batch_norm(
        a, None, None, lib.linspace(0.5, 2, 4, dtype=a.dtype), None, training=True
    ),
    "group_norm": lambda lib, a: F(lib).group_norm(a, 2),
    "group_norm_affine": lambda lib, a: F(lib).group_norm(
        a, 4, lib.linspace(0.5, 2, 4, dtype=a.dtype), lib.ones(4, dtype=a.dtype)
    ),
    "instance_norm": lambda lib, a: F(lib).instance_norm(a),
    "layer_norm": lambda lib, a: F(lib).layer_norm(a, (5,)),
}


# (batch norm's channels-last input gradient: a strict xfail until session 47)
@pytest.mark.parametrize("op", list(NORMS))
@pytest.mark.parametrize("inp", ["channels_last", "row_major", "transposed"])
def test_norm_input_gradient_layouts(op: str, inp: str) -> None:
    def run(lib: Any) -> Any:
        if inp == "channels_last":
            a = cl_view(lib)
        elif inp == "row_major":
            a = lib.tensor(X, requires_grad=True) * 1
        else:
            a = lib.tensor(X.swapaxes(2, 3).copy(), requires_grad=True).transpose(2, 3)
        return lib.autograd.grad((NORMS[op](lib, a) * lib.tensor(G)).sum(), a)[0]

    got, want = run(cr), run(torch)
    assert lay(got) == lay(want)
    values(got, want, 1e-9)


def test_batch_norm_float32_channels_last_gradient() -> None:
    """The compiled kernel's path (float32) relaid too."""

    def run(lib: Any) -> Any:
        a = lib.tensor(X.transpose(0, 2, 3, 1).astype(np.float32), requires_grad=True)
        a = a.permute(0, 3, 1, 2)
        y = F(lib).batch_norm(a, None, None, training=True)
        return lib.autograd.grad((y * lib.tensor(G.astype(np.float32))).sum(), a)[0]

    got, want = run(cr), run(torch)
    assert lay(got) == lay(want)
    values(got, want, 1e-4)


# ---------------------------------------------------------------- einsum
def _operand(lib: Any, shape: tuple, perm: tuple | None) -> Any:
    a = np.arange(float(np.prod(shape))).reshape(shape) / 7
    if perm is None:
        return lib.tensor(a)
    return lib.tensor(np.ascontiguousarray(a.transpose(perm))).permute(*np.argsort(perm).tolist())


EINSUMS: dict[str, tuple] = {
    "mm_tt": ("ij,jk->ik", [((5, 4), (1, 0)), ((4, 3), (1, 0))]),
    "mm_out_t": ("ij,jk->ki", [((5, 4), None), ((4, 3), None)]),
    "bmm_bkj": ("bij,bkj->bik", [((3, 5, 4), (0, 2, 1)), ((3, 5, 4), None)]),
    "kib": ("bij,kj->kib", [((3, 5, 4), None), ((5, 4), None)]),
    "bki": ("bij,kj->bki", [((3, 5, 4), None), ((5, 4), None)]),
    "bki_swap": ("bij,bjk->bki", [((2, 5, 4), None), ((2, 4, 3), None)]),
    "hadamard_t": ("ij,ij->ij", [((5, 4), (1, 0)), ((5, 4), None)]),
    "conv_like_cl": ("nchw,oc->nohw", [((2, 4, 3, 5), (0, 2, 3, 1)), ((6, 4), None)]),
    "abd_t": ("abc,cd->abd", [((2, 3, 4), (2, 1, 0)), ((4, 5), None)]),
    "outer4": ("ij,kl->ljki", [((2, 3), (1, 0)), ((4, 5), None)]),
    "attention": ("bhqd,bhkd->bhqk", [((2, 3, 4, 5), (0, 2, 1, 3)), ((2, 3, 6, 5), None)]),
    "attention_out": ("bhqk,bhkd->bqhd", [((2, 3, 4, 6), None), ((2, 3, 6, 5), None)]),
    "ellipsis": ("...ij,...jk", [((2, 3, 4), None), ((4, 5), None)]),
    "size_one_contracted": ("ij,jk->ki", [((5, 1), None), ((1, 3), None)]),
    "size_one_batch": ("bij,bjk->bik", [((1, 5, 4), None), ((3, 4, 2), None)]),
    "dca": ("abc,bd->dca", [((2, 3, 4), None), ((3, 5), None)]),
    "upper": ("Ab,bC->CA", [((2, 3), None), ((3, 4), None)]),
    "own_sum": ("ijk,jil->lk", [((2, 3, 4), None), ((3, 2, 5), None)]),
    "vector": ("ij,j->i", [((5, 4), (1, 0)), ((4,), None)]),
    "permute_one": ("ijk->kji", [((2, 3, 4), None)]),
    "chain3": ("ij,jk,kl->il", [((2, 3), None), ((3, 4), None), ((4, 5), None)]),
}
# chain3 (three operands: opt_einsum's path): a strict xfail until session 47


@pytest.mark.parametrize("case", list(EINSUMS))
def test_einsum_results_have_pytorchs_layout(case: str) -> None:
    eq, ops = EINSUMS[case]

    def make(lib: Any) -> Any:
        return lib.einsum(eq, *[_operand(lib, s, p) for s, p in ops])

    got, want = make(cr), make(torch)
    values(got, want, 1e-9)
    assert lay(got) == lay(want)


def test_einsum_result_gradients_and_views() -> None:
    """A relaid result still differentiates as before (values) and views as PyTorch's."""

    def run(lib: Any) -> list:
        a = lib.tensor(M, requires_grad=True)
        b = lib.tensor(M.T.copy(), requires_grad=True)
        y = lib.einsum("ij,jk->ki", a, b)
        return [
            y.view(-1),
            *lib.autograd.grad((y * lib.tensor(np.arange(25.0).reshape(5, 5))).sum(), (a, b)),
        ]

    got, want = run(cr), run(torch)
    for g, w in zip(got, want, strict=True):
        values(g, w, 1e-9)


# ---------------------------------------------------------------- linalg.solve
_SA = _RNG.standard_normal((2, 3, 4, 4)) + 4 * np.eye(4)


@pytest.mark.parametrize(
    "shapes", [((3, 4, 4), (4,)), ((2, 3, 4, 4), (4,)), ((3, 4, 4), (3, 4)), ((4, 4), (4,))]
)
def test_a_vector_broadcast_against_a_batch_solved_as_pytorch(shapes: tuple) -> None:
    """One ``LinalgSolveExBackward0`` node taking the vector itself (broadcast inside, its
    gradient summed back), the solution's vectors as the columns of one matrix; the
    gradients, a second order and the tangents as PyTorch's (layouts and values)."""
    a_shape, b_shape = shapes
    a0 = _SA[(0,) * (4 - len(a_shape))]
    b0 = _RNG.standard_normal(b_shape)
    ta0, tb0 = _RNG.standard_normal(a_shape), _RNG.standard_normal(b_shape)

    def run(lib: Any) -> list:
        a, b = lib.tensor(a0, requires_grad=True), lib.tensor(b0, requires_grad=True)
        x = lib.linalg.solve(a, b)
        nodes = [x.grad_fn.name()] + [type(f).__name__ for f, _ in x.grad_fn.next_functions]
        w = lib.tensor(np.arange(x.numel()).reshape(tuple(x.shape)) / 5.0)
        ga, gb = lib.autograd.grad((x * w).sum(), (a, b), create_graph=True)
        gga = lib.autograd.grad((gb**2).sum(), a)[0]
        fwd = lib.autograd.forward_ad
        tangents = []
        with fwd.dual_level():
            for ta, tb in ((ta0, tb0), (ta0, None), (None, tb0)):
                ad = fwd.make_dual(lib.tensor(a0), lib.tensor(ta)) if ta is not None else a0
                bd = fwd.make_dual(lib.tensor(b0), lib.tensor(tb)) if tb is not None else b0
                y = lib.linalg.solve(lib.as_tensor(ad), lib.as_tensor(bd))
                tangents.append(fwd.unpack_dual(y).tangent)
        return [nodes, x, ga, gb, gga, *tangents]

    got, want = run(cr), run(torch)
    assert got[0] == want[0]
    for g, w in zip(got[1:], want[1:], strict=True):
        assert lay(g) == lay(w)
        values(g, w, 1e-9)
