"""Small core gaps found in session 42, each checked against PyTorch: ``detach_`` drops the
forward-mode tangent, ``as_strided`` of a view reads its base's tangent, ``bool(t)``'s
words, ``eq_``/``logical_and_`` ... refusing a tuple or list, and ``view``'s refusal text
for a convolution's result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

__all__: list[str] = []

LIBS = (torch, cr)


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and text are compared
        return type(e), str(e)
    return None, None


# ---- 1. detach_ under forward AD -----------------------------------------------------------


@pytest.mark.parametrize("how", ["mul", "clone", "exp"])
def test_detach_inplace_drops_the_tangent(how):
    seen = []
    for lib in LIBS:
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 3.0]))
            w = {"mul": x.mul, "clone": x.clone, "exp": x.exp}[how](*([2] if how == "mul" else []))
            assert fwad.unpack_dual(w).tangent is not None
            out = w.detach_()
            assert out is w
            later = w * 3  # an op on it carries no tangent either
            seen.append((fwad.unpack_dual(w).tangent, fwad.unpack_dual(later).tangent, w.tolist()))
    assert seen[0][:2] == (None, None)
    assert seen[1][:2] == (None, None)
    np.testing.assert_allclose(seen[1][2], seen[0][2], rtol=1e-6)


def test_detach_inplace_of_a_dual_view_is_refused_as_torch():
    msgs = []
    for lib in LIBS:
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 1.0]))
            msgs.append(_raised(lambda x=x: x[:1].detach_()))
    assert msgs[0][0] is RuntimeError
    assert msgs[1] == msgs[0]


def test_detach_inplace_keeps_reverse_mode_behaviour():
    for lib in LIBS:
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        b.detach_()
        assert b.grad_fn is None and not b.requires_grad and b.is_leaf


# ---- 2. as_strided of a view under forward AD ------------------------------------------------


def _strided_tangent(lib, make, size, stride, offset):
    fwad = lib.autograd.forward_ad
    with fwad.dual_level():
        v = make(lib, fwad)
        r = v.as_strided(size, stride, offset)
        t = fwad.unpack_dual(r).tangent
        return None if t is None else t.tolist()


def _real_of_dual(lib, fwad):
    zt = lib.tensor([0.5 + 0.25j, -1 + 2j, 3 - 4j], dtype=lib.complex128)
    z = fwad.make_dual(lib.tensor([1 + 2j, 3 - 1j, 0.5j], dtype=lib.complex128), zt)
    return z.real


def _imag_of_result(lib, fwad):
    zt = lib.tensor([0.5 + 0.25j, -1 + 2j, 3 - 4j], dtype=lib.complex128)
    z = fwad.make_dual(lib.tensor([1 + 2j, 3 - 1j, 0.5j], dtype=lib.complex128), zt)
    return (z * (2 - 1j)).imag


def _slice_of_result(lib, fwad):
    x = fwad.make_dual(lib.arange(8.0), lib.arange(8.0) * 10 + 1)
    return (x * 1)[2:5]


def _strided_slice_of_dual(lib, fwad):
    x = fwad.make_dual(lib.arange(12.0).reshape(3, 4), lib.arange(12.0).reshape(3, 4) - 5)
    return x[:, ::2]


@pytest.mark.parametrize(
    "make, size, stride, offset",
    [
        (_real_of_dual, (1, 2), (1, 1), 0),
        (_real_of_dual, (2, 3), (2, 1), 1),
        (_real_of_dual, (3,), (2,), None),
        (_imag_of_result, (2, 2), (1, 2), 0),
        (_slice_of_result, (2, 3), (1, 2), 0),
        (_slice_of_result, (3,), (1,), None),
        (_strided_slice_of_dual, (3, 4), (4, 1), 0),
        (_strided_slice_of_dual, (2,), (5,), 1),
    ],
)
def test_as_strided_tangent_is_a_view_of_the_base_tangent(make, size, stride, offset):
    want = _strided_tangent(torch, make, size, stride, offset)
    assert want is not None
    assert _strided_tangent(cr, make, size, stride, offset) == want


def test_as_strided_of_a_plain_tensor_tangent_unchanged():
    seen = []
    for lib in LIBS:
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(lib.arange(6.0), lib.arange(6.0) * 2)
            y = x.sin()
            r = y.as_strided((2, 2), (2, 1), 1)
            seen.append(fwad.unpack_dual(r).tangent.numpy().copy())
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-6)


# ---- 3. bool(t) ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2,), (0,), (2, 3), (0, 3)])
def test_bool_of_not_one_element_is_torch_text(shape):
    got = [_raised(lambda lib=lib: bool(lib.zeros(shape))) for lib in LIBS]
    assert got[0][0] is RuntimeError
    assert got[1] == got[0]


def test_bool_of_one_element_and_if_statement():
    for lib in LIBS:
        assert bool(lib.tensor([3.0])) is True
        assert bool(lib.tensor(0.0)) is False
    with pytest.raises(RuntimeError, match="^Boolean value of Tensor with more than one value"):
        if cr.tensor([1.0, 2.0]):
            pass


# ---- 4. in-place comparisons and logical ops refuse a tuple or list --------------------------


def _call(x, name, arg):
    return getattr(x, name)(arg)


@pytest.mark.parametrize(
    "name",
    [
        "eq_",
        "ne_",
        "lt_",
        "le_",
        "gt_",
        "ge_",
        "not_equal_",
        "less_",
        "less_equal_",
        "greater_",
        "greater_equal_",
    ],
)
@pytest.mark.parametrize("arg", [(1, 2), [1.0, 2.0], (1,)])
def test_inplace_comparison_refuses_a_sequence(name, arg):
    got = []
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0])
        method = getattr(x, name)
        # a direct call (the message names the method as the call site spells it)
        got.append((_raised(lambda method=method: method(arg)), x.tolist()))
    assert got[0][0][0] is TypeError
    assert got[1][0][0] is TypeError
    assert got[1][1] == got[0][1] == [1.0, 2.0]  # nothing written
    # (called through a variable the message's op name is read as the function's; the
    # text is compared word for word for literal calls below)
    assert "() received an invalid combination of arguments - got (" in got[1][0][1]


_LITERAL_CALLS = [  # written out: the message names the method as the call spells it
    lambda x, a: x.eq_(a),
    lambda x, a: x.ne_(a),
    lambda x, a: x.lt_(a),
    lambda x, a: x.le_(a),
    lambda x, a: x.gt_(a),
    lambda x, a: x.ge_(a),
    lambda x, a: x.not_equal_(a),
    lambda x, a: x.less_(a),
    lambda x, a: x.greater_equal_(a),
]


@pytest.mark.parametrize("call", range(len(_LITERAL_CALLS)))
@pytest.mark.parametrize("arg", [(1, 2), [1, 2], (1.5,)])
def test_inplace_comparison_message_word_for_word(call, arg):
    fn = _LITERAL_CALLS[call]
    got = [_raised(lambda lib=lib: fn(lib.tensor([1.0, 2.0]), arg)) for lib in LIBS]
    assert got[0][0] is TypeError
    assert got[1] == got[0]


def test_inplace_comparison_numbers_and_tensors_still_work():
    for name in ("eq_", "lt_", "ge_"):
        outs = []
        for lib in LIBS:
            x = lib.tensor([1.0, 2.0, 3.0])
            getattr(x, name)(2)
            y = lib.tensor([1.0, 2.0, 3.0])
            getattr(y, name)(lib.tensor([3.0, 2.0, 1.0]))
            outs.append((x.tolist(), y.tolist()))
        assert outs[1] == outs[0]
    assert (cr.tensor([1.0, 2.0]) == np.array([1.0, 2.0])).tolist() == [True, True]


_LOGICAL_CALLS = {
    "logical_and": [
        lambda lib, x: x.logical_and_((1, 0)),
        lambda lib, x: x.logical_and([1, 0]),
        lambda lib, x: lib.logical_and(x, (1, 0)),
        lambda lib, x: lib.logical_and([1, 0], x),
    ],
    "logical_or": [
        lambda lib, x: x.logical_or_([1, 0]),
        lambda lib, x: lib.logical_or(x, other=(1,)),
    ],
    "logical_xor": [
        lambda lib, x: x.logical_xor_((1, 0)),
        lambda lib, x: lib.logical_xor((1, 0), x),
    ],
}


@pytest.mark.parametrize("op", sorted(_LOGICAL_CALLS))
def test_logical_ops_refuse_a_sequence_as_torch(op):
    for case in _LOGICAL_CALLS[op]:
        got = [
            _raised(lambda lib=lib, case=case: case(lib, lib.tensor([1.0, 0.0]))) for lib in LIBS
        ]
        assert got[0][0] is TypeError
        assert got[1] == got[0]
    outs = []
    for lib in LIBS:
        x = lib.tensor([1.0, 0.0])
        getattr(x, op + "_")(lib.tensor([1.0, 1.0]))
        outs.append(x.tolist())
    assert outs[1] == outs[0]


# ---- 5. view()'s refusal for a convolution's result ------------------------------------------


def _conv_result():
    cr.manual_seed(0)
    conv = cr.nn.Conv2d(2, 3, 3)
    with cr.no_grad():
        return conv(cr.randn(2, 2, 5, 5))


@pytest.mark.parametrize(
    "take",
    [lambda y: y[:, 1:], lambda y: y.transpose(2, 3), lambda y: y.unfold(3, 2, 1)],
    ids=["slice", "transpose", "unfold"],
)
def test_view_after_a_view_that_moves_with_the_result(take):
    y = _conv_result()
    v = take(y)
    before = v.numpy().copy() if v.is_contiguous() else v.contiguous().numpy().copy()
    flat = y.view(2, -1)  # PyTorch's result is contiguous: this views
    assert flat.shape == (2, 27)
    after = v.numpy() if v.is_contiguous() else v.contiguous().numpy()
    np.testing.assert_array_equal(after, before)


def test_view_refusal_text_after_an_as_strided_window():
    y = _conv_result()
    window = y.as_strided((2, 5), (1, 3), 0)  # kept alive: a dead view does not count
    with pytest.raises(RuntimeError) as info:
        y.view(2, -1)
    msg = str(info.value)
    assert msg.startswith(
        "view size is not compatible with input tensor's size and stride (at least one"
        " dimension spans across two contiguous subspaces). Use .reshape(...) instead."
    )
    assert "as_strided window" in msg
    assert "a slice, unfold, ...: take this view first" not in msg
    assert window.shape == (2, 5)
