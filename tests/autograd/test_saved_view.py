"""``grad_fn._saved_<name>`` and ``_raw_saved_<name>.register_hooks`` as PyTorch's "Hooks for
saved tensors" tutorial uses them: which object comes back, per-tensor hooks, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _tutorial(lib):
    out = []
    a = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    y = a.exp()
    out.append(("result equals y", bool(y.equal(y.grad_fn._saved_result))))
    out.append(("result is y", y is y.grad_fn._saved_result))
    x = y.pow(2)
    out.append(("pow saves its input itself", x.grad_fn._saved_self is y))
    z = a * y
    out.append(("mul", z.grad_fn._saved_self is a, z.grad_fn._saved_other is y))
    s = a.sin()
    out.append(("sin", s.grad_fn._saved_self is a, hasattr(s.grad_fn, "_saved_result")))
    w = lib.ones(3, 2, dtype=lib.float64, requires_grad=True)
    m = a[:2].reshape(2, 1) @ w[:1]
    out.append(("mm", m.grad_fn._saved_mat2.tolist(), m.grad_fn._saved_self.shape == (2, 1)))
    c = lib.ones(2, 3, dtype=lib.float64)
    only_mat2 = c @ w  # mat2 needs a gradient, self does not: mm saves self only
    only_self = w.T @ c.T  # self needs one: mm saves mat2 only
    out.append(("mm slot not filled is None", only_mat2.grad_fn._saved_mat2 is None))
    out.append(("mm self kept", only_mat2.grad_fn._saved_self is c))
    out.append(("mm self slot None", only_self.grad_fn._saved_self is None))
    log = []
    raw = y.grad_fn._raw_saved_result
    raw.register_hooks(
        lambda t: log.append("pack") or t.detach() * 1, lambda t: log.append("unpack") or t * 10
    )
    out.append(("after register", list(log)))
    with pytest.raises(RuntimeError, match="hooks have already been set"):
        raw.register_hooks(lambda t: t, lambda t: t)
    y.sum().backward()
    out.append(("after backward", list(log), a.grad.tolist()))
    with pytest.raises(RuntimeError, match="second time"):
        y.grad_fn._saved_result  # noqa: B018
    with pytest.raises(AttributeError):
        z.grad_fn._saved_mat2  # noqa: B018
    return out


def test_saved_attributes_and_raw_hooks_match_torch():
    expected, got = _tutorial(torch), _tutorial(cr)
    assert got == expected
    # the unpack hook's x10 reached the gradient: d/da exp(a) read back as 10 exp(a)
    np.testing.assert_allclose(got[-1][2], 10 * np.exp([0.5, -1.0, 2.0]))
