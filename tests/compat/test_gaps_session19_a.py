"""Gaps found by the session-19 drop-in programs (``swin_window_attention``, ``glow_flow``,
``gp_regression``, ``barlow_twins_byol``, ``deep_sets_set_transformer``) and by probing the
modules next to their idioms, each checked against PyTorch.

- ``nn.CosineSimilarity(dim=1)`` (SimSiam's criterion) printed ``CosineSimilarity(dim=1,
  eps=1e-08)``; PyTorch's module has no ``extra_repr`` and prints ``CosineSimilarity()``, so
  ``print(model)`` of a module holding one differed.
- ``nn.GroupNorm`` left ``bias=`` out of its repr (PyTorch prints ``bias=False`` when the module
  has no bias, affine or not), and refused with ``ValueError`` an input whose channel count
  differs from ``num_channels``: PyTorch normalises it when the module has no affine parameters
  (any count its groups divide) and raises ``RuntimeError`` otherwise.
- ``nn.ConstantPad1d/2d/3d`` stored ``value`` as a float and printed ``ConstantPad2d((1, 1, 1,
  1), value=3.5)``; PyTorch keeps the value as given and prints ``padding=(...)``. They also
  refused inputs of other ranks, which PyTorch pads (any input with enough dims).
- ``nn.ZeroPad1d`` printed ``value=0.0``; ``nn.ZeroPad2d`` was no ``ConstantPad2d`` and had no
  ``value`` (PyTorch's ``ZeroPad1d/2d`` subclass ``ConstantPad1d/2d``).
- ``F.pad`` with an odd-length or too-long ``pad`` raised ``ValueError``; PyTorch raises
  ``RuntimeError`` (now both).
- ``nn.Embedding`` left ``norm_type=`` (when not 2) and ``scale_grad_by_freq=True`` out of its
  repr, which PyTorch prints.
- A uint8 (byte) tensor used as an index was read as integer *positions*; PyTorch reads it as a
  bool mask (deprecated, with a UserWarning), so ``x[byte_mask]`` silently gave other elements
  and gradients. Index tensors of other integer dtypes (int8, int16, ...) were accepted;
  PyTorch raises IndexError. ``x[byte_mask] = scalar`` writes through ``masked_fill_`` in
  PyTorch, which refuses a uint8 mask (RuntimeError).
- ``masked_select`` read a uint8 mask as indices (PyTorch: RuntimeError "expected BoolTensor
  for mask"); ``masked_fill`` refused one with a plain TypeError (PyTorch: RuntimeError; now
  both).
- ``nn.AvgPool1d`` kept ``kernel_size``/``stride``/``padding`` as given and printed ints;
  PyTorch stores 1-tuples (``AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(19)
X = RNG.standard_normal((2, 6, 5))


def _both(fn: Any) -> tuple[Any, Any]:
    """``fn(lib)`` run with chainrule and with torch."""
    return fn(chainrule), fn(torch)


def _same(got: Any, want: Any) -> None:
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "build",
    [
        lambda nn: nn.CosineSimilarity(),
        lambda nn: nn.CosineSimilarity(dim=0, eps=1e-6),
        lambda nn: nn.PairwiseDistance(p=1.0, keepdim=True),
        lambda nn: nn.GroupNorm(2, 4),
        lambda nn: nn.GroupNorm(2, 4, bias=False),
        lambda nn: nn.GroupNorm(2, 4, affine=False),
        lambda nn: nn.ConstantPad1d((1, 2), 0),
        lambda nn: nn.ConstantPad2d(1, 3.5),
        lambda nn: nn.ConstantPad3d(1, -1),
        lambda nn: nn.ZeroPad1d(2),
        lambda nn: nn.ZeroPad2d((1, 2, 3, 4)),
        lambda nn: nn.ZeroPad3d(1),
        lambda nn: nn.ReflectionPad1d(1),
        lambda nn: nn.AvgPool1d(3),
        lambda nn: nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda nn: nn.Sequential(nn.Linear(2, 2), nn.CosineSimilarity(dim=1)),
        lambda nn: nn.Embedding(4, 3, scale_grad_by_freq=True),
        lambda nn: nn.Embedding(4, 3, max_norm=2.0, norm_type=1.0),
        lambda nn: nn.Embedding(4, 3, norm_type=2),
    ],
)
def test_module_repr_matches_torch(build: Any) -> None:
    got, want = _both(lambda m: build(m.nn))
    assert repr(got) == repr(want)


def test_cosine_similarity_module_values_match_torch() -> None:
    a, b = RNG.standard_normal((2, 4, 3))

    def run(m: Any) -> list[Any]:
        x = m.tensor(a, requires_grad=True)
        out = m.nn.CosineSimilarity(dim=1)(x, m.tensor(b))
        out.sum().backward()
        return [out, x.grad]

    for g, w in zip(*_both(run), strict=True):
        _same(g, w)


def test_group_norm_without_affine_takes_any_divisible_channel_count() -> None:
    got, want = _both(lambda m: m.nn.GroupNorm(2, 4, affine=False)(m.tensor(X)))
    _same(got, want)


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [({}, (2, 6, 5)), ({"affine": False}, (2, 5, 3)), ({}, (4,))],
    ids=["weight size", "groups do not divide", "1-d input"],
)
def test_group_norm_bad_input_raises_runtime_error(kwargs: dict, shape: tuple) -> None:
    with pytest.raises(RuntimeError):
        torch.nn.GroupNorm(2, 4, **kwargs)(torch.ones(shape))
    with pytest.raises(RuntimeError):
        chainrule.nn.GroupNorm(2, 4, **kwargs)(chainrule.ones(shape))


@pytest.mark.parametrize(
    ("build", "shape"),
    [
        (lambda nn: nn.ConstantPad1d(1, 2), (3,)),
        (lambda nn: nn.ConstantPad1d((1, 2), 0), (2, 2, 2, 3)),
        (lambda nn: nn.ConstantPad2d(1, 2.5), (3, 3)),
        (lambda nn: nn.ConstantPad3d((1, 0, 0, 1, 2, 0), 1), (2, 2, 2, 3, 3)),
        (lambda nn: nn.ZeroPad1d(1), (3,)),
        (lambda nn: nn.ZeroPad2d((1, 0, 2, 0)), (1, 1, 2, 3, 3)),
    ],
)
def test_constant_pad_modules_take_any_rank_with_enough_dims(build: Any, shape: tuple) -> None:
    data = RNG.standard_normal(shape)
    got, want = _both(lambda m: build(m.nn)(m.tensor(data)))
    _same(got, want)


def test_constant_pad_modules_keep_value_and_class() -> None:
    for m in (chainrule, torch):
        nn = m.nn
        assert nn.ConstantPad1d(1, 2).value == 2 and type(nn.ConstantPad1d(1, 2).value) is int
        assert isinstance(nn.ZeroPad1d(1), nn.ConstantPad1d)
        assert isinstance(nn.ZeroPad2d(1), nn.ConstantPad2d)
        assert nn.ZeroPad2d(1).value == 0.0 and nn.ZeroPad2d(1).padding == (1, 1, 1, 1)


@pytest.mark.parametrize(
    ("build", "shape"),
    [
        (lambda m, x: m.nn.functional.pad(x, (1,)), (2, 2)),
        (lambda m, x: m.nn.functional.pad(x, (1, 1, 1)), (2, 2)),
        (lambda m, x: m.nn.functional.pad(x, (1, 1, 1, 1, 1, 1)), (2, 2)),
        (lambda m, x: m.nn.ConstantPad2d(1, 0.0)(x), (3,)),
    ],
    ids=["odd", "odd 3", "too long", "module, too few dims"],
)
def test_bad_pad_length_raises_runtime_error(build: Any, shape: tuple) -> None:
    with pytest.raises(RuntimeError):
        build(torch, torch.ones(shape))
    with pytest.raises(RuntimeError, match="Padding length"):
        build(chainrule, chainrule.ones(shape))


@pytest.mark.parametrize(
    "args",
    [(3,), ((3,), [2]), (3, 2, 1, True, False)],
    ids=["int", "sequences", "all arguments"],
)
def test_avg_pool1d_stores_tuples_and_pools_as_torch(args: tuple) -> None:
    def run(m: Any) -> Any:
        pool = m.nn.AvgPool1d(*args)
        return pool, pool(m.tensor(X))

    (got_pool, got), (want_pool, want) = _both(run)
    for attr in ("kernel_size", "stride", "padding"):
        assert getattr(got_pool, attr) == getattr(want_pool, attr)
    _same(got, want)


BYTE_MASKS = [
    ((), np.array([1, 0, 1], dtype=np.uint8)),
    ((), np.array([[1, 0], [0, 0], [1, 1]], dtype=np.uint8)),
    ((slice(None),), np.array([0, 1], dtype=np.uint8)),
]


@pytest.mark.parametrize(("lead", "mask"), BYTE_MASKS, ids=["rows", "2-d", "second dim"])
def test_uint8_tensor_index_is_a_mask_with_a_warning(lead: tuple, mask: np.ndarray) -> None:
    data = RNG.standard_normal((3, 2))

    def run(m: Any) -> list[Any]:
        x = m.tensor(data, requires_grad=True)
        with pytest.warns(UserWarning, match="uint8"):
            out = x[(*lead, m.tensor(mask))]
        (out * out).sum().backward()
        return [out, x.grad]

    for g, w in zip(*_both(run), strict=True):
        _same(g, w)


def test_zero_dim_uint8_index_is_a_silent_bool() -> None:
    data = RNG.standard_normal((3, 2))
    for value in (0, 1):
        got, want = _both(lambda m, v=value: m.tensor(data)[m.tensor(v, dtype=m.uint8)])
        _same(got, want)


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_index_tensor_of_a_small_integer_dtype_raises_index_error(dtype: str) -> None:
    for m in (torch, chainrule):
        with pytest.raises(IndexError, match="long, int, byte or bool"):
            m.zeros(3, 2)[m.tensor([1, 0], dtype=getattr(m, dtype))]


def test_uint8_mask_write_as_torch() -> None:
    mask = np.array([1, 0, 1], dtype=np.uint8)

    def write(m: Any) -> Any:
        x = m.zeros(3, 2, dtype=m.float64)
        with pytest.warns(UserWarning, match="uint8"):
            x[m.tensor(mask)] = m.tensor([7.0, 8.0], dtype=m.float64)
        return x

    _same(*_both(write))
    for m in (torch, chainrule):
        for value in (3.0, m.tensor(3.0)):
            with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
                m.zeros(3, 2)[m.tensor(mask)] = value


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x, mask: x.masked_fill(mask, 0.0),
        lambda m, x, mask: m.masked_select(x, mask),
        lambda m, x, mask: x.masked_fill_(mask, 1.0),
    ],
    ids=["masked_fill", "masked_select", "masked_fill_"],
)
def test_masked_ops_refuse_a_uint8_mask_with_runtime_error(call: Any) -> None:
    for m in (torch, chainrule):
        mask = m.tensor([[1, 0]], dtype=m.uint8)
        with pytest.raises(RuntimeError, match="mask"):
            call(m, m.zeros(3, 2), mask)
