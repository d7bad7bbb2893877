"""Helpers shared by the complex linear-algebra tests: numpy views of either framework's
tensors, and one value-and-gradient comparison against PyTorch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

import chainrule as cr

__all__ = ["compare_value_and_grads", "to_numpy"]


def to_numpy(t) -> np.ndarray:
    """A detached tensor of either framework as a NumPy array (conjugation resolved)."""
    t = t.detach()
    return t.resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.numpy()


def compare_value_and_grads(
    fn_cr: Callable, fn_torch: Callable, arrays: list, weights: Callable, *, rtol: float = 1e-8
) -> None:
    """Same dtype, value and input gradients in both frameworks, for the real loss
    Re(sum(W * out)) with complex W = ``weights(out_shape)``."""
    c_in = [cr.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    c_out, t_out = fn_cr(*c_in), fn_torch(*t_in)
    assert str(c_out.dtype) == str(t_out.dtype)
    np.testing.assert_allclose(to_numpy(c_out), to_numpy(t_out), rtol=rtol, atol=1e-10)
    w = weights(*c_out.shape)
    (c_out * cr.tensor(w)).real.sum().backward()
    (t_out * torch.tensor(w)).real.sum().backward()
    for c, t in zip(c_in, t_in):
        np.testing.assert_allclose(to_numpy(c.grad), to_numpy(t.grad), rtol=rtol, atol=1e-9)
