"""Version counters through views as PyTorch's, session 44 survey (first part), compared
as :mod:`test_versions_session42_b` (values, versions, ``requires_grad``, ``grad_fn``
names; errors by type and PyTorch's message, which chainrule's may prefix with the op):

- in-place writes into views of leaves under ``no_grad``, then backward (PyTorch's "one of
  the variables needed for gradient computation has been modified by an inplace operation"
  with its versions), views of non-leaves written under ``no_grad``;
- the engine's un-broadcasting sum laid out row-major (a leaf reached through a transpose
  gets PyTorch's copy, version 1);
- ``detach_()`` on views (PyTorch refuses), ``requires_grad_()`` / ``requires_grad = ...``
  on views of leaves, of plain tensors and of views made under ``no_grad`` (PyTorch's words
  for a view that is no leaf, since session 44).
"""

from __future__ import annotations

import pytest

from ._version_cases import M, P, case_registry
from .test_versions_session42_b import _compare

__all__: list[str] = []

CASES, case = case_registry()


# --- A: in-place on leaf views under no_grad, then backward
@case
def nograd_view_add_then_backward_saved(t):
    p = P(t)
    y = (p * p).sum()
    with t.no_grad():
        p[:2].add_(1)
    y.backward()
    return None


@case
def nograd_view_add_then_backward_unsaved(t):
    p = P(t)
    y = (p * 2).sum()
    with t.no_grad():
        p[1:].mul_(3)
    y.backward()
    return p, p.grad, p._version


@case
def nograd_view_add_before_forward(t):
    p = P(t)
    with t.no_grad():
        v = p[1:]
        v.add_(1)
    y = (p * p).sum()
    y.backward()
    return p, p.grad, v, p._version


@case
def nograd_view_exp_saved_result(t):
    p = t.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=t.float64)  # (float32 exp: 1 ulp)
    y = p.exp().sum()
    with t.no_grad():
        p.view(3).zero_()
    y.backward()
    return p.grad, p._version


@case
def nograd_diag_write_saved(t):
    m = t.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (m @ m).sum()
    with t.no_grad():
        m.diagonal().fill_(0)
    y.backward()
    return None


@case
def nograd_view_t_write_saved(t):
    m = M(t)
    y = (m.t() ** 2).sum()
    with t.no_grad():
        m.t()[0].mul_(2)
    y.backward()
    return None


@case
def nograd_view_twice_version(t):
    p = P(t)
    with t.no_grad():
        v = p[:2]
        v.add_(1)
        v.add_(1)
        p[2:].sub_(1)
    return p._version, v._version, v.requires_grad, v.grad_fn, p.is_leaf, v.is_leaf


@case
def nograd_view_used_with_grad_after_base_write(t):
    p = P(t)
    with t.no_grad():
        v = p[:2]
    with t.no_grad():
        p.add_(1)
    return (v * 2).sum()


@case
def nograd_view_write_with_grad(t):
    p = P(t)
    with t.no_grad():
        v = p[:2]
    v.add_(1)
    return p


@case
def nograd_view_sigmoid_saved_output(t):
    p = P(t)
    y = p.sigmoid().sum()
    with t.no_grad():
        p[0:1].copy_(t.tensor([5.0]))
    y.backward()
    return p.grad


@case
def nograd_view_write_then_second_backward(t):
    p = P(t)
    y = (p * p).sum()
    y.backward(retain_graph=True)
    with t.no_grad():
        p[:1].add_(1)
    y.backward()
    return None


# --- more: A (no_grad writes through views of leaves), layouts
@case
def nograd_detach_view_write_saved(t):
    p = P(t)
    y = (p * p).sum()
    p.detach()[:2].add_(1)
    y.backward()
    return None


@case
def nograd_unbind_write_leaf(t):
    m = M(t)
    y = (m * m).sum()
    with t.no_grad():
        m.unbind(0)[1].mul_(2)
    y.backward()
    return None


@case
def nograd_split_write_leaf_unsaved(t):
    m = M(t)
    y = (m * 2).sum()
    with t.no_grad():
        m.split(1)[0].zero_()
    y.backward()
    return m, m.grad, m._version


@case
def nograd_view_write_mm_saved_error(t):
    m = M(t)
    w = t.ones(3, 2, requires_grad=True)
    y = (m @ w).sum()
    with t.no_grad():
        w.t()[0].fill_(2)
        w[1:].add_(1)
    y.backward()
    return None


@case
def nograd_write_view_of_nonleaf(t):
    p = P(t)
    x = p * 1
    y = (x * x).sum()
    with t.no_grad():
        x[1:].add_(1)
    y.backward()
    return None


@case
def nograd_write_view_of_nonleaf_then_use(t):
    p = P(t)
    x = p * 1
    with t.no_grad():
        x[1:].add_(1)
    (x * 2).sum().backward()
    return x, p.grad, x._version


@case
def expand_transposed_leaf_grad_layout(t):
    x = t.ones(3, 3, requires_grad=True)
    b = x.t()[None].expand(2, 3, 3)
    b.backward(t.ones(2, 3, 3).mT)
    return x.grad, x.grad.stride()


@case
def expand_permuted_grad_layout(t):
    x = t.ones(1, 3, 2, requires_grad=True)
    y = x.expand(4, 3, 2)
    y.backward(t.ones(2, 4, 3).permute(1, 2, 0))
    return x.grad, x.grad.stride()


@case
def bias_broadcast_permuted_grad(t):
    b = t.tensor([1.0, 2.0], requires_grad=True)
    x = t.ones(3, 2)
    y = x + b
    y.backward(t.ones(2, 3).t())
    return b.grad, b.grad.stride()


# --- B: detach_() on views
@case
def detach_inplace_on_view(t):
    p = P(t)
    v = p.view(3)
    v.detach_()
    return v


@case
def detach_inplace_on_nonleaf_view(t):
    x = P(t) * 2
    v = x[:2]
    v.detach_()
    return v, x


@case
def detach_inplace_on_nograd_view(t):
    p = P(t)
    with t.no_grad():
        v = p[:2]
    v.detach_()
    return v, v.is_leaf


@case
def detach_inplace_nonleaf(t):
    x = P(t) * 2
    x.detach_()
    x.add_(1)
    return x


@case
def detach_inplace_base_then_view(t):
    x = P(t) * 2
    v = x[:2]
    x.detach_()
    return v, x


# --- C: requires_grad_() on views
@case
def requires_grad_on_view_of_plain(t):
    b = t.ones(3)
    v = b[:2]
    v.requires_grad_()
    (v * 2).sum().backward()
    return v.grad, b.requires_grad, v.is_leaf


@case
def requires_grad_false_on_view_of_leaf(t):
    p = P(t)
    v = p[:2]
    v.requires_grad_(False)
    return v


@case
def requires_grad_on_nograd_view(t):
    p = P(t)
    with t.no_grad():
        v = p[:2]
    v.requires_grad_()
    (v * 2).sum().backward()
    return v.grad, p.grad


@case
def requires_grad_false_on_nograd_view(t):
    p = P(t)
    with t.no_grad():
        v = p[:2]
    v.requires_grad_(False)
    return v.requires_grad


@case
def requires_grad_base_after_view(t):
    b = t.ones(3)
    v = b[:2]
    b.requires_grad_()
    return v.requires_grad, v.is_leaf, v.grad_fn


@case
def requires_grad_view_then_base_inplace(t):
    b = t.ones(3)
    v = b[:2]
    v.requires_grad_()
    b.add_(1)
    return v, b._version


# --- more: B/C
@case
def detach_inplace_split_view(t):
    x = P(t) * 1
    s = x.split(2)
    s[0].detach_()
    return s[0]


@case
def requires_grad_on_view_of_nonleaf(t):
    x = P(t) * 1
    v = x[:2]
    v.requires_grad_()
    return v


@case
def requires_grad_true_on_view_of_leaf(t):
    p = P(t)
    v = p[:2]
    v.requires_grad_(True)
    return v


@case
def view_requires_grad_set_attr_false(t):
    p = P(t)
    v = p[:2]
    v.requires_grad = False
    return v


@case
def requires_grad_plain_view_then_write(t):
    b = t.ones(3)
    v = b[:2]
    v.requires_grad_()
    with t.no_grad():
        b.add_(1)
    (v * 2).sum().backward()
    return v.grad, v._version


@pytest.mark.parametrize("name", list(CASES))
def test_versions_through_views_as_torch(name: str) -> None:
    _compare(CASES[name])
