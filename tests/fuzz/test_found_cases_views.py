"""Fuzzer findings (split from ``test_found_cases.py``), fixed: views, in-place ops and
their aliasing, ``retain_grad``, 0-d gather/scatter and result layouts. Each case is a
small program run on torch and chainrule whose results (or raising) must agree."""

from __future__ import annotations

import numpy as np
import pytest

from ._found import same as _same
from ._found import tensor as _t

__all__: list[str] = []


# --- fixed: src/chainrule/ops/views.py ---------------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,)])
def test_transpose_and_t_of_a_low_dim_tensor_are_new_views(shape):
    def program(lib):
        x = _t(lib, np.ones(shape))
        outs = [x.transpose(0, -1), x.t()]
        return [y.is_leaf for y in outs] + [y.grad_fn is None for y in outs]

    _same(program)


def test_expand_to_the_same_shape_is_a_new_view():
    _same(lambda lib: [_t(lib, [1.0, 2.0]).expand(2).is_leaf])


@pytest.mark.parametrize("method", ["permute", "expand", "reshape", "view"])
def test_shape_methods_without_sizes_raise(method):
    _same(lambda lib: [getattr(_t(lib, 1.0), method)()])


# --- fixed: src/chainrule/autograd/view_replay.py (check_view_write) ----------------------


def test_inplace_on_a_view_of_a_leaf_made_from_a_view_raises():
    def program(lib):
        leaf = lib.tensor(np.ones((2, 2))).mT.requires_grad_()
        leaf.t().add_(1.0)
        return [leaf]

    _same(program)


# --- fixed: src/chainrule/ops/inplace.py and subscript.py (aliasing arguments) ------------


@pytest.mark.parametrize(
    "write",
    [
        lambda y: y.mul_(y),  # y's rule saved y: backward must raise
        lambda y: y.mul_(y.detach()),
        lambda y: y[0].mul_(y[1]),
        lambda y: y.detach().mul_(y),  # the target does not require grad: fine
        lambda y: y.mul_(y.t()),  # partial overlap: raises at once
        lambda y: y.view(-1)[:3].add_(y.view(-1)[1:]),  # partial overlap
        lambda y: y[:, 0].mul_(y[:, 1]),  # disjoint: allowed, but y[:, 1] was saved
    ],
)
def test_inplace_with_an_argument_aliasing_the_target(write):
    def program(lib):
        a = _t(lib, [[1.0, 2.0], [3.0, 4.0]])
        y = a * 1
        write(y)
        (y * _t(lib, [[1.0, 2.0], [3.0, 5.0]], False)).sum().backward()
        return [y, a.grad]

    _same(program)


@pytest.mark.parametrize("rows", [(slice(0, 2), slice(1, 3)), (slice(0, 1), slice(2, 3))])
def test_setitem_from_an_overlapping_or_disjoint_part_of_itself(rows):
    def program(lib):
        y = lib.tensor(np.arange(9.0).reshape(3, 3))
        y[rows[0]] = y[rows[1]]
        return [y]

    _same(program)


def test_inplace_on_an_expanded_view_of_a_non_contiguous_result():
    def program(lib):
        a = lib.tensor(np.arange(4.0).reshape(2, 2)).mT.detach().requires_grad_()
        y = a.exp()
        y.expand(1, 2, 2).add_(1.0)
        y.expand(2, 2).mul_(2.0)
        y.sum().backward()
        return [y, a.grad]

    _same(program)


# --- fixed: src/chainrule/autograd/tensor.py (detach) -------------------------------------


def test_double_backward_through_x_times_x_detached():
    def program(lib):
        b = _t(lib, 0.7)
        (g,) = lib.autograd.grad(b * b.detach() + b.exp(), b, create_graph=True)
        (g * g).backward()
        return [g, b.grad]

    _same(program)


# --- fixed: src/chainrule/autograd/engine.py (sum of 0-d gradients) ----------------------


def test_zero_dim_setitem_with_two_consumers():
    def program(lib):
        a = _t(lib, 0.3)
        y = a.sin()
        y[()] = 0.5
        (y * 0.4 + y.exp()).backward()
        return [a.grad]

    _same(program)


# --- fixed: retain_grad and in-place (inplace.py, view_replay.py, tensor.py) -------------


def test_retain_grad_follows_an_inplace_op():
    def program(lib):
        a = _t(lib, [0.3, 0.4])
        y = a.sin()
        y.retain_grad()
        y.mul_(0.5)
        (y * _t(lib, [1.0, 2.0], False)).sum().backward()
        return [y.grad, a.grad]

    _same(program)


def test_retained_base_sees_later_uses_of_a_view_written_in_place():
    def program(lib):
        a = _t(lib, [0.3, 0.4])
        y = a.sin()
        v = y[1:]
        v.mul_(a[0])
        y.retain_grad()
        (y * _t(lib, [1.0, 2.0], False)).sum().add((v * 3).sum()).backward()
        return [y.grad, a.grad]

    _same(program)


def test_retain_grad_on_a_view_whose_base_changed():
    def program(lib):
        a = _t(lib, [0.3, 0.4])
        y = a.sin()
        v = y[1:]
        y.mul_(2.0)
        v.retain_grad()
        (v * 3).sum().backward()
        return [v.grad, a.grad]

    _same(program)


# --- fixed: src/chainrule/ops/gather_scatter.py (0-d inputs) ------------------------------


@pytest.mark.parametrize("index", [[0], 0, [0, 0], []])
def test_index_select_of_a_zero_dim_tensor_keeps_its_shape(index):
    def program(lib):
        x = _t(lib, 1.5)
        y = x.index_select(0, lib.tensor(index, dtype=lib.long))
        y.backward()
        return [y, x.grad]

    _same(program)


@pytest.mark.parametrize("index", [0, [0], [0, 0]])
def test_gather_of_a_zero_dim_tensor(index):
    def program(lib):
        x = _t(lib, 1.5)
        y = x.gather(0, lib.tensor(index))
        y.sum().backward()
        return [y, x.grad]

    _same(program)


@pytest.mark.parametrize("index", [0, [0, 0]])
@pytest.mark.parametrize("op", ["scatter", "scatter_add", "scatter_"])
def test_scatter_into_a_zero_dim_tensor(op, index):
    def program(lib):
        x, src = _t(lib, 1.5), _t(lib, [7.0, 8.0])
        y = getattr(x * 1, op)(0, lib.tensor(index), src)
        z = (x * 1).scatter(0, lib.tensor(index), 3.0)
        (y + z * 2).backward()
        return [y, z, x.grad, src.grad]

    _same(program)


# --- fixed: src/chainrule/ops/views.py (expand_as) and rearranging.py (0-d flip) ----------


def test_expand_as_to_the_same_shape_is_a_new_view():
    def program(lib):
        x = _t(lib, 1.5)
        y = x.exp()
        return [z.is_leaf for z in (x.expand_as(x), y.expand_as(y))]

    _same(program)


def test_flip_of_a_zero_dim_tensor_is_a_copy():
    def program(lib):
        x = _t(lib, 1.5, rg=False)
        y = x.flip(0)
        y.add_(0.5)
        return [x, y, lib.tensor(True).flip(0)]

    _same(program)


# --- fixed: src/chainrule/ops/inplace.py (a keyword argument that requires grad) --------


@pytest.mark.parametrize(
    "write",
    [
        lambda x, lo: x.clamp_(max=lo),
        lambda x, lo: x.clamp_(min=lo, max=lo + 1),
        lambda x, lo: x.clamp_(lo),
    ],
)
def test_inplace_op_given_a_tensor_that_requires_grad_by_keyword(write):
    def program(lib):
        x, lo = _t(lib, [1.5, 0.1], rg=False), _t(lib, 0.3)
        write(x, lo)
        x.sum().backward()
        return [x, x.requires_grad, x.is_leaf, lo.grad]

    _same(program)


def test_inplace_on_an_expand_of_size_one_dims_reading_its_base():
    def program(lib):
        a = _t(lib, [0.5])
        y = a.exp()
        v = y.expand_as(y)  # strides of size-1 dims may differ from y's: still the same
        v.add_(y)
        w = lib.tensor([[1.0, 2.0]])
        w.expand(1, 2).mul_(w)
        (v * 3).sum().backward()
        return [v, y, w, a.grad]

    _same(program)


# --- fixed: src/chainrule/ops/clamping.py (dtype of tensor bounds) ---------------------


@pytest.mark.parametrize("bound_shape", [(), (2,)])
def test_clamp_by_a_float32_bound_with_dimensions(bound_shape):
    def program(lib):
        x = _t(lib, 0.2)
        lo = lib.tensor(np.full(bound_shape, 0.5), dtype=lib.float32, requires_grad=True)
        y = x.clamp(min=lo)
        y.sum().backward()
        return [str(y.dtype).split(".")[-1], y, x.grad, lo.grad]

    _same(program)


# --- fixed: src/chainrule/ops/reduction.py (double backward of prod with zeros) ----------


@pytest.mark.parametrize(
    ("values", "dim"),
    [(0.0, None), ([[1.0, 0.0, 3.0], [2.0, 4.0, 5.0]], 1), ([[0.0, 0.0], [2.0, 0.0]], 0),
     ([[1.0, 0.0, 2.0], [4.0, 0.0, 1.0]], None), ([[0.5, 0.0]], 0)],
)  # fmt: skip
def test_double_backward_of_prod_with_zeros(values, dim):
    def program(lib):
        x = _t(lib, values)
        y = x.prod() if dim is None else x.prod(dim)
        w = lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))
        (g,) = lib.autograd.grad((y * w).sum(), x, create_graph=True)
        if g.requires_grad:
            (
                g * g * _t(lib, np.arange(1.0, x.numel() + 1).reshape(x.shape), False)
            ).sum().backward()
        return [g, g.requires_grad, x.grad]

    _same(program)


# --- fixed: result layouts (indexing, cumulative, softmax, rearranging, reduction, norms) --


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, x: x.masked_fill(x > 1, 0.5),
        lambda lib, x: x.cumsum(0),
        lambda lib, x: x.cumprod(1),
        lambda lib, x: x.softmax(0),
        lambda lib, x: x.log_softmax(1),
        lambda lib, x: x.roll(1, 0),
        lambda lib, x: x.flip(0),
        lambda lib, x: x.prod(1),
        lambda lib, x: x.norm(dim=1),
    ],
)
def test_reshape_of_an_op_result_on_a_transposed_tensor(op):
    # whether reshape(-1) is a view (and so sees a later in-place write) depends on the
    # result's memory layout, which must be torch's
    def program(lib):
        x = lib.tensor(np.arange(8.0).reshape(2, 2, 2)).permute(2, 1, 0)
        y = op(lib, x)
        flat = y.reshape(-1)
        y.add_(0.5)
        return [flat, y.is_contiguous()]

    _same(program)


# --- fixed: src/chainrule/ops/indexing.py (masked_fill with a tensor value) --------------


@pytest.mark.parametrize("value_shape", [(), (1,)])
def test_masked_fill_of_a_zero_dim_float32_tensor_by_a_float64_tensor(value_shape):
    def program(lib):
        x = lib.tensor(1.0, dtype=lib.float32, requires_grad=True)
        v = lib.tensor(np.full(value_shape, 3.5), requires_grad=True)
        y = x.masked_fill(lib.tensor(True), v)
        y.backward()
        return [str(y.dtype).split(".")[-1], y, x.grad, v.grad, str(v.grad.dtype).split(".")[-1]]

    _same(program)
