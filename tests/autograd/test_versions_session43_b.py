"""Version counters as PyTorch's, session 43 survey (second half of the seventh pass):
``.grad``'s version and identity over two backwards, ``zero_grad(set_to_none=False)``,
optimizer steps (``p``, ``p.grad`` and state versions over SGD/Adam/AdamW/... with and
without ``foreach``), ``retain_grad()`` gradients (a copy, as PyTorch's ``clone``),
``autograd.grad`` results, hooks that return new tensors or write in place, in-place writes
into ``split``/``chunk``/``unbind`` outputs, ``x.data`` / ``detach()`` writes against
``_version``, ``clip_grad_value_``'s writes. Compared as :mod:`test_versions_session42_b`
(values, versions, error type and PyTorch's message).
"""

from __future__ import annotations

import pytest

from ._version_cases import M, P, case_registry
from .test_versions_session42_b import _compare

__all__: list[str] = []

CASES, case = case_registry()


@case
def two_backwards_sum(t):
    p = P(t)
    (p * 2).sum().backward()
    g0, v0 = p.grad, p.grad._version
    (p * 3).sum().backward()
    return v0, p.grad._version, p.grad is g0, p.grad.tolist()


@case
def two_backwards_exp(t):
    p = P(t)
    p.exp().sum().backward()
    g0 = p.grad
    ptr = g0.data_ptr()
    p.exp().sum().backward()
    return p.grad._version, p.grad is g0, p.grad.data_ptr() == ptr


@case
def two_backwards_view_grad(t):
    p = P(t)
    p.view(3).backward(t.ones(3))
    v0 = p.grad._version
    p.view(3).backward(t.ones(3))
    return v0, p.grad._version


@case
def three_backwards_mm(t):
    m = M(t)
    w = t.ones(3, 2, requires_grad=True)
    for _ in range(3):
        (m @ w).sum().backward()
    return m.grad._version, w.grad._version


@case
def grad_ref_sees_second_backward(t):
    p = P(t)
    (p * 2).sum().backward()
    ref = p.grad
    (p * 2).sum().backward()
    return ref.tolist(), ref._version


@case
def zero_grad_keep_then_backward(t):
    p = P(t)
    opt = t.optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    g0 = p.grad
    opt.zero_grad(set_to_none=False)
    v1 = p.grad._version
    (p * 2).sum().backward()
    return v1, p.grad._version, p.grad is g0, p.grad.tolist()


@case
def zero_grad_none_then_backward(t):
    p = P(t)
    opt = t.optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad()
    r = p.grad
    (p * 2).sum().backward()
    return r, p.grad._version


@case
def module_zero_grad_keep(t):
    lin = t.nn.Linear(3, 2)
    lin(t.ones(1, 3)).sum().backward()
    g = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    v = lin.weight.grad._version
    lin(t.ones(1, 3)).sum().backward()
    return v, lin.weight.grad._version, lin.weight.grad is g, lin.bias.grad._version


@case
def retain_grad_nonleaf(t):
    p = P(t)
    y = p * 2
    y.retain_grad()
    y.exp().sum().backward()
    return (
        y.grad._version,
        y.grad._base is None,
        p.grad._version,
        y.grad.data_ptr() == p.grad.data_ptr(),
    )


@case
def retain_grad_twice(t):
    p = P(t)
    y = p * 2
    y.retain_grad()
    z = (y * y * y).sum()
    z.backward(retain_graph=True)
    g0 = y.grad
    z.backward()
    return y.grad._version, y.grad is g0, y.grad.tolist()


@case
def retain_grad_root(t):
    p = P(t)
    y = (p * 2).sum()
    y.retain_grad()
    y.backward()
    return y.grad._version, y.grad.tolist()


@case
def retain_grad_root_caller_gradient(t):
    p = P(t)
    y = p * 2
    y.retain_grad()
    g = t.ones(3)
    y.backward(g)
    return y.grad._version, y.grad.data_ptr() == g.data_ptr(), p.grad._version


@case
def retain_grad_view(t):
    p = P(t)
    y = (p * 2).view(3)
    y.retain_grad()
    y.sum().backward()
    return y.grad._version, y.grad._base is None, p.grad._version


@case
def retain_grad_two_paths(t):
    p = P(t)
    y = p * 2
    y.retain_grad()
    (y * y).sum().backward()
    return y.grad._version, y.grad.tolist(), p.grad._version


@case
def autograd_grad_versions(t):
    p = P(t)
    m = M(t)
    ga, gb = t.autograd.grad((m @ p).exp().sum() + p.sum(), [p, m])
    return ga._version, gb._version, ga._base is None, gb._base is None


@case
def autograd_grad_identity_input(t):
    p = P(t)
    g = t.ones(3)
    (r,) = t.autograd.grad(p * 1, p, g)
    return r._version, r.data_ptr() == g.data_ptr()


@case
def autograd_grad_view_of_caller(t):
    p = P(t)
    g = t.ones(3)
    (r,) = t.autograd.grad(p.view(3), p, g)
    return r._version, r.data_ptr() == g.data_ptr(), r is g


@case
def autograd_grad_sum(t):
    p = P(t)
    (r,) = t.autograd.grad(p.sum(), p)
    return r._version, r._base is None, r.stride()


@case
def autograd_grad_two_paths(t):
    p = P(t)
    (r,) = t.autograd.grad((p * p).sum(), p)
    return r._version


@case
def autograd_grad_shared(t):
    p = P(t)
    q = P(t)
    a, b = t.autograd.grad((p + q).exp().sum(), [p, q])
    return a._version, b._version, a is b


@case
def autograd_grad_create_graph(t):
    p = P(t)
    (r,) = t.autograd.grad((p**2).sum(), p, create_graph=True)
    return r._version, type(r.grad_fn).__name__


@case
def hook_returns_new(t):
    p = P(t)
    p.register_hook(lambda g: g * 2)
    (p * 3).sum().backward()
    return p.grad._version, p.grad.tolist()


@case
def hook_returns_same(t):
    p = P(t)
    p.register_hook(lambda g: g)
    p.exp().sum().backward()
    return p.grad._version


@case
def hook_inplace(t):
    p = P(t)

    def h(g):
        g.add_(1)

    p.register_hook(h)
    (p * 3).sum().backward()
    return p.grad._version, p.grad.tolist()


@case
def hook_inplace_returned(t):
    p = P(t)
    p.register_hook(lambda g: g.mul_(2))
    p.exp().sum().backward()
    return p.grad._version


@case
def hook_nonleaf_returns_new(t):
    p = P(t)
    y = p * 2
    y.register_hook(lambda g: g + 1)
    y.sum().backward()
    return p.grad._version, p.grad.tolist()


@case
def hook_on_caller_gradient_view(t):
    p = P(t)
    p.register_hook(lambda g: g * 1)
    g = t.ones(3)
    p.view(3).backward(g)
    return p.grad._version, p.grad.data_ptr() == g.data_ptr()


@case
def post_accumulate_inplace(t):
    p = P(t)

    def halve(x):
        x.grad.mul_(0.5)

    p.register_post_accumulate_grad_hook(halve)
    (p * 4).sum().backward()
    return p.grad._version, p.grad.tolist()


@case
def split_output_inplace_grad(t):
    p = P(t)
    x = p * 1
    s = x.split(1)
    s[1].add_(1)
    return None


@case
def split_output_inplace_nograd(t):
    x = P(t) * 1
    s = x.split(1)
    with t.no_grad():
        s[1].add_(1)
    return x._version, s[1]._version, type(s[1].grad_fn).__name__


@case
def chunk_output_view_inplace(t):
    x = P(t) * 1
    c = x.chunk(3)
    c[0].view(1).mul_(2)
    return None


@case
def unbind_output_inplace(t):
    x = M(t) * 1
    u = x.unbind(1)
    u[0].add_(1)
    return None


@case
def unbind_nograd_base_plain(t):
    x = t.ones(2, 3)
    u = x.unbind(0)
    u[0].add_(1)
    return x.tolist(), x._version, u[0]._version


@case
def split_then_base_inplace_read(t):
    x = P(t) * 1
    s = x.split(2)
    x.add_(1)
    return s[0].grad_fn


@case
def split_of_leaf_nograd_inplace_version(t):
    p = P(t)
    with t.no_grad():
        s = p.split(1)
        s[2].mul_(3)
    return p._version, s[2]._version, s[0]._version, p.tolist()


@case
def data_write_version(t):
    p = P(t)
    p.data.add_(1)
    v = p._version
    p.data[0] = 5.0
    return v, p._version, p.tolist()


@case
def data_assign_version(t):
    p = P(t)
    with t.no_grad():
        p.mul_(2)
    v = p._version
    p.data = t.zeros(3)
    return v, p._version, p.data._version


@case
def detach_write_version(t):
    p = P(t)
    d = p.detach()
    d.add_(1)
    return p._version, d._version


@case
def data_saved_then_backward(t):
    p = P(t)
    y = (p * p).sum()
    p.data.add_(1)
    y.backward()
    return p.grad.tolist(), p._version


@case
def detach_saved_then_backward(t):
    p = P(t)
    y = (p * p).sum()
    p.detach().add_(1)
    y.backward()
    return None


@case
def grad_data_write(t):
    p = P(t)
    (p * 2).sum().backward()
    p.grad.data.mul_(2)
    v = p.grad._version
    p.grad.mul_(2)
    return v, p.grad._version


@case
def set_grad_then_backward(t):
    p = P(t)
    g = t.ones(3)
    p.grad = g
    (p * 2).sum().backward()
    return p.grad is g, g._version, g.tolist()


@case
def set_grad_view_then_backward(t):
    p = P(t)
    base = t.ones(6)
    p.grad = base[:3]
    (p * 2).sum().backward()
    return p.grad._version, base.tolist(), base._version


@case
def clip_grad_norm_versions(t):
    p = P(t)
    (p * 10).sum().backward()
    t.nn.utils.clip_grad_norm_([p], 1.0)
    return p.grad._version


@case
def clip_grad_value_versions(t):
    p = P(t)
    (p * 10).sum().backward()
    t.nn.utils.clip_grad_value_([p], 1.0)
    return p.grad._version


@case
def clip_grad_value_foreach_false_then_norm(t):
    p = P(t)
    (p * 10).sum().backward()
    t.nn.utils.clip_grad_value_([p], 1.0, foreach=False)
    v = p.grad._version
    t.nn.utils.clip_grad_norm_([p], 1.0, foreach=False)
    return v, p.grad._version, p.grad.tolist()


@case
def clip_grad_value_foreach_true(t):
    p = P(t)
    (p * 10).sum().backward()
    t.nn.utils.clip_grad_value_([p], 1.0, foreach=True)
    return p.grad._version


# ``_base`` of a gradient autograd.grad returns: PyTorch's view nodes hand on views of the
# incoming gradient (``expand``, ``view``); chainrule's too since session 44
# (leaf_grad.view_of_root; before, views in memory without ``_base``: strict xfails)


@case
def autograd_grad_view_base(t):
    p = P(t)
    g = t.ones(3)
    (r,) = t.autograd.grad(p.view(3), p, g)
    return r._base is None


@pytest.mark.parametrize("name", list(CASES))
def test_versions_as_torch(name: str) -> None:
    _compare(CASES[name])
