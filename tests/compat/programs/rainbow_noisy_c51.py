"""Kaixhin/Rainbow (``model.py``, ``agent.py``, ``memory.py``, ``main.py``), size-reduced:
``NoisyLinear`` with factorised Gaussian noise (``weight_mu`` / ``weight_sigma`` parameters,
``register_buffer('weight_epsilon', torch.empty(...))``, ``reset_parameters`` through
``.data.uniform_`` / ``.data.fill_``, ``_scale_noise`` as ``x.sign().mul_(x.abs().sqrt_())``,
``reset_noise`` copying ``epsilon_out.ger(epsilon_in)`` into the buffer, the mean weights
alone in ``eval()`` mode); the dueling distributional ``DQN`` (``q = v + a - a.mean(1,
keepdim=True)``, ``F.log_softmax`` / ``F.softmax`` over the atoms, ``reset_noise`` over
``named_children`` whose name holds ``'fc'``); the ``Agent`` (``support = torch.linspace(V_min,
V_max, atoms)``, ``act`` as ``(self.online_net(state.unsqueeze(0)) * self.support).sum(2)
.argmax(1).item()``, the target net's parameters with ``requires_grad = False``, ``learn``'s
double-DQN action choice, the C51 projection ``Tz.clamp(min=V_min, max=V_max)``, ``b.floor()
.to(torch.int64)`` / ``ceil``, the fix of disappearing mass ``l[(u > 0) * (l == u)] -= 1``, the
``torch.linspace(...).unsqueeze(1).expand(...).to(actions)`` offsets and
``m.view(-1).index_add_(0, (l + offset).view(-1), ...)`` under ``torch.no_grad()``, the
importance-weighted ``(weights * loss).mean().backward()``, ``clip_grad_norm_`` and the new
priorities from ``loss.detach().cpu().numpy()``; ``update_target_net`` through
``load_state_dict``); the n-step return ``torch.matmul(reward, self.n_step_scaling)`` and
prioritised replay's importance weights ``(capacity * probs) ** -priority_weight`` normalised
by their maximum, with ``priority_weight`` annealed towards 1 as in ``main.py``.

Changed: Atari frames and the convolutional trunk are a 4-dimensional NumPy chain environment
and an ``nn.Linear``; the sum tree is a NumPy array of priorities sampled with a seeded
generator; ``_scale_noise``'s ``torch.randn`` draws from a NumPy generator (the two frameworks'
generators differ); the n-step scaling's ``dtype=torch.float32`` is the default dtype (the run
is in float64); atoms 51 -> 11, hidden 512 -> 8, batch 32 -> 4, 3 learning steps.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor

ARGS = SimpleNamespace(
    atoms=11,
    V_min=-2.0,
    V_max=2.0,
    hidden_size=8,
    noisy_std=0.1,
    multi_step=3,
    discount=0.9,
    batch_size=4,
    learning_rate=1e-3,
    adam_eps=1.5e-4,
    norm_clip=10.0,
    priority_exponent=0.5,
    priority_weight=0.4,
    history_length=4,
)
ACTIONS = 3


def _classes(torch_like: Any) -> tuple[type, type]:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional

    # Factorised NoisyLinear layer with bias
    class NoisyLinear(nn.Module):
        def __init__(
            self,
            in_features: int,
            out_features: int,
            rng: np.random.Generator,
            std_init: float = 0.5,
        ) -> None:
            super(NoisyLinear, self).__init__()  # noqa: UP008 (as in the repository)
            self.in_features = in_features
            self.out_features = out_features
            self.std_init = std_init
            self.rng = rng
            self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
            self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
            self.register_buffer("weight_epsilon", torch.empty(out_features, in_features))
            self.bias_mu = nn.Parameter(torch.empty(out_features))
            self.bias_sigma = nn.Parameter(torch.empty(out_features))
            self.register_buffer("bias_epsilon", torch.empty(out_features))
            self.reset_parameters()
            self.reset_noise()

        def reset_parameters(self) -> None:
            mu_range = 1 / math.sqrt(self.in_features)
            self.weight_mu.data.uniform_(-mu_range, mu_range)
            self.weight_sigma.data.fill_(self.std_init / math.sqrt(self.in_features))
            self.bias_mu.data.uniform_(-mu_range, mu_range)
            self.bias_sigma.data.fill_(self.std_init / math.sqrt(self.out_features))

        def _scale_noise(self, size: int) -> Any:
            x = torch.from_numpy(self.rng.standard_normal(size)).to(self.weight_mu)  # torch.randn
            return x.sign().mul_(x.abs().sqrt_())

        def reset_noise(self) -> None:
            epsilon_in = self._scale_noise(self.in_features)
            epsilon_out = self._scale_noise(self.out_features)
            self.weight_epsilon.copy_(epsilon_out.ger(epsilon_in))
            self.bias_epsilon.copy_(epsilon_out)

        def forward(self, input: Any) -> Any:  # noqa: A002
            if self.training:
                return F.linear(
                    input,
                    self.weight_mu + self.weight_sigma * self.weight_epsilon,
                    self.bias_mu + self.bias_sigma * self.bias_epsilon,
                )
            else:
                return F.linear(input, self.weight_mu, self.bias_mu)

    class DQN(nn.Module):
        def __init__(self, args: Any, action_space: int, rng: np.random.Generator) -> None:
            super(DQN, self).__init__()  # noqa: UP008
            self.atoms = args.atoms
            self.action_space = action_space

            self.convs = nn.Sequential(nn.Linear(args.history_length, 6), nn.ReLU())
            self.conv_output_size = 6
            self.fc_h_v = NoisyLinear(
                self.conv_output_size, args.hidden_size, rng, std_init=args.noisy_std
            )
            self.fc_h_a = NoisyLinear(
                self.conv_output_size, args.hidden_size, rng, std_init=args.noisy_std
            )
            self.fc_z_v = NoisyLinear(args.hidden_size, self.atoms, rng, std_init=args.noisy_std)
            self.fc_z_a = NoisyLinear(
                args.hidden_size, action_space * self.atoms, rng, std_init=args.noisy_std
            )

        def forward(self, x: Any, log: bool = False) -> Any:
            x = self.convs(x)
            x = x.view(-1, self.conv_output_size)
            v = self.fc_z_v(F.relu(self.fc_h_v(x)))  # Value stream
            a = self.fc_z_a(F.relu(self.fc_h_a(x)))  # Advantage stream
            v, a = v.view(-1, 1, self.atoms), a.view(-1, self.action_space, self.atoms)
            q = v + a - a.mean(1, keepdim=True)  # Combine streams
            if log:  # Use log softmax for numerical stability
                q = F.log_softmax(q, dim=2)  # Log probabilities with action over second dimension
            else:
                q = F.softmax(q, dim=2)  # Probabilities with action over second dimension
            return q

        def reset_noise(self) -> None:
            for name, module in self.named_children():
                if "fc" in name:
                    module.reset_noise()

    return NoisyLinear, DQN


def make_model(torch_like: Any) -> Any:
    _, DQN = _classes(torch_like)
    return DQN(ARGS, ACTIONS, np.random.default_rng(0))


class ReplayMemory:
    """Proportional prioritised replay over n-step transitions (a flat array, not a sum tree)."""

    def __init__(self, torch: Any, args: Any, capacity: int, rng: np.random.Generator) -> None:
        self.torch = torch
        self.capacity = capacity
        self.discount = args.discount
        self.n = args.multi_step
        self.priority_weight = args.priority_weight
        self.priority_exponent = args.priority_exponent
        self.rng = rng
        self.n_step_scaling = torch.tensor([self.discount**i for i in range(self.n)])
        self.transitions: list[tuple] = []
        self.priorities = np.zeros(capacity)
        self.max_priority = 1.0

    def append(self, state: np.ndarray, action: int, reward: float, terminal: bool) -> None:
        self.transitions.append((state, action, reward, not terminal))
        self.priorities[len(self.transitions) - 1] = self.max_priority

    def _get_transition(self, idx: int) -> tuple:
        # (state, action, n rewards, next state, nonterminal) starting at idx
        s, a = self.transitions[idx][0], self.transitions[idx][1]
        rewards, nonterminal = [], 1.0
        for k in range(self.n):
            _, _, r, nt = self.transitions[idx + k]
            rewards.append(r if nonterminal else 0.0)
            nonterminal = nonterminal * float(nt)
        return s, a, rewards, self.transitions[idx + self.n][0], nonterminal

    def sample(self, batch_size: int) -> tuple:
        torch = self.torch
        valid = len(self.transitions) - self.n
        p = self.priorities[:valid] ** self.priority_exponent
        probs = p / p.sum()
        idxs = self.rng.choice(valid, batch_size, replace=False, p=probs)
        batch = [self._get_transition(i) for i in idxs]
        states = torch.tensor(np.stack([b[0] for b in batch]))
        actions = torch.tensor([b[1] for b in batch], dtype=torch.int64)
        reward = torch.tensor([b[2] for b in batch])
        R = torch.matmul(reward, self.n_step_scaling)
        next_states = torch.tensor(np.stack([b[3] for b in batch]))
        nonterminals = torch.tensor([[b[4]] for b in batch])
        capacity = self.capacity if len(self.transitions) >= self.capacity else valid
        weights = (
            capacity * probs[idxs]
        ) ** -self.priority_weight  # Compute importance-sampling weights w
        weights = torch.tensor(
            weights / weights.max()
        )  # Normalise by max importance-sampling weight
        return idxs, states, actions, R, next_states, nonterminals, weights

    def update_priorities(self, idxs: np.ndarray, priorities: np.ndarray) -> None:
        self.priorities[idxs] = priorities
        self.max_priority = max(self.max_priority, float(np.max(priorities)))


class Agent:
    def __init__(
        self, torch: Any, args: Any, action_space: int, online_net: Any, target_net: Any
    ) -> None:
        self.torch = torch
        self.action_space = action_space
        self.atoms = args.atoms
        self.Vmin = args.V_min
        self.Vmax = args.V_max
        self.support = torch.linspace(args.V_min, args.V_max, self.atoms)  # Support (range) of z
        self.delta_z = (args.V_max - args.V_min) / (self.atoms - 1)
        self.batch_size = args.batch_size
        self.n = args.multi_step
        self.discount = args.discount
        self.norm_clip = args.norm_clip

        self.online_net = online_net
        self.online_net.train()

        self.target_net = target_net
        self.update_target_net()
        self.target_net.train()
        for param in self.target_net.parameters():
            param.requires_grad = False

        self.optimiser = torch.optim.Adam(
            self.online_net.parameters(), lr=args.learning_rate, eps=args.adam_eps
        )

    # Resets noisy weights in all linear layers (of online net only)
    def reset_noise(self) -> None:
        self.online_net.reset_noise()

    # Acts based on single state (no batch)
    def act(self, state: Any) -> int:
        with self.torch.no_grad():
            return (self.online_net(state.unsqueeze(0)) * self.support).sum(2).argmax(1).item()

    def learn(self, mem: ReplayMemory) -> float:
        torch = self.torch
        # Sample transitions
        idxs, states, actions, returns, next_states, nonterminals, weights = mem.sample(
            self.batch_size
        )

        # Calculate current state probabilities (online network noise already sampled)
        log_ps = self.online_net(states, log=True)  # Log probabilities log p(s_t, ·; θonline)
        log_ps_a = log_ps[range(self.batch_size), actions]  # log p(s_t, a_t; θonline)

        with torch.no_grad():
            # Calculate nth next state probabilities
            pns = self.online_net(next_states)  # Probabilities p(s_t+n, ·; θonline)
            dns = (
                self.support.expand_as(pns) * pns
            )  # Distribution d_t+n = (z, p(s_t+n, ·; θonline))
            argmax_indices_ns = dns.sum(
                2
            ).argmax(
                1
            )  # Perform argmax action selection using online network: argmax_a[(z, p(s_t+n, a; θonline))]  # noqa: E501
            self.target_net.reset_noise()  # Sample new target net noise
            pns = self.target_net(next_states)  # Probabilities p(s_t+n, ·; θtarget)
            pns_a = pns[
                range(self.batch_size), argmax_indices_ns
            ]  # Double-Q probabilities p(s_t+n, argmax_a[(z, p(s_t+n, a; θonline))]; θtarget)  # noqa: E501

            # Compute Tz (Bellman operator T applied to z)
            Tz = returns.unsqueeze(1) + nonterminals * (
                self.discount**self.n
            ) * self.support.unsqueeze(0)  # Tz = R^n + (γ^n)z (accounting for terminal states)  # noqa: E501
            Tz = Tz.clamp(min=self.Vmin, max=self.Vmax)  # Clamp between supported values
            # Compute L2 projection of Tz onto fixed support z
            b = (Tz - self.Vmin) / self.delta_z  # b = (Tz - Vmin) / Δz
            l, u = b.floor().to(torch.int64), b.ceil().to(torch.int64)  # noqa: E741
            # Fix disappearing probability mass when l = b = u (b is int)
            l[(u > 0) * (l == u)] -= 1
            u[(l < (self.atoms - 1)) * (l == u)] += 1

            # Distribute probability of Tz
            m = states.new_zeros(self.batch_size, self.atoms)
            offset = (
                torch.linspace(0, ((self.batch_size - 1) * self.atoms), self.batch_size)
                .unsqueeze(1)
                .expand(self.batch_size, self.atoms)
                .to(actions)
            )
            m.view(-1).index_add_(
                0, (l + offset).view(-1), (pns_a * (u.float() - b)).view(-1)
            )  # m_l = m_l + p(s_t+n, a*)(u - b)  # noqa: E501
            m.view(-1).index_add_(
                0, (u + offset).view(-1), (pns_a * (b - l.float())).view(-1)
            )  # m_u = m_u + p(s_t+n, a*)(b - l)  # noqa: E501

        loss = -torch.sum(m * log_ps_a, 1)  # Cross-entropy loss (minimises DKL(m||p(s_t, a_t)))
        self.online_net.zero_grad()
        (weights * loss).mean().backward()  # Backpropagate importance-weighted minibatch loss
        torch.nn.utils.clip_grad_norm_(
            self.online_net.parameters(), self.norm_clip
        )  # Clip gradients by L2 norm
        self.optimiser.step()

        mem.update_priorities(
            idxs, loss.detach().cpu().numpy()
        )  # Update priorities of sampled transitions
        return m.sum().item()

    def update_target_net(self) -> None:
        self.target_net.load_state_dict(self.online_net.state_dict())

    def evaluate_q(self, state: Any) -> float:
        with self.torch.no_grad():
            return (self.online_net(state.unsqueeze(0)) * self.support).sum(2).max(1)[0].item()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    _, DQN = _classes(torch_like)
    noise_rng = np.random.default_rng(1)
    online_net = DQN(ARGS, ACTIONS, noise_rng)
    target_net = DQN(ARGS, ACTIONS, noise_rng)
    if init is not None:
        online_net.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    dqn = Agent(torch, ARGS, ACTIONS, online_net, target_net)
    rng = np.random.default_rng(2)
    mem = ReplayMemory(torch, ARGS, capacity=64, rng=rng)
    priority_weight_increase = (1 - ARGS.priority_weight) / 6
    values: list[float] = []

    # a chain: action 0 moves left, 2 right, 1 stays; reward 1 at the right end, which ends it
    position, state = 0, np.zeros(4)
    for T in range(1, 19):
        if T % 2 == 0:
            dqn.reset_noise()  # Draw a new set of noisy weights
        action = dqn.act(as_tensor(torch, state))
        values.append(float(action))
        forced = int(rng.integers(0, ACTIONS))  # exploration by the environment's own noise
        position = max(0, position + (forced - 1))
        reward = 1.0 if position >= 3 else -0.1
        terminal = position >= 3
        mem.append(state, action, reward, terminal)
        state = np.array([position / 3.0, math.sin(T), math.cos(T), float(terminal)])
        if terminal:
            position = 0
        if T >= 10:
            mem.priority_weight = min(mem.priority_weight + priority_weight_increase, 1)
            values.append(dqn.learn(mem))
            values.append(float(mem.priorities.sum()))  # the new priorities, |loss|
        if T % 6 == 0:
            dqn.update_target_net()

    dqn.online_net.eval()
    values.append(dqn.evaluate_q(as_tensor(torch, state)))
    values += [p.detach().sum().item() for p in dqn.online_net.parameters()]
    values.append(dqn.target_net.fc_z_a.weight_epsilon.sum().item())
    return values
