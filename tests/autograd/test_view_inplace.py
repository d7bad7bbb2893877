"""In-place changes meeting views, against PyTorch (issue 9 §2): CopySlices and view replay.

Each program runs on chainrule and on torch in float64 from the same values; gradients (or
the fact that both raise) must agree. Then the two new rules are checked on their own:
finite differences (gradcheck/gradgradcheck) and forward mode against reverse mode.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr


def _run(lib, program, values):
    a = lib.tensor(values, dtype=lib.float64, requires_grad=True)
    try:
        loss = program(lib, a)
        (g,) = lib.autograd.grad(loss, [a])
    except RuntimeError as err:
        return "raise", str(err)
    return "ok", np.array(g.detach().numpy())


def _same_as_torch(program, values):
    c_kind, c = _run(cr, program, values)
    t_kind, t = _run(torch, program, values)
    assert c_kind == t_kind, f"chainrule: {c_kind} {c if c_kind == 'raise' else ''}; torch: {t}"
    if c_kind == "ok":
        np.testing.assert_allclose(c, t, rtol=1e-10, atol=1e-12)
    return c_kind


VALUES = np.arange(1.0, 13.0).reshape(3, 4) / 7.0


def p_write_column(lib, a):
    x = a * 1
    x[:, 0].mul_(a[0, 1])
    return (x * x).sum()


def p_mul_by_requires_grad_scalar(lib, a):
    y = a * 1
    y.mul_(a[0, 1])  # needs the old y for a[0, 1]'s gradient (PyTorch's original_self)
    return (y * y).sum()


def p_base_changed_after_transpose(lib, a):
    x = a * 1
    v = x.t()
    x.mul_(3)
    return (v * v).sum()


def p_flat_view_exp(lib, a):
    x = a * 2
    x.view(-1).exp_()
    return (x * a).sum()


def p_two_views(lib, a):
    x = a * 2
    v, w = x[1], x[:, 1]
    v.sin_()
    return (w**2).sum() + x.sum()


def p_write_into_constant_buffer(lib, a):
    buf = lib.zeros(3, 4, dtype=lib.float64)
    buf[0].copy_(a[1] * 2)
    return (buf**2).sum()


def p_diagonal_before_and_after(lib, a):
    x = a.exp() * 1
    d = x.diagonal()
    x.add_(1)
    return (d * x.diagonal()).sum()


def p_overlapping_windows(lib, a):
    x = a * 1
    u = x.unfold(1, 2, 1)
    x[:, 1:].mul_(2)
    return (u**2).sum()


def p_setitem_then_view_update(lib, a):
    x = a * 1
    x[0] = a[1] * 3
    v = x[1]
    v += x[0]
    return (x**2).sum()


def p_view_of_view_written(lib, a):
    x = a * 1
    v = x.t()[1:]
    v[0].mul_(5)
    return (x**3).sum() + (v**2).sum()


def p_reshape_view_zeroed(lib, a):
    x = a * 1
    x.reshape(4, 3)[0].zero_()
    return (x * a).sum()


def p_expand_after_base_change(lib, a):
    x = a * 1
    v = x.expand(2, 3, 4)
    x.add_(1)
    return (v**2).sum()


def p_non_contiguous_base(lib, a):
    x = (a.t() * 1).t()  # a column-major base
    v = x[:, 1:3]
    v.add_(a[0, 0])
    x.mul_(2)
    return (v * a[:, 1:3]).sum() + x.sum()


def p_write_view_of_leaf(lib, a):
    a[0].mul_(2)  # both raise: a view of a leaf that requires grad
    return a.sum()


def p_split_output_modified(lib, a):
    x = a * 1
    c0, _ = x.split(2)
    c0.mul_(3)  # both raise: one of several views returned together
    return x.sum()


def p_unbind_used_after_base_change(lib, a):
    x = a * 1
    rows = x.unbind(0)
    x.mul_(2)
    return rows[0].sum()  # both raise


PROGRAMS = [
    p_write_column,
    p_mul_by_requires_grad_scalar,
    p_base_changed_after_transpose,
    p_flat_view_exp,
    p_two_views,
    p_write_into_constant_buffer,
    p_diagonal_before_and_after,
    p_overlapping_windows,
    p_setitem_then_view_update,
    p_view_of_view_written,
    p_reshape_view_zeroed,
    p_expand_after_base_change,
    p_non_contiguous_base,
]
RAISING = [p_write_view_of_leaf, p_split_output_modified, p_unbind_used_after_base_change]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_program_gradient_equals_torch(program):
    assert _same_as_torch(program, VALUES) == "ok"


@pytest.mark.parametrize("program", RAISING, ids=lambda p: p.__name__)
def test_program_raises_like_torch(program):
    assert _same_as_torch(program, VALUES) == "raise"


def test_no_grad_view_modified_with_grad_on_raises_like_torch():
    for lib in (cr, torch):
        x = lib.ones(3, requires_grad=True) * 1
        with lib.no_grad():
            v = x[0]
        with pytest.raises(RuntimeError, match="no_grad mode"):
            v.mul_(2)


def test_no_grad_view_written_under_no_grad_is_fine():
    x = cr.ones(3, requires_grad=True) * 1
    with cr.no_grad():
        x[0].mul_(5)  # outside the graph, as in PyTorch (an optimizer-style update)
    assert x.grad_fn.name() == "MulBackward0"
    np.testing.assert_array_equal(x.detach().numpy(), [5.0, 1.0, 1.0])


def test_graph_nodes_and_base_attribute():
    a = cr.ones(2, 3, requires_grad=True)
    x = a * 1
    v = x[:, 1]
    assert v._base is x and v._is_view() and not x._is_view()
    assert v[0]._base is x  # the root of the chain of views
    v.mul_(2)
    assert "CopySlices" in x.grad_fn.name()
    w = x.t()
    x.add_(1)
    (w * 1).sum()
    assert w.grad_fn.name().startswith("AsStridedBackward")
    assert cr.ones(2).detach()._base is None


def test_reshape_that_copies_is_not_a_view():
    a = cr.ones(3, 4, requires_grad=True)
    x = (a * 1).t()
    y = x.reshape(12)  # not expressible as a view: a copy with its own version counter
    assert y._base is None
    x.mul_(2)
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones((3, 4)))


# ------------------------------------------------------------------ the rules on their own
def _rule_inputs():
    rng = np.random.default_rng(0)
    return cr.tensor(rng.standard_normal((3, 4)), requires_grad=True), cr.tensor(
        rng.standard_normal(3), requires_grad=True
    )


def _copy_slices_program(a, b):
    x = a * 1
    x[:, 2].mul_(b)  # CopySlices(x, column * b)
    return x * x


def _replay_program(a, b):
    x = a * 1
    v = x[1:, ::2]
    x.mul_(2)  # v is replayed from x's new history
    return v * b[1:, None] + x.sum()


@pytest.mark.parametrize("program", [_copy_slices_program, _replay_program])
def test_rules_pass_gradcheck_and_gradgradcheck(program):
    a, b = _rule_inputs()
    assert cr.autograd.gradcheck(program, (a, b))
    assert cr.autograd.gradgradcheck(program, (a, b))


@pytest.mark.parametrize("program", [_copy_slices_program, _replay_program])
def test_forward_mode_equals_reverse_mode(program):
    a, b = _rule_inputs()
    ta, tb = cr.ones_like(a) * 0.5, cr.ones_like(b) * -1.5
    _, jvp_out = cr.func.jvp(program, (a.detach(), b.detach()), (ta, tb))
    out = program(a, b)
    cot = cr.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))
    ga, gb = cr.autograd.grad((out * cot).sum(), [a, b])
    lhs = float((jvp_out * cot).sum().item())
    rhs = float((ga * ta).sum().item() + (gb * tb).sum().item())
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(rhs))


# ------------------------------------------------------------------ property: any basic view
@st.composite
def _views(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    index = []
    for n in shape:
        kind = draw(st.sampled_from(["all", "int", "slice"]))
        if kind == "int":
            index.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.integers(0, n - 1))
            index.append(slice(start, n, draw(st.integers(1, 2))))
        else:
            index.append(slice(None))
    transpose = draw(st.booleans())
    op = draw(st.sampled_from(["mul_", "add_", "exp_", "copy_"]))
    when = draw(st.sampled_from(["view_written", "base_written"]))
    return shape, tuple(index), transpose, op, when


@settings(max_examples=60, deadline=None)
@given(_views())
def test_any_basic_view_matches_torch(case):
    shape, index, transpose, op, when = case
    values = np.random.default_rng(len(shape)).standard_normal(shape)

    def program(lib, a):
        x = (a.t() * 1).t() if transpose and a.ndim == 2 else a * 1
        v = x[index]
        target = v if when == "view_written" else x
        if op == "copy_":
            target.copy_(lib.ones_like(target) * a.sum())
        elif op == "exp_":
            target.exp_()
        else:
            getattr(target, op)(a.reshape(-1)[0])
        return (x * x).sum() + (v * 3).sum()

    _same_as_torch(program, values)


def test_backward_from_a_stale_view_replays_it_first():
    grads = []
    for lib in (cr, torch):
        a = lib.ones(3, requires_grad=True, dtype=lib.float64)
        x = a * 1
        v = x[1:]
        x.mul_(3)
        v.backward(lib.ones(2, dtype=lib.float64))
        grads.append(np.array(a.grad.numpy()))
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0], [0.0, 3.0, 3.0])


EXPANDED_WRITES = {
    "add_": lambda x: x.add_(1),
    "fill_": lambda x: x.fill_(2),
    "zero_": lambda x: x.zero_(),
    "setitem_all": lambda x: x.__setitem__(..., 3.0),
    "setitem_row": lambda x: x.__setitem__(0, 3.0),
    "setitem_col": lambda x: x.__setitem__((slice(None), 1), 3.0),
    "uniform_": lambda x: x.uniform_(),
    "copy_": lambda x: x.copy_(x * 0),
}


@pytest.mark.parametrize("name", sorted(EXPANDED_WRITES))
def test_writes_into_expanded_tensors_as_torch(name):
    """fill_/zero_ and a write into a row that overlaps nothing are allowed (one value per
    memory location); writes where several elements share a location raise."""
    results = []
    for lib in (cr, torch):
        base = lib.arange(3.0)
        x = base.expand(2, 3)
        try:
            EXPANDED_WRITES[name](x)
            results.append(("ok", base.tolist(), x.tolist()))
        except RuntimeError as err:
            assert "single memory location" in str(err)
            results.append(("raise",))
    assert results[0] == results[1]
