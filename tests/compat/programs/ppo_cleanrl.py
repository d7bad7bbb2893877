"""vwxyzjn/cleanrl ``cleanrl/ppo.py`` (the single-file PPO for discrete actions), size-reduced:
``layer_init`` (``torch.nn.init.orthogonal_(layer.weight, std)``, ``torch.nn.init.constant_(
layer.bias, bias_const)``, ``std=np.sqrt(2)``); the ``Agent`` with ``nn.Tanh`` actor and critic
``nn.Sequential``s sized by ``np.array(envs.single_observation_space.shape).prod()``,
``get_value`` and ``get_action_and_value`` (``Categorical(logits=logits)``, ``log_prob``,
``entropy``); ``optim.Adam(agent.parameters(), lr=..., eps=1e-5)``; the rollout storage
(``torch.zeros((num_steps, num_envs) + envs.single_observation_space.shape)``), the annealed
learning rate written into ``optimizer.param_groups[0]["lr"]``, the rollout loop (``obs[step] =
next_obs``, ``values[step] = value.flatten()`` under ``no_grad``, ``envs.step(action.cpu()
.numpy())``, ``np.logical_or(terminations, truncations)``, ``torch.tensor(reward).to(device)
.view(-1)``, ``torch.Tensor(next_obs)``/``torch.Tensor(next_done)`` from NumPy float and bool
arrays); GAE (``torch.zeros_like(rewards)``, ``for t in reversed(range(num_steps))``, the
chained ``advantages[t] = lastgaelam = ...``); the flattened batch (``obs.reshape((-1,) +
shape)``), minibatches over a shuffled ``b_inds`` (``b_actions.long()[mb_inds]``),
``logratio.exp()``, ``old_approx_kl``/``approx_kl``/``clipfracs`` under ``no_grad``, advantage
normalisation ``(mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)``, the
clipped surrogate ``torch.max(pg_loss1, pg_loss2).mean()`` with ``torch.clamp(ratio, 1 -
clip_coef, 1 + clip_coef)``, the clipped value loss, the entropy bonus,
``nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)``, the ``target_kl`` early stop
and the explained variance.

Changed: ``gym.vector.SyncVectorEnv`` of CartPole is two ``_fake_env.FakeCartPole`` copies with
gym's auto-reset; ``probs.sample()`` is an inverse-CDF draw from a seeded NumPy generator
(``_fake_env.sample_categorical``; the frameworks' generators differ) and ``np.random.shuffle``
a seeded ``rng.shuffle``; 64 hidden units -> 8, 4 envs x 128 steps -> 2 x 8, 4 minibatches -> 2,
4 update epochs -> 2, 2 iterations; ``target_kl`` 0.5 (it is ``None`` by default) so that the
early-stop comparison runs; no TensorBoard writer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._fake_env import FakeCartPole, sample_categorical

NUM_ENVS, NUM_STEPS, HIDDEN, N_ACTIONS, OBS_SHAPE = 2, 8, 8, 2, (4,)


class _Space:
    def __init__(self, shape: tuple, n: int | None = None) -> None:
        self.shape, self.n = shape, n


class _SyncVectorEnv:
    """Two fake CartPoles stepped together, each reset when it terminates (gym's auto-reset)."""

    single_observation_space = _Space(OBS_SHAPE)
    single_action_space = _Space((), N_ACTIONS)

    def __init__(self) -> None:
        self.envs = [FakeCartPole(max_steps=5) for _ in range(NUM_ENVS)]

    def reset(self, seed: int) -> tuple[np.ndarray, dict]:
        return np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(self.envs)]), {}

    def step(self, actions: np.ndarray) -> tuple:
        obs, rew, term, trunc = [], [], [], []
        for env, a in zip(self.envs, actions):
            o, r, te, tr, _ = env.step(int(a))
            if te or tr:
                o, _ = env.reset()
            obs.append(o)
            rew.append(r)
            term.append(te)
            trunc.append(tr)
        return np.stack(obs), np.array(rew), np.array(term), np.array(trunc), {}


def _agent_class(torch_like: Any) -> type:
    nn = torch_like.nn
    Categorical = torch_like.distributions.Categorical

    def layer_init(layer: Any, std: float = np.sqrt(2), bias_const: float = 0.0) -> Any:
        torch_like.nn.init.orthogonal_(layer.weight, std)
        torch_like.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):
        def __init__(self, envs: Any) -> None:
            super().__init__()
            n_obs = int(np.array(envs.single_observation_space.shape).prod())
            self.critic = nn.Sequential(
                layer_init(nn.Linear(n_obs, HIDDEN)),
                nn.Tanh(),
                layer_init(nn.Linear(HIDDEN, HIDDEN)),
                nn.Tanh(),
                layer_init(nn.Linear(HIDDEN, 1), std=1.0),
            )
            self.actor = nn.Sequential(
                layer_init(nn.Linear(n_obs, HIDDEN)),
                nn.Tanh(),
                layer_init(nn.Linear(HIDDEN, HIDDEN)),
                nn.Tanh(),
                layer_init(nn.Linear(HIDDEN, envs.single_action_space.n), std=0.01),
            )

        def get_value(self, x: Any) -> Any:
            return self.critic(x)

        def get_action_and_value(self, x: Any, action: Any = None, rng: Any = None) -> tuple:
            logits = self.actor(x)
            probs = Categorical(logits=logits)
            if action is None:
                # probs.sample(), drawn with NumPy
                p = probs.probs.detach().cpu().numpy()
                action = torch_like.tensor([sample_categorical(row, rng.random()) for row in p])
            return action, probs.log_prob(action), probs.entropy(), self.critic(x)

    return Agent


def make_model(torch_like: Any) -> Any:
    return _agent_class(torch_like)(_SyncVectorEnv())


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    learning_rate, num_iterations, gamma, gae_lambda = 2.5e-3, 2, 0.99, 0.95
    num_minibatches, update_epochs, norm_adv, clip_coef, clip_vloss = 2, 2, True, 0.2, True
    ent_coef, vf_coef, max_grad_norm, target_kl, anneal_lr = 0.01, 0.5, 0.5, 0.5, True
    batch_size = NUM_ENVS * NUM_STEPS
    minibatch_size = batch_size // num_minibatches
    device = "cpu"
    rng = np.random.default_rng(1)
    out: list[float] = []

    envs = _SyncVectorEnv()
    agent = _agent_class(torch_like)(envs).to(device)
    if init is not None:
        agent.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)

    # ALGO Logic: Storage setup
    obs = torch.zeros((NUM_STEPS, NUM_ENVS) + envs.single_observation_space.shape).to(device)
    actions = torch.zeros((NUM_STEPS, NUM_ENVS) + envs.single_action_space.shape).to(device)
    logprobs = torch.zeros((NUM_STEPS, NUM_ENVS)).to(device)
    rewards = torch.zeros((NUM_STEPS, NUM_ENVS)).to(device)
    dones = torch.zeros((NUM_STEPS, NUM_ENVS)).to(device)
    values = torch.zeros((NUM_STEPS, NUM_ENVS)).to(device)

    # TRY NOT TO MODIFY: start the game
    global_step = 0
    next_obs, _ = envs.reset(seed=1)
    next_obs = torch.Tensor(next_obs).to(device)
    next_done = torch.zeros(NUM_ENVS).to(device)

    for iteration in range(1, num_iterations + 1):
        # Annealing the rate if instructed to do so.
        if anneal_lr:
            frac = 1.0 - (iteration - 1.0) / num_iterations
            lrnow = frac * learning_rate
            optimizer.param_groups[0]["lr"] = lrnow

        for step in range(0, NUM_STEPS):
            global_step += NUM_ENVS
            obs[step] = next_obs
            dones[step] = next_done

            # ALGO LOGIC: action logic
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs, rng=rng)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            # TRY NOT TO MODIFY: execute the game and log data.
            next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward).to(device).view(-1)
            next_obs = torch.Tensor(next_obs).to(device)
            next_done = torch.Tensor(next_done).to(device)

        # bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            lastgaelam = 0
            for t in reversed(range(NUM_STEPS)):
                if t == NUM_STEPS - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = (
                    delta + gamma * gae_lambda * nextnonterminal * lastgaelam
                )
            returns = advantages + values

        # flatten the batch
        b_obs = obs.reshape((-1,) + envs.single_observation_space.shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,) + envs.single_action_space.shape)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)

        # Optimizing the policy and value network
        b_inds = np.arange(batch_size)
        clipfracs = []
        for _epoch in range(update_epochs):
            rng.shuffle(b_inds)
            for start in range(0, batch_size, minibatch_size):
                end = start + minibatch_size
                mb_inds = b_inds[start:end]

                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions.long()[mb_inds]
                )
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()

                with torch.no_grad():
                    # calculate approx_kl http://joschu.net/blog/kl-approx.html
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]

                mb_advantages = b_advantages[mb_inds]
                if norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (
                        mb_advantages.std() + 1e-8
                    )

                # Policy loss
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()

                # Value loss
                newvalue = newvalue.view(-1)
                if clip_vloss:
                    v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                    v_clipped = b_values[mb_inds] + torch.clamp(
                        newvalue - b_values[mb_inds],
                        -clip_coef,
                        clip_coef,
                    )
                    v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                    v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
                    v_loss = 0.5 * v_loss_max.mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()

                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef

                optimizer.zero_grad()
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()
                out += [loss.item(), pg_loss.item(), v_loss.item(), entropy_loss.item()]
                out += [old_approx_kl.item(), approx_kl.item(), grad_norm.item()]

            if target_kl is not None and approx_kl > target_kl:
                break

        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        out += [float(np.mean(clipfracs)), float(explained_var), float(global_step)]
        out.append(optimizer.param_groups[0]["lr"])
        out.append(b_actions.sum().item())
    return out
