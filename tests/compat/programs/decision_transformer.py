"""Decision Transformer as kzl/decision-transformer's gym code writes it (``experiment.py``,
``models/decision_transformer.py``, ``training/seq_trainer.py``, ``evaluation/
evaluate_episodes.py``), size-reduced, with the HuggingFace GPT-2 block written out (as
``trajectory_gpt2.py`` copies it) and a toy linear environment in NumPy.

The idioms: ``discount_cumsum`` over NumPy rewards; ``get_batch``'s left padding
(``np.concatenate([np.zeros((1, max_len - tlen, state_dim)), s[-1]], axis=1)``, actions padded
with ``np.ones(...) * -10.``, state normalisation, ``rtg / scale``, the 0/1 mask) and
``torch.from_numpy(np.concatenate(s, axis=0)).to(dtype=..., device=device)`` / ``.to(dtype=
torch.long)``; the model's ``nn.Embedding(max_ep_len, hidden_size)`` timestep embedding, three
linear token embeddings, ``torch.stack((returns_embeddings, state_embeddings,
action_embeddings), dim=1).permute(0, 2, 1, 3).reshape(batch_size, 3 * seq_length,
hidden_size)``, the stacked ``attention_mask`` (``torch.stack((m, m, m), dim=1).permute(0, 2,
1).reshape(batch_size, 3 * seq_length)``), ``embed_ln``, ``x.reshape(batch_size, seq_length,
3, hidden_size).permute(0, 2, 1, 3)`` and ``predict_action(x[:, 1])`` (``nn.Sequential(*([nn.
Linear(...)] + ([nn.Tanh()] if action_tanh else [])))``); GPT-2's ``Conv1D`` (``torch.addmm(
self.bias, x.view(-1, x.size(-1)), self.weight)``, ``size_out = x.size()[:-1] + (self.nf,)``),
``split_heads`` with ``x.view(*new_x_shape).permute(0, 2, 1, 3)``, a ``register_buffer("bias",
torch.tril(torch.ones((n, n), dtype=torch.uint8)).view(1, 1, n, n))`` causal mask and
``masked_bias`` used through ``torch.where(mask.bool(), w, self.masked_bias.to(w.dtype))``,
the padding mask ``(1.0 - attention_mask[:, None, None, :]) * -10000.0``, ``nn.Softmax(dim=-1)
(w)``, ``gelu_new`` (``0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 *
torch.pow(x, 3.0))))``); the trainer's ``torch.clone(actions)``, ``action_preds.reshape(-1,
act_dim)[attention_mask.reshape(-1) > 0]``, ``torch.mean((a_hat - a) ** 2)``,
``torch.optim.AdamW`` with ``LambdaLR(optimizer, lambda steps: min((steps + 1) /
warmup_steps, 1))``, ``torch.nn.utils.clip_grad_norm_(self.model.parameters(), .25)`` and the
``with torch.no_grad():`` diagnostics ``.detach().cpu().item()``; ``get_action``'s
``states[:, -self.max_length:]``, ``torch.cat([torch.zeros(self.max_length - states.shape[1]),
torch.ones(states.shape[1])])``, ``.to(dtype=torch.long).reshape(1, -1)``, and the rollout's
``torch.cat([actions, torch.zeros((1, act_dim))], dim=0)``, ``actions[-1] = action``,
``pred_return.reshape(1, 1)`` and ``torch.ones((1, 1), dtype=torch.long) * (t + 1)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

STATE_DIM, ACT_DIM, HIDDEN, N_HEAD, N_LAYER, K, MAX_EP_LEN = 3, 2, 16, 2, 2, 4, 20
BATCH, STEPS, LR, WARMUP, SCALE, EP_LEN = 4, 4, 1e-3, 3, 10.0, 5


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    def gelu_new(x: Any) -> Any:
        return (
            0.5
            * x
            * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
        )

    class Conv1D(nn.Module):
        def __init__(self, nf: int, nx: int) -> None:
            super().__init__()
            self.nf = nf
            w = torch.empty(nx, nf)
            nn.init.normal_(w, std=0.02)
            self.weight = nn.Parameter(w)
            self.bias = nn.Parameter(torch.zeros(nf))

        def forward(self, x: Any) -> Any:
            size_out = x.size()[:-1] + (self.nf,)
            x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
            return x.view(*size_out)

    class Attention(nn.Module):
        def __init__(self, nx: int, n_ctx: int, scale: bool = True) -> None:
            super().__init__()
            self.register_buffer(
                "bias",
                torch.tril(torch.ones((n_ctx, n_ctx), dtype=torch.uint8)).view(1, 1, n_ctx, n_ctx),
            )
            self.register_buffer("masked_bias", torch.tensor(-1e4))
            self.n_head = N_HEAD
            self.split_size = nx
            self.scale = scale
            self.c_attn = Conv1D(3 * nx, nx)
            self.c_proj = Conv1D(nx, nx)
            self.attn_dropout = nn.Dropout(0.0)
            self.resid_dropout = nn.Dropout(0.0)

        def _attn(self, q: Any, k: Any, v: Any, attention_mask: Any = None) -> Any:
            w = torch.matmul(q, k)
            if self.scale:
                w = w / (float(v.size(-1)) ** 0.5)
            nd, ns = w.size(-2), w.size(-1)
            mask = self.bias[:, :, ns - nd : ns, :ns]
            w = torch.where(mask.bool(), w, self.masked_bias.to(w.dtype))
            if attention_mask is not None:
                w = w + attention_mask
            w = nn.Softmax(dim=-1)(w)
            w = self.attn_dropout(w)
            return torch.matmul(w, v)

        def merge_heads(self, x: Any) -> Any:
            x = x.permute(0, 2, 1, 3).contiguous()
            new_x_shape = x.size()[:-2] + (x.size(-2) * x.size(-1),)
            return x.view(*new_x_shape)

        def split_heads(self, x: Any, k: bool = False) -> Any:
            new_x_shape = x.size()[:-1] + (self.n_head, x.size(-1) // self.n_head)
            x = x.view(*new_x_shape)
            if k:
                return x.permute(0, 2, 3, 1)
            return x.permute(0, 2, 1, 3)

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
            query = self.split_heads(query)
            key = self.split_heads(key, k=True)
            value = self.split_heads(value)
            a = self._attn(query, key, value, attention_mask)
            a = self.merge_heads(a)
            a = self.c_proj(a)
            return self.resid_dropout(a)

    class MLP(nn.Module):
        def __init__(self, n_state: int, nx: int) -> None:
            super().__init__()
            self.c_fc = Conv1D(n_state, nx)
            self.c_proj = Conv1D(nx, n_state)
            self.act = gelu_new
            self.dropout = nn.Dropout(0.0)

        def forward(self, x: Any) -> Any:
            return self.dropout(self.c_proj(self.act(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self, n_ctx: int, hidden_size: int) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(hidden_size, eps=1e-5)
            self.attn = Attention(hidden_size, n_ctx, scale=True)
            self.ln_2 = nn.LayerNorm(hidden_size, eps=1e-5)
            self.mlp = MLP(4 * hidden_size, hidden_size)

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            attn_output = self.attn(self.ln_1(hidden_states), attention_mask=attention_mask)
            hidden_states = attn_output + hidden_states
            feed_forward_hidden_states = self.mlp(self.ln_2(hidden_states))
            return hidden_states + feed_forward_hidden_states

    class GPT2Model(nn.Module):
        """GPT-2 without its position embeddings (the timestep embedding replaces them)."""

        def __init__(self, hidden_size: int, n_ctx: int) -> None:
            super().__init__()
            self.drop = nn.Dropout(0.0)
            self.h = nn.ModuleList([Block(n_ctx, hidden_size) for _ in range(N_LAYER)])
            self.ln_f = nn.LayerNorm(hidden_size, eps=1e-5)

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> dict:
            attention_mask = attention_mask[:, None, None, :]
            attention_mask = attention_mask.to(dtype=inputs_embeds.dtype)
            attention_mask = (1.0 - attention_mask) * -10000.0
            hidden_states = self.drop(inputs_embeds)
            for block in self.h:
                hidden_states = block(hidden_states, attention_mask=attention_mask)
            return {"last_hidden_state": self.ln_f(hidden_states)}

    class DecisionTransformer(nn.Module):
        def __init__(
            self,
            state_dim: int,
            act_dim: int,
            hidden_size: int,
            max_length: int,
            max_ep_len: int,
            action_tanh: bool = True,
        ) -> None:
            super().__init__()
            self.state_dim, self.act_dim, self.max_length = state_dim, act_dim, max_length
            self.hidden_size = hidden_size
            self.transformer = GPT2Model(hidden_size, 3 * max_length)
            self.embed_timestep = nn.Embedding(max_ep_len, hidden_size)
            self.embed_return = torch.nn.Linear(1, hidden_size)
            self.embed_state = torch.nn.Linear(self.state_dim, hidden_size)
            self.embed_action = torch.nn.Linear(self.act_dim, hidden_size)
            self.embed_ln = nn.LayerNorm(hidden_size)
            self.predict_state = torch.nn.Linear(hidden_size, self.state_dim)
            self.predict_action = nn.Sequential(
                *([nn.Linear(hidden_size, self.act_dim)] + ([nn.Tanh()] if action_tanh else []))
            )
            self.predict_return = torch.nn.Linear(hidden_size, 1)

        def forward(
            self,
            states: Any,
            actions: Any,
            rewards: Any,
            returns_to_go: Any,
            timesteps: Any,
            attention_mask: Any = None,
        ) -> tuple:
            batch_size, seq_length = states.shape[0], states.shape[1]
            if attention_mask is None:
                attention_mask = torch.ones((batch_size, seq_length), dtype=torch.long)
            state_embeddings = self.embed_state(states)
            action_embeddings = self.embed_action(actions)
            returns_embeddings = self.embed_return(returns_to_go)
            time_embeddings = self.embed_timestep(timesteps)
            state_embeddings = state_embeddings + time_embeddings
            action_embeddings = action_embeddings + time_embeddings
            returns_embeddings = returns_embeddings + time_embeddings
            stacked_inputs = (
                torch.stack((returns_embeddings, state_embeddings, action_embeddings), dim=1)
                .permute(0, 2, 1, 3)
                .reshape(batch_size, 3 * seq_length, self.hidden_size)
            )
            stacked_inputs = self.embed_ln(stacked_inputs)
            stacked_attention_mask = (
                torch.stack((attention_mask, attention_mask, attention_mask), dim=1)
                .permute(0, 2, 1)
                .reshape(batch_size, 3 * seq_length)
            )
            transformer_outputs = self.transformer(
                inputs_embeds=stacked_inputs, attention_mask=stacked_attention_mask
            )
            x = transformer_outputs["last_hidden_state"]
            x = x.reshape(batch_size, seq_length, 3, self.hidden_size).permute(0, 2, 1, 3)
            return_preds = self.predict_return(x[:, 2])
            state_preds = self.predict_state(x[:, 2])
            action_preds = self.predict_action(x[:, 1])
            return state_preds, action_preds, return_preds

        def get_action(self, states: Any, actions: Any, returns_to_go: Any, timesteps: Any) -> Any:
            states = states.reshape(1, -1, self.state_dim)
            actions = actions.reshape(1, -1, self.act_dim)
            returns_to_go = returns_to_go.reshape(1, -1, 1)
            timesteps = timesteps.reshape(1, -1)
            states = states[:, -self.max_length :]
            actions = actions[:, -self.max_length :]
            returns_to_go = returns_to_go[:, -self.max_length :]
            timesteps = timesteps[:, -self.max_length :]
            attention_mask = torch.cat(
                [torch.zeros(self.max_length - states.shape[1]), torch.ones(states.shape[1])]
            )
            attention_mask = attention_mask.to(dtype=torch.long, device=states.device).reshape(
                1, -1
            )
            pad = self.max_length - states.shape[1]
            states = torch.cat(
                [torch.zeros((states.shape[0], pad, self.state_dim), device=states.device), states],
                dim=1,
            ).to(dtype=states.dtype)
            actions = torch.cat(
                [
                    torch.zeros((actions.shape[0], pad, self.act_dim), device=actions.device),
                    actions,
                ],
                dim=1,
            ).to(dtype=actions.dtype)
            returns_to_go = torch.cat(
                [
                    torch.zeros((returns_to_go.shape[0], pad, 1), device=returns_to_go.device),
                    returns_to_go,
                ],
                dim=1,
            ).to(dtype=returns_to_go.dtype)
            timesteps = torch.cat(
                [torch.zeros((timesteps.shape[0], pad), device=timesteps.device), timesteps],
                dim=1,
            ).to(dtype=torch.long)
            _, action_preds, return_preds = self.forward(
                states, actions, None, returns_to_go, timesteps, attention_mask=attention_mask
            )
            return action_preds[0, -1]

    return DecisionTransformer(STATE_DIM, ACT_DIM, HIDDEN, K, MAX_EP_LEN)


def discount_cumsum(x: np.ndarray, gamma: float) -> np.ndarray:
    discount_cumsum = np.zeros_like(x)
    discount_cumsum[-1] = x[-1]
    for t in reversed(range(x.shape[0] - 1)):
        discount_cumsum[t] = x[t] + gamma * discount_cumsum[t + 1]
    return discount_cumsum


def trajectories(rng: np.random.Generator) -> list[dict]:
    trajs = []
    for length in (3, 6, 7, 5):
        obs = rng.standard_normal((length, STATE_DIM))
        acts = np.tanh(rng.standard_normal((length, ACT_DIM)))
        rews = obs[:, 0] - 0.1 * (acts**2).sum(1)
        trajs.append({"observations": obs, "actions": acts, "rewards": rews})
    return trajs


def get_batch(torch_like: Any, trajs: list, rng: np.random.Generator, mean: Any, std: Any) -> tuple:
    torch = torch_like
    dtype = torch.get_default_dtype()
    s, a, r, rtg, timesteps, mask = [], [], [], [], [], []
    for _ in range(BATCH):
        traj = trajs[int(rng.integers(len(trajs)))]
        si = int(rng.integers(0, traj["rewards"].shape[0]))
        s.append(traj["observations"][si : si + K].reshape(1, -1, STATE_DIM))
        a.append(traj["actions"][si : si + K].reshape(1, -1, ACT_DIM))
        r.append(traj["rewards"][si : si + K].reshape(1, -1, 1))
        timesteps.append(np.arange(si, si + s[-1].shape[1]).reshape(1, -1))
        timesteps[-1][timesteps[-1] >= MAX_EP_LEN] = MAX_EP_LEN - 1
        rtg.append(
            discount_cumsum(traj["rewards"][si:], gamma=1.0)[: s[-1].shape[1] + 1].reshape(1, -1, 1)
        )
        if rtg[-1].shape[1] <= s[-1].shape[1]:
            rtg[-1] = np.concatenate([rtg[-1], np.zeros((1, 1, 1))], axis=1)
        tlen = s[-1].shape[1]
        s[-1] = np.concatenate([np.zeros((1, K - tlen, STATE_DIM)), s[-1]], axis=1)
        s[-1] = (s[-1] - mean) / std
        a[-1] = np.concatenate([np.ones((1, K - tlen, ACT_DIM)) * -10.0, a[-1]], axis=1)
        r[-1] = np.concatenate([np.zeros((1, K - tlen, 1)), r[-1]], axis=1)
        rtg[-1] = np.concatenate([np.zeros((1, K - tlen, 1)), rtg[-1]], axis=1) / SCALE
        timesteps[-1] = np.concatenate([np.zeros((1, K - tlen)), timesteps[-1]], axis=1)
        mask.append(np.concatenate([np.zeros((1, K - tlen)), np.ones((1, tlen))], axis=1))
    s = torch.from_numpy(np.concatenate(s, axis=0)).to(dtype=dtype)
    a = torch.from_numpy(np.concatenate(a, axis=0)).to(dtype=dtype)
    r = torch.from_numpy(np.concatenate(r, axis=0)).to(dtype=dtype)
    rtg = torch.from_numpy(np.concatenate(rtg, axis=0)).to(dtype=dtype)
    timesteps = torch.from_numpy(np.concatenate(timesteps, axis=0)).to(dtype=torch.long)
    mask = torch.from_numpy(np.concatenate(mask, axis=0))
    return s, a, r, rtg, timesteps, mask


def evaluate_episode_rtg(torch_like: Any, model: Any, mean: Any, std: Any) -> list[float]:
    torch = torch_like
    dtype = torch.get_default_dtype()
    model.eval()
    state_mean = torch.from_numpy(mean).to(dtype=dtype)
    state_std = torch.from_numpy(std).to(dtype=dtype)
    env_matrix = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.1, 0.0, 0.7]])
    state = np.array([0.5, -0.2, 0.1])
    states = torch.from_numpy(state).reshape(1, STATE_DIM).to(dtype=dtype)
    actions = torch.zeros((0, ACT_DIM), dtype=dtype)
    rewards = torch.zeros(0, dtype=dtype)
    ep_return = 4.0 / SCALE
    target_return = torch.tensor(ep_return, dtype=dtype).reshape(1, 1)
    timesteps = torch.tensor(0, dtype=torch.long).reshape(1, 1)
    values = []
    for t in range(EP_LEN):
        actions = torch.cat([actions, torch.zeros((1, ACT_DIM))], dim=0)
        rewards = torch.cat([rewards, torch.zeros(1)])
        action = model.get_action(
            (states.to(dtype=dtype) - state_mean) / state_std,
            actions.to(dtype=dtype),
            target_return.to(dtype=dtype),
            timesteps.to(dtype=torch.long),
        )
        actions[-1] = action
        action = action.detach().cpu().numpy()
        state = env_matrix @ state + 0.1 * np.concatenate([action, [0.0]])
        reward = float(state[0] - 0.1 * (action**2).sum())
        cur_state = torch.from_numpy(state).reshape(1, STATE_DIM)
        states = torch.cat([states, cur_state], dim=0)
        rewards[-1] = reward
        pred_return = target_return[0, -1] - (reward / SCALE)
        target_return = torch.cat([target_return, pred_return.reshape(1, 1)], dim=1)
        timesteps = torch.cat([timesteps, torch.ones((1, 1), dtype=torch.long) * (t + 1)], dim=1)
        values += action.tolist() + [reward]
    return values + [rewards.sum().item(), float(target_return.shape[1])]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    trajs = trajectories(rng)
    states = np.concatenate([path["observations"] for path in trajs], axis=0)
    state_mean, state_std = np.mean(states, axis=0), np.std(states, axis=0) + 1e-6

    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda steps: min((steps + 1) / WARMUP, 1)
    )
    values = []
    model.train()
    for _step in range(STEPS):
        states_b, actions, rewards, rtg, timesteps, attention_mask = get_batch(
            torch, trajs, rng, state_mean, state_std
        )
        action_target = torch.clone(actions)
        state_preds, action_preds, reward_preds = model.forward(
            states_b, actions, rewards, rtg[:, :-1], timesteps, attention_mask=attention_mask
        )
        act_dim = action_preds.shape[2]
        action_preds = action_preds.reshape(-1, act_dim)[attention_mask.reshape(-1) > 0]
        action_target = action_target.reshape(-1, act_dim)[attention_mask.reshape(-1) > 0]
        loss = torch.mean((action_preds - action_target) ** 2)
        optimizer.zero_grad()
        loss.backward()
        total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            action_error = torch.mean((action_preds - action_target) ** 2).detach().cpu().item()
        values += [loss.detach().cpu().item(), action_error, total_norm.item()]
        values += [scheduler.get_last_lr()[0], float(attention_mask.sum().item())]
    values += evaluate_episode_rtg(torch, model, state_mean, state_std)
    return values
