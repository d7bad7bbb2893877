"""Curiosity bonuses, size-reduced from jcwleo's ``random-network-distillation-pytorch`` (RND:
a fixed random target network and a trained predictor, ``RunningMeanStd`` observation and
reward normalisation with ``RewardForwardFilter``) and ``curiosity-driven-exploration-by-
self-supervised-prediction`` (ICM: a feature encoder, an inverse model predicting the action
from two states and a forward model predicting the next state's features).

The idioms: ``init.orthogonal_(p.weight, np.sqrt(2))`` and ``p.bias.data.zero_()`` over
``self.modules()`` with ``isinstance`` checks; ``for param in self.target.parameters():
param.requires_grad = False``; ``compute_intrinsic_reward``'s ``torch.FloatTensor(next_obs)``,
``(target_next_feature - predict_next_feature).pow(2).sum(1) / 2`` and ``.data.cpu().numpy()``;
the NumPy ``RunningMeanStd.update_from_moments`` and ``((next_obs - obs_rms.mean) /
np.sqrt(obs_rms.var)).clip(-5, 5)``; ``RewardForwardFilter.update``; the predictor loss
``nn.MSELoss(reduction='none')(...).mean(-1)``, ``mask = torch.rand(len(forward_loss))``,
``mask = (mask < self.update_proportion).type(torch.FloatTensor)``, ``(forward_loss *
mask).sum() / torch.max(mask.sum(), torch.Tensor([1]))``. ICM: ``action_onehot =
torch.FloatTensor(len(action), self.output_size)``, ``action_onehot.zero_()``,
``action_onehot.scatter_(1, action.view(len(action), -1), 1)``, the model's plain Python list
``self.residual = [nn.Sequential(...)] * 8`` (shared, unregistered blocks), ``torch.cat((
encode_state, encode_next_state), 1)``, the residual loop ``self.residual[i * 2](torch.cat((
pred_next_state_feature_orig, action), 1))``, ``self.eta * F.mse_loss(real, pred,
reduction='none').mean(-1)``, ``nn.CrossEntropyLoss()`` on the inverse model and
``nn.MSELoss()`` on the forward model with ``real_next_state_feature.detach()``, and
``optim.Adam(list(self.model.parameters()) + list(self.icm.parameters()))``.

Changed: Atari frames and CNN encoders -> 6-d observations and small MLPs, 3 actions, a few
updates on random transitions; data from NumPy, the update mask from ``torch.rand`` under
``torch.manual_seed`` (both libraries reproduce PyTorch's CPU generator).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["run"]

DTYPE = "float32"

OBS, ACTIONS, FEAT, HID, N_ENV, STEPS = 6, 3, 8, 16, 6, 3
UPDATE_PROPORTION, ETA, GAMMA = 0.5, 0.01, 0.99


class RunningMeanStd:
    """The baselines running mean/std (NumPy), as both repositories copy it."""

    def __init__(self, epsilon: float = 1e-4, shape: tuple = ()) -> None:
        self.mean = np.zeros(shape, "float64")
        self.var = np.ones(shape, "float64")
        self.count = epsilon

    def update(self, x: np.ndarray) -> None:
        batch_mean = np.mean(x, axis=0)
        batch_var = np.var(x, axis=0)
        batch_count = x.shape[0]
        self.update_from_moments(batch_mean, batch_var, batch_count)

    def update_from_moments(self, batch_mean: Any, batch_var: Any, batch_count: int) -> None:
        delta = batch_mean - self.mean
        tot_count = self.count + batch_count
        new_mean = self.mean + delta * batch_count / tot_count
        m_a = self.var * (self.count)
        m_b = batch_var * (batch_count)
        M2 = m_a + m_b + np.square(delta) * self.count * batch_count / (self.count + batch_count)
        new_var = M2 / (self.count + batch_count)
        new_count = batch_count + self.count
        self.mean = new_mean
        self.var = new_var
        self.count = new_count


class RewardForwardFilter:
    def __init__(self, gamma: float) -> None:
        self.rewems = None
        self.gamma = gamma

    def update(self, rews: np.ndarray) -> np.ndarray:
        if self.rewems is None:
            self.rewems = rews
        else:
            self.rewems = self.rewems * self.gamma + rews
        return self.rewems


def make_rnd(torch_like: Any) -> Any:
    nn = torch_like.nn
    init = torch_like.nn.init

    class RNDModel(nn.Module):
        def __init__(self, input_size: int, output_size: int) -> None:
            super().__init__()
            self.input_size = input_size
            self.output_size = output_size
            self.predictor = nn.Sequential(
                nn.Linear(input_size, HID), nn.LeakyReLU(), nn.Linear(HID, HID), nn.ReLU(),
                nn.Linear(HID, FEAT),
            )  # fmt: skip
            self.target = nn.Sequential(
                nn.Linear(input_size, HID), nn.LeakyReLU(), nn.Linear(HID, FEAT)
            )
            for p in self.modules():
                if isinstance(p, nn.Conv2d):
                    init.orthogonal_(p.weight, np.sqrt(2))
                    p.bias.data.zero_()
                if isinstance(p, nn.Linear):
                    init.orthogonal_(p.weight, np.sqrt(2))
                    p.bias.data.zero_()
            for param in self.target.parameters():
                param.requires_grad = False

        def forward(self, next_obs: Any) -> tuple[Any, Any]:
            target_feature = self.target(next_obs)
            predict_feature = self.predictor(next_obs)
            return predict_feature, target_feature

    return RNDModel(OBS, FEAT)


def make_icm(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ICMModel(nn.Module):
        def __init__(self, input_size: int, output_size: int) -> None:
            super().__init__()
            self.input_size = input_size
            self.output_size = output_size
            self.feature = nn.Sequential(nn.Linear(input_size, HID), nn.LeakyReLU(),
                                         nn.Linear(HID, FEAT))  # fmt: skip
            self.inverse_net = nn.Sequential(
                nn.Linear(FEAT * 2, HID), nn.ReLU(), nn.Linear(HID, output_size)
            )
            self.residual = [
                nn.Sequential(
                    nn.Linear(output_size + FEAT, FEAT), nn.LeakyReLU(), nn.Linear(FEAT, FEAT)
                )
            ] * 8
            self.forward_net_1 = nn.Sequential(nn.Linear(output_size + FEAT, FEAT),
                                               nn.LeakyReLU())  # fmt: skip
            self.forward_net_2 = nn.Sequential(nn.Linear(output_size + FEAT, FEAT))
            for p in self.modules():
                if isinstance(p, nn.Linear):
                    torch.nn.init.kaiming_uniform_(p.weight)
                    p.bias.data.zero_()
            for i in range(len(self.residual)):
                for m in self.residual[i].modules():
                    if isinstance(m, nn.Linear):
                        torch.nn.init.kaiming_uniform_(m.weight, a=1.0)
                        m.bias.data.zero_()

        def forward(self, inputs: list) -> tuple[Any, Any, Any]:
            state, next_state, action = inputs
            encode_state = self.feature(state)
            encode_next_state = self.feature(next_state)
            # get pred action
            pred_action = torch.cat((encode_state, encode_next_state), 1)
            pred_action = self.inverse_net(pred_action)
            # ---------------------
            # get pred next state
            pred_next_state_feature_orig = torch.cat((encode_state, action), 1)
            pred_next_state_feature_orig = self.forward_net_1(pred_next_state_feature_orig)
            # residual
            for i in range(4):
                pred_next_state_feature = self.residual[i * 2](
                    torch.cat((pred_next_state_feature_orig, action), 1)
                )
                pred_next_state_feature_orig = (
                    self.residual[i * 2 + 1](torch.cat((pred_next_state_feature, action), 1))
                    + pred_next_state_feature_orig
                )
            pred_next_state_feature = self.forward_net_2(
                torch.cat((pred_next_state_feature_orig, action), 1)
            )
            real_next_state_feature = encode_next_state
            return real_next_state_feature, pred_next_state_feature, pred_action

    return ICMModel(OBS, ACTIONS)


def run(torch_like: Any, init: Any) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    torch.manual_seed(0)
    rnd = make_rnd(torch)
    icm = make_icm(torch)
    policy = nn.Linear(OBS, ACTIONS)
    rng = np.random.default_rng(12)
    obs_rms = RunningMeanStd(shape=(1, OBS))
    reward_rms = RunningMeanStd()
    discounted_reward = RewardForwardFilter(GAMMA)
    rnd_optimizer = torch.optim.Adam(list(rnd.predictor.parameters()), lr=1e-3)
    icm_optimizer = torch.optim.Adam(list(policy.parameters()) + list(icm.parameters()), lr=1e-3)
    forward_mse = nn.MSELoss(reduction="none")
    ce = nn.CrossEntropyLoss()
    icm_mse = nn.MSELoss()
    obs_rms.update(rng.normal(size=(N_ENV * 4, OBS)))
    values: list[float] = []
    for _step in range(STEPS):
        states = rng.normal(size=(N_ENV, OBS))
        next_states = states + 0.5 * rng.normal(size=(N_ENV, OBS))
        actions = rng.integers(0, ACTIONS, N_ENV)
        # ---- RND ----
        next_obs = ((next_states - obs_rms.mean) / np.sqrt(obs_rms.var)).clip(-5, 5)
        next_obs_t = torch.FloatTensor(next_obs)
        target_next_feature = rnd.target(next_obs_t)
        predict_next_feature = rnd.predictor(next_obs_t)
        intrinsic_reward = (target_next_feature - predict_next_feature).pow(2).sum(1) / 2
        intrinsic_reward = intrinsic_reward.data.cpu().numpy()
        total_reward_per_env = np.array([discounted_reward.update(r) for r in intrinsic_reward])
        reward_rms.update_from_moments(np.mean(total_reward_per_env),
                                       np.std(total_reward_per_env) ** 2,
                                       len(total_reward_per_env))  # fmt: skip
        normalized = intrinsic_reward / np.sqrt(reward_rms.var)
        obs_rms.update(next_states)
        predict_next_state_feature, target_next_state_feature = rnd(next_obs_t)
        forward_loss = forward_mse(
            predict_next_state_feature, target_next_state_feature.detach()
        ).mean(-1)
        # Proportion of exp used for predictor update
        mask = torch.rand(len(forward_loss))
        mask = (mask < UPDATE_PROPORTION).type(torch.FloatTensor)
        forward_loss = (forward_loss * mask).sum() / torch.max(mask.sum(), torch.Tensor([1]))
        rnd_optimizer.zero_grad()
        forward_loss.backward()
        rnd_optimizer.step()
        values += [forward_loss.item(), float(np.mean(normalized)), float(reward_rms.var)]
        values += [sum(p.grad is None for p in rnd.target.parameters())]
        # ---- ICM ----
        state = torch.FloatTensor(states)
        next_state = torch.FloatTensor(next_states)
        action = torch.LongTensor(actions)
        action_onehot = torch.FloatTensor(len(action), ACTIONS)
        action_onehot.zero_()
        action_onehot.scatter_(1, action.view(len(action), -1), 1)
        real_next_state_feature, pred_next_state_feature, pred_action = icm(
            [state, next_state, action_onehot]
        )
        icm_reward = ETA * F.mse_loss(
            real_next_state_feature, pred_next_state_feature, reduction="none"
        ).mean(-1)
        logits = policy(state)
        adv = torch.tensor(icm_reward.data.cpu().numpy(), dtype=torch.float32)
        pg_loss = -(F.log_softmax(logits, -1).gather(1, action[:, None]).squeeze(1) * adv).mean()
        inverse_loss = ce(pred_action, action)
        forward_loss = icm_mse(pred_next_state_feature, real_next_state_feature.detach())
        loss = pg_loss + inverse_loss + forward_loss
        icm_optimizer.zero_grad()
        loss.backward()
        icm_optimizer.step()
        values += [loss.item(), inverse_loss.item(), forward_loss.item()]
        values += icm_reward.tolist()
    return values
