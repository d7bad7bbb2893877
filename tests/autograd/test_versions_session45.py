"""Version counters and views as PyTorch's, session 45 survey, compared as
:mod:`test_versions_session42_b` (outcome, values, versions, ``requires_grad``, node names,
or PyTorch's error type and text):

- in-place writes into views of views (of a non-leaf, of a leaf, under ``no_grad``), then
  backward;
- ``unbind`` / ``split`` / ``chunk`` / ``split_with_sizes`` outputs written in place
  (PyTorch's "output of a function that returns multiple views" text), and the cases
  that are allowed (no grad, ``tensor_split``'s plain views, a detached piece);
- ``detach_()`` on a view, ``set_()`` of and into views;
- (moved to :mod:`test_versions_session46_c` in session 46, to keep files short: optimizer
  steps with a view of the parameter, ``no_grad`` writes into views of leaves,
  ``retain_grad`` / ``register_hook`` on views written in place, versions and bases.)
"""

from __future__ import annotations

import pytest

from ._version_cases import M, P, case_registry, non_leaf
from ._xfail_params import xfail_params
from .test_versions_session42_b import _compare

__all__: list[str] = []

CASES, case = case_registry()


# --- A: views of views written in place, then backward
@case
def view_of_view_mul_then_backward(t):
    b, m = non_leaf(t)
    w = b[:, 1:][0]
    w.mul_(2)
    b.sum().backward()
    return m.grad, b, w, b._version


@case
def view_of_view_of_view_add(t):
    b, m = non_leaf(t)
    w = b.view(6)[1:5].view(2, 2)[1]
    w.add_(1)
    (b * b).sum().backward()
    return m.grad, b, w


@case
def transposed_view_row_zero(t):
    b, m = non_leaf(t)
    v = b.t()[1]
    v.zero_()
    (b * 3).sum().backward()
    return m.grad, v, b._version


@case
def view_of_view_of_leaf_inplace(t):
    m = M(t)
    m.view(6)[0:2].add_(1)
    return m


@case
def narrow_of_slice_of_leaf_inplace(t):
    m = M(t)
    m[1:].narrow(1, 0, 2).mul_(2)
    return m


@case
def view_of_view_saved_then_base_written(t):
    b, m = non_leaf(t)
    y = b[1:][0]
    z = y * y  # (y saved: the write below is PyTorch's version error on backward)
    b.add_(1)
    z.sum().backward()
    return m.grad


@case
def view_of_view_result_saved_then_base_written(t):
    b, m = non_leaf(t)
    y = b[1:][0]
    z = y.sigmoid()  # (the result saved, not y: no error)
    b.add_(1)
    z.sum().backward()
    return m.grad.round(decimals=4), b._version


@case
def sibling_views_written_then_read(t):
    b, m = non_leaf(t)
    v1, v2 = b[:, 0:2], b[:, 1:3]
    v1.mul_(2)
    (v2 * 1).sum().backward()
    return m.grad, v2, v2._version


@case
def two_writes_through_one_view(t):
    b, m = non_leaf(t)
    v = b[0]
    v.mul_(2)
    v.add_(1)
    b.sum().backward()
    return m.grad, v._version, b._version, v


@case
def saved_view_input_then_view_written(t):
    b, m = non_leaf(t)
    v = b[0]
    s = v.sin()
    v.mul_(2)
    s.sum().backward()
    return m.grad


@case
def view_of_written_view_backward(t):
    b, m = non_leaf(t)
    v = b[:, 1:]
    v.mul_(3)
    w = v[1]
    (w * w).sum().backward()
    return m.grad, w, w._version


@case
def diagonal_of_view_written(t):
    b, m = non_leaf(t)
    v = b[:, :2].diagonal()
    v.fill_(7.0)
    b.sum().backward()
    return m.grad, b


@case
def unsqueezed_view_written(t):
    b, m = non_leaf(t)
    v = b[None][:, 1]
    v.mul_(2)
    b.pow(2).sum().backward()
    return m.grad, v


@case
def expanded_view_of_view_written(t):
    b, _ = non_leaf(t)
    v = b[0].expand(2, 3)
    v.add_(1)
    return b


@case
def view_written_with_other_view(t):
    b, m = non_leaf(t)
    b[0].copy_(b[1] * 2)
    b.sum().backward()
    return m.grad, b._version


# --- B: outputs of functions that return several views
@case
def unbind_output_written(t):
    b, _ = non_leaf(t)
    u = b.unbind()
    u[0].mul_(2)
    return u


@case
def unbind_dim1_output_written(t):
    b, _ = non_leaf(t)
    b.unbind(1)[2].add_(1)
    return b


@case
def split_output_written(t):
    b, _ = non_leaf(t)
    b.split(1)[1].zero_()
    return b


@case
def chunk_output_written(t):
    b, _ = non_leaf(t)
    b.chunk(3, 1)[0].sin_()
    return b


@case
def split_with_sizes_output_written(t):
    b, _ = non_leaf(t)
    b.split([1, 2], 1)[1].mul_(2)
    return b


@case
def split_view_of_view_written(t):
    b, _ = non_leaf(t)
    b.split(1)[0][0].mul_(2)
    return b


@case
def unbind_without_grad_written(t):
    b = t.ones(2, 3)
    u = b.unbind()
    u[1].mul_(2)
    return b, b._version, u[0]._version


@case
def unbind_under_no_grad_written(t):
    b, _ = non_leaf(t)
    with t.no_grad():
        u = b.unbind()
        u[0].mul_(2)
    return b._version, b.requires_grad, u[0].requires_grad


@case
def unbind_no_grad_then_written_with_grad(t):
    b, _ = non_leaf(t)
    with t.no_grad():
        u = b.unbind()
    u[0].mul_(2)
    return b


@case
def tensor_split_output_written(t):
    b, m = non_leaf(t)
    pieces = b.tensor_split(2, 1)
    pieces[1].mul_(2)
    b.sum().backward()
    return m.grad, b, pieces[1]


@case
def unbind_piece_detached_written(t):
    b, _ = non_leaf(t)
    u = b.unbind()[0].detach()
    u.mul_(2)
    return b, u._version, b._version


@case
def split_piece_read_after_base_written(t):
    b, _ = non_leaf(t)
    s = b.split(1)
    b.add_(1)
    return s[0].grad_fn is not None


@case
def chunk_piece_clone_written(t):
    b, m = non_leaf(t)
    c = b.chunk(2)[0].clone()
    c.mul_(2)
    c.sum().backward()
    return m.grad, c._version


# --- C: detach_() and set_() on views
@case
def detach_inplace_on_view(t):
    b, _ = non_leaf(t)
    v = b[0]
    v.detach_()
    return v


@case
def detach_inplace_on_view_of_plain(t):
    b = t.ones(2, 3)
    v = b[0]
    v.detach_()
    return v, v._version


@case
def detach_inplace_on_non_view(t):
    b, _ = non_leaf(t)
    b.detach_()
    return b, b._version, b.is_leaf


@case
def detach_inplace_on_view_no_grad(t):
    b, _ = non_leaf(t)
    with t.no_grad():
        v = b[0]
    v.detach_()
    return v, v.is_leaf


@case
def set_on_plain_view(t):
    b = t.ones(2, 3)
    v = b[0]
    v.set_(t.zeros(4))
    return v, b, v._version, b._version


@case
def set_on_view_of_requires_grad(t):
    b, _ = non_leaf(t)
    v = b[0]
    v.set_(t.zeros(3))
    return v


@case
def set_from_a_view(t):
    b = t.arange(6.0).reshape(2, 3)
    x = t.ones(2)
    x.set_(b[1])
    b.add_(1)
    return x, x._version, b._version


@case
def set_leaf_under_no_grad(t):
    p = P(t)
    with t.no_grad():
        p.set_(t.zeros(3))
    (p * 2).sum().backward()
    return p, p.grad, p._version


# known differences from PyTorch (strict xfails: a fix makes them fail)
GAPS = {
    # (session 46: a hook on the view written in place is bypassed as by PyTorch's
    # CopySlices, view_replay._bypass_old_view)
    # PyTorch's set_ keeps a view a view of its base (grad_fn re-taken: AsStridedBackward0);
    # chainrule's set_ (storage/tensor_methods.py) makes it a new tensor with a set_ node
    "set_on_view_of_requires_grad",
}


@pytest.mark.parametrize(
    "name", xfail_params(CASES, GAPS, "chainrule's outcome differs from PyTorch's (see name)")
)
def test_versions_and_views_as_torch(name: str) -> None:
    _compare(CASES[name])
