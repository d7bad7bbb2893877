"""vwxyzjn/cleanrl ``cleanrl/ppo_atari_lstm.py`` (recurrent PPO), size-reduced.

The idioms kept: the LSTM's own initialisation loop (``for name, param in
self.lstm.named_parameters(): if "bias" in name: nn.init.constant_(param, 0) elif "weight" in
name: nn.init.orthogonal_(param, 1.0)``); ``get_states`` (``lstm_state[0].shape[1]``,
``hidden.reshape((-1, batch_size, self.lstm.input_size))``, the per-step loop ``for h, d in
zip(hidden, done)`` that resets the state with ``(1.0 - d).view(1, -1, 1) * lstm_state[0]``,
``new_hidden += [h]``, ``torch.flatten(torch.cat(new_hidden), 0, 1)``); the state buffers
``torch.zeros(agent.lstm.num_layers, args.num_envs, agent.lstm.hidden_size)`` and
``initial_lstm_state = (next_lstm_state[0].clone(), next_lstm_state[1].clone())``;
``Categorical(logits=logits)`` with ``log_prob``/``entropy``; GAE with ``nextnonterminal``;
minibatches over environments (``flatinds = np.arange(batch_size).reshape(num_steps,
num_envs)``, ``mb_inds = flatinds[:, mbenvinds].ravel()``, the state sliced by a NumPy index
array ``initial_lstm_state[0][:, mbenvinds]``); the clipped surrogate, the clipped value loss
(``v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef,
clip_coef)``, ``0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()``), the entropy bonus,
``approx_kl = ((ratio - 1) - logratio).mean()``, ``clip_grad_norm_`` and Adam with ``eps=1e-5``.

Changed: the Atari CNN is one ``Linear`` + ``ReLU`` on ``_fake_env.FakeCartPole``'s 4 numbers
(gym's vector env is 4 fake envs with auto-reset); ``probs.sample()`` is an inverse-CDF draw
from a seeded NumPy generator and ``np.random.shuffle`` a seeded ``rng.shuffle``; 512/128 units
-> 8/6, 128 steps -> 6, 2 iterations, 2 update epochs; no learning-rate annealing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._fake_env import FakeCartPole, sample_categorical

__all__ = ["make_model", "run"]

NUM_ENVS, NUM_STEPS, N_MINIBATCH, FEAT, HID, N_ACTIONS = 4, 6, 2, 8, 6, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    Categorical = torch_like.distributions.Categorical

    def layer_init(layer, std=np.sqrt(2), bias_const=0.0):  # noqa: B008 - cleanrl's default
        torch.nn.init.orthogonal_(layer.weight, std)
        torch.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = nn.Sequential(layer_init(nn.Linear(4, FEAT)), nn.ReLU())
            self.lstm = nn.LSTM(FEAT, HID)
            for name, param in self.lstm.named_parameters():
                if "bias" in name:
                    nn.init.constant_(param, 0)
                elif "weight" in name:
                    nn.init.orthogonal_(param, 1.0)
            self.actor = layer_init(nn.Linear(HID, N_ACTIONS), std=0.01)
            self.critic = layer_init(nn.Linear(HID, 1), std=1)

        def get_states(self, x, lstm_state, done):
            hidden = self.network(x)
            # LSTM logic
            batch_size = lstm_state[0].shape[1]
            hidden = hidden.reshape((-1, batch_size, self.lstm.input_size))
            done = done.reshape((-1, batch_size))
            new_hidden = []
            for h, d in zip(hidden, done):
                h, lstm_state = self.lstm(
                    h.unsqueeze(0),
                    (
                        (1.0 - d).view(1, -1, 1) * lstm_state[0],
                        (1.0 - d).view(1, -1, 1) * lstm_state[1],
                    ),
                )
                new_hidden += [h]
            new_hidden = torch.flatten(torch.cat(new_hidden), 0, 1)
            return new_hidden, lstm_state

        def get_value(self, x, lstm_state, done):
            hidden, _ = self.get_states(x, lstm_state, done)
            return self.critic(hidden)

        def get_action_and_value(self, x, lstm_state, done, action=None, u=None):
            hidden, lstm_state = self.get_states(x, lstm_state, done)
            logits = self.actor(hidden)
            probs = Categorical(logits=logits)
            if action is None:  # probs.sample(), drawn with NumPy (see Changed)
                p = probs.probs.detach().cpu().numpy()
                action = torch.tensor([sample_categorical(row, v) for row, v in zip(p, u)])
            return action, probs.log_prob(action), probs.entropy(), self.critic(hidden), lstm_state

    return Agent()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    agent = make_model(torch_like)
    agent.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = optim.Adam(agent.parameters(), lr=2.5e-3, eps=1e-5)
    gamma, gae_lambda, clip_coef, ent_coef, vf_coef, max_grad_norm = 0.99, 0.95, 0.1, 0.01, 0.5, 0.5
    batch_size = NUM_ENVS * NUM_STEPS
    rng = np.random.default_rng(3)
    envs = [FakeCartPole(max_steps=5) for _ in range(NUM_ENVS)]

    obs = torch.zeros((NUM_STEPS, NUM_ENVS, 4))
    actions = torch.zeros((NUM_STEPS, NUM_ENVS))
    logprobs = torch.zeros((NUM_STEPS, NUM_ENVS))
    rewards = torch.zeros((NUM_STEPS, NUM_ENVS))
    dones = torch.zeros((NUM_STEPS, NUM_ENVS))
    values = torch.zeros((NUM_STEPS, NUM_ENVS))

    next_obs = torch.Tensor(np.stack([e.reset(seed=i)[0] for i, e in enumerate(envs)]))
    next_done = torch.zeros(NUM_ENVS)
    next_lstm_state = (
        torch.zeros(agent.lstm.num_layers, NUM_ENVS, agent.lstm.hidden_size),
        torch.zeros(agent.lstm.num_layers, NUM_ENVS, agent.lstm.hidden_size),
    )  # hidden and cell states (see https://youtu.be/8HyCNIVRbSU)
    out: list[float] = []
    for _iteration in range(2):
        initial_lstm_state = (next_lstm_state[0].clone(), next_lstm_state[1].clone())
        for step in range(NUM_STEPS):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value, next_lstm_state = agent.get_action_and_value(
                    next_obs, next_lstm_state, next_done, u=rng.random(NUM_ENVS)
                )
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            stepped = []
            for e, a in zip(envs, action.cpu().numpy()):
                o, r, term, trunc, _ = e.step(int(a))
                if term or trunc:
                    o, _ = e.reset()
                stepped.append((o, r, term or trunc))
            next_obs_np = np.stack([s[0] for s in stepped])
            rewards[step] = torch.tensor(np.array([s[1] for s in stepped])).view(-1)
            next_obs = torch.Tensor(next_obs_np)
            next_done = torch.Tensor(np.array([s[2] for s in stepped]))

        # bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(next_obs, next_lstm_state, next_done).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
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

        b_obs = obs.reshape((-1, 4))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_dones = dones.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)

        assert NUM_ENVS % N_MINIBATCH == 0
        envsperbatch = NUM_ENVS // N_MINIBATCH
        envinds = np.arange(NUM_ENVS)
        flatinds = np.arange(batch_size).reshape(NUM_STEPS, NUM_ENVS)
        for _epoch in range(2):
            rng.shuffle(envinds)
            for start in range(0, NUM_ENVS, envsperbatch):
                end = start + envsperbatch
                mbenvinds = envinds[start:end]
                mb_inds = flatinds[:, mbenvinds].ravel()  # be really careful about the index
                _, newlogprob, entropy, newvalue, _ = agent.get_action_and_value(
                    b_obs[mb_inds],
                    (initial_lstm_state[0][:, mbenvinds], initial_lstm_state[1][:, mbenvinds]),
                    b_dones[mb_inds],
                    b_actions.long()[mb_inds],
                )
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfrac = ((ratio - 1.0).abs() > clip_coef).float().mean().item()
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (
                    mb_advantages.std() + 1e-8
                )
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(
                    newvalue - b_values[mb_inds], -clip_coef, clip_coef
                )
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
                v_loss = 0.5 * v_loss_max.mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()
                out += [loss.item(), approx_kl.item(), clipfrac, float(grad_norm)]
    return out
