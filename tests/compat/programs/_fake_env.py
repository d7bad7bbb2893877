"""A tiny deterministic stand-in for ``gym.make('CartPole-v1')`` shared by the reinforcement
learning programs: linear dynamics pushed by the action, reward 1 per step, done after a few steps
or when the "pole" leaves its band. The initial state comes from a seeded NumPy generator."""

from __future__ import annotations

import numpy as np

__all__ = ["FakeCartPole", "sample_categorical"]


class FakeCartPole:
    """``reset(seed=...)`` / ``step(action)`` with gym's (>= 0.26) return conventions."""

    def __init__(self, max_steps: int = 8) -> None:
        self.max_steps = max_steps
        self.rng = np.random.default_rng(0)
        self.state = np.zeros(4)
        self.t = 0

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.rng.uniform(-0.05, 0.05, 4)
        self.t = 0
        return self.state.copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        push = 1.0 if action == 1 else -1.0
        x, v, a, w = self.state
        self.state = np.array([x + 0.1 * v, v + 0.1 * push, a + 0.1 * w, w - 0.3 * a + 0.05 * push])
        self.t += 1
        # the step limit also terminates, so scripts that read only ``terminated`` stop too
        terminated = bool(abs(self.state[2]) > 0.15 or self.t >= self.max_steps)
        truncated = False
        return self.state.copy(), 1.0, terminated, truncated, {}


def sample_categorical(probs: np.ndarray, u: float) -> int:
    """Inverse-CDF draw from ``probs`` with a NumPy uniform ``u`` (stands in for
    ``Categorical.sample()``, whose random stream differs between frameworks)."""
    return int(min(np.searchsorted(np.cumsum(probs), u, side="right"), len(probs) - 1))
