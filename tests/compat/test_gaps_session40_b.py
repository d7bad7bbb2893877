"""Gaps found by the session-40 (batch b) drop-in programs (``d2l_modern_rnns_scratch``,
``autograd_function_ctx_numpy_ext``), each checked against PyTorch.

- ``reversed(x)`` on a tensor (d2l's ``BiRNNScratch`` runs its backward RNN on
  ``reversed(inputs)``) gave Python's lazy ``reversed`` iterator: ``Tensor`` had no
  ``__reversed__``. It is now PyTorch's ``x.flip(0)`` (a copy under ``FlipBackward0``, its
  ``_saved_dims`` ``(0,)``), and a 0-d tensor is returned itself.
- ``torch.autograd.function.FunctionCtx`` (the type of a custom Function's ``ctx``, named in
  annotations and ``isinstance`` checks of typed code and of the ``FunctionCtx`` reference
  examples) was missing. ``isinstance(ctx, FunctionCtx)`` now holds in ``forward``,
  ``setup_context`` and ``backward`` and for the outputs' ``grad_fn``, not for a built-in
  op's ``grad_fn``, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _reversed_case(m: Any) -> tuple:
    x = m.arange(12.0, dtype=m.float64).reshape(3, 4).requires_grad_()
    r = reversed(x)
    weights = m.arange(12.0, dtype=m.float64).reshape(3, 4)
    (r * weights).sum().backward()
    node = (type(r.grad_fn).__name__, tuple(r.grad_fn._saved_dims))
    with m.no_grad():
        r[0, 0] = 100.0  # a copy: the write does not reach x
    scalar = m.tensor(2.5)
    return (
        r.detach().numpy().copy(),
        x.detach().numpy().copy(),
        x.grad.numpy().copy(),
        node,
        reversed(scalar) is scalar,
        [t.tolist() for t in reversed(m.tensor([[1, 2], [3, 4]]))],
    )


def test_reversed_tensor_is_flip_along_dim_0() -> None:
    want, got = _reversed_case(torch), _reversed_case(chainrule)
    for w, g in zip(want, got, strict=True):
        if isinstance(w, np.ndarray):
            np.testing.assert_array_equal(g, w)
        else:
            assert g == w


def test_reversed_of_a_list_of_tensors_is_untouched() -> None:
    """d2l zips ``f_outputs`` with ``reversed(b_outputs)``, a Python list: still Python's."""
    outputs = [chainrule.tensor([float(i)]) for i in range(3)]
    assert [float(t) for t in reversed(outputs)] == [2.0, 1.0, 0.0]


def _ctx_checks(m: Any) -> list:
    FunctionCtx = m.autograd.function.FunctionCtx
    seen: list = []

    class Combined(m.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            seen.append(("forward", isinstance(ctx, FunctionCtx)))
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            seen.append(("backward", isinstance(ctx, FunctionCtx)))
            return g * 2

    class Separate(m.autograd.Function):
        @staticmethod
        def forward(x: Any) -> Any:
            return x * 3

        @staticmethod
        def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
            seen.append(("setup_context", isinstance(ctx, FunctionCtx)))

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 3

    x = m.ones(2, requires_grad=True)
    y = Combined.apply(x)
    z = Separate.apply(x)
    seen.append(("grad_fn", isinstance(y.grad_fn, FunctionCtx)))
    seen.append(("separate grad_fn", isinstance(z.grad_fn, FunctionCtx)))
    seen.append(("built-in grad_fn", isinstance(m.exp(x).grad_fn, FunctionCtx)))
    seen.append(("leaf", isinstance(x, FunctionCtx)))
    seen.append(("plain", isinstance(FunctionCtx(), FunctionCtx)))
    (y.sum() + z.sum()).backward()
    seen.append(("grad", x.grad.tolist()))
    return seen


def test_function_ctx_isinstance() -> None:
    assert _ctx_checks(chainrule) == _ctx_checks(torch)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_function_ctx_names(m: Any) -> None:
    from_module = __import__(f"{m.__name__}.autograd.function", fromlist=["FunctionCtx"])
    assert from_module.FunctionCtx is m.autograd.function.FunctionCtx
    assert m.autograd.function.FunctionCtx.__name__ == "FunctionCtx"
