"""Gaps found by the session-33 (part g) drop-in programs (``dora_finetune``,
``galore_projected_adamw``, ``shampoo_lookahead``, ``alphazero_policy_value``,
``bitnet_b158_linear``, ``trl_kto_orpo_simpo``), each checked against PyTorch.

All in ``Optimizer.load_state_dict`` of a custom optimizer (a subclass with its own ``step``),
found resuming Shampoo under timm's ``Lookahead`` from a checkpoint:

- a state entry not shaped like its parameter (Shampoo's Kronecker factors ``factor_L`` of
  shape ``(rows, rows)``, GaLore's low-rank moments) was refused with a ValueError; PyTorch
  checks no shapes and casts the entry to the parameter's dtype. (chainrule's own optimizers
  still refuse a mis-shaped buffer when it is loaded, not at the next step.)
- state held in containers was not cast: PyTorch walks dicts (keeping each key, so a nested
  ``"step"`` keeps its dtype; the dict comes back a plain dict) and lists/tuples (their
  elements cast without a key, so a list under ``"step"`` is cast like any buffer).
- a ``"step"`` tensor of an integer dtype became a float tensor; PyTorch keeps every step
  tensor as saved (built-in optimizers too), and a non-0-d ``"step"`` is not cast either.

(PyTorch turns strings inside the state into generator reprs on load, a bug of its own that
chainrule does not copy: strings are kept.)
"""

from __future__ import annotations

import collections
import io
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _custom(m: Any, fill: Any) -> Any:
    class Custom(m.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 0.1) -> None:
            super().__init__(params, dict(lr=lr))

        @m.no_grad()
        def step(self, closure: Any = None) -> Any:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        fill(p, state)
                    p.add_(p.grad, alpha=-group["lr"])
            return None

    return Custom


def _load(m: Any, fill: Any, param: Any) -> dict:
    """A state made by ``fill`` in one optimizer, saved, and loaded into a fresh one."""
    opt = _custom(m, fill)([param])
    param.sum().backward()
    opt.step()
    buffer = io.BytesIO()
    m.save(opt.state_dict(), buffer)
    buffer.seek(0)
    fresh = _custom(m, fill)([param])
    fresh.load_state_dict(m.load(buffer, weights_only=True))
    return fresh.state[param]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_custom_state_of_other_shapes_loads(m: Any) -> None:
    def fill(p: Any, state: dict) -> None:
        rows, cols = p.shape[0], p[0].numel()
        state["step"] = m.tensor(0.0)
        state["factor_L"] = 1e-6 * m.eye(rows, dtype=m.float32)
        state["factor_R"] = m.eye(cols, dtype=p.dtype)
        state["low_rank"] = m.zeros(2, cols, dtype=p.dtype)
        state["scalar"] = m.tensor(3.0, dtype=m.float32)

    conv = m.nn.Parameter(m.ones(4, 2, 3, 3, dtype=m.float64))
    state = _load(m, fill, conv)
    assert tuple(state["factor_L"].shape) == (4, 4) and state["factor_L"].dtype == m.float64
    assert tuple(state["factor_R"].shape) == (18, 18)
    assert tuple(state["low_rank"].shape) == (2, 18)
    assert state["scalar"].dtype == m.float64 and state["step"].dtype == m.float32
    np.testing.assert_allclose(state["factor_L"].numpy(), 1e-6 * np.eye(4), rtol=1e-6)
    # a 0-d parameter with matrix state
    scalar = m.nn.Parameter(m.tensor(2.0, dtype=m.float64))
    state = _load(m, lambda p, s: s.update(mat=m.ones(3, 3, dtype=m.float32)), scalar)
    assert tuple(state["mat"].shape) == (3, 3) and state["mat"].dtype == m.float64


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_custom_state_containers_are_cast(m: Any) -> None:
    def f32() -> Any:
        return m.ones(2, dtype=m.float32)

    def fill(p: Any, state: dict) -> None:
        state["history"] = [f32(), (f32(), 3)]
        state["step"] = [m.tensor(1.0, dtype=m.float32)]
        state["nested"] = {"a": f32(), "step": f32(), "deeper": {"step": [f32()]}}
        state["ordered"] = collections.OrderedDict(a=f32())
        state["ints"] = [1, 2]
        state["none"] = None

    state = _load(m, fill, m.nn.Parameter(m.ones(2, dtype=m.float64)))
    history = state["history"]
    assert isinstance(history, list) and isinstance(history[1], tuple)
    assert history[0].dtype == m.float64 and history[1][0].dtype == m.float64
    assert history[1][1] == 3
    assert state["step"][0].dtype == m.float64  # a list loses the key: cast as any buffer
    nested = state["nested"]
    assert nested["a"].dtype == m.float64
    assert nested["step"].dtype == m.float32  # a dict keeps its keys: "step" is not cast
    assert nested["deeper"]["step"][0].dtype == m.float64
    assert type(state["ordered"]) is dict and state["ordered"]["a"].dtype == m.float64
    assert state["ints"] == [1, 2] and state["none"] is None


@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize("kind", ["SGD", "Adam", "custom"])
def test_integer_step_tensor_keeps_its_dtype(m: Any, kind: str) -> None:
    p = m.nn.Parameter(m.ones(2, dtype=m.float64))
    if kind == "custom":
        opt = _custom(m, lambda p, s: None)([p])
    else:
        opt = getattr(m.optim, kind)([p], lr=0.1)
    saved = opt.state_dict()
    saved["state"] = {
        0: {
            "step": m.tensor(3),
            "exp_avg": m.zeros(2, dtype=m.float32),
            "exp_avg_sq": m.zeros(2),
            "momentum_buffer": m.zeros(2),
        }
    }
    opt.load_state_dict(saved)
    state = opt.state[p]
    assert state["step"].dtype == m.int64 and state["step"].item() == 3
    assert state["exp_avg"].dtype == m.float64


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_adam_resumes_from_an_integer_step_tensor(m: Any) -> None:
    p = m.nn.Parameter(m.tensor([1.0, -2.0], dtype=m.float64))
    opt = m.optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    saved = opt.state_dict()
    saved["state"][0]["step"] = m.tensor(3)
    opt.load_state_dict(saved)
    opt.zero_grad()
    (p * p).sum().backward()
    opt.step()
    assert opt.state[p]["step"].item() == 4
    np.testing.assert_allclose(
        p.detach().numpy(), [0.8222276382587995, -1.8220357271998617], rtol=1e-12
    )


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_non_scalar_step_is_not_cast(m: Any) -> None:
    state = _load(
        m, lambda p, s: s.update(step=m.ones(2, dtype=m.float32)), m.nn.Parameter(m.ones(2))
    )
    assert state["step"].dtype == m.float32
