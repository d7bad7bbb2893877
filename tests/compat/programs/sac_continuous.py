"""Soft Actor-Critic for continuous actions, as pranz24/pytorch-soft-actor-critic's ``sac.py``,
``model.py`` and ``utils.py`` write it (and the many copies of it), size-reduced.

The idioms: ``weights_init_`` applied with ``self.apply`` (``torch.nn.init.xavier_uniform_(
m.weight, gain=1)``, ``torch.nn.init.constant_(m.bias, 0)``); ``QNetwork`` with twin heads over
``torch.cat([state, action], 1)``; ``GaussianPolicy`` with ``torch.clamp(log_std,
min=LOG_SIG_MIN, max=LOG_SIG_MAX)``, ``action_scale``/``action_bias`` registered as tensors,
``Normal(mean, std)`` and ``normal.rsample()``, tanh squashing and the log-prob correction
``log_prob -= torch.log(self.action_scale * (1 - y_t.pow(2)) + epsilon)``, ``log_prob.sum(1,
keepdim=True)``, and the deterministic ``torch.tanh(mean) * self.action_scale +
self.action_bias``; ``hard_update`` / ``soft_update`` (``target_param.data.copy_(
target_param.data * (1.0 - tau) + param.data * tau)``); the update with ``torch.no_grad()``
targets (``torch.min(qf1_next_target, qf2_next_target) - self.alpha * next_state_log_pi``,
``reward_batch + mask_batch * self.gamma * (min_qf_next_target)``), ``F.mse_loss`` critic losses
summed, ``((self.alpha * log_pi) - min_qf_pi).mean()`` for the policy, automatic entropy tuning
(``self.target_entropy = -torch.prod(torch.Tensor(action_space.shape)).item()``, ``self.log_alpha
= torch.zeros(1, requires_grad=True)``, its own ``Adam([self.log_alpha], lr=...)``,
``-(self.log_alpha * (log_pi + self.target_entropy).detach()).mean()``, ``self.alpha =
self.log_alpha.exp()``), ``torch.Tensor(...).unsqueeze(1)`` on the replay batch (the
forks' spelling of the original's ``torch.FloatTensor``; it keeps the default dtype, here
float64), the float32 ``torch.FloatTensor`` action scale promoted against float64
activations, and the
``select_action`` path (``torch.Tensor(state).unsqueeze(0)``, ``.detach().cpu().numpy()[0]``).

``normal.rsample()`` draws inside the library, so after ``torch.manual_seed`` each run checks
what holds for any draw (the sample's shape, ``requires_grad`` and that it is ``mean + std *
eps`` for the ``eps`` it implies); the training steps use the same reparametrisation ``mean + std
* eps`` with ``eps`` from NumPy, so both runs see the same noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

STATE_DIM, ACTION_DIM, HIDDEN, BATCH, STEPS = 5, 2, 16, 8, 4
LOG_SIG_MAX, LOG_SIG_MIN, EPSILON = 2, -20, 1e-6
GAMMA, TAU, LR, TARGET_UPDATE_INTERVAL = 0.99, 0.05, 3e-3, 1
ACTION_HIGH = np.array([2.0, 1.0])
ACTION_LOW = np.array([-2.0, -0.5])


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    Normal = torch_like.distributions.Normal

    def weights_init_(m: Any) -> None:
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight, gain=1)
            torch.nn.init.constant_(m.bias, 0)

    class QNetwork(nn.Module):
        def __init__(self, num_inputs: int, num_actions: int, hidden_dim: int) -> None:
            super().__init__()
            # Q1 architecture
            self.linear1 = nn.Linear(num_inputs + num_actions, hidden_dim)
            self.linear2 = nn.Linear(hidden_dim, hidden_dim)
            self.linear3 = nn.Linear(hidden_dim, 1)
            # Q2 architecture
            self.linear4 = nn.Linear(num_inputs + num_actions, hidden_dim)
            self.linear5 = nn.Linear(hidden_dim, hidden_dim)
            self.linear6 = nn.Linear(hidden_dim, 1)
            self.apply(weights_init_)

        def forward(self, state: Any, action: Any) -> tuple[Any, Any]:
            xu = torch.cat([state, action], 1)
            x1 = F.relu(self.linear1(xu))
            x1 = F.relu(self.linear2(x1))
            x1 = self.linear3(x1)
            x2 = F.relu(self.linear4(xu))
            x2 = F.relu(self.linear5(x2))
            x2 = self.linear6(x2)
            return x1, x2

    class GaussianPolicy(nn.Module):
        def __init__(self, num_inputs: int, num_actions: int, hidden_dim: int) -> None:
            super().__init__()
            self.linear1 = nn.Linear(num_inputs, hidden_dim)
            self.linear2 = nn.Linear(hidden_dim, hidden_dim)
            self.mean_linear = nn.Linear(hidden_dim, num_actions)
            self.log_std_linear = nn.Linear(hidden_dim, num_actions)
            self.apply(weights_init_)
            # action rescaling
            self.action_scale = torch.FloatTensor((ACTION_HIGH - ACTION_LOW) / 2.0)
            self.action_bias = torch.FloatTensor((ACTION_HIGH + ACTION_LOW) / 2.0)

        def forward(self, state: Any) -> tuple[Any, Any]:
            x = F.relu(self.linear1(state))
            x = F.relu(self.linear2(x))
            mean = self.mean_linear(x)
            log_std = self.log_std_linear(x)
            log_std = torch.clamp(log_std, min=LOG_SIG_MIN, max=LOG_SIG_MAX)
            return mean, log_std

        def sample(self, state: Any, eps: Any = None) -> tuple[Any, Any, Any]:
            mean, log_std = self.forward(state)
            std = log_std.exp()
            normal = Normal(mean, std)
            # for reparameterization trick (mean + std * N(0,1))
            x_t = normal.rsample() if eps is None else mean + std * eps
            y_t = torch.tanh(x_t)
            action = y_t * self.action_scale + self.action_bias
            log_prob = normal.log_prob(x_t)
            # Enforcing Action Bound
            log_prob -= torch.log(self.action_scale * (1 - y_t.pow(2)) + EPSILON)
            log_prob = log_prob.sum(1, keepdim=True)
            mean = torch.tanh(mean) * self.action_scale + self.action_bias
            return action, log_prob, mean

        def to(self, device: Any) -> Any:
            self.action_scale = self.action_scale.to(device)
            self.action_bias = self.action_bias.to(device)
            return super().to(device)

    class Agent(nn.Module):
        """The networks of one SAC agent, in one module so one state dict holds them all."""

        def __init__(self) -> None:
            super().__init__()
            self.critic = QNetwork(STATE_DIM, ACTION_DIM, HIDDEN)
            self.critic_target = QNetwork(STATE_DIM, ACTION_DIM, HIDDEN)
            self.policy = GaussianPolicy(STATE_DIM, ACTION_DIM, HIDDEN)

    return Agent()


def soft_update(target: Any, source: Any, tau: float) -> None:
    for target_param, param in zip(target.parameters(), source.parameters(), strict=True):
        target_param.data.copy_(target_param.data * (1.0 - tau) + param.data * tau)


def hard_update(target: Any, source: Any) -> None:
    for target_param, param in zip(target.parameters(), source.parameters(), strict=True):
        target_param.data.copy_(param.data)


class SAC:
    def __init__(self, torch_like: Any, agent: Any) -> None:
        torch = torch_like
        self.torch = torch_like
        self.gamma = GAMMA
        self.tau = TAU
        self.alpha = 0.2
        self.target_update_interval = TARGET_UPDATE_INTERVAL
        self.automatic_entropy_tuning = True
        self.device = torch.device("cpu")
        self.critic = agent.critic.to(device=self.device)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), lr=LR)
        self.critic_target = agent.critic_target.to(self.device)
        hard_update(self.critic_target, self.critic)
        self.target_entropy = -torch.prod(torch.Tensor((ACTION_DIM,)).to(self.device)).item()
        self.log_alpha = torch.zeros(1, requires_grad=True, device=self.device)
        self.alpha_optim = torch.optim.Adam([self.log_alpha], lr=LR)
        self.policy = agent.policy.to(self.device)
        self.policy_optim = torch.optim.Adam(self.policy.parameters(), lr=LR)

    def select_action(self, state: np.ndarray, evaluate: bool = False) -> np.ndarray:
        state = self.torch.Tensor(state).to(self.device).unsqueeze(0)
        if evaluate is False:
            action, _, _ = self.policy.sample(state)
        else:
            _, _, action = self.policy.sample(state)
        return action.detach().cpu().numpy()[0]

    def update_parameters(self, batch: tuple, eps: tuple, updates: int) -> tuple:
        torch = self.torch
        F = torch.nn.functional
        state_batch, action_batch, reward_batch, next_state_batch, mask_batch = batch
        state_batch = torch.Tensor(state_batch).to(self.device)
        next_state_batch = torch.Tensor(next_state_batch).to(self.device)
        action_batch = torch.Tensor(action_batch).to(self.device)
        reward_batch = torch.Tensor(reward_batch).to(self.device).unsqueeze(1)
        mask_batch = torch.Tensor(mask_batch).to(self.device).unsqueeze(1)
        eps_next, eps_pi = (torch.Tensor(e) for e in eps)

        with torch.no_grad():
            next_state_action, next_state_log_pi, _ = self.policy.sample(next_state_batch, eps_next)
            qf1_next_target, qf2_next_target = self.critic_target(
                next_state_batch, next_state_action
            )
            min_qf_next_target = (
                torch.min(qf1_next_target, qf2_next_target) - self.alpha * next_state_log_pi
            )
            next_q_value = reward_batch + mask_batch * self.gamma * (min_qf_next_target)
        # Two Q-functions to mitigate positive bias in the policy improvement step
        qf1, qf2 = self.critic(state_batch, action_batch)
        qf1_loss = F.mse_loss(qf1, next_q_value)
        qf2_loss = F.mse_loss(qf2, next_q_value)
        qf_loss = qf1_loss + qf2_loss

        self.critic_optim.zero_grad()
        qf_loss.backward()
        self.critic_optim.step()

        pi, log_pi, _ = self.policy.sample(state_batch, eps_pi)
        qf1_pi, qf2_pi = self.critic(state_batch, pi)
        min_qf_pi = torch.min(qf1_pi, qf2_pi)
        policy_loss = ((self.alpha * log_pi) - min_qf_pi).mean()

        self.policy_optim.zero_grad()
        policy_loss.backward()
        self.policy_optim.step()

        if self.automatic_entropy_tuning:
            alpha_loss = -(self.log_alpha * (log_pi + self.target_entropy).detach()).mean()
            self.alpha_optim.zero_grad()
            alpha_loss.backward()
            self.alpha_optim.step()
            self.alpha = self.log_alpha.exp()
            alpha_tlogs = self.alpha.clone()  # For TensorboardX logs
        else:
            alpha_loss = torch.tensor(0.0).to(self.device)
            alpha_tlogs = torch.tensor(self.alpha)  # For TensorboardX logs

        if updates % self.target_update_interval == 0:
            soft_update(self.critic_target, self.critic, self.tau)

        return (
            qf1_loss.item(),
            qf2_loss.item(),
            policy_loss.item(),
            alpha_loss.item(),
            alpha_tlogs.item(),
        )


def rsample_facts(torch_like: Any, policy: Any, state: Any) -> list[float]:
    """What holds for any draw of ``Normal.rsample``: shape, grad, and ``x = mean + std * eps``."""
    torch = torch_like
    torch.manual_seed(0)
    mean, log_std = policy(state)
    normal = torch.distributions.Normal(mean, log_std.exp())
    x_t = normal.rsample()
    eps = ((x_t - mean) / log_std.exp()).detach()
    again = mean + log_std.exp() * eps
    x_t.sum().backward()
    grad_ok = policy.mean_linear.bias.grad is not None
    policy.zero_grad()
    action = policy.sample(state)[0]
    scale, bias = policy.action_scale, policy.action_bias
    inside = bool(((action >= bias - scale) & (action <= bias + scale)).all())
    return [
        float(list(x_t.shape) == list(mean.shape)),
        float(x_t.requires_grad),
        float(grad_ok),
        float((again - x_t).abs().max().item() < 1e-12),
        float(inside),
        float(normal.sample().requires_grad),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(3)
    agent = make_model(torch_like)
    load_numpy_state(torch_like, agent, init)
    sac = SAC(torch_like, agent)
    values: list[float] = [sac.target_entropy, float(sac.log_alpha.is_leaf)]
    values += [float(sac.policy.action_scale.dtype == torch.float32)]
    values += [float(sac.policy.sample(torch.zeros(1, STATE_DIM))[0].dtype == torch.float64)]
    batch = (
        rng.standard_normal((BATCH, STATE_DIM)),
        rng.uniform(-1.0, 1.0, (BATCH, ACTION_DIM)),
        rng.standard_normal(BATCH),
        rng.standard_normal((BATCH, STATE_DIM)),
        (rng.uniform(size=BATCH) > 0.2).astype(np.float64),
    )
    for updates in range(STEPS):
        eps = (
            rng.standard_normal((BATCH, ACTION_DIM)),
            rng.standard_normal((BATCH, ACTION_DIM)),
        )
        values += list(sac.update_parameters(batch, eps, updates))
    values += [p.abs().sum().item() for p in sac.critic_target.parameters()]
    values += sac.select_action(batch[0][0], evaluate=True).tolist()
    values += [float(sac.select_action(batch[0][0]).shape == (ACTION_DIM,))]
    values += [float(sac.log_alpha.grad is not None), float(type(sac.alpha) is type(sac.log_alpha))]
    values += rsample_facts(torch_like, sac.policy, torch.Tensor(batch[0]))
    return values
