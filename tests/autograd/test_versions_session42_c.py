"""In-place writes through views as PyTorch's, session 42 (second half): chunks and unbind
outputs of non-leaves written under ``no_grad``, ``detach()`` views, views of leaves written
in grad mode (errors), versions shared along a chain of views, ``create_graph`` through a
diagonal written in place, overlapping ``as_strided``/``unfold`` writes, views made under
``no_grad``/``inference_mode`` written later; then the inference-tensor error in PyTorch's
words. Compared as in :mod:`test_versions_session42_b` (its registry and runner).
"""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

from .test_versions_session42_b import _compare, leafs

__all__: list[str] = []

CASES: dict = {}


def case(f):
    CASES[f.__name__] = f
    return f


@case
def chunk_nonleaf_nograd_inplace_backward(t):
    a = leafs(t)
    x = a * 2
    c = x.chunk(3)
    with t.no_grad():
        c[0].mul_(2)
    (x * x).sum().backward()
    return x, c[0], a.grad


@case
def chunk_nonleaf_nograd_inplace_then_chunk_backward(t):
    a = leafs(t)
    x = a * 2
    c = x.chunk(3)
    with t.no_grad():
        c[0].mul_(2)
    (c[0] * 3).sum().backward()
    return x, c[0], a.grad


@case
def unbind_nonleaf_nograd_inplace(t):
    a = leafs(t)
    x = a * 2
    c = x.unbind(1)
    with t.no_grad():
        c[2].zero_()
    (c[2] + c[0]).sum().backward()
    return x, c[2], a.grad


@case
def split_outputs_inplace_after_use(t):
    a = leafs(t)
    x = a * 2
    c = x.split(2)
    y = c[1].relu()  # (saves its result, not c[1])
    with t.no_grad():
        c[1].add_(1)
    y.sum().backward()
    return a.grad


@case
def detach_view_inplace(t):
    a = leafs(t)
    x = a.exp()
    d = x.detach()
    d.add_(1)
    x.sum().backward()
    return None


@case
def detach_inplace_unrelated_backward(t):
    a = leafs(t)
    x = a * 2
    d = x.detach()[0]
    d.add_(1)
    (x * 3).sum().backward()
    return x, d, a.grad


@case
def unsqueeze_leaf_inplace_error(t):
    a = leafs(t)
    a.unsqueeze(0).add_(1)
    return None


@case
def diagonal_leaf_copy_error(t):
    a = leafs(t)
    a.diagonal().copy_(t.zeros(3))
    return None


@case
def view_versions_shared(t):
    a = leafs(t)
    x = a * 1
    v = x[1:]
    w = v.unsqueeze(0)
    w.mul_(2)
    return x._version, v._version, w._version, w._base is x, v._base is x


@case
def view_create_graph(t):
    a = leafs(t)
    x = a * 1
    x.diagonal().mul_(x.diagonal().clone())
    (g,) = t.autograd.grad(x.sum(), a, create_graph=True)
    g.sum().backward()
    return g.detach(), a.grad  # (g's grad_fn: compared in test_versions_session43)


@case
def as_strided_nonleaf_overlap_inplace(t):
    a = leafs(t)
    x = a * 1
    v = x.as_strided((2, 2), (1, 1))
    v.add_(1)
    return x


@case
def unfold_overlap_inplace(t):
    a = leafs(t)
    x = (a * 1).view(-1)
    x.unfold(0, 3, 1).mul_(2)
    return x


@case
def nograd_view_of_nonleaf_then_inplace_in_grad(t):
    a = leafs(t)
    x = a * 1
    with t.no_grad():
        v = x[0]
    v.mul_(2)
    return None


@case
def inference_view_inplace(t):
    with t.inference_mode():
        b = t.ones(3, 3)
        v = b[0]
    v.add_(1)
    return None


@case
def view_inplace_then_base_grad_fn(t):
    a = leafs(t)
    x = a * 1
    x[0].mul_(2)
    return type(x.grad_fn).__name__, x._version


@case
def transpose_inplace_backward(t):
    a = leafs(t)
    x = a * 1
    x.t()[0].mul_(a[0, 0])
    (x * 2).sum().backward()
    return x, a.grad


@case
def split_with_sizes_nograd_leaf_backward(t):
    a = leafs(t)
    with t.no_grad():
        s = a.split([1, 2])
        s[1].mul_(0.5)
    (a.sum(0) * t.tensor([1.0, 2.0, 3.0])).sum().backward()
    return a, s[1], a.grad


@case
def view_of_view_nograd_leaf_modify_after_forward(t):
    a = leafs(t)
    y = (a[0] * a[1]).sum()
    with t.no_grad():
        a[2].add_(1)
    y.backward()
    return a.grad, a._version


@case
def view_of_view_nograd_leaf_modify_saved_row(t):
    a = leafs(t)
    y = (a[0] * a[1]).sum()
    with t.no_grad():
        a[0].add_(1)
    y.backward()
    return a.grad, a._version


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_through_views_as_torch(name: str) -> None:
    _compare(CASES[name])


def test_inference_inplace_error_in_torchs_words() -> None:
    """Every in-place path into an inference tensor outside ``inference_mode`` raises
    PyTorch's text (an op's own check puts the op's name first)."""
    with torch.inference_mode():
        tb = torch.ones(3)
    with pytest.raises(RuntimeError) as want:
        tb.add_(1)
    with cr.inference_mode():
        b = cr.ones(3)
    for write in (lambda: b.add_(1), lambda: b[0].mul_(2), lambda: b.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError) as got:
            write()
        assert str(got.value).endswith(str(want.value))
