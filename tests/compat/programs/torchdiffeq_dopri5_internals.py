"""torchdiffeq's own adaptive Dormand-Prince solver driving ``examples/ode_demo.py``, as
rtqichen/torchdiffeq writes them (``torchdiffeq/_impl/rk_common.py``, ``dopri5.py``,
``misc.py``, ``interp.py``, ``solvers.py``; ``examples/ode_demo.py``), size-reduced.

The idioms: the ``collections.namedtuple`` ``_ButcherTableau`` / ``_RungeKuttaState``; the
tableau as float64 tensors (``alpha``, a list of ``beta`` rows, ``c_sol``, ``c_error``,
``DPS_C_MID``); ``_UncheckedAssign``, a ``torch.autograd.Function`` whose forward writes
``scratch.data[index] = value`` with an ``(..., i)`` index ("sneak past the version checker") and
returns its input, its backward returning ``grad_scratch[ctx.index]``; ``_runge_kutta_step``
(``torch.empty(*f0.shape, len(tableau.alpha) + 1, dtype=y0.dtype, device=y0.device)``,
``k[..., :i + 1].matmul(beta_i * dt).view_as(f0)``, the ``(tableau.c_sol[:-1] ==
tableau.beta[-1]).all()`` shortcut, ``k.matmul(dt * tableau.c_error)``); ``_PerturbFunc`` with
the ``Perturb`` ``Enum`` and ``_nextafter`` (``torch.nextafter(x1, x2)`` under
``torch.no_grad()`` stitched back to the graph by ``_StitchGradient``); ``_rms_norm``,
``_select_initial_step`` (``max(d1, d2)`` of 0-d tensors, ``torch.min(100 * h0, h1)``),
``_compute_error_ratio`` and the ``@torch.no_grad()``-decorated ``_optimal_step_size``
(``torch.tensor(order, ...).reciprocal()``, ``torch.min(ifactor, torch.max(safety / error_ratio
** exponent, dfactor))``); ``_interp_fit``/``_interp_evaluate`` (the quartic through ``y_mid``,
the ``(t0 <= t) & (t <= t1)`` assertion); ``_advance``'s ``while next_t > self.rk_state.t1``;
``odeint``'s ``solution = torch.empty(len(t), *y0.shape)`` filled by ``solution[i] =
self._advance(t[i])``; the demo: ``Lambda`` with ``torch.mm(y**3, true_A)``, ``true_y`` under
``torch.no_grad()``, ``get_batch`` (``torch.from_numpy(np.random.choice(np.arange(..., dtype=
np.int64), batch_size, replace=False))``, ``torch.stack([true_y[s + i] for i in
range(batch_time)], dim=0)``), ``ODEFunc`` (``nn.init.normal_(m.weight, mean=0, std=0.1)``),
``RunningAverageMeter`` and ``optim.RMSprop``; the test pass under ``torch.no_grad()``.

Changed: 1000 -> 12 time points on [0, 2.5], batch time 10 -> 4, batch size 20 -> 4, hidden 50
-> 6, 4 iterations with a test every 2; the batch indices come from a seeded
``np.random.RandomState``; ``rtol``/``atol`` 1e-3/1e-4 for the training and test solves.
"""

from __future__ import annotations

import collections
from enum import Enum
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DATA_SIZE, BATCH_TIME, BATCH_SIZE, HIDDEN, NITERS, TEST_FREQ = 12, 4, 4, 6, 4, 2

_ButcherTableau = collections.namedtuple("_ButcherTableau", "alpha, beta, c_sol, c_error")
_RungeKuttaState = collections.namedtuple("_RungeKuttaState", "y1, f1, t0, t1, dt, interp_coeff")


class Perturb(Enum):
    NONE = 0
    PREV = 1
    NEXT = 2


def _solver(torch_like: Any) -> Any:
    torch = torch_like

    class _UncheckedAssign(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, scratch: Any, value: Any, index: Any) -> Any:
            ctx.index = index
            scratch.data[index] = value  # sneak past the version checker
            return scratch

        @staticmethod
        def backward(ctx: Any, grad_scratch: Any) -> Any:
            return grad_scratch, grad_scratch[ctx.index], None

    class _StitchGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x1: Any, out: Any) -> Any:
            return out

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            return grad_out, None

    def _nextafter(x1: Any, x2: Any) -> Any:
        with torch.no_grad():
            out = torch.nextafter(x1, x2)
        return _StitchGradient.apply(x1, out)

    class _PerturbFunc(torch.nn.Module):
        def __init__(self, base_func: Any) -> None:
            super().__init__()
            self.base_func = base_func

        def forward(self, t: Any, y: Any, *, perturb: Perturb = Perturb.NONE) -> Any:
            assert isinstance(perturb, Perturb), "perturb argument must be of type Perturb enum"
            if torch.is_complex(t):
                t = t.real
            t = t.to(y.abs().dtype)
            if perturb is Perturb.NEXT:
                t = _nextafter(t, t + 1)
            elif perturb is Perturb.PREV:
                t = _nextafter(t, t - 1)
            else:
                pass
            return self.base_func(t, y)

    def _rms_norm(tensor: Any) -> Any:
        return tensor.abs().pow(2).mean().sqrt()

    def _select_initial_step(func: Any, t0: Any, y0: Any, order: int, rtol: float, atol: float,
                             norm: Any, f0: Any = None) -> Any:  # fmt: skip
        dtype = y0.dtype
        device = y0.device
        t_dtype = t0.dtype
        t0 = t0.to(t_dtype)
        if f0 is None:
            f0 = func(t0, y0)
        scale = atol + torch.abs(y0) * rtol
        d0 = norm(y0 / scale).abs()
        d1 = norm(f0 / scale).abs()
        if d0 < 1e-5 or d1 < 1e-5:
            h0 = torch.tensor(1e-6, dtype=dtype, device=device)
        else:
            h0 = 0.01 * d0 / d1
        h0 = h0.abs()
        y1 = y0 + h0 * f0
        f1 = func(t0 + h0, y1)
        d2 = torch.abs(norm((f1 - f0) / scale) / h0)
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = torch.max(torch.tensor(1e-6, dtype=dtype, device=device), h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / float(order + 1))
        h1 = h1.abs()
        return torch.min(100 * h0, h1).to(t_dtype)

    def _compute_error_ratio(error_estimate: Any, rtol: float, atol: float, y0: Any, y1: Any,
                             norm: Any) -> Any:  # fmt: skip
        error_tol = atol + rtol * torch.max(y0.abs(), y1.abs())
        return norm(error_estimate / error_tol).abs()

    @torch.no_grad()
    def _optimal_step_size(last_step: Any, error_ratio: Any, safety: Any, ifactor: Any,
                           dfactor: Any, order: int) -> Any:  # fmt: skip
        """Calculate the optimal size for the next step."""
        if error_ratio == 0:
            return last_step * ifactor
        if error_ratio < 1:
            dfactor = torch.ones((), dtype=last_step.dtype, device=last_step.device)
        error_ratio = error_ratio.type_as(last_step)
        exponent = torch.tensor(order, dtype=last_step.dtype, device=last_step.device).reciprocal()
        factor = torch.min(ifactor, torch.max(safety / error_ratio**exponent, dfactor))
        return last_step * factor

    def _interp_fit(y0: Any, y1: Any, y_mid: Any, f0: Any, f1: Any, dt: Any) -> list:
        a = 2 * dt * (f1 - f0) - 8 * (y1 + y0) + 16 * y_mid
        b = dt * (5 * f0 - 3 * f1) + 18 * y0 + 14 * y1 - 32 * y_mid
        c = dt * (f1 - 4 * f0) - 11 * y0 - 5 * y1 + 16 * y_mid
        d = dt * f0
        e = y0
        return [e, d, c, b, a]

    def _interp_evaluate(coefficients: list, t0: Any, t1: Any, t: Any) -> Any:
        assert (t0 <= t) & (t <= t1), (
            f"invalid interpolation, fails `t0 <= t <= t1`: {t0}, {t}, {t1}"
        )
        x = (t - t0) / (t1 - t0)
        x = x.to(coefficients[0].dtype)
        total = coefficients[0] + x * coefficients[1]
        x_power = x
        for coefficient in coefficients[2:]:
            x_power = x_power * x
            total = total + x_power * coefficient
        return total

    def _runge_kutta_step(func: Any, y0: Any, f0: Any, t0: Any, dt: Any, t1: Any,
                          tableau: Any) -> Any:  # fmt: skip
        t0 = t0.to(y0.dtype)
        dt = dt.to(y0.dtype)
        if t1 is not None:
            t1 = t1.to(y0.dtype)
        k = torch.empty(*f0.shape, len(tableau.alpha) + 1, dtype=y0.dtype, device=y0.device)
        k = _UncheckedAssign.apply(k, f0, (..., 0))
        for i, (alpha_i, beta_i) in enumerate(zip(tableau.alpha, tableau.beta)):
            if alpha_i == 1.0:
                ti = t1
                perturb = Perturb.PREV
            else:
                ti = t0 + alpha_i * dt
                perturb = Perturb.NONE
            yi = y0 + k[..., : i + 1].matmul(beta_i * dt).view_as(f0)
            f = func(ti, yi, perturb=perturb)
            k = _UncheckedAssign.apply(k, f, (..., i + 1))
        if not (tableau.c_sol[-1] == 0 and (tableau.c_sol[:-1] == tableau.beta[-1]).all()):
            yi = y0 + k.matmul(dt * tableau.c_sol).view_as(f0)
        y1 = yi
        f1 = k[..., -1]
        y1_error = k.matmul(dt * tableau.c_error)
        return y1, f1, y1_error, k

    f64 = torch.float64
    tableau = _ButcherTableau(
        alpha=torch.tensor([1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0], dtype=f64),
        beta=[
            torch.tensor([1 / 5], dtype=f64),
            torch.tensor([3 / 40, 9 / 40], dtype=f64),
            torch.tensor([44 / 45, -56 / 15, 32 / 9], dtype=f64),
            torch.tensor([19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729], dtype=f64),
            torch.tensor(
                [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656], dtype=f64
            ),  # fmt: skip
            torch.tensor([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84], dtype=f64),
        ],
        c_sol=torch.tensor(
            [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0], dtype=f64
        ),  # fmt: skip
        c_error=torch.tensor(
            [
                35 / 384 - 1951 / 21600,
                0,
                500 / 1113 - 22642 / 50085,
                125 / 192 - 451 / 720,
                -2187 / 6784 - -12231 / 42400,
                11 / 84 - 649 / 6300,
                -1.0 / 60.0,
            ],
            dtype=f64,
        ),
    )
    dps_c_mid = torch.tensor(
        [
            6025192743 / 30085553152 / 2, 0, 51252292925 / 65400821598 / 2,
            -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
            -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2,
        ],
        dtype=f64,
    )  # fmt: skip

    class Dopri5Solver:
        order = 5

        def __init__(self, func: Any, y0: Any, rtol: float, atol: float,
                     max_num_steps: int = 2**31 - 1) -> None:  # fmt: skip
            self.func = _PerturbFunc(func)
            self.y0 = y0
            self.rtol, self.atol, self.norm = rtol, atol, _rms_norm
            self.dtype = torch.float64
            self.first_step = None
            self.safety = torch.as_tensor(0.9, dtype=self.dtype)
            self.ifactor = torch.as_tensor(10.0, dtype=self.dtype)
            self.dfactor = torch.as_tensor(0.2, dtype=self.dtype)
            self.max_num_steps = max_num_steps
            self.tableau = _ButcherTableau(
                alpha=tableau.alpha.to(dtype=y0.dtype),
                beta=[b.to(dtype=y0.dtype) for b in tableau.beta],
                c_sol=tableau.c_sol.to(dtype=y0.dtype),
                c_error=tableau.c_error.to(dtype=y0.dtype),
            )
            self.mid = dps_c_mid.to(dtype=y0.dtype)
            self.n_steps = 0

        def integrate(self, t: Any) -> Any:
            solution = torch.empty(len(t), *self.y0.shape, dtype=self.y0.dtype,
                                   device=self.y0.device)  # fmt: skip
            solution[0] = self.y0
            t = t.to(self.dtype)
            self._before_integrate(t)
            for i in range(1, len(t)):
                solution[i] = self._advance(t[i])
            return solution

        def _before_integrate(self, t: Any) -> None:
            f0 = self.func(t[0], self.y0)
            if self.first_step is None:
                first_step = _select_initial_step(
                    self.func, t[0], self.y0, self.order - 1, self.rtol, self.atol, self.norm,
                    f0=f0,
                )  # fmt: skip
            else:
                first_step = self.first_step
            self.rk_state = _RungeKuttaState(self.y0, f0, t[0], t[0], first_step, [self.y0] * 5)

        def _advance(self, next_t: Any) -> Any:
            n_steps = 0
            while next_t > self.rk_state.t1:
                assert n_steps < self.max_num_steps, (
                    f"max_num_steps exceeded ({n_steps}>={self.max_num_steps})"
                )
                self.rk_state = self._adaptive_step(self.rk_state)
                n_steps += 1
            self.n_steps += n_steps
            return _interp_evaluate(
                self.rk_state.interp_coeff, self.rk_state.t0, self.rk_state.t1, next_t
            )

        def _adaptive_step(self, rk_state: Any) -> Any:
            y0, f0, _, t0, dt, interp_coeff = rk_state
            t1 = t0 + dt
            assert t0 + dt > t0, f"underflow in dt {dt.item()}"
            assert torch.isfinite(y0).all(), f"non-finite values in state `y`: {y0}"
            y1, f1, y1_error, k = _runge_kutta_step(self.func, y0, f0, t0, dt, t1,
                                                    tableau=self.tableau)  # fmt: skip
            error_ratio = _compute_error_ratio(y1_error, self.rtol, self.atol, y0, y1, self.norm)
            accept_step = error_ratio <= 1
            if accept_step:
                t_next = t1
                y_next = y1
                interp_coeff = self._interp_fit(y0, y_next, k, dt)
                f_next = f1
            else:
                t_next = t0
                y_next = y0
                f_next = f0
            dt_next = _optimal_step_size(dt, error_ratio, self.safety, self.ifactor,
                                         self.dfactor, self.order)  # fmt: skip
            rk_state = _RungeKuttaState(y_next, f_next, t0, t_next, dt_next, interp_coeff)
            return rk_state

        def _interp_fit(self, y0: Any, y1: Any, k: Any, dt: Any) -> list:
            dt = dt.type_as(y0)
            y_mid = y0 + k.matmul(dt * self.mid).view_as(y0)
            f0 = k[..., 0]
            f1 = k[..., -1]
            return _interp_fit(y0, y1, y_mid, f0, f1, dt)

    def odeint(func: Any, y0: Any, t: Any, rtol: float = 1e-7, atol: float = 1e-9,
               stats: list | None = None) -> Any:  # fmt: skip
        solver = Dopri5Solver(func, y0, rtol=rtol, atol=atol)
        solution = solver.integrate(t)
        if stats is not None:
            stats.append(solver.n_steps)
        return solution

    return odeint


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class ODEFunc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 2))
            for m in self.net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0, std=0.1)
                    nn.init.constant_(m.bias, val=0)

        def forward(self, t: Any, y: Any) -> Any:
            return self.net(y**3)

    return ODEFunc()


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
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    odeint = _solver(torch_like)
    device = torch.device("cpu")
    true_y0 = torch.tensor([[2.0, 0.0]]).to(device)
    t = torch.linspace(0.0, 2.5, DATA_SIZE).to(device)
    true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]]).to(device)

    class Lambda(nn.Module):
        def forward(self, t: Any, y: Any) -> Any:
            return torch.mm(y**3, true_A)

    stats: list = []
    with torch.no_grad():
        true_y = odeint(Lambda(), true_y0, t, stats=stats)
    np_random = np.random.RandomState(5)

    def get_batch() -> tuple[Any, Any, Any]:
        s = torch.from_numpy(
            np_random.choice(
                np.arange(DATA_SIZE - BATCH_TIME, dtype=np.int64), BATCH_SIZE, replace=False
            )
        )
        batch_y0 = true_y[s]
        batch_t = t[:BATCH_TIME]
        batch_y = torch.stack([true_y[s + i] for i in range(BATCH_TIME)], dim=0)
        return batch_y0.to(device), batch_t.to(device), batch_y.to(device)

    func = make_model(torch_like).to(device)
    load_numpy_state(torch_like, func, init)
    optimizer = optim.RMSprop(func.parameters(), lr=1e-2)
    loss_meter = RunningAverageMeter(0.97)
    values: list[float] = [true_y.sum().item()]
    for itr in range(1, NITERS + 1):
        optimizer.zero_grad()
        batch_y0, batch_t, batch_y = get_batch()
        pred_y = odeint(func, batch_y0, batch_t, rtol=1e-3, atol=1e-4, stats=stats).to(device)
        loss = torch.mean(torch.abs(pred_y - batch_y))
        loss.backward()
        optimizer.step()
        loss_meter.update(loss.item())
        values += [loss.item(), loss_meter.avg]
        if itr % TEST_FREQ == 0:
            with torch.no_grad():
                pred_y = odeint(func, true_y0, t, rtol=1e-3, atol=1e-4, stats=stats)
                loss = torch.mean(torch.abs(pred_y - true_y))
                values.append(loss.item())
    values += stats
    return values
