"""Session 47's core fuzzer findings (``s47_steps.py``, seeds 1020-1023) and the leftovers of
session 46: ``nll_loss`` / ``cross_entropy`` refuse class weights that require grad (PyTorch's
autograd words) and take a tangent of the weight alone without crashing; ``grid_sample``'s
grid gradient at non-finite grid points (NaN in the other coordinate for bilinear, in both
for bicubic, whatever the output gradient) and its ``create_graph`` rule at such points and at
clipped infinite ones; the node names of 0-d running sums / extremes and of ``dist(p=0)``;
``dist``'s error on empty input with no identity; ``layer_norm``'s rebuilt gradients tied to
the weight under ``create_graph``; ``lstsq`` refusing a NaN right-hand side. Then the known
differences left at singular matrices."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from ._found import same, tensor
from .hunt import check
from .programs import Program, Step

__all__: list[str] = []

_INF, _NAN = float("inf"), float("nan")


def _raises_alike(program) -> None:
    """Both libraries raise, with one exception type and first line."""
    errors = []
    for lib in (torch, cr):
        with pytest.raises(Exception) as info:  # noqa: PT011 - compared below
            program(lib)
        errors.append(info.value)
    t, c = errors
    assert isinstance(c, type(t)) or type(t).__name__ == type(c).__name__, (t, c)
    assert str(c).splitlines()[0] == str(t).splitlines()[0]


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 2)])
@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_class_weight_requiring_grad_is_refused(name, shape):
    def program(lib):
        x = lib.zeros(shape, dtype=lib.float64)
        t = lib.zeros((shape[0], *shape[2:]) if len(shape) > 1 else (), dtype=lib.int64)
        w = lib.ones(3, dtype=lib.float64, requires_grad=True)
        return getattr(lib.nn.functional, name)(x, t, w)

    _raises_alike(program)


def test_class_weight_requiring_grad_under_no_grad():
    def program(lib):
        x = tensor(lib, [[0.1, -0.5, 2.0], [1.0, 0.0, -1.0]])
        w = lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64, requires_grad=True)
        with lib.no_grad():
            return [lib.nn.functional.nll_loss(x, lib.tensor([0, 2]), w)]

    same(program)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_tangent_of_the_class_weight_alone(name, reduction):
    # PyTorch's rule has no weight tangent: none out (forward_ad), zeros (func.jvp)
    def program(lib):
        x = lib.tensor([[0.1, -0.5, 2.0], [1.0, 0.0, -1.0]], dtype=lib.float64)
        w = lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64)
        tw = lib.ones(3, dtype=lib.float64)
        f = getattr(lib.nn.functional, name)
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            out = fwad.unpack_dual(
                f(x, lib.tensor([0, 2]), fwad.make_dual(w, tw), reduction=reduction)
            )
        assert out.tangent is None
        return [out.primal, *lib.func.jvp(lambda w: f(x, lib.tensor([0, 2]), w), (w,), (tw,))]

    same(program)


def test_seed_31243_class_weight_from_a_primal_under_func_jvp():
    # torch.func's tensors inside jvp do not require grad: no refusal there (chainrule's
    # recording pass marks them, which the refusal must not read)
    _check(
        Program(
            leaves=(((), False, False, "float64"), ((), True, False, "float64")),
            steps=(
                Step("fold_edge", (0, 0, 0, 0, 0), -1.5),
                Step("nll_edge", (0, 0, 0, 0, 0), 0.5),
                Step("nll_edge", (0, 10, 11, 0, 0), 0.25),
            ),
            seed=31243,
        )
    )


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("point", [(_INF, 0.3), (_NAN, 0.3), (0.3, -_INF), (1e30, 0.3)])
@pytest.mark.parametrize("g", [1.0, 0.0])
def test_grid_sample_grid_gradient_at_non_finite_points(mode, point, g):
    def program(lib):
        x = lib.arange(6, dtype=lib.float64).reshape(1, 1, 2, 3).requires_grad_()
        grid = tensor(lib, [[[[0.1, -0.2], list(point)]]])
        y = lib.nn.functional.grid_sample(x, grid, mode=mode, align_corners=False)
        gy = lib.tensor([[[[1.0, g]]]], dtype=lib.float64)
        return [y, *lib.autograd.grad(y, (x, grid), gy)]

    same(program)


@pytest.mark.parametrize(
    ("point", "padding"),
    [((_INF, 0.3), "zeros"), ((-_INF, 0.3), "border"), ((0.2, _INF), "border")],
)
def test_grid_sample_create_graph_at_infinite_points(point, padding):
    # the rebuilt (create_graph) rule: a clipped point's grid is left out (0 * inf), an
    # infinite coordinate's taps are masked out (seeds 15752, 24327)
    def program(lib):
        x = lib.arange(6, dtype=lib.float64).reshape(1, 1, 2, 3).requires_grad_()
        grid = tensor(lib, [[[[0.1, -0.2], list(point)]]])
        y = lib.nn.functional.grid_sample(x, grid, padding_mode=padding, align_corners=False)
        w = lib.tensor([[[[1.0, 0.5]]]], dtype=lib.float64)
        gx, gg = lib.autograd.grad((lib.nan_to_num(y, 7.0) * w).sum(), (x, grid), create_graph=True)
        return [gx, gg]

    same(program)


def _check(prog: Program) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check(prog) is None


def test_seed_44516_grid_sample_at_an_infinite_point_in_a_program():
    _check(
        Program(
            leaves=(((3, 1, 3), True, False, "float64"), ((), False, False, "float64")),
            steps=(
                Step("where_b", (0, 0, 0, 0, 1), 0.25),
                Step("complex_view", (2, 0, 0, 0, 0), 0.25),
                Step("grid_edge", (2, 0, 2, 0, 0), 0.25),
            ),
            seed=44516,
        )
    )


@pytest.mark.parametrize("name", ["sgn", "angle", "abs"])
def test_complex_second_derivative_at_zero(name):
    # PyTorch's sgn / angle gradients are where(z == 0, 0, (...) / |z|^k): a second backward
    # sends the selected zero through the division (NaN at z == 0; chainrule's safe
    # denominators gave 0; core seed 1024); abs's is grad * sgn(z): 0 there in both
    def program(lib):
        z = lib.tensor([0j, 1 + 2j, 0j], dtype=lib.complex128, requires_grad=True)
        w = tensor(lib, [1.0, 2.0, 3.0])
        out = getattr(lib, name)(z)
        out = lib.view_as_real(out) if out.is_complex() else out.unsqueeze(-1)
        y = (out * w.unsqueeze(-1)).sum()
        gz, gw = lib.autograd.grad(y, (z, w), create_graph=True)
        r = lib.view_as_real(gz)
        h = lib.autograd.grad((r**2).sum() + (gw**2).sum() + r.sum(), (z, w), allow_unused=True)
        return [r, gw, *(lib.view_as_real(t) if t.is_complex() else t for t in h)]

    same(program)


def test_seed_53468_sgn_of_zero_twice_in_a_program():
    _check(
        Program(
            leaves=(((), False, False, "float64"), ((2, 2), True, False, "float64")),
            steps=(
                Step("complex_edge", (0, 5, 0, 0, 6), 2.0),
                Step("layer_norm", (2, 2, 0, 0, 7), -1.5),
            ),
            seed=53468,
            double=True,
        )
    )


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, 0.0, _INF])
@pytest.mark.parametrize("g", [_INF, _NAN])
def test_pdist_gradient_at_a_zero_distance_with_a_non_finite_gradient(p, g):
    # PyTorch's kernel selects 0 for a pair at distance 0 (its sign is multiplied at p = 1
    # and inf: NaN there); chainrule multiplied everywhere (core seed 1027)
    def program(lib):
        x = tensor(lib, [[0.3, 1.0], [0.3, 1.0], [1.0, 1.0], [0.3, 2.0]])
        y = lib.pdist(x, p=p)
        return [y, *lib.autograd.grad(y, x, tensor(lib, [g, 1.0, 1.0, 1.0, 1.0, 1.0], False))]

    same(program)


@pytest.mark.parametrize("name", ["cumsum", "logcumsumexp", "cummax", "cummin"])
def test_zero_dim_scan_node_names(name):
    for lib in (torch, cr):
        x = tensor(lib, 2.0)
        y = getattr(lib, name)(x, -1)
        y = y[0] if name in ("cummax", "cummin") else y
        assert type(y.grad_fn).__name__ == name.capitalize() + "Backward0"
        assert y.grad_fn._saved_dim == 2**64 - 1  # -1, as PyTorch's uint64 field shows it

    def program(lib):
        x = tensor(lib, 2.0)
        y = getattr(lib, name)(x, 0)
        y = y[0] if name in ("cummax", "cummin") else y
        (g,) = lib.autograd.grad(y * 3.0, x, create_graph=True)
        return [y, g]

    same(program)


def test_dist_p0_node_name():
    for lib in (torch, cr):
        a, b = tensor(lib, [1.0, 2.0]), tensor(lib, [1.0, 3.0])
        d = lib.dist(a, b, 0)
        assert type(d.grad_fn).__name__ == "DistBackward0"
        assert d.item() == 1.0


@pytest.mark.parametrize("p", [_INF, -_INF, -1, -1.5])
def test_dist_of_empty_tensors_without_identity(p):
    _raises_alike(lambda lib: lib.dist(lib.ones(0), lib.ones(1), p))


def test_layer_norm_weight_gradient_requires_grad_under_create_graph():
    # torch's NativeLayerNormBackwardBackward0 takes the weight: its gradients require grad
    # (a second derivative of zeros, not "does not require grad"; session 46's report)
    def program(lib):
        w = tensor(lib, [0.5, 0.25, 2.0])
        x = lib.full((2, 3), 2.0, dtype=lib.float64)
        (g,) = lib.autograd.grad(
            lib.nn.functional.layer_norm(x, (3,), w).sum(), w, create_graph=True
        )
        assert g.requires_grad
        (h,) = lib.autograd.grad((g * g).sum(), w, allow_unused=True, materialize_grads=True)
        return [g, h]

    same(program)


def test_lstsq_with_nan_in_the_right_hand_side_raises():
    def program(lib):
        a = lib.tensor([[1.0, 2.0], [3.0, 1.0], [1.0, 1.0]])
        b = lib.tensor([[_NAN], [1.0], [2.0]])
        return lib.linalg.lstsq(a, b)

    for lib in (torch, cr):
        with pytest.raises(RuntimeError):
            program(lib)


@pytest.mark.xfail(
    strict=True,
    reason="nll_loss 'mean' with every target ignored (total weight 0): torch's double backward "
    "is nll_loss(ggI) / 0, NaN, chainrule's 0; steered in s47_steps.nll_edge",
)
def test_nll_loss_second_derivative_with_every_target_ignored():
    def program(lib):
        x = tensor(lib, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
        loss = lib.nn.functional.nll_loss(x, lib.tensor([2, 2]), ignore_index=2)
        w = tensor(lib, 2.0)
        (g,) = lib.autograd.grad(loss * w, x, create_graph=True)
        return list(lib.autograd.grad(g.sum(), w))

    same(program)


_SINGULAR = np.array([[2.0, 1.0], [2.0, 1.0]])


@pytest.mark.xfail(
    strict=True,
    reason="slogdet's gradient at an exactly singular matrix: torch's LU solve gives inf/NaN, "
    "chainrule raises LinAlgError (its inverse refuses); steered in s47_steps.linalg_ill",
)
def test_slogdet_gradient_at_a_singular_matrix():
    def program(lib):
        a = tensor(lib, _SINGULAR)
        return list(lib.autograd.grad(lib.linalg.slogdet(a)[1], a))

    same(program)


@pytest.mark.xfail(
    strict=True,
    reason="qr's gradient where R is singular: torch's triangular solve gives inf/NaN, "
    "chainrule's general solve raises LinAlgError; steered in s47_steps.linalg_ill",
)
def test_qr_gradient_of_a_singular_matrix():
    def program(lib):
        a = tensor(lib, _SINGULAR)
        q, r = lib.linalg.qr(a)
        return list(lib.autograd.grad(q.sum() + r.sum(), a))

    same(program)


@pytest.mark.xfail(
    strict=True,
    reason="solve_triangular with a zero on the diagonal: torch's substitution gives inf/NaN, "
    "chainrule raises LinAlgError",
)
def test_solve_triangular_with_a_zero_pivot():
    same(
        lambda lib: [
            lib.linalg.solve_triangular(
                tensor(lib, [[2.0, 1.0], [0.0, 0.0]], False), tensor(lib, np.eye(2), False),
                upper=True,
            )
        ]
    )  # fmt: skip
