"""Version counters as PyTorch's, session 44 survey (second part, writes), compared as
:mod:`test_versions_session42_b`:

- ``x.data = y`` on a leaf with a ``.grad`` (kept; a later gradient of another shape added
  in place with broadcasting, or PyTorch's errors, since session 44), on a non-leaf, with
  views of the old data;
- ``unsafe_split`` / ``unsafe_chunk`` outputs written in place (allowed, unlike
  ``split``'s);
- ``copy_`` and other writes between views of one base (PyTorch's partial-overlap error in
  its words since session 44).

The hooks, saved-tensor hooks and optimizer steps of this survey:
``test_versions_session44_c_hooks_optim.py`` (split in session 47).
"""

from __future__ import annotations

import pytest

from ._version_cases import M, P, case_registry
from .test_versions_session42_b import _compare

__all__: list[str] = []

CASES, case = case_registry()


# --- D: x.data = y on a leaf with grad
@case
def data_assign_keeps_grad(t):
    p = P(t)
    (p * 2).sum().backward()
    g = p.grad
    p.data = t.zeros(3)
    return p._version, p.grad is g, p.grad, p


@case
def data_assign_then_backward(t):
    p = P(t)
    (p * 2).sum().backward()
    p.data = t.full((3,), 5.0)
    (p * p).sum().backward()
    return p.grad, p._version


@case
def data_assign_saved_then_backward(t):
    p = P(t)
    y = (p * p).sum()
    p.data = t.full((3,), 5.0)
    y.backward()
    return p.grad, p._version


@case
def data_assign_shape_change_with_grad(t):
    p = P(t)
    (p * 2).sum().backward()
    p.data = t.zeros(4)
    (p * 2).sum().backward()
    return p.grad


@case
def data_assign_view_of_leaf(t):
    p = P(t)
    v = p[:2]
    p.data = t.zeros(3)
    return v, p._version, v._version


@case
def data_assign_then_inplace_version(t):
    p = P(t)
    old = p.data
    p.data = t.zeros(3)
    with t.no_grad():
        p.add_(1)
    return p._version, old._version, old


@case
def grad_data_assign(t):
    p = P(t)
    (p * 2).sum().backward()
    g = p.grad
    p.grad.data = t.zeros(3)
    return g._version, p.grad is g, p.grad


# --- more: D
@case
def data_assign_nonleaf(t):
    x = P(t) * 2
    x.data = t.zeros(3)
    return x, x._version


@case
def data_assign_leaf_then_view_write(t):
    p = P(t)
    p.data = t.ones(3)
    with t.no_grad():
        p[:1].add_(1)
    return p, p._version


@case
def data_assign_dtype_change(t):
    p = P(t)
    (p * 2).sum().backward()
    p.data = t.ones(3, dtype=t.float64)
    return p.dtype == t.float64, p.grad.dtype == t.float32, p.grad._version


# --- E: unsafe_split / unsafe_chunk writes
@case
def unsafe_split_write(t):
    x = P(t) * 1
    s = x.unsafe_split(2)
    s[0].add_(1)
    (x * 1).sum().backward()
    return x, s[0], s[0].grad_fn


@case
def unsafe_chunk_write(t):
    x = M(t) * 1
    c = x.unsafe_chunk(2)
    c[1].mul_(2)
    return x, c[1]


@case
def unsafe_split_backward_after_write(t):
    p = P(t)
    x = p * 1
    s = x.unsafe_split(2)
    s[1].mul_(2)
    (s[0].sum() + s[1].sum()).backward()
    return p.grad


@case
def unsafe_split_leaf_nograd(t):
    b = t.ones(4)
    s = b.unsafe_split(2)
    s[0].add_(1)
    return b, b._version, s[0]._version, s[0]._base is None


@case
def unsafe_split_of_leaf_requires_grad(t):
    p = P(t)
    s = p.unsafe_split(2)
    s[0].add_(1)
    return None


@case
def unsafe_split_base_modified_then_used(t):
    x = P(t) * 1
    s = x.unsafe_split(2)
    x.add_(1)
    return s[0].grad_fn, (s[0] * 1).sum()


@case
def split_with_sizes_unsafe(t):
    x = P(t) * 1
    s = x.unsafe_split_with_sizes([1, 2])
    s[1].add_(1)
    return x, s[1]


# --- I: copy_ between views of one base (overlap)
@case
def copy_between_disjoint_views(t):
    x = P(t) * 1
    x[:1].copy_(x[2:])
    x.sum().backward()
    return x


@case
def copy_between_overlapping_views(t):
    b = t.tensor([1.0, 2.0, 3.0, 4.0])
    b[1:].copy_(b[:-1])
    return b, b._version


@case
def copy_overlapping_views_grad(t):
    p = t.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x = p * 1
    x[1:].copy_(x[:-1])
    (x * t.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    return x, p.grad


@case
def copy_same_view(t):
    p = P(t)
    x = p * 1
    x[:2].copy_(x[:2])
    x.sum().backward()
    return x, p.grad


@case
def copy_transposed_self(t):
    m = t.tensor([[1.0, 2.0], [3.0, 4.0]])
    m.copy_(m.t())
    return m


@case
def copy_from_base_into_view(t):
    b = t.tensor([1.0, 2.0, 3.0, 4.0])
    b[:2].copy_(b[2:])
    return b, b._version


@case
def copy_view_leaf_nograd_overlap(t):
    p = t.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    with t.no_grad():
        p[1:].copy_(p[:-1])
    return p, p._version


@case
def copy_expanded_into_view(t):
    x = t.zeros(2, 3)
    x[0].copy_(x[1, :1].expand(3))
    return x


# --- more: I
@case
def copy_overlap_index_add_self(t):
    b = t.ones(4)
    b.index_add_(0, t.tensor([0]), b[1:2])
    return b


@case
def add_overlapping_views(t):
    b = t.tensor([1.0, 2.0, 3.0, 4.0])
    b[1:].add_(b[:-1])
    return b


@case
def copy_between_views_of_leaf_grad(t):
    p = t.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x = p * 1
    x[:2].copy_(x[2:])
    (x * t.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    return x, p.grad, x._version


@case
def copy_interleaved_views(t):
    p = t.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x = p * 1
    x[::2].copy_(x[1::2])
    (x * t.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    return x, p.grad


@pytest.mark.parametrize("name", list(CASES))
def test_versions_as_torch(name: str) -> None:
    _compare(CASES[name])
