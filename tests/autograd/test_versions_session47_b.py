"""Views and in-place writes as PyTorch's, session 47 survey, compared as
:mod:`test_versions_session42_b` (outcome, values, versions, ``requires_grad``, node names,
or PyTorch's error type and text): ``index_put_`` / ``masked_scatter_`` / ``scatter_`` /
``scatter_add_`` on views (node names, versions, gradients), ``out=`` into views,
``no_grad`` in-place writes into a leaf's views, ``t_`` / ``transpose_`` / ``swapaxes_`` on
views, ``unsqueeze_`` / ``squeeze_`` on a view with a hook, ``copy_`` from itself or its own
view, ``requires_grad_()`` on a view.
"""

from __future__ import annotations

import pytest

from ._version_cases import M, P, case_registry, hook_trace, non_leaf
from ._xfail_params import xfail_params
from .test_versions_session42_b import _compare

__all__: list[str] = []

CASES, case = case_registry()


def _name(x):
    return type(x.grad_fn).__name__ if x.grad_fn is not None else None


@case
def index_put_on_row_view(t):
    b, m = non_leaf(t)
    v = b[0]
    v.index_put_((t.tensor([0, 2]),), t.tensor([9.0, 8.0]))
    r = (_name(v), _name(b), v._version, b._version, v._base is b)
    (b * b).sum().backward()
    return r, m.grad


@case
def index_put_acc_on_col_view(t):
    b, m = non_leaf(t)
    v = b[:, 1]
    s = t.tensor([1.0, 2.0], requires_grad=True)
    v.index_put_((t.tensor([1, 1]),), s, accumulate=True)
    r = (_name(v), _name(b), v._version, b._version)
    (b * b).sum().backward()
    return r, m.grad, s.grad


@case
def masked_scatter_on_view(t):
    b, m = non_leaf(t)
    v = b[1]
    s = t.tensor([5.0, 6.0, 7.0], requires_grad=True)
    v.masked_scatter_(t.tensor([True, False, True]), s)
    r = (_name(v), _name(b), v._version, b._version)
    (b * b).sum().backward()
    return r, m.grad, s.grad


@case
def scatter_on_transposed_view(t):
    b, m = non_leaf(t)
    v = b.t()
    v.scatter_(0, t.tensor([[2, 0]]), t.tensor([[3.0, 4.0]]))
    r = (_name(v), _name(b), v._version, b._version)
    (b * b).sum().backward()
    return r, m.grad


@case
def scatter_reduce_add_on_view(t):
    b, m = non_leaf(t)
    v = b[0]
    v.scatter_(0, t.tensor([1, 1]), t.tensor([3.0, 4.0]), reduce="add")
    r = (_name(v), _name(b), v._version, b._version)
    (b * b).sum().backward()
    return r, m.grad


@case
def scatter_add_on_view_src_grad(t):
    b, m = non_leaf(t)
    v = b[:, 0]
    s = t.tensor([3.0, 4.0], requires_grad=True)
    v.scatter_add_(0, t.tensor([1, 0]), s)
    r = (_name(v), _name(b), v._version, b._version)
    (b * b).sum().backward()
    return r, m.grad, s.grad


@case
def index_put_on_leaf_view_no_grad(t):
    m = M(t)
    with t.no_grad():
        m[0].index_put_((t.tensor([1]),), t.tensor([0.0]))
    return m, m._version, _name(m)


@case
def scatter_on_leaf_view_no_grad_then_backward(t):
    m = M(t)
    y = (m * m).sum()
    with t.no_grad():
        m[1].scatter_(0, t.tensor([0]), t.tensor([7.0]))
    y.backward()
    return m.grad


@case
def masked_scatter_leaf_view_grad_mode(t):
    m = M(t)
    m[0].masked_scatter_(t.tensor([True, False, False]), t.tensor([1.0]))
    return m


@case
def out_into_view_of_plain(t):
    base = t.zeros(2, 3)
    v = base[0]
    t.add(t.ones(3), t.ones(3), out=v)
    return base, v, base._version, v._version


@case
def out_into_view_of_leaf_requires_grad(t):
    m = M(t)
    v = m[0]
    t.mul(t.ones(3), 2, out=v)
    return m


@case
def out_into_view_inputs_require_grad(t):
    base = t.zeros(2, 3)
    p = P(t)
    t.mul(p, 2, out=base[0])
    return base


@case
def out_into_view_under_no_grad(t):
    m = M(t)
    p = P(t)
    with t.no_grad():
        t.mul(p, 2, out=m[1])
    return m, m._version, _name(m)


@case
def out_into_noncontig_view_resize(t):
    base = t.zeros(2, 3)
    v = base[:, 0]
    t.add(t.ones(2), 1, out=v)
    return base, v._version, v.stride()


@case
def no_grad_inplace_leaf_view_then_backward_saved(t):
    m = M(t)
    y = (m * 2).sum() + (m * m).sum()
    with t.no_grad():
        m[0].add_(1)
    y.backward()
    return m.grad


@case
def no_grad_inplace_leaf_view_version(t):
    m = M(t)
    v = m[0]
    with t.no_grad():
        v.mul_(2)
    return m._version, v._version, _name(v), v.requires_grad, v._base is m


@case
def no_grad_view_then_grad_inplace(t):
    m = M(t)
    with t.no_grad():
        v = m[0]
    v.mul_(2)
    return m


@case
def no_grad_view_of_nonleaf_then_inplace(t):
    b, m = non_leaf(t)
    with t.no_grad():
        v = b[0]
    v.mul_(2)
    return b, _name(b), v


@case
def t_on_view(t):
    b, m = non_leaf(t)
    v = b[0:2]
    v.t_()
    r = (_name(v), v.shape == (3, 2), v._version, b._version, v.stride())
    (v * v).sum().backward()
    return r, m.grad


@case
def transpose_on_view(t):
    b, m = non_leaf(t)
    v = b[:, 0:2]
    v.transpose_(0, 1)
    r = (_name(v), v._version, v.stride())
    (v * v).sum().backward()
    return r, m.grad


@case
def swapaxes_on_view(t):
    b, m = non_leaf(t)
    v = b.view(3, 2)
    v.swapaxes_(0, 1)
    r = (_name(v), v._version, v.stride(), v._base is b)
    (v * v).sum().backward()
    return r, m.grad


@case
def t_on_leaf_view(t):
    m = M(t)
    v = m[0:2]
    v.t_()
    return _name(v), v.stride()


@case
def t_on_leaf(t):
    m = M(t)
    m.t_()
    return m.stride(), m._version


@case
def unsqueeze_on_view_with_hook(t):
    b, m = non_leaf(t)
    v = b[0]
    seen = hook_trace(v)
    v.unsqueeze_(0)
    r = (_name(v), tuple(v.shape), v._version)
    (v * v).sum().backward()
    return r, tuple(seen), m.grad


@case
def unsqueeze_on_view_with_hook_after(t):
    b, m = non_leaf(t)
    v = b[0]
    v.unsqueeze_(0)
    seen = hook_trace(v)
    (v * v).sum().backward()
    return tuple(seen), m.grad


@case
def squeeze_on_view_with_hook(t):
    b, m = non_leaf(t)
    v = b[0:1]
    seen = hook_trace(v)
    v.squeeze_(0)
    r = (_name(v), tuple(v.shape))
    (v * 3).sum().backward()
    return r, tuple(seen), m.grad


@case
def copy_from_self(t):
    x = t.tensor([1.0, 2.0])
    x.copy_(x)
    return x._version


@case
def copy_from_self_requires_grad(t):
    b, m = non_leaf(t)
    b.copy_(b)
    r = (_name(b), b._version)
    b.sum().backward()
    return r, m.grad


@case
def copy_from_own_view(t):
    b, m = non_leaf(t)
    b[0].copy_(b[1])
    r = (_name(b), b._version)
    (b * b).sum().backward()
    return r, m.grad


@case
def copy_view_from_self(t):
    b, m = non_leaf(t)
    v = b[0]
    v.copy_(v)
    r = (_name(v), v._version, b._version)
    b.sum().backward()
    return r, m.grad


@case
def copy_overlapping_self(t):
    x = t.arange(4.0)
    x[1:].copy_(x[:-1])
    return x, x._version


@case
def requires_grad_on_view_of_plain(t):
    base = t.zeros(3)
    v = base[1:]
    v.requires_grad_()
    return v.requires_grad, base.requires_grad, v.is_leaf, _name(v)


@case
def requires_grad_on_view_of_leaf(t):
    m = M(t)
    v = m[0]
    v.requires_grad_()
    return v.requires_grad, _name(v)


@case
def requires_grad_false_on_view_of_leaf(t):
    m = M(t)
    v = m[0]
    v.requires_grad_(False)
    return v.requires_grad


@case
def requires_grad_on_view_then_inplace_base(t):
    base = t.zeros(3)
    v = base[1:]
    v.requires_grad_()
    base.add_(1)
    return v, _name(v), v._version


@case
def requires_grad_on_view_then_backward(t):
    base = t.ones(3)
    v = base[1:]
    v.requires_grad_()
    (v * v).sum().backward()
    return v.grad, base.grad


@case
def detach_view_inplace(t):
    b, m = non_leaf(t)
    d = b[0].detach()
    d.mul_(2)
    r = (b._version, d._version)
    return r, b


# known differences from PyTorch (strict xfails: a fix makes them fail)
GAPS: set[str] = set()


@pytest.mark.parametrize(
    "name", xfail_params(CASES, GAPS, "chainrule's outcome differs from PyTorch's (see name)")
)
def test_views_and_inplace_survey_as_torch(name: str) -> None:
    _compare(CASES[name])
