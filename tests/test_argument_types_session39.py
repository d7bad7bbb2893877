"""PyTorch's argument errors, third pass (session 39), checked against torch live: each case
runs the same expression in both libraries and compares the outcome (the values, or the
error's type and full message).

- ``norm``'s order: a NumPy number or a 0-d tensor is read as its number (``x.norm(
  cr.tensor(1.5))`` was refused), a tuple or list is ``linalg_vector_norm``'s TypeError, a
  string ``linalg.matrix_norm``'s RuntimeError, a complex order ``linalg.vector_norm``'s
  (``F.normalize`` passes them on unprefixed);
- ``Tensor.to``'s three forms: a call fitting none lists them (``x.to(dtype=True)``,
  ``x.to(x, cr.float64)``, two dtypes: the second used to win silently), a positional Python
  float or bool is PyTorch's wrapped-number tensor (``x.to(True)`` converts to bool; it was
  taken as ``non_blocking`` and ignored), a string naming no device its RuntimeError;
- a ``dtype=`` that names no dtype, given to a factory with several overloads, lists them
  (``arange(3, dtype=True)``), and a class that is no dtype (``dtype=type(None)``) is
  refused instead of becoming NumPy's object dtype;
- the type names PyTorch prints for its own C types (``torch.dtype``, ``torch.device``);
- operators: an operand that is neither a number nor a tensor (``x ** "a"``, ``x + None``)
  gives Python's TypeError, as PyTorch's operators return NotImplemented;
- ``where`` with Python data or None as input/other, ``sort``/``argsort`` with a dim that is
  no int, ``linspace``/``logspace`` with a steps that is no int: PyTorch's overload lists;
  ``roll``'s argument positions; the 1-d adaptive pools' ``output_size`` words;
- ``kthvalue``'s k, ``randperm``'s n, ``histc``'s bins and ``hardtanh``'s bounds take a
  0-d tensor as PyTorch does (they were refused).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

_FOREIGN = ("'a'", "None", "{}", "object()")  # operands no operator of torch's takes

NORM_CASES = [
    "x.norm((1.0, 2.0))",
    "x.norm([1])",
    "x.norm(p=(1,))",
    "L.norm(x, (1.0, 2.0))",
    "x.norm(L.tensor([1.5]))",
    "x.norm('a')",
    "x.norm('a', 0)",
    "x[0].norm('a')",
    "x.norm(1.5j)",
    "x.norm(L.tensor(1 + 1j))",
    "x.norm(L.tensor(1.5))",
    "x.norm(np.float32(1.5), 0)",
    "L.norm(x, L.tensor(1.5), dim=0)",
    "x.norm(float('nan'))",
    "x.norm(float('nan'), 0)",
    "F.normalize(x, (1.0, 2.0))",
    "F.normalize(x, 'a')",
    "F.normalize(x, L.tensor(1.5))",
]

TO_CASES = [
    "x.to(dtype=True)",
    "x.to(dtype=1.5)",
    "x.to((1.0, 2.0))",
    "x.to('a')",
    "x.to('cpu', 'a')",
    "x.to(L.float64, 'a')",
    "x.to(L.float64, L.int32)",
    "x.to(L.float64, dtype=L.int32)",
    "x.to(L.float64, device='cpu')",
    "x.to(x, L.float64)",
    "x.to('cpu', L.float64, True, True, True)",
    "x.to(L.float64, True, 1)",
    "x.to(foo=1)",
    "x.to(1.5)",
    "x.to(np.float64(1.5))",
    "x.to(True)",
    "x.to(True, True, True)",
    "x.to(L.tensor(1))",
    "x.to(L.tensor(1.5))",
    "x.to(None)",
    "x.to(None, L.int32)",
    "x.to('cpu', dtype=L.float64)",
    "x.to(L.float64, True, True)",
    "x.to(x.long(), copy=True)",
    "x.to(float)",
]

DTYPE_CASES = [
    "L.arange(3, dtype=True)",
    "L.arange(0, 3, dtype=True)",
    "L.arange(0, 3, 1, dtype=True)",
    "L.arange(3, dtype=1.5)",
    "L.arange(end=3, dtype=1.5)",
    "L.linspace(0, 1, 3, dtype=True)",
    "L.linspace(0, 1, steps=3, dtype=type(None))",
    "L.logspace(0, 1, 3, dtype=True)",
    "L.logspace(0, 1, 3, 2.0, dtype=True)",
    "L.eye(2, dtype=True)",
    "L.eye(2, 3, dtype=True)",
    "L.randn(2, dtype=True)",
    "L.randn(2, 3, dtype=True)",
    "L.randn((2, 3), dtype=True)",
    "L.rand(2, dtype=True)",
    "L.rand(size=(2,), dtype=True)",
    "L.randperm(3, dtype=True)",
    "L.randn_like(x, dtype=True)",
    "L.rand_like(x, dtype=1.5)",
    "L.zeros(2, dtype=True)",
    "L.zeros(2, dtype=object)",
    "L.zeros(2, dtype=complex)",
    "L.full((2,), 1.0, dtype='a')",
]

WHERE_CASES = [
    "L.where(x > 1, x, (1.0, 2.0))",
    "L.where(x > 1, (1.0,), x)",
    "L.where(x > 1, x, None)",
    "L.where(x > 1, x, 'a')",
    "L.where(x > 1, x, [1.0])",
    "L.where(x > 1, x, other=(1.0,))",
    "L.where(x > 1, x)",
    "L.where((1.0,), x, x)",
    "x.where(x > 1, (1.0, 2.0))",
    "x.where(x > 1, None)",
    "L.where(x > 1, 1.0, 2.0)",
    "x.where(x > 1, 2)",
    "L.where(x > 1, x.long(), 2.5)",
]

OPERATOR_CASES = [
    *(f"x {op} {v}" for op in ("**", "+", "-", "*", "/", "//", "%", "&", "<") for v in _FOREIGN),
    *(f"{v} {op} x" for op in ("**", "+", "-", "*", "/", "//", "%", "|") for v in _FOREIGN),
    "pow(x, 'a')",
    "x.__pow__('a')",
    "x.__rpow__(None)",
    "x.__radd__('a')",
    "x ** 2",
    "2.0 ** x",
    "x ** L.tensor(2)",
    "x.long() & 1",
]

OTHER_CASES = [
    # roll: the position as called (one less for the method, none for a keyword)
    "x.roll(True)",
    "x.roll(shifts=True)",
    "x.roll(1, True)",
    "L.roll(x, 1, True)",
    "x.roll((1.0,))",
    "L.roll(x, (1.0,))",
    # linspace / logspace: a steps that is no int lists the overloads
    "L.linspace(0, 1, True)",
    "L.linspace(0, 1, 1.5)",
    "L.logspace(0, 1, None)",
    "L.logspace(0, 1, steps='a')",
    "L.linspace(0, 1, L.tensor(1.5))",
    "L.linspace(L.tensor(0.0), 1, 2.5)",
    # adaptive pools: the parser's words for output_size (1-d), len() first (2-d, 3-d)
    "F.adaptive_avg_pool1d(x[None], True)",
    "F.adaptive_avg_pool1d(x[None], 1.5)",
    "F.adaptive_avg_pool1d(x[None], None)",
    "F.adaptive_avg_pool1d(x[None], 'a')",
    "F.adaptive_avg_pool1d(x[None], L.tensor(1))",
    "F.adaptive_avg_pool1d(x[None], (1.0, 2.0))",
    "F.adaptive_max_pool1d(x[None], True)",
    "F.adaptive_max_pool1d(x[None], 1.5)",
    "F.adaptive_max_pool1d(x[None], L.tensor(1))",
    "F.adaptive_avg_pool2d(x[None], True)",
    "F.adaptive_avg_pool2d(x[None], output_size=True)",
    "F.adaptive_avg_pool2d(x[None], 1.5)",
    "F.adaptive_avg_pool2d(x[None], 'a')",
    "F.adaptive_avg_pool2d(x[None], (2, None))",
    "F.adaptive_max_pool2d(x[None], True)",
    "F.adaptive_avg_pool3d(x[None, None], True)",
    "F.adaptive_avg_pool3d(x[None, None], 1.5)",
    # sort / argsort: a dim that is no int lists the overloads, with the "didn't match" lines
    "x.sort(1.5)",
    "x.sort(None)",
    "x.sort((1.0, 2.0))",
    "x.sort(L.tensor(1.5))",
    "x.argsort('a')",
    "L.sort(x, 1.5)",
    "L.argsort(x, None)",
    "x.sort(dim=1.5)",
    "x.sort(0, 1)",
    "L.sort(x, 0, 1)",
    "x.sort(np.int64(0)).values",
    "x.sort(L.tensor(0)).indices",
    "x.argsort(L.tensor(1))",
    # int arguments: a 0-d integer tensor is an int (was refused), else the parser's words
    "x.kthvalue(L.tensor(2)).values",
    "x.kthvalue(1.5)",
    "x.kthvalue(True)",
    "L.kthvalue(x, None)",
    "x.kthvalue(k=1.5)",
    "L.randperm(L.tensor(3)).sort().values",
    "L.randperm(1.5)",
    "L.randperm(None)",
    "L.histc(x, bins=L.tensor(2))",
    "L.histc(x, 1.5)",
    "x.histc(True)",
    # hardtanh: Python's comparison first, then 0-d tensors and NumPy numbers as numbers
    "F.hardtanh(x, L.tensor(1))",
    "F.hardtanh(x, L.tensor(0.5), L.tensor(2.0))",
    "F.hardtanh(x, np.float32(0.5))",
    "F.hardtanh(x, None)",
    "F.hardtanh(x, 0, (1.0,))",
    "F.hardtanh(x.long(), L.tensor(1))",
    # dtype names: torch's words for a name that is none (chainrule takes the others)
    "x.sum(dtype='a')",
    "x.cumsum(0, dtype='a')",
    "x.softmax(0, dtype='a')",
]


def _plain(value):
    if isinstance(value, (cr.Tensor, torch.Tensor)):
        return ("tensor", str(value.dtype).replace("torch.", ""), value.detach().numpy())
    return value


def _outcome(lib, src: str):
    L = lib  # noqa: N806 - the expressions' name
    x = lib.arange(12.0).reshape(3, 4) / 7
    env = {"L": L, "x": x, "np": np, "F": lib.nn.functional}
    try:
        r = eval(src, env)  # noqa: S307 - fixed test strings
    except Exception as e:  # noqa: BLE001 - the error is the outcome
        name = type(e).__name__
        if isinstance(e, RuntimeError) and type(e).__module__.startswith("chainrule"):
            name = "RuntimeError"  # ShapeError: chainrule's RuntimeError (and ValueError)
        return name, str(e).rstrip("\n")
    return "ok", _plain(r)


def _compare(src: str) -> None:
    expected = _outcome(torch, src)
    got = _outcome(cr, src)
    if expected[0] == "ok" and got[0] == "ok" and not isinstance(expected[1], tuple):
        assert got[1] == expected[1]  # NotImplemented, a string ('a' % x formats)
    elif expected[0] == "ok" and got[0] == "ok":
        e, g = expected[1], got[1]
        assert g[1] == e[1]  # the dtype
        np.testing.assert_allclose(g[2], e[2], rtol=1e-6, atol=1e-6)
    else:
        assert got == expected


@pytest.mark.parametrize("src", NORM_CASES)
def test_norm_order_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", TO_CASES)
def test_to_forms_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", DTYPE_CASES)
def test_dtype_argument_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", WHERE_CASES)
def test_where_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", OPERATOR_CASES)
def test_operators_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", OTHER_CASES)
def test_other_arguments_as_torch(src: str) -> None:
    _compare(src)


def test_operator_with_list_refused() -> None:
    with pytest.raises(TypeError, match="unsupported operand"):
        cr.ones(2) + [1.0, 2.0]


def test_norm_of_tensor_order_has_gradient() -> None:
    """The order read from a 0-d tensor computes the same norm, gradient included."""
    a = cr.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    b = torch.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    a.norm(cr.tensor(1.5)).backward()
    b.norm(torch.tensor(1.5)).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)


def test_to_keeps_chainrule_dtype_names() -> None:
    """chainrule's own extension stays: a dtype's name converts (PyTorch would read a
    device string); a string that names neither is PyTorch's device error."""
    x = cr.ones(2)
    assert x.to("float64").dtype == cr.float64
    assert x.to(dtype="int32").dtype == cr.int32
    with pytest.raises(RuntimeError, match="Invalid device string: 'float33'"):
        x.to("float33")


def test_to_common_forms_unchanged() -> None:
    x = cr.ones(2, 3)
    assert x.to(cr.float32) is x
    assert x.to("cpu") is x
    assert x.to(cr.float32, copy=True) is not x
    assert x.to("cpu", cr.float64).dtype == cr.float64
    assert x.to(cr.ones(1, dtype=cr.int32)).dtype == cr.int32
    assert x.to(cr.float64, False, True).dtype == cr.float64
    assert x.float().dtype == cr.float32 and x.long().dtype == cr.int64
    assert x.to(device="cpu", dtype=cr.float16).dtype == cr.float16
