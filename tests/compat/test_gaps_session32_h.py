"""Leniencies where PyTorch raises or behaves otherwise (session 32, batch h: NumPy interop and
``out=`` rules), each checked against PyTorch 2.13:

- Tensor methods took ``out=`` (``x.sum(0, out=o)``, ``x.cross(y, out=o)``, ``x.add(1,
  out=None)``): PyTorch's methods have no ``out`` ("sum() got an unexpected keyword argument
  'out'", TypeError); the functions keep it. So ``np.sum(t)``, ``np.mean(t)``, ``np.max(t)``,
  ``np.min(t)``, ``np.prod(t)``, ``np.std(t)``, ``np.any(t)`` (NumPy calls
  ``t.sum(axis=None, dtype=None, out=None)``) now raise TypeError as in PyTorch instead of
  returning a tensor; ``np.cumsum``, ``np.round``, ``np.argmax``, ``np.clip``, ``np.reshape``
  ... (NumPy falls back to the array on a TypeError) still give what PyTorch gives.
- A tensor operator with an ``ndarray`` operand computed with chainrule's rules: PyTorch's
  operators decline arrays, so ``t + a`` is NumPy's (dtype promotion of NumPy, a tensor
  through ``__array_wrap__``, a requires-grad tensor refused), ``a + t``, ``a * t``, ``a < t``
  raise TypeError, ``a / t`` works (``t.reciprocal() * a``), ``a == t`` compares, ``a != t``
  is ``True``, and ``t += a`` rebinds ``t`` to a new tensor. ``@`` takes tensors only: a
  number, a NumPy scalar or a list is a TypeError (was computed, or a dtype error).
- ``torch.slice_scatter(..., out=)`` was refused; it is accepted with PyTorch's exact dtype
  rule, resize, and no autograd error for an input that requires grad.
- ``torch.histogram`` with edges that do not increase raised NumPy's ValueError; PyTorch
  counts with its binary search (zeros for decreasing edges), and 0/0 densities warned;
  one edge is PyTorch's RuntimeError. ``torch.histc(bins=2.5)`` / ``bins=True`` are TypeErrors.
- ``out=`` rules: ``torch.take`` had no ``out=``; ``softmax``/``log_softmax``/``take`` want
  ``out``'s dtype exactly; a bool result written into an ``out`` that requires grad is allowed
  (``torch.eq(x, y, out=o)``); ``log_softmax``, ``softmax``, ``diag``, ``floor_divide``,
  ``heaviside``, ``slice_scatter`` fill ``out`` though an input requires grad, and
  ``linalg.norm``, ``linalg.matrix_norm``, ``quantile``, ``inner``, ``tensordot`` fill it by a
  differentiable copy (``CopyBackwards``, backward reaches the input); ``index_select``,
  ``gather``, ``cross``, ``linalg.cross``, ``take``, ``masked_select`` refuse an ``out`` that is
  an input; ``nansum`` with an integer ``out`` is PyTorch's NotImplementedError;
  ``narrow_copy`` resizes ``out`` without the warning.
- ``histc`` over a range wider than the dtype holds counts nothing (PyTorch's first bin edge
  is ``min + 0 * inf``), and bins narrower than the dtype's spacing count by position:
  chainrule raised NumPy's IndexError / "Too many bins" ValueError.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


def _run(fn: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)  # torch's __array_wrap__ signature
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's floating-point warnings
        try:
            result: Any = fn()
        except Exception as e:  # noqa: BLE001 - compared below
            result = e
    return result, [str(w.message) for w in caught]


def _summary(r: Any) -> Any:
    if isinstance(r, (tuple, list)):
        return type(r).__name__, tuple(_summary(x) for x in r)
    if isinstance(r, (torch.Tensor, chainrule.Tensor)):
        v = r.detach().numpy()
        values = np.round(v, 4).tolist() if v.dtype.kind in "fc" else v.tolist()
        return "tensor", str(r.dtype).split(".")[-1], tuple(r.shape), values
    if isinstance(r, np.ndarray):
        return "ndarray", str(r.dtype), r.tolist()
    return type(r).__name__, r


def _same(expected: Any, got: Any, what: str) -> None:
    if isinstance(expected, Exception):
        assert isinstance(got, type(expected)), (
            f"{what}: torch raises {type(expected).__name__}: {expected}; chainrule gives {got!r}"
        )
        return
    assert not isinstance(got, Exception), f"{what}: torch gives {expected!r}; chainrule {got!r}"
    assert str(_summary(got)) == str(_summary(expected)), what


def _compare(make: Any, what: str, check_warnings: bool = False) -> tuple[Any, Any]:
    expected, w_torch = _run(lambda: make(torch))
    got, w_cr = _run(lambda: make(chainrule))
    _same(expected, got, what)
    if check_warnings:
        assert bool(w_torch) == bool(w_cr), f"{what}: warnings {w_torch} vs {w_cr}"
    return expected, got


# ----------------------------------------------------------- NumPy functions on tensors
NUMPY_CALLS = {
    "sum": lambda t: np.sum(t),
    "sum_axis": lambda t: np.sum(t, axis=0),
    "mean": lambda t: np.mean(t),
    "max": lambda t: np.max(t),
    "min": lambda t: np.min(t),
    "amax": lambda t: np.amax(t),
    "std": lambda t: np.std(t),
    "var": lambda t: np.var(t),
    "prod": lambda t: np.prod(t),
    "any": lambda t: np.any(t),
    "all": lambda t: np.all(t),
    "cumsum": lambda t: np.cumsum(t),
    "round": lambda t: np.round(t),
    "clip": lambda t: np.clip(t, 0, 1),
    "argmax": lambda t: np.argmax(t),
    "argmax_axis": lambda t: np.argmax(t, axis=1),
    "reshape": lambda t: np.reshape(t, (3, 2)),
    "squeeze": lambda t: np.squeeze(t[None]),
    "ravel": lambda t: np.ravel(t),
    "where": lambda t: np.where(t > 0, t, 0),
    "concatenate": lambda t: np.concatenate([t, t]),
    "dot": lambda t: np.dot(t, t.T),
    "transpose": lambda t: np.transpose(t),
    "exp": lambda t: np.exp(t),
}


@pytest.mark.parametrize("name", list(NUMPY_CALLS))
def test_numpy_functions_on_tensors_as_torch(name: str) -> None:
    call = NUMPY_CALLS[name]

    def make(m: Any) -> Any:
        return call(m.tensor([[1.5, -2.0, 0.25], [3.0, 0.0, -1.0]], dtype=m.float64))

    _compare(make, f"np.{name}(t)")


@pytest.mark.parametrize(
    "call",
    [
        "t.sum(0, out=o)",
        "t.sum(out=None)",
        "t.add(1, out=None)",
        "t.exp(out=o)",
        "t.cross(t, dim=1, out=o)",
        "t.max(0, out=None)",
        "t.matmul(t.T, out=None)",
        "t.clamp(0, out=None)",
        "t.slice_scatter(t[:1], out=o)",
        "t.add_(1, out=None)",
    ],
)
def test_methods_take_no_out(call: str) -> None:
    def make(m: Any) -> Any:
        t = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        return eval(call, {"t": t, "o": m.empty(0)})

    _compare(make, call)
    x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(axis=0, keepdims=True).shape == (1, 2)  # NumPy's aliases stay
    assert chainrule.sum(x, 0, out=chainrule.empty(0)).tolist() == [4.0, 6.0]  # the function


# ---------------------------------------------------------- operators with NumPy arrays
ARRAYS = {
    "f64": lambda: np.array([1.0, 2.0, 3.0]),
    "f32": lambda: np.array([1.0, 2.0, 3.0], np.float32),
    "i64": lambda: np.array([1, 2, 3]),
    "bool": lambda: np.array([True, False, True]),
    "0d": lambda: np.array(2.0),
    "2d": lambda: np.ones((3, 3)),
    "np.float64": lambda: np.float64(2.0),
    "np.int64": lambda: np.int64(2),
}
TENSORS = {
    "f32": lambda m: m.tensor([1.0, 2.0, 4.0]),
    "i64": lambda m: m.tensor([1, 2, 4]),
    "f64_0d": lambda m: m.tensor(3.0, dtype=m.float64),
    "grad": lambda m: m.tensor([1.0, 2.0, 4.0], requires_grad=True),
}
OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "**": operator.pow,
    "@": operator.matmul,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">=": operator.ge,
}


@pytest.mark.parametrize("side", ["array_left", "tensor_left"])
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("tensor", list(TENSORS))
@pytest.mark.parametrize("array", list(ARRAYS))
def test_operators_with_numpy_operands(array: str, tensor: str, op: str, side: str) -> None:
    def make(m: Any) -> Any:
        a, t = ARRAYS[array](), TENSORS[tensor](m)
        return OPS[op](a, t) if side == "array_left" else OPS[op](t, a)

    _compare(make, f"{array} {op} {tensor} ({side})")


@pytest.mark.parametrize("array", ["f64", "i64", "0d", "2d"])
@pytest.mark.parametrize("op", ["+=", "*="])
def test_inplace_operators_with_numpy_operands(array: str, op: str) -> None:
    fn = operator.iadd if op == "+=" else operator.imul

    def tensor_left(m: Any) -> Any:
        t = m.tensor([1.0, 2.0, 4.0])
        r = fn(t, ARRAYS[array]())
        return r, r is t

    def array_left(m: Any) -> Any:
        return fn(ARRAYS[array](), m.tensor([1.0, 2.0, 4.0]))

    _compare(tensor_left, f"t {op} {array}")
    _compare(array_left, f"{array} {op} t")


@pytest.mark.parametrize("other", ["2", "2.5", "np.float64(2)", "[1.0, 2.0]", "True"])
def test_matmul_operator_takes_tensors_only(other: str) -> None:
    def make(m: Any) -> Any:
        t = m.tensor([1.0, 2.0])
        return t @ eval(other)

    def reflected(m: Any) -> Any:
        t = m.tensor([1.0, 2.0])
        return eval(other) @ t

    _compare(make, f"t @ {other}")
    _compare(reflected, f"{other} @ t")


# ------------------------------------------------------------------------ slice_scatter
@pytest.mark.parametrize(
    "out",
    [
        "m.empty(0)",
        "m.zeros(5, 3)",
        "m.empty(4, 3, dtype=m.float64)",
        "m.empty(4, 3, dtype=m.int64)",
        "m.empty(4, 3, requires_grad=True)",
        "x",
        "m.empty(1, 3).expand(4, 3)",
    ],
)
@pytest.mark.parametrize("grad", [False, True])
def test_slice_scatter_out(out: str, grad: bool) -> None:
    def make(m: Any) -> Any:
        x = m.zeros(4, 3, requires_grad=grad)
        o = eval(out, {"m": m, "x": x})
        r = m.slice_scatter(x, m.ones(2, 3), 0, 0, 2, out=o)
        return r is o, r

    _compare(make, f"slice_scatter(out={out}, grad={grad})", check_warnings=True)


# ----------------------------------------------------------------------- histogram/histc
@pytest.mark.parametrize(
    "data,edges,kw",
    [
        ([1.0, 2, 3], [3.0, 2, 1], {}),
        ([1.0, 2, 3], [1.0, 3, 2], {}),
        ([0.5, 1.0, 2, 3, 3.5], [1.0, 2, 4, 3], {}),
        ([1.0, 2, 3, 4, 5], [5.0, 1, 3], {}),
        ([1.0, 2, 3], [1.0, float("nan"), 3], {}),
        ([1.0, 2, 3], [3.0, 2, 1], {"density": True}),
        ([1.0, 2, 3], [1.0, 2, 2, 3], {"density": True}),
        ([1.0, 2, 3], [3.0, 2, 1], {"weight": [1.0, 2, 3]}),
        ([1.0, 2, 3], [1.0, 3, 2], {"weight": [1.0, 2, 3], "density": True}),
        ([1.0, 2, 3], [1.0], {}),
        ([1.0, 2, 3], [1.0, 2, 3], {}),
    ],
)
def test_histogram_with_unsorted_edges(data: list, edges: list, kw: dict) -> None:
    def make(m: Any) -> Any:
        extra = {k: m.tensor(v) if isinstance(v, list) else v for k, v in kw.items()}
        return tuple(m.histogram(m.tensor(data), bins=m.tensor(edges), **extra))

    _compare(make, f"histogram({data}, {edges}, {kw})", check_warnings=True)


@pytest.mark.parametrize(
    "call",
    [
        "m.histc(m.tensor([1.0, 2, 3]), bins=2.5)",
        "m.histc(m.tensor([1.0, 2, 3]), bins=True)",
        "m.histc(m.tensor([1.0, 2, 3]), bins=0)",
        "m.histc(m.tensor([1.0, 2, 3]), bins=4, min=2, max=2)",
        "m.histc(m.tensor([2.0, 2, 2]), bins=4)",
        "m.histc(m.tensor([0.0, 0]), bins=3)",
        "m.histc(m.tensor([5.0, 5]), bins=2, min=5, max=5)",
        "m.histc(m.tensor([1.0, float('nan'), 3]), bins=4)",
        "m.histc(m.tensor([1.0, float('nan'), 3]), bins=4, min=0, max=4)",
        "m.histc(m.tensor([1.0, float('inf'), 3]), bins=4)",
        "m.histc(m.tensor([1.0, 2, 3]), bins=4, min=3, max=1)",
        "m.histc(m.tensor([]), bins=3)",
        "m.histc(m.tensor([-0.0, 0.0]), bins=2)",
    ],
)
def test_histc_edge_cases(call: str) -> None:
    _compare(lambda m: eval(call, {"m": m}), call, check_warnings=True)


# ---------------------------------------------------------------------------- out= rules
_SETUP = {
    "x": lambda m: m.tensor([[1.5, -2.0, 0.25], [3.0, 0.5, -1.0], [0.1, 0.2, 0.3]]),
    "y": lambda m: m.tensor([[0.5, 1.0, 2.0], [1.0, -1.0, 0.5], [2.0, 1.0, 1.0]]),
    "i": lambda m: m.tensor([[0, 2, 1], [1, 0, 0], [2, 2, 1]]),
}


def _names(m: Any, grad: bool = False) -> dict:
    names = {k: f(m) for k, f in _SETUP.items()}
    if grad:
        names["x"].requires_grad_()
    return {"m": m, **names}


@pytest.mark.parametrize(
    "call,out",
    [
        ("m.take(x, i, out=o)", "m.empty(0)"),
        ("m.take(x, i, out=o)", "m.zeros(7)"),
        ("m.take(x, i, out=o)", "m.empty(0, dtype=m.float64)"),
        ("m.take(x, i, out=o)", "x"),
        ("m.log_softmax(x, 1, out=o)", "m.empty(0, dtype=m.float64)"),
        ("m.softmax(x, 1, out=o)", "m.empty(0, dtype=m.float16)"),
        ("m.eq(x, y, out=o)", "m.zeros(3, 3, requires_grad=True)"),
        ("m.gt(x, 0, out=o)", "m.zeros(3, 3, requires_grad=True)"),
        ("m.sqrt(x, out=o)", "m.zeros(3, 3, requires_grad=True)"),
        ("m.index_select(x, 0, i[0], out=o)", "x"),
        ("m.gather(x, 1, i, out=o)", "x"),
        ("m.cross(x, y, dim=1, out=o)", "x"),
        ("m.cross(x, y, dim=1, out=o)", "m.zeros(7)"),
        ("m.linalg.cross(x, y, out=o)", "x"),
        ("m.masked_select(x, x > 0, out=o)", "x"),
        ("m.nansum(x, 1, out=o)", "m.empty(0, dtype=m.int64)"),
        ("m.nansum(x, 1, out=o)", "m.empty(0, dtype=m.complex64)"),
        ("m.narrow_copy(x, 0, 0, 2, out=o)", "m.zeros(7)"),
        ("m.add(x, y, out=o)", "m.zeros(7)"),
        ("m.sum(x, 0, out=o)", "m.empty(0, dtype=m.int64)"),
        ("m.sort(x, 1, out=o)", "(m.empty(0), m.empty(0, dtype=m.int32))"),
        ("m.cat([x, y], out=o)", "m.empty(0, dtype=m.int64)"),
    ],
)
def test_out_rules(call: str, out: str) -> None:
    def make(m: Any) -> Any:
        names = _names(m)
        o = eval(out, names)
        r = eval(call, {**names, "o": o})
        return r, o

    _compare(make, f"{call} with o={out}", check_warnings=True)


@pytest.mark.parametrize(
    "call",
    [
        "m.log_softmax(x, 1, out=m.empty(0))",
        "m.softmax(x, 1, out=m.empty(0))",
        "m.diag(x, out=m.empty(0))",
        "m.floor_divide(x, 2, out=m.empty(0))",
        "m.heaviside(x, y, out=m.empty(0))",
        "m.sqrt(x, out=m.empty(0))",
        "m.cumsum(x, 1, out=m.empty(0))",
        "m.take(x, i, out=m.empty(0))",
    ],
)
def test_out_with_an_input_that_requires_grad(call: str) -> None:
    def make(m: Any) -> Any:
        return eval(call, _names(m, grad=True))  # values (the graph is not compared)

    _compare(make, call)


@pytest.mark.parametrize(
    "call",
    [
        "m.linalg.norm(x, out=o)",
        "m.linalg.matrix_norm(x, out=o)",
        "m.quantile(x, 0.5, 1, out=o)",
        "m.inner(x, y, out=o)",
        "m.tensordot(x, y, 1, out=o)",
    ],
)
def test_composite_out_is_a_differentiable_copy(call: str) -> None:
    def make(m: Any) -> Any:
        names = _names(m, grad=True)
        o = m.empty(0)
        r = eval(call, {**names, "o": o})
        assert r is o and o.requires_grad and type(o.grad_fn).__name__ == "CopyBackwards"
        o.sum().backward()
        return o, names["x"].grad

    _compare(make, call)


_HISTC_EDGES = [
    ([3.4e38, -3.4e38], {"bins": 4}, ("float32", "float64")),  # float32: max - min overflows
    ([1e308, -1e308], {"bins": 3}, ("float64",)),  # overflows: nothing counted
    ([0.0, 1e-46], {"bins": 4, "min": 0, "max": 1e-45}, ("float32", "float64")),
    ([1.0, 2.0, 3.0], {"bins": 3, "min": 1.0, "max": 1.0 + 1e-7}, ("float32", "float64")),
    ([1.0, 1.00000001, 1.0000001], {"bins": 5, "min": 1.0, "max": 1.0000001}, ("float32",)),
]


@pytest.mark.parametrize("data, kw, dtype", [(d, k, t) for d, k, ts in _HISTC_EDGES for t in ts])
def test_histc_degenerate_ranges_count_as_torch(data, kw, dtype):
    """Ranges wider than the dtype holds or bins narrower than its spacing (the last three):
    chainrule raised NumPy's IndexError / ValueError ("Too many bins for data range")."""
    t = torch.histc(torch.tensor(data, dtype=getattr(torch, dtype)), **kw)
    c = chainrule.histc(chainrule.tensor(data, dtype=getattr(chainrule, dtype)), **kw)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
