"""DrQ-v2 (Yarats et al., 2021) as facebookresearch/drqv2 writes it (``drqv2.py``'s
``RandomShiftsAug``, ``Encoder``, ``Actor``, ``Critic`` and ``DrQV2Agent``; ``utils.py``'s
``TruncatedNormal``, ``schedule``, ``weight_init``, ``soft_update_params``, ``to_torch``),
size-reduced.

The idioms: ``RandomShiftsAug`` (``F.pad(x, padding, 'replicate')`` with ``tuple([self.pad] *
4)``, ``torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * self.pad, device=x.device,
dtype=x.dtype)[:h]``, ``arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)``, ``torch.cat([arange,
arange.transpose(1, 0)], dim=2)``, ``torch.randint(0, 2 * self.pad + 1, size=(n, 1, 1, 2),
device=x.device, dtype=x.dtype)`` scaled in place, ``F.grid_sample(x, grid,
padding_mode='zeros', align_corners=False)``); ``TruncatedNormal(pyd.Normal)`` (``super().
__init__(loc, scale, validate_args=False)``, the straight-through clamp ``x - x.detach() +
clamped_x.detach()``, ``sample`` from ``self._extended_shape(sample_shape)`` and
``_standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)`` with ``eps *=
self.scale`` and ``torch.clamp(eps, -clip, clip)``); ``schedule``'s ``re.match(r'linear\\((.+),
(.+),(.+)\\)', schdl)`` and ``np.clip``; ``weight_init`` through ``self.apply`` (``nn.init.
orthogonal_(m.weight.data)``, ``nn.init.calculate_gain('relu')``, ``hasattr(m.bias, 'data')``,
``m.bias.data.fill_(0.0)``); the trunks ``nn.Linear``/``nn.LayerNorm``/``nn.Tanh``, twin Q
heads on ``torch.cat([h, action], dim=-1)``, ``critic_target.load_state_dict(critic.
state_dict())``; ``act`` (``torch.as_tensor(obs, device=self.device)``, ``dist.mean`` in eval,
``action.uniform_(-1.0, 1.0)`` during exploration, ``action.cpu().numpy()[0]``); ``update``
(``obs = self.aug(obs.float())``, the target encoding under ``torch.no_grad()``, ``target_V =
torch.min(target_Q1, target_Q2)``, ``F.mse_loss(Q1, target_Q) + F.mse_loss(Q2, target_Q)``,
``zero_grad(set_to_none=True)`` on the encoder and critic optimizers before one backward,
``update_actor(obs.detach(), step)`` with ``dist.log_prob(action).sum(-1, keepdim=True)`` and
``-Q.mean()``, ``soft_update_params``'s ``target_param.data.copy_(tau * param.data + (1 - tau)
* target_param.data)``).

Changed: 9x84x84 pixel frames -> 3x12x12 NumPy-drawn uint8 "frames", pad 4 -> 2, the four
32-channel convolutions -> two of 4 channels, feature 50 -> 8, hidden 1024 -> 8, a 2-d action,
the DMC replay buffer -> NumPy batches of 4, ``num_expl_steps`` 2000 -> 2; a few updates.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
OBS_SHAPE, ACTION_SHAPE, FEATURE, HIDDEN, BATCH, STEPS = (3, 12, 12), (2,), 8, 8, 4, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def weight_init(m):  # noqa: ANN001, ANN202
        """Custom weight init for Conv2D and Linear layers."""
        if isinstance(m, nn.Linear):
            nn.init.orthogonal_(m.weight.data)
            if hasattr(m.bias, "data"):
                m.bias.data.fill_(0.0)
        elif isinstance(m, nn.Conv2d) or isinstance(m, nn.ConvTranspose2d):
            gain = nn.init.calculate_gain("relu")
            nn.init.orthogonal_(m.weight.data, gain)
            if hasattr(m.bias, "data"):
                m.bias.data.fill_(0.0)

    class Encoder(nn.Module):
        def __init__(self, obs_shape):  # noqa: ANN001
            super().__init__()
            assert len(obs_shape) == 3
            self.repr_dim = 4 * 3 * 3
            self.convnet = nn.Sequential(
                nn.Conv2d(obs_shape[0], 4, 3, stride=2), nn.ReLU(),
                nn.Conv2d(4, 4, 3, stride=1), nn.ReLU(),
            )  # fmt: skip
            self.apply(weight_init)

        def forward(self, obs):  # noqa: ANN001, ANN202
            obs = obs / 255.0 - 0.5
            h = self.convnet(obs)
            h = h.view(h.shape[0], -1)
            return h

    class Actor(nn.Module):
        def __init__(self, repr_dim, action_shape, feature_dim, hidden_dim):  # noqa: ANN001
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim),
                                       nn.LayerNorm(feature_dim), nn.Tanh())  # fmt: skip
            self.policy = nn.Sequential(
                nn.Linear(feature_dim, hidden_dim), nn.ReLU(inplace=True),
                nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True),
                nn.Linear(hidden_dim, action_shape[0]),
            )  # fmt: skip
            self.apply(weight_init)

        def forward(self, obs, std):  # noqa: ANN001, ANN202
            h = self.trunk(obs)
            mu = self.policy(h)
            mu = torch.tanh(mu)
            std = torch.ones_like(mu) * std
            dist = _truncated_normal(torch_like)(mu, std)
            return dist

    class Critic(nn.Module):
        def __init__(self, repr_dim, action_shape, feature_dim, hidden_dim):  # noqa: ANN001
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim),
                                       nn.LayerNorm(feature_dim), nn.Tanh())  # fmt: skip
            self.Q1 = nn.Sequential(
                nn.Linear(feature_dim + action_shape[0], hidden_dim), nn.ReLU(inplace=True),
                nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, 1),
            )  # fmt: skip
            self.Q2 = nn.Sequential(
                nn.Linear(feature_dim + action_shape[0], hidden_dim), nn.ReLU(inplace=True),
                nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, 1),
            )  # fmt: skip
            self.apply(weight_init)

        def forward(self, obs, action):  # noqa: ANN001, ANN202
            h = self.trunk(obs)
            h_action = torch.cat([h, action], dim=-1)
            q1 = self.Q1(h_action)
            q2 = self.Q2(h_action)
            return q1, q2

    encoder = Encoder(OBS_SHAPE)
    return nn.ModuleDict({
        "encoder": encoder,
        "actor": Actor(encoder.repr_dim, ACTION_SHAPE, FEATURE, HIDDEN),
        "critic": Critic(encoder.repr_dim, ACTION_SHAPE, FEATURE, HIDDEN),
        "critic_target": Critic(encoder.repr_dim, ACTION_SHAPE, FEATURE, HIDDEN),
    })  # fmt: skip


def _truncated_normal(torch_like: Any) -> type:
    torch = torch_like
    pyd = torch.distributions
    _standard_normal = torch.distributions.utils._standard_normal

    class TruncatedNormal(pyd.Normal):
        def __init__(self, loc, scale, low=-1.0, high=1.0, eps=1e-6):  # noqa: ANN001
            super().__init__(loc, scale, validate_args=False)
            self.low = low
            self.high = high
            self.eps = eps

        def _clamp(self, x):  # noqa: ANN001, ANN202
            clamped_x = torch.clamp(x, self.low + self.eps, self.high - self.eps)
            x = x - x.detach() + clamped_x.detach()
            return x

        def sample(self, clip=None, sample_shape=torch.Size()):  # noqa: ANN001, ANN202, B008
            shape = self._extended_shape(sample_shape)
            eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
            eps *= self.scale
            if clip is not None:
                eps = torch.clamp(eps, -clip, clip)
            x = self.loc + eps
            return self._clamp(x)

    return TruncatedNormal


def schedule(schdl: Any, step: int) -> float:
    try:
        return float(schdl)
    except ValueError:
        match = re.match(r"linear\((.+),(.+),(.+)\)", schdl)
        if match:
            init, final, duration = [float(g) for g in match.groups()]
            mix = np.clip(step / duration, 0.0, 1.0)
            return (1.0 - mix) * init + mix * final
    raise NotImplementedError(schdl)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    modules = make_model(torch_like)
    load_numpy_state(torch_like, modules, init)
    device = torch.device("cpu")

    class RandomShiftsAug(torch.nn.Module):
        def __init__(self, pad):  # noqa: ANN001
            super().__init__()
            self.pad = pad

        def forward(self, x):  # noqa: ANN001, ANN202
            n, c, h, w = x.size()
            assert h == w
            padding = tuple([self.pad] * 4)
            x = F.pad(x, padding, "replicate")
            eps = 1.0 / (h + 2 * self.pad)
            arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * self.pad, device=x.device,
                                    dtype=x.dtype)[:h]  # fmt: skip
            arange = arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)
            base_grid = torch.cat([arange, arange.transpose(1, 0)], dim=2)
            base_grid = base_grid.unsqueeze(0).repeat(n, 1, 1, 1)

            shift = torch.randint(0, 2 * self.pad + 1, size=(n, 1, 1, 2), device=x.device,
                                  dtype=x.dtype)  # fmt: skip
            shift *= 2.0 / (h + 2 * self.pad)

            grid = base_grid + shift
            return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)

    class DrQV2Agent:
        def __init__(self, lr, critic_target_tau, num_expl_steps, update_every_steps,  # noqa: ANN001
                     stddev_schedule, stddev_clip):  # fmt: skip
            self.device = device
            self.critic_target_tau = critic_target_tau
            self.update_every_steps = update_every_steps
            self.num_expl_steps = num_expl_steps
            self.stddev_schedule = stddev_schedule
            self.stddev_clip = stddev_clip
            self.encoder = modules["encoder"].to(device)
            self.actor = modules["actor"].to(device)
            self.critic = modules["critic"].to(device)
            self.critic_target = modules["critic_target"].to(device)
            self.critic_target.load_state_dict(self.critic.state_dict())
            # optimizers
            self.encoder_opt = torch.optim.Adam(self.encoder.parameters(), lr=lr)
            self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
            self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=lr)
            # data augmentation
            self.aug = RandomShiftsAug(pad=2)
            self.train()
            self.critic_target.train()

        def train(self, training=True):  # noqa: ANN001, ANN202
            self.training = training
            self.encoder.train(training)
            self.actor.train(training)
            self.critic.train(training)

        def act(self, obs, step, eval_mode):  # noqa: ANN001, ANN202
            obs = torch.as_tensor(obs, device=self.device)
            obs = self.encoder(obs.unsqueeze(0))
            stddev = schedule(self.stddev_schedule, step)
            dist = self.actor(obs, stddev)
            if eval_mode:
                action = dist.mean
            else:
                action = dist.sample(clip=None)
                if step < self.num_expl_steps:
                    action.uniform_(-1.0, 1.0)
            return action.cpu().numpy()[0]

        def update_critic(self, obs, action, reward, discount, next_obs, step):  # noqa: ANN001, ANN202
            metrics = dict()
            with torch.no_grad():
                stddev = schedule(self.stddev_schedule, step)
                dist = self.actor(next_obs, stddev)
                next_action = dist.sample(clip=self.stddev_clip)
                target_Q1, target_Q2 = self.critic_target(next_obs, next_action)  # noqa: N806
                target_V = torch.min(target_Q1, target_Q2)  # noqa: N806
                target_Q = reward + (discount * target_V)  # noqa: N806
            Q1, Q2 = self.critic(obs, action)  # noqa: N806
            critic_loss = F.mse_loss(Q1, target_Q) + F.mse_loss(Q2, target_Q)
            metrics["critic_target_q"] = target_Q.mean().item()
            metrics["critic_q1"] = Q1.mean().item()
            metrics["critic_loss"] = critic_loss.item()
            # optimize encoder and critic
            self.encoder_opt.zero_grad(set_to_none=True)
            self.critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            self.critic_opt.step()
            self.encoder_opt.step()
            return metrics

        def update_actor(self, obs, step):  # noqa: ANN001, ANN202
            metrics = dict()
            stddev = schedule(self.stddev_schedule, step)
            dist = self.actor(obs, stddev)
            action = dist.sample(clip=self.stddev_clip)
            log_prob = dist.log_prob(action).sum(-1, keepdim=True)
            Q1, Q2 = self.critic(obs, action)  # noqa: N806
            Q = torch.min(Q1, Q2)  # noqa: N806
            actor_loss = -Q.mean()
            # optimize actor
            self.actor_opt.zero_grad(set_to_none=True)
            actor_loss.backward()
            self.actor_opt.step()
            metrics["actor_loss"] = actor_loss.item()
            metrics["actor_logprob"] = log_prob.mean().item()
            metrics["actor_ent"] = dist.entropy().sum(dim=-1).mean().item()
            return metrics

        def update(self, batch, step):  # noqa: ANN001, ANN202
            metrics = dict()
            if step % self.update_every_steps != 0:
                return metrics
            obs, action, reward, discount, next_obs = to_torch(batch, self.device)
            # augment
            obs = self.aug(obs.float())
            next_obs = self.aug(next_obs.float())
            # encode
            obs = self.encoder(obs)
            with torch.no_grad():
                next_obs = self.encoder(next_obs)
            metrics["batch_reward"] = reward.mean().item()
            # update critic
            metrics.update(self.update_critic(obs, action, reward, discount, next_obs, step))
            # update actor
            metrics.update(self.update_actor(obs.detach(), step))
            # update critic target
            soft_update_params(self.critic, self.critic_target, self.critic_target_tau)
            return metrics

    def soft_update_params(net, target_net, tau):  # noqa: ANN001, ANN202
        for param, target_param in zip(net.parameters(), target_net.parameters()):
            target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)

    def to_torch(xs, device):  # noqa: ANN001, ANN202
        return tuple(torch.as_tensor(x, device=device) for x in xs)

    torch.manual_seed(1)
    agent = DrQV2Agent(lr=1e-3, critic_target_tau=0.01, num_expl_steps=2, update_every_steps=1,
                       stddev_schedule="linear(1.0,0.1,10)", stddev_clip=0.3)  # fmt: skip
    rng = np.random.default_rng(17)
    values: list[float] = []
    for step in range(STEPS):
        frame = rng.integers(0, 256, OBS_SHAPE, dtype=np.uint8)
        with torch.no_grad():
            agent.train(False)
            values.extend(agent.act(frame, step, eval_mode=False).tolist())
            values.extend(agent.act(frame, step, eval_mode=True).tolist())
            agent.train(True)
        batch = (
            rng.integers(0, 256, (BATCH, *OBS_SHAPE), dtype=np.uint8),
            rng.uniform(-1, 1, (BATCH, *ACTION_SHAPE)).astype(np.float32),
            rng.random((BATCH, 1)).astype(np.float32),
            np.full((BATCH, 1), 0.99, dtype=np.float32),
            rng.integers(0, 256, (BATCH, *OBS_SHAPE), dtype=np.uint8),
        )
        metrics = agent.update(batch, step)
        values.extend(metrics[k] for k in sorted(metrics))
    return values
