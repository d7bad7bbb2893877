"""Berkeley CS285 homework 2 (policy gradients: ``cs285/agents/pg_agent.py``,
``cs285/networks/policies.py``, ``cs285/networks/critics.py``,
``cs285/infrastructure/pytorch_util.py``), size-reduced: ``ptu.build_mlp`` (a list of
``nn.Linear`` + ``nn.Tanh()`` layers into ``nn.Sequential(*layers)``), ``ptu.from_numpy``
(``torch.from_numpy(data).float().to(device)``) and ``ptu.to_numpy``
(``tensor.to('cpu').detach().numpy()``); ``MLPPolicy`` discrete (``logits_net``,
``distributions.Categorical(logits=self.logits_net(obs))``) and continuous (``mean_net`` with
``self.logstd = nn.Parameter(torch.zeros(ac_dim, dtype=torch.float32))`` and
``distributions.Normal(mean, torch.exp(self.logstd))``, ``log_prob(actions).sum(-1)``);
``get_action`` (``self(ptu.from_numpy(obs)).sample()`` under ``torch.no_grad()``);
``MLPPolicyPG.update`` (``loss = -(log_probs * advantages).mean()``, ``optim.Adam``);
``_discounted_return`` (the whole-trajectory return repeated) and ``_discounted_reward_to_go``
(a reversed running sum), ``_estimate_advantage`` with a ``ValueCritic`` baseline
(``values = ptu.to_numpy(self.critic(ptu.from_numpy(obs)).squeeze())``), generalized advantage
estimation (``batch_size + 1`` values with a trailing 0, ``advantages[i] = delta + gamma * lambda
* advantages[i + 1] * (1 - terminals[i])``), and advantage normalisation
``(advantages - np.mean(advantages)) / (np.std(advantages) + 1e-8)``; the critic's
``F.mse_loss(self(obs).squeeze(), q_values)`` updated ``baseline_gradient_steps`` times.

The gym environments become tiny NumPy ones (CartPole-like discrete, a 1-D point mass for the
continuous policy); actions are sampled by ``Distribution.sample`` after ``torch.manual_seed``
(the same draws in both frameworks). Sizes: 2 layers of 64 -> 1 layer of 8, batch 1000 -> 3
trajectories of up to 6 steps, 4 iterations per agent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"
OB_DIM, N_AC, AC_DIM = 3, 2, 1


def _env_step(ob: np.ndarray, ac: Any, discrete: bool) -> tuple[np.ndarray, float]:
    if discrete:
        push = 1.0 if int(ac) == 1 else -1.0
    else:
        push = float(np.clip(np.asarray(ac).reshape(-1)[0], -2, 2))
    nxt = np.array([ob[0] + 0.1 * push, 0.9 * ob[1] + 0.05 * push, ob[2] * 0.8], np.float32)
    return nxt, float(1.0 - abs(nxt[0]))


def run(torch_like: Any, init: Any) -> list[float]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    distributions, optim = torch_like.distributions, torch_like.optim
    device = torch.device("cpu")

    def build_mlp(input_size: int, output_size: int, n_layers: int, size: int) -> Any:
        layers = []
        in_size = input_size
        for _ in range(n_layers):
            layers.append(nn.Linear(in_size, size))
            layers.append(nn.Tanh())
            in_size = size
        layers.append(nn.Linear(in_size, output_size))
        mlp = nn.Sequential(*layers)
        mlp.to(device)
        return mlp

    def from_numpy(data: Any) -> Any:
        if isinstance(data, dict):
            return {k: from_numpy(v) for k, v in data.items()}
        data = torch.from_numpy(data)
        if data.dtype == torch.float64:
            data = data.float()
        return data.to(device)

    def to_numpy(tensor: Any) -> np.ndarray:
        return tensor.to("cpu").detach().numpy()

    class MLPPolicy(nn.Module):
        def __init__(
            self,
            ac_dim: int,
            ob_dim: int,
            discrete: bool,
            n_layers: int,
            layer_size: int,
            learning_rate: float,
        ) -> None:
            super().__init__()
            if discrete:
                self.logits_net = build_mlp(ob_dim, ac_dim, n_layers, layer_size).to(device)
                parameters = self.logits_net.parameters()
            else:
                self.mean_net = build_mlp(ob_dim, ac_dim, n_layers, layer_size).to(device)
                self.logstd = nn.Parameter(torch.zeros(ac_dim, dtype=torch.float32, device=device))
                parameters = [*self.mean_net.parameters(), self.logstd]
            self.optimizer = optim.Adam(parameters, learning_rate)
            self.discrete = discrete

        @torch.no_grad()
        def get_action(self, obs: np.ndarray) -> np.ndarray:
            """Takes a single observation (as a numpy array) and returns a single action."""
            action = self(from_numpy(obs)).sample()
            return to_numpy(action)

        def forward(self, obs: Any) -> Any:
            if self.discrete:
                return distributions.Categorical(logits=self.logits_net(obs))
            mean = self.mean_net(obs)
            return distributions.Normal(mean, torch.exp(self.logstd))

    class MLPPolicyPG(MLPPolicy):
        def update(self, obs: np.ndarray, actions: np.ndarray, advantages: np.ndarray) -> dict:
            obs, actions, advantages = from_numpy(obs), from_numpy(actions), from_numpy(advantages)
            dist = self(obs)
            log_probs = dist.log_prob(actions)
            if not self.discrete:
                log_probs = log_probs.sum(-1)
            loss = -(log_probs * advantages).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return {"Actor Loss": to_numpy(loss)}

    class ValueCritic(nn.Module):
        def __init__(self, ob_dim: int, n_layers: int, layer_size: int, lr: float) -> None:
            super().__init__()
            self.network = build_mlp(ob_dim, 1, n_layers, layer_size).to(device)
            self.optimizer = optim.Adam(self.network.parameters(), lr)

        def forward(self, obs: Any) -> Any:
            return self.network(obs)

        def update(self, obs: np.ndarray, q_values: np.ndarray) -> dict:
            obs, q_values = from_numpy(obs), from_numpy(q_values)
            loss = F.mse_loss(self(obs).squeeze(), q_values)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return {"Baseline Loss": to_numpy(loss)}

    class PGAgent(nn.Module):
        def __init__(
            self,
            discrete: bool,
            use_baseline: bool,
            use_reward_to_go: bool,
            gae_lambda: float | None,
            normalize_advantages: bool,
        ) -> None:
            super().__init__()
            ac_dim = N_AC if discrete else AC_DIM
            self.actor = MLPPolicyPG(ac_dim, OB_DIM, discrete, 1, 8, 5e-3)
            self.critic = ValueCritic(OB_DIM, 1, 8, 5e-3) if use_baseline else None
            self.baseline_gradient_steps = 2
            self.gamma = 0.95
            self.use_reward_to_go = use_reward_to_go
            self.gae_lambda = gae_lambda
            self.normalize_advantages = normalize_advantages

        def update(self, obs: list, actions: list, rewards: list, terminals: list) -> dict:
            q_values = self._calculate_q_vals(rewards)
            obs, actions = np.concatenate(obs), np.concatenate(actions)
            rewards, terminals = np.concatenate(rewards), np.concatenate(terminals)
            q_values = np.concatenate(q_values)
            advantages = self._estimate_advantage(obs, rewards, q_values, terminals)
            info = self.actor.update(obs, actions, advantages)
            if self.critic is not None:
                for _ in range(self.baseline_gradient_steps):
                    critic_info = self.critic.update(obs, q_values)
                info.update(critic_info)
            return info

        def _calculate_q_vals(self, rewards: list) -> list:
            if not self.use_reward_to_go:
                return [self._discounted_return(r) for r in rewards]
            return [self._discounted_reward_to_go(r) for r in rewards]

        def _estimate_advantage(
            self, obs: np.ndarray, rewards: np.ndarray, q_values: np.ndarray, terminals: np.ndarray
        ) -> np.ndarray:
            if self.critic is None:
                advantages = q_values
            else:
                values = to_numpy(self.critic(from_numpy(obs)).squeeze())
                assert values.shape == q_values.shape
                if self.gae_lambda is None:
                    advantages = q_values - values
                else:
                    batch_size = obs.shape[0]
                    values = np.append(values, [0])
                    advantages = np.zeros(batch_size + 1)
                    for i in reversed(range(batch_size)):
                        delta = rewards[i] + self.gamma * values[i + 1] * (1 - terminals[i])
                        delta -= values[i]
                        advantages[i] = delta + self.gamma * self.gae_lambda * advantages[i + 1] * (
                            1 - terminals[i]
                        )
                    advantages = advantages[:-1]
            if self.normalize_advantages:
                advantages = (advantages - np.mean(advantages)) / (np.std(advantages) + 1e-8)
            return advantages.astype(np.float32)

        def _discounted_return(self, rewards: np.ndarray) -> np.ndarray:
            ret = sum(self.gamma**t * r for t, r in enumerate(rewards))
            return np.full(len(rewards), ret, dtype=np.float32)

        def _discounted_reward_to_go(self, rewards: np.ndarray) -> np.ndarray:
            out, running = np.zeros(len(rewards), np.float32), 0.0
            for t in reversed(range(len(rewards))):
                running = rewards[t] + self.gamma * running
                out[t] = running
            return out

    def sample_trajectories(policy: Any, discrete: bool, rng: np.random.Generator) -> tuple:
        obs_l, ac_l, rew_l, term_l = [], [], [], []
        for _ in range(3):
            ob = rng.normal(0, 0.5, OB_DIM).astype(np.float32)
            obs, acs, rews, terms = [], [], [], []
            for t in range(6):
                ac = policy.get_action(ob)
                obs.append(ob)
                acs.append(ac)
                ob, rew = _env_step(ob, ac, discrete)
                rews.append(rew)
                done = abs(ob[0]) > 1.0 or t == 5
                terms.append(float(done))
                if done:
                    break
            obs_l.append(np.stack(obs))
            ac_l.append(np.stack(acs))
            rew_l.append(np.array(rews, np.float32))
            term_l.append(np.array(terms, np.float32))
        return obs_l, ac_l, rew_l, term_l

    values: list[float] = []
    configs = [
        dict(
            discrete=True,
            use_baseline=False,
            use_reward_to_go=False,
            gae_lambda=None,
            normalize_advantages=False,
        ),
        dict(
            discrete=True,
            use_baseline=True,
            use_reward_to_go=True,
            gae_lambda=None,
            normalize_advantages=True,
        ),
        dict(
            discrete=False,
            use_baseline=True,
            use_reward_to_go=True,
            gae_lambda=0.97,
            normalize_advantages=True,
        ),
    ]
    for k, cfg in enumerate(configs):
        torch.manual_seed(k)
        rng = np.random.default_rng(100 + k)
        agent = PGAgent(**cfg)
        for _ in range(4):
            obs, acs, rews, terms = sample_trajectories(agent.actor, cfg["discrete"], rng)
            info = agent.update(obs, acs, rews, terms)
            values += [float(v) for v in info.values()]
            values.append(float(np.mean([r.sum() for r in rews])))
    return values
