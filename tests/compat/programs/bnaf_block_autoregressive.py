"""Block Neural Autoregressive Flow (De Cao et al. 2019), nicola-decao/BNAF (``bnaf.py``:
``Sequential``, ``BNAF``, ``Permutation``, ``MaskedWeight``, ``Tanh``; ``optim/adam.py``: the
Polyak-averaging ``Adam`` with ``swap()``; ``optim/lr_scheduler.py``: ``ReduceLROnPlateau``
with callbacks and early stopping; ``density_estimation.py``: ``create_model``,
``compute_log_p_x``, ``train``), size-reduced.

The idioms kept: the block-masked weight built slice by slice, ``weight[i * out // dim : (i + 1)
* out // dim, 0 : (i + 1) * in // dim] = torch.nn.init.xavier_uniform_(torch.Tensor(...))``,
``torch.nn.init.uniform_(torch.Tensor(out_features, 1)).log()`` for the diagonal scale, the
``mask_d`` / ``mask_o`` buffers; ``get_weights`` (``torch.exp(self._weight) * self.mask_d +
self._weight * self.mask_o``, weight normalisation by ``w_squared_norm.sqrt()``, the
log-Jacobian blocks ``wpl.t()[self.mask_d.bool().t()].view(dim, in // dim, out // dim)``);
``MaskedWeight.forward`` with ``g = wpl.transpose(-2, -1).unsqueeze(0).repeat(N, 1, 1, 1)``
and the block log-Jacobian product ``torch.logsumexp(g.unsqueeze(-2) +
grad.transpose(-2, -1).unsqueeze(-3), -1)``; ``Tanh(torch.nn.Tanh)`` returning ``-2 * (inputs
- math.log(2) + F.softplus(-2 * inputs))``; ``BNAF(torch.nn.Sequential)`` iterating
``self._modules.values()`` with the gated residual ``self.gate = Parameter(
torch.nn.init.normal_(torch.Tensor(1)))``, ``_get_name`` and ``Permutation``'s ``__repr__``
overridden (``print(model)``); the model built as ``Sequential(*flows)``; the parameter count
``sum((p != 0).sum() if len(p.shape) > 1 else torch.tensor(p.shape).item() for p in
model.parameters()).item()``; ``log_prob`` from ``torch.distributions.Normal(
torch.zeros_like(y_mb), torch.ones_like(y_mb))``; the training loop (``-compute_log_p_x(model,
x_mb).mean()``, ``torch.nn.utils.clip_grad_norm_``, ``optimizer.step()`` then
``zero_grad()``, ``torch.stack(train_loss).mean()``, validation between ``optimizer.swap()``
calls); the repository's ``Adam`` with the deprecated PyTorch 1.x overloads
(``grad.add_(weight_decay, p.data)``, ``exp_avg.mul_(beta1).add_(1 - beta1, grad)``,
``addcmul_(1 - beta2, grad, grad)``, ``p.data.addcdiv_(-step_size, exp_avg, denom)``),
``torch.max(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)`` for AMSGrad and ``p.data =
state["exp_avg_param"]`` swaps; the scheduler subclass calling the base class's
``_is_better``, ``in_cooldown`` and ``_reduce_lr(epoch)``.

Changed: the UCI/toy energy data -> a 2-d two-moons sample from NumPy; hidden 10 * d -> 4 * d,
flows 5 -> 2, layers 1 kept; 1000 epochs -> 4 of 2 batches; ``tqdm`` is a plain loop; the
checkpoint saved by ``callback_best`` is a ``state_dict`` copy in memory; the scheduler's
``self.is_better`` is ``self._is_better`` (renamed in PyTorch 2.x).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N_DIMS, HIDDEN_DIM, N_FLOWS, N_LAYERS = 2, 4, 2, 2


def _bnaf(torch_like: Any) -> dict[str, type]:
    torch = torch_like

    class Sequential(torch.nn.Sequential):
        """
        Class that extends ``torch.nn.Sequential`` for computing the output of
        the function alongside with the log-det-Jacobian of such transformation.
        """

        def forward(self, inputs):  # noqa: ANN001, ANN201
            log_det_jacobian = 0.0
            for _i, module in enumerate(self._modules.values()):
                inputs, log_det_jacobian_ = module(inputs)
                log_det_jacobian = log_det_jacobian + log_det_jacobian_
            return inputs, log_det_jacobian

    class BNAF(torch.nn.Sequential):
        """
        Class that extends ``torch.nn.Sequential`` for constructing a Block Neural
        Normalizing Flow.
        """

        def __init__(self, *args, res: str | None = None):  # noqa: ANN002
            super(BNAF, self).__init__(*args)  # noqa: UP008

            self.res = res

            if res == "gated":
                self.gate = torch.nn.Parameter(torch.nn.init.normal_(torch.Tensor(1)))

        def forward(self, inputs):  # noqa: ANN001, ANN201
            outputs = inputs
            grad = None

            for module in self._modules.values():
                outputs, grad = module(outputs, grad)

                grad = grad if len(grad.shape) == 4 else grad.view(grad.shape + [1, 1])

            assert inputs.shape[-1] == outputs.shape[-1]

            if self.res == "normal":
                return inputs + outputs, torch.nn.functional.softplus(grad.squeeze()).sum(-1)
            elif self.res == "gated":
                return self.gate.sigmoid() * outputs + (1 - self.gate.sigmoid()) * inputs, (
                    torch.nn.functional.softplus(grad.squeeze() + self.gate)
                    - torch.nn.functional.softplus(self.gate)
                ).sum(-1)
            else:
                return outputs, grad.squeeze().sum(-1)

        def _get_name(self) -> str:
            return "BNAF(res={})".format(self.res)  # noqa: UP032

    class Permutation(torch.nn.Module):
        """
        Module that outputs a permutation of its input.
        """

        def __init__(self, in_features: int, p: list | str | None = None):
            super(Permutation, self).__init__()  # noqa: UP008

            self.in_features = in_features

            if p is None:
                self.p = np.random.permutation(in_features)
            elif p == "flip":
                self.p = list(reversed(range(in_features)))
            else:
                self.p = p

        def forward(self, inputs):  # noqa: ANN001, ANN201
            return inputs[:, self.p], 0

        def __repr__(self) -> str:
            return "Permutation(in_features={}, p={})".format(self.in_features, self.p)  # noqa: UP032

    class MaskedWeight(torch.nn.Module):
        """
        Module that implements a linear layer with block matrices with positive diagonal blocks.
        """

        def __init__(self, in_features: int, out_features: int, dim: int, bias: bool = True):
            super(MaskedWeight, self).__init__()  # noqa: UP008
            self.in_features, self.out_features, self.dim = in_features, out_features, dim

            weight = torch.zeros(out_features, in_features)
            for i in range(dim):
                weight[
                    i * out_features // dim : (i + 1) * out_features // dim,
                    0 : (i + 1) * in_features // dim,
                ] = torch.nn.init.xavier_uniform_(
                    torch.Tensor(out_features // dim, (i + 1) * in_features // dim)
                )

            self._weight = torch.nn.Parameter(weight)
            self._diag_weight = torch.nn.Parameter(
                torch.nn.init.uniform_(torch.Tensor(out_features, 1)).log()
            )

            self.bias = (
                torch.nn.Parameter(
                    torch.nn.init.uniform_(
                        torch.Tensor(out_features),
                        -1 / math.sqrt(out_features),
                        1 / math.sqrt(out_features),
                    )
                )
                if bias
                else 0
            )

            mask_d = torch.zeros_like(weight)
            for i in range(dim):
                mask_d[
                    i * (out_features // dim) : (i + 1) * (out_features // dim),
                    i * (in_features // dim) : (i + 1) * (in_features // dim),
                ] = 1

            self.register_buffer("mask_d", mask_d)

            mask_o = torch.ones_like(weight)
            for i in range(dim):
                mask_o[
                    i * (out_features // dim) : (i + 1) * (out_features // dim),
                    i * (in_features // dim) :,
                ] = 0

            self.register_buffer("mask_o", mask_o)

        def get_weights(self):  # noqa: ANN201
            """
            Computes the weight matrix using masks and weight normalization.
            It also compute the log diagonal blocks of it.
            """

            w = torch.exp(self._weight) * self.mask_d + self._weight * self.mask_o

            w_squared_norm = (w**2).sum(-1, keepdim=True)

            w = self._diag_weight.exp() * w / w_squared_norm.sqrt()

            wpl = self._diag_weight + self._weight - 0.5 * torch.log(w_squared_norm)

            return (
                w.t(),
                wpl.t()[self.mask_d.bool().t()].view(
                    self.dim, self.in_features // self.dim, self.out_features // self.dim
                ),
            )

        def forward(self, inputs, grad=None):  # noqa: ANN001, ANN201
            w, wpl = self.get_weights()

            g = wpl.transpose(-2, -1).unsqueeze(0).repeat(inputs.shape[0], 1, 1, 1)

            return (
                inputs.matmul(w) + self.bias,
                torch.logsumexp(g.unsqueeze(-2) + grad.transpose(-2, -1).unsqueeze(-3), -1)
                if grad is not None
                else g,
            )

        def __repr__(self) -> str:
            return "MaskedWeight(in_features={}, out_features={}, dim={}, bias={})".format(  # noqa: UP032
                self.in_features, self.out_features, self.dim, not isinstance(self.bias, int)
            )

    class Tanh(torch.nn.Tanh):
        """
        Class that extends ``torch.nn.Tanh`` additionally computing the logarithm
        of the diagonal blocks of the Jacobian.
        """

        def forward(self, inputs, grad=None):  # noqa: ANN001, ANN201
            g = -2 * (inputs - math.log(2) + torch.nn.functional.softplus(-2 * inputs))
            return (torch.tanh(inputs), (g.view(grad.shape) + grad) if grad is not None else g)

    return {
        "Sequential": Sequential,
        "BNAF": BNAF,
        "Permutation": Permutation,
        "MaskedWeight": MaskedWeight,
        "Tanh": Tanh,
    }


def make_model(torch_like: Any) -> Any:
    c = _bnaf(torch_like)
    MaskedWeight, Tanh, BNAF = c["MaskedWeight"], c["Tanh"], c["BNAF"]
    flows = []
    for f in range(N_FLOWS):
        layers = []
        for _ in range(N_LAYERS - 1):
            layers.append(
                MaskedWeight(N_DIMS * HIDDEN_DIM, N_DIMS * HIDDEN_DIM, dim=N_DIMS),
            )
            layers.append(Tanh())

        flows.append(
            BNAF(
                *(
                    [MaskedWeight(N_DIMS, N_DIMS * HIDDEN_DIM, dim=N_DIMS), Tanh()]
                    + layers
                    + [MaskedWeight(N_DIMS * HIDDEN_DIM, N_DIMS, dim=N_DIMS)]
                ),
                res="gated" if f < N_FLOWS - 1 else None,
            )
        )

        if f < N_FLOWS - 1:
            flows.append(c["Permutation"](N_DIMS, "flip"))

    model = c["Sequential"](*flows)
    return model


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like

    class Adam(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                     amsgrad=False, polyak=0.0):  # noqa: ANN001 # fmt: skip
            if not 0.0 <= lr:
                raise ValueError("Invalid learning rate: {}".format(lr))  # noqa: UP032
            defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                            amsgrad=amsgrad, polyak=polyak)  # fmt: skip
            super(Adam, self).__init__(params, defaults)  # noqa: UP008

        def __setstate__(self, state):  # noqa: ANN001, ANN204
            super(Adam, self).__setstate__(state)  # noqa: UP008
            for group in self.param_groups:
                group.setdefault("amsgrad", False)

        def step(self, closure=None):  # noqa: ANN001, ANN201
            loss = None
            if closure is not None:
                loss = closure()

            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    amsgrad = group["amsgrad"]

                    state = self.state[p]

                    # State initialization
                    if len(state) == 0:
                        state["step"] = 0
                        # Exponential moving average of gradient values
                        state["exp_avg"] = torch.zeros_like(p.data)
                        # Exponential moving average of squared gradient values
                        state["exp_avg_sq"] = torch.zeros_like(p.data)
                        if amsgrad:
                            # Maintains max of all exp. moving avg. of sq. grad. values
                            state["max_exp_avg_sq"] = torch.zeros_like(p.data)
                        # Exponential moving average of param
                        state["exp_avg_param"] = torch.zeros_like(p.data)

                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    if amsgrad:
                        max_exp_avg_sq = state["max_exp_avg_sq"]
                    beta1, beta2 = group["betas"]

                    state["step"] += 1

                    if group["weight_decay"] != 0:
                        grad.add_(group["weight_decay"], p.data)

                    # Decay the first and second moment running average coefficient
                    exp_avg.mul_(beta1).add_(1 - beta1, grad)
                    exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
                    if amsgrad:
                        # Maintains the maximum of all 2nd moment running avg. till now
                        torch.max(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                        # Use the max. for normalizing running avg. of gradient
                        denom = max_exp_avg_sq.sqrt().add_(group["eps"])
                    else:
                        denom = exp_avg_sq.sqrt().add_(group["eps"])

                    bias_correction1 = 1 - beta1 ** state["step"]
                    bias_correction2 = 1 - beta2 ** state["step"]
                    step_size = group["lr"] * math.sqrt(bias_correction2) / bias_correction1

                    p.data.addcdiv_(-step_size, exp_avg, denom)

                    polyak = self.defaults["polyak"]
                    state["exp_avg_param"] = polyak * state["exp_avg_param"] + (1 - polyak) * p.data

            return loss

        def swap(self) -> None:
            """
            Swapping the running average of params and the current params for saving parameters
            using polyak averaging
            """
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    new = p.data
                    p.data = state["exp_avg_param"]
                    state["exp_avg_param"] = new

    class ReduceLROnPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def __init__(self, *args, early_stopping=None, **kwargs):  # noqa: ANN002, ANN003, ANN001
            super().__init__(*args, **kwargs)
            self.early_stopping = early_stopping
            self.early_stopping_counter = 0

        def step(self, metrics, epoch=None, callback_best=None, callback_reduce=None):  # noqa: ANN001, ANN201
            current = metrics
            if epoch is None:
                epoch = self.last_epoch = self.last_epoch + 1
            self.last_epoch = epoch

            if self._is_better(current, self.best):  # is_better before PyTorch 2.x
                self.best = current
                self.num_bad_epochs = 0
                self.early_stopping_counter = 0
                if callback_best is not None:
                    callback_best()
            else:
                self.num_bad_epochs += 1
                self.early_stopping_counter += 1

            if self.in_cooldown:
                self.cooldown_counter -= 1
                self.num_bad_epochs = 0  # ignore any bad epochs in cooldown

            if self.num_bad_epochs > self.patience:
                if callback_reduce is not None:
                    callback_reduce()
                self._reduce_lr(epoch)
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0

            return self.early_stopping_counter == self.early_stopping

    def compute_log_p_x(model, x_mb):  # noqa: ANN001, ANN202
        y_mb, log_diag_j_mb = model(x_mb)
        log_p_y_mb = (
            torch.distributions.Normal(torch.zeros_like(y_mb), torch.ones_like(y_mb))
            .log_prob(y_mb)
            .sum(-1)
        )
        return log_p_y_mb + log_diag_j_mb

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    params = sum(
        (p != 0).sum() if len(p.shape) > 1 else torch.tensor(p.shape).item()
        for p in model.parameters()
    ).item()
    values: list[float] = [float(params)]

    rng = np.random.default_rng(0)
    n = 48
    t = rng.uniform(0, np.pi, n)
    moons = np.stack([np.cos(t), np.sin(t)], 1)
    moons[n // 2 :] = np.stack([1 - np.cos(t[n // 2 :]), 0.5 - np.sin(t[n // 2 :])], 1)
    moons += 0.1 * rng.normal(size=moons.shape)
    data = torch.tensor(moons, dtype=torch.get_default_dtype())
    data_train, data_valid = data[:32], data[32:]
    data_loader_train = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data_train), batch_size=16, shuffle=False
    )
    data_loader_valid = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data_valid), batch_size=8, shuffle=False
    )

    optimizer = Adam(model.parameters(), lr=1e-2, amsgrad=True, polyak=0.998)
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=0, cooldown=1, min_lr=5e-4,
                                  early_stopping=100, threshold_mode="abs")  # fmt: skip
    saved: dict[str, Any] = {}

    def save_model() -> None:
        saved["state"] = {k: v.clone() for k, v in model.state_dict().items()}

    with warnings.catch_warnings():  # the deprecated add_/addcmul_/addcdiv_ overloads
        warnings.filterwarnings("ignore", "This overload of", UserWarning)
        for _epoch in range(4):
            train_loss = []
            for (x_mb,) in data_loader_train:
                loss = -compute_log_p_x(model, x_mb).mean()

                loss.backward()
                total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1)

                optimizer.step()
                optimizer.zero_grad()

                train_loss.append(loss)
                values.append(total.item())

            train_loss = torch.stack(train_loss).mean()
            optimizer.swap()
            validation_loss = -torch.stack(
                [compute_log_p_x(model, x_mb).mean().detach() for (x_mb,) in data_loader_valid],
                -1,
            ).mean()
            optimizer.swap()

            stop = scheduler.step(validation_loss, callback_best=save_model)
            values += [train_loss.item(), validation_loss.item(), optimizer.param_groups[0]["lr"]]
            values.append(float(stop))

    model.load_state_dict(saved["state"])
    with torch.no_grad():
        values.append(compute_log_p_x(model, data_valid).mean().item())
    return values
