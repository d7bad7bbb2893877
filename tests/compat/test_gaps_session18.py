"""Gaps found by the session-18 drop-in programs (``convnext_block``, ``mamba_selective_scan``,
``capsule_routing``, ``image_captioning``, ``sinkhorn_gumbel``), each checked against PyTorch.

- ``torch.einsum``'s sublist form, ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (opt_einsum and
  ``np.einsum`` ports), raised AttributeError: chainrule read the first operand as the
  equation string.
- einsum's backward refused an operand whose subscripts repeat (``'ii->i'``, ``'bii->b'``,
  ``'iij,j->i'``: a diagonal or trace) with NotImplementedError; PyTorch differentiates it,
  twice as well.
- An explicit einsum output naming a subscript no input has (``'ij->k'``) or naming one twice
  (``'ij->ii'``) raised NumPy's ValueError; PyTorch raises RuntimeError (now both).
- ``torch.inf``, ``torch.nan``, ``torch.pi``, ``torch.e`` and ``torch.newaxis`` (``-torch.inf``
  causal masks, ``2 * torch.pi``) did not exist.
- ``torch._assert(condition, message)`` (timm's and torchvision's input-size checks) did not
  exist.
- ``torch.sparse.torch`` (torch itself, since ``torch.sparse`` imports torch) did not exist;
  gram-ai's CapsNet one-hot encodes labels with ``torch.sparse.torch.eye(n).index_select(...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(18)
A = RNG.standard_normal((2, 3, 4))
B = RNG.standard_normal((4, 5))


def _both(fn: Any) -> tuple[Any, Any]:
    """``fn(lib)`` run with chainrule and torch (float64 tensors of the same arrays)."""
    return fn(chainrule), fn(torch)


def _same(got: Any, want: Any) -> None:
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)


SUBLIST_CASES = [
    ("matmul", lambda a, b: (a[0], [0, 1], b, [1, 2])),
    ("explicit transposed output", lambda a, b: (a[0], [0, 1], b, [1, 2], [2, 0])),
    ("batched, tuple sublists", lambda a, b: (a, (5, 0, 1), b, (1, 2), (5, 2, 0))),
    ("ellipsis", lambda a, b: (a, [Ellipsis, 1], b, [1, 2], [Ellipsis, 2])),
    ("implicit output: 0-25 sort before 26-51", lambda a, b: (a[0], [26, 1], b, [1, 0])),
    ("lowercase range only", lambda a, b: (a[0], [27, 26])),
    ("diagonal", lambda a, b: (a[0, :, :3], [3, 3], [3])),
    ("numpy ints", lambda a, b: (a[0], np.array([0, 1]), b, [np.int64(1), 2])),
]


@pytest.mark.parametrize("build", [c[1] for c in SUBLIST_CASES], ids=[c[0] for c in SUBLIST_CASES])
def test_einsum_sublist_form_matches_torch(build: Any) -> None:
    def run(lib: Any) -> tuple[Any, Any, Any]:
        a = lib.tensor(A, requires_grad=True)
        b = lib.tensor(B, requires_grad=True)
        out = lib.einsum(*build(a, b))
        (out * out).sum().backward()
        return out, a.grad, b.grad

    got, want = _both(run)
    _same(got[0], want[0])
    for g, w in zip(got[1:], want[1:], strict=True):
        assert (g is None) == (w is None)
        if g is not None:
            _same(g, w)


def test_einsum_sublist_form_in_a_mamba_readout() -> None:
    """The program's use: h[b, t, d, n] * C[b, t, n] summed over n, as the string form."""
    h, c = RNG.standard_normal((2, 3, 4, 5)), RNG.standard_normal((2, 3, 5))
    got, want = _both(
        lambda m: m.einsum(m.tensor(h), [0, 1, 2, 3], m.tensor(c), [0, 1, 3], [0, 1, 2])
    )
    _same(got, want)
    _same(got, chainrule.einsum("btdn,btn->btd", chainrule.tensor(h), chainrule.tensor(c)))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (lambda m: (m.tensor(A[0]), [0, 52]), ValueError),
        (lambda m: (m.tensor(A[0]), [0, -1]), ValueError),
        (lambda m: (m.tensor(A[0]), [0, 1.0]), TypeError),
        (lambda m: (m.tensor(A[0]),), ValueError),
        (lambda m: (m.tensor(A[0]), [0, 1], [0], [1]), TypeError),
        (lambda m: (m.tensor(A[0]), [0, 1], m.tensor(B), [1, 2], [3]), RuntimeError),
    ],
    ids=["above 51", "negative", "float", "no sublist", "list as operand", "unknown output"],
)
def test_einsum_sublist_form_errors_match_torch(args: Any, error: type) -> None:
    with pytest.raises(error):
        torch.einsum(*args(torch))
    with pytest.raises(error):
        chainrule.einsum(*args(chainrule))


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ii->i", [(3, 3)]),
        ("ii", [(3, 3)]),
        ("bii->b", [(2, 3, 3)]),
        ("iji->j", [(3, 2, 3)]),
        ("iii->", [(2, 2, 2)]),
        ("iij->j", [(3, 3, 4)]),
        ("iij,j->i", [(3, 3, 4), (4,)]),
        ("ii,ij->j", [(3, 3), (3, 4)]),
    ],
)
def test_einsum_repeated_subscripts_backward_matches_torch(equation: str, shapes: list) -> None:
    """First and second derivatives through an operand's diagonal, as torch's."""
    arrays = [RNG.standard_normal(s) for s in shapes]

    def run(m: Any) -> list[Any]:
        ts = [m.tensor(a, requires_grad=True) for a in arrays]
        out = m.einsum(equation, *ts)
        grads = m.autograd.grad((out * out).sum(), ts, create_graph=True)
        second = m.autograd.grad((grads[0] * grads[0]).sum(), ts)
        return [out, *grads, *second]

    got, want = _both(run)
    for g, w in zip(got, want, strict=True):
        _same(g, w)


@pytest.mark.parametrize("equation", ["ij->k", "ij->ii", "i...->...k"])
def test_einsum_bad_output_subscripts_raise_runtime_error(equation: str) -> None:
    with pytest.raises(RuntimeError):
        torch.einsum(equation, torch.tensor(A[0]))
    with pytest.raises(RuntimeError, match="output subscript"):
        chainrule.einsum(equation, chainrule.tensor(A[0]))


@pytest.mark.parametrize("name", ["inf", "nan", "pi", "e", "newaxis"])
def test_float_constants_match_torch(name: str) -> None:
    want, got = getattr(torch, name), getattr(chainrule, name)
    assert type(got) is type(want)
    if want is None:
        assert got is None
    else:
        np.testing.assert_equal(got, want)
    assert name in chainrule.__all__  # ``from torch import *`` gives them too


def test_constants_in_use_match_torch() -> None:
    """A causal mask filled with ``-torch.inf`` through ``exp``, and ``x[:, torch.newaxis]``."""

    def run(m: Any) -> tuple[Any, Any, Any]:
        x = m.tensor(A[0, :, :3], requires_grad=True)
        mask = ~m.tril(m.ones(3, 3, dtype=m.bool))
        y = m.exp(x.masked_fill(mask, -m.inf)) * m.cos(2 * m.pi * x / m.e)
        y.sum().backward()
        return y, x.grad, x[:, m.newaxis]

    got, want = _both(run)
    for g, w in zip(got, want, strict=True):
        _same(g, w)


def test_sparse_torch_is_the_package() -> None:
    assert torch.sparse.torch is torch
    assert chainrule.sparse.torch is chainrule
    labels = [2, 0, 1, 2]
    got, want = _both(lambda m: m.sparse.torch.eye(3).index_select(dim=0, index=m.tensor(labels)))
    _same(got, want)


@pytest.mark.parametrize(
    "condition",
    [True, False, 1, 0, "tensor-true", "tensor-false", "tensor-two"],
)
def test_assert_matches_torch(condition: Any) -> None:
    def outcome(m: Any) -> str:
        cond = condition
        if isinstance(condition, str):
            cond = {"tensor-true": [True], "tensor-false": [False], "tensor-two": [True, False]}
            cond = m.tensor(cond[condition]).reshape(-1)
            cond = cond[0] if cond.numel() == 1 else cond
        try:
            result = m._assert(cond, "input size must divide by 4")
        except AssertionError as err:
            return f"AssertionError: {err}"
        except RuntimeError:
            return "RuntimeError"
        return repr(result)

    assert outcome(chainrule) == outcome(torch)
