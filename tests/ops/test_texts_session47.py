"""PyTorch's NumPy keyword aliases and its parser's binding errors on the root functions and
methods (``ops/keyword_aliases.py``), each call run in torch and chainrule alike.

torch's argument parser takes ``x=``/``a=``/``x1=`` for ``input``, ``x2=`` for ``other``,
``axis=`` for ``dim`` and ``keepdims=`` for ``keepdim`` on every function it parses; the
ones torch writes in Python (``norm``, ``split``, ``unique``, ``tensordot``, ``cdist``) take
none. A table of ~50 ops tries each alias of each of their parameters in both libraries.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops.keyword_aliases import binding_error, with_aliases

_ALIASES = {"input": ("x", "a", "x1"), "other": ("x2",), "dim": ("axis",), "keepdim": ("keepdims",)}

# name -> keyword arguments by PyTorch's parameter names ("t": a 3x3 float tensor, "v": a
# 3-vector, "b": a bool mask, "i": a 3x3 int64 index, "i1": a 3-vector index, "l": [t, t])
_CALLS = {
    "exp": {"input": "t"},
    "abs": {"input": "t"},
    "sin": {"input": "t"},
    "sigmoid": {"input": "t"},
    "neg": {"input": "t"},
    "relu": {"input": "t"},
    "add": {"input": "t", "other": "t"},
    "sub": {"input": "t", "other": "t"},
    "mul": {"input": "t", "other": "t"},
    "div": {"input": "t", "other": "t"},
    "maximum": {"input": "t", "other": "t"},
    "atan2": {"input": "t", "other": "t"},
    "hypot": {"input": "t", "other": "t"},
    "pow": {"input": "t", "exponent": "t"},
    "eq": {"input": "t", "other": "t"},
    "matmul": {"input": "t", "other": "t"},
    "mm": {"input": "t", "mat2": "t"},
    "outer": {"input": "v", "vec2": "v"},
    "kron": {"input": "t", "other": "t"},
    "where": {"condition": "b", "input": "t", "other": "t"},
    "clamp": {"input": "t", "min": 0.1},
    "lerp": {"input": "t", "end": "t", "weight": 0.5},
    "isclose": {"input": "t", "other": "t"},
    "allclose": {"input": "t", "other": "t"},
    "equal": {"input": "t", "other": "t"},
    "sum": {"input": "t", "dim": 0, "keepdim": True},
    "mean": {"input": "t", "dim": 0, "keepdim": True},
    "prod": {"input": "t", "dim": 0, "keepdim": True},
    "amax": {"input": "t", "dim": 0, "keepdim": True},
    "argmax": {"input": "t", "dim": 0, "keepdim": True},
    "max": {"input": "t", "dim": 0, "keepdim": True},
    "std": {"input": "t", "dim": 0, "keepdim": True},
    "logsumexp": {"input": "t", "dim": 0, "keepdim": True},
    "all": {"input": "b", "dim": 0, "keepdim": True},
    "count_nonzero": {"input": "t", "dim": 0},
    "cumsum": {"input": "t", "dim": 0},
    "softmax": {"input": "t", "dim": 0},
    "squeeze": {"input": "t", "dim": 0},
    "unsqueeze": {"input": "t", "dim": 0},
    "flatten": {"input": "t"},
    "transpose": {"input": "t", "dim0": 0, "dim1": 1},
    "flip": {"input": "t", "dims": [0]},
    "roll": {"input": "t", "shifts": 1, "dims": 0},
    "diff": {"input": "t", "dim": 0},
    "cross": {"input": "t", "other": "t", "dim": 1},
    "gather": {"input": "t", "dim": 1, "index": "i"},
    "index_select": {"input": "t", "dim": 0, "index": "i1"},
    "take_along_dim": {"input": "t", "indices": "i", "dim": 1},
    "sort": {"input": "t", "dim": 0},
    "topk": {"input": "t", "k": 1, "dim": 0},
    "cat": {"tensors": "l", "dim": 0},
    "stack": {"tensors": "l", "dim": 0},
    "norm": {"input": "t", "dim": 0, "keepdim": True},  # (Python in torch: no alias)
    "split": {"tensor": "t", "split_size_or_sections": 1, "dim": 0},
    "unique": {"input": "t", "dim": 0},
    "tensordot": {"a": "t", "b": "t", "dims": 1},
}


def _values(lib):
    data = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [3.0, 1.0, 0.75]])
    t = lib.tensor(data)
    return {
        "t": t,
        "v": lib.tensor(data[0]),
        "b": t > 0.6,
        "i": lib.tensor([[0, 2, 1]] * 3),
        "i1": lib.tensor([2, 0]),
        "l": [t, t],
    }


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e).__name__, str(e).split("\n")[0]


def _arrays(result):
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _arrays(r)]
    if hasattr(result, "detach"):
        return [result.detach().numpy()]
    return [np.asarray(result)]


def _same(call_torch, call_cr):
    (tk, tv), (ck, cv) = _outcome(call_torch), _outcome(call_cr)
    assert ck == tk, (tk, tv, ck, cv)
    if tk == "ok":
        for a, b in zip(_arrays(tv), _arrays(cv), strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-6)
    return tk


def _alias_cases():
    for name, call in _CALLS.items():
        for param in call:
            for alias in _ALIASES.get(param, ()):
                yield name, param, alias


@pytest.mark.parametrize("name,param,alias", list(_alias_cases()))
def test_root_function_takes_numpy_alias_as_torch(name, param, alias):
    kinds = []
    calls = []
    for lib in (torch, cr):
        vals = _values(lib)
        kw = {k: vals.get(v, v) if isinstance(v, str) else v for k, v in _CALLS[name].items()}
        kw[alias] = kw.pop(param)
        calls.append(lambda lib=lib, kw=kw: getattr(lib, name)(**kw))
    kinds.append(_same(*calls))
    if name not in ("norm", "split", "unique", "tensordot"):
        assert kinds == ["ok"]  # (the table's calls are valid: torch took the alias)


_METHOD_CALLS = [  # (name, keyword arguments after self)
    ("add", {"x2": "t"}),
    ("matmul", {"x2": "t"}),
    ("maximum", {"x2": "t"}),
    ("sum", {"axis": 0, "keepdims": True}),
    ("softmax", {"axis": 0}),
    ("unsqueeze", {"axis": 0}),
    ("gather", {"axis": 1, "index": "i"}),
    ("exp", {"x": "t"}),  # (torch: "Tensor.exp() takes no keyword arguments")
    ("add", {"x1": "t", "other": "t"}),
    *[
        pytest.param(
            name,
            kwargs,
            marks=pytest.mark.xfail(
                strict=True,
                reason="a method that takes no out= is bound to the op itself (no wrapper, so "
                "x.select(0, 1) costs what it did): it takes no x2=/axis=, which torch's does",
            ),
        )
        for name, kwargs in (
            ("isclose", {"x2": "t"}),
            ("narrow", {"axis": 0, "start": 0, "length": 1}),
            ("select", {"axis": 0, "index": 1}),
            ("scatter_add", {"axis": 0, "index": "i", "src": "t"}),
        )
    ],
    ("norm", {"dim": 0, "keepdims": True}),
    ("split", {"split_size": 1, "axis": 0}),
]


@pytest.mark.parametrize("name,kwargs", _METHOD_CALLS)
def test_method_takes_numpy_alias_as_torch(name, kwargs):
    calls = []
    for lib in (torch, cr):
        vals = _values(lib)
        kw = {k: vals.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
        calls.append(lambda vals=vals, kw=kw: getattr(vals["t"], name)(**kw))
    (tk, tv), (ck, cv) = _outcome(calls[0]), _outcome(calls[1])
    assert ck == tk, (tv, cv)
    if tk != "ok":
        assert cv == tv


def test_alias_beside_its_parameter_is_refused_as_torch():
    for call in (
        lambda lib, t: lib.exp(t, x=t),
        lambda lib, t: lib.add(t, t, x2=t),
        lambda lib, t: lib.sum(t, dim=0, axis=0),
    ):
        got = [_outcome(lambda lib=lib, c=call: c(lib, lib.ones(2)))[0] for lib in (torch, cr)]
        assert got[0] == got[1] == "TypeError"


# ------------------------------------------------------------------ binding errors
_BINDING = [  # (name, positional "t" count, keyword names given with value 1)
    *[(n, 0, ()) for n in ("exp", "sin", "sigmoid", "abs", "relu", "tanh", "argmax")],
    *[(n, 0, ("y",)) for n in ("exp", "atan2", "maximum", "matmul", "dot", "cumsum")],
    *[(n, 0, ()) for n in ("atan2", "maximum", "matmul", "mul", "logaddexp", "hypot")],
    *[(n, 0, ()) for n in ("outer", "kron", "flip", "softmax", "gather", "cat", "stack")],
    *[(n, 1, ()) for n in ("atan2", "matmul", "dot", "cumsum", "softmax", "gather")],
    *[(n, 1, ("y",)) for n in ("maximum", "mul", "add", "outer", "kron", "flip", "hypot")],
    *[(n, 2, ()) for n in ("exp", "sin", "abs", "relu", "tanh")],
    *[(n, 2, ("y",)) for n in ("exp", "sigmoid")],
    *[(n, 0, ("y",)) for n in ("where", "sum", "mean", "squeeze", "sort")],
]
# torch overloads these: its parser lists the overloads ("received an invalid combination
# of arguments"), add's one visible overload in the first line (torch_overloads.py)
_BINDING += [("mm", 1, ()), ("add", 0, ()), ("clamp", 1, ("y",)), ("sum", 0, ())]


@pytest.mark.parametrize("name,n,keys", _BINDING)
def test_binding_error_first_line_as_torch(name, n, keys):
    got = []
    for lib in (torch, cr):
        t = lib.ones(3)
        got.append(
            _outcome(lambda lib=lib, t=t: getattr(lib, name)(*[t] * n, **dict.fromkeys(keys, 1)))
        )
    assert got[0][0] == "TypeError"
    assert got[1] == got[0]


def test_binding_error_keeps_an_error_from_inside_the_op():
    """A TypeError raised inside the op (its arguments bound) is not rewritten."""

    def op(input, other=1):  # noqa: A002
        raise TypeError("from inside")

    wrapped = with_aliases(op, "op")
    with pytest.raises(TypeError, match="^from inside$"):
        wrapped(1)
    with pytest.raises(TypeError, match="^from inside$"):
        wrapped(x1=1, x2=2)  # (the aliases renamed, then the op's own error)
    assert binding_error("op", op, (1,), {}) is None
    assert (
        str(binding_error("op", op, (), {}))
        == 'op() missing 1 required positional arguments: "input"'
    )


@pytest.mark.parametrize("name", ["split", "norm", "tensordot", "cdist"])
def test_python_root_functions_keep_pythons_binding_text(name):
    """torch writes these in Python: no alias, and Python's own "missing" words."""
    got = [_outcome(lambda lib=lib: getattr(lib, name)()) for lib in (torch, cr)]
    assert got[0][0] == "TypeError"
    assert got[1] == got[0]
