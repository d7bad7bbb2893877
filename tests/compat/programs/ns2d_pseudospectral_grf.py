"""The Navier-Stokes data generator of the Fourier Neural Operator papers, neuraloperator
(``data_generation/navier_stokes/ns_2d.py``: ``navier_stokes_2d``; ``random_fields.py``:
``GaussianRF``), size-reduced and differentiated through.

The idioms kept: ``GaussianRF``'s wavenumbers ``torch.cat((torch.arange(start=0, end=k_max,
step=1), torch.arange(start=-k_max, end=0, step=1)), 0).repeat(size, 1)`` (integer tensors), the
spectrum ``(size**2) * math.sqrt(2.0) * sigma * ((4 * (math.pi**2) * (k_x**2 + k_y**2) +
tau**2) ** (-alpha / 2.0))`` with ``self.sqrt_eig[0, 0] = 0.0``, and ``sample`` as
``torch.randn(N, *self.size, dtype=torch.cfloat)`` scaled and brought back by
``torch.fft.ifftn(coeff, dim=list(range(-1, -self.dim - 1, -1))).real``; the solver:
``w_h = torch.fft.rfft2(w0)``, ``f_h = torch.fft.rfft2(f)`` unsqueezed for a shared forcing,
``math.floor`` / ``math.ceil`` step counts, the truncated wavenumber grids ``k_x[..., :k_max +
1]``, the negative Laplacian with ``lap[0, 0] = 1.0``, the dealiasing mask
``torch.unsqueeze(torch.logical_and(torch.abs(k_y) <= (2.0 / 3.0) * k_max, torch.abs(k_x) <=
(2.0 / 3.0) * k_max).float(), 0)``, the stream function ``psi_h = w_h / lap``, velocities and
vorticity gradients as ``2. * math.pi * k_y * 1j * psi_h`` (an integer tensor times a Python
complex) brought back by ``torch.fft.irfft2(q, s=(N, N))``, the non-linear term
``torch.fft.rfft2(q * w_x + v * w_y)`` dealiased, the Crank-Nicolson update, and recording
``sol[..., c] = w`` / ``sol_t[c] = t``; the script's forcing ``0.1 * (torch.sin(2 * math.pi * (X
+ Y)) + torch.cos(2 * math.pi * (X + Y)))`` on ``torch.meshgrid(t, t, indexing='ij')`` and the
batch loop ``a[c:(c + bsize), ...] = w0``.

Changed: resolution 256 -> 16, N 20 -> 4 samples in batches of 2, T 50 -> 0.0625 with
``delta_t`` 1e-4 -> 1/128 and 10 -> 4 recorded steps, viscosity 1e-3 -> 1e-2; ``scipy.io.savemat``
dropped; added: the solver is run a second time on a forcing amplitude that requires grad and
the final enstrophy is differentiated through every FFT (a differentiable-solver use of the
same code), with one gradient-descent step on the amplitude.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["run"]

# The random field is drawn and inverted in complex64 (``dtype=torch.cfloat``, as the script):
# PyTorch's vectorised float32 Box-Muller and its complex64 FFT round the last bits their own
# way (chainrule's are float32-accurate, not bit-equal), which moves the float64 results that
# follow by a few parts in 1e9.
RTOL = 1e-7


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like

    class GaussianRF:
        def __init__(self, dim, size, alpha=2, tau=3, sigma=None, boundary="periodic",
                     device=None):  # noqa: ANN001 # fmt: skip
            self.dim = dim
            self.device = device

            if sigma is None:
                sigma = tau ** (0.5 * (2 * alpha - self.dim))

            k_max = size // 2

            if dim == 1:
                k = torch.cat(
                    (
                        torch.arange(start=0, end=k_max, step=1, device=device),
                        torch.arange(start=-k_max, end=0, step=1, device=device),
                    ),
                    0,
                )

                self.sqrt_eig = (
                    size
                    * math.sqrt(2.0)
                    * sigma
                    * ((4 * (math.pi**2) * (k**2) + tau**2) ** (-alpha / 2.0))
                )
                self.sqrt_eig[0] = 0.0

            elif dim == 2:
                wavenumers = torch.cat(
                    (
                        torch.arange(start=0, end=k_max, step=1, device=device),
                        torch.arange(start=-k_max, end=0, step=1, device=device),
                    ),
                    0,
                ).repeat(size, 1)

                k_x = wavenumers.transpose(0, 1)
                k_y = wavenumers

                self.sqrt_eig = (
                    (size**2)
                    * math.sqrt(2.0)
                    * sigma
                    * ((4 * (math.pi**2) * (k_x**2 + k_y**2) + tau**2) ** (-alpha / 2.0))
                )
                self.sqrt_eig[0, 0] = 0.0

            self.size = []
            for _j in range(self.dim):
                self.size.append(size)

            self.size = tuple(self.size)

        def sample(self, N):  # noqa: ANN001, ANN201, N803
            coeff = torch.randn(N, *self.size, dtype=torch.cfloat, device=self.device)
            coeff = self.sqrt_eig * coeff

            return torch.fft.ifftn(coeff, dim=list(range(-1, -self.dim - 1, -1))).real

    # w0: initial vorticity
    # f: forcing term
    # visc: viscosity (1/Re)
    # T: final time
    # delta_t: internal time-step for solve (descrease if blow-up)
    # record_steps: number of in-time snapshots to record
    def navier_stokes_2d(w0, f, visc, T, delta_t=1e-4, record_steps=1):  # noqa: ANN001, ANN202, N803
        # Grid size - must be power of 2
        N = w0.size()[-1]

        # Maximum frequency
        k_max = math.floor(N / 2.0)

        # Number of steps to final time
        steps = math.ceil(T / delta_t)

        # Initial vorticity to Fourier space
        w_h = torch.fft.rfft2(w0)

        # Forcing to Fourier space
        f_h = torch.fft.rfft2(f)

        # If same forcing for the whole batch
        if len(f_h.size()) < len(w_h.size()):
            f_h = torch.unsqueeze(f_h, 0)

        # Record solution every this number of steps
        record_time = math.floor(steps / record_steps)

        # Wavenumbers in y-direction
        k_y = torch.cat(
            (
                torch.arange(start=0, end=k_max, step=1, device=w0.device),
                torch.arange(start=-k_max, end=0, step=1, device=w0.device),
            ),
            0,
        ).repeat(N, 1)
        # Wavenumbers in x-direction
        k_x = k_y.transpose(0, 1)

        # Truncate redundant modes
        k_x = k_x[..., : k_max + 1]
        k_y = k_y[..., : k_max + 1]

        # Negative Laplacian in Fourier space
        lap = 4 * (math.pi**2) * (k_x**2 + k_y**2)
        lap[0, 0] = 1.0

        # Dealiasing mask
        dealias = torch.unsqueeze(
            torch.logical_and(
                torch.abs(k_y) <= (2.0 / 3.0) * k_max, torch.abs(k_x) <= (2.0 / 3.0) * k_max
            ).float(),
            0,
        )

        # Saving solution and time
        sol = torch.zeros(*w0.size(), record_steps, device=w0.device)
        sol_t = torch.zeros(record_steps, device=w0.device)

        # Record counter
        c = 0
        # Physical time
        t = 0.0
        for j in range(steps):
            # Stream function in Fourier space: solve Poisson equation
            psi_h = w_h / lap

            # Velocity field in x-direction = psi_y
            q = 2.0 * math.pi * k_y * 1j * psi_h
            q = torch.fft.irfft2(q, s=(N, N))

            # Velocity field in y-direction = -psi_x
            v = -2.0 * math.pi * k_x * 1j * psi_h
            v = torch.fft.irfft2(v, s=(N, N))

            # Partial x of vorticity
            w_x = 2.0 * math.pi * k_x * 1j * w_h
            w_x = torch.fft.irfft2(w_x, s=(N, N))

            # Partial y of vorticity
            w_y = 2.0 * math.pi * k_y * 1j * w_h
            w_y = torch.fft.irfft2(w_y, s=(N, N))

            # Non-linear term (u.grad(w)): compute in physical space then back to Fourier space
            F_h = torch.fft.rfft2(q * w_x + v * w_y)

            # Dealias
            F_h = dealias * F_h

            # Crank-Nicolson update
            w_h = (-delta_t * F_h + delta_t * f_h + (1.0 - 0.5 * delta_t * visc * lap) * w_h) / (
                1.0 + 0.5 * delta_t * visc * lap
            )

            # Update real time (used only for recording)
            t += delta_t

            if (j + 1) % record_time == 0:
                # Solution in physical space
                w = torch.fft.irfft2(w_h, s=(N, N))

                # Record solution and time
                sol[..., c] = w
                sol_t[c] = t

                c += 1

        return sol, sol_t

    torch.manual_seed(0)

    # Resolution
    s = 16

    # Number of solutions to generate
    N = 4

    # Set up 2d GRF with covariance parameters
    GRF = GaussianRF(2, s, alpha=2.5, tau=7)

    # Forcing function: 0.1*(sin(2pi(x+y)) + cos(2pi(x+y)))
    t = torch.linspace(0, 1, s + 1)
    t = t[0:-1]

    X, Y = torch.meshgrid(t, t, indexing="ij")
    f = 0.1 * (torch.sin(2 * math.pi * (X + Y)) + torch.cos(2 * math.pi * (X + Y)))

    # Number of snapshots from solution
    record_steps = 4

    # Inputs
    a = torch.zeros(N, s, s)
    # Solutions
    u = torch.zeros(N, s, s, record_steps)

    # Solve equations in batches (order of magnitude speed-up)

    # Batch size
    bsize = 2

    c = 0
    for _j in range(N // bsize):
        # Sample random feilds
        w0 = GRF.sample(bsize)

        # Solve NS
        sol, sol_t = navier_stokes_2d(w0, f, 1e-2, 0.0625, 0.0078125, record_steps)

        a[c : (c + bsize), ...] = w0
        u[c : (c + bsize), ...] = sol

        c += bsize

    values: list[float] = [a.abs().sum().item(), a.pow(2).mean().item()]
    values += [u[..., k].pow(2).mean().item() for k in range(record_steps)]
    values += [u.sum().item(), sol_t.sum().item(), GRF.sqrt_eig.sum().item()]

    # differentiate the final enstrophy w.r.t. the forcing amplitude, through every FFT
    amp = torch.tensor(1.0, requires_grad=True)
    for _ in range(2):
        sol, _ = navier_stokes_2d(a[:2], amp * f, 1e-2, 0.0625, 0.0078125, 1)
        enstrophy = sol[..., -1].pow(2).mean()
        (g,) = torch.autograd.grad(enstrophy, amp)
        values += [enstrophy.item(), g.item()]
        with torch.no_grad():
            amp -= 10.0 * g
    return values
