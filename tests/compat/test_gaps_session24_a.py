"""Gaps found by the session-24 (batch a) drop-in programs (``adaptive_softmax_lm``,
``lion_muon_optimizers``, ``instant_ngp_hashgrid``, ``siren_fourier_features``,
``neural_spline_flow``), each checked against PyTorch.

- ``Optimizer.load_state_dict`` copied every state tensor. PyTorch moves each one with
  ``value.to(param.dtype, param.device)``, which keeps a tensor that already has the right
  dtype and device: loading a live optimizer's ``state_dict()`` into a second optimizer makes
  the two share their buffers (and ``step`` tensors), so a step of one is seen by the other.
- ``Optimizer.load_state_dict`` turned a plain-number ``step`` into a 0-d float tensor for
  every optimizer. PyTorch does that only in its built-in optimizers (their ``__setstate__``);
  a user's ``Optimizer`` subclass with its own ``step()`` (KellerJordan's Muon with aux Adam,
  which keeps ``state["step"] = 0`` as an int, SparseAdam) gets its int back, and its bias
  correction ``1 - beta ** step`` stays in Python floats: with the 0-d float32 tensor the
  resumed run drifted from the uninterrupted one.
- A Python int that does not fit an integer tensor's dtype made arithmetic, bitwise and
  comparison ops raise NumPy's ``OverflowError`` ("Python integer 2654435761 out of bounds
  for int32"). PyTorch wraps the number into the dtype (two's complement) and computes, so
  spatial hashing on int32 coordinates (``coords[..., i] * 2654435761``, Instant-NGP's and
  HashNeRF's primes), ``uint8_image * 300`` and ``int8 + 1000`` wrap as in C; a comparison sees
  the wrapped number too (``int32 < 2654435761`` is False everywhere in PyTorch).
- ``torch.where`` with a number that does not fit the result dtype (``where(m, int8, 300)``,
  ``where(m, float32, 1e300)``) wrapped it or wrote inf; PyTorch raises "value cannot be
  converted ... without overflow". So does ``add``/``sub`` with such an ``alpha``.
- ``add``/``sub`` with ``alpha`` scaled ``other`` in its own dtype before promoting:
  ``float64 + float32 * alpha`` rounded the product in float32 (overflowing to inf for a large
  ``alpha``); PyTorch scales in the result dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

FRAMEWORKS = [chainrule, torch]


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_load_state_dict_shares_tensors_of_matching_dtype(m: Any) -> None:
    p = m.nn.Parameter(m.tensor([1.0, -2.0, 3.0]))
    opt = m.optim.Adam([p], lr=0.1)
    p.grad = m.tensor([0.5, 0.5, -1.0])
    opt.step()
    q = m.nn.Parameter(m.tensor([1.0, -2.0, 3.0]))
    twin = m.optim.Adam([q], lr=0.1)
    twin.load_state_dict(opt.state_dict())
    assert all(twin.state[q][k] is opt.state[p][k] for k in ("step", "exp_avg", "exp_avg_sq"))
    # a step of the twin is seen by the original: both moved on to step 2
    q.grad = m.tensor([1.0, 1.0, 1.0])
    twin.step()
    assert opt.state[p]["step"].item() == 2.0
    np.testing.assert_allclose(opt.state[p]["exp_avg"].numpy(), [0.145, 0.145, 0.01], rtol=1e-6)
    # another dtype is a copy, cast to the parameter's dtype
    r = m.nn.Parameter(m.tensor([1.0, -2.0, 3.0], dtype=m.float64))
    other = m.optim.Adam([r], lr=0.1)
    other.load_state_dict(opt.state_dict())
    assert other.state[r]["exp_avg"] is not opt.state[p]["exp_avg"]
    assert other.state[r]["exp_avg"].dtype == m.float64
    assert other.state[r]["step"] is opt.state[p]["step"]


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_load_state_dict_keeps_a_custom_optimizers_number_step(m: Any) -> None:
    class Counting(m.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 0.1) -> None:
            super().__init__(params, dict(lr=lr))

        @m.no_grad()
        def step(self, closure: Any = None) -> None:
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = m.zeros_like(p)
                    state["step"] += 1
                    state["exp_avg"].lerp_(p.grad, 0.1)
                    p.add_(state["exp_avg"] / (1 - 0.9 ** state["step"]), alpha=-group["lr"])

    p = m.nn.Parameter(m.tensor([1.0, 2.0]))
    opt = Counting([p])
    p.grad = m.tensor([1.0, -1.0])
    opt.step()
    q = m.nn.Parameter(m.tensor([1.0, 2.0]))
    twin = Counting([q])
    twin.load_state_dict(opt.state_dict())
    assert type(twin.state[q]["step"]) is int and twin.state[q]["step"] == 1
    # the built-in optimizers still turn an older checkpoint's number step into a tensor
    sd = m.optim.Adam([p]).state_dict()
    sd["state"] = {0: {"step": 3, "exp_avg": m.zeros(2), "exp_avg_sq": m.zeros(2)}}
    adam = m.optim.Adam([q])
    adam.load_state_dict(sd)
    step = adam.state[q]["step"]
    assert isinstance(step, m.Tensor) and step.dim() == 0 and step.item() == 3.0


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_integer_ops_wrap_a_python_int_that_does_not_fit(m: Any) -> None:
    c = m.tensor([1, 3, -7], dtype=m.int32)
    assert (c * 2654435761).tolist() == [-1640531535, -626627309, -1401181143]
    assert (2654435761 * c).dtype == m.int32
    assert (c + 2654435761).tolist() == [-1640531534, -1640531532, -1640531542]
    assert (2654435761 - c).tolist() == [-1640531536, -1640531538, -1640531528]
    assert (c ^ 2654435761).tolist() == [-1640531536, -1640531534, 1640531528]
    assert (c & 2654435761).tolist() == [1, 1, -1640531535]
    assert (c // 2654435761).tolist() == [-1, -1, 0]
    assert (c % 2654435761).tolist() == [-1640531534, -1640531532, -7]
    assert (c < 2654435761).tolist() == [False, False, False]  # the wrapped number
    x = c.clone()
    x ^= 805459861 * 4
    x.mul_(3674653429)
    y = torch.tensor([1, 3, -7], dtype=torch.int32)
    y ^= 805459861 * 4
    y.mul_(3674653429)
    assert x.tolist() == y.tolist()
    assert (c.to(m.int8) + 1000).tolist() == [-23, -21, -31]
    assert (c.to(m.uint8) * 300).tolist() == [44, 132, 204]
    assert (c.to(m.int8) + (-129)).tolist() == [-128, -126, 120]
    assert (c.short() * 70000).tolist() == [4464, 13392, -31248]
    assert (c + 2**63).tolist() == [1, 3, -7]  # 2**63 wraps to 0 in 32 bits
    assert (c.long() + 2**63).tolist()[0] == -(2**63) + 1
    assert ((c > 0) + 2**40).tolist() == [2**40 + 1, 2**40 + 1, 2**40]  # int64, fits


def test_int32_spatial_hash_matches_torch() -> None:
    """HashNeRF's ``hash`` on int32 coordinates: XOR of coordinate * prime, masked."""
    primes = [1, 2654435761, 805459861]
    coords = np.array([[0, 0, 0], [1, 2, 3], [11, 7, 12], [5, 12, 9], [-3, 40, 1000]])
    results = []
    for m in FRAMEWORKS:
        xyz = m.tensor(coords, dtype=m.int32)
        xor_result = m.zeros_like(xyz)[..., 0]
        for i in range(3):
            xor_result ^= xyz[..., i] * primes[i]
        results.append((m.tensor((1 << 19) - 1) & xor_result).tolist())
    assert results[0] == results[1]


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_where_and_alpha_refuse_a_number_that_does_not_fit(m: Any) -> None:
    mask = m.tensor([True, False])
    with pytest.raises(RuntimeError, match="without overflow"):
        m.where(mask, m.tensor([1, 2], dtype=m.int8), 300)
    with pytest.raises(RuntimeError, match="without overflow"):
        m.where(mask, 1e300, m.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="without overflow"):
        m.where(mask, m.tensor([1, 2], dtype=m.int32), 2654435761)
    with pytest.raises(RuntimeError, match="without overflow"):
        m.sub(m.tensor([1, 2], dtype=m.int8), 1, alpha=300)
    with pytest.raises(RuntimeError, match="without overflow"):
        m.add(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0]), alpha=1e300)
    # what fits still works, negative numbers wrap into an unsigned dtype
    assert m.where(mask, m.tensor([1, 2], dtype=m.uint8), -1).tolist() == [1, 255]
    assert m.where(mask, m.tensor([1, 2], dtype=m.int8), 2.5).dtype == m.float32
    assert m.add(m.tensor([1, 2], dtype=m.uint8), 1, alpha=-2).tolist() == [255, 0]


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_alpha_scales_in_the_result_dtype(m: Any) -> None:
    a = m.tensor([1.0, 2.0], dtype=m.float64)
    b = m.tensor([0.1, 0.3], dtype=m.float32)
    np.testing.assert_allclose(m.add(a, b, alpha=1e300).numpy(), [1.0000000149011612e299,
                               3.00000011920929e299], rtol=1e-15)  # fmt: skip
    b64 = float(np.float32(0.1))
    assert m.add(a, b, alpha=0.1)[0].item() == 1.0 + b64 * 0.1
    assert a.clone().sub_(b, alpha=0.7)[1].item() == 2.0 - float(np.float32(0.3)) * 0.7
    x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
    y = m.tensor([0.1, 0.3], requires_grad=True)
    m.sub(x, y, alpha=0.5).sum().backward()
    assert y.grad.dtype == m.float32 and y.grad.tolist() == [-0.5, -0.5]
