"""A broad sweep of Tensor methods against PyTorch: the same method with the same simple
arguments on small float32/float64/int64/bool/0-d inputs must give the same value, dtype and
shape, or raise the same kind of error. Holds the cases a sweep found wrong (now fixed) and a
sample of those that already agreed, so that a regression shows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

_F32 = np.array([[-1.5, 0.25, 2.0], [0.75, -0.5, 3.0]], dtype=np.float32)
_F32_B = np.array([[0.5, -2.0, 1.25], [1.0, 0.3, -0.7]], dtype=np.float32)
_INPUTS = {
    "f32": (_F32, _F32_B),
    "f64": (_F32.astype(np.float64), _F32_B.astype(np.float64)),
    "i64": (
        np.array([[-3, 0, 2], [5, -1, 4]], dtype=np.int64),
        np.array([[2, -1, 3], [1, 2, -2]], dtype=np.int64),
    ),
    "bool": (
        np.array([[True, False, True], [False, False, True]]),
        np.array([[True, True, False], [False, True, False]]),
    ),
    "0d": (np.array(0.75, dtype=np.float32), np.array(-1.25, dtype=np.float32)),
}
_OTHER = object()  # stands for the second tensor of the same shape in an argument list


def _call(module: Any, name: str, kind: str, args: tuple) -> tuple[Any, Any]:
    """(self, result or the exception raised) of ``self.name(*args)`` in ``module``."""
    a, b = _INPUTS[kind]
    self, other = module.tensor(a), module.tensor(b)
    args = tuple(other if x is _OTHER else x for x in args)
    try:
        return self, getattr(self, name)(*args)
    except Exception as err:  # noqa: BLE001 - the error itself is what is compared
        return self, err


def _as_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, cr.Tensor):
        return np.asarray(x.detach().numpy())
    return x


def _assert_same(got: Any, want: Any) -> None:
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
        return
    if isinstance(want, torch.Tensor):
        assert isinstance(got, cr.Tensor), f"expected a Tensor, got {type(got).__name__}"
        assert str(got.dtype) == str(want.dtype)
        assert tuple(got.shape) == tuple(want.shape)
        w, g = _as_numpy(want), _as_numpy(got)
        if w.dtype.kind in "fc":
            tol = 1e-6 if w.dtype.itemsize <= 4 else 1e-12
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(g, w)
        return
    assert type(got) is type(want) and got == want


# (method, input kind, arguments): cases that the sweep found wrong, now agreeing
_FIXED = [
    # a 0-d tensor takes dims 0 and -1 only: flatten(1) was silently accepted
    ("flatten", "0d", (1,)),
    ("flatten", "0d", (2,)),
    ("flatten", "0d", (0, 1)),
    ("flatten", "0d", (-2,)),
    # a single int is a size, as in PyTorch (was TypeError: 'int' object is not iterable)
    ("broadcast_to", "0d", (3,)),
    ("broadcast_to", "0d", (0,)),
    # relu of a mask: PyTorch refuses it (chainrule returned int64)
    ("relu", "bool", ()),
    ("relu_", "bool", ()),
    # a number where a tensor is needed: TypeError (was AttributeError: 'int' has no 'shape')
    *((name, "f32", (v,)) for name in ("mm", "mv", "bmm", "dot", "outer") for v in (2, 0.5)),
    *(
        (name, kind, (v,))
        for name in ("expand_as", "view_as", "reshape_as", "type_as")
        for kind in ("f32", "0d")
        for v in (1, 0.5)
    ),
]

# a sample of cases that already agreed
_AGREE = [
    *(
        (name, kind, ())
        for name in ("abs", "neg", "exp", "sigmoid", "floor", "sign", "relu")
        for kind in ("f32", "f64", "i64", "0d")
    ),
    *(
        (name, kind, (_OTHER,))
        for name in ("add", "sub", "mul", "maximum", "eq", "lt", "atan2")
        for kind in ("f32", "f64", "i64", "0d")
    ),
    *(
        (name, kind, (v,))
        for name in ("sum", "mean", "amax", "argmax", "cumsum", "softmax")
        for kind in ("f32", "f64")
        for v in (0, 1, -1)
    ),
    *(
        (name, kind, (2,))
        for name in ("pow", "mul", "div", "remainder", "fmod")
        for kind in ("f32", "f64", "i64")
    ),
    *(
        (name, kind, ())
        for name in ("logical_not", "any", "all", "sum", "float", "long", "int")
        for kind in ("f32", "i64", "bool", "0d")
    ),
    ("flatten", "0d", (0,)),
    ("flatten", "0d", (-1,)),
    ("flatten", "0d", (0, -1)),
    ("flatten", "f32", ()),
    ("flatten", "f32", (0, 1)),
    ("flatten", "f32", (2,)),
    ("broadcast_to", "0d", ((2, 3),)),
    ("broadcast_to", "f32", ((2, 2, 3),)),
    ("broadcast_to", "f32", (3,)),
    ("mm", "f32", (_OTHER,)),
    ("dot", "f32", (_OTHER,)),
    ("view_as", "f64", (_OTHER,)),
    ("type_as", "i64", (_OTHER,)),
    ("expand_as", "0d", (_OTHER,)),
    ("add_", "f32", (_OTHER,)),
    ("mul_", "i64", (3,)),
    ("clamp_", "f64", (0,)),
    ("sort", "f32", (1,)),
    ("max", "f64", (0,)),
    ("transpose", "f32", (0, 1)),
    ("tolist", "i64", ()),
    ("item", "0d", ()),
    ("size", "f32", (1,)),
]


def _case_id(case: tuple) -> str:
    name, kind, args = case
    shown = ",".join("other" if a is _OTHER else repr(a) for a in args)
    return f"{name}-{kind}-({shown})"


@pytest.mark.parametrize("case", _FIXED + _AGREE, ids=_case_id)
def test_method_matches_torch(case: tuple) -> None:
    """Same value/dtype/shape, or an error of PyTorch's type; an in-place method mutates the
    tensor the same way and returns it."""
    name, kind, args = case
    t_self, want = _call(torch, name, kind, args)
    c_self, got = _call(cr, name, kind, args)
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), f"torch raised {want!r}, chainrule gave {got!r}"
        return
    assert not isinstance(got, Exception), f"chainrule raised {got!r}, torch gave {want!r}"
    _assert_same(got, want)
    if name.endswith("_"):
        _assert_same(c_self, t_self)
        assert got is c_self


@pytest.mark.parametrize("name", ["mm", "bmm", "dot", "mv", "outer"])
def test_product_of_a_number_names_the_argument(name: str) -> None:
    """The free function too: the message names the op and the argument that is no tensor."""
    x = cr.ones(2, 2)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'input' .* not int"):
        getattr(cr, name)(3, x)


def test_flatten_of_0d_error_names_the_dim() -> None:
    with pytest.raises(
        IndexError,
        match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)",
    ):
        cr.tensor(0.5).flatten(1)


def test_alpha_is_keyword_only_as_torch() -> None:
    """``x.add(y, y)`` read the second ``y`` as alpha (``x + y * y``, silently); PyTorch's
    ``alpha`` is keyword-only. (PyTorch's deprecated ``add(Number alpha, Tensor other)``
    overload is not taken: a TypeError.)"""
    for lib in (torch, cr):
        x, y = lib.ones(2), lib.full((2,), 3.0)
        with pytest.raises(TypeError):
            x.add(y, y)
        with pytest.raises(TypeError):
            lib.add(x, y, 2)
        with pytest.raises(TypeError):
            x.sub(y, 2)
        np.testing.assert_array_equal(lib.add(x, y, alpha=2).numpy(), [7.0, 7.0])
        np.testing.assert_array_equal(lib.sub(x, y, alpha=2).numpy(), [-5.0, -5.0])
