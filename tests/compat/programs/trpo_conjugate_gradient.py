"""ikostrikov/pytorch-trpo (``main.py``, ``trpo.py``, ``utils.py``, ``models.py``,
``running_state.py``), size-reduced: TRPO on a toy continuous-control task.

The idioms: ``torch.set_default_tensor_type('torch.DoubleTensor')``; ``Policy`` with
``self.action_mean.weight.data.mul_(0.1)`` / ``bias.data.mul_(0.0)``, ``self.action_log_std =
nn.Parameter(torch.zeros(1, num_outputs))`` and ``action_log_std.expand_as(action_mean)``;
``Value`` likewise; ``normal_log_density`` (``-(x - mean).pow(2) / (2 * var) - 0.5 *
math.log(2 * math.pi) - log_std``, ``.sum(1, keepdim=True)``); ``get_flat_params_from``
(``torch.cat([param.data.view(-1) ...])``), ``set_flat_params_to`` (``int(np.prod(list(
param.size())))``, ``param.data.copy_(flat_params[prev_ind:prev_ind + flat_size].view(
param.size()))``) and ``get_flat_grad_from``; ``conjugate_gradients`` (``x =
torch.zeros(b.size())``, ``torch.dot(r, r)``, in-place ``x += alpha * p``, ``r -= alpha *
_Avp``, ``if rdotr < residual_tol: break``); ``linesearch`` over ``.5**np.arange(
max_backtracks)`` with ``f(True).data`` and ``ratio.item() > accept_ratio``; ``trpo_step``
(``torch.autograd.grad(loss, model.parameters())``, the Fisher-vector product ``Fvp``: ``grads
= torch.autograd.grad(kl, model.parameters(), create_graph=True)``, ``flat_grad_kl =
torch.cat([grad.view(-1) for grad in grads])``, ``kl_v = (flat_grad_kl * Variable(v)).sum()``,
``torch.autograd.grad(kl_v, model.parameters())`` and ``grad.contiguous().view(-1)``, ``+ v *
damping``; ``shs = 0.5 * (stepdir * Fvp(stepdir)).sum(0, keepdim=True)``, ``lm =
torch.sqrt(shs / max_kl)``, ``fullstep = stepdir / lm[0]``); ``update_params`` (``torch.Tensor(
batch.reward)``, ``torch.Tensor(np.concatenate(batch.action, 0))``, uninitialised
``torch.Tensor(actions.size(0), 1)`` filled row by row in the reversed GAE loop with
``values.data[i]``, ``returns[i, 0]``; the value net fitted by ``scipy.optimize.fmin_l_bfgs_b``
through ``get_value_loss(flat_params)`` (``set_flat_params_to(value_net,
torch.Tensor(flat_params))``, ``param.grad.data.fill_(0)``, the L2 term ``param.pow(2).sum() *
l2_reg``, ``value_loss.data.double().numpy()``); ``advantages = (advantages - advantages.mean())
/ advantages.std()``, ``fixed_log_prob = ...data.clone()``, the surrogate ``-Variable(advantages)
* torch.exp(log_prob - Variable(fixed_log_prob))`` with the ``volatile`` branch under
``torch.no_grad()``, and ``get_kl`` with ``Variable(mean1.data)``); ``ZFilter``/``RunningStat``
state normalisation in NumPy; ``Memory`` of ``Transition`` namedtuples and
``Transition(*zip(*self.memory))``.

Changed: Gym's ``Reacher`` becomes a 2-d point-mass NumPy environment; 64 hidden units -> 8;
15,000 steps per batch -> 24; ``select_action``'s ``torch.normal(action_mean, action_std)``
draws its noise from NumPy (``action_mean + action_std * noise``) so that both frameworks take
the same actions; L-BFGS ``maxiter`` 25 -> 5.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from typing import Any

import numpy as np
import scipy.optimize

N_INPUTS, N_OUTPUTS, HIDDEN = 4, 2, 8
GAMMA, TAU, L2_REG, MAX_KL, DAMPING = 0.995, 0.97, 1e-3, 1e-2, 1e-1

Transition = namedtuple("Transition", ("state", "action", "mask", "next_state", "reward"))


class Memory:
    def __init__(self) -> None:
        self.memory: list[Transition] = []

    def push(self, *args: Any) -> None:
        """Saves a transition."""
        self.memory.append(Transition(*args))

    def sample(self) -> Transition:
        return Transition(*zip(*self.memory))

    def __len__(self) -> int:
        return len(self.memory)


class RunningStat:
    def __init__(self, shape: tuple[int, ...]) -> None:
        self._n = 0
        self._M = np.zeros(shape)
        self._S = np.zeros(shape)

    def push(self, x: np.ndarray) -> None:
        x = np.asarray(x)
        assert x.shape == self._M.shape
        self._n += 1
        if self._n == 1:
            self._M[...] = x
        else:
            oldM = self._M.copy()
            self._M[...] = oldM + (x - oldM) / self._n
            self._S[...] = self._S + (x - oldM) * (x - self._M)

    @property
    def mean(self) -> np.ndarray:
        return self._M

    @property
    def var(self) -> np.ndarray:
        return self._S / (self._n - 1) if self._n > 1 else np.square(self._M)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)


class ZFilter:
    """
    y = (x-mean)/std
    using running estimates of mean,std
    """

    def __init__(self, shape, demean=True, destd=True, clip=10.0):
        self.demean = demean
        self.destd = destd
        self.clip = clip
        self.rs = RunningStat(shape)

    def __call__(self, x, update=True):
        if update:
            self.rs.push(x)
        if self.demean:
            x = x - self.rs.mean
        if self.destd:
            x = x / (self.rs.std + 1e-8)
        if self.clip:
            x = np.clip(x, -self.clip, self.clip)
        return x


class PointMass:
    """A 2-d point pushed towards a goal (the Reacher stand-in)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def reset(self) -> np.ndarray:
        self.pos = self.rng.uniform(-1, 1, 2)
        self.goal = self.rng.uniform(-1, 1, 2)
        self.t = 0
        return np.concatenate([self.pos, self.goal - self.pos])

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, dict]:
        self.pos = self.pos + 0.1 * np.clip(action, -1, 1)
        self.t += 1
        reward = -float(np.linalg.norm(self.goal - self.pos)) - 0.01 * float(np.sum(action**2))
        done = self.t >= 6
        return np.concatenate([self.pos, self.goal - self.pos]), reward, done, {}


def _models(torch_like: Any) -> tuple[Any, Any]:
    torch, nn = torch_like, torch_like.nn

    class Policy(nn.Module):
        def __init__(self, num_inputs, num_outputs):
            super(Policy, self).__init__()  # noqa: UP008 (as in the repo)
            self.affine1 = nn.Linear(num_inputs, HIDDEN)
            self.affine2 = nn.Linear(HIDDEN, HIDDEN)

            self.action_mean = nn.Linear(HIDDEN, num_outputs)
            self.action_mean.weight.data.mul_(0.1)
            self.action_mean.bias.data.mul_(0.0)

            self.action_log_std = nn.Parameter(torch.zeros(1, num_outputs))

            self.saved_actions = []
            self.rewards = []
            self.final_value = 0

        def forward(self, x):
            x = torch.tanh(self.affine1(x))
            x = torch.tanh(self.affine2(x))

            action_mean = self.action_mean(x)
            action_log_std = self.action_log_std.expand_as(action_mean)
            action_std = torch.exp(action_log_std)

            return action_mean, action_log_std, action_std

    class Value(nn.Module):
        def __init__(self, num_inputs):
            super(Value, self).__init__()  # noqa: UP008 (as in the repo)
            self.affine1 = nn.Linear(num_inputs, HIDDEN)
            self.affine2 = nn.Linear(HIDDEN, HIDDEN)
            self.value_head = nn.Linear(HIDDEN, 1)
            self.value_head.weight.data.mul_(0.1)
            self.value_head.bias.data.mul_(0.0)

        def forward(self, x):
            x = torch.tanh(self.affine1(x))
            x = torch.tanh(self.affine2(x))

            state_values = self.value_head(x)
            return state_values

    return Policy, Value


def init_state(tmp_path: Any) -> dict[str, dict[str, np.ndarray]]:
    import torch

    from ._common import state_to_numpy

    Policy, Value = _models(torch)
    torch.manual_seed(1)
    with torch.no_grad():
        policy, value = Policy(N_INPUTS, N_OUTPUTS).double(), Value(N_INPUTS).double()
    return {"policy": state_to_numpy(policy), "value": state_to_numpy(value)}


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    Variable = torch_like.autograd.Variable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # set_default_tensor_type is deprecated
        torch.set_default_tensor_type("torch.DoubleTensor")
    Policy, Value = _models(torch_like)
    values: list[float] = []
    printed: list[float] = []

    # utils.py
    def normal_entropy(std):
        var = std.pow(2)
        entropy = 0.5 + 0.5 * torch.log(2 * var * math.pi)
        return entropy.sum(1, keepdim=True)

    def normal_log_density(x, mean, log_std, std):
        var = std.pow(2)
        log_density = -(x - mean).pow(2) / (2 * var) - 0.5 * math.log(2 * math.pi) - log_std
        return log_density.sum(1, keepdim=True)

    def get_flat_params_from(model):
        params = []
        for param in model.parameters():
            params.append(param.data.view(-1))

        flat_params = torch.cat(params)
        return flat_params

    def set_flat_params_to(model, flat_params):
        prev_ind = 0
        for param in model.parameters():
            flat_size = int(np.prod(list(param.size())))
            param.data.copy_(flat_params[prev_ind : prev_ind + flat_size].view(param.size()))
            prev_ind += flat_size

    def get_flat_grad_from(net, grad_grad=False):
        grads = []
        for param in net.parameters():
            if grad_grad:
                grads.append(param.grad.grad.view(-1))
            else:
                grads.append(param.grad.view(-1))

        flat_grad = torch.cat(grads)
        return flat_grad

    # trpo.py
    def conjugate_gradients(Avp, b, nsteps, residual_tol=1e-10):
        x = torch.zeros(b.size())
        r = b.clone()
        p = b.clone()
        rdotr = torch.dot(r, r)
        for i in range(nsteps):  # noqa: B007 (as in the repo)
            _Avp = Avp(p)
            alpha = rdotr / torch.dot(p, _Avp)
            x += alpha * p
            r -= alpha * _Avp
            new_rdotr = torch.dot(r, r)
            betta = new_rdotr / rdotr
            p = r + betta * p
            rdotr = new_rdotr
            if rdotr < residual_tol:
                break
        return x

    def linesearch(model, f, x, fullstep, expected_improve_rate, max_backtracks=10,
                   accept_ratio=0.1):  # fmt: skip
        fval = f(True).data
        printed.append(fval.item())  # print("fval before", fval.item())
        for _n_backtracks, stepfrac in enumerate(0.5 ** np.arange(max_backtracks)):
            xnew = x + stepfrac * fullstep
            set_flat_params_to(model, xnew)
            newfval = f(True).data
            actual_improve = fval - newfval
            expected_improve = expected_improve_rate * stepfrac
            ratio = actual_improve / expected_improve
            printed.extend([actual_improve.item(), expected_improve.item(), ratio.item()])

            if ratio.item() > accept_ratio and actual_improve.item() > 0:
                printed.append(newfval.item())  # print("fval after", newfval.item())
                return True, xnew
        return False, x

    def trpo_step(model, get_loss, get_kl, max_kl, damping):
        loss = get_loss()
        grads = torch.autograd.grad(loss, model.parameters())
        loss_grad = torch.cat([grad.view(-1) for grad in grads]).data

        def Fvp(v):
            kl = get_kl()
            kl = kl.mean()

            grads = torch.autograd.grad(kl, model.parameters(), create_graph=True)
            flat_grad_kl = torch.cat([grad.view(-1) for grad in grads])

            kl_v = (flat_grad_kl * Variable(v)).sum()
            grads = torch.autograd.grad(kl_v, model.parameters())
            flat_grad_grad_kl = torch.cat([grad.contiguous().view(-1) for grad in grads]).data

            return flat_grad_grad_kl + v * damping

        stepdir = conjugate_gradients(Fvp, -loss_grad, 10)

        shs = 0.5 * (stepdir * Fvp(stepdir)).sum(0, keepdim=True)

        lm = torch.sqrt(shs / max_kl)
        fullstep = stepdir / lm[0]

        neggdotstepdir = (-loss_grad * stepdir).sum(0, keepdim=True)
        printed.extend([lm[0].item(), loss_grad.norm().item()])

        prev_params = get_flat_params_from(model)
        success, new_params = linesearch(
            model, get_loss, prev_params, fullstep, neggdotstepdir / lm[0]
        )
        set_flat_params_to(model, new_params)

        return loss

    policy_net = Policy(N_INPUTS, N_OUTPUTS)
    value_net = Value(N_INPUTS)
    policy_net.load_state_dict({k: torch.tensor(v) for k, v in init["policy"].items()})
    value_net.load_state_dict({k: torch.tensor(v) for k, v in init["value"].items()})

    rng = np.random.default_rng(5)
    env = PointMass(np.random.default_rng(6))
    running_state = ZFilter((N_INPUTS,), clip=5)

    def select_action(state):
        state = torch.from_numpy(state).unsqueeze(0)
        action_mean, _, action_std = policy_net(Variable(state))
        action = action_mean + action_std * torch.from_numpy(rng.standard_normal((1, N_OUTPUTS)))
        return action

    def update_params(batch):
        rewards = torch.Tensor(batch.reward)
        masks = torch.Tensor(batch.mask)
        actions = torch.Tensor(np.concatenate(batch.action, 0))
        states = torch.Tensor(np.array(batch.state))
        values = value_net(Variable(states))

        returns = torch.Tensor(actions.size(0), 1)
        deltas = torch.Tensor(actions.size(0), 1)
        advantages = torch.Tensor(actions.size(0), 1)

        prev_return = 0
        prev_value = 0
        prev_advantage = 0
        for i in reversed(range(rewards.size(0))):
            returns[i] = rewards[i] + GAMMA * prev_return * masks[i]
            deltas[i] = rewards[i] + GAMMA * prev_value * masks[i] - values.data[i]
            advantages[i] = deltas[i] + GAMMA * TAU * prev_advantage * masks[i]

            prev_return = returns[i, 0]
            prev_value = values.data[i, 0]
            prev_advantage = advantages[i, 0]

        targets = Variable(returns)

        # Original code uses the same LBFGS to optimize the value loss
        def get_value_loss(flat_params):
            set_flat_params_to(value_net, torch.Tensor(flat_params))
            for param in value_net.parameters():
                if param.grad is not None:
                    param.grad.data.fill_(0)

            values_ = value_net(Variable(states))

            value_loss = (values_ - targets).pow(2).mean()

            # weight decay
            for param in value_net.parameters():
                value_loss += param.pow(2).sum() * L2_REG
            value_loss.backward()
            return (
                value_loss.data.double().numpy(),
                get_flat_grad_from(value_net).data.double().numpy(),
            )

        flat_params, _, opt_info = scipy.optimize.fmin_l_bfgs_b(
            get_value_loss, get_flat_params_from(value_net).double().numpy(), maxiter=5
        )
        set_flat_params_to(value_net, torch.Tensor(flat_params))
        printed.append(float(get_value_loss(flat_params)[0]))

        advantages = (advantages - advantages.mean()) / advantages.std()

        action_means, action_log_stds, action_stds = policy_net(Variable(states))
        fixed_log_prob = normal_log_density(
            Variable(actions), action_means, action_log_stds, action_stds
        ).data.clone()

        def get_loss(volatile=False):
            if volatile:
                with torch.no_grad():
                    action_means, action_log_stds, action_stds = policy_net(Variable(states))
            else:
                action_means, action_log_stds, action_stds = policy_net(Variable(states))

            log_prob = normal_log_density(
                Variable(actions), action_means, action_log_stds, action_stds
            )
            action_loss = -Variable(advantages) * torch.exp(log_prob - Variable(fixed_log_prob))
            return action_loss.mean()

        def get_kl():
            mean1, log_std1, std1 = policy_net(Variable(states))

            mean0 = Variable(mean1.data)
            log_std0 = Variable(log_std1.data)
            std0 = Variable(std1.data)
            kl = (
                log_std1
                - log_std0
                + (std0.pow(2) + (mean0 - mean1).pow(2)) / (2.0 * std1.pow(2))
                - 0.5
            )
            return kl.sum(1, keepdim=True)

        trpo_step(policy_net, get_loss, get_kl, MAX_KL, DAMPING)
        printed.append(normal_entropy(action_stds).mean().item())

    for _i_episode in range(3):
        memory = Memory()
        num_steps = 0
        reward_batch = 0
        num_episodes = 0
        while num_steps < 24:
            state = env.reset()
            state = running_state(state)
            reward_sum = 0
            for t in range(10000):  # Don't infinite loop while learning  # noqa: B007
                action = select_action(state)
                action = action.data[0].numpy()
                next_state, reward, done, _ = env.step(action)
                reward_sum += reward
                next_state = running_state(next_state)
                mask = 1
                if done:
                    mask = 0
                memory.push(state, np.array([action]), mask, next_state, reward)
                if done:
                    break
                state = next_state
            num_steps += t - 1
            num_episodes += 1
            reward_batch += reward_sum
        reward_batch /= num_episodes
        batch = memory.sample()
        update_params(batch)
        values.append(reward_batch)
    values.extend(printed)
    values.extend(get_flat_params_from(policy_net).tolist()[-4:])
    return values
