"""Shared builders for the cr.nested tests: the same random ragged components as chainrule
and torch nested tensors, and comparisons of their components."""

from __future__ import annotations

import re

import numpy as np
import torch

import chainrule as cr


def arrays(rng: np.random.Generator, tail: tuple, batch: int = 3, ragged_at: int = 0) -> list:
    """``batch`` float64 arrays of shape ``tail`` with a random size inserted at ``ragged_at``."""
    out = []
    for _ in range(batch):
        shape = list(tail)
        shape.insert(ragged_at, int(rng.integers(1, 6)))
        out.append(rng.standard_normal(shape))
    return out


def pair(arrs: list, layout: str = "jagged", requires_grad: bool = False) -> tuple:
    """The chainrule and torch nested tensors of ``arrs``."""
    c = cr.nested.nested_tensor(
        [cr.tensor(a) for a in arrs], layout=getattr(cr, layout), requires_grad=requires_grad
    )
    t = torch.nested.nested_tensor(
        [torch.tensor(a) for a in arrs], layout=getattr(torch, layout), requires_grad=requires_grad
    )
    return c, t


def assert_same(c: object, t: object, atol: float = 1e-10) -> None:
    """Nested or dense, chainrule's ``c`` equals torch's ``t`` component by component."""
    if isinstance(t, tuple):  # unbound components
        assert len(c) == len(t)
        for x, y in zip(c, t):
            assert_same(x, y, atol)
        return
    if isinstance(t, torch.Tensor) and t.is_nested:
        assert c.is_nested and c.layout is getattr(cr, str(t.layout).split(".")[1])
        cs, ts = c.unbind(), t.unbind()
        assert len(cs) == len(ts)
        for x, y in zip(cs, ts):
            assert tuple(x.shape) == tuple(y.shape)
            np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), atol=atol)
        return
    assert not getattr(c, "is_nested", False)
    assert tuple(c.shape) == tuple(t.shape)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), atol=atol)


def norm_repr(s: str) -> str:
    """A repr with the ragged ``j<n>`` numbers and ``object at 0x...`` addresses blanked."""
    return re.sub(r" object at 0x[0-9a-f]+", "", re.sub(r"\bj\d+", "j", s))


def raises_like(c_fn, t_fn) -> tuple:
    """Both calls raise; the exception types and messages (types must match)."""
    try:
        t_fn()
    except Exception as e:  # noqa: BLE001 - any torch error
        te = e
    else:
        raise AssertionError("torch did not raise")
    try:
        c_fn()
    except Exception as e:  # noqa: BLE001
        ce = e
    else:
        raise AssertionError(f"chainrule did not raise (torch: {type(te).__name__}: {te})")
    assert type(ce).__name__ == type(te).__name__, (ce, te)
    return str(ce), str(te)
