"""A2C with generalized advantage estimation over vectorized environments as
ikostrikov/pytorch-a2c-ppo-acktr-gail (``a2c_ppo_acktr/storage.py``, ``model.py``,
``distributions.py``, ``utils.py``, ``algo/a2c_acktr.py``, ``main.py``) writes it, size-reduced.

The idioms: ``RolloutStorage`` (``torch.zeros(num_steps + 1, num_processes, *obs_shape)``,
``insert`` with ``self.obs[self.step + 1].copy_(obs)`` and ``self.step = (self.step + 1) %
self.num_steps``, ``after_update``'s ``self.obs[0].copy_(self.obs[-1])``, ``compute_returns``
with ``use_gae``: ``self.value_preds[-1] = next_value``, ``for step in
reversed(range(self.rewards.size(0)))``, ``gae = gae * self.bad_masks[step + 1]``,
``self.returns[step] = gae + self.value_preds[step]``); ``FixedCategorical`` subclassing
``torch.distributions.Categorical`` (``super().log_prob(actions.squeeze(-1)).view(actions.size(0),
-1).sum(-1).unsqueeze(-1)``, ``mode`` as ``self.probs.argmax(dim=-1, keepdim=True)`` over the
base class's property); ``init(module, weight_init, bias_init, gain)`` with
``nn.init.orthogonal_`` and ``lambda x: nn.init.constant_(x, 0)``, ``np.sqrt(2)`` and
``nn.init.calculate_gain('relu')``; ``MLPBase``'s actor/critic ``nn.Sequential`` of
``init_(nn.Linear(...))`` and ``nn.Tanh()``; ``evaluate_actions`` over
``rollouts.obs[:-1].view(-1, *obs_shape)``; the A2C update (``advantages =
rollouts.returns[:-1] - values``, ``-(advantages.detach() * action_log_probs).mean()``,
``(value_loss * self.value_loss_coef + action_loss - dist_entropy *
self.entropy_coef).backward()``, ``nn.utils.clip_grad_norm_``, ``optim.RMSprop(..., eps=eps,
alpha=alpha)``); ``main.py``'s ``masks = torch.FloatTensor([[0.0] if done_ else [1.0] for
done_ in done])``, ``bad_masks`` from ``'bad_transition' in info.keys()`` and
``update_linear_schedule``.

Changed: Atari/MuJoCo through ``VecEnv`` -> 4 NumPy random-walk chains of 5 states with a time
limit (``bad_transition``); hidden 64 -> 8; ``dist.sample()`` is an inverse-CDF draw from NumPy
uniforms (the generators differ); 3 updates of 4 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_STATES, N_ACTIONS, NUM_PROCESSES, NUM_STEPS, HIDDEN, TIME_LIMIT = 5, 2, 4, 4, 8, 5
GAMMA, GAE_LAMBDA, VALUE_LOSS_COEF, ENTROPY_COEF, MAX_GRAD_NORM, LR = (
    0.99,
    0.95,
    0.5,
    0.01,
    0.5,
    7e-3,
)


def init(module: Any, weight_init: Any, bias_init: Any, gain: float = 1) -> Any:
    weight_init(module.weight.data, gain=gain)
    bias_init(module.bias.data)
    return module


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class FixedCategorical(torch_like.distributions.Categorical):
        def sample(self) -> Any:
            return super().sample().unsqueeze(-1)

        def log_probs(self, actions: Any) -> Any:
            return (
                super()
                .log_prob(actions.squeeze(-1))
                .view(actions.size(0), -1)
                .sum(-1)
                .unsqueeze(-1)
            )

        def mode(self) -> Any:
            return self.probs.argmax(dim=-1, keepdim=True)

    class Categorical(nn.Module):
        def __init__(self, num_inputs: int, num_outputs: int) -> None:
            super().__init__()
            init_ = lambda m: init(  # noqa: E731 (as in the repo)
                m, nn.init.orthogonal_, lambda x: nn.init.constant_(x, 0), gain=0.01
            )
            self.linear = init_(nn.Linear(num_inputs, num_outputs))

        def forward(self, x: Any) -> Any:
            x = self.linear(x)
            return FixedCategorical(logits=x)

    class MLPBase(nn.Module):
        def __init__(self, num_inputs: int, hidden_size: int = 64) -> None:
            super().__init__()
            init_ = lambda m: init(  # noqa: E731
                m, nn.init.orthogonal_, lambda x: nn.init.constant_(x, 0), np.sqrt(2)
            )
            self.actor = nn.Sequential(
                init_(nn.Linear(num_inputs, hidden_size)),
                nn.Tanh(),
                init_(nn.Linear(hidden_size, hidden_size)),
                nn.Tanh(),
            )
            self.critic = nn.Sequential(
                init_(nn.Linear(num_inputs, hidden_size)),
                nn.Tanh(),
                init_(nn.Linear(hidden_size, hidden_size)),
                nn.Tanh(),
            )
            self.critic_linear = init_(nn.Linear(hidden_size, 1))
            self._hidden_size = hidden_size
            self.train()

        @property
        def output_size(self) -> int:
            return self._hidden_size

        def forward(self, inputs: Any) -> tuple[Any, Any]:
            hidden_critic = self.critic(inputs)
            hidden_actor = self.actor(inputs)
            return self.critic_linear(hidden_critic), hidden_actor

    class Policy(nn.Module):
        def __init__(self, obs_dim: int, num_actions: int) -> None:
            super().__init__()
            self.base = MLPBase(obs_dim, HIDDEN)
            self.dist = Categorical(self.base.output_size, num_actions)
            gain = nn.init.calculate_gain("relu")
            assert gain == np.sqrt(2)

        def act(self, inputs: Any, u: Any, deterministic: bool = False) -> tuple:
            value, actor_features = self.base(inputs)
            dist = self.dist(actor_features)
            if deterministic:
                action = dist.mode()
            else:  # dist.sample(), as an inverse-CDF draw from the program's uniforms
                action = (dist.probs.cumsum(-1) < u).sum(-1, keepdim=True)
            action_log_probs = dist.log_probs(action)
            return value, action, action_log_probs

        def get_value(self, inputs: Any) -> Any:
            value, _ = self.base(inputs)
            return value

        def evaluate_actions(self, inputs: Any, action: Any) -> tuple:
            value, actor_features = self.base(inputs)
            dist = self.dist(actor_features)
            action_log_probs = dist.log_probs(action)
            dist_entropy = dist.entropy().mean()
            return value, action_log_probs, dist_entropy

    return Policy(N_STATES, N_ACTIONS)


class RolloutStorage:
    def __init__(self, torch: Any, num_steps: int, num_processes: int, obs_shape: tuple) -> None:
        self.obs = torch.zeros(num_steps + 1, num_processes, *obs_shape)
        self.rewards = torch.zeros(num_steps, num_processes, 1)
        self.value_preds = torch.zeros(num_steps + 1, num_processes, 1)
        self.returns = torch.zeros(num_steps + 1, num_processes, 1)
        self.action_log_probs = torch.zeros(num_steps, num_processes, 1)
        self.actions = torch.zeros(num_steps, num_processes, 1).long()
        self.masks = torch.ones(num_steps + 1, num_processes, 1)
        # Masks that indicate whether it's a true terminal state or time limit end state
        self.bad_masks = torch.ones(num_steps + 1, num_processes, 1)
        self.num_steps = num_steps
        self.step = 0

    def insert(self, obs, actions, action_log_probs, value_preds, rewards, masks, bad_masks):
        self.obs[self.step + 1].copy_(obs)
        self.actions[self.step].copy_(actions)
        self.action_log_probs[self.step].copy_(action_log_probs)
        self.value_preds[self.step].copy_(value_preds)
        self.rewards[self.step].copy_(rewards)
        self.masks[self.step + 1].copy_(masks)
        self.bad_masks[self.step + 1].copy_(bad_masks)
        self.step = (self.step + 1) % self.num_steps

    def after_update(self) -> None:
        self.obs[0].copy_(self.obs[-1])
        self.masks[0].copy_(self.masks[-1])
        self.bad_masks[0].copy_(self.bad_masks[-1])

    def compute_returns(self, next_value: Any, use_gae: bool, gamma: float, gae_lambda: float):
        if use_gae:
            self.value_preds[-1] = next_value
            gae = 0
            for step in reversed(range(self.rewards.size(0))):
                delta = (
                    self.rewards[step]
                    + gamma * self.value_preds[step + 1] * self.masks[step + 1]
                    - self.value_preds[step]
                )
                gae = delta + gamma * gae_lambda * self.masks[step + 1] * gae
                gae = gae * self.bad_masks[step + 1]
                self.returns[step] = gae + self.value_preds[step]
        else:
            self.returns[-1] = next_value
            for step in reversed(range(self.rewards.size(0))):
                self.returns[step] = (
                    self.returns[step + 1] * gamma * self.masks[step + 1] + self.rewards[step]
                )


class ChainVecEnv:
    """Random-walk chains: action 1 moves right, 0 left; the right end pays 1 and ends."""

    def __init__(self, n: int) -> None:
        self.pos = np.zeros(n, dtype=int)
        self.t = np.zeros(n, dtype=int)

    def _obs(self) -> np.ndarray:
        return np.eye(N_STATES)[self.pos]

    def reset(self) -> np.ndarray:
        self.pos[:] = 0
        self.t[:] = 0
        return self._obs()

    def step(self, actions: np.ndarray) -> tuple:
        self.pos = np.clip(self.pos + np.where(actions == 1, 1, -1), 0, N_STATES - 1)
        self.t += 1
        reward = (self.pos == N_STATES - 1).astype(np.float64)
        timeout = self.t >= TIME_LIMIT
        done = (reward > 0) | timeout
        infos = [{"bad_transition": True} if t and r == 0 else {} for t, r in zip(timeout, reward)]
        self.pos[done] = 0
        self.t[done] = 0
        return self._obs(), reward, done, infos


def update_linear_schedule(optimizer: Any, epoch: int, total_num_epochs: int, initial_lr: float):
    """Decreases the learning rate linearly"""
    lr = initial_lr - (initial_lr * (epoch / float(total_num_epochs)))
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(44)
    actor_critic = make_model(torch_like)
    load_numpy_state(torch_like, actor_critic, init)
    optimizer = optim.RMSprop(actor_critic.parameters(), LR, eps=1e-5, alpha=0.99)
    envs = ChainVecEnv(NUM_PROCESSES)
    rollouts = RolloutStorage(torch, NUM_STEPS, NUM_PROCESSES, (N_STATES,))
    obs = as_tensor(torch, envs.reset())
    rollouts.obs[0].copy_(obs)
    values: list[float] = []
    num_updates = 3
    for j in range(num_updates):
        update_linear_schedule(optimizer, j, num_updates, LR)
        for step in range(NUM_STEPS):
            with torch.no_grad():
                u = as_tensor(torch, rng.random((NUM_PROCESSES, 1)))
                value, action, action_log_prob = actor_critic.act(rollouts.obs[step], u)
            obs, reward, done, infos = envs.step(action.squeeze(1).numpy())
            obs = as_tensor(torch, obs)
            reward = torch.from_numpy(reward).unsqueeze(1)
            masks = torch.FloatTensor([[0.0] if done_ else [1.0] for done_ in done])
            bad_masks = torch.FloatTensor(
                [[0.0] if "bad_transition" in info.keys() else [1.0] for info in infos]
            )
            rollouts.insert(obs, action, action_log_prob, value, reward, masks, bad_masks)
        with torch.no_grad():
            next_value = actor_critic.get_value(rollouts.obs[-1]).detach()
        rollouts.compute_returns(next_value, True, GAMMA, GAE_LAMBDA)
        # algo.A2C_ACKTR.update
        obs_shape = rollouts.obs.size()[2:]
        action_shape = rollouts.actions.size()[-1]
        num_steps, num_processes, _ = rollouts.rewards.size()
        v, action_log_probs, dist_entropy = actor_critic.evaluate_actions(
            rollouts.obs[:-1].view(-1, *obs_shape), rollouts.actions.view(-1, action_shape)
        )
        v = v.view(num_steps, num_processes, 1)
        action_log_probs = action_log_probs.view(num_steps, num_processes, 1)
        advantages = rollouts.returns[:-1] - v
        value_loss = advantages.pow(2).mean()
        action_loss = -(advantages.detach() * action_log_probs).mean()
        optimizer.zero_grad()
        (value_loss * VALUE_LOSS_COEF + action_loss - dist_entropy * ENTROPY_COEF).backward()
        nn.utils.clip_grad_norm_(actor_critic.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        rollouts.after_update()
        values += [value_loss.item(), action_loss.item(), dist_entropy.item()]
        values += rollouts.returns[:-1].flatten().tolist()[:8]
        values.append(rollouts.rewards.sum().item())
    with torch.no_grad():
        _, mode, _ = actor_critic.act(as_tensor(torch, np.eye(N_STATES)), None, True)
    values += mode.flatten().tolist()
    return values
