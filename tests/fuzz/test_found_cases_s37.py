"""Session 37 of the random-program fuzzer (seeds 912-917, the new kinds of
:mod:`tests.fuzz.s37_steps`): the discrepancies with torch 2.13 found, as plain regression
tests in the style of ``test_found_cases_r12.py``; known differences are
``xfail(strict=True)`` with the reason (the steps steer around them, as their comments say)."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

from ._compare import same
from ._found import forward

__all__: list[str] = []


# --- fixed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x, b: L.prod(x, out=b),
        lambda L, x, b: L.sum(x, out=b),
        lambda L, x, b: L.sum(x, keepdim=True, out=b),
        lambda L, x, b: L.median(x, out=b),
        lambda L, x, b: L.nanmedian(x, out=b),
        lambda L, x, b: L.prod(x, dim=None, out=b),
        lambda L, x, b: L.median(x, None, out=b),
    ],
)
def test_full_reduction_out_is_refused(call):
    """PyTorch's sum/prod/median/nanmedian take out= only in their overload with a dim (a
    TypeError from its parser); chainrule wrote the full reduction into out (seed 912)."""
    for L in (torch, cr):
        x = L.tensor([1.5, 2.0, -0.5], dtype=L.float64)
        b = L.empty(0, dtype=L.float64)
        with pytest.raises(TypeError):
            call(L, x, b)
        assert b.numel() == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x, b: L.sum(x, None, out=b),
        lambda L, x, b: L.sum(x, (), out=b),
        lambda L, x, b: L.sum(x, 0, out=b),
        lambda L, x, b: L.prod(x, 0, out=b),
        lambda L, x, b: L.nansum(x, out=b),
    ],
)
def test_reduction_out_with_a_dim_still_writes(call):
    def prog(L):
        x = L.tensor([1.5, 2.0, -0.5], dtype=L.float64)
        b = L.empty(0, dtype=L.float64)
        call(L, x, b)
        return [b]

    same(prog)


def test_forward_tangent_of_a_0d_view_written_through_a_view():
    """A 0-d view written in place through another view: the base's tangent part was
    re-taken as a NumPy scalar, which the next op's tangent rule took for a number
    (AttributeError 'numpy.float64' object has no attribute '_data'; seed 913)."""

    def prog(L, x):
        y = x.reshape(-1).clone().reshape(())
        y[...].mul_(0.5)
        return L.maximum(y, y * 0.2) + y.view(()) * 3

    same(lambda L: forward(L, prog, 0.7, -0.5))


def test_jvp_of_a_view_returned_after_writing_through_another_view():
    """``func.jvp`` of a function returning a view whose base it wrote through another
    view afterwards: the output's tangent was read without re-taking it from the base (the
    tangent before the write; seed 913)."""

    def f(x):
        y = x.reshape(-1).clone().reshape(())
        v = y[...]
        v.mul_(0.5)
        return y

    def g(x):
        b = x.reshape(2, 1).clone()
        y = b[0]
        y[0:1].mul_(0.5)
        return y

    def prog(L):
        one = L.func.jvp(f, (L.tensor(0.7, dtype=L.float64),), (L.tensor(-0.5, dtype=L.float64),))
        two = L.func.jvp(
            g, (L.tensor([0.7, 1.0], dtype=L.float64),), (L.tensor([-0.5, 2.0], dtype=L.float64),)
        )
        return [*one, *two]

    same(prog)


@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("values", [0.5, [1.0, 0.0], [[1.0, 2.0]]])
def test_full_all_any_result_is_writable(op, values):
    """all()/any() over every element returned NumPy's read-only scalar as the tensor's
    array: writing into the result (``y[()] = ...``) raised (seed 922)."""

    def prog(L):
        y = getattr(L, op)(L.tensor(values, dtype=L.float64))
        y[()] = not bool(y)
        z = getattr(L, op)(L.tensor(values, dtype=L.float64), ())
        z.logical_not_()
        return [y, z]

    same(prog)


# --- known differences, steered around by the steps ------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's var/std over dim=() reduce every element, but their backward takes "
    "() as no dim (N = 1): var's gradient is N times too large, std's infinite; chainrule's "
    "is the full reduction's (s37_steps.py reduce_tuple uses None instead)",
)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_over_empty_dims_gradient(op):
    def prog(L):
        x = L.tensor([1.0, 2.0, 4.0], dtype=L.float64, requires_grad=True)
        y = getattr(L, op)(x, ())
        y.backward()
        return [y, x.grad]

    same(prog)


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's logsumexp over dim=() without keepdim fails its own broadcast "
    "('output with shape [] doesn't match the broadcast shape [1, 1]'), chainrule reduces "
    "every element (s37_steps.py reduce_tuple: every dim listed instead)",
)
def test_logsumexp_over_empty_dims():
    def prog(L):
        return [L.logsumexp(L.ones(2, 3, dtype=L.float64), ())]

    same(prog)


@pytest.mark.xfail(
    strict=True,
    reason="inside func.jvp where another primal requires grad, chainrule's stand-in for a "
    "primal that does not require grad requires grad, so an in-place op on one of split()'s "
    "views of its copy is refused ('one of several views returned by split'); torch "
    "computes it (s37_steps.py vov_inplace uses narrow)",
)
def test_inplace_on_a_split_view_inside_jvp_with_a_grad_primal():
    def f(x, w):
        y = x.clone()
        y.split(1, 0)[0].mul_(2)
        return y, w * 2

    def prog(L):
        x = L.tensor([0.7, 0.2], dtype=L.float64)
        w = L.tensor(0.3, dtype=L.float64, requires_grad=True)
        t = (L.tensor([-0.5, 1.0], dtype=L.float64), L.tensor(1.0, dtype=L.float64))
        out, tan = L.func.jvp(f, (x, w), t)
        return [*out, *tan]

    same(prog)


def test_vmap_of_a_descending_sort_with_a_nan():
    # ops/search.py _descending_order's NaN-first reordering called take_along_axis on the
    # batched array, which has no per-sample form: argsorts of ranks under vmap now
    def prog(L):
        m = L.tensor([[1.0, float("nan"), 0.5], [2.0, 1.0, 3.0]], dtype=L.float64)
        return [
            L.func.vmap(lambda r: r.sort(descending=True).values)(m),
            L.func.vmap(lambda r: r.sort(descending=True).indices)(m),
            L.func.vmap(lambda r: r.topk(2).values)(m),
            L.func.vmap(lambda r: r.argsort(dim=0, descending=True), in_dims=1)(m),
        ]

    same(prog)
