"""Gaps found by the session-25 (batch b) drop-in programs (``qlora_nf4_lora``,
``mixtral_moe_gqa``, ``beam_search_generate``, ``electra_rtd``, ``linformer_nystrom``) and the
probes around their idioms, each checked against PyTorch.

- A Python number shifted by a tensor (``1 << codes``, ``256 >> codes``, the bit-packing idiom
  of 4-bit quantisers) gave int64 where PyTorch keeps the tensor's dtype (uint8 stays uint8,
  wrapping around).
- ``sum``/``prod``/``cumsum``/``cumprod``/``nansum`` with an integer or bool ``dtype=`` narrower
  than int64 returned int64 (uint64 for uint8): NumPy widens small integers when it
  accumulates. PyTorch accumulates in the requested dtype and wraps around (and has no bool
  running sum or product: ``cumsum(..., dtype=torch.bool)`` raises NotImplementedError).
- ``torch.bernoulli`` of integer or bool "probabilities" returned float draws where PyTorch
  raises NotImplementedError; probabilities outside [0, 1] were not refused; and PyTorch's
  second form ``torch.bernoulli(input, p)`` (a number ``p``, draws in ``input``'s shape and
  dtype) raised a TypeError.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _result(t: Any) -> tuple[str, list]:
    return str(t.dtype).split(".")[-1], t.tolist()


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
@pytest.mark.parametrize(
    "expr",
    [
        lambda x: 1 << x,
        lambda x: 3 << x,
        lambda x: 200 >> x,
        lambda x: -5 >> x,
        lambda x: True << x,
        lambda x: x << 4,
    ],
)
def test_scalar_shifted_by_tensor_keeps_the_tensor_dtype(dtype: str, expr: Any) -> None:
    values = [0, 1, 3, 7]
    got = expr(chainrule.tensor(values, dtype=getattr(chainrule, dtype)))
    want = expr(torch.tensor(values, dtype=getattr(torch, dtype)))
    assert _result(got) == _result(want)


def test_nf4_style_packing_and_unpacking_match_torch() -> None:
    codes = np.random.default_rng(0).integers(0, 16, (4, 8))

    def pack(m: Any) -> list:
        c = m.tensor(codes).to(m.uint8)
        packed = (c[:, 0::2] << 4) | c[:, 1::2]
        unpacked = m.stack([packed >> 4, m.bitwise_and(packed, 0x0F)], dim=-1).view(4, -1)
        return [_result(packed), _result(unpacked), _result(1 << c), _result(255 >> c)]

    assert pack(chainrule) == pack(torch)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "bool"])
@pytest.mark.parametrize("op", ["sum", "prod", "nansum", "cumsum", "cumprod"])
def test_integer_accumulation_dtype_wraps_as_torch(op: str, dtype: str) -> None:
    if dtype == "bool" and op.startswith("cum"):
        for m in LIBS:  # PyTorch has no bool running sum or product
            with pytest.raises(NotImplementedError):
                getattr(m, op)(m.tensor([True, False]), 0, dtype=m.bool)
        return
    data = [[100, 27, 3], [120, 1, 90]] if dtype != "bool" else [[1, 0, 1], [1, 1, 1]]
    if dtype == "int32":
        data = [[2**30, 2**30, 3], [2**31 - 1, 1, 5]]

    def results(m: Any) -> list:
        x = m.tensor(data).to(getattr(m, dtype))
        f = getattr(m, op)
        if op.startswith("cum"):
            return [_result(f(x, 1, dtype=x.dtype)), _result(f(x, 0, dtype=x.dtype))]
        return [
            _result(f(x, dtype=x.dtype)),
            _result(f(x, 1, dtype=x.dtype)),
            _result(f(x, 0, keepdim=True, dtype=x.dtype)),
        ]

    assert results(chainrule) == results(torch)


def test_small_integer_reductions_without_dtype_still_give_int64() -> None:
    def results(m: Any) -> list:
        x = m.tensor([[200, 100], [3, 4]], dtype=m.uint8)
        return [_result(x.sum()), _result(x.prod(1)), _result(x.cumsum(0)), _result(x.cumprod(1))]

    assert results(chainrule) == results(torch)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_bernoulli_of_integer_probabilities_raises_as_torch(dtype: str) -> None:
    for m in LIBS:
        probs = m.tensor([0, 1]).to(getattr(m, dtype))
        with pytest.raises(NotImplementedError):
            m.bernoulli(probs)
        with pytest.raises(NotImplementedError):
            probs.bernoulli()


@pytest.mark.parametrize("bad", [1.5, -0.25, float("nan")])
def test_bernoulli_refuses_probabilities_outside_unit_interval(bad: float) -> None:
    for m in LIBS:
        with pytest.raises(RuntimeError):
            m.bernoulli(m.tensor([0.5, bad]))
        with pytest.raises(RuntimeError):
            m.bernoulli(m.zeros(2), abs(bad) + 1.0)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "uint8"])
def test_bernoulli_with_a_number_p_draws_in_input_shape_and_dtype(dtype: str) -> None:
    def results(m: Any) -> list:
        x = m.zeros(2, 3).to(getattr(m, dtype))
        g = m.Generator().manual_seed(0)
        return [
            _result(m.bernoulli(x, 1.0)),
            _result(m.bernoulli(x, 0.0, generator=g)),
            _result(m.bernoulli(x, p=1)),
        ]

    assert results(chainrule) == results(torch)
    draws = chainrule.bernoulli(chainrule.zeros(4000), 0.25).numpy()
    assert abs(draws.mean() - 0.25) < 0.03


def test_bernoulli_of_float_probabilities_unchanged() -> None:
    def results(m: Any) -> list:
        p = m.tensor([[0.0, 1.0], [1.0, 0.0]])
        out = m.empty(2, 2, dtype=m.long)
        m.bernoulli(p, out=out)
        g = m.Generator().manual_seed(3)
        return [_result(m.bernoulli(p)), _result(out), _result(m.bernoulli(p, generator=g))]

    assert results(chainrule) == results(torch)
