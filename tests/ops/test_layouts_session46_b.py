"""Batch norm's input gradient for an incoming gradient that is not row-major (session 46).

PyTorch lays batch norm's input gradient out in the input's suggested memory format whatever
the incoming gradient's layout. chainrule's followed the incoming gradient's; with a
channels-last one it now computes from a row-major copy (its float32 sums then round as
for a row-major gradient: NumPy's sums over a channels-last array, added row by row, moved
the drop-in program ``mit_dbvae_debiasing`` off PyTorch's losses once relu's gradient took
PyTorch's channels-last layout) and lays the result out as PyTorch's. The last gap (a
channels-last input with a row-major incoming gradient, session 45's strict xfail in
``test_result_layouts_session45.py``) closed in session 47.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(46462)
X = _RNG.standard_normal((2, 4, 3, 5))
G = _RNG.standard_normal((2, 4, 3, 5))


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def lay(t: Any) -> list:
    lib = torch if isinstance(t, torch.Tensor) else cr
    return [tuple(t.shape), t.stride(), t.is_contiguous(memory_format=lib.channels_last)]


def laid(lib: Any, a: Any, kind: str, grad: bool = False) -> Any:
    """``a``'s values channels-last (``cl``), last dims transposed (``t``) or row-major."""
    if kind == "cl":
        out = lib.tensor(a.transpose(0, 2, 3, 1).copy(), requires_grad=grad)
        return out.permute(0, 3, 1, 2)
    if kind == "t":
        return lib.tensor(a.swapaxes(2, 3).copy(), requires_grad=grad).transpose(2, 3)
    return lib.tensor(a, requires_grad=grad)


NORMS: dict[str, Any] = {
    "batch_norm": lambda lib, a: F(lib).batch_norm(a, None, None, training=True),
    "batch_norm_affine": lambda lib, a: F(lib).batch_norm(
        a, None, None, lib.linspace(0.5, 2, 4, dtype=a.dtype), lib.ones(4, dtype=a.dtype), True
    ),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("inp", ["cl", "row", "t"])
@pytest.mark.parametrize("op", list(NORMS))
def test_batch_norm_gradient_of_a_channels_last_incoming_gradient(
    op: str, inp: str, dtype: str
) -> None:
    def run(lib: Any) -> list:
        a = laid(lib, X.astype(dtype), inp, grad=True)
        y = NORMS[op](lib, a)
        return list(lib.autograd.grad((y * laid(lib, G.astype(dtype), "cl")).sum(), a))

    got, want = run(cr), run(torch)
    assert [lay(g) for g in got] == [lay(w) for w in want]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-10 if dtype == "float64" else 1e-5)


def test_relu_after_batch_norm_in_float32_channels_last() -> None:
    """The drop-in program's pattern: a channels-last batch, batch norm, relu, a row-major
    incoming gradient. relu's gradient is channels-last (PyTorch's), batch norm's input
    gradient too, and its float32 values stay within a few ulp of PyTorch's."""

    def run(lib: Any) -> list:
        a = laid(lib, X.astype(np.float32), "cl", grad=True)
        w = lib.linspace(0.5, 2, 4).requires_grad_()
        b = lib.zeros(4).requires_grad_()
        h = F(lib).batch_norm(a, None, None, w, b, training=True)
        y = F(lib).relu(h)
        gh, ga, gw, gb = lib.autograd.grad(
            (y * lib.tensor(G.astype(np.float32))).sum(), (h, a, w, b)
        )
        return [gh, ga, gw, gb]

    got, want = run(cr), run(torch)
    assert [lay(g) for g in got[:2]] == [lay(w) for w in want[:2]]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("grad", ["row", "cl"])
@pytest.mark.parametrize("inp", ["cl", "row", "t"])
@pytest.mark.parametrize("op", list(NORMS))
def test_batch_norm_gradient_under_create_graph(op: str, inp: str, grad: str) -> None:
    """Under ``create_graph`` the input gradient is laid out in the input's suggested
    format whatever the incoming gradient's (PyTorch's ``native_batch_norm_backward``); the
    second order's values as PyTorch's (its layout is not compared: PyTorch's follows its
    double-backward formula, chainrule's is row-major)."""

    def run(lib: Any) -> list:
        a = laid(lib, X, inp, grad=True)
        y = NORMS[op](lib, a)
        g = lib.autograd.grad((y * laid(lib, G, grad)).sum(), a, create_graph=True)[0]
        return [g, lib.autograd.grad((g * g).sum(), a)[0]]

    got, want = run(cr), run(torch)
    assert lay(got[0]) == lay(want[0])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-9)
