"""In-place writes through views as PyTorch's, session 42 (third pass of the views survey):
``unsqueeze(0).add_``, ``diagonal().copy_``, ``unfold`` and ``as_strided`` views, ``split`` /
``chunk`` / ``unbind`` outputs written in place (with grad mode, under ``no_grad``, on leaves
and non-leaves), views of leaves written under ``no_grad`` before or after the forward, views
made under ``no_grad`` or ``inference_mode`` written later: values, gradients, ``_version``,
``requires_grad``, ``grad_fn`` names and errors (type, and PyTorch's message: chainrule's
may name the op first, ``add_: ...``) compared with PyTorch's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ._version_cases import compare, normalize, run

__all__: list[str] = []

CASES: dict[str, Callable] = {}


def case(f: Callable) -> Callable:
    CASES[f.__name__] = f
    return f


def leafs(t: Any) -> Any:
    return t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], requires_grad=True)


@case
def unsqueeze_add_(t):
    a = leafs(t)
    x = a * 1
    v = x.unsqueeze(0)
    v.add_(1)
    y = (x * x).sum()
    y.backward()
    return x, v, a.grad


@case
def unsqueeze_add_leaf_nograd(t):
    a = leafs(t)
    with t.no_grad():
        v = a.unsqueeze(0)
        v.add_(1)
    y = (a * a).sum()
    y.backward()
    return a, v, a.grad


@case
def diagonal_copy_(t):
    a = leafs(t)
    x = a * 1
    d = x.diagonal()
    d.copy_(t.tensor([10.0, 20.0, 30.0]))
    y = (x * x).sum()
    y.backward()
    return x, d, a.grad


@case
def diagonal_copy_grad_src(t):
    a = leafs(t)
    s = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = a * 1
    d = x.diagonal()
    d.copy_(s * 2)
    y = (x * x).sum()
    y.backward()
    return x, d, a.grad, s.grad


@case
def diagonal_offset_mul_(t):
    a = leafs(t)
    x = a * 1
    d = x.diagonal(1)
    d.mul_(3)
    x.sum().backward()
    return x, d, a.grad


@case
def unfold_mul_(t):
    a = leafs(t)
    x = a * 1
    u = x.view(-1).unfold(0, 3, 3)
    u.mul_(2)
    (x * x).sum().backward()
    return x, u, a.grad


@case
def unfold_overlap_add_(t):
    a = leafs(t)
    x = a * 1
    u = x.view(-1).unfold(0, 3, 2)
    u.add_(1)
    (x * x).sum().backward()
    return x, u, a.grad


@case
def as_strided_add_(t):
    a = leafs(t)
    x = a * 1
    v = x.as_strided((2, 2), (3, 1), 1)
    v.add_(5)
    (x * x).sum().backward()
    return x, v, a.grad


@case
def as_strided_mul_(t):
    a = leafs(t)
    x = a * 1
    v = x.as_strided((3,), (4,))
    v.mul_(2)
    (x * x).sum().backward()
    return x, v, a.grad


@case
def split_mul_(t):
    a = leafs(t)
    x = a * 1
    s = x.split(1)
    s[0].mul_(2)
    (x * x).sum().backward()
    return x, s[0], a.grad


@case
def split_sizes_add_(t):
    a = leafs(t)
    x = a * 1
    s = x.split([1, 2], 1)
    s[1].add_(1)
    (x * x).sum().backward()
    return x, s[1], a.grad


@case
def chunk_nograd_leaf(t):
    a = leafs(t)
    with t.no_grad():
        c = a.chunk(3)
        c[1].mul_(2)
    (a * a).sum().backward()
    return a, c[1], a.grad


@case
def chunk_nograd_then_grad_inplace(t):
    a = leafs(t)
    with t.no_grad():
        c = a.chunk(3)
    c[1].mul_(2)
    return None


@case
def chunk_inplace_grad_nonleaf(t):
    a = leafs(t)
    x = a * 1
    c = x.chunk(3)
    c[1].mul_(2)
    (x * x).sum().backward()
    return x, c[1], a.grad


@case
def view_of_leaf_nograd_then_backward(t):
    a = leafs(t)
    with t.no_grad():
        v = a[0]
        v.fill_(0)
    (a * 2).sum().backward()
    return a, v, a.grad


@case
def view_of_leaf_nograd_backward_after(t):
    a = leafs(t)
    y = (a * a).sum()
    with t.no_grad():
        a[0].fill_(0)
    y.backward()
    return a, a.grad


@case
def view_of_leaf_nograd_then_grad_use(t):
    a = leafs(t)
    with t.no_grad():
        v = a[1:]
    y = (v * 2).sum()
    return y.requires_grad, v.requires_grad


@case
def view_nograd_inplace_grad_mode(t):
    a = leafs(t)
    with t.no_grad():
        v = a[1:]
    v.mul_(2)
    return None


@case
def split_leaf_inplace(t):
    a = leafs(t)
    s = a.split(1)
    s[0].mul_(2)
    return None


@case
def chunk_multi_output_view_inplace_nonleaf(t):
    a = leafs(t)
    x = a.exp()
    c = x.unbind(0)
    c[0].mul_(2)
    return None


@case
def unsqueeze_then_squeeze_inplace(t):
    a = leafs(t)
    x = a * 1
    v = x.unsqueeze(0).squeeze(0).t()
    v.mul_(2)
    (x**2).sum().backward()
    return x, v, a.grad


@case
def expand_inplace(t):
    a = leafs(t)
    x = a[0] * 1
    v = x.expand(3, 3)
    v.add_(1)
    return x, v


@case
def diagonal_of_leaf_nograd(t):
    a = leafs(t)
    with t.no_grad():
        a.diagonal().zero_()
    (a * 3).sum().backward()
    return a, a.grad


@case
def unfold_leaf_inplace(t):
    a = leafs(t)
    a.view(-1).unfold(0, 3, 3).add_(1)
    return None


@case
def as_strided_leaf_nograd(t):
    a = leafs(t)
    with t.no_grad():
        a.as_strided((3,), (4,)).mul_(0)
    (a * 3).sum().backward()
    return a, a.grad


@case
def view_inplace_version_chain(t):
    a = leafs(t)
    x = a * 1
    v1 = x[0]
    v2 = x[:, 0]
    v1.add_(1)
    v2.mul_(3)
    (x * 1).sum().backward()
    return x, v1, v2, a.grad


@case
def split_saved_then_modified(t):
    a = leafs(t)
    x = a * 1
    s = x.split(1)
    y = (s[0] * s[0]).sum()
    s[0].add_(1)
    y.backward()
    return None


@case
def diag_view_saved_then_base_modified(t):
    a = leafs(t)
    x = a * 1
    d = x.diagonal()
    y = (d.exp()).sum()
    x.add_(1)
    y.backward()
    return None


# the comparison every version table imports from here (now in _version_cases.py)
_norm, _run, _compare = normalize, run, compare


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_through_views_as_torch(name: str) -> None:
    _compare(CASES[name])
