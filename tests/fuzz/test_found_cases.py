"""Discrepancies with torch found by the random-program fuzzer, as plain regression tests.

Each case is a small explicit program run on torch and on chainrule (``lib``); what it
returns (tensors, gradients, flags) or the fact that it raises must agree. The cases still
open (known differences, referred to by the step modules) are here; the fixed ones are in
``test_found_cases_views.py`` (views, in place, aliasing, layouts),
``test_found_cases_forward.py`` (dtypes, forward mode, NaN gradients) and
``test_found_cases_nn.py`` (``nn.functional``, rounds 3 and 4); cases still open
are ``xfail(strict=True)`` with the difference in the reason.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ._found import same as _same
from ._found import tensor as _t

__all__: list[str] = []


# --- still open --------------------------------------------------------------------------


def test_setitem_into_a_row_of_an_expanded_tensor_while_recording():
    # fixed in session 38: setitem into a self-overlapping view writes through the
    # sub-view x[idx] (ops/inplace_overlap.setitem_through_subview), as torch's
    def program(lib):
        a = _t(lib, 0.3)
        y = a.exp().expand(2)
        y[0:1] = 0.5
        return [y]

    _same(program)


def test_matmul_of_mixed_float_dtypes_raises():
    _same(lambda lib: [_t(lib, [1.0, 2.0]).float() @ _t(lib, [1.0, 2.0])])


def test_view_of_a_shared_reduction_of_a_transposed_tensor():
    def program(lib):
        x = lib.tensor(np.arange(4.0).reshape(1, 2, 2)).mT
        s = x.sum(0, keepdim=True)
        s.numpy()
        return [s.view(-1)]

    _same(program)


def test_double_backward_through_x_times_x_data():
    def program(lib):
        b = _t(lib, 0.7)
        (g,) = lib.autograd.grad(b * b.data + b.exp(), b, create_graph=True)
        (g * g).backward()
        return [g, b.grad]

    _same(program)


def test_reshape_of_a_cat_of_transposed_tensors_is_a_view():
    def program(lib):
        x = lib.tensor(np.arange(4.0).reshape(2, 2)).mT
        y = lib.cat([x, x], 0)
        flat = y.reshape(-1)
        y.add_(0.5)
        return [flat]

    _same(program)


@pytest.mark.xfail(
    strict=True,
    reason="copy_ of an expanded tensor into itself: torch allows it (nothing changes), "
    "chainrule refuses the expanded target (src/chainrule/ops/inplace.py)",
)
def test_copy_of_an_expanded_tensor_into_itself():
    def program(lib):
        y = _t(lib, [1.0]).exp().expand(2)
        y.copy_(y)
        return [y]

    _same(program)


def test_clone_of_a_view_whose_base_now_requires_grad():
    def program(lib):
        a = _t(lib, 0.3)
        b = lib.tensor([0.5, 0.2])
        v = b[0:1]
        b[0] = a * 2
        c = v.clone()
        return [c.requires_grad]

    _same(program)


@pytest.mark.xfail(
    strict=True,
    reason="a batched right operand changed in place after a 1-d/2-d @ batched matmul: "
    "torch's matmul folds that case through a transposed copy of the right operand, saves "
    "the copy, and so gives the (right) gradient; chainrule saves the operand itself and "
    "raises the in-place error (the fuzzer steers around this pattern)",
)
def test_batched_right_operand_changed_after_matmul():
    def program(lib):
        a = _t(lib, [[1.0, 2.0], [3.0, 4.0]])
        b = _t(lib, np.arange(8.0).reshape(2, 2, 2)) * 1
        y = a @ b
        b.add_(1)
        y.sum().backward()
        return [a.grad]

    _same(program)


def test_double_backward_of_a_norm_at_zero():
    # was a known difference (chainrule 0): Norm2's create_graph backward is now torch's
    # norm_backward op for op, NaN at a zero norm (test_found_cases_s45.py for more)
    def program(lib):
        x = _t(lib, [0.0, 0.0])
        (g,) = lib.autograd.grad(x.norm(), x, create_graph=True)
        (g * g).sum().backward()
        return [g, x.grad]

    _same(program)


@pytest.mark.xfail(
    strict=True,
    reason="an in-place op of x reading x's own elements through a view whose strides "
    "differ only in a size-1 dim (a.unsqueeze(0).diagonal()): torch calls it a partial "
    "overlap and raises, chainrule sees the same elements element for element and computes "
    "(src/chainrule/ops/inplace.py check_partial_overlap, which ignores size-1 strides "
    "because its expand lays them out as 0 where torch keeps them); the fuzzer steers "
    "around it (programs.py _unaliased)",
)
def test_inplace_reading_itself_through_a_size_one_diagonal():
    def program(lib):
        a = _t(lib, [0.5], rg=False)
        a.add_(a.unsqueeze(0).diagonal(), alpha=0.5)
        return [a]

    _same(program)


@pytest.mark.parametrize(  # (fixed in session 34: written through, with torch's warning)
    "write",
    [
        lambda lib, e: e.index_fill_(0, lib.tensor([0]), 2.0),
        lambda lib, e: e.masked_fill_(lib.tensor([True, False]), 2.0),
    ],
)
def test_fill_into_an_expanded_tensor(write):
    def program(lib):
        s = _t(lib, 0.5, rg=False)
        e = s.expand(2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's deprecation warning
            write(lib, e)
        return [s, e]

    _same(program)


def test_broadcast_to_the_same_shape_is_a_new_view():  # (fixed in session 33)
    _same(lambda lib: [lib.broadcast_to(_t(lib, [1.0, 2.0]), (2,)).is_leaf])


@pytest.mark.xfail(
    strict=True,
    reason="copy_ into x from a broadcast read of x's own memory that is not dense "
    "(x.copy_(x[:, 0])): torch copies element by element and reads elements it already "
    "overwrote (an order-dependent answer), chainrule reads the whole source first; the "
    "fuzzer steers around it (programs.py _unaliased)",
)
def test_copy_from_a_broadcast_column_of_itself():
    def program(lib):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        a.copy_(a[:, 0])
        return [a]

    _same(program)
