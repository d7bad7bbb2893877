"""Berkeley CS285 homework 4 (model-based RL: ``cs285/agents/model_based_agent.py``,
``cs285/scripts/run_hw4.py``, ``cs285/infrastructure/pytorch_util.py``), size-reduced: an
ensemble of learned dynamics models with normalisation statistics, planned over with
random-shooting and CEM model-predictive control.

The idioms: ``ptu.build_mlp`` (``nn.Linear`` + ``nn.ReLU()`` layers into
``nn.Sequential(*layers)``), ``ptu.from_numpy`` (``torch.from_numpy(data).float().to(device)``)
and ``ptu.to_numpy``
(``tensor.to('cpu').detach().numpy()``); ``ModelBasedAgent`` with ``self.dynamics_models =
nn.ModuleList([make_dynamics_model(...) for _ in range(ensemble_size)])``, one optimizer over
``self.dynamics_models.parameters()``, ``nn.MSELoss()``, four ``register_buffer`` statistics
(``torch.zeros(self.ob_dim + self.ac_dim, device=ptu.device)``) reassigned in the
``@torch.no_grad()`` ``update_statistics`` (``self.obs_acs_mean = obs_acs.mean(dim=0)``,
``obs_acs.std(dim=0)``); ``update(i, obs, acs, next_obs)`` regressing the normalised
``next_obs - obs`` delta from the normalised ``torch.cat([obs, acs], dim=-1)`` with ``+ 1e-8``
in the denominators and returning ``ptu.to_numpy(loss)``; ``get_dynamics_predictions``
un-normalising the delta; ``evaluate_action_sequences`` (``np.tile(obs, (self.ensemble_size,
self.mpc_num_action_sequences, 1))``, ``action_sequences.transpose(1, 0, 2)``, ``np.stack`` over
the ensemble, the env's reward function); ``get_action``'s random shooting (``np.random.
uniform(low, high, size=(N, H, ac_dim))``, ``np.argmax(rewards)``) and CEM (elites by
``np.argsort``, ``np.random.normal(elite_mean, elite_std, ...)``, ``np.clip``, the ``cem_alpha``
moving average); ``run_hw4.py``'s per-model bootstrap batches ``np.random.choice(len(obs),
batch_size)`` and the ``state_dict()`` of the agent holding the buffers.

Changed: HalfCheetah -> a seeded 3-d point-mass with a quadratic reward in NumPy; ensemble 5 ->
3, hidden 250x2 -> 8x2, horizon 10 -> 3, 1000 action sequences -> 12, CEM 4 iterations x 10
elites -> 2 x 3; 20 iterations x 1000 steps -> 3 rounds of a few updates; NumPy's global
``np.random`` -> a seeded ``Generator`` passed to ``get_action``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
OB_DIM, AC_DIM, ENSEMBLE, HIDDEN, HORIZON, N_SEQ, CEM_ITERS, ELITES = 3, 2, 3, 8, 3, 12, 2, 3


class PointMassEnv:
    """A tiny deterministic env with HW4's ``get_reward(obs, acs) -> (rewards, dones)``."""

    class action_space:  # noqa: N801
        low = -np.ones(AC_DIM, dtype=np.float32)
        high = np.ones(AC_DIM, dtype=np.float32)

    def step(self, ob: np.ndarray, ac: np.ndarray) -> np.ndarray:
        a = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.1, 0.0, 0.95]], dtype=np.float32)
        b = np.array([[0.5, 0.0], [0.0, 0.4], [0.2, 0.2]], dtype=np.float32)
        return ob @ a.T + ac @ b.T

    def get_reward(self, obs: np.ndarray, acs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rewards = -(obs**2).sum(-1) - 0.1 * (acs**2).sum(-1)
        return rewards, np.zeros(len(obs), dtype=bool)


def _agent(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    device = torch.device("cpu")

    class ptu:  # noqa: N801  (``cs285.infrastructure.pytorch_util as ptu``)
        @staticmethod
        def build_mlp(input_size: int, output_size: int, n_layers: int, size: int) -> Any:
            layers = []
            in_size = input_size
            for _ in range(n_layers):
                layers.append(nn.Linear(in_size, size))
                layers.append(nn.ReLU())
                in_size = size
            layers.append(nn.Linear(in_size, output_size))
            mlp = nn.Sequential(*layers)
            mlp.to(device)
            return mlp

        @staticmethod
        def from_numpy(data: Any) -> Any:
            return torch.from_numpy(data).float().to(device)

        @staticmethod
        def to_numpy(tensor: Any) -> Any:
            return tensor.to("cpu").detach().numpy()

    class ModelBasedAgent(nn.Module):
        def __init__(self, env, make_dynamics_model, make_optimizer, ensemble_size: int,
                     mpc_horizon: int, mpc_strategy: str, mpc_num_action_sequences: int,
                     cem_num_iters=None, cem_num_elites=None, cem_alpha=None):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.env = env
            self.mpc_horizon = mpc_horizon
            self.mpc_strategy = mpc_strategy
            self.mpc_num_action_sequences = mpc_num_action_sequences
            self.cem_num_iters = cem_num_iters
            self.cem_num_elites = cem_num_elites
            self.cem_alpha = cem_alpha
            self.ob_dim, self.ac_dim = OB_DIM, AC_DIM
            self.ensemble_size = ensemble_size
            self.dynamics_models = nn.ModuleList(
                [make_dynamics_model(self.ob_dim, self.ac_dim) for _ in range(ensemble_size)]
            )
            self.optimizer = make_optimizer(self.dynamics_models.parameters())
            self.loss_fn = nn.MSELoss()
            self.register_buffer(
                "obs_acs_mean", torch.zeros(self.ob_dim + self.ac_dim, device=device)
            )
            self.register_buffer(
                "obs_acs_std", torch.ones(self.ob_dim + self.ac_dim, device=device)
            )
            self.register_buffer("obs_delta_mean", torch.zeros(self.ob_dim, device=device))
            self.register_buffer("obs_delta_std", torch.ones(self.ob_dim, device=device))

        def update(self, i: int, obs: np.ndarray, acs: np.ndarray, next_obs: np.ndarray):  # noqa: ANN201
            obs = ptu.from_numpy(obs)
            acs = ptu.from_numpy(acs)
            next_obs = ptu.from_numpy(next_obs)
            obs_acs = torch.cat([obs, acs], dim=-1)
            obs_acs_normalized = (obs_acs - self.obs_acs_mean) / (self.obs_acs_std + 1e-8)
            obs_delta_normalized = (next_obs - obs - self.obs_delta_mean) / (
                self.obs_delta_std + 1e-8
            )
            pred = self.dynamics_models[i](obs_acs_normalized)
            loss = self.loss_fn(pred, obs_delta_normalized)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return ptu.to_numpy(loss)

        @torch.no_grad()
        def update_statistics(self, obs: np.ndarray, acs: np.ndarray, next_obs: np.ndarray) -> None:
            obs = ptu.from_numpy(obs)
            acs = ptu.from_numpy(acs)
            next_obs = ptu.from_numpy(next_obs)
            obs_acs = torch.cat([obs, acs], dim=1)
            self.obs_acs_mean = obs_acs.mean(dim=0)
            self.obs_acs_std = obs_acs.std(dim=0)
            self.obs_delta_mean = (next_obs - obs).mean(dim=0)
            self.obs_delta_std = (next_obs - obs).std(dim=0)

        @torch.no_grad()
        def get_dynamics_predictions(self, i: int, obs: np.ndarray, acs: np.ndarray) -> np.ndarray:
            obs = ptu.from_numpy(obs)
            acs = ptu.from_numpy(acs)
            obs_acs = torch.cat([obs, acs], dim=-1)
            obs_acs_normalized = (obs_acs - self.obs_acs_mean) / (self.obs_acs_std + 1e-8)
            delta_normalized = self.dynamics_models[i](obs_acs_normalized)
            pred_next_obs = obs + delta_normalized * self.obs_delta_std + self.obs_delta_mean
            return ptu.to_numpy(pred_next_obs)

        def evaluate_action_sequences(self, obs: np.ndarray, action_sequences: np.ndarray):  # noqa: ANN201
            sum_of_rewards = np.zeros(
                (self.ensemble_size, self.mpc_num_action_sequences), dtype=np.float32
            )
            obs = np.tile(obs, (self.ensemble_size, self.mpc_num_action_sequences, 1))
            for acs in action_sequences.transpose(1, 0, 2):
                next_obs = np.stack(
                    [
                        self.get_dynamics_predictions(i, obs[i], acs)
                        for i in range(self.ensemble_size)
                    ]
                )
                rewards, _dones = self.env.get_reward(
                    next_obs.reshape(-1, self.ob_dim), np.tile(acs, (self.ensemble_size, 1))
                )
                sum_of_rewards += rewards.reshape(self.ensemble_size, self.mpc_num_action_sequences)
                obs = next_obs
            return sum_of_rewards.mean(axis=0)

        def get_action(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            action_sequences = rng.uniform(
                self.env.action_space.low,
                self.env.action_space.high,
                size=(self.mpc_num_action_sequences, self.mpc_horizon, self.ac_dim),
            ).astype(np.float32)
            if self.mpc_strategy == "random":
                rewards = self.evaluate_action_sequences(obs, action_sequences)
                best_index = np.argmax(rewards)
                return action_sequences[best_index][0]
            elite_mean = elite_std = None
            for i in range(self.cem_num_iters):
                if i > 0:
                    action_sequences = rng.normal(
                        elite_mean, elite_std, size=action_sequences.shape
                    ).astype(np.float32)
                    action_sequences = np.clip(
                        action_sequences, self.env.action_space.low, self.env.action_space.high
                    )
                rewards = self.evaluate_action_sequences(obs, action_sequences)
                elites = action_sequences[np.argsort(rewards)[-self.cem_num_elites :]]
                if i == 0:
                    elite_mean, elite_std = elites.mean(axis=0), elites.std(axis=0)
                else:
                    elite_mean = (
                        self.cem_alpha * elites.mean(axis=0) + (1 - self.cem_alpha) * elite_mean
                    )
                    elite_std = (
                        self.cem_alpha * elites.std(axis=0) + (1 - self.cem_alpha) * elite_std
                    )
            return elite_mean[0]

    return ModelBasedAgent, ptu


def make_model(torch_like: Any, mpc_strategy: str = "cem") -> Any:
    ModelBasedAgent, ptu = _agent(torch_like)
    return ModelBasedAgent(
        PointMassEnv(),
        make_dynamics_model=lambda ob_dim, ac_dim: ptu.build_mlp(
            ob_dim + ac_dim, ob_dim, 2, HIDDEN
        ),
        make_optimizer=lambda params: torch_like.optim.Adam(params, lr=1e-2),
        ensemble_size=ENSEMBLE,
        mpc_horizon=HORIZON,
        mpc_strategy=mpc_strategy,
        mpc_num_action_sequences=N_SEQ,
        cem_num_iters=CEM_ITERS,
        cem_num_elites=ELITES,
        cem_alpha=0.9,
    )


def run(torch_like: Any, init: dict) -> list[float]:
    values: list[float] = []
    env = PointMassEnv()
    for strategy in ("random", "cem"):
        agent = make_model(torch_like, strategy)
        load_numpy_state(torch_like, agent, init)
        rng = np.random.default_rng(285)
        obs = rng.standard_normal((16, OB_DIM)).astype(np.float32)
        acs = rng.uniform(-1, 1, (16, AC_DIM)).astype(np.float32)
        next_obs = env.step(obs, acs)
        ob = obs[0]
        for _round in range(3):
            agent.update_statistics(obs, acs, next_obs)
            for _ in range(2):
                for i in range(agent.ensemble_size):
                    idx = rng.choice(len(obs), 8)
                    loss = agent.update(i, obs[idx], acs[idx], next_obs[idx])
                    values.append(float(loss))
            ac = agent.get_action(ob, rng)
            values += ac.tolist()
            new_ob = env.step(ob[None], ac[None])[0]
            obs = np.concatenate([obs, ob[None]])
            acs = np.concatenate([acs, ac[None]])
            next_obs = np.concatenate([next_obs, new_ob[None]])
            ob = new_ob
        values += agent.state_dict()["obs_delta_std"].tolist()
        values += agent.get_dynamics_predictions(1, obs[:2], acs[:2]).flatten().tolist()
    return values
