"""Session 47 (c): the argument parser's texts of the ops torch overloads, its "takes from 1
to 3 positional arguments", and the argument-less C methods' ``TensorBase.exp() takes no
keyword arguments``, each call run in torch and chainrule alike.

A call of an op torch overloads (``ops/torch_overloads.py``, generated from torch) that binds
none of chainrule's parameters gets "<op>() received an invalid combination of arguments -
got (...), but expected ..." with the overloads listed, unless one visible overload alone
takes that many arguments: torch then parses that one again and raises its own
one-signature text (``add(t, y=1)``: "missing 1 required positional arguments").
"""

from __future__ import annotations

import importlib.util
import pathlib
import warnings

import pytest
import torch

import chainrule as cr
from chainrule.ops.torch_overloads import TENSORBASE_NO_ARGUMENTS, TORCH_OVERLOADS

_GENERATOR = pathlib.Path(__file__).parents[2] / "tools" / "gen_torch_overloads.py"


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e).__name__, str(e)
    return "ok", ""


def _same(call, whole=False):
    """``call(lib, t)`` in both libraries (``t`` a 3-vector): the same exception type and
    first line (``whole``: the whole text); returns torch's outcome."""
    got = [_outcome(lambda lib=lib: call(lib, lib.ones(3))) for lib in (torch, cr)]
    if not whole:
        got = [(kind, text.split("\n")[0]) for kind, text in got]
    assert got[1] == got[0]
    return got[0]


def test_generated_tables_are_current():
    """``tools/gen_torch_overloads.py`` run now writes what the module holds."""
    spec = importlib.util.spec_from_file_location("gen_torch_overloads", _GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert module.overloads() == TORCH_OVERLOADS
        assert frozenset(module.no_argument_methods()) == TENSORBASE_NO_ARGUMENTS
    assert {"add", "mm", "clamp", "sum", "max", "div"} <= TORCH_OVERLOADS.keys()
    assert "exp" not in TORCH_OVERLOADS and "exp" in TENSORBASE_NO_ARGUMENTS


_CALLS = {  # pattern -> call(lib, f, t)
    "none": lambda f, t: f(),
    "y": lambda f, t: f(t, y=1),
    "many": lambda f, t: f(*[t] * 7),
    "kwy": lambda f, t: f(y=1),
    "kw2": lambda f, t: f(t, z=2, y=1),
}
_OPS = [
    "add", "sub", "mul", "div", "pow", "mm", "bmm", "clamp", "clip", "sum", "mean", "max",
    "min", "std", "var", "eq", "lt", "lerp", "narrow", "movedim", "isin", "xlogy",
    "remainder", "tensor_split", "scatter", "all", "prod", "quantile",
]  # fmt: skip


@pytest.mark.parametrize("pattern", list(_CALLS))
@pytest.mark.parametrize("name", _OPS)
def test_overloaded_op_binding_text_as_torch(name, pattern):
    kind, _ = _same(lambda lib, t: _CALLS[pattern](getattr(lib, name), t))
    assert kind == "TypeError"


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, t: lib.clamp(t, y=1),
        lambda lib, t: lib.mm(t),
        lambda lib, t: lib.sum(),
        lambda lib, t: lib.add(),
        lambda lib, t: lib.sum(*[t] * 6),
        lambda lib, t: lib.clamp(y=1, z=2, w=3),
        lambda lib, t: lib.mm(t, mat2=t, y=1),
    ],
)
def test_overloaded_op_whole_text_as_torch(call):
    """The whole text: the listing, the overloads and their "didn't match" lines."""
    assert _same(call, whole=True)[0] == "TypeError"


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, t: lib.sum(a=t, y=1),  # (NumPy's name as spelled)
        lambda lib, t: lib.clamp(x=t, y=1),
        lambda lib, t: lib.sum(t, axis=0, y=1, keepdims=True),  # (torch: "unexpected 'axis'")
        lambda lib, t: lib.add(x1=t, x2=t, y=1),
        lambda lib, t: lib.add(t, y=1),  # (one plausible overload: its own text)
        lambda lib, t: lib.div(t, t, t, t, t),
        lambda lib, t: lib.mm(t, t, mat2=t),
    ],
)
def test_overloaded_op_with_aliases_and_one_plausible_overload_as_torch(call):
    assert _same(call)[0] == "TypeError"


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, t: lib.amax(t, 0, True, t, t),
        lambda lib, t: lib.amin(t, 0, True, t),
        lambda lib, t: lib.allclose(t, t, 1e-5, 1e-8, False, t, t),
        lambda lib, t: lib.exp(t, t),
        lambda lib, t: lib.atan2(t, t, t),
    ],
)
def test_too_many_positional_arguments_as_torch(call):
    """torch's "takes from 1 to 3 positional arguments" where some have defaults."""
    assert _same(call)[0] == "TypeError"


@pytest.mark.parametrize("name", ["exp", "sin", "abs", "sqrt", "sigmoid", "log", "neg"])
def test_argument_less_method_texts_as_torch(name):
    """CPython's texts for torch's ``METH_NOARGS`` methods: ``TensorBase.`` called at once,
    ``Tensor.`` through a bound method object."""
    for call in (
        lambda lib, t: getattr(t, name)(x=t),
        lambda lib, t: getattr(t, name)(1),
        lambda lib, t: getattr(t, name)(out=t),
    ):
        _same(call)
    assert _same(lambda lib, t: t.exp(x=t)) == (
        "TypeError",
        "TensorBase.exp() takes no keyword arguments",
    )
    assert _same(lambda lib, t: t.sin(1))[1] == "TensorBase.sin() takes no arguments (1 given)"


@pytest.mark.xfail(
    strict=True,
    reason="a method bound to the op itself (x.relu, x.isnan, x.t: no wrapper, so that "
    "x.relu() costs nothing more) or made in-place (x.exp_) keeps Python's text: torch "
    "'TensorBase.relu() takes no arguments (1 given)'; 111 of the 172 such methods",
)
@pytest.mark.parametrize("name", ["relu", "isnan", "exp_"])
def test_raw_method_takes_no_arguments_text_as_torch(name):
    _same(lambda lib, t: getattr(t, name)(1))


@pytest.mark.xfail(
    strict=True,
    reason="a method of an overloaded op keeps chainrule's text: torch lists the method's "
    "overloads ('sum() received an invalid combination of arguments - got (y=int, )')",
)
def test_overloaded_method_binding_text_as_torch():
    _same(lambda lib, t: t.sum(y=1))
