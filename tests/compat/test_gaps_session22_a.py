"""Gaps found by the session-22 drop-in programs (``made_maf_flow``, ``deepar_forecast``,
``cox_survival``, ``s4d_kernel``, ``convlstm_video``) and by probing the APIs next to their
idioms, each checked against PyTorch.

- ``einsum`` with operands of mixed dtypes refused every equation that sums a subscript
  present in two operands; PyTorch refuses only a real contraction (``bmm``): a summed
  subscript of size 1 in all operands but one (S4D's ``einsum('hn, hnl -> hl', C, ...)`` with
  a single state, ``'ij,ij->i'`` against an ``(n, 1)`` operand, ``'ij,jk->ik'`` with ``j = 1``)
  is summed within its operand and the products promote (complex64 with complex128 gives
  complex128).
- ``view_as_real`` / ``view_as_complex`` copied: writing into the result (``view_as_real(
  z).mul_(2)``, ``view_as_complex(x)[0] = ...``, as code that keeps complex parameters as
  ``nn.Parameter(torch.view_as_real(C))`` and updates them in place does) did not reach the
  other tensor. They are views now, sharing memory (and version counter and ``_base``) as in
  PyTorch; autograd's view replay and ``CopySlices`` take a view of another dtype on its
  real side (the complex base's float view, or the complex view's), so in-place writes
  through either, and views gone stale after their base changed, get PyTorch's gradients
  (and PyTorch's error when a saved tensor was changed through the view).
- ``x.real = value`` / ``x.imag = value`` raised AttributeError (the properties had no
  setter). PyTorch writes the parts in place (``x.real.copy_(value)``: broadcast, cast,
  recorded by autograd; a real ``x`` is overwritten by ``x.real = v``; ``x.imag = v`` on a
  real tensor is a RuntimeError).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

Z = np.array([[1 + 2j, 3 - 1j, 0.5j], [2, -1j, 1 + 1j]])


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("hn,hnl->hl", ((2, 1), (2, 1, 3))),
        ("ij,ij->i", ((2, 1), (2, 3))),
        ("ij,ij->i", ((2, 3), (2, 1))),
        ("ij,jk->ik", ((2, 1), (1, 3))),
        ("i,i->", ((1,), (4,))),
        ("ij,jk,kl->il", ((2, 1), (1, 1), (1, 3))),
        ("...j,...j->...", ((2, 1), (2, 3))),
    ],
)
@pytest.mark.parametrize("kind", ["float", "complex"])
def test_einsum_size_one_sum_promotes(equation: str, shapes: tuple, kind: str) -> None:
    rng = np.random.default_rng(0)
    results = []
    for lib in (torch, chainrule):
        low, high = (lib.float32, lib.float64) if kind == "float" else (lib.cfloat, lib.cdouble)
        ops = []
        for i, shape in enumerate(shapes):
            data = rng.standard_normal(shape) + (
                1j * rng.standard_normal(shape) if kind == "complex" else 0
            )
            ops.append(lib.tensor(data, dtype=low if i == 0 else high))
        out = lib.einsum(equation, *ops)
        results.append((str(out.dtype), tuple(out.shape), out.numpy()))
        rng = np.random.default_rng(0)
    assert results[0][:2] == results[1][:2]
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-6)


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [("ij,ij->i", ((2, 3), (2, 3))), ("ij,jk,kl->il", ((2, 3), (3, 1), (1, 3)))],
)
def test_einsum_mixed_contraction_still_refused(equation: str, shapes: tuple) -> None:
    for lib in (torch, chainrule):
        ops = [
            lib.ones(*s, dtype=lib.float32 if i == 0 else lib.float64) for i, s in enumerate(shapes)
        ]
        with pytest.raises(RuntimeError):
            lib.einsum(equation, *ops)


def _write_through_view_as_real(lib: Any) -> list:
    z = lib.tensor(Z)
    r = lib.view_as_real(z)
    r.mul_(2)
    r[..., 1].add_(1)
    z[0, 0] = 5 + 5j
    return [z.tolist(), r.tolist(), r._base is z, r.stride(), r.is_contiguous()]


def _write_through_view_as_complex(lib: Any) -> list:
    x = lib.tensor(np.arange(12.0).reshape(3, 2, 2))
    c = lib.view_as_complex(x)
    c.mul_(1j)
    c[0, 1] = 7 - 1j
    back = lib.view_as_real(c)
    return [x.tolist(), c.tolist(), c._base is x, c.stride(), back._base is x, x._version]


@pytest.mark.parametrize("build", [_write_through_view_as_real, _write_through_view_as_complex])
def test_view_as_real_and_complex_share_memory(build: Any) -> None:
    assert build(chainrule) == build(torch)


def test_view_as_real_of_strided_complex_is_a_view() -> None:
    got, want = [], []
    for lib, out in ((torch, want), (chainrule, got)):
        z = lib.tensor(Z).t()[::2]
        r = lib.view_as_real(z)
        r.zero_()
        out += [z.tolist(), r.stride(), lib.view_as_real(lib.tensor(1 + 2j)).tolist()]
    assert got == want


def test_complex_parameter_kept_as_real_view() -> None:
    """S4D's ``nn.Parameter(torch.view_as_real(C))``: read back with ``view_as_complex``,
    trained in place by the optimizer."""
    got, want = [], []
    for lib, out in ((torch, want), (chainrule, got)):
        p = lib.nn.Parameter(lib.view_as_real(lib.tensor(Z, dtype=lib.cfloat)))
        opt = lib.optim.SGD([p], lr=0.1)
        c = lib.view_as_complex(p)
        (c * (1 + 1j)).real.sum().backward()
        opt.step()
        with lib.no_grad():
            lib.view_as_real(lib.view_as_complex(p)).mul_(2)
        out += [p.tolist(), p.grad.tolist(), p.is_leaf, str(p.dtype)]
    assert got == want


def _grad_through_view_as_real(lib: Any) -> list:
    a = lib.tensor(Z, requires_grad=True)
    z = a * 1
    r = lib.view_as_real(z)
    r[..., 0].add_(1.5)
    r[1].mul_(lib.tensor([2.0, -1.0]))
    (z.abs() ** 2).sum().backward()
    return [a.grad.numpy(), z.detach().numpy()]


def _grad_through_view_as_complex(lib: Any) -> list:
    x = lib.tensor(np.arange(12.0).reshape(3, 2, 2), requires_grad=True)
    w = lib.tensor(np.arange(6.0).reshape(3, 2) + 1j, requires_grad=True)
    y = x * 2
    c = lib.view_as_complex(y)
    c.mul_(w)
    (y**2 * lib.arange(12.0, dtype=lib.float64).reshape(3, 2, 2)).sum().backward()
    return [x.grad.numpy(), w.grad.numpy(), y.detach().numpy()]


def _stale_dtype_view(lib: Any) -> list:
    """The base changed in place after the view was taken: the view is replayed from it."""
    a = lib.tensor(Z, requires_grad=True)
    z = a * 1
    r = lib.view_as_real(z)
    z.mul_(lib.tensor([1j, 2.0, -1.0]))
    (r * lib.arange(12.0, dtype=lib.float64).reshape(2, 3, 2)).sum().backward()
    return [a.grad.numpy(), r.detach().numpy()]


@pytest.mark.parametrize(
    "build", [_grad_through_view_as_real, _grad_through_view_as_complex, _stale_dtype_view]
)
def test_in_place_through_dtype_views_is_recorded(build: Any) -> None:
    """Writes through a view of another dtype rebase the base (CopySlices) and stale views
    replay, with PyTorch's gradients."""
    for got, want in zip(build(chainrule), build(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_dtype_view_errors_as_torch() -> None:
    """A saved tensor modified through the view, and a view of a leaf, raise as in PyTorch."""
    for lib in (torch, chainrule):
        a = lib.tensor(Z, requires_grad=True)
        e = a.exp()
        lib.view_as_real(e).mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace|modified by an in-place"):
            e.sum().abs().backward()
        leaf = lib.tensor(Z, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            lib.view_as_real(leaf).mul_(2)


def _set_parts(lib: Any) -> list:
    z = lib.tensor([1 + 2j, 3 - 1j])
    z.real = lib.tensor([5.0, 6.0], dtype=lib.float64)
    first = z.tolist()
    z.imag = 7
    second = z.tolist()
    z.real = lib.tensor(9.0)
    c = lib.tensor([1 + 2j, 3 - 1j], dtype=lib.cfloat)
    c.imag = lib.tensor([0.5, 1.5])
    x = lib.ones(2)
    x.real = lib.tensor([3.0, 4.0])
    row = lib.tensor([[1 + 2j, 3 - 1j]])
    view = row[0]
    view.real = lib.tensor([1.0, 1.0])
    return [first, second, z.tolist(), c.tolist(), str(c.dtype), x.tolist(), row.tolist()]


def test_real_and_imag_setters_write_in_place() -> None:
    assert _set_parts(chainrule) == _set_parts(torch)


@pytest.mark.parametrize("part", ["real", "imag"])
def test_part_setter_gradients(part: str) -> None:
    grads = []
    for lib in (torch, chainrule):
        a = lib.tensor([1 + 2j, 3 - 1j], dtype=lib.cdouble, requires_grad=True)
        v = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        b = a * 1
        setattr(b, part, v * 3)
        (b * lib.tensor([1 + 1j, 2 - 1j], dtype=lib.cdouble)).abs().sum().backward()
        grads.append((a.grad.numpy(), v.grad.numpy()))
    for got, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_part_setter_errors_and_warning() -> None:
    for lib in (torch, chainrule):
        with pytest.raises(RuntimeError, match="imag is not implemented"):
            lib.ones(2).imag = lib.ones(2)
        with pytest.raises(RuntimeError):
            lib.tensor([1 + 2j, 3 - 1j]).real = lib.ones(3)
        with pytest.raises(RuntimeError, match="leaf"):
            lib.tensor([1 + 2j], requires_grad=True).real = lib.ones(1)
        z = lib.tensor([1 + 2j])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            z.real = lib.tensor([1 + 5j])
        assert z.tolist() == [1 + 2j]
        # torch warns once per process (TORCH_WARN_ONCE: another test in this worker may
        # have used it up); chainrule's warn-once is reset for every test (conftest)
        assert lib is torch or any("discards the imaginary part" in str(w.message) for w in caught)
