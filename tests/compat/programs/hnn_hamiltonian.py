"""Hamiltonian Neural Networks as greydanus/hamiltonian-nn writes them (``hnn.py``,
``nn_models.py``, ``utils.py``, ``experiment-spring/train.py`` and its ``data.py``),
size-reduced.

The idioms: the ``MLP`` (``torch.nn.init.orthogonal_(l.weight)`` on each layer, the last
``torch.nn.Linear(hidden_dim, output_dim, bias=None)``, ``choose_nonlinearity('tanh')``
returning ``torch.tanh``); ``HNN`` (``y.split(1,1)`` into the two scalar fields ``F1, F2``,
``torch.zeros_like(x)`` fields, ``torch.autograd.grad(F2.sum(), x, create_graph=True)[0]``,
``dF2 @ self.M.t()`` and ``dF1 @ torch.eye(*self.M.shape)``, ``separate_fields``,
``permutation_tensor`` both ways: canonical ``M = torch.eye(n)`` / ``torch.cat([M[n//2:],
-M[:n//2]])`` and the Levi-Civita form with ``M *= 1 - torch.eye(n)``, ``M[::2] *= -1``, ``M[:,
::2] *= -1`` and the ``M[i,j] *= -1`` loop), ``rk4_time_derivative`` through ``utils.rk4``
(``dt2 = dt / 2.0``, ``k1 = fun(y0, t)``, ``k2 = fun(y0 + dt2 * k1, t + dt2)``, ..., ``dy = dt /
6.0 * (k1 + 2 * k2 + 2 * k3 + k4)``), ``L2_loss`` (``(u-v).pow(2).mean()``), the training
loop (``torch.tensor(data['x'], requires_grad=True)``, ``torch.Tensor(data['dx'])``,
``x[ixs]`` batches, ``dxdt_hat += args.input_noise * noise``, ``Adam(..., weight_decay=1e-4)``,
``loss.backward(); optim.step(); optim.zero_grad()``, the baseline model that regresses
the derivatives directly); the spring data (``q = r*np.cos(t)``, ``p = -r*np.sin(t)`` from
the Hamiltonian ``H = k q^2 + p^2 / (2m)`` sampled with noise); and the rollout of a trained
model, which needs a gradient inside ``torch.no_grad()``: ``torch.enable_grad()`` around
``x.detach().requires_grad_(True)`` (the ``integrate_model`` callback's ``torch.tensor(np_x,
requires_grad=True).view(1,2)`` and ``.data.numpy()``), here with a leapfrog step as well
as RK4. The symplectic field is also written as many re-implementations write it:
``dHdq, dHdp = torch.chunk(dH, 2, dim=-1)``, ``torch.cat([dHdp, -dHdq], dim=-1)``, checked
against ``dH @ M.t()`` with ``M = torch.eye(2).flip(0)`` signed.

Changed: 200 hidden units -> 8, 2000 steps -> 4, 25 trajectories -> 12 points; the batch
indices and noise come from NumPy (``torch.randperm``/``torch.randn`` differ between the
libraries); SciPy's ``solve_ivp`` is a fixed-step RK4 in tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

INPUT_DIM, HIDDEN, LR, STEPS, BATCH, NOISE = 2, 8, 1e-2, 4, 6, 0.05


def make_model(torch_like: Any) -> Any:
    torch = torch_like

    def choose_nonlinearity(name: str) -> Any:
        nl = None
        if name == "tanh":
            nl = torch.tanh
        elif name == "relu":
            nl = torch.relu
        elif name == "sigmoid":
            nl = torch.sigmoid
        else:
            raise ValueError("nonlinearity not recognized")
        return nl

    class MLP(torch.nn.Module):
        """Just a salt-of-the-earth MLP"""

        def __init__(self, input_dim, hidden_dim, output_dim, nonlinearity="tanh"):
            super(MLP, self).__init__()  # noqa: UP008 (as in the repository)
            self.linear1 = torch.nn.Linear(input_dim, hidden_dim)
            self.linear2 = torch.nn.Linear(hidden_dim, hidden_dim)
            self.linear3 = torch.nn.Linear(hidden_dim, output_dim, bias=None)

            for l in [self.linear1, self.linear2, self.linear3]:  # noqa: E741
                torch.nn.init.orthogonal_(l.weight)  # use a principled initialization

            self.nonlinearity = choose_nonlinearity(nonlinearity)

        def forward(self, x, separate_fields=False):
            h = self.nonlinearity(self.linear1(x))
            h = self.nonlinearity(self.linear2(h))
            return self.linear3(h)

    class HNN(torch.nn.Module):
        """Learn arbitrary vector fields that are sums of conservative and solenoidal fields"""

        def __init__(
            self,
            input_dim,
            differentiable_model,
            field_type="solenoidal",
            baseline=False,
            assume_canonical_coords=True,
        ):
            super(HNN, self).__init__()  # noqa: UP008
            self.baseline = baseline
            self.differentiable_model = differentiable_model
            self.assume_canonical_coords = assume_canonical_coords
            self.M = self.permutation_tensor(input_dim)  # Levi-Civita permutation tensor
            self.field_type = field_type

        def forward(self, x):
            # traditional forward pass
            if self.baseline:
                return self.differentiable_model(x)

            y = self.differentiable_model(x)
            assert y.dim() == 2 and y.shape[1] == 2, "Output tensor should have shape [batch, 2]"
            return y.split(1, 1)

        def rk4_time_derivative(self, x, dt):
            return rk4(fun=self.time_derivative, y0=x, t=0, dt=dt)

        def time_derivative(self, x, t=None, separate_fields=False):
            """NEURAL ODE-STLE VECTOR FIELD"""
            if self.baseline:
                return self.differentiable_model(x)

            """NEURAL HAMILTONIAN-STLE VECTOR FIELD"""
            F1, F2 = self.forward(x)  # traditional forward pass

            conservative_field = torch.zeros_like(x)  # start out with both components set to 0
            solenoidal_field = torch.zeros_like(x)

            if self.field_type != "solenoidal":
                dF1 = torch.autograd.grad(F1.sum(), x, create_graph=True)[0]
                conservative_field = dF1 @ torch.eye(*self.M.shape)

            if self.field_type != "conservative":
                dF2 = torch.autograd.grad(F2.sum(), x, create_graph=True)[0]
                solenoidal_field = dF2 @ self.M.t()

            if separate_fields:
                return [conservative_field, solenoidal_field]

            return conservative_field + solenoidal_field

        def permutation_tensor(self, n):
            M = None
            if self.assume_canonical_coords:
                M = torch.eye(n)
                M = torch.cat([M[n // 2 :], -M[: n // 2]])
            else:
                """Constructs the Levi-Civita permutation tensor"""
                M = torch.ones(n, n)  # matrix of ones
                M *= 1 - torch.eye(n)  # clear diagonals
                M[::2] *= -1  # pattern of signs
                M[:, ::2] *= -1

                for i in range(n):  # make asymmetric
                    for j in range(i + 1, n):
                        M[i, j] *= -1
            return M

    def rk4(fun, y0, t, dt, *args, **kwargs):
        dt2 = dt / 2.0
        k1 = fun(y0, t, *args, **kwargs)
        k2 = fun(y0 + dt2 * k1, t + dt2, *args, **kwargs)
        k3 = fun(y0 + dt2 * k2, t + dt2, *args, **kwargs)
        k4 = fun(y0 + dt * k3, t + dt, *args, **kwargs)
        dy = dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return dy

    hnn = HNN(INPUT_DIM, MLP(INPUT_DIM, HIDDEN, 2), field_type="both")
    baseline = HNN(INPUT_DIM, MLP(INPUT_DIM, HIDDEN, INPUT_DIM), baseline=True)
    return torch.nn.ModuleDict({"hnn": hnn, "baseline": baseline})


def get_trajectory(
    rng: np.random.Generator, t_span=(0, 3), timescale=4, radius=None, noise_std=0.1
):
    t_eval = np.linspace(t_span[0], t_span[1], int(timescale * (t_span[1] - t_span[0])))
    # get initial state
    if radius is None:
        radius = rng.random() * 0.9 + 0.1  # sample a range of radii
    q = radius * np.cos(t_eval)
    p = -radius * np.sin(t_eval)
    dqdt, dpdt = p, -q  # dynamics of H = 1/2 q^2 + 1/2 p^2 (k = m = 1)
    # add noise
    q += rng.standard_normal(q.shape) * noise_std
    p += rng.standard_normal(p.shape) * noise_std
    return q, p, dqdt, dpdt, t_eval


def L2_loss(u: Any, v: Any) -> Any:
    return (u - v).pow(2).mean()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model_dict = make_model(torch_like)
    load_numpy_state(torch_like, model_dict, init)
    rng = np.random.default_rng(8)
    q, p, dq, dp, _t = get_trajectory(rng)
    data = {"x": np.stack([q, p]).T, "dx": np.stack([dq, dp]).T}
    values: list[float] = []

    # both permutation tensors, for a 4-d phase space
    canonical = model_dict["hnn"].permutation_tensor(4)
    model_dict["hnn"].assume_canonical_coords = False
    levi_civita = model_dict["hnn"].permutation_tensor(4)
    model_dict["hnn"].assume_canonical_coords = True
    values += canonical.flatten().tolist() + levi_civita.flatten().tolist()

    for name in ("hnn", "baseline"):
        model = model_dict[name]
        optim = torch.optim.Adam(model.parameters(), LR, weight_decay=1e-4)
        x = torch.tensor(data["x"], requires_grad=True, dtype=torch.float64)
        dxdt = torch.Tensor(data["dx"]).to(torch.float64)
        for step in range(STEPS):
            ixs = as_tensor(torch, rng.permutation(x.shape[0])[:BATCH])
            if step % 2:
                dxdt_hat = model.rk4_time_derivative(x[ixs], dt=0.1) / 0.1
            else:
                dxdt_hat = model.time_derivative(x[ixs])
            dxdt_hat += NOISE * as_tensor(torch, rng.standard_normal(tuple(x[ixs].shape)))
            loss = L2_loss(dxdt[ixs], dxdt_hat)
            loss.backward()
            optim.step()
            optim.zero_grad()
            values.append(loss.item())

    model = model_dict["hnn"]
    # the fields apart, and the symplectic gradient in the chunk/cat form
    x = as_tensor(torch, data["x"][:4]).requires_grad_(True)
    conservative, solenoidal = model.time_derivative(x, separate_fields=True)
    H = model(x)[1]
    dH = torch.autograd.grad(H.sum(), x, create_graph=True)[0]
    dHdq, dHdp = torch.chunk(dH, 2, dim=-1)
    field = torch.cat([dHdp, -dHdq], dim=-1)
    M = torch.eye(2).flip(0) * torch.tensor([1.0, -1.0])[:, None]
    values.append((field - solenoidal).abs().max().item())
    values.append((field - dH @ M.t()).abs().max().item())
    values.append(conservative.pow(2).sum().item())
    # second-order: the field's divergence term trains through a double backward
    (solenoidal.pow(2).sum() + field.sum()).backward()
    values.append(sum(p.grad.abs().sum().item() for p in model.parameters()))

    # rollouts without a graph, the gradient switched back on for the field
    state = torch.tensor(data["x"][:1])
    leap = state.clone()
    dt = 0.2
    with torch.no_grad():
        for _ in range(5):
            with torch.enable_grad():
                s = state.detach().requires_grad_(True)
                dy = model.rk4_time_derivative(s, dt=dt)
            state = state + dy.detach()
            # leapfrog on the learned field: half kick, drift, half kick
            with torch.enable_grad():
                s = leap.detach().requires_grad_(True)
                f = model.time_derivative(s)
            qq, pp = leap[:, :1], leap[:, 1:] + 0.5 * dt * f[:, 1:]
            qq = qq + dt * pp
            with torch.enable_grad():
                s = torch.cat([qq, pp], dim=1).requires_grad_(True)
                f = model.time_derivative(s)
            pp = pp + 0.5 * dt * f[:, 1:]
            leap = torch.cat([qq, pp], dim=1)
            values += state.flatten().tolist() + leap.flatten().tolist()
    values.append(float(state.requires_grad) + float(leap.requires_grad))

    def fun(t: float, np_x: np.ndarray) -> np.ndarray:
        x = torch.tensor(np_x, requires_grad=True, dtype=torch.float64).view(1, 2)
        dx = model.time_derivative(x).data.numpy().reshape(-1)
        return dx

    values += fun(0.0, data["x"][2]).tolist()
    return values
