"""Shared helpers for the distribution tests: build the same distribution in chainrule and
PyTorch from one set of float64 parameters, and compare results and gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd

__all__ = ["Pair", "assert_close", "build", "compare_method", "to_np"]


def to_np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, cr.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def assert_close(a: Any, b: Any, rtol: float = 1e-9, atol: float = 1e-11) -> None:
    a_np, b_np = to_np(a), to_np(b)
    assert a_np.shape == b_np.shape, (a_np.shape, b_np.shape)
    np.testing.assert_allclose(a_np, b_np, rtol=rtol, atol=atol, equal_nan=True)


class Pair:
    """The same distribution in both libraries, with leaf parameter tensors for each."""

    def __init__(self, make: Callable[[Any, dict], Any], params: dict[str, Any]) -> None:
        self.np_params = {k: np.asarray(v) for k, v in params.items()}
        self.cr_params = {
            k: cr.tensor(v, requires_grad=v.dtype.kind == "f") for k, v in self.np_params.items()
        }
        self.t_params = {
            k: torch.tensor(v, requires_grad=v.dtype.kind == "f") for k, v in self.np_params.items()
        }
        self.cr = make(crd, self.cr_params)
        self.t = make(td, self.t_params)

    def zero_grad(self) -> None:
        for p in list(self.cr_params.values()):
            p.grad = None
        for p in list(self.t_params.values()):
            p.grad = None


def build(make: Callable[[Any, dict], Any], **params: Any) -> Pair:
    return Pair(make, params)


def _call(obj: Any, name: str, args: tuple) -> Any:
    attr = getattr(obj, name)
    return attr(*args) if callable(attr) else attr


def compare_method(
    pair: Pair,
    name: str,
    value: np.ndarray | None = None,
    value_grad: bool = True,
    rtol: float = 1e-9,
    atol: float = 1e-11,
) -> None:
    """Compare ``pair.<name>(value)`` (or the property ``name``) between the libraries:
    values, exception type if torch raises, and gradients of a weighted sum wrt every float
    parameter (and the value, when ``value_grad``)."""
    pair.zero_grad()
    cr_args: tuple = ()
    t_args: tuple = ()
    if value is not None:
        value = np.asarray(value)
        is_float = value.dtype.kind == "f"
        cr_v = cr.tensor(value, requires_grad=value_grad and is_float)
        t_v = torch.tensor(value, requires_grad=value_grad and is_float)
        cr_args, t_args = (cr_v,), (t_v,)
    try:
        t_out = _call(pair.t, name, t_args)
    except Exception as e:  # torch raises: chainrule must raise the same type
        try:
            _call(pair.cr, name, cr_args)
        except type(e):
            return
        raise AssertionError(
            f"torch raised {type(e).__name__} for {name}; chainrule did not"
        ) from None
    cr_out = _call(pair.cr, name, cr_args)
    assert cr_out.dtype == getattr(cr, str(t_out.dtype).replace("torch.", "")), (
        cr_out.dtype,
        t_out.dtype,
    )
    assert_close(cr_out, t_out, rtol, atol)
    if not t_out.requires_grad or not t_out.dtype.is_floating_point:
        assert not cr_out.requires_grad
        return
    w = np.random.default_rng(1).standard_normal(tuple(t_out.shape))
    finite = np.isfinite(to_np(t_out))
    w = np.where(finite, w, 0.0)
    t_leaves = [*pair.t_params.values(), *t_args]
    cr_leaves = [*pair.cr_params.values(), *cr_args]
    t_used = [p for p in t_leaves if p.requires_grad]
    cr_used = [p for p in cr_leaves if p.requires_grad]
    t_grads = torch.autograd.grad(
        (torch.where(torch.tensor(finite), t_out, 0.0) * torch.tensor(w)).sum(),
        t_used,
        allow_unused=True,
        retain_graph=True,  # lazily cached probs/logits keep their graph
    )
    cr_grads = cr.autograd.grad(
        (cr.where(cr.tensor(finite), cr_out, 0.0) * cr.tensor(w)).sum(),
        cr_used,
        allow_unused=True,
        retain_graph=True,  # lazily cached probs/logits keep their graph
    )
    for tg, cg in zip(t_grads, cr_grads):
        if tg is None:
            assert cg is None or not np.any(to_np(cg)), "chainrule has a gradient torch lacks"
            continue
        assert cg is not None, "torch has a gradient chainrule lacks"
        assert_close(cg, tg, rtol=max(rtol, 1e-8), atol=max(atol, 1e-10))
