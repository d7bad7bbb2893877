"""PyTorch's argument handling, leftovers of session 36, checked against torch live.

- Conv modules store kernel_size/stride/padding/dilation as PyTorch's ``_single``/``_pair``/
  ``_triple`` give them (``[2]`` stays one value, ``True`` stays a bool, strings of a
  transposed layer become characters), print them in PyTorch's repr, and fail where it
  fails: the weight's ``empty()`` at construction, the functional's parser or checks when
  called.
- Sizes: a bool after the first size is read as an int (``zeros(2, True)``,
  ``nn.Linear(True, 2)``); a bad first size names the argument, a later one fails to unpack.
- ``CrossMapLRN2d`` takes any real size, as PyTorch's legacy kernel (its backward refuses a
  float one); ``F.softplus`` types its ``beta``/``threshold``; ``sort``/``argsort``/``topk``
  refuse an int for their bools; ``operator.add(x, ndarray)`` is the operator (accepted),
  ``torch.where`` refuses a NumPy array as any operand.
Each case runs in both libraries: the same values, or an error of the same type with the
same first line.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

# torch's geometry checks (non-positive stride, ...) in chainrule's longer words: the same
# error type, the message not compared (known difference, pre-existing)
_WORDED_OTHERWISE = (
    "non-positive stride",
    "negative padding",
    "dilation should",
    "output padding must",
    "negative output_padding",
    "Calculated padded input",
    "Invalid padding string",  # torch prints a set: its order varies from run to run
)


def _outcome(fn: Callable[[], Any]) -> tuple:
    """("ok", value) or (error class, first line of its message), warnings recorded."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            value = fn()
        except Exception as err:  # noqa: BLE001 - compared with torch's
            return type(err), str(err).split("\n")[0], [str(w.message) for w in seen]
    return "ok", value, [str(w.message) for w in seen]


def _same_error(expected: tuple, got: tuple) -> None:
    assert got[0] != "ok", (expected, got)
    assert issubclass(got[0], expected[0]), (expected, got)
    if not expected[1].startswith(_WORDED_OTHERWISE):  # chainrule's detail may follow
        assert got[1] == expected[1] or got[1].startswith(expected[1] + " ("), (expected, got)


def _same(expected: tuple, got: tuple, compare: Callable[[Any, Any], None]) -> None:
    if expected[0] == "ok":
        assert got[0] == "ok", (expected, got)
        compare(expected[1], got[1])
    else:
        _same_error(expected, got)


def _values(t: Any, c: Any) -> None:
    if isinstance(t, torch.Tensor):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert str(c.dtype) == str(t.dtype)
    elif isinstance(t, torch.Size):
        assert tuple(c) == tuple(t)
    elif hasattr(t, "indices"):
        _values(t.values, c.values)
        _values(t.indices, c.indices)
    else:
        assert c == t


# ----------------------------------------------------------------------------- conv modules
_CONV_INPUTS = {1: (1, 2, 8), 2: (1, 2, 8, 8), 3: (1, 2, 6, 6, 6)}
_CONV_CLASSES = {
    "Conv1d": 1,
    "Conv2d": 2,
    "Conv3d": 3,
    "ConvTranspose1d": 1,
    "ConvTranspose2d": 2,
    "ConvTranspose3d": 3,
}
_CONV_VALUES = (
    [2],
    (),
    (2,),
    [],
    (1, 2),
    (1, 2, 3),
    (1, 2, 3, 4),
    True,
    False,
    [True],
    (1, True),
    2.0,
    (2.0,),
    (2, 2.0),
    None,
    "a",
    "same",
    "valid",
    np.int64(2),
    (np.int64(1), 2),
    -1,
    0,
)


def _module_outcome(lib: Any, cls: str, name: str, value: Any) -> tuple:
    kwargs = {name: value}
    if name != "kernel_size":
        kwargs["kernel_size"] = 3
    built = _outcome(lambda: getattr(lib.nn, cls)(2, 2, **kwargs))
    if built[0] != "ok":
        return ("init", *built[:2])
    m = built[1]
    attrs = tuple(
        repr(getattr(m, a))
        for a in ("kernel_size", "stride", "padding", "dilation", "output_padding")
    )
    x = lib.ones(*_CONV_INPUTS[_CONV_CLASSES[cls]])
    called = _outcome(lambda: tuple(m(x).shape))
    shown = repr(m)
    return ("built", attrs, shown, repr(m._reversed_padding_repeated_twice), built[2], called)


_CONV_ARGS = [
    (cls, name)
    for cls in _CONV_CLASSES
    for name in ("kernel_size", "stride", "padding", "dilation", "output_padding")
    if name != "output_padding" or "Transpose" in cls  # (the forward ones take none)
]


@pytest.mark.parametrize(("cls", "name"), _CONV_ARGS)
def test_conv_module_arguments_as_torch(cls: str, name: str) -> None:
    for value in _CONV_VALUES:
        expected = _module_outcome(torch, cls, name, value)
        got = _module_outcome(cr, cls, name, value)
        assert got[0] == expected[0], (value, expected, got)
        if expected[0] == "init":
            _same_error(expected[1:], got[1:])
            continue
        # stored attributes, repr, F.pad widths and warnings at construction, as torch's
        assert got[1:5] == expected[1:5], (value, expected, got)
        _same(expected[5], got[5], lambda t, c: None if t == c else pytest.fail(f"{t} {c}"))


def test_conv_module_values_with_bool_sizes() -> None:
    # kernel_size=(True,) is a kernel of one; weights copied: the same values
    for cls, shape in (("Conv1d", (1, 2, 8)), ("ConvTranspose2d", (1, 2, 5, 5))):
        tm = getattr(torch.nn, cls)(2, 3, kernel_size=[True, 2][: int(cls[-2])], stride=[2])
        cm = getattr(cr.nn, cls)(2, 3, kernel_size=[True, 2][: int(cls[-2])], stride=[2])
        assert repr(cm) == repr(tm)
        cm.weight.data = cr.tensor(tm.weight.detach().numpy())
        cm.bias.data = cr.tensor(tm.bias.detach().numpy())
        x = np.random.default_rng(37).standard_normal(shape).astype(np.float32)
        expected = _outcome(lambda tm=tm, x=x: tm(torch.tensor(x)))
        got = _outcome(lambda cm=cm, x=x: cm(cr.tensor(x)))
        _same(expected, got, _values)  # ConvTranspose2d: its forward refuses stride (2,)


# --------------------------------------------------------------- functional conv arguments
_FCONV = {
    "conv1d": ((1, 2, 8), (2, 2, 3)),
    "conv2d": ((1, 2, 8, 8), (2, 2, 3, 3)),
    "conv3d": ((1, 2, 6, 6, 6), (2, 2, 3, 3, 3)),
    "conv_transpose1d": ((1, 2, 8), (2, 2, 3)),
    "conv_transpose2d": ((1, 2, 8, 8), (2, 2, 3, 3)),
}
_FCONV_VALUES = (True, (True,), (2.0,), 2.0, None, (None,), (), (1, 2, 3, 4), np.int64(1))
_FCONV_VALUES += ((1, 2), (1, True), (2, 2.0), [1, 2])


@pytest.mark.parametrize("op", list(_FCONV))
@pytest.mark.parametrize("name", ["stride", "padding", "dilation", "groups"])
def test_functional_conv_parser_as_torch(op: str, name: str) -> None:
    xs, ws = _FCONV[op]
    for value in (*_FCONV_VALUES, 1.0, np.int64(1)) if name == "groups" else _FCONV_VALUES:
        for positional in (False, True):

            def call(L, value=value, positional=positional):
                scope = {"F": L.nn.functional, "x": L.ones(*xs), "w": L.ones(*ws), "v": value}
                if not positional:  # a keyword, written out (the parser error names none)
                    return tuple(eval(f"F.{op}(x, w, {name}=v)", scope).shape)  # noqa: S307
                args = {"stride": "1", "padding": "0", "dilation": "1", "groups": "1"}
                if op.startswith("conv_transpose"):  # (.., padding, output_padding, groups, dil.)
                    args = {
                        "stride": "1",
                        "padding": "0",
                        "op": "0",
                        "groups": "1",
                        "dilation": "1",
                    }
                args[name] = "v"
                return tuple(eval(f"F.{op}(x, w, None, {', '.join(args.values())})", scope).shape)  # noqa: S307

            expected, got = _outcome(lambda: call(torch)), _outcome(lambda: call(cr))
            _same(expected, got, lambda t, c: None if t == c else pytest.fail(f"{t} {c}"))


def _conv_of(L: Any, op: str, xs: tuple, ws: tuple) -> Any:
    return getattr(L.nn.functional, op)(L.ones(*xs), L.ones(*ws))


def test_functional_conv_empty_kernel_is_refused() -> None:
    # chainrule returned zeros for an empty kernel; torch refuses it
    for op, xs, ws in (
        ("conv1d", (1, 2, 8), (2, 2, 0)),
        ("conv2d", (1, 2, 8, 8), (2, 2, 0, 3)),
        ("conv3d", (1, 2, 6, 6, 6), (2, 2, 0, 0, 0)),
        ("conv_transpose1d", (1, 2, 8), (2, 2, 0)),
        ("conv_transpose2d", (1, 2, 8, 8), (2, 2, 0, 0)),
        ("conv_transpose3d", (1, 2, 6, 6, 6), (2, 2, 0, 0, 0)),
        ("conv1d", (1, 2, 8), (2, 2)),
        ("conv1d", (1, 2, 8), (2, 2, 1, 2)),
        ("conv2d", (1, 2, 8, 8), (2, 2, 3)),
        ("conv3d", (1, 2, 6, 6, 6), (2, 2, 3, 3)),
        ("conv_transpose1d", (1, 2, 8), (2, 2, 3, 3)),
    ):
        expected = _outcome(lambda L=torch, a=(op, xs, ws): _conv_of(L, *a))
        got = _outcome(lambda L=cr, a=(op, xs, ws): _conv_of(L, *a))
        assert expected[0] is RuntimeError, expected
        _same_error(expected, got)


# -------------------------------------------------------------------------------- sizes
_SIZES = [
    "L.zeros(2, True).shape",
    "L.zeros((2, True)).shape",
    "L.zeros([2, True]).shape",
    "L.ones(2, True, 3).shape",
    "L.empty((2, True)).shape",
    "L.full((2, True), 1.0).shape",
    "L.rand(2, True).shape",
    "L.randn(2, True).shape",
    "L.randint(3, (2, True)).shape",
    "L.zeros(size=(2, True)).shape",
    "L.zeros((True, 2))",
    "L.zeros(True)",
    "L.zeros(True, 2)",
    "L.ones(2.0, 3)",
    "L.zeros(2.0)",
    "L.zeros(2, 2.0)",
    "L.zeros((2, None))",
    "L.zeros(None)",
    "L.zeros('a')",
    "L.zeros(size=(True, 2))",
    "L.zeros(size=(2, 2.0))",
    "L.zeros(np.bool_(True))",
    "L.zeros(2, np.bool_(True))",
    "L.zeros(2, np.float64(2))",
    "L.full([True], 1.0)",
    "L.full(2.0, 1.0)",
    "L.zeros(2, np.int64(3)).shape",
    "L.zeros((L.tensor(2.0), 3))",
    "repr(L.nn.Linear(True, 2))",
    "L.nn.Linear(True, 2)(L.ones(3, 1)).shape",
    "L.nn.Linear(2, True)",
    "L.nn.Linear(2.0, 3)",
    "L.nn.Linear(2, None)",
    "repr(L.nn.Conv2d(True, 2, 3))",
    "L.nn.Conv2d(2, True, 3)",
    "L.nn.ConvTranspose2d(2, True, 3)",
    "L.nn.Conv1d(2, 2.0, 3)",
    # x.new_*: no float rounded (chainrule took int(2.5))
    "L.ones(2).new_zeros((True, 2))",
    "L.ones(2).new_zeros(True, 2)",
    "L.ones(2).new_zeros(2.5)",
    "L.ones(2).new_zeros(2, 2.5)",
    "L.ones(2).new_ones(2, True).shape",
    "L.ones(2).new_empty((2, 2.0))",
    "L.ones(2).new_full((True, 2), 1.0)",
    "L.ones(2).new_zeros(size=(True, 2))",
    "L.ones(2).new_zeros(np.int64(2), 3).shape",
    # embedding tables: empty((num_embeddings, embedding_dim))
    "L.nn.Embedding(True, 2)",
    "repr(L.nn.Embedding(3, True))",
    "L.nn.Embedding(3, True)(L.tensor([0, 2])).shape",
    "L.nn.Embedding(2.0, 3)",
    "L.nn.Embedding(3, None)",
    "L.nn.EmbeddingBag(True, 2)",
    "repr(L.nn.EmbeddingBag(3, True))",
    "L.nn.LayerNorm([3, True]).weight.shape",
    # recurrent layers: isinstance(int) (a bool passes); cells: empty((gates, size))
    "repr(L.nn.RNN(True, 2))",
    "L.nn.LSTM(2, True)(L.ones(3, 2))[0].shape",
    "repr(L.nn.GRU(2, 3, num_layers=True))",
    "L.nn.RNN(2.0, 3)",
    "L.nn.RNN(2, 3, num_layers=2.0)",
    "L.nn.RNNCell(True, 2)(L.ones(3, 1)).shape",
    "L.nn.LSTMCell(2, True).weight_ih.shape",
    "L.nn.GRUCell(2.0, 3)",
    "L.nn.GRUCell(2, 3.0)",
    "L.nn.RNNCell(-1, 2)",
]


@pytest.mark.parametrize("src", _SIZES)
def test_sizes_as_torch(src: str) -> None:
    def run(L):
        return eval(src, {"L": L, "np": np})  # noqa: S307 - a fixed test expression

    _same(_outcome(lambda: run(torch)), _outcome(lambda: run(cr)), _values)


# ------------------------------------------------------------------------- CrossMapLRN2d
_LRN_X = np.random.default_rng(37).standard_normal((2, 5, 3, 3)).astype(np.float32)


def _lrn(L, size):
    m = L.nn.CrossMapLRN2d(size)
    x = L.tensor(_LRN_X.copy(), requires_grad=True)
    forward = _outcome(lambda: m(x))
    if forward[0] != "ok":
        return forward, None, repr(m)
    return forward, _outcome(lambda: forward[1].sum().backward() or x.grad), repr(m)


@pytest.mark.parametrize(
    "size", [3, 2.0, 2.5, 0.5, -2.5, True, float("nan"), float("inf"), 0, -1, -2, -3, 1]
)
def test_cross_map_lrn2d_sizes_as_torch(size: Any) -> None:
    t_fwd, t_bwd, t_repr = _lrn(torch, size)
    c_fwd, c_bwd, c_repr = _lrn(cr, size)
    assert c_repr == t_repr
    _same(t_fwd, c_fwd, _values)
    if t_bwd is not None:
        _same(t_bwd, c_bwd, _values)


def test_cross_map_lrn2d_numpy_and_tensor_sizes() -> None:
    for size in (np.float64(3.0), np.int64(3)):
        t_fwd, t_bwd, _ = _lrn(torch, size)
        c_fwd, c_bwd, _ = _lrn(cr, size)
        _same(t_fwd, c_fwd, _values)
        _same(t_bwd, c_bwd, _values)
    t_fwd, t_bwd, _ = _lrn(torch, torch.tensor(3))
    c_fwd, c_bwd, _ = _lrn(cr, cr.tensor(3))
    _same(t_fwd, c_fwd, _values)
    _same(t_bwd, c_bwd, _values)


# ------------------------------------------------------------------------------ softplus
_SOFTPLUS = [
    lambda L, x: L.nn.functional.softplus(x, 2),
    lambda L, x: L.nn.functional.softplus(x, beta=True),
    lambda L, x: L.nn.functional.softplus(x, beta="a"),
    lambda L, x: L.nn.functional.softplus(x, None),
    lambda L, x: L.nn.functional.softplus(x, threshold=None),
    lambda L, x: L.nn.functional.softplus(x, 1, "a"),
    lambda L, x: L.nn.functional.softplus(x, np.float32(2.0)),
    lambda L, x: L.nn.functional.softplus(x, L.tensor(2.0)),
    lambda L, x: L.nn.functional.softplus(x, beta=L.tensor([2.0])),
    lambda L, x: L.nn.functional.softplus(x, 1j),
    lambda L, x: L.nn.functional.softplus(x, beta=2, threshold=np.int64(3)),
    lambda L, x: L.nn.Softplus(2, "a")(x),
]


@pytest.mark.parametrize("case", range(len(_SOFTPLUS)))
def test_softplus_argument_types_as_torch(case: int) -> None:
    data = [[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]]
    expected = _outcome(lambda: _SOFTPLUS[case](torch, torch.tensor(data)))
    got = _outcome(lambda: _SOFTPLUS[case](cr, cr.tensor(data)))
    _same(expected, got, _values)


# ------------------------------------------------------------------ sort / argsort / topk
_SORTING = [
    lambda L, x: x.sort(1, 0),
    lambda L, x: x.sort(1, 1),
    lambda L, x: x.sort(descending=0),
    lambda L, x: x.sort(dim=1, descending=1),
    lambda L, x: L.sort(x, 1, 0),
    lambda L, x: L.sort(x, descending=None),
    lambda L, x: x.sort(1, np.bool_(True)),
    lambda L, x: x.sort(0, 1.0),
    lambda L, x: x.sort(True),
    lambda L, x: x.sort(1, True),
    lambda L, x: x.sort(np.int64(1)),
    lambda L, x: x.argsort(1, 0),
    lambda L, x: x.argsort(descending=1),
    lambda L, x: L.argsort(x, 1, 1),
    lambda L, x: x.argsort(1, True),
    lambda L, x: x.topk(2, 1, 0),
    lambda L, x: x.topk(2, largest=0),
    lambda L, x: x.topk(2, sorted=1),
    lambda L, x: L.topk(x, 2, 1, 0),
    lambda L, x: L.topk(x, 2, 1, True, 0),
    lambda L, x: x.topk(2, 1, True, None),
    lambda L, x: x.topk(True),
    lambda L, x: x.topk(2.0),
    lambda L, x: x.topk(2, True),
    lambda L, x: x.topk(2, dim=True),
    lambda L, x: x.topk(np.int64(2), np.int64(1)),
    lambda L, x: x.topk(2, 1, np.bool_(True)),
    lambda L, x: x.topk(L.tensor(2)),
    lambda L, x: x.topk(k=2, sorted=0),
]


@pytest.mark.parametrize("case", range(len(_SORTING)))
def test_sorting_flags_as_torch(case: int) -> None:
    data = [[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]]
    expected = _outcome(lambda: _SORTING[case](torch, torch.tensor(data)))
    got = _outcome(lambda: _SORTING[case](cr, cr.tensor(data)))
    _same(expected, got, _values)


def test_sort_type_refusal_lists_the_overloads() -> None:
    x = cr.tensor([[3.0, 1.0], [0.5, 4.0]])
    with pytest.raises(TypeError) as info:
        x.sort(dim=1, descending=1)
    assert str(info.value).splitlines()[:3] == [
        "sort() received an invalid combination of arguments - got (descending=int, dim=int, "
        "), but expected one of:",
        " * (*, bool stable, int dim = -1, bool descending = False)",
        " * (int dim = -1, bool descending = False)",
    ]


# ------------------------------------------------------------------ NumPy array operands
_ARRAYS = [
    lambda L, x, a: operator.add(x, a),
    lambda L, x, a: operator.sub(x, a),
    lambda L, x, a: operator.mul(x, a),
    lambda L, x, a: operator.truediv(x, a),
    lambda L, x, a: operator.iadd(x.clone(), a),
    lambda L, x, a: operator.add(x, a.astype(np.float32)),
    lambda L, x, a: L.add(x, a),
    lambda L, x, a: x.add(a),
    lambda L, x, a: L.true_divide(x, a),
    lambda L, x, a: L.where(x > 1, a, x),
    lambda L, x, a: L.where(x > 1, x, a),
    lambda L, x, a: L.where(x > 1, a, a),
    lambda L, x, a: L.where(x > 1, input=a, other=x),
    lambda L, x, a: L.where(condition=x > 1, input=x, other=a),
    lambda L, x, a: x.where(x > 1, a),
    lambda L, x, a: L.where(x > 1, np.float64(2.0), x),
    lambda L, x, a: L.where(x > 1, 2.0, x),
]


@pytest.mark.parametrize("case", range(len(_ARRAYS)))
def test_numpy_operands_as_torch(case: int) -> None:
    data = [[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]]
    a = np.array([1.0, -2.0, 0.5])
    with warnings.catch_warnings():  # torch's __array_wrap__ DeprecationWarning (NumPy 2)
        warnings.simplefilter("ignore", DeprecationWarning)
        expected = _outcome(lambda: _ARRAYS[case](torch, torch.tensor(data), a))
    got = _outcome(lambda: _ARRAYS[case](cr, cr.tensor(data), a))
    _same(expected, got, _values)
