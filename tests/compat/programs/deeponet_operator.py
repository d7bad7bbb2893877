"""DeepONet (Lu et al., Nature Machine Intelligence 2021) as DeepXDE's PyTorch back end
(``deepxde/nn/pytorch/deeponet.py``, ``fnn.py``, ``initializers.py``, ``optimizers``) and the
antiderivative example (``examples/operator/antiderivative_aligned.py`` /
``antiderivative_unaligned.py``) write it, size-reduced.

The idioms: the ``FNN`` (``torch.nn.ModuleList`` of ``torch.nn.Linear``, Glorot-normal weights
``torch.nn.init.xavier_normal_`` and ``torch.nn.init.zeros_`` biases, the activation looked up
by name, none after the last layer); ``DeepONetCartesianProd`` (branch net on the sampled
input functions ``[n_functions, m_sensors]``, trunk net on the query coordinates ``[n_points,
dim]``, the activation applied to the trunk's last layer as DeepXDE does, ``x =
torch.einsum("bi,ni->bn", x_func, x_loc)``, ``x += self.b`` with ``self.b =
torch.nn.parameter.Parameter(torch.tensor(0.0))``); the aligned ``DeepONet`` (one query per
function, ``torch.einsum("bi,bi->b", ...)`` then ``torch.unsqueeze(x, 1)``); a multi-output
head split with ``torch.split`` over the latent width; the training setup
(``torch.optim.Adam(params, lr=lr, weight_decay=0)``, DeepXDE's ``("inverse time", decay_steps,
decay_rate)`` as ``torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + rate *
(step // steps)))``, ``torch.optim.lr_scheduler.StepLR`` for the other model,
``optimizer.zero_grad(); loss.backward(); optimizer.step(); lr_scheduler.step()``,
``torch.nn.MSELoss()``/``torch.mean(torch.square(...))``, the ``l2 relative error`` metric with
``torch.linalg.norm``).

The data is the antiderivative operator ``G(u)(x) = int_0^x u(t) dt`` built in tensors: sensor
grid ``torch.linspace(0, 1, m)``, input functions as random Fourier sums, the targets by
``torch.cumulative_trapezoid(u, x, dim=-1)``, checked against a left Riemann sum with
``torch.cumsum`` and the total ``torch.trapezoid``.

Changed: the Gaussian-random-field sampler (``spaces.GRF``, SciPy interpolation) is a Fourier
sum with NumPy coefficients; 100 sensors -> 12, 40-wide nets -> 10, 10000 steps -> 4.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

M_SENSORS, N_FUNCS, N_MODES, WIDTH, LATENT, STEPS = 12, 6, 3, 10, 8, 4


def make_model(torch_like: Any) -> Any:
    torch = torch_like

    ACTIVATIONS = {"relu": torch.nn.functional.relu, "tanh": torch.tanh, "sin": torch.sin}

    class NN(torch.nn.Module):
        """Base class for all neural network modules."""

        def __init__(self) -> None:
            super().__init__()
            self._input_transform = None
            self._output_transform = None

        def apply_output_transform(self, transform: Any) -> None:
            self._output_transform = transform

    class FNN(NN):
        """Fully-connected neural network."""

        def __init__(self, layer_sizes, activation, kernel_initializer):
            super().__init__()
            self.activation = ACTIVATIONS[activation]
            initializer = {
                "Glorot normal": torch.nn.init.xavier_normal_,
                "Glorot uniform": torch.nn.init.xavier_uniform_,
            }[kernel_initializer]
            initializer_zero = torch.nn.init.zeros_

            self.linears = torch.nn.ModuleList()
            for i in range(1, len(layer_sizes)):
                self.linears.append(
                    torch.nn.Linear(layer_sizes[i - 1], layer_sizes[i], dtype=torch.float64)
                )
                initializer(self.linears[-1].weight)
                initializer_zero(self.linears[-1].bias)

        def forward(self, inputs):
            x = inputs
            for linear in self.linears[:-1]:
                x = self.activation(linear(x))
            x = self.linears[-1](x)
            if self._output_transform is not None:
                x = self._output_transform(inputs, x)
            return x

    class DeepONetCartesianProd(NN):
        """Deep operator network for dataset in the format of Cartesian product."""

        def __init__(
            self,
            layer_sizes_branch,
            layer_sizes_trunk,
            activation,
            kernel_initializer,
            num_outputs=1,
        ):
            super().__init__()
            self.activation_trunk = ACTIVATIONS[activation]
            self.branch = FNN(layer_sizes_branch, activation, kernel_initializer)
            self.trunk = FNN(layer_sizes_trunk, activation, kernel_initializer)
            self.num_outputs = num_outputs
            self.b = torch.nn.ParameterList(
                [torch.nn.parameter.Parameter(torch.tensor(0.0)) for _ in range(num_outputs)]
            )

        def forward(self, inputs):
            x_func = inputs[0]
            x_loc = inputs[1]
            # Branch net to encode the input function
            x_func = self.branch(x_func)
            # Trunk net to encode the domain of the output function
            if self._input_transform is not None:
                x_loc = self._input_transform(x_loc)
            x_loc = self.activation_trunk(self.trunk(x_loc))
            # Dot product
            if x_func.shape[-1] != x_loc.shape[-1]:
                raise AssertionError("Output sizes of branch net and trunk net do not match.")
            if self.num_outputs == 1:
                x = torch.einsum("bi,ni->bn", x_func, x_loc)
                # Add bias
                x += self.b[0]
            else:
                # split the latent width into one group per output ("split_both")
                shift = x_func.shape[-1] // self.num_outputs
                xs = []
                for i, (bf, tl) in enumerate(
                    zip(torch.split(x_func, shift, dim=1), torch.split(x_loc, shift, dim=1))
                ):
                    xs.append(torch.einsum("bi,ni->bn", bf, tl) + self.b[i])
                x = torch.stack(xs, dim=2)
            if self._output_transform is not None:
                x = self._output_transform(inputs, x)
            return x

    class DeepONet(NN):
        """Deep operator network (aligned: one query point per input function)."""

        def __init__(self, layer_sizes_branch, layer_sizes_trunk, activation, kernel_initializer):
            super().__init__()
            self.branch = FNN(layer_sizes_branch, activation, kernel_initializer)
            self.trunk = FNN(layer_sizes_trunk, activation, kernel_initializer)
            self.activation_trunk = ACTIVATIONS[activation]
            self.b = torch.nn.parameter.Parameter(torch.tensor(0.0))

        def forward(self, inputs):
            x_func = self.branch(inputs[0])
            x_loc = self.activation_trunk(self.trunk(inputs[1]))
            x = torch.einsum("bi,bi->b", x_func, x_loc)
            x = torch.unsqueeze(x, 1)
            x += self.b
            return x

    cart = DeepONetCartesianProd(
        [M_SENSORS, WIDTH, LATENT], [1, WIDTH, LATENT], "tanh", "Glorot normal"
    )
    multi = DeepONetCartesianProd(
        [M_SENSORS, WIDTH, LATENT], [1, WIDTH, LATENT], "relu", "Glorot uniform", num_outputs=2
    )
    aligned = DeepONet([M_SENSORS, WIDTH, LATENT], [1, WIDTH, LATENT], "tanh", "Glorot normal")
    return torch.nn.ModuleDict({"cart": cart, "multi": multi, "aligned": aligned})


def make_data(torch: Any, rng: np.random.Generator, n: int) -> tuple[Any, Any, Any]:
    """Input functions on the sensor grid and their antiderivatives on the same grid."""
    x = torch.linspace(0, 1, M_SENSORS)
    k = torch.arange(1, N_MODES + 1, dtype=torch.float64)
    a = as_tensor(torch, rng.standard_normal((n, N_MODES))) / k
    b = as_tensor(torch, rng.standard_normal((n, N_MODES))) / k
    phase = 2 * np.pi * k[:, None] * x[None, :]  # [modes, m]
    u = a @ torch.sin(phase) + b @ torch.cos(phase)  # [n, m]
    s = torch.cumulative_trapezoid(u, x, dim=-1)
    s = torch.cat([torch.zeros(n, 1), s], dim=-1)  # G(u)(0) = 0
    return x, u, s


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    models = make_model(torch)
    load_numpy_state(torch, models, init)
    rng = np.random.default_rng(3)
    values: list[float] = []

    x, u, s = make_data(torch, rng, N_FUNCS)
    # the integration checks: trapezoid total, a cumsum Riemann sum, the uniform-spacing form
    dx = x[1] - x[0]
    riemann = torch.cumsum(u[:, :-1] * dx, dim=1)
    values += [
        (torch.trapezoid(u, x, dim=-1) - s[:, -1]).abs().max().item(),
        (riemann - s[:, 1:]).abs().mean().item(),
        (torch.cumulative_trapezoid(u, dx=dx.item()) - s[:, 1:]).abs().max().item(),
        torch.trapezoid(u, dx=dx.item()).sum().item(),
    ]
    x_loc = x.reshape(-1, 1)
    loss_fn = torch.nn.MSELoss()

    # Cartesian-product DeepONet, inverse-time decay
    model = models["cart"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=0)
    decay_steps, decay_rate = 2, 0.5
    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 1 / (1 + decay_rate * (step // decay_steps))
    )
    for _ in range(STEPS):
        model.train()
        outputs = model((u, x_loc))
        loss = loss_fn(outputs, s)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lr_scheduler.step()
        values += [loss.item(), optimizer.param_groups[0]["lr"]]
    model.eval()
    with torch.no_grad():
        x_t, u_t, s_t = make_data(torch, rng, 3)
        pred = model((u_t, x_t.reshape(-1, 1)))
        l2 = torch.linalg.norm(s_t - pred) / torch.linalg.norm(s_t)
    values += [l2.item(), pred.shape[0] * 100 + pred.shape[1]]

    # two outputs (G(u) and u itself) from split latent groups, output transform, StepLR
    model = models["multi"]
    model.apply_output_transform(lambda inputs, y: y * torch.tensor([1.0, 2.0]))
    target = torch.stack([s, u], dim=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(STEPS):
        out = model((u, x_loc))
        loss = torch.mean(torch.square(out - target))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), scheduler.get_last_lr()[0]]

    # aligned DeepONet: each function paired with one random query point
    model = models["aligned"]
    idx = as_tensor(torch, rng.integers(0, M_SENSORS, size=N_FUNCS))
    y_true = s[torch.arange(N_FUNCS), idx].unsqueeze(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(STEPS):
        y = model((u, x_loc[idx]))
        loss = loss_fn(y, y_true)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    values.append(model.b.item())
    return values
