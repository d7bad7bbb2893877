"""Gaps found by the session-31 (batch b) drop-in programs (``schedule_free_adan_optimizers``,
``gemma2_qwen3_decoder``, ``deepseek_v3_mla_moe``, ``encodec_rvq_seanet``,
``gns_particle_simulator``, ``convnextv2_fcmae_grn``), each checked against PyTorch:

- ``Optimizer.load_state_dict`` did not go through ``__setstate__``: sail-sg/Adan's override
  (``group.setdefault('no_prox', False)``, which fills a key an older checkpoint lacks) never
  ran, and the loaded group had no ``no_prox``. PyTorch loads the state and the groups by
  calling ``self.__setstate__({'state': ..., 'param_groups': ...})``.
- ``torch._foreach_addcmul`` / ``_foreach_addcdiv``: the keyword ``value=`` is one number for
  every tensor (a 0-d tensor that needs no gradient reads as its number); chainrule took it
  for the ``Tensor scalars`` overload and refused a 0-d tensor. The per-tensor multipliers
  are the fourth positional argument or the keyword ``scalars=`` (missing), and a list or a
  1-d tensor given as ``value=`` is a TypeError.
- ``F.rms_norm`` (and ``nn.RMSNorm``) with a weight of another dtype than its input did not
  give PyTorch's warn-once ``Mismatch dtype between input and weight`` UserWarning.
- ``repeat_interleave(..., axis=1)`` (ConvNeXt-V2's ``upsample_mask``): PyTorch takes NumPy's
  ``axis`` for ``dim``; chainrule raised TypeError.

``convnextv2_fcmae_grn`` found the last. (PyTorch's float32 ``sqrt`` is not always correctly
rounded: ``torch.sqrt`` of the float32 3.0900e-05 is one ulp above the exact result NumPy and
chainrule give, so the GNS program, whose normalisation stats are float32, compares its losses
to 1e-7.)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import _user_warnings

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _with_setstate(m: Any) -> type:
    class Opt(m.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 0.1, flag: bool = True) -> None:
            super().__init__(params, dict(lr=lr, flag=flag))

        def __setstate__(self, state: dict) -> None:
            super().__setstate__(state)
            self.seen = sorted(state)
            for group in self.param_groups:
                group.setdefault("flag", False)

        @m.no_grad()
        def step(self, closure: Any = None) -> None:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p].setdefault("n", 0)
                        self.state[p]["n"] += 1
                        p.add_(p.grad, alpha=-group["lr"])

    return Opt


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_load_state_dict_goes_through_setstate(m: Any) -> None:
    Opt = _with_setstate(m)
    w = m.nn.Parameter(m.ones(3))
    b = m.nn.Parameter(m.zeros(2))
    opt = Opt([{"params": [w]}, {"params": [b], "flag": True}], lr=0.5)
    w.grad, b.grad = m.ones(3), m.ones(2)
    opt.step()
    sd = opt.state_dict()
    del sd["param_groups"][0]["flag"]  # an older checkpoint without the key
    fresh = Opt([{"params": [w]}, {"params": [b]}], lr=0.1)
    assert not hasattr(fresh, "seen")
    fresh.load_state_dict(sd)
    assert fresh.seen == ["param_groups", "state"]
    assert fresh.param_groups[0]["flag"] is False  # filled by the override
    assert fresh.param_groups[1]["flag"] is True
    assert fresh.param_groups[0]["lr"] == 0.5
    assert fresh.param_groups[0]["params"][0] is w
    assert fresh.state[w]["n"] == 1
    fresh.step()  # the loaded state is the live one
    assert fresh.state[b]["n"] == 2


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_load_state_dict_hooks_still_run_with_setstate(m: Any) -> None:
    w = m.nn.Parameter(m.ones(2))
    opt = m.optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = m.ones(2)
    opt.step()
    calls = []
    fresh = m.optim.SGD([w], lr=0.3, momentum=0.9)
    fresh.register_load_state_dict_post_hook(lambda o: calls.append(o.param_groups[0]["lr"]))
    fresh.load_state_dict(opt.state_dict())
    assert calls == [0.1]
    assert m.equal(fresh.state[w]["momentum_buffer"], opt.state[w]["momentum_buffer"])


def _lists(m: Any) -> tuple[list, list, list]:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    return (
        [m.tensor(a) for a in arrays],
        [m.tensor(a * 2) for a in arrays],
        [m.tensor(np.abs(a) + 1) for a in arrays],
    )


@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize("name", ["_foreach_addcmul", "_foreach_addcdiv"])
def test_foreach_addc_value_keyword_is_one_number(m: Any, name: str) -> None:
    fn = getattr(m, name)
    base, t1, t2 = _lists(m)
    by_number = fn(base, t1, t2, value=2.0)
    for value in (m.tensor(2.0), m.tensor(2, dtype=m.int64)):  # a 0-d tensor reads as a number
        got = fn(base, t1, t2, value=value)
        assert all(m.allclose(a, b) for a, b in zip(got, by_number))
    per_tensor = fn(base, t1, t2, [2.0, -1.0])
    by_keyword = fn(base, t1, t2, scalars=[2.0, -1.0])
    by_tensor = fn(base, t1, t2, scalars=m.tensor([2.0, -1.0]))
    for a, b, c in zip(per_tensor, by_keyword, by_tensor):
        assert m.allclose(a, b) and m.allclose(a, c)
    assert m.allclose(per_tensor[0], by_number[0])
    assert not m.allclose(per_tensor[1], by_number[1])
    for bad in ([2.0, 3.0], m.tensor([2.0, 3.0]), m.tensor(2.0, requires_grad=True)):
        with pytest.raises(TypeError):
            fn(base, t1, t2, value=bad)
    with pytest.raises(RuntimeError):  # positional: the Tensor overload wants 1-d
        fn(base, t1, t2, m.tensor(2.0))


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_foreach_addcdiv_in_place_value_keyword(m: Any) -> None:
    base, t1, t2 = _lists(m)
    expected = [b + 0.5 * a / c for b, a, c in zip(base, t1, t2)]
    out = m._foreach_addcdiv_(base, t1, t2, value=m.tensor(0.5))
    assert out is base
    assert all(m.allclose(a, b) for a, b in zip(base, expected))
    m._foreach_addcmul_(base, t1, t2, scalars=m.tensor([0.0, 1.0]))
    assert m.allclose(base[0], expected[0])
    assert m.allclose(base[1], expected[1] + t1[1] * t2[1])


@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize(
    ("input_dtype", "weight_dtype", "names"),
    [
        ("float32", "float64", ("float", "double")),
        ("float64", "float32", ("double", "float")),
        ("bfloat16", "float32", ("c10::BFloat16", "float")),
    ],
)
def test_rms_norm_mismatched_weight_dtype_warns_once(
    m: Any, input_dtype: str, weight_dtype: str, names: tuple, monkeypatch: Any
) -> None:
    if m is chainrule:
        monkeypatch.setattr(_user_warnings, "_issued", set())  # as in a fresh process
    x = m.ones(2, 4, dtype=getattr(m, input_dtype))
    w = m.full((4,), 2.0, dtype=getattr(m, weight_dtype))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = m.nn.functional.rms_norm(x, (4,), w)
        m.nn.functional.rms_norm(x, (4,), w)
    messages = [str(c.message) for c in caught if "Mismatch dtype" in str(c.message)]
    if m is chainrule or not messages:  # torch: once per process, so maybe already given
        assert len(messages) == (1 if m is chainrule else 0)
    if messages:
        assert messages[0].startswith(
            f"Mismatch dtype between input and weight: input dtype = {names[0]}, "
            f"weight dtype = {names[1]}"
        )
    assert y.dtype == getattr(m, input_dtype)
    assert m.allclose(y.double(), m.full((2, 4), 2.0, dtype=m.float64), atol=1e-2)


def test_rms_norm_same_dtype_and_no_weight_do_not_warn(monkeypatch: Any) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())
    x = chainrule.ones(2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chainrule.nn.functional.rms_norm(x, (4,), chainrule.ones(4))
        chainrule.nn.functional.rms_norm(x, (4,))
        chainrule.nn.RMSNorm(4)(x)
    with pytest.warns(UserWarning, match="Mismatch dtype between input and weight"):
        chainrule.nn.RMSNorm(4, dtype=chainrule.float32)(x.double())


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_repeat_interleave_takes_axis(m: Any) -> None:
    mask = m.tensor([[0.0, 1.0, 1.0, 0.0]])
    up = mask.reshape(-1, 2, 2).repeat_interleave(2, axis=1).repeat_interleave(2, axis=2)
    assert up.shape == (1, 4, 4)
    assert up[0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]]
    x = m.tensor([[1, 2], [3, 4]])
    assert m.equal(m.repeat_interleave(x, m.tensor([1, 2]), axis=0), x[[0, 1, 1]])
    assert m.equal(x.repeat_interleave(2, axis=-1), x.repeat_interleave(2, dim=-1))
    with pytest.raises(TypeError):
        m.repeat_interleave(x, 2, dim=0, axis=0)
