"""Gaps found by the session-22 drop-in programs (``fcos_focal_nms``, ``ffjord_cnf``,
``wavenet_mulaw``, ``decision_transformer``, ``score_sde_sampler``) and by probing the modules
next to their idioms, each checked against PyTorch.

- The convolutions' argument checks (WaveNet's dilated ``Conv1d``, the score network's
  ``ConvTranspose2d(..., output_padding=1)``): ``F.conv1d/2d/3d`` and ``F.conv_transpose3d``
  raised ValueError for a non-positive stride, a negative padding, a zero dilation or
  non-positive groups; PyTorch raises RuntimeError ("non-positive stride is not supported",
  "negative padding is not supported", "dilation should be greater than zero", "non-positive
  groups is not supported"). ``F.conv_transpose1d/2d`` checked none of stride, padding and
  dilation: stride 0 failed with a raw "slice step cannot be zero", a negative padding or a
  zero dilation computed a tensor; an ``output_padding`` not below stride or dilation was a
  ValueError (PyTorch: RuntimeError), and a negative one read "must be smaller" (PyTorch:
  "negative output_padding is not supported", checked first).
- ``F.pad(x, pad, "constant", None)`` padded with NaN: PyTorch's ``value`` defaults to None,
  which means 0. The reflect/replicate/circular modes accepted and ignored a non-zero
  ``value``; PyTorch raises RuntimeError ('Padding mode "reflect" doesn't take in value
  argument'). An unknown mode is now refused before the pad length is checked, as in PyTorch.
- ``torch.norm`` / ``Tensor.norm`` with a negative ``p`` raised ValueError; PyTorch computes
  ``linalg.vector_norm``'s ``(sum |x|^p)^(1/p)`` (0 where an entry is 0, gradient 0 there), and
  refuses an empty reduction with RuntimeError. An unknown string ``p`` was a ValueError
  (PyTorch: RuntimeError). ``linalg.vector_norm`` with a negative ``ord`` gave NaN gradients at
  zero entries (PyTorch: 0), and ``ord='fro'`` failed inside ``float()`` with ValueError
  (PyTorch: TypeError, 'ord' must be Number).
- ``torch.meshgrid`` (FCOS's ``compute_locations``, the anchor grids) promoted tensors of
  different dtypes; PyTorch raises RuntimeError "meshgrid expects all tensors to have the same
  dtype" (before it checks the ranks), and so ``cartesian_prod`` too.
- The bitwise ops on floating tensors (``mask |= iou > thr`` written with a float by mistake)
  raised a plain TypeError; PyTorch raises NotImplementedError ('"bitwise_or_cpu" not
  implemented for 'Float''), a RuntimeError, or for the in-place form RuntimeError; the error
  is now both a TypeError and a NotImplementedError.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = (torch, chainrule)

# ------------------------------------------------------------------ convolution arguments
CONV_SHAPES = {
    1: ((1, 2, 6), (2, 2, 3)),
    2: ((1, 2, 6, 6), (2, 2, 3, 3)),
    3: ((1, 2, 5, 5, 5), (2, 2, 3, 3, 3)),
}
BAD_CONV_ARGS = [
    ({"stride": 0}, "non-positive stride"),
    ({"stride": -1}, "non-positive stride"),
    ({"padding": -1}, "negative padding"),
    ({"padding": -1, "stride": 0}, "negative padding"),
    ({"groups": 0}, "non-positive groups"),
]


def _conv(lib: Any, n: int, transposed: bool, **kwargs: Any) -> Any:
    x_shape, w_shape = CONV_SHAPES[n]
    name = f"conv_transpose{n}d" if transposed else f"conv{n}d"
    fn = getattr(lib.nn.functional, name)
    return fn(lib.ones(*x_shape), lib.ones(*w_shape), **kwargs)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize(("kwargs", "words"), BAD_CONV_ARGS)
def test_conv_bad_arguments_raise_runtime_error(
    n: int, transposed: bool, kwargs: dict, words: str
) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match=words):
            _conv(lib, n, transposed, **kwargs)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("transposed", [False, True])
def test_conv_zero_dilation_raises_runtime_error(n: int, transposed: bool) -> None:
    # PyTorch's forward convolution fails with an IndexError for some shapes (a one-channel
    # input) and its RuntimeError for others; the transposed ones always with the RuntimeError
    with pytest.raises((RuntimeError, IndexError)):
        _conv(torch, n, transposed, dilation=0)
    with pytest.raises(RuntimeError, match="dilation should be greater than zero"):
        _conv(chainrule, n, transposed, dilation=0)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_output_padding_errors(n: int) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="negative output_padding is not supported"):
            _conv(lib, n, True, stride=2, output_padding=-1)
        with pytest.raises(RuntimeError, match="negative output_padding is not supported"):
            _conv(lib, n, True, stride=0, output_padding=-1)  # checked before the stride
        with pytest.raises(RuntimeError, match="output padding must be smaller than either"):
            _conv(lib, n, True, stride=2, output_padding=2)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_valid_arguments_still_match(n: int) -> None:
    rng = np.random.default_rng(n)
    x_shape, w_shape = CONV_SHAPES[n]
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    kwargs = {"stride": 2, "padding": 1, "output_padding": 1, "dilation": 2}
    got = getattr(chainrule.nn.functional, f"conv_transpose{n}d")(
        chainrule.tensor(x), chainrule.tensor(w), **kwargs
    )
    want = getattr(torch.nn.functional, f"conv_transpose{n}d")(
        torch.tensor(x), torch.tensor(w), **kwargs
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ F.pad's value
@pytest.mark.parametrize("pad", [(1, 1), (-1, 2), (2, 0, 1, 1)])
def test_pad_constant_value_none_is_zero(pad: tuple) -> None:
    x = np.arange(6.0).reshape(1, 2, 3)
    got = chainrule.nn.functional.pad(chainrule.tensor(x), pad, "constant", None)
    want = torch.nn.functional.pad(torch.tensor(x), pad, "constant", None)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_pad_value_defaults_to_none_as_torch() -> None:
    import inspect

    assert inspect.signature(chainrule.nn.functional.pad).parameters["value"].default is None
    assert inspect.signature(torch.nn.functional.pad).parameters["value"].default is None


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("value", [1.0, float("nan"), True, -2])
def test_pad_non_constant_mode_refuses_a_value(mode: str, value: Any) -> None:
    for lib in LIBS:
        x = lib.arange(3.0).view(1, 1, 3)
        with pytest.raises(RuntimeError, match=f'Padding mode "{mode}" doesn\'t take in value'):
            lib.nn.functional.pad(x, (1, 1), mode=mode, value=value)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("value", [None, 0, 0.0, -0.0])
def test_pad_non_constant_mode_takes_a_zero_value(mode: str, value: Any) -> None:
    x = np.arange(6.0).reshape(1, 2, 3)
    got = chainrule.nn.functional.pad(chainrule.tensor(x), (2, 1), mode=mode, value=value)
    want = torch.nn.functional.pad(torch.tensor(x), (2, 1), mode=mode, value=value)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_pad_unknown_mode_is_checked_before_the_length() -> None:
    for lib in LIBS:
        with pytest.raises(NotImplementedError):
            lib.nn.functional.pad(lib.ones(1, 1, 3), (1,) * 8, mode="foo")


# ------------------------------------------------------------------ negative-p norms
X_NORM = [[0.0, -3.0], [2.0, 0.5]]


def _norm_and_grad(lib: Any, call: Any, vals: list) -> tuple[np.ndarray, np.ndarray]:
    x = lib.tensor(vals, dtype=lib.float64, requires_grad=True)
    y = call(lib, x)
    (grad,) = lib.autograd.grad(y.sum(), x)
    return y.detach().numpy(), grad.numpy()


@pytest.mark.parametrize("p", [-1, -2.5, -0.5])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize(
    "call",
    [
        lambda p, dim: lambda lib, x: lib.norm(x, p=p, dim=dim),
        lambda p, dim: lambda lib, x: x.norm(p, dim),
        lambda p, dim: lambda lib, x: lib.linalg.vector_norm(x, p, dim=dim),
    ],
)
@pytest.mark.parametrize("vals", [X_NORM, [[1.0, -3.0], [2.0, 0.5]]])
def test_negative_p_norm_matches_torch(p: float, dim: Any, call: Any, vals: list) -> None:
    want = _norm_and_grad(torch, call(p, dim), vals)
    got = _norm_and_grad(chainrule, call(p, dim), vals)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-15)
    assert np.isfinite(got[1]).all()


@pytest.mark.parametrize(("shape", "dim"), [((0,), None), ((2, 0), 1), ((0, 2), 0)])
def test_negative_p_norm_of_an_empty_reduction_raises(shape: tuple, dim: Any) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="cannot compute the -1 norm"):
            lib.norm(lib.ones(*shape), p=-1, dim=dim)
    got = chainrule.norm(chainrule.ones(0, 2), p=-1, dim=1)  # nothing empty is reduced
    assert tuple(got.shape) == tuple(torch.norm(torch.ones(0, 2), p=-1, dim=1).shape)


def test_norm_unknown_string_p_raises_runtime_error() -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="Order bad not supported"):
            lib.norm(lib.ones(2, 2), p="bad")
        with pytest.raises(RuntimeError, match="Order bad not supported"):
            lib.ones(3).norm(p="bad")


def test_vector_norm_string_ord_raises_type_error() -> None:
    for lib in LIBS:
        with pytest.raises(TypeError, match="must be Number, not str"):
            lib.linalg.vector_norm(lib.ones(3), ord="fro")


def test_negative_p_norm_forward_mode_matches_torch() -> None:
    x, t = np.array([1.0, 2.0, -0.5]), np.array([0.5, -1.0, 2.0])
    outs = []
    for lib in LIBS:
        _, tangent = lib.func.jvp(
            lambda v, lib=lib: lib.norm(v, p=-1.5), (lib.tensor(x),), (lib.tensor(t),)
        )
        outs.append(tangent.item())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12)


# ------------------------------------------------------------------ meshgrid's dtypes
@pytest.mark.parametrize(
    "make",
    [
        lambda lib: (lib.tensor([1, 2]), lib.tensor([3.0, 4.0])),
        lambda lib: (lib.tensor(1), lib.tensor([3.0, 4.0])),
        lambda lib: (lib.tensor([1.0]), lib.tensor([3.0, 4.0], dtype=lib.float64)),
        lambda lib: (lib.ones(2, 2), lib.tensor([3, 4])),  # the dtypes are checked first
    ],
)
@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_refuses_mixed_dtypes(make: Any, indexing: str) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="meshgrid expects all tensors to have the same"):
            lib.meshgrid(*make(lib), indexing=indexing)


def test_cartesian_prod_refuses_mixed_dtypes() -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="same dtype"):
            lib.cartesian_prod(lib.tensor([1, 2]), lib.tensor([3.0, 4.0]))


def test_meshgrid_same_dtype_still_matches() -> None:
    got = chainrule.meshgrid(chainrule.arange(2.0), chainrule.arange(3.0), indexing="xy")
    want = torch.meshgrid(torch.arange(2.0), torch.arange(3.0), indexing="xy")
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


# ------------------------------------------------------------------ bitwise ops on floats
@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.tensor([True]) | lib.tensor([1.5]),
        lambda lib: lib.tensor([1.5]) & lib.tensor([True]),
        lambda lib: lib.bitwise_xor(lib.tensor([1.5]), lib.tensor([2.5])),
        lambda lib: lib.tensor([True]) | 1.5,
        lambda lib: lib.tensor([1.0]).__ior__(True),
        lambda lib: lib.tensor([True]).__ixor__(lib.tensor([1.5])),
    ],
)
def test_bitwise_on_floats_raises_runtime_error(call: Any) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError):
            call(lib)
    with pytest.raises(TypeError):  # chainrule's error stays a TypeError as well
        call(chainrule)
