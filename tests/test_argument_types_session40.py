"""Session 40's argument-type and legacy-dunder cases, each against torch 2.13.

``cr.pow`` of a list base, a one-element integer or bool tensor as a dim (PyTorch's int-list
parser reads it as an int), ``x.view(dtype=...)`` of a non-dtype, and the Tensor dunders
PyTorch keeps from Python 2 and old pickles (``__div__``, ``__nonzero__``, ``__long__``,
``__delitem__``, ``__setstate__``).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import chainrule as cr


def _outcome(lib, code: str):
    x = lib.arange(12.0).reshape(3, 4)
    L = lib  # noqa: N806 - the library, as the sweep names it
    try:
        value = eval(code, {"x": x, "L": L, "np": np})
    except Exception as e:  # noqa: BLE001 - the outcome compared is the exception itself
        return type(e).__name__, str(e)
    return "ok", value.tolist() if hasattr(value, "tolist") else value


@pytest.mark.parametrize(
    "code",
    [
        "L.pow([1, 2], x)",
        "L.pow((1, 2), x)",
        "L.pow(np.ones(4), x)",
        "L.pow(None, x)",
        "L.pow('a', x)",
        "L.pow(2, x)",
        "L.pow(np.float64(2.0), x)",
        "L.pow(True, x)",
    ],
)
def test_pow_base_types(code: str) -> None:
    assert _outcome(cr, code) == _outcome(torch, code)


_ONE_INT_TENSORS = [
    "L.tensor(True)",
    "L.tensor(False)",
    "L.tensor([True])",
    "L.tensor([1])",
    "L.tensor([[1]])",
    "L.tensor(1, dtype=L.uint8)",
    "L.tensor(-1, dtype=L.int8)",
]


@pytest.mark.parametrize("value", _ONE_INT_TENSORS)
@pytest.mark.parametrize(
    "template",
    ["x.sum({})", "x.mean({})", "x.amax({})", "x.sum(({},))", "x.sum((0, {}))", "x.sum(dim={})"],
)
def test_one_element_integer_tensor_dim(template: str, value: str) -> None:
    code = template.format(value)
    got, want = _outcome(cr, code), _outcome(torch, code)
    if want[0] != "ok":  # (0, tensor(False)): dim 0 twice (chainrule's text adds the op)
        assert got[0] == want[0] == "RuntimeError"
        assert want[1] in got[1]
        return
    assert got == want


@pytest.mark.parametrize("value", ["L.tensor([0, 1])", "L.tensor(1.0)", "L.tensor([1.5])"])
def test_other_tensor_dims_refused(value: str) -> None:
    code = f"x.sum({value})"
    got, want = _outcome(cr, code), _outcome(torch, code)
    assert want[0] == "TypeError"
    assert got[0] == "TypeError"


@pytest.mark.parametrize(
    "code", ["x.view(dtype='a')", "x.view(dtype=1)", "x.view(dtype=(1, 2))", "x.view('a')"]
)
def test_view_dtype_keyword_types(code: str) -> None:
    got, want = _outcome(cr, code), _outcome(torch, code)
    assert want[0] == "TypeError"
    assert got == want


def test_view_dtype_keyword_still_views() -> None:
    x = cr.arange(4.0)
    assert x.view(dtype=cr.int64).dtype == cr.int64


@pytest.mark.parametrize(
    "code",
    [
        "x.__div__(2)",
        "x.__rdiv__(2)",
        "x.clone().__idiv__(2)",
        "x.__div__(x + 1)",
        "x[0, :1].__long__()",
        "L.tensor(-2.5).__long__()",
        "L.tensor(0.0).__nonzero__()",
        "L.tensor(3).__nonzero__()",
    ],
)
def test_legacy_dunders(code: str) -> None:
    assert _outcome(cr, code) == _outcome(torch, code)


def test_legacy_dunders_refuse_as_torch() -> None:
    """``__long__``/``__nonzero__`` of several elements: torch's exception types (chainrule's
    ItemConversionError is a ValueError; the texts are int()'s and bool()'s own)."""
    for name, kind in (("__long__", ValueError), ("__nonzero__", RuntimeError)):
        for lib in (torch, cr):
            with pytest.raises(kind):
                getattr(lib.arange(3.0), name)()


def test_legacy_dunder_names_present() -> None:
    names = ["__div__", "__rdiv__", "__idiv__", "__long__", "__nonzero__", "__delitem__"]
    names.append("__setstate__")
    for name in names:
        assert hasattr(torch.Tensor, name), name
        assert hasattr(cr.Tensor, name), name


def test_idiv_in_place() -> None:
    x = cr.arange(3.0)
    y = x.__idiv__(2)
    assert y is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.5, 1.0])


def test_delitem_refused() -> None:
    for lib in (torch, cr):
        x = lib.arange(3.0)
        with pytest.raises(TypeError, match="^Tensor does not support deleting items$"):
            del x[0]


def test_setstate_as_torch() -> None:
    for lib in (torch, cr):
        x = lib.arange(3.0)
        x.__setstate__((True, False, None))
        assert x.requires_grad
        with pytest.raises(RuntimeError, match="^__setstate__ can be only called on leaf"):
            (x * 2).__setstate__((False, False, None))
        with pytest.raises(ValueError, match=r"not enough values to unpack \(expected 3, got 2"):
            lib.arange(3.0).__setstate__((True, False))


def test_setstate_with_hooks_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="backward hooks"):
        cr.arange(3.0).__setstate__((True, False, {0: print}))


def test_pickle_round_trip_unchanged() -> None:
    p = cr.nn.Parameter(cr.ones(2))
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, cr.nn.Parameter) and q.requires_grad
    np.testing.assert_array_equal(q.detach().numpy(), [1.0, 1.0])


def test_torch_dispatch_not_mirrored() -> None:
    """chainrule has no dispatcher: a default ``__torch_dispatch__`` would make a subclass's
    handler look honoured while never called (legacy_dunders.py's docstring)."""
    assert not hasattr(cr.Tensor, "__torch_dispatch__")


def _functional_outcome(lib, call):
    x = lib.arange(12.0).reshape(3, 4)
    try:
        value = call(lib, x)
    except Exception as e:  # noqa: BLE001 - the outcome compared is the exception itself
        return type(e).__name__, str(e)
    return "ok", value.tolist()


_REDUCTION_VALUES = ["a", True, 1.5, None, (1.0, 2.0), np.int64(1), "elementwise"]
_LOSSES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "soft_margin_loss"]
_LOSSES += ["multilabel_soft_margin_loss", "hinge_embedding_loss"]


@pytest.mark.parametrize("reduction", _REDUCTION_VALUES, ids=repr)
@pytest.mark.parametrize("loss", _LOSSES)
def test_loss_reduction_text(loss: str, reduction) -> None:
    def call(lib, x):
        return getattr(lib.nn.functional, loss)(x, x, reduction=reduction)

    got, want = _functional_outcome(cr, call), _functional_outcome(torch, call)
    assert want[0] != "ok"  # multilabel_soft_margin: reduction + " is not valid" (TypeError)
    assert got == want


@pytest.mark.parametrize("reduction", ["L.tensor(1)", "L.tensor(1.5)"])
def test_loss_reduction_tensor_formats_as_number(reduction: str) -> None:
    code = f"L.nn.functional.mse_loss(x, x, reduction={reduction})"
    assert _outcome(cr, code) == _outcome(torch, code)


@pytest.mark.parametrize(
    "code",
    [
        "L.einsum(True, x)",
        "L.einsum(1.5, x)",
        "L.einsum(None, x)",
        "L.einsum((1.0, 2.0), x)",
        "L.einsum(np.int64(1), x)",
        "L.einsum(True)",
        "L.einsum(x, [0, 1])",
        "L.einsum(x, [0, 1], [1])",
    ],
)
def test_einsum_equation_type(code: str) -> None:
    assert _outcome(cr, code) == _outcome(torch, code)


@pytest.mark.parametrize(
    "code",
    [
        "L.nn.functional.cross_entropy(x, True)",
        "L.nn.functional.cross_entropy(x, None)",
        "L.nn.functional.cross_entropy(x, np.int64(1))",
        "L.nn.functional.cross_entropy(x, (1.0, 2.0))",
        "L.nn.functional.cross_entropy(1.5, x)",
        "L.nn.functional.cross_entropy('a', 'b')",
    ],
)
def test_cross_entropy_tensor_arguments(code: str) -> None:
    assert _outcome(cr, code) == _outcome(torch, code)


_ACTIVATIONS = ["hardtanh", "leaky_relu", "hardsigmoid", "hardshrink", "softshrink", "rrelu"]
_ACTIVATIONS += ["elu", "selu", "celu", "gelu", "silu", "mish", "hardswish", "logsigmoid"]


@pytest.mark.parametrize("value", [1.5, None, "a", np.int64(1), (1.0, 2.0), True], ids=repr)
@pytest.mark.parametrize("name", _ACTIVATIONS)
def test_activation_input_not_tensor(name: str, value) -> None:
    out = []
    for lib in (torch, cr):
        with pytest.raises(TypeError) as info:
            getattr(lib.nn.functional, name)(value)
        out.append(str(info.value))
    assert out[0] == out[1]
