"""Gaps found by the session-22 drop-in programs (``gin_graph_pooling``, ``rwkv_time_mixing``,
``perceiver_latents``, ``deep_ensembles_svdd``, ``pgd_adversarial_training``) and by probing the
calls next to their idioms, each checked against PyTorch.

- Negative padding that crops more than a dim holds (``F.pad(x, (0, -4))`` on a width of 3,
  ``nn.ZeroPad2d((2, -4, 0, 0))``; RWKV's ``nn.ZeroPad2d((0, 0, 1, -1))`` time shift is the
  in-range case) returned a wrong tensor: the crop was a slice whose negative end wrapped
  around. PyTorch raises RuntimeError ("narrow(): length must be non-negative." for a constant
  pad; the other modes too).
- ``torch.meshgrid(..., indexing='foo')`` raised ValueError; PyTorch raises RuntimeError
  ('torch.meshgrid: indexing must be one of "xy" or "ij", but received: foo').
- ``torch.maximum`` / ``torch.minimum`` (and the methods) took a Python number, a NumPy number,
  a list or an array as an operand (RWKV's ``torch.maximum(o, u + k)`` wants tensors); PyTorch
  raises TypeError ("maximum(): argument 'other' (position 2) must be Tensor, not float").
  A complex operand now raises a DtypeError, the RuntimeError PyTorch raises ("maximum not
  implemented for complex tensors.") and still the TypeError chainrule raised.
- ``delta.requires_grad = 1`` (or None, ``np.True_``, a tensor) was accepted; PyTorch's setter
  raises RuntimeError ("requires_grad must be a bool"), and ``requires_grad_(1)`` a TypeError
  ("requires_grad_(): argument 'requires_grad' (position 1) must be bool, not int").
  ``torch.autograd.Variable(x, requires_grad=1)`` still works, as in PyTorch.
- ``Tensor.uniform_`` took ``a=`` / ``b=`` keywords (``nn.init.uniform_``'s names) and a third
  positional argument as the generator; PyTorch's bounds are positional or ``from``/``to``,
  its generator keyword-only (TypeError otherwise). A range wider than the dtype's largest
  value (``uniform_(-3e38, 3e38)`` in float32) gave infinities with a NumPy warning, or
  OverflowError in float64; PyTorch raises RuntimeError ("uniform_ expects to-from <=
  std::numeric_limits<Float>::max() ...").
- ``normal_`` / ``nn.init.normal_`` / ``torch.normal`` with a negative or NaN std raised
  NumPy's ValueError ("scale < 0") from the sampler; PyTorch raises RuntimeError ("normal
  expects std >= 0.0, but found std -1").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _error(fn: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


# ------------------------------------------------------------------ negative padding crops
@pytest.mark.parametrize("pad", [(0, -4), (-2, -2), (-4, 2), (2, -4), (5, -8), (-4, 0)])
def test_constant_pad_cropping_past_the_dim_raises(pad: tuple) -> None:
    for lib in LIBS:
        x = lib.arange(6.0).view(1, 2, 3)
        err = _error(lambda lib=lib, x=x: lib.nn.functional.pad(x, pad))
        assert isinstance(err, RuntimeError)
        assert "narrow(): length must be non-negative" in str(err)


@pytest.mark.parametrize("mode", ["replicate", "reflect", "circular"])
def test_non_constant_pad_cropping_past_the_dim_raises(mode: str) -> None:
    for lib in LIBS:
        x = lib.arange(6.0).view(1, 2, 3)
        assert isinstance(
            _error(lambda lib=lib, x=x: lib.nn.functional.pad(x, (0, -4), mode=mode)), RuntimeError
        )


def test_zero_pad_cropping_past_the_dim_raises() -> None:
    for lib in LIBS:
        pad = lib.nn.ZeroPad2d((2, -4, 0, 0))
        x = lib.arange(6.0).view(1, 2, 3)
        assert isinstance(_error(lambda pad=pad, x=x: pad(x)), RuntimeError)


@pytest.mark.parametrize("pad", [(0, -3), (-3, 2), (0, 0, 1, -1), (1, -1), (-1, -2), (0, 0, -2, 0)])
def test_negative_pads_within_the_dim_match_torch(pad: tuple) -> None:
    data = np.arange(12.0).reshape(1, 4, 3)
    want = torch.nn.functional.pad(torch.tensor(data), pad)
    got = chainrule.nn.functional.pad(chainrule.tensor(data), pad)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_rwkv_time_shift_matches_torch_with_gradient() -> None:
    data = np.arange(12.0).reshape(2, 3, 2)
    grads = []
    for lib in LIBS:
        x = lib.tensor(data, requires_grad=True)
        y = lib.nn.ZeroPad2d((0, 0, 1, -1))(x)
        (y * lib.arange(12.0).view(2, 3, 2)).sum().backward()
        grads.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(grads[1][0], grads[0][0])
    np.testing.assert_array_equal(grads[1][1], grads[0][1])


# ------------------------------------------------------------------ meshgrid indexing
def test_meshgrid_bad_indexing_is_runtime_error() -> None:
    for lib in LIBS:
        err = _error(lambda lib=lib: lib.meshgrid(lib.arange(2), lib.arange(3), indexing="foo"))
        assert type(err) is RuntimeError
        assert 'indexing must be one of "xy" or "ij", but received: foo' in str(err)


# ------------------------------------------------------------------ maximum / minimum operands
@pytest.mark.parametrize("op", ["maximum", "minimum"])
@pytest.mark.parametrize(
    "other", [1.5, np.float64(1.5), [1.5, 2.0], np.array([1.5, 1.5])], ids=repr
)
def test_maximum_minimum_refuse_a_non_tensor(op: str, other: Any) -> None:
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0])
        err = _error(lambda lib=lib, x=x: getattr(lib, op)(x, other))
        assert type(err) is TypeError
        assert f"{op}(): argument 'other' (position 2) must be Tensor" in str(err)
        assert type(_error(lambda x=x: getattr(x, op)(other))) is TypeError
        assert type(_error(lambda lib=lib, x=x: getattr(lib, op)(other, x))) is TypeError


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_of_tensors_still_match_torch(op: str) -> None:
    a, b = np.array([1.0, np.nan, 3.0]), np.array([2.0, 0.0, np.nan])
    want = getattr(torch, op)(torch.tensor(a), torch.tensor(b))
    got = getattr(chainrule, op)(chainrule.tensor(a), chainrule.tensor(b))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    want = getattr(torch, op)(torch.tensor([1, 5]), torch.tensor(3.0))
    got = getattr(chainrule, op)(chainrule.tensor([1, 5]), chainrule.tensor(3.0))
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_maximum_of_complex_is_runtime_error() -> None:
    for lib in LIBS:
        z = lib.tensor([1 + 1j])
        err = _error(lambda lib=lib, z=z: lib.maximum(z, z))
        assert isinstance(err, RuntimeError)
        assert "maximum not implemented for complex tensors" in str(err)
    assert isinstance(_error(lambda: chainrule.minimum(z, z)), TypeError)  # as chainrule raised


# ------------------------------------------------------------------ requires_grad must be a bool
@pytest.mark.parametrize("value", [1, 0, None, np.True_], ids=repr)
def test_requires_grad_setter_refuses_a_non_bool(value: Any) -> None:
    for lib in LIBS:
        for t in (lib.zeros(2), lib.nn.Parameter(lib.zeros(2))):
            err = _error(lambda t=t: setattr(t, "requires_grad", value))
            assert type(err) is RuntimeError
            assert str(err) == "requires_grad must be a bool"
        assert lib.zeros(2).requires_grad is False


@pytest.mark.parametrize("value,name", [(1, "int"), (None, "NoneType"), (np.True_, "numpy.bool")])
def test_requires_grad_method_refuses_a_non_bool(value: Any, name: str) -> None:
    for lib in LIBS:
        err = _error(lambda lib=lib: lib.zeros(2).requires_grad_(value))
        assert type(err) is TypeError
        assert str(err) == (
            f"requires_grad_(): argument 'requires_grad' (position 1) must be bool, not {name}"
        )


def test_requires_grad_bools_and_variable_flag_still_work() -> None:
    for lib in LIBS:
        delta = lib.zeros(3)
        delta.requires_grad = True
        (delta * 2).sum().backward()
        assert delta.grad.tolist() == [2.0, 2.0, 2.0]
        assert lib.zeros(2).requires_grad_().requires_grad is True
        assert lib.autograd.Variable(lib.zeros(2), requires_grad=1).requires_grad is True
        assert type(_error(lambda lib=lib: lib.nn.Linear(2, 2).requires_grad_(1))) is TypeError


# ------------------------------------------------------------------ uniform_ / normal_ arguments
@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.uniform_(a=0, b=1),
        lambda t: t.uniform_(0, b=1),
        lambda t: t.uniform_(0, 1, None),
    ],
)
def test_uniform_refuses_init_names_and_a_positional_generator(call: Any) -> None:
    for lib in LIBS:
        assert type(_error(lambda lib=lib: call(lib.zeros(3)))) is TypeError


def test_uniform_keyword_forms_still_work() -> None:
    for lib in LIBS:
        x = lib.zeros(50).uniform_(**{"from": 2.0, "to": 3.0})
        assert bool(((x >= 2) & (x < 3)).all())
        y = lib.zeros(50).uniform_(-1, 1, generator=lib.Generator().manual_seed(0))
        assert bool(((y >= -1) & (y < 1)).all())


@pytest.mark.parametrize("dtype,bound", [("float32", 3e38), ("float64", 1e308)])
def test_uniform_range_wider_than_the_dtype_raises(dtype: str, bound: float) -> None:
    for lib in LIBS:
        x = lib.zeros(3, dtype=getattr(lib, dtype))
        err = _error(lambda x=x: x.uniform_(-bound, bound))
        assert type(err) is RuntimeError
        assert "uniform_ expects to-from <= std::numeric_limits<" in str(err)


@pytest.mark.parametrize("std", [-1.0, -1.5, float("nan")])
def test_normal_negative_std_is_runtime_error(std: float) -> None:
    for lib in LIBS:
        calls = [
            lambda lib=lib: lib.zeros(2).normal_(0, std),
            lambda lib=lib: lib.nn.init.normal_(lib.zeros(2), 0, std),
        ]
        for call in calls:
            err = _error(call)
            assert type(err) is RuntimeError
            assert "normal expects std >= 0.0, but found std" in str(err)
        assert isinstance(_error(lambda lib=lib: lib.normal(0.0, std, (2,))), RuntimeError)
