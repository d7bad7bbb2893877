"""QMIX (``oxwhirl/pymarl``: ``modules/mixers/qmix.py``, ``modules/agents/rnn_agent.py``,
``learners/q_learner.py``), size-reduced: an ``RNNAgent`` (``fc1`` -> ``nn.GRUCell`` -> ``fc2``,
``init_hidden`` as ``self.fc1.weight.new(1, dim).zero_()``) unrolled over an episode batch with
``th.stack(mac_out, dim=1)``; chosen-action Qs through ``th.gather(mac_out[:, :-1], dim=3,
index=actions).squeeze(3)``; unavailable actions masked by ``target_mac_out[avail_actions[:, 1:]
== 0] = -9999999``; double Q (``mac_out_detach.max(dim=3, keepdim=True)[1]``); the ``QMixer``
with hypernetworks (``th.abs(self.hyper_w_1(states))``, ``F.elu(th.bmm(agent_qs, w1) + b1)``,
``hyper_b_1``, a two-layer ``V``), ``targets = rewards + gamma * (1 - terminated) *
target_max_qvals``, a masked TD loss ``(masked_td_error ** 2).sum() / mask.sum()``,
``RMSprop(params=..., lr, alpha, eps)``, ``th.nn.utils.clip_grad_norm_`` and the target update
``self.target_mixer.load_state_dict(self.mixer.state_dict())``. The VDN mixer
(``th.sum(agent_qs, dim=2, keepdim=True)``) gives a second loss on the same batch.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N_AGENTS, N_ACTIONS, OBS, STATE, EMBED, HYPER, RNN_HIDDEN = 3, 4, 5, 6, 8, 8, 8
BS, T, STEPS = 4, 5, 3


def make_model(torch_like: Any) -> Any:
    th, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class RNNAgent(nn.Module):
        def __init__(self, input_shape: int) -> None:
            super(RNNAgent, self).__init__()  # noqa: UP008 (as in pymarl)
            self.fc1 = nn.Linear(input_shape, RNN_HIDDEN)
            self.rnn = nn.GRUCell(RNN_HIDDEN, RNN_HIDDEN)
            self.fc2 = nn.Linear(RNN_HIDDEN, N_ACTIONS)

        def init_hidden(self) -> Any:
            # make hidden states on same device as model
            return self.fc1.weight.new(1, RNN_HIDDEN).zero_()

        def forward(self, inputs: Any, hidden_state: Any) -> tuple[Any, Any]:
            x = F.relu(self.fc1(inputs))
            h_in = hidden_state.reshape(-1, RNN_HIDDEN)
            h = self.rnn(x, h_in)
            q = self.fc2(h)
            return q, h

    class QMixer(nn.Module):
        def __init__(self) -> None:
            super(QMixer, self).__init__()  # noqa: UP008
            self.n_agents = N_AGENTS
            self.state_dim = int(np.prod((STATE,)))
            self.embed_dim = EMBED
            self.hyper_w_1 = nn.Sequential(
                nn.Linear(self.state_dim, HYPER),
                nn.ReLU(),
                nn.Linear(HYPER, self.embed_dim * self.n_agents),
            )
            self.hyper_w_final = nn.Sequential(
                nn.Linear(self.state_dim, HYPER), nn.ReLU(), nn.Linear(HYPER, self.embed_dim)
            )
            # State dependent bias for hidden layer
            self.hyper_b_1 = nn.Linear(self.state_dim, self.embed_dim)
            # V(s) instead of a bias for the last layers
            self.V = nn.Sequential(
                nn.Linear(self.state_dim, self.embed_dim), nn.ReLU(), nn.Linear(self.embed_dim, 1)
            )

        def forward(self, agent_qs: Any, states: Any) -> Any:
            bs = agent_qs.size(0)
            states = states.reshape(-1, self.state_dim)
            agent_qs = agent_qs.view(-1, 1, self.n_agents)
            # First layer
            w1 = th.abs(self.hyper_w_1(states))
            b1 = self.hyper_b_1(states)
            w1 = w1.view(-1, self.n_agents, self.embed_dim)
            b1 = b1.view(-1, 1, self.embed_dim)
            hidden = F.elu(th.bmm(agent_qs, w1) + b1)
            # Second layer
            w_final = th.abs(self.hyper_w_final(states))
            w_final = w_final.view(-1, self.embed_dim, 1)
            # State-dependent bias
            v = self.V(states).view(-1, 1, 1)
            # Compute final output
            y = th.bmm(hidden, w_final) + v
            # Reshape and return
            q_tot = y.view(bs, -1, 1)
            return q_tot

    class Learner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.agent = RNNAgent(OBS + N_AGENTS)
            self.mixer = QMixer()

    return Learner()


def run(torch_like: Any, init: dict) -> list[float]:
    th = torch_like
    rng = np.random.default_rng(13)
    learner = make_model(torch_like)
    load_numpy_state(torch_like, learner, init)
    agent, mixer = learner.agent, learner.mixer
    target_agent, target_mixer = copy.deepcopy(agent), copy.deepcopy(mixer)
    params = list(agent.parameters()) + list(mixer.parameters())
    optimiser = th.optim.RMSprop(params=params, lr=5e-3, alpha=0.99, eps=1e-5)
    gamma = 0.99
    values: list[float] = []

    def batch() -> dict:
        avail = (rng.random((BS, T + 1, N_AGENTS, N_ACTIONS)) < 0.7).astype(np.int64)
        avail[..., 0] = 1
        acts = np.zeros((BS, T, N_AGENTS, 1), dtype=np.int64)
        for idx in np.ndindex(BS, T, N_AGENTS):
            acts[idx] = rng.choice(np.flatnonzero(avail[idx[0], idx[1], idx[2]]))
        filled = np.ones((BS, T, 1))
        filled[0, 3:] = 0  # a short episode
        terminated = np.zeros((BS, T, 1))
        terminated[0, 2] = 1
        return {
            "obs": th.tensor(rng.standard_normal((BS, T + 1, N_AGENTS, OBS))),
            "state": th.tensor(rng.standard_normal((BS, T + 1, STATE))),
            "avail_actions": th.tensor(avail),
            "actions": th.tensor(acts),
            "reward": th.tensor(rng.standard_normal((BS, T, 1))),
            "terminated": th.tensor(terminated),
            "filled": th.tensor(filled),
        }

    def mac_forward(net: Any, ep: dict, t: int, hidden: Any) -> tuple[Any, Any]:
        agent_ids = th.eye(N_AGENTS).unsqueeze(0).expand(BS, -1, -1)
        inputs = th.cat([ep["obs"][:, t], agent_ids], dim=-1).reshape(BS * N_AGENTS, -1)
        q, h = net(inputs, hidden)
        return q.view(BS, N_AGENTS, -1), h

    for _step in range(STEPS):
        ep = batch()
        rewards = ep["reward"][:, :-1]
        actions = ep["actions"][:, :-1]
        terminated = ep["terminated"][:, :-1].float()
        mask = ep["filled"][:, :-1].float()
        mask[:, 1:] = mask[:, 1:] * (1 - terminated[:, :-1])
        avail_actions = ep["avail_actions"][:, :-1]

        mac_out = []
        hidden = agent.init_hidden().unsqueeze(0).expand(BS, N_AGENTS, -1)
        for t in range(T):
            agent_outs, hidden = mac_forward(agent, ep, t, hidden)
            mac_out.append(agent_outs)
        mac_out = th.stack(mac_out, dim=1)  # Concat over time
        chosen_action_qvals = th.gather(mac_out[:, :-1], dim=3, index=actions).squeeze(3)

        target_mac_out = []
        hidden = target_agent.init_hidden().unsqueeze(0).expand(BS, N_AGENTS, -1)
        for t in range(T):
            target_agent_outs, hidden = mac_forward(target_agent, ep, t, hidden)
            target_mac_out.append(target_agent_outs)
        target_mac_out = th.stack(target_mac_out[1:], dim=1)
        target_mac_out[avail_actions[:, 1:] == 0] = -9999999

        mac_out_detach = mac_out.clone().detach()
        mac_out_detach[ep["avail_actions"][:, :T] == 0] = -9999999
        cur_max_actions = mac_out_detach[:, 1:].max(dim=3, keepdim=True)[1]
        target_max_qvals = th.gather(target_mac_out, 3, cur_max_actions).squeeze(3)

        vdn_chosen = th.sum(chosen_action_qvals, dim=2, keepdim=True)
        chosen_action_qvals = mixer(chosen_action_qvals, ep["state"][:, : T - 1])
        target_max_qvals = target_mixer(target_max_qvals, ep["state"][:, 1:T])

        targets = rewards + gamma * (1 - terminated) * target_max_qvals
        td_error = chosen_action_qvals - targets.detach()
        mask = mask.expand_as(td_error)
        masked_td_error = td_error * mask
        loss = (masked_td_error**2).sum() / mask.sum()
        vdn_loss = (((vdn_chosen - targets.detach()) * mask) ** 2).sum() / mask.sum()

        optimiser.zero_grad()
        loss.backward()
        grad_norm = th.nn.utils.clip_grad_norm_(params, 10)
        optimiser.step()
        target_agent.load_state_dict(agent.state_dict())
        target_mixer.load_state_dict(mixer.state_dict())
        mask_elems = mask.sum().item()
        values += [loss.item(), vdn_loss.item(), grad_norm.item(), mask_elems]
        values.append(masked_td_error.abs().sum().item() / mask_elems)
        values.append((chosen_action_qvals * mask).sum().item() / (mask_elems * N_AGENTS))
    return values
