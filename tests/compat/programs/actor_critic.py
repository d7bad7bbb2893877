"""pytorch/examples ``reinforcement_learning/actor_critic.py``, size-reduced:
``SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])``, the two-headed ``Policy``
(shared ``affine1``, ``action_head`` with ``F.softmax(..., dim=-1)`` and ``value_head``,
``return action_prob, state_values``), ``select_action`` (``torch.from_numpy(state).float()``,
``Categorical(probs)``, ``m.log_prob(action)``, ``model.saved_actions.append(SavedAction(...))``),
``finish_episode`` (discounted returns with ``returns.insert(0, R)``, normalised with ``eps =
np.finfo(np.float32).eps.item()``, the advantage ``R - value.item()``,
``F.smooth_l1_loss(value, torch.tensor([R]))``, ``torch.stack(policy_losses).sum() +
torch.stack(value_losses).sum()``, ``del model.rewards[:]``) and the main loop's running reward.

Gym is replaced by a tiny deterministic environment (``_fake_env``), and ``m.sample()`` by an
inverse-CDF draw from a seeded NumPy uniform (the frameworks' random streams differ); the
``Categorical``'s ``entropy()`` is also recorded. Sizes: hidden 128 -> 16, 10 episodes of up to 8
steps, lr 3e-2 kept.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from ._common import load_numpy_state
from ._fake_env import FakeCartPole, sample_categorical

DTYPE = "float32"
GAMMA = 0.99

SavedAction = namedtuple("SavedAction", ["log_prob", "value"])


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Policy(nn.Module):
        """
        implements both actor and critic in one model
        """

        def __init__(self) -> None:
            super(Policy, self).__init__()  # noqa: UP008 (as in the example)
            self.affine1 = nn.Linear(4, 16)

            # actor's layer
            self.action_head = nn.Linear(16, 2)

            # critic's layer
            self.value_head = nn.Linear(16, 1)

            # action & reward buffer
            self.saved_actions: list = []
            self.rewards: list = []

        def forward(self, x: Any) -> tuple[Any, Any]:
            """
            forward of both actor and critic
            """
            x = F.relu(self.affine1(x))

            # actor: choses action to take from state s_t
            # by returning probability of each action
            action_prob = F.softmax(self.action_head(x), dim=-1)

            # critic: evaluates being in the state s_t
            state_values = self.value_head(x)

            # return values for both actor and critic as a tuple of 2 values:
            # 1. a list with the probability of each action over the action space
            # 2. the value from state s_t
            return action_prob, state_values

    return Policy()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch_like.nn.functional
    Categorical = torch_like.distributions.Categorical
    rng = np.random.default_rng(543)
    env = FakeCartPole()
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()
    values: list[float] = []

    def select_action(state: np.ndarray) -> int:
        state = torch.from_numpy(state).float()
        probs, state_value = model(state)

        # create a categorical distribution over the list of probabilities of actions
        m = Categorical(probs)

        # and sample an action using the distribution
        action = torch.tensor(sample_categorical(probs.detach().numpy(), rng.random()))
        values.append(m.entropy().item())

        # save to action buffer
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))

        # the action to take (left or right)
        return action.item()

    def finish_episode() -> None:
        """
        Training code. Calculates actor and critic loss and performs backprop.
        """
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []  # list to save actor (policy) loss
        value_losses = []  # list to save critic (value) loss
        returns = []  # list to save the true values

        # calculate the true value using rewards returned from the environment
        for r in model.rewards[::-1]:
            # calculate the discounted value
            R = r + GAMMA * R
            returns.insert(0, R)

        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)

        for (log_prob, value), R in zip(saved_actions, returns, strict=True):
            advantage = R - value.item()

            # calculate actor (policy) loss
            policy_losses.append(-log_prob * advantage)

            # calculate critic (value) loss using L1 smooth loss
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))

        # reset gradients
        optimizer.zero_grad()

        # sum up all the values of policy_losses and value_losses
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()

        # perform backprop
        loss.backward()
        optimizer.step()
        values.append(loss.item())

        # reset rewards and action buffer
        del model.rewards[:]
        del model.saved_actions[:]

    running_reward = 10
    for i_episode in range(1, 11):
        # reset environment and episode reward
        state, _ = env.reset(seed=i_episode)
        ep_reward = 0

        # for each episode, only run 9999 steps so that we don't
        # infinite loop while learning
        for _t in range(1, 10000):
            # select action from policy
            action = select_action(state)

            # take the action
            state, reward, done, _, _ = env.step(action)

            model.rewards.append(reward)
            ep_reward += reward
            if done:
                break

        # update cumulative reward
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward

        # perform backprop
        finish_episode()
        values.append(running_reward)
    return values
