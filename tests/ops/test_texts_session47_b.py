"""Session 47's error texts, each against torch live: factories given ``size=None``,
``randint`` without a size, ``take_along_dim``'s dtype/rank/bounds words, the engine's
"invalid gradient" of a custom Function, ``heaviside`` with a complex ``out=``, and vmap's
``out_dims`` of another structure than the outputs."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr


def _outcome(fn):
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e), str(e)
    return "ok", tuple(result.shape) if hasattr(result, "shape") else result


def _same_first_line(call):
    """``call(lib)`` in both libraries: the same outcome (chainrule's error a subclass of
    torch's), and the same first line."""
    (tk, tv), (ck, cv) = (_outcome(lambda lib=lib: call(lib)) for lib in (torch, cr))
    if tk == "ok":
        assert (ck, cv) == (tk, tv)
        return "ok"
    assert ck != "ok" and issubclass(ck, tk), (tv, cv)
    assert cv.split("\n")[0] == tv.split("\n")[0]
    return tk.__name__


@pytest.mark.parametrize("name", ["ones", "zeros", "empty", "rand", "randn"])
def test_factory_size_none_as_torch(name):
    assert _same_first_line(lambda lib: getattr(lib, name)(size=None)) == "TypeError"
    assert _same_first_line(lambda lib: getattr(lib, name)(dtype=lib.float32)) == "TypeError"


_RANDINT = [
    ((5,), {}),
    ((5,), {"dtype": "int32"}),
    ((1, 5), {}),
    ((5, (2,)), {}),
    ((0, 5, ()), {}),
    ((0, 5), {"size": (2,)}),
]


@pytest.mark.parametrize("args,kwargs", _RANDINT)
def test_randint_without_size_as_torch(args, kwargs):
    def call(lib):
        kw = {k: getattr(lib, v) if isinstance(v, str) else v for k, v in kwargs.items()}
        return lib.randint(*args, **kw)

    _same_first_line(call)


_TAKE = {
    "float_flat": lambda lib, t: lib.take_along_dim(t, lib.tensor([0.0, 1.0])),
    "bool_flat": lambda lib, t: lib.take_along_dim(t, lib.tensor([True])),
    "float_dim": lambda lib, t: lib.take_along_dim(t, lib.tensor([[0.0]]), dim=1),
    "int32_dim": lambda lib, t: lib.take_along_dim(t, lib.tensor([[0]], dtype=lib.int32), dim=1),
    "rank": lambda lib, t: lib.take_along_dim(t, lib.tensor([1]), dim=1),
    "high_flat": lambda lib, t: lib.take_along_dim(t, lib.tensor([7])),
    "low_flat": lambda lib, t: lib.take_along_dim(t, lib.tensor([-7])),
    "method_flat": lambda lib, t: t.take_along_dim(lib.tensor([9])),
    "int32_flat": lambda lib, t: lib.take_along_dim(t, lib.tensor([1], dtype=lib.int32)),
}


@pytest.mark.parametrize("case", list(_TAKE))
def test_take_along_dim_texts_as_torch(case):
    kind = _same_first_line(lambda lib: _TAKE[case](lib, lib.arange(6.0).reshape(2, 3)))
    assert kind == ("ok" if case == "int32_flat" else kind)


def _bad_backward(lib, shape, with_number):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            return a * k + b.sum()

        @staticmethod
        def backward(ctx, g):
            return g, None, lib.ones(*shape)

    x = lib.ones(3, requires_grad=True)
    y = lib.ones(2, 3, requires_grad=True)
    if with_number:
        return Bad.apply(x, 2.0, y).sum().backward()

    class One(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return lib.ones(*shape)

    return One.apply(x).sum().backward()


@pytest.mark.parametrize("shape", [(5,), (1,), (4, 3)])
@pytest.mark.parametrize("with_number", [False, True])
def test_invalid_gradient_of_a_custom_function_as_torch(shape, with_number):
    kind = _same_first_line(lambda lib: _bad_backward(lib, shape, with_number))
    # (a (4, 3) gradient of a (3,) input is summed to it: no error, in both)
    assert kind == ("ok" if shape == (4, 3) and not with_number else "RuntimeError")


@pytest.mark.parametrize(
    "out_dtype,other", [("complex64", "int64"), ("complex64", "float32"), ("float64", "int64")]
)
def test_heaviside_out_checks_complex_first_as_torch(out_dtype, other):
    def call(lib):
        a = lib.tensor([1.0, 0.0])
        b = lib.tensor([1, 2]).to(getattr(lib, other))
        return lib.heaviside(a, b, out=lib.zeros(2, dtype=getattr(lib, out_dtype)))

    assert _same_first_line(call) == "RuntimeError"


_OUT_DIMS = [
    (lambda x: (x, x), (0, 0, 0)),
    (lambda x: x, (0, 0)),
    (lambda x: (x, [x]), (0, (0, 1))),
    (lambda x: {"a": x}, {"b": 0}),
]


@pytest.mark.parametrize("case", range(len(_OUT_DIMS)))
def test_vmap_out_dims_structure_text_as_torch(case):
    f, out_dims = _OUT_DIMS[case]
    got = [
        _outcome(lambda lib=lib: lib.func.vmap(f, out_dims=out_dims)(lib.ones(2, 3)))
        for lib in (torch, cr)
    ]
    assert got[0][0] is ValueError
    assert got[1] == got[0]  # (the whole text: both trees' structures)
