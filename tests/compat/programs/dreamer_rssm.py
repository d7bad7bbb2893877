"""The recurrent state-space model of PlaNet / Dreamer, as Kaixhin/PlaNet (``models.py``,
``main.py``) and yusukeurakami/dreamer-pytorch (``models.py``, ``agent.py``, ``utils.py``)
write it, size-reduced.

The idioms: ``TransitionModel`` (``nn.GRUCell(belief_size, belief_size)`` for the
deterministic belief; lists ``[torch.empty(0)] * T`` filled step by step; ``_state *
nonterminals[t]``; ``hidden = self.act_fn(self.fc_embed_state_action(torch.cat([_state,
actions[t]], dim=1)))`` with ``self.act_fn = getattr(F, activation_function)``; prior and
posterior heads ``torch.chunk(self.fc_state_prior(hidden), 2, dim=1)`` with ``F.softplus(
_std_dev) + self.min_std_dev``, states ``mean + std * noise``; ``torch.stack(beliefs[1:],
dim=0)``); ``bottle(f, x_tuple)`` (``x[0].view(x[1][0] * x[1][1], *x[1][2:])`` and back); the
losses of ``main.py`` (``F.mse_loss(..., reduction='none').sum(dim=2).mean(dim=(0, 1))``, ``div
= kl_divergence(Normal(posterior_means, posterior_std_devs), Normal(prior_means,
prior_std_devs)).sum(dim=2)``, ``kl_loss = torch.max(div, free_nats).mean(dim=(0, 1))`` with
``free_nats = torch.full((1,), args.free_nats)``) and of dreamer-pytorch (``Independent(Normal(
pred, 1), 1).log_prob(obs)`` for reconstruction, ``kl_divergence`` of ``Independent`` states,
``torch.max(div, div.new_full(div.size(), free_nats))``); ``Adam(..., lr=..., eps=1e-4)`` and
``nn.utils.clip_grad_norm_(param_list, grad_clip_norm, norm_type=2)``; Dreamer's
``imagine_ahead`` (``flatten = lambda x: x.view([-1] + list(x.size()[2:]))``, the policy fed
``beliefs[t].detach()``, a ``torch.stack`` over the horizon), ``lambda_return``
(``torch.cat([value_pred[1:], bootstrap[None]], 0)``, a reversed loop, ``torch.flip(
torch.stack(outputs), [0])``), ``FreezeParameters`` (``requires_grad`` switched off and
restored around the actor's imagination), the value loss ``-Normal(value_pred, 1).log_prob(
returns.detach())``; and ``Normal(mean, std).rsample()``'s reparameterised gradient.

Changed: ``torch.randn_like`` in the state samples and the policy is NumPy noise handed in (the
generators differ); a symbolic environment (vectors, no convolutions); beliefs of 8, states of
4; three training steps on random sequences; ``jit.ScriptModule`` is ``nn.Module``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

BELIEF, STATE, ACTION, HIDDEN, EMBED, OBS = 8, 4, 2, 8, 6, 5
T, B, HORIZON, STEPS, FREE_NATS = 4, 3, 3, 3, 0.5


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class TransitionModel(nn.Module):
        def __init__(self, activation_function: str = "relu", min_std_dev: float = 0.1):
            super().__init__()
            self.act_fn = getattr(F, activation_function)
            self.min_std_dev = min_std_dev
            self.fc_embed_state_action = nn.Linear(STATE + ACTION, BELIEF)
            self.rnn = nn.GRUCell(BELIEF, BELIEF)
            self.fc_embed_belief_prior = nn.Linear(BELIEF, HIDDEN)
            self.fc_state_prior = nn.Linear(HIDDEN, 2 * STATE)
            self.fc_embed_belief_posterior = nn.Linear(BELIEF + EMBED, HIDDEN)
            self.fc_state_posterior = nn.Linear(HIDDEN, 2 * STATE)

        def forward(self, prev_state, actions, prev_belief, noise, observations=None,
                    nonterminals=None):  # fmt: skip
            T = actions.size(0) + 1
            beliefs, prior_states, prior_means, prior_std_devs = [[torch.empty(0)] * T] * 4
            beliefs, prior_states = list(beliefs), list(prior_states)
            prior_means, prior_std_devs = list(prior_means), list(prior_std_devs)
            posterior_states = [torch.empty(0)] * T
            posterior_means = [torch.empty(0)] * T
            posterior_std_devs = [torch.empty(0)] * T
            beliefs[0], prior_states[0], posterior_states[0] = prev_belief, prev_state, prev_state
            for t in range(T - 1):
                _state = prior_states[t] if observations is None else posterior_states[t]
                _state = _state if nonterminals is None else _state * nonterminals[t]
                hidden = self.act_fn(
                    self.fc_embed_state_action(torch.cat([_state, actions[t]], dim=1))
                )
                beliefs[t + 1] = self.rnn(hidden, beliefs[t])
                hidden = self.act_fn(self.fc_embed_belief_prior(beliefs[t + 1]))
                prior_means[t + 1], _prior_std_dev = torch.chunk(
                    self.fc_state_prior(hidden), 2, dim=1
                )
                prior_std_devs[t + 1] = F.softplus(_prior_std_dev) + self.min_std_dev
                prior_states[t + 1] = prior_means[t + 1] + prior_std_devs[t + 1] * noise[t, 0]
                if observations is not None:
                    t_ = t - 1
                    hidden = self.act_fn(
                        self.fc_embed_belief_posterior(
                            torch.cat([beliefs[t + 1], observations[t_ + 1]], dim=1)
                        )
                    )
                    posterior_means[t + 1], _posterior_std_dev = torch.chunk(
                        self.fc_state_posterior(hidden), 2, dim=1
                    )
                    posterior_std_devs[t + 1] = F.softplus(_posterior_std_dev) + self.min_std_dev
                    posterior_states[t + 1] = (
                        posterior_means[t + 1] + posterior_std_devs[t + 1] * noise[t, 1]
                    )
            hidden = [
                torch.stack(beliefs[1:], dim=0),
                torch.stack(prior_states[1:], dim=0),
                torch.stack(prior_means[1:], dim=0),
                torch.stack(prior_std_devs[1:], dim=0),
            ]
            if observations is not None:
                hidden += [
                    torch.stack(posterior_states[1:], dim=0),
                    torch.stack(posterior_means[1:], dim=0),
                    torch.stack(posterior_std_devs[1:], dim=0),
                ]
            return hidden

    class SymbolicObservationModel(nn.Module):
        def __init__(self, activation_function: str = "relu") -> None:
            super().__init__()
            self.act_fn = getattr(F, activation_function)
            self.fc1 = nn.Linear(BELIEF + STATE, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, OBS)

        def forward(self, belief: Any, state: Any) -> Any:
            hidden = self.act_fn(self.fc1(torch.cat([belief, state], dim=1)))
            return self.fc2(hidden)

    class RewardModel(nn.Module):
        def __init__(self, activation_function: str = "relu") -> None:
            super().__init__()
            self.act_fn = getattr(F, activation_function)
            self.fc1 = nn.Linear(BELIEF + STATE, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, 1)

        def forward(self, belief: Any, state: Any) -> Any:
            x = torch.cat([belief, state], dim=1)
            hidden = self.act_fn(self.fc1(x))
            return self.fc2(hidden).squeeze(dim=1)

    class SymbolicEncoder(nn.Module):
        def __init__(self, activation_function: str = "relu") -> None:
            super().__init__()
            self.act_fn = getattr(F, activation_function)
            self.fc1 = nn.Linear(OBS, EMBED)
            self.fc2 = nn.Linear(EMBED, EMBED)

        def forward(self, observation: Any) -> Any:
            return self.fc2(self.act_fn(self.fc1(observation)))

    class ActorModel(nn.Module):
        def __init__(self, min_std: float = 1e-4, init_std: float = 5.0) -> None:
            super().__init__()
            self.fc1 = nn.Linear(BELIEF + STATE, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, 2 * ACTION)
            self._min_std = min_std
            self._init_std = init_std

        def forward(self, belief: Any, state: Any) -> tuple:
            raw_init_std = torch.log(torch.exp(torch.tensor(self._init_std)) - 1)
            hidden = F.elu(self.fc1(torch.cat([belief, state], dim=-1)))
            action_mean, action_std_dev = torch.chunk(self.fc2(hidden), 2, dim=1)
            action_mean = 5 * torch.tanh(action_mean / 5)
            action_std = F.softplus(action_std_dev + raw_init_std) + self._min_std
            return action_mean, action_std

        def get_action(self, belief: Any, state: Any, noise: Any) -> Any:
            action_mean, action_std = self.forward(belief, state)
            return torch.tanh(action_mean + action_std * noise)

    class ValueModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(BELIEF + STATE, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, 1)

        def forward(self, belief: Any, state: Any) -> Any:
            x = torch.cat([belief, state], dim=1)
            return self.fc2(F.elu(self.fc1(x))).squeeze(dim=1)

    return nn.ModuleDict(
        {
            "transition_model": TransitionModel(),
            "observation_model": SymbolicObservationModel(),
            "reward_model": RewardModel(),
            "encoder": SymbolicEncoder(),
            "actor_model": ActorModel(),
            "value_model": ValueModel(),
        }
    )


def bottle(f: Any, x_tuple: tuple) -> Any:
    """Wraps the input tuple for a function to process a time x batch x features sequence"""
    x_sizes = tuple(map(lambda x: x.size(), x_tuple))
    y = f(*map(lambda x: x[0].view(x[1][0] * x[1][1], *x[1][2:]), zip(x_tuple, x_sizes)))
    y_size = y.size()
    output = y.view(x_sizes[0][0], x_sizes[0][1], *y_size[1:])
    return output


def get_parameters(modules: list) -> list:
    model_parameters = []
    for module in modules:
        model_parameters += list(module.parameters())
    return model_parameters


class FreezeParameters:
    def __init__(self, modules: list) -> None:
        self.modules = modules
        self.param_states = [p.requires_grad for p in get_parameters(self.modules)]

    def __enter__(self) -> None:
        for param in get_parameters(self.modules):
            param.requires_grad = False

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        for i, param in enumerate(get_parameters(self.modules)):
            param.requires_grad = self.param_states[i]


def imagine_ahead(torch_like, prev_state, prev_belief, policy, transition_model, noise):
    torch = torch_like
    flatten = lambda x: x.view([-1] + list(x.size()[2:]))  # noqa: E731
    prev_belief = flatten(prev_belief)
    prev_state = flatten(prev_state)
    T = HORIZON + 1
    beliefs, prior_states = [torch.empty(0)] * T, [torch.empty(0)] * T
    beliefs[0], prior_states[0] = prev_belief, prev_state
    tm = transition_model
    for t in range(T - 1):
        _state = prior_states[t]
        actions = policy.get_action(beliefs[t].detach(), _state.detach(), noise[t, 0, :, :ACTION])
        hidden = tm.act_fn(tm.fc_embed_state_action(torch.cat([_state, actions], dim=1)))
        beliefs[t + 1] = tm.rnn(hidden, beliefs[t])
        hidden = tm.act_fn(tm.fc_embed_belief_prior(beliefs[t + 1]))
        prior_mean, _prior_std_dev = torch.chunk(tm.fc_state_prior(hidden), 2, dim=1)
        prior_std = torch.nn.functional.softplus(_prior_std_dev) + tm.min_std_dev
        prior_states[t + 1] = prior_mean + prior_std * noise[t, 1, :, :STATE]
    imagined_traj = [torch.stack(beliefs[1:], dim=0), torch.stack(prior_states[1:], dim=0)]
    return imagined_traj


def lambda_return(torch_like, imged_reward, value_pred, bootstrap, discount=0.99, lambda_=0.95):
    torch = torch_like
    next_values = torch.cat([value_pred[1:], bootstrap[None]], 0)
    target = imged_reward + discount * next_values * (1 - lambda_)
    timesteps = list(range(imged_reward.shape[0] - 1, -1, -1))
    outputs = []
    accumulated_reward = bootstrap
    for t in timesteps:
        inp = target[t]
        discount_factor = discount
        accumulated_reward = inp + discount_factor * lambda_ * accumulated_reward
        outputs.append(accumulated_reward)
    returns = torch.flip(torch.stack(outputs), [0])
    return returns


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    Normal = torch.distributions.Normal
    Independent = torch.distributions.Independent
    kl_divergence = torch.distributions.kl_divergence
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    transition_model = models["transition_model"]
    observation_model, reward_model = models["observation_model"], models["reward_model"]
    encoder, actor_model, value_model = (
        models["encoder"],
        models["actor_model"],
        models["value_model"],
    )
    rng = np.random.default_rng(8)
    wm_modules = [transition_model, observation_model, reward_model, encoder]
    param_list = get_parameters(wm_modules)
    model_optimizer = torch.optim.Adam(param_list, lr=1e-3, eps=1e-4)
    actor_optimizer = torch.optim.Adam(actor_model.parameters(), lr=8e-4, eps=1e-4)
    value_optimizer = torch.optim.Adam(value_model.parameters(), lr=8e-4, eps=1e-4)
    free_nats = torch.full((1,), FREE_NATS)
    values: list[float] = []
    for _step in range(STEPS):
        observations = as_tensor(torch_like, rng.standard_normal((T, B, OBS)))
        actions = as_tensor(torch_like, rng.uniform(-1, 1, (T - 1, B, ACTION)))
        rewards = as_tensor(torch_like, rng.standard_normal((T - 1, B)))
        nonterminals = as_tensor(torch_like, (rng.uniform(size=(T - 1, B, 1)) > 0.1) * 1.0)
        noise = as_tensor(torch_like, rng.standard_normal((T - 1, 2, B, STATE)))
        init_belief, init_state = torch.zeros(B, BELIEF), torch.zeros(B, STATE)
        (beliefs, prior_states, prior_means, prior_std_devs, posterior_states, posterior_means,
         posterior_std_devs) = transition_model(
            init_state, actions, init_belief, noise, bottle(encoder, (observations[1:],)),
            nonterminals,
        )  # fmt: skip
        observation_loss = (
            F.mse_loss(
                bottle(observation_model, (beliefs, posterior_states)),
                observations[1:],
                reduction="none",
            )
            .sum(dim=2)
            .mean(dim=(0, 1))
        )
        reward_loss = F.mse_loss(
            bottle(reward_model, (beliefs, posterior_states)), rewards, reduction="none"
        ).mean(dim=(0, 1))
        div = kl_divergence(
            Normal(posterior_means, posterior_std_devs), Normal(prior_means, prior_std_devs)
        ).sum(dim=2)
        kl_loss = torch.max(div, free_nats).mean(dim=(0, 1))
        # dreamer-pytorch's spellings of the same terms
        pred = bottle(observation_model, (beliefs, posterior_states))
        image_loss = -Independent(Normal(pred, 1), 1).log_prob(observations[1:]).mean()
        post_dist = Independent(Normal(posterior_means, posterior_std_devs), 1)
        prior_dist = Independent(Normal(prior_means, prior_std_devs), 1)
        div2 = kl_divergence(post_dist, prior_dist)
        kl_max = torch.max(div2, div2.new_full(div2.size(), FREE_NATS)).mean()
        kl_clamp = torch.clamp(div2, min=FREE_NATS).mean()
        kl_maximum = torch.maximum(div2, torch.full_like(div2, FREE_NATS)).mean()
        model_loss = observation_loss + reward_loss + kl_loss
        model_optimizer.zero_grad()
        model_loss.backward()
        total_norm = torch.nn.utils.clip_grad_norm_(param_list, 1.0, norm_type=2)
        model_optimizer.step()
        values += [observation_loss.item(), reward_loss.item(), kl_loss.item()]
        values += [image_loss.item(), kl_max.item(), kl_clamp.item(), kl_maximum.item()]
        values += [total_norm.item(), float((div < FREE_NATS).sum().item())]

        # Dreamer: the actor through imagined trajectories, the world model frozen
        with FreezeParameters(wm_modules):
            img_noise = as_tensor(torch_like, rng.standard_normal((HORIZON, 2, (T - 1) * B, STATE)))
            imagination_traj = imagine_ahead(
                torch_like, posterior_states.detach(), beliefs.detach(), actor_model,
                transition_model, img_noise,
            )  # fmt: skip
        imged_beliefs, imged_prior_states = imagination_traj
        with FreezeParameters(wm_modules + [value_model]):
            imged_reward = bottle(reward_model, (imged_beliefs, imged_prior_states))
            value_pred = bottle(value_model, (imged_beliefs, imged_prior_states))
        returns = lambda_return(torch_like, imged_reward, value_pred, bootstrap=value_pred[-1])
        actor_loss = -torch.mean(returns)
        actor_optimizer.zero_grad()
        actor_loss.backward()
        torch.nn.utils.clip_grad_norm_(actor_model.parameters(), 100.0, norm_type=2)
        actor_optimizer.step()
        values += [actor_loss.item(), float(param_list[0].requires_grad)]
        values += [float(transition_model.rnn.weight_ih.grad is None)]

        with torch.no_grad():
            value_beliefs = imged_beliefs.detach()
            value_prior_states = imged_prior_states.detach()
            target_return = returns.detach()
        value_dist = Normal(bottle(value_model, (value_beliefs, value_prior_states)), 1)
        value_loss = -value_dist.log_prob(target_return).mean(dim=(0, 1))
        value_optimizer.zero_grad()
        value_loss.backward()
        value_optimizer.step()
        values += [value_loss.item(), returns[0].sum().item(), returns[-1].sum().item()]

    # rsample's reparameterised gradient: d/dmean = 1, d/dstd = (sample - mean) / std
    mean = torch.zeros(3, requires_grad=True)
    raw_std = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)
    std = F.softplus(raw_std) + 0.1
    dist = Normal(mean, std)
    sample = dist.rsample()
    sample.sum().backward()
    eps = ((sample - mean) / std).detach()
    want_raw = eps * torch.sigmoid(raw_std.detach())
    values += mean.grad.tolist() + [float(torch.allclose(raw_std.grad, want_raw))]
    values += [float(sample.requires_grad), float(dist.sample().requires_grad)]
    values += list(Independent(Normal(torch.zeros(2, 3), 1), 1).batch_shape)
    return values
