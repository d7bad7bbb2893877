"""MuZero's training unroll as werner-duvaud/muzero-general writes it (``models.py``:
``MuZeroFullyConnectedNetwork``, ``support_to_scalar``, ``scalar_to_support``; ``trainer.py``:
``update_weights``, ``loss_function``) with the paper pseudocode's ``scale_gradient``,
size-reduced.

The idioms: the three networks (``representation``, ``dynamics`` with ``action_one_hot =
torch.zeros((action.shape[0], self.action_space_size)).float()`` and ``scatter_(1,
action.long(), 1.0)``, ``prediction``); the min-max normalised hidden state
(``encoded_state.min(1, keepdim=True)[0]``, ``scale_encoded_state[scale_encoded_state < 1e-5]
+= 1e-5``); ``initial_inference``'s reward logits ``torch.log(torch.zeros(1,
full_support_size).scatter(1, torch.tensor([[full_support_size // 2]]).long(), 1.0).repeat(
len(observation), 1))`` (``-inf`` everywhere but the zero atom); ``scalar_to_support``
(``h(x) = sign(x)(sqrt(|x| + 1) - 1) + 0.001 x``, ``torch.clamp``, ``x.floor()``, the two-hot
``logits.scatter_(2, (floor + support_size).long().unsqueeze(-1), (1 - prob).unsqueeze(-1))``,
``prob.masked_fill_(2 * support_size < indexes, 0.0)``); ``support_to_scalar`` (``torch.tensor(
[x for x in range(-support_size, support_size + 1)]).expand(probabilities.shape).float()``,
the closed-form inverse of ``h``); the K-step unroll with ``hidden_state.register_hook(lambda
grad: grad * 0.5)`` on each new state and the pseudocode's ``tensor * scale + tensor.detach()
* (1 - scale)`` at the start of the dynamics (``torch.autograd.grad`` of both);
``loss_function``'s ``(-target * torch.nn.LogSoftmax(dim=1)(logits)).sum(1)``; the per-step
loss hooks ``register_hook(lambda grad: grad / gradient_scale_batch[:, i])`` (their
late-bound ``i`` included); the PER ``loss *= weight_batch``, ``priorities[:, 0] =
numpy.abs(pred_value_scalar - target_value_scalar[:, 0]) ** PER_alpha``, and
``Adam(weight_decay=1e-4)``.

Changed: the replay buffer -> a NumPy batch of 4 games, observations of 6 numbers, 3 actions,
support size 5, encoding size 4, 3 unroll steps; one training step (and the second forward
with the pseudocode's gradient scaling).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

OBS, ACTIONS, SUPPORT, ENCODING, UNROLL, BATCH = 6, 3, 5, 4, 3, 4
FULL_SUPPORT = 2 * SUPPORT + 1


def _functions(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like

    def support_to_scalar(logits: Any, support_size: int) -> Any:
        probabilities = torch.softmax(logits, dim=1)
        support = (
            torch.tensor([x for x in range(-support_size, support_size + 1)])
            .expand(probabilities.shape)
            .float()
            .to(device=probabilities.device)
        )
        x = torch.sum(support * probabilities, dim=1, keepdim=True)
        x = torch.sign(x) * (
            ((torch.sqrt(1 + 4 * 0.001 * (torch.abs(x) + 1 + 0.001)) - 1) / (2 * 0.001)) ** 2 - 1
        )
        return x

    def scalar_to_support(x: Any, support_size: int) -> Any:
        x = torch.sign(x) * (torch.sqrt(torch.abs(x) + 1) - 1) + 0.001 * x
        x = torch.clamp(x, -support_size, support_size)
        floor = x.floor()
        prob = x - floor
        logits = torch.zeros(x.shape[0], x.shape[1], 2 * support_size + 1).to(x.device)
        logits.scatter_(2, (floor + support_size).long().unsqueeze(-1), (1 - prob).unsqueeze(-1))
        indexes = floor + support_size + 1
        prob = prob.masked_fill_(2 * support_size < indexes, 0.0)
        indexes = indexes.masked_fill_(2 * support_size < indexes, 0.0)
        logits.scatter_(2, indexes.long().unsqueeze(-1), prob.unsqueeze(-1))
        return logits

    return support_to_scalar, scalar_to_support


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def mlp(input_size: int, layer_sizes: list[int], output_size: int) -> Any:
        sizes = [input_size] + layer_sizes + [output_size]
        layers: list[Any] = []
        for i in range(len(sizes) - 1):
            act = nn.ELU if i < len(sizes) - 2 else nn.Identity
            layers += [nn.Linear(sizes[i], sizes[i + 1]), act()]
        return nn.Sequential(*layers)

    class MuZeroFullyConnectedNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.action_space_size = ACTIONS
            self.full_support_size = FULL_SUPPORT
            self.representation_network = mlp(OBS, [8], ENCODING)
            self.dynamics_encoded_state_network = mlp(ENCODING + ACTIONS, [8], ENCODING)
            self.dynamics_reward_network = mlp(ENCODING, [8], FULL_SUPPORT)
            self.prediction_policy_network = mlp(ENCODING, [8], ACTIONS)
            self.prediction_value_network = mlp(ENCODING, [8], FULL_SUPPORT)

        def prediction(self, encoded_state: Any) -> tuple[Any, Any]:
            policy_logits = self.prediction_policy_network(encoded_state)
            value = self.prediction_value_network(encoded_state)
            return policy_logits, value

        @staticmethod
        def _normalize(encoded_state: Any) -> Any:
            min_encoded_state = encoded_state.min(1, keepdim=True)[0]
            max_encoded_state = encoded_state.max(1, keepdim=True)[0]
            scale_encoded_state = max_encoded_state - min_encoded_state
            scale_encoded_state[scale_encoded_state < 1e-5] += 1e-5
            return (encoded_state - min_encoded_state) / scale_encoded_state

        def representation(self, observation: Any) -> Any:
            encoded_state = self.representation_network(observation.view(observation.shape[0], -1))
            return self._normalize(encoded_state)

        def dynamics(self, encoded_state: Any, action: Any) -> tuple[Any, Any]:
            action_one_hot = torch.zeros((action.shape[0], self.action_space_size)).float()
            action_one_hot.scatter_(1, action.long(), 1.0)
            x = torch.cat((encoded_state, action_one_hot.to(encoded_state.dtype)), dim=1)
            next_encoded_state = self.dynamics_encoded_state_network(x)
            reward = self.dynamics_reward_network(next_encoded_state)
            return self._normalize(next_encoded_state), reward

        def initial_inference(self, observation: Any) -> tuple[Any, Any, Any, Any]:
            encoded_state = self.representation(observation)
            policy_logits, value = self.prediction(encoded_state)
            reward = torch.log(
                torch.zeros(1, self.full_support_size)
                .scatter(1, torch.tensor([[self.full_support_size // 2]]).long(), 1.0)
                .repeat(len(observation), 1)
            )
            return value, reward, policy_logits, encoded_state

        def recurrent_inference(self, encoded_state: Any, action: Any) -> Any:
            next_encoded_state, reward = self.dynamics(encoded_state, action)
            policy_logits, value = self.prediction(next_encoded_state)
            return value, reward, policy_logits, next_encoded_state

    return MuZeroFullyConnectedNetwork


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)()


def loss_function(torch_like: Any, value, reward, policy_logits, target_value, target_reward,
                  target_policy) -> tuple[Any, Any, Any]:  # fmt: skip
    LogSoftmax = torch_like.nn.LogSoftmax
    value_loss = (-target_value * LogSoftmax(dim=1)(value)).sum(1)
    reward_loss = (-target_reward * LogSoftmax(dim=1)(reward)).sum(1)
    policy_loss = (-target_policy * LogSoftmax(dim=1)(policy_logits)).sum(1)
    return value_loss, reward_loss, policy_loss


def _batch(rng: np.random.Generator) -> dict[str, np.ndarray]:
    policy = rng.random((BATCH, UNROLL + 1, ACTIONS))
    return {
        "observation": rng.normal(size=(BATCH, 1, 1, OBS)),
        "action": rng.integers(0, ACTIONS, size=(BATCH, UNROLL + 1, 1)),
        "target_value": rng.normal(scale=30.0, size=(BATCH, UNROLL + 1)),
        "target_reward": np.round(rng.normal(scale=2.0, size=(BATCH, UNROLL + 1)), 1),
        "target_policy": policy / policy.sum(-1, keepdims=True),
        "weight": rng.uniform(0.5, 1.0, size=BATCH),
        "gradient_scale": np.full((BATCH, UNROLL + 1), float(UNROLL)),
    }


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    support_to_scalar, scalar_to_support = _functions(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(9)
    values: list[float] = []

    # the transform and its inverse round-trip (up to the clamp of the support)
    x = as_tensor(torch, np.array([[-30.0, -3.7, -0.2, 0.0, 0.49, 2.5, 24.0, 40.0]])).T
    two_hot = scalar_to_support(x, SUPPORT)
    values += two_hot.sum(-1).flatten().tolist() + [int((two_hot > 0).sum())]
    back = support_to_scalar(torch.log(two_hot.squeeze(1)), SUPPORT)
    values += back.flatten().tolist()

    batch = _batch(rng)
    observation_batch = as_tensor(torch, batch["observation"])
    action_batch = as_tensor(torch, batch["action"])
    target_value = as_tensor(torch, batch["target_value"])
    target_reward = as_tensor(torch, batch["target_reward"])
    target_policy = as_tensor(torch, batch["target_policy"])
    weight_batch = as_tensor(torch, batch["weight"])
    gradient_scale_batch = as_tensor(torch, batch["gradient_scale"])
    target_value_scalar = np.array(batch["target_value"], dtype="float32")
    priorities = np.zeros_like(target_value_scalar)
    target_value = scalar_to_support(target_value, SUPPORT)
    target_reward = scalar_to_support(target_reward, SUPPORT)

    def unroll(scale_gradient: bool) -> tuple[Any, list[Any]]:
        value, reward, policy_logits, hidden_state = model.initial_inference(observation_batch)
        predictions = [(value, reward, policy_logits)]
        for i in range(1, action_batch.shape[1]):
            if scale_gradient:  # the pseudocode's scale_gradient(hidden_state, 0.5)
                hidden_state = hidden_state * 0.5 + hidden_state.detach() * 0.5
            value, reward, policy_logits, hidden_state = model.recurrent_inference(
                hidden_state, action_batch[:, i]
            )
            if not scale_gradient:
                hidden_state.register_hook(lambda grad: grad * 0.5)
            predictions.append((value, reward, policy_logits))
        value_loss, reward_loss, policy_loss = (0, 0, 0)
        value, reward, policy_logits = predictions[0]
        current_value_loss, _, current_policy_loss = loss_function(
            torch, value.squeeze(-1), reward.squeeze(-1), policy_logits,
            target_value[:, 0], target_reward[:, 0], target_policy[:, 0],
        )  # fmt: skip
        value_loss += current_value_loss
        policy_loss += current_policy_loss
        pred_value_scalar = support_to_scalar(value, SUPPORT).detach().cpu().numpy().squeeze()
        priorities[:, 0] = np.abs(pred_value_scalar - target_value_scalar[:, 0]) ** 0.5
        for i in range(1, len(predictions)):
            value, reward, policy_logits = predictions[i]
            current_value_loss, current_reward_loss, current_policy_loss = loss_function(
                torch, value.squeeze(-1), reward.squeeze(-1), policy_logits,
                target_value[:, i], target_reward[:, i], target_policy[:, i],
            )  # fmt: skip
            # late-bound i, as in the repository: every hook divides by the last step's column
            scale = gradient_scale_batch
            current_value_loss.register_hook(lambda grad: grad / scale[:, i])  # noqa: B023
            current_reward_loss.register_hook(lambda grad: grad / scale[:, i])  # noqa: B023
            current_policy_loss.register_hook(lambda grad: grad / scale[:, i])  # noqa: B023
            value_loss += current_value_loss
            reward_loss += current_reward_loss
            policy_loss += current_policy_loss
        loss = value_loss * 0.25 + reward_loss + policy_loss
        loss *= weight_batch
        return loss.mean(), [value_loss.mean(), reward_loss.mean(), policy_loss.mean()]

    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, weight_decay=1e-4)
    model.train()

    # the pseudocode's placement of the gradient scaling, then muzero-general's hook
    loss, _ = unroll(scale_gradient=True)
    grads_scaled = torch.autograd.grad(loss, list(model.parameters()))
    loss, parts = unroll(scale_gradient=False)
    optimizer.zero_grad()
    loss.backward()
    # the hook scales every gradient into the new state (the prediction heads' too), the
    # pseudocode only the dynamics path: the gradients differ, the forward values do not
    diffs = [(p.grad - g).abs().sum().item() for p, g in zip(model.parameters(), grads_scaled)]
    values += [loss.item()] + [p.item() for p in parts] + [sum(diffs)]
    values += [sum(g.abs().sum().item() for g in grads_scaled)]
    values += [sum(p.grad.abs().sum().item() for p in model.parameters())]
    optimizer.step()
    values += priorities[:, 0].tolist()

    with torch.no_grad():
        value, reward, policy_logits, hidden = model.initial_inference(observation_batch)
        values += support_to_scalar(value, SUPPORT).flatten().tolist()
        values += support_to_scalar(reward, SUPPORT).flatten().tolist()
        values += [hidden.min().item(), hidden.max().item(), policy_logits.softmax(1).sum().item()]
        value, reward, _, hidden = model.recurrent_inference(hidden, action_batch[:, 1])
        values += support_to_scalar(reward, SUPPORT).flatten().tolist()
    return values
