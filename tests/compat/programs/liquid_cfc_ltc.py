"""Liquid time-constant (LTC, Hasani et al. 2021) and closed-form continuous-time (CfC, Hasani
et al. 2022) recurrent networks as the ``ncps`` package's PyTorch cells write them
(``ncps/torch/ltc_cell.py``, ``cfc_cell.py``, ``cfc.py``), with the positivity constraints
expressed through ``torch.nn.utils.parametrize`` instead of ``make_positive_fn``, size-reduced.

The idioms, LTC: parameters created by an ``add_weight`` helper (``torch.nn.Parameter(
init_value)`` + ``self.register_parameter(name, param)`` into a ``self._params`` dict, drawn as
``torch.rand(shape) * (maxval - minval) + minval``), the wiring's sparsity masks and reversal
potentials as ``torch.nn.Parameter(torch.Tensor(np.abs(adjacency)), requires_grad=False)``;
the synapse activation ``_sigmoid`` (``torch.unsqueeze(v_pre, -1)``, ``sigma * (v_pre -
mu)``, ``torch.sigmoid``); the semi-implicit ODE unfolding (``cm_t = cm / (elapsed_time /
self._ode_unfolds)``, ``torch.sum(w_activation * erev, dim=1)``, ``v_pre = numerator /
(denominator + self._epsilon)`` in a ``for t in range(self._ode_unfolds)`` loop), the affine
input/output maps; ``parametrize.register_parametrization(cell, "w", SoftplusPositive())`` with
a ``right_inverse`` (``Y + torch.log(-torch.expm1(-Y))``) so the stored ``original`` is the
inverse-softplus of the initial value, ``unsafe=False``, ``parametrize.is_parametrized``,
``cell.parametrizations.w.original``, ``with parametrize.cached():`` around the unrolled
sequence, and ``parametrize.remove_parametrizations(cell, "gleak", leave_parametrized=True)``
at the end (the outputs must not change). CfC: ``backbone`` as ``nn.Sequential`` of
``nn.Linear`` + ``LeCun`` (``1.7159 * torch.tanh(0.666 * x)``), ``ff1``/``ff2``/``time_a``/
``time_b`` heads, ``t_interp = torch.sigmoid(t_a * ts + t_b)`` and the gated mix ``ff1 * (1.0
- t_interp) + t_interp * ff2``, the ``"pure"`` mode's ``-self.A * torch.exp(-ts * (torch.abs(
self.w_tau) + torch.abs(ff1))) * ff1 + self.A``, ``nn.init.xavier_uniform_`` over
``self.parameters()`` with ``dim() == 2``; the sequence wrappers (``torch.zeros((batch_size,
self.state_size))``, ``timespans[:, t].squeeze()``, ``torch.stack(output_sequence, dim=1)``);
trained with ``Adam`` on an irregularly sampled sine, ``nn.MSELoss()``,
``clip_grad_norm_``.

Changed: 6 LTC neurons and 5 CfC units on a 2-feature, 7-step sequence, 3 ODE unfolds; the
fully-connected wiring's random reversal signs come from NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN, UNITS, CFC_UNITS, OUT, STEPS, BATCH = 2, 6, 5, 1, 7, 3
_rng = np.random.default_rng(3)
ADJACENCY = _rng.choice([-1, 1], size=(UNITS, UNITS)) * (_rng.random((UNITS, UNITS)) < 0.8)
SENSORY_ADJACENCY = _rng.choice([-1, 1], size=(IN, UNITS))


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    parametrize = torch_like.nn.utils.parametrize

    class SoftplusPositive(nn.Module):
        def forward(self, X: Any) -> Any:
            return nn.functional.softplus(X)

        def right_inverse(self, Y: Any) -> Any:
            return Y + torch.log(-torch.expm1(-Y))

    class LTCCell(nn.Module):
        def __init__(self, ode_unfolds: int = 3, epsilon: float = 1e-8) -> None:
            super().__init__()
            self._init_ranges = {
                "gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "cm": (0.4, 0.6),
                "w": (0.001, 1.0), "sigma": (3, 8), "mu": (0.3, 0.8),
                "sensory_w": (0.001, 1.0), "sensory_sigma": (3, 8), "sensory_mu": (0.3, 0.8),
            }  # fmt: skip
            self._ode_unfolds = ode_unfolds
            self._epsilon = epsilon
            self._params: dict[str, Any] = {}
            self._allocate_parameters()
            for name in ("w", "sensory_w", "gleak", "cm"):
                parametrize.register_parametrization(self, name, SoftplusPositive())

        def add_weight(self, name: str, init_value: Any, requires_grad: bool = True) -> Any:
            param = torch.nn.Parameter(init_value, requires_grad=requires_grad)
            self.register_parameter(name, param)
            self._params[name] = param
            return param

        def _get_init_value(self, shape: tuple, param_name: str) -> Any:
            minval, maxval = self._init_ranges[param_name]
            if minval == maxval:
                return torch.ones(shape) * minval
            return torch.rand(*shape) * (maxval - minval) + minval

        def _allocate_parameters(self) -> None:
            for name, shape in (
                ("gleak", (UNITS,)), ("vleak", (UNITS,)), ("cm", (UNITS,)),
                ("sigma", (UNITS, UNITS)), ("mu", (UNITS, UNITS)), ("w", (UNITS, UNITS)),
                ("sensory_sigma", (IN, UNITS)), ("sensory_mu", (IN, UNITS)),
                ("sensory_w", (IN, UNITS)),
            ):  # fmt: skip
                self.add_weight(name, self._get_init_value(shape, name))
            self.add_weight("erev", torch.Tensor(ADJACENCY), requires_grad=True)
            self.add_weight("sensory_erev", torch.Tensor(SENSORY_ADJACENCY))
            self.add_weight("sparsity_mask", torch.Tensor(np.abs(ADJACENCY)), requires_grad=False)
            self.add_weight(
                "sensory_sparsity_mask", torch.Tensor(np.abs(SENSORY_ADJACENCY)),
                requires_grad=False,
            )  # fmt: skip
            self.add_weight("input_w", torch.ones((IN,)))
            self.add_weight("input_b", torch.zeros((IN,)))
            self.add_weight("output_w", torch.ones((OUT,)))
            self.add_weight("output_b", torch.zeros((OUT,)))

        def _sigmoid(self, v_pre: Any, mu: Any, sigma: Any) -> Any:
            v_pre = torch.unsqueeze(v_pre, -1)  # For broadcasting
            mues = v_pre - mu
            x = sigma * mues
            return torch.sigmoid(x)

        def _ode_solver(self, inputs: Any, state: Any, elapsed_time: Any) -> Any:
            v_pre = state
            # We can pre-compute the effects of the sensory neurons here
            sensory_w_activation = self.sensory_w * self._sigmoid(
                inputs, self.sensory_mu, self.sensory_sigma
            )
            sensory_w_activation = sensory_w_activation * self.sensory_sparsity_mask
            sensory_rev_activation = sensory_w_activation * self.sensory_erev
            # Reduce over dimension 1 (=source sensory neurons)
            w_numerator_sensory = torch.sum(sensory_rev_activation, dim=1)
            w_denominator_sensory = torch.sum(sensory_w_activation, dim=1)
            # cm/t is loop invariant
            cm_t = self.cm / (elapsed_time / self._ode_unfolds)
            # Unfold the multiply ODE multiple times into one RNN step
            w_param = self.w
            for _t in range(self._ode_unfolds):
                w_activation = w_param * self._sigmoid(v_pre, self.mu, self.sigma)
                w_activation = w_activation * self.sparsity_mask
                rev_activation = w_activation * self.erev
                # Reduce over dimension 1 (=source neurons)
                w_numerator = torch.sum(rev_activation, dim=1) + w_numerator_sensory
                w_denominator = torch.sum(w_activation, dim=1) + w_denominator_sensory
                gleak = self.gleak
                numerator = cm_t * v_pre + gleak * self.vleak + w_numerator
                denominator = cm_t + gleak + w_denominator
                # Avoid dividing by 0
                v_pre = numerator / (denominator + self._epsilon)
            return v_pre

        def forward(self, inputs: Any, states: Any, elapsed_time: Any = 1.0) -> tuple:
            inputs = inputs * self.input_w + self.input_b
            next_state = self._ode_solver(inputs, states, elapsed_time)
            outputs = next_state[:, 0:OUT] * self.output_w + self.output_b
            return outputs, next_state

    class LeCun(nn.Module):
        def forward(self, x: Any) -> Any:
            return 1.7159 * torch.tanh(0.666 * x)

    class CfCCell(nn.Module):
        def __init__(self, input_size: int, hidden_size: int, mode: str = "default") -> None:
            super().__init__()
            self.mode = mode
            backbone_units = 8
            self.backbone = nn.Sequential(
                nn.Linear(input_size + hidden_size, backbone_units), LeCun()
            )
            cat_shape = backbone_units
            self.ff1 = nn.Linear(cat_shape, hidden_size)
            if self.mode == "pure":
                self.w_tau = torch.nn.Parameter(
                    data=torch.zeros(1, hidden_size), requires_grad=True
                )
                self.A = torch.nn.Parameter(data=torch.ones(1, hidden_size), requires_grad=True)
            else:
                self.ff2 = nn.Linear(cat_shape, hidden_size)
                self.time_a = nn.Linear(cat_shape, hidden_size)
                self.time_b = nn.Linear(cat_shape, hidden_size)
            self.init_weights()

        def init_weights(self) -> None:
            for w in self.parameters():
                if w.dim() == 2 and w.requires_grad:
                    torch.nn.init.xavier_uniform_(w)

        def forward(self, input: Any, hx: Any, ts: Any) -> tuple:
            x = torch.cat([input, hx], 1)
            x = self.backbone(x)
            ff1 = self.ff1(x)
            if self.mode == "pure":
                new_hidden = (
                    -self.A * torch.exp(-ts * (torch.abs(self.w_tau) + torch.abs(ff1))) * ff1
                    + self.A
                )
            else:
                ff2 = torch.tanh(self.ff2(x))
                ff1 = torch.tanh(ff1)
                t_a = self.time_a(x)
                t_b = self.time_b(x)
                t_interp = torch.sigmoid(t_a * ts + t_b)
                new_hidden = ff1 * (1.0 - t_interp) + t_interp * ff2
            return new_hidden, new_hidden

    class CfC(nn.Module):
        def __init__(self, input_size: int, units: int, mode: str) -> None:
            super().__init__()
            self.state_size = units
            self.rnn_cell = CfCCell(input_size, units, mode=mode)
            self.fc = nn.Linear(units, OUT)

        def forward(self, input: Any, timespans: Any) -> Any:
            batch_size, seq_len = input.size(0), input.size(1)
            h_state = torch.zeros((batch_size, self.state_size), device=input.device)
            output_sequence = []
            for t in range(seq_len):
                inputs = input[:, t]
                ts = timespans[:, t].squeeze()
                ts = ts.view(-1, 1)
                h_out, h_state = self.rnn_cell.forward(inputs, h_state, ts)
                output_sequence.append(self.fc(h_out))
            return torch.stack(output_sequence, dim=1), h_state

    class LTC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.state_size = UNITS
            self.rnn_cell = LTCCell()

        def forward(self, input: Any, timespans: Any) -> Any:
            batch_size, seq_len = input.size(0), input.size(1)
            h_state = torch.zeros((batch_size, self.state_size), device=input.device)
            output_sequence = []
            for t in range(seq_len):
                inputs = input[:, t]
                ts = timespans[:, t].squeeze().view(-1, 1)
                h_out, h_state = self.rnn_cell.forward(inputs, h_state, ts)
                output_sequence.append(h_out)
            return torch.stack(output_sequence, dim=1), h_state

    class Models(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ltc = LTC()
            self.cfc = CfC(IN, CFC_UNITS, "default")
            self.cfc_pure = CfC(IN, CFC_UNITS, "pure")

    return Models()


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    gaps = rng.uniform(0.3, 1.5, size=(BATCH, STEPS))
    t = np.cumsum(gaps, axis=1)
    x = np.stack([np.sin(t), np.cos(t)], axis=-1)
    y = np.sin(t + 0.5)[..., None]
    return x, gaps[..., None], y


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    parametrize = torch.nn.utils.parametrize
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    x, gaps, y = (as_tensor(torch, a) for a in _data())
    values: list[float] = []

    cell = models.ltc.rnn_cell
    values.append(float(parametrize.is_parametrized(cell)))
    values.append(float(parametrize.is_parametrized(cell, "w")))
    values.append(float(parametrize.is_parametrized(cell, "mu")))
    values.append(float((cell.w > 0).all()))
    values.append(cell.parametrizations.w.original.sum().item())
    values.append(float(cell.sparsity_mask.requires_grad))
    values.append(float(len(list(models.parameters()))))

    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.Adam(models.parameters(), lr=0.02)
    for _step in range(4):
        opt.zero_grad()
        with parametrize.cached():
            ltc_out, _ = models.ltc(x, gaps)
        cfc_out, h = models.cfc(x, gaps)
        pure_out, _ = models.cfc_pure(x, gaps)
        losses = [loss_fn(out, y) for out in (ltc_out, cfc_out, pure_out)]
        loss = sum(losses)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(models.parameters(), 5.0)
        opt.step()
        values += [v.item() for v in losses] + [float(norm), h.abs().sum().item()]
    values.append(float(cell.parametrizations.w.original.grad.norm()))
    values.append(float(cell.sparsity_mask.grad is None))

    with torch.no_grad():
        before, _ = models.ltc(x, gaps)
        parametrize.remove_parametrizations(cell, "gleak", leave_parametrized=True)
        after, _ = models.ltc(x, gaps)
        values.append(float((before - after).abs().max()))
        values.append(float(parametrize.is_parametrized(cell, "gleak")))
        values.append(float(cell.gleak.min()))
        values.append(float(len(cell.state_dict())))
    return values
