"""Result layouts, seventh pass, against PyTorch 2.13 (session 43).

- LAPACK's column-major results: ``linalg.inv``, ``solve``, ``qr``, ``svd``, ``eigh``,
  ``eig``, ``cholesky`` (``_ex``), ``lu_factor`` (``_ex``), ``lstsq`` are each matrix
  column-major in PyTorch (batched: ``(..., m, n)`` with strides ``(..., 1, m)``); chainrule
  now computes them so (``ops/_result_layout.column_major``), so ``stride()``,
  ``is_contiguous()``, ``view()``'s refusal, ``numpy()``, ``contiguous()`` and the layout
  of later elementwise results are PyTorch's with no mark;
- channels-last inputs: adaptive pooling, interpolation, reflection / replication padding,
  ``pixel_(un)shuffle``, ``max_unpool2d`` and the input gradients of pooling and
  interpolation are laid out in the input's suggested format, as PyTorch's kernels do
  (``input_format`` / ``in_format``), each where PyTorch does (its 3-d adaptive pooling,
  ``max_unpool3d`` and bicubic / 3-d nearest gradients stay row-major);
- a size-1 dim left by slicing a view of a convolution's result keeps the sliced dim's
  stride; ``untyped_storage()`` / ``storage()`` and ``view(dtype)`` of a convolution's
  result lay it out row-major first (``before_alias``), as ``numpy()`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(43)
M = _RNG.standard_normal((5, 4))
S = M.T @ M + np.eye(4)
B = _RNG.standard_normal((3, 4, 4))
SB = B.transpose(0, 2, 1) @ B + np.eye(4)
TALL = _RNG.standard_normal((2, 6, 3))
C = S + 1j * (_RNG.standard_normal((4, 4)) - _RNG.standard_normal((4, 4)).T)
HC = C @ C.conj().T + 4 * np.eye(4)
X = _RNG.standard_normal((2, 4, 6, 6))
NOT_PD = np.stack([[[1.0, 2.0], [2.0, 1.0]], 2 * np.eye(2)])  # (the first is not definite)
X5 = _RNG.standard_normal((2, 4, 4, 6, 6))


def _lin(lib: Any) -> Any:
    return lib.linalg


LAPACK: dict[str, Any] = {
    "inv": lambda lib: [_lin(lib).inv(lib.tensor(S))],
    "inv_batched": lambda lib: [_lin(lib).inv(lib.tensor(SB))],
    "inv_ex": lambda lib: list(_lin(lib).inv_ex(lib.tensor(SB))),
    "inverse": lambda lib: [lib.inverse(lib.tensor(S))],
    "inv_complex": lambda lib: [_lin(lib).inv(lib.tensor(HC))],
    "solve": lambda lib: [_lin(lib).solve(lib.tensor(S), lib.tensor(M.T[:, :2]))],
    "solve_batched": lambda lib: [_lin(lib).solve(lib.tensor(SB), lib.tensor(B[..., :3]))],
    "solve_one_column": lambda lib: [_lin(lib).solve(lib.tensor(S), lib.tensor(M.T[:, :1]))],
    "solve_vector": lambda lib: [_lin(lib).solve(lib.tensor(S), lib.tensor(M[0]))],
    "solve_left_false": lambda lib: [_lin(lib).solve(lib.tensor(S), lib.tensor(M[:2]), left=False)],
    "solve_ex": lambda lib: list(_lin(lib).solve_ex(lib.tensor(S), lib.tensor(M.T[:, :2]))),
    "qr": lambda lib: list(_lin(lib).qr(lib.tensor(M))),
    "qr_wide": lambda lib: list(_lin(lib).qr(lib.tensor(M.T))),
    "qr_complete": lambda lib: list(_lin(lib).qr(lib.tensor(M), mode="complete")),
    "qr_r": lambda lib: list(_lin(lib).qr(lib.tensor(M), mode="r")),
    "qr_batched": lambda lib: list(_lin(lib).qr(lib.tensor(TALL))),
    "svd": lambda lib: list(_lin(lib).svd(lib.tensor(M), full_matrices=False)),
    "svd_full": lambda lib: list(_lin(lib).svd(lib.tensor(M))),
    "svd_batched": lambda lib: list(_lin(lib).svd(lib.tensor(TALL), full_matrices=False)),
    "svdvals": lambda lib: [_lin(lib).svdvals(lib.tensor(TALL))],
    "eigh": lambda lib: list(_lin(lib).eigh(lib.tensor(S))),
    "eigh_upper_batched": lambda lib: list(_lin(lib).eigh(lib.tensor(SB), UPLO="U")),
    "eigh_complex": lambda lib: list(_lin(lib).eigh(lib.tensor(HC))),
    "eig": lambda lib: list(_lin(lib).eig(lib.tensor(S))),
    "eig_batched": lambda lib: list(_lin(lib).eig(lib.tensor(SB))),
    "cholesky": lambda lib: [_lin(lib).cholesky(lib.tensor(S))],
    "cholesky_upper": lambda lib: [_lin(lib).cholesky(lib.tensor(SB), upper=True)],
    "cholesky_ex": lambda lib: list(_lin(lib).cholesky_ex(lib.tensor(SB))),
    "cholesky_ex_upper": lambda lib: list(_lin(lib).cholesky_ex(lib.tensor(S), upper=True)),
    "cholesky_ex_failed": lambda lib: list(_lin(lib).cholesky_ex(lib.tensor(NOT_PD))),
    "cholesky_ex_failed_upper": lambda lib: list(
        _lin(lib).cholesky_ex(lib.tensor(NOT_PD), upper=True)
    ),
    "torch_cholesky": lambda lib: [lib.cholesky(lib.tensor(S))],
    "lu_factor": lambda lib: list(_lin(lib).lu_factor(lib.tensor(SB))),
    "lu_factor_ex": lambda lib: list(_lin(lib).lu_factor_ex(lib.tensor(S))),
    "lu_factor_wide": lambda lib: list(_lin(lib).lu_factor(lib.tensor(M.T))),
    "lu": lambda lib: list(_lin(lib).lu(lib.tensor(SB))),
    "lstsq": lambda lib: [_lin(lib).lstsq(lib.tensor(S), lib.tensor(M.T[:, :2])).solution],
    "lstsq_tall": lambda lib: [_lin(lib).lstsq(lib.tensor(M), lib.tensor(M[:, :2])).solution],
    "lstsq_tall_batched": lambda lib: [
        _lin(lib).lstsq(lib.tensor(TALL), lib.tensor(TALL[..., :2])).solution
    ],
    "lstsq_wide": lambda lib: [_lin(lib).lstsq(lib.tensor(M.T), lib.tensor(M.T[:, :2])).solution],
    "pinv": lambda lib: [_lin(lib).pinv(lib.tensor(M))],
    "matrix_exp": lambda lib: [_lin(lib).matrix_exp(lib.tensor(S / 10))],
    "det": lambda lib: [_lin(lib).det(lib.tensor(SB))],
}


def lay(t: Any) -> list:
    """Shape, strides and contiguity of ``t``."""
    return [tuple(t.shape), t.stride(), t.is_contiguous()]


def _values(got: list, want: list) -> None:
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-9)


@pytest.mark.parametrize("case", list(LAPACK))
def test_lapack_results_have_pytorchs_strides(case: str) -> None:
    want, got = LAPACK[case](torch), LAPACK[case](cr)
    assert [lay(o) for o in got] == [lay(o) for o in want]
    if case not in ("qr", "qr_wide", "qr_complete", "qr_batched", "eig", "eig_batched"):
        if not case.startswith(("svd", "eigh", "lu")) or case in ("svdvals", "lu"):
            _values(got, want)  # (factors' signs and phases are LAPACK's choice)


def test_batched_vector_solve_strides() -> None:
    """(A strict xfail until session 44: ``tests/ops/test_result_layouts_session44.py``.)"""

    def make(lib: Any) -> Any:
        return _lin(lib).solve(lib.tensor(SB), lib.tensor(B[..., 0]))

    assert make(cr).stride() == make(torch).stride()


def _inv(lib: Any) -> Any:
    return _lin(lib).inv(lib.tensor(S))


def test_a_column_major_result_refuses_view_as_pytorch() -> None:
    """``view(-1)`` of an inverse refuses in both (column-major memory); ``reshape`` copies,
    ``contiguous()`` copies, ``.mT`` is contiguous and views."""
    for lib in (torch, cr):
        y = _inv(lib)
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            y.view(-1)
        assert y.contiguous() is not y
        assert y.mT.is_contiguous() and y.mT.view(-1).shape == (16,)
    np.testing.assert_allclose(
        _inv(cr).reshape(-1).numpy(), _inv(torch).reshape(-1).numpy(), atol=1e-12
    )


def test_numpy_of_a_column_major_result_has_pytorchs_strides() -> None:
    got, want = _inv(cr).numpy(), _inv(torch).numpy()
    assert got.strides == want.strides and got.flags.f_contiguous
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_elementwise_results_of_a_factor_follow_its_layout() -> None:
    """An elementwise op of a column-major factor (and a row-major operand) is laid out by
    PyTorch's elementwise rule: column-major where the factor comes first."""

    def make(lib: Any) -> list:
        y = _inv(lib)
        q = _lin(lib).qr(lib.tensor(M))[0]
        return [y + 1, y.relu(), y * lib.tensor(S), lib.tensor(S) * y, q.exp(), y.sum(0)]

    assert [lay(o) for o in make(cr)] == [lay(o) for o in make(torch)]


@pytest.mark.parametrize("op", ["inv", "solve", "cholesky", "lstsq", "qr", "eigh", "svd"])
def test_gradients_through_column_major_factors(op: str) -> None:
    """Values and gradients unchanged by the layout (PyTorch's, to rounding)."""

    def run(lib: Any) -> Any:
        a = lib.tensor(S, requires_grad=True)
        lin = _lin(lib)
        if op == "inv":
            out = lin.inv(a)
        elif op == "solve":
            out = lin.solve(a, lib.tensor(M.T[:, :2]))
        elif op == "cholesky":
            out = lin.cholesky(a)
        elif op == "lstsq":
            out = lin.lstsq(a, lib.tensor(M.T[:, :2])).solution
        elif op == "qr":
            q, r = lin.qr(a)
            out = q.abs() + r.abs()
        elif op == "eigh":
            out = lin.eigh(a)[0]
        else:
            out = lin.svdvals(a)
        (out * lib.tensor(np.arange(out.numel()).reshape(out.shape) / 7.0)).sum().backward()
        return a.grad

    got, want = run(cr), run(torch)
    assert got.stride() == want.stride()
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-8)


def cl(lib: Any, a: Any) -> Any:
    """``a`` as a channels-last (3d) tensor."""
    fmt = lib.channels_last if a.ndim == 4 else lib.channels_last_3d
    return lib.tensor(a).contiguous(memory_format=fmt)


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def _grad(lib: Any, f: Any, x: Any) -> list:
    """``f(x)`` and the gradient of ``f(x).pow(2).sum()`` for the leaf ``x``."""
    x = x.requires_grad_()
    y = f(x)
    return [y, lib.autograd.grad(y.pow(2).sum(), x)[0]]


def _interp(**kw: Any) -> Any:
    return lambda lib: _grad(lib, lambda x: F(lib).interpolate(x, **kw), cl(lib, X))


CHANNELS_LAST: dict[str, Any] = {
    "adaptive_avg": lambda lib: _grad(lib, lambda x: F(lib).adaptive_avg_pool2d(x, 3), cl(lib, X)),
    "adaptive_avg_uneven": lambda lib: _grad(
        lib, lambda x: F(lib).adaptive_avg_pool2d(x, (4, 5)), cl(lib, X)
    ),
    "adaptive_avg_one": lambda lib: [F(lib).adaptive_avg_pool2d(cl(lib, X), 1)],
    "adaptive_max": lambda lib: _grad(lib, lambda x: F(lib).adaptive_max_pool2d(x, 3), cl(lib, X)),
    "adaptive_max_uneven": lambda lib: _grad(
        lib, lambda x: F(lib).adaptive_max_pool2d(x, (4, 5)), cl(lib, X)
    ),
    "adaptive_max_indices": lambda lib: list(
        F(lib).adaptive_max_pool2d(cl(lib, X), 3, return_indices=True)
    ),
    "max_pool": lambda lib: _grad(lib, lambda x: F(lib).max_pool2d(x, 2), cl(lib, X)),
    "max_pool_padded": lambda lib: _grad(
        lib, lambda x: F(lib).max_pool2d(x, 3, 2, padding=1), cl(lib, X)
    ),
    "avg_pool": lambda lib: _grad(lib, lambda x: F(lib).avg_pool2d(x, 2), cl(lib, X)),
    "nearest": _interp(scale_factor=2),
    "nearest_exact": _interp(size=(5, 7), mode="nearest-exact"),
    "bilinear": _interp(scale_factor=2, mode="bilinear"),
    "bilinear_corners": _interp(size=(3, 4), mode="bilinear", align_corners=True),
    "bilinear_antialias": _interp(size=(3, 4), mode="bilinear", antialias=True),
    "bicubic": _interp(scale_factor=2, mode="bicubic"),
    "bicubic_antialias": _interp(size=(3, 4), mode="bicubic", antialias=True),
    "area": _interp(size=(3, 3), mode="area"),
    "pixel_unshuffle": lambda lib: _grad(lib, lambda x: F(lib).pixel_unshuffle(x, 2), cl(lib, X)),
    "pixel_shuffle": lambda lib: _grad(lib, lambda x: F(lib).pixel_shuffle(x, 2), cl(lib, X)),
    "reflect": lambda lib: _grad(
        lib, lambda x: F(lib).pad(x, (1, 1, 1, 1), mode="reflect"), cl(lib, X)
    ),
    "replicate": lambda lib: _grad(
        lib, lambda x: F(lib).pad(x, (2, 1, 0, 1), mode="replicate"), cl(lib, X)
    ),
    "circular": lambda lib: [F(lib).pad(cl(lib, X), (1, 1, 1, 1), mode="circular")],
    "max_unpool": lambda lib: [
        F(lib).max_unpool2d(*F(lib).max_pool2d(cl(lib, X), 2, return_indices=True), 2)
    ],
    # 5-d channels-last-3d inputs, where PyTorch's rule differs op by op
    "max_pool3d": lambda lib: _grad(lib, lambda x: F(lib).max_pool3d(x, 2), cl(lib, X5)),
    "avg_pool3d": lambda lib: [F(lib).avg_pool3d(cl(lib, X5), 2)],
    "adaptive_avg3d": lambda lib: _grad(
        lib, lambda x: F(lib).adaptive_avg_pool3d(x, 3), cl(lib, X5)
    ),
    "adaptive_avg3d_one": lambda lib: [F(lib).adaptive_avg_pool3d(cl(lib, X5), 1)],
    "adaptive_max3d": lambda lib: [F(lib).adaptive_max_pool3d(cl(lib, X5), 3)],
    "nearest3d": lambda lib: _grad(
        lib, lambda x: F(lib).interpolate(x, scale_factor=2), cl(lib, X5)
    ),
    "trilinear": lambda lib: _grad(
        lib, lambda x: F(lib).interpolate(x, scale_factor=2, mode="trilinear"), cl(lib, X5)
    ),
    "reflect3d": lambda lib: _grad(
        lib, lambda x: F(lib).pad(x, (1,) * 6, mode="reflect"), cl(lib, X5)
    ),
    "max_unpool3d": lambda lib: [
        F(lib).max_unpool3d(*F(lib).max_pool3d(cl(lib, X5), 2, return_indices=True), 2)
    ],
    # row-major inputs stay row-major (the hot path: one flag test)
    "row_major_bilinear": lambda lib: _grad(
        lib, lambda x: F(lib).interpolate(x, scale_factor=2, mode="bilinear"), lib.tensor(X)
    ),
    "row_major_reflect": lambda lib: _grad(
        lib, lambda x: F(lib).pad(x, (1, 1, 1, 1), mode="reflect"), lib.tensor(X)
    ),
    "transposed_input_pool": lambda lib: _grad(
        lib, lambda x: F(lib).adaptive_avg_pool2d(x, 3), lib.tensor(X).transpose(2, 3)
    ),
}


@pytest.mark.parametrize("case", list(CHANNELS_LAST))
def test_channels_last_results_as_pytorch(case: str) -> None:
    want, got = CHANNELS_LAST[case](torch), CHANNELS_LAST[case](cr)
    assert [lay(o) for o in got] == [lay(o) for o in want]
    _values(got, want)


def test_a_convolution_result_through_pooling_keeps_its_marks() -> None:
    """A convolution's channel-major result (marked row-major) is no channels-last input:
    pooling, interpolation and padding of it report PyTorch's row-major strides."""

    def make(lib: Any) -> list:
        y = F(lib).conv2d(lib.tensor(X), lib.tensor(_RNG_W))
        return [
            F(lib).adaptive_avg_pool2d(y, 2),
            F(lib).interpolate(y, scale_factor=2, mode="bilinear"),
            F(lib).pad(y, (1, 1, 1, 1), mode="reflect"),
            F(lib).pixel_unshuffle(y, 2),
        ]

    got, want = make(cr), make(torch)
    assert [lay(o) for o in got] == [lay(o) for o in want]
    _values(got, want)


_RNG_W = np.random.default_rng(7).standard_normal((6, 4, 3, 3))


def test_pixel_shuffle_of_a_channels_last_3d_input_refuses() -> None:
    """(A strict xfail until session 44.)"""
    with pytest.raises(RuntimeError, match="Unsupported memory format"):
        F(cr).pixel_shuffle(cl(cr, X5), 2)


def test_double_backward_pool_gradient_layout() -> None:
    """(A strict xfail until session 44: IndexUnpool lays dx out in x's format.)"""

    def make(lib: Any) -> Any:
        x = cl(lib, X).requires_grad_()
        y = F(lib).adaptive_max_pool2d(x, 3)
        return lib.autograd.grad(y.pow(2).sum(), x, create_graph=True)[0]

    assert lay(make(cr)) == lay(make(torch))


def _conv(lib: Any) -> Any:
    """A (2, 6, 4, 4) convolution result (channel-major memory in chainrule)."""
    return F(lib).conv2d(lib.tensor(X), lib.tensor(_RNG_W))


SIZE_ONE: dict[str, Any] = {
    "slice_of_slice": lambda y: y[:, 2:5][1:],
    "slice_select": lambda y: y[:, 2:5][1:, :, 2],
    "transpose_slice": lambda y: y.transpose(0, 1)[:, 1:],
    "step_slice": lambda y: y[:, ::6],
    "diagonal_of_slice": lambda y: y[:1].diagonal(0, 2, 3),
    "narrow": lambda y: y.narrow(1, 3, 1),
    "select_slice": lambda y: y[1][2:3],
    "select_unsqueeze": lambda y: y[:, 3].unsqueeze(1),
    "slice_of_one_batch": lambda y: y[:1][:, 3:4],
    "slice_then_index": lambda y: y[1:][:, 2:3, 1],
    **{f"unsqueeze{d}": (lambda y, d=d: y.unsqueeze(d)) for d in range(5)},
    **{f"unsqueeze{d}_of_slice": (lambda y, d=d: y[:, 1:4].unsqueeze(d)) for d in range(5)},
    **{f"none{d}": (lambda y, d=d: y[(slice(None),) * d + (None,)]) for d in range(4)},
    **{
        f"slice_to_one{d}": (lambda y, d=d: y[(slice(None),) * d + (slice(1, 2),)])
        for d in range(4)
    },
    **{
        f"slice_to_one{d}_of_slice": (lambda y, d=d: y[:, 2:5][(slice(None),) * d + (slice(1, 2),)])
        for d in range(4)
    },
}


@pytest.mark.parametrize("case", list(SIZE_ONE))
def test_size_one_dims_of_views_of_a_convolution(case: str) -> None:
    """A size-1 dim a slice leaves keeps the sliced dim's stride (times its step), one an
    unsqueeze adds takes ``unsqueeze``'s rule, as PyTorch's."""
    got, want = SIZE_ONE[case](_conv(cr)), SIZE_ONE[case](_conv(torch))
    assert lay(got) == lay(want)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", ["untyped_storage", "storage"])
def test_a_storage_of_a_convolution_result_leaves_it_viewable(kind: str) -> None:
    """``untyped_storage()`` / ``storage()`` lay the result out row-major first, as
    ``numpy()``: then ``view(2, -1)`` works as PyTorch's (it refused: the memory had been
    handed out) and the storage is the tensor's memory."""
    y = _conv(cr)
    with pytest.warns(UserWarning) if kind == "storage" else _no_warning():
        st = getattr(y, kind)()
    flat = y.view(2, -1)
    assert flat.stride() == _conv(torch).view(2, -1).stride()
    assert st.data_ptr() == y.data_ptr() and y.stride() == (96, 16, 4, 1)
    np.testing.assert_allclose(flat.numpy(), _conv(torch).view(2, -1).numpy(), atol=1e-12)


class _no_warning:  # noqa: N801 - a context manager used as a blank
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


def test_a_dtype_view_with_another_element_size_stays_an_alias() -> None:
    """``view(int32)`` of a convolution's result (float64): PyTorch's strides, and a write
    through the result after a relayout shows in it."""
    y = _conv(cr)
    halves = y.view(cr.int32)
    assert halves.stride() == _conv(torch).view(torch.int32).stride()
    y.view(2, -1)
    with cr.no_grad():
        y.zero_()
    assert not halves.numpy().any()


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_solve_triangular_solution_is_column_major_as_torch(left: bool, batch: tuple) -> None:
    """PyTorch's triangular solve returns a column-major solution from either side (its
    ``linalg.solve(left=False)`` is row-major: a different kernel)."""
    r = np.triu(np.arange(1.0, 10.0).reshape(3, 3)) + 2 * np.eye(3)
    b = np.arange(6.0).reshape(3, 2) if left else np.arange(6.0).reshape(2, 3)
    r, b = np.broadcast_to(r, (*batch, 3, 3)).copy(), np.broadcast_to(b, (*batch, *b.shape)).copy()
    got = cr.linalg.solve_triangular(cr.tensor(r), cr.tensor(b), upper=True, left=left)
    want = torch.linalg.solve_triangular(torch.tensor(r), torch.tensor(b), upper=True, left=left)
    assert got.stride() == want.stride()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
