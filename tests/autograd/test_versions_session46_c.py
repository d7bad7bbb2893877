"""Version counters and views as PyTorch's, session 45 survey, second part (moved here from
:mod:`test_versions_session45` in session 46, every case kept), compared as
:mod:`test_versions_session42_b`:

- optimizer steps' versions with ``foreach=True/False`` and a view of the parameter;
- ``no_grad`` writes into views of leaves, ``retain_grad`` and ``register_hook`` on views
  written in place afterwards (a hook on the view written is bypassed as by PyTorch's
  ``CopySlices`` since session 46);
- versions and bases of the views themselves.
"""

from __future__ import annotations

import pytest

from ._version_cases import M, P, case_registry, hook_trace, non_leaf
from .test_versions_session42_b import _compare

__all__: list[str] = []

CASES, case = case_registry()


# --- E: optimizer steps and a view of the parameter
def _param(t):
    return t.nn.Parameter(t.tensor([1.0, -2.0, 3.0]))


def _steps(t, name, foreach, **kw):
    p = _param(t)
    v = p[0:2]
    opt = getattr(t.optim, name)([p], foreach=foreach, **kw)
    for _ in range(2):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    return p, p._version, v._version, p.grad._version, v


def _opt_case(name, foreach, **kw):
    def f(t):
        return _steps(t, name, foreach, **kw)

    f.__name__ = f"opt_{name.lower()}_{'foreach' if foreach else 'loop'}" + "".join(
        f"_{k}" for k in kw
    )
    CASES[f.__name__] = f


for _foreach in (True, False):
    _opt_case("SGD", _foreach, lr=0.1)
    _opt_case("SGD", _foreach, lr=0.1, momentum=0.9)
    _opt_case("Adam", _foreach, lr=0.1)
    _opt_case("AdamW", _foreach, lr=0.1)
    _opt_case("RMSprop", _foreach, lr=0.1)
    _opt_case("Adagrad", _foreach, lr=0.1)


@case
def opt_view_written_between_steps(t):
    p = _param(t)
    opt = t.optim.SGD([p], lr=0.1, foreach=True)
    (p * p).sum().backward()
    opt.step()
    with t.no_grad():
        p[1:].mul_(2)
    opt.step()
    return p, p._version


# --- F: no_grad writes into views of leaves
@case
def no_grad_slice_of_leaf_written(t):
    p = P(t)
    with t.no_grad():
        p[0:2].mul_(2)
    (p * 1).sum().backward()
    return p, p._version, p.is_leaf, p.grad


@case
def no_grad_view_kept_and_written(t):
    p = P(t)
    with t.no_grad():
        v = p.view(3)
        v.add_(1)
    return v, v.requires_grad, v.is_leaf, p._version


@case
def grad_view_written_under_no_grad(t):
    p = P(t)
    v = p[0:2]
    with t.no_grad():
        v.add_(1)
    (v * 2).sum().backward()
    return p, p.grad, v._version, v.grad_fn is not None


@case
def no_grad_view_of_view_of_leaf(t):
    m = M(t)
    with t.no_grad():
        m[1][0:2].zero_()
    m.sum().backward()
    return m, m.grad, m._version


@case
def no_grad_view_written_later_under_grad(t):
    p = P(t)
    with t.no_grad():
        v = p[1:]
    v.mul_(2)
    return p


@case
def no_grad_setitem_on_leaf_view(t):
    m = M(t)
    with t.no_grad():
        v = m[0]
        v[1] = 10.0
    return m, m._version, v._version


# --- G: retain_grad on views
@case
def retain_grad_on_view(t):
    b, _ = non_leaf(t)
    v = b[0]
    v.retain_grad()
    (v * 2).sum().backward()
    return v.grad, v.grad._version


@case
def retain_grad_on_view_then_written(t):
    b, m = non_leaf(t)
    v = b[0]
    v.retain_grad()
    v.mul_(2)
    b.sum().backward()
    return v.grad, m.grad


@case
def retain_grad_on_base_then_view_written(t):
    b, m = non_leaf(t)
    b.retain_grad()
    b[1].add_(1)
    (b * b).sum().backward()
    return b.grad, m.grad


@case
def retain_grad_view_of_view(t):
    b, _ = non_leaf(t)
    v = b[:, 1:][1]
    v.retain_grad()
    (b * 2).sum().backward()
    return v.grad


@case
def retain_grad_view_other_view_written(t):
    b, _ = non_leaf(t)
    v = b[0]
    v.retain_grad()
    b[1].mul_(2)
    (v * 3).sum().backward()
    return v.grad


# --- H: register_hook on views, then in place
def _hook_case(t, write):
    b, m = non_leaf(t)
    v = b[0]
    seen = hook_trace(v)
    write(b, v)
    b.sum().backward()
    return tuple(seen), m.grad


@case
def hook_on_view_then_view_written(t):
    return _hook_case(t, lambda b, v: v.mul_(2))


@case
def hook_on_view_then_base_written(t):
    return _hook_case(t, lambda b, v: b.mul_(2))


@case
def hook_on_view_then_other_view_written(t):
    return _hook_case(t, lambda b, v: b[1].add_(1))


@case
def hook_on_base_then_view_written(t):
    b, m = non_leaf(t)
    seen = hook_trace(b)
    b[0].mul_(2)
    (b * 1).sum().backward()
    return tuple(seen), m.grad


@case
def hook_changes_grad_on_view_then_written(t):
    b, m = non_leaf(t)
    v = b[:, 0]
    v.register_hook(lambda g: g * 10)
    v.add_(1)
    b.sum().backward()
    return m.grad


@case
def hook_on_leaf_view_under_no_grad_written(t):
    p = P(t)
    v = p[0:2]
    seen = hook_trace(v)
    with t.no_grad():
        v.mul_(2)
    (v * 1).sum().backward()
    return tuple(seen), p.grad


# --- I: versions and bases of the views themselves
@case
def version_shared_through_three_views(t):
    b, _ = non_leaf(t)
    v1 = b.view(6)
    v2 = v1[1:]
    v3 = v2.view(5, 1)
    v3.mul_(2)
    return b._version, v1._version, v2._version, v3._version, v3._base is b


@case
def view_base_after_write(t):
    b, _ = non_leaf(t)
    v = b[0][1:]
    v.add_(1)
    return v._base is b, v._is_view(), type(v.grad_fn).__name__


@case
def view_grad_fn_after_other_view_written(t):
    b, _ = non_leaf(t)
    v = b[0]
    b[1].mul_(2)
    return type(v.grad_fn).__name__, type(b.grad_fn).__name__


@case
def out_argument_into_view(t):
    b, _ = non_leaf(t)
    with t.no_grad():
        t.mul(t.ones(3), 2, out=b[0])
    return b, b._version


@case
def inplace_on_view_integer_base(t):
    b = t.arange(6).reshape(2, 3)
    v = b[:, 1]
    v.add_(1)
    b[0].mul_(2)
    return b, b._version, v._version


@case
def view_of_leaf_detached_written(t):
    m = M(t)
    d = m[0].detach()
    d.add_(1)
    return m, m._version, d._version


@case
def as_strided_view_written(t):
    b, m = non_leaf(t)
    v = b.as_strided((2,), (3,), 1)
    v.mul_(5)
    b.sum().backward()
    return m.grad, b


@pytest.mark.parametrize("name", list(CASES))
def test_versions_and_views_as_torch(name: str) -> None:
    _compare(CASES[name])
