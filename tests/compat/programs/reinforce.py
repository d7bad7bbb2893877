"""pytorch/examples ``reinforcement_learning/reinforce.py``, size-reduced: the ``Policy`` (
``nn.Linear`` -> ``nn.Dropout(p=0.6)`` -> ``F.relu`` -> ``nn.Linear`` -> ``F.softmax(...,
dim=1)``) keeping ``saved_log_probs``/``rewards`` lists on the module, ``eps =
np.finfo(np.float32).eps.item()``, ``select_action`` (``torch.from_numpy(state).float()
.unsqueeze(0)``, ``Categorical(probs)``, ``m.log_prob(action)``, ``action.item()``),
``finish_episode`` (discounted returns built with ``returns.appendleft``, ``torch.tensor(returns)``,
``(returns - returns.mean()) / (returns.std() + eps)``, ``torch.cat(policy_loss).sum()``, ``del
policy.rewards[:]``) and the running reward of the main loop.

Gym is replaced by a tiny deterministic environment (``_fake_env``), and ``m.sample()`` by an
inverse-CDF draw from a seeded NumPy uniform (the two frameworks' random streams differ), so both
runs act alike; everything after the draw (``log_prob`` of the action, the loss, Adam) is the
script's. The dropout is kept but the policy is put in ``eval()`` mode during the episode so that
it is deterministic. Sizes: hidden 128 -> 16, 10 episodes of up to 8 steps.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ._common import load_numpy_state
from ._fake_env import FakeCartPole, sample_categorical

DTYPE = "float32"
# The policy loss sums -log_prob * R over returns normalised to mean zero, so it is a small
# difference of O(1) terms (e.g. -0.046 from terms near 1): float32 rounding of ~1e-7 in the
# terms shows up as ~1e-5 relative in the sum (measured 8e-6), hence rtol 1e-4 rather than 1e-5.
RTOL = 1e-4
GAMMA = 0.99


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Policy(nn.Module):
        def __init__(self) -> None:
            super(Policy, self).__init__()  # noqa: UP008 (as in the example)
            self.affine1 = nn.Linear(4, 16)
            self.dropout = nn.Dropout(p=0.6)
            self.affine2 = nn.Linear(16, 2)

            self.saved_log_probs: list = []
            self.rewards: list = []

        def forward(self, x: Any) -> Any:
            x = self.affine1(x)
            x = self.dropout(x)
            x = F.relu(x)
            action_scores = self.affine2(x)
            return F.softmax(action_scores, dim=1)

    return Policy()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    Categorical = torch_like.distributions.Categorical
    rng = np.random.default_rng(543)
    env = FakeCartPole()
    policy = make_model(torch_like)
    load_numpy_state(torch_like, policy, init)
    policy.eval()  # deterministic: no dropout masks to match between frameworks
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()
    values: list[float] = []

    def select_action(state: np.ndarray) -> int:
        state = torch.from_numpy(state).float().unsqueeze(0)
        probs = policy(state)
        m = Categorical(probs)
        action = torch.tensor([sample_categorical(probs.detach().numpy()[0], rng.random())])
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode() -> None:
        R = 0
        policy_loss = []
        returns = deque()
        for r in policy.rewards[::-1]:
            R = r + GAMMA * R
            returns.appendleft(R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns, strict=True):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        values.append(policy_loss.item())
        del policy.rewards[:]
        del policy.saved_log_probs[:]

    running_reward = 10
    for i_episode in range(1, 11):
        state, _ = env.reset(seed=i_episode)
        ep_reward = 0
        for _t in range(1, 10000):  # Don't infinite loop while learning
            action = select_action(state)
            state, reward, done, _, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if done:
                break

        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        finish_episode()
        values.append(running_reward)
    return values
