"""Neural ODEs as torchdiffeq's ``examples/ode_demo.py`` trains them, with the solvers written
by hand the way torchdiffeq's ``rk_common`` / ``fixed_grid`` code and its many from-scratch
copies write them, size-reduced: an ``ODEFunc(nn.Module)`` with ``forward(self, t, y)`` and an
``nfe`` counter, ``nn.init.normal_(m.weight, mean=0, std=0.1)`` / ``nn.init.constant_(m.bias,
val=0)`` in a ``for m in self.net.modules(): if isinstance(m, nn.Linear)`` loop, the true
dynamics ``torch.mm(y ** 3, true_A)``; a fixed-step RK4 integrator (``k1 = func(t, y)``, ...,
``y + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6``) and an adaptive Dormand--Prince (dopri5)
integrator (the Butcher tableau as Python lists, ``torch.stack`` of the stages, the embedded
error ``y1 - y1_hat``, ``error_tol = atol + rtol * torch.max(y0.abs(), y1.abs())``, the RMS
norm ``torch.linalg.vector_norm(error / error_tol) / math.sqrt(error.numel())``, the step
factor ``torch.clamp(safety * error_ratio ** -0.2, ifactor_min, ifactor_max)``, ``while t <
t_end`` with ``.item()`` conversions and a last step cut to land on each requested time);
``odeint(func, y0, t, method=...)`` returning ``torch.stack(solution)``; ``get_batch`` (``s =
torch.from_numpy(np.random.choice(np.arange(data_size - batch_time, dtype=np.int64),
batch_size, replace=False))``, ``batch_y0 = true_y[s]``, ``batch_t = t[:batch_time]``,
``torch.stack([true_y[s + i] for i in range(batch_time)], dim=0)``); the training loop with
``optim.RMSprop`` swapped for ``Adam`` (``torch.mean(torch.abs(pred_y - batch_y))``, backprop
through the solver, not the adjoint) and the ``RunningAverageMeter``; and
``torch.autograd.functional.jacobian`` of the learned vector field at a point (checked against
the one built row by row with ``torch.autograd.grad``).

Changed: 1000 time points and 2000 iterations -> 20 points and 3 steps; the hidden width 50 ->
12; the batch indices come from a seeded NumPy generator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["check", "make_model", "run"]

DATA_SIZE, BATCH_TIME, BATCH_SIZE, STEPS, HIDDEN = 20, 5, 4, 3, 12

# Dormand--Prince 5(4) tableau
DP_C = [0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]
DP_A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
DP_B = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0]
DP_B_HAT = [5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class ODEFunc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(2, HIDDEN),
                nn.Tanh(),
                nn.Linear(HIDDEN, 2),
            )
            self.nfe = 0
            for m in self.net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0, std=0.1)
                    nn.init.constant_(m.bias, val=0)

        def forward(self, t: Any, y: Any) -> Any:
            self.nfe += 1
            return self.net(y**3)

    return ODEFunc()


def rk4_step(func: Any, t: Any, dt: Any, y: Any) -> Any:
    k1 = func(t, y)
    k2 = func(t + dt / 2, y + dt * k1 / 2)
    k3 = func(t + dt / 2, y + dt * k2 / 2)
    k4 = func(t + dt, y + dt * k3)
    return y + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6


def dopri5_step(torch: Any, func: Any, t: float, dt: float, y: Any) -> tuple[Any, Any]:
    """One Dormand--Prince step: the 5th-order solution and the embedded error estimate."""
    k = [func(t, y)]
    for i in range(1, 7):
        dy = sum(a * ki for a, ki in zip(DP_A[i], k, strict=False))
        k.append(func(t + DP_C[i] * dt, y + dt * dy))
    K = torch.stack(k)  # [7, *y.shape]
    b = torch.tensor(DP_B, dtype=y.dtype).view(-1, *([1] * y.dim()))
    b_hat = torch.tensor(DP_B_HAT, dtype=y.dtype).view(-1, *([1] * y.dim()))
    y1 = y + dt * (b * K).sum(0)
    y1_hat = y + dt * (b_hat * K).sum(0)
    return y1, y1 - y1_hat


def dopri5(
    torch: Any, func: Any, y0: Any, t0: float, t1: float, dt: float, rtol: float, atol: float
) -> tuple[Any, float, int]:
    """Integrate from t0 to t1 with error control; returns y(t1), the next step and the count."""
    safety, ifactor_min, ifactor_max = 0.9, 0.2, 10.0
    t, y, accepted = t0, y0, 0
    while t < t1:
        dt = min(dt, t1 - t)
        y1, error = dopri5_step(torch, func, t, dt, y)
        error_tol = atol + rtol * torch.max(y.abs(), y1.abs())
        ratio = error / error_tol
        error_ratio = torch.linalg.vector_norm(ratio) / math.sqrt(ratio.numel())
        rms = ratio.pow(2).mean().sqrt()
        assert abs(rms.item() - error_ratio.item()) < 1e-12
        if error_ratio.item() <= 1.0:
            t, y, accepted = t + dt, y1, accepted + 1
        factor = torch.clamp(
            safety * error_ratio.detach() ** -0.2, min=ifactor_min, max=ifactor_max
        )
        dt = dt * factor.item()
    return y, dt, accepted


def odeint(torch: Any, func: Any, y0: Any, t: Any, method: str = "rk4", **kw: Any) -> Any:
    solution = [y0]
    y = y0
    dt = kw.get("first_step", 0.05)
    for i in range(1, t.shape[0]):
        t0, t1 = t[i - 1], t[i]
        if method == "rk4":
            n = kw.get("substeps", 2)
            h = (t1 - t0) / n
            for j in range(n):
                y = rk4_step(func, t0 + j * h, h, y)
        else:
            y, dt, _ = dopri5(
                torch, func, y, t0.item(), t1.item(), dt, kw.get("rtol", 1e-5), kw.get("atol", 1e-7)
            )
        solution.append(y)
    return torch.stack(solution)


class RunningAverageMeter:
    """Computes and stores the average and current value"""

    def __init__(self, momentum: float = 0.99) -> None:
        self.momentum = momentum
        self.reset()

    def reset(self) -> None:
        self.val = None
        self.avg = 0

    def update(self, val: float) -> None:
        if self.val is None:
            self.avg = val
        else:
            self.avg = self.avg * self.momentum + val * (1 - self.momentum)
        self.val = val


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    rng = np.random.default_rng(7)
    func = make_model(torch)
    load_numpy_state(torch, func, init)
    true_y0 = torch.tensor([[2.0, 0.0]])
    t = torch.linspace(0.0, 2.0, DATA_SIZE)
    true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])

    class Lambda(nn.Module):
        def forward(self, t: Any, y: Any) -> Any:
            return torch.mm(y**3, true_A)

    values: list[float] = []
    with torch.no_grad():
        true_y = odeint(torch, Lambda(), true_y0, t, method="dopri5")
        rk = odeint(torch, Lambda(), true_y0, t, method="rk4", substeps=4)
    values += true_y[:, 0].flatten().tolist() + [(true_y - rk).abs().max().item()]

    def get_batch() -> tuple[Any, Any, Any]:
        s = torch.from_numpy(
            rng.choice(np.arange(DATA_SIZE - BATCH_TIME, dtype=np.int64), BATCH_SIZE, replace=False)
        )
        batch_y0 = true_y[s]  # (M, D)
        batch_t = t[:BATCH_TIME]  # (T)
        batch_y = torch.stack([true_y[s + i] for i in range(BATCH_TIME)], dim=0)  # (T, M, D)
        return batch_y0, batch_t, batch_y

    optimizer = torch.optim.Adam(func.parameters(), lr=1e-2)
    loss_meter = RunningAverageMeter(0.97)
    for itr in range(1, STEPS + 1):
        optimizer.zero_grad()
        batch_y0, batch_t, batch_y = get_batch()
        func.nfe = 0
        pred_y = odeint(torch, func, batch_y0, batch_t, method="dopri5", first_step=0.1)
        loss = torch.mean(torch.abs(pred_y - batch_y))
        nfe_forward = func.nfe
        loss.backward()
        optimizer.step()
        loss_meter.update(loss.item())
        values += [loss.item(), loss_meter.avg, float(nfe_forward), float(itr)]
        values += func.net[0].weight.grad.flatten().tolist()
    with torch.no_grad():
        pred_y = odeint(torch, func, true_y0, t, method="rk4")
        values += [torch.mean(torch.abs(pred_y - true_y)).item()]
    # the Jacobian of the learned vector field at a point, two ways
    y = torch.tensor([0.5, -1.0])
    jac = torch.autograd.functional.jacobian(lambda v: func(0.0, v), y)
    yy = y.clone().requires_grad_(True)
    out = func(0.0, yy)
    rows = [torch.autograd.grad(out[i], yy, retain_graph=True)[0] for i in range(2)]
    values += jac.flatten().tolist() + [(jac - torch.stack(rows)).abs().max().item()]
    jac_c = torch.autograd.functional.jacobian(lambda v: func(0.0, v), y, create_graph=True)
    values += [float(jac_c.requires_grad), jac.trace().item()]
    return values


def check(values: list[float]) -> None:
    assert values[2 * DATA_SIZE] < 1e-3  # RK4 and dopri5 agree on the true dynamics
    assert values[-3] < 1e-12  # the two Jacobians agree
    assert values[-2] == 1.0
