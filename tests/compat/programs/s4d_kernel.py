"""S4D as state-spaces/s4 writes it in its minimal standalone files (``models/s4/s4d.py``,
``example.py``'s ``S4Model`` and ``setup_optimizer``), size-reduced.

The idioms: ``S4DKernel`` keeping the complex ``C = torch.randn(H, N // 2,
dtype=torch.cfloat)`` as ``nn.Parameter(torch.view_as_real(C))`` and reading it back with
``torch.view_as_complex(self.C)``; ``log_dt = torch.rand(H) * (math.log(dt_max) -
math.log(dt_min)) + math.log(dt_min)``; ``log_A_real = torch.log(0.5 * torch.ones(H, N//2))``
and ``A_imag = math.pi * repeat(torch.arange(N//2), 'n -> h n', h=H)``; the ``register``
helper (``self.register_buffer(name, tensor)`` when ``lr == 0.0``, else
``self.register_parameter(name, nn.Parameter(tensor))`` and ``setattr(getattr(self, name),
"_optim", optim)``); the kernel ``A = -torch.exp(self.log_A_real) + 1j * self.A_imag``,
``dtA = A * dt.unsqueeze(-1)``, ``K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device)``,
``C = C * (torch.exp(dtA)-1.) / A``, ``K = 2 * torch.einsum('hn, hnl -> hl', C,
torch.exp(K)).real``; ``S4D.forward``'s FFT convolution (``torch.fft.rfft(k, n=2*L)``,
``torch.fft.rfft(u, n=2*L)``, ``torch.fft.irfft(u_f*k_f, n=2*L)[..., :L]``), the skip ``u *
self.D.unsqueeze(-1)``, ``nn.GELU()`` and the ``nn.Conv1d(self.h, 2*self.h, kernel_size=1)``
+ ``nn.GLU(dim=-2)`` output; ``DropoutNd`` (``torch.rand(X.shape[:2], device=X.device) <
1.-self.p``, ``rearrange(mask, 'b d -> b d 1')``, ``X * mask * (1.0/(1-self.p))``, the
identity in eval); ``S4Model`` (``nn.ModuleList`` of ``S4D`` / ``nn.LayerNorm`` /
``dropout_fn``, ``x.transpose(-1, -2)`` around each layer, prenorm and residual, ``x =
x.mean(dim=1)``); and ``setup_optimizer`` (``[p for p in all_parameters if not hasattr(p,
"_optim")]``, ``optim.AdamW(params, lr=lr, weight_decay=weight_decay)``, ``hps = [dict(s) for
s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in hps)))]``,
``optimizer.add_param_group({"params": params, **hp})``, ``CosineAnnealingLR`` and the
``"Optimizer group {i}"`` printout from ``g.get(k, None)``).

Changed: ``einops.repeat`` / ``rearrange`` are written with ``expand`` / ``unsqueeze``
(einops is not a dependency here); sizes (H = 4, N = 8, L = 16, 2 layers); dropout 0 during
training (its random mask cannot agree between frameworks; ``DropoutNd`` is checked in eval
and for its shape and scaling in training); the optimizer's printout is collected, not
printed. ``C`` stays ``cfloat`` as in s4d.py, so the values read through it (its gradient's
sum, its modulus after AdamW) agree to float32 rounding, not float64's: PyTorch's float32 CPU
kernels fuse multiply-adds (``lerp_``/``addcmul_`` in Adam's moments) and sum in their own
order (hence RTOL 1e-6).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["make_model", "run"]

RTOL = 1e-6
D_INPUT, D_MODEL, D_STATE, N_LAYERS, D_OUTPUT, L, BATCH = 2, 4, 8, 2, 3, 16, 5


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class DropoutNd(nn.Module):
        def __init__(self, p: float = 0.5, tie: bool = True, transposed: bool = True) -> None:
            super().__init__()
            if p < 0 or p >= 1:
                raise ValueError(f"dropout probability has to be in [0, 1), but got {p}")
            self.p = p
            self.tie = tie
            self.transposed = transposed
            self.binomial = torch.distributions.binomial.Binomial(probs=1 - self.p)

        def forward(self, X: Any) -> Any:
            """X: (batch, dim, lengths...)."""
            if self.training:
                if not self.transposed:
                    X = X.transpose(-1, -2)
                mask_shape = X.shape[:2] + (1,) * (X.ndim - 2) if self.tie else X.shape
                mask = torch.rand(*mask_shape, device=X.device) < 1.0 - self.p
                X = X * mask * (1.0 / (1 - self.p))
                if not self.transposed:
                    X = X.transpose(-1, -2)
                return X
            return X

    class S4DKernel(nn.Module):
        """Generate convolution kernel from diagonal SSM parameters."""

        def __init__(
            self,
            d_model: int,
            N: int = 64,
            dt_min: float = 0.001,
            dt_max: float = 0.1,
            lr: float | None = None,
        ) -> None:
            super().__init__()
            # Generate dt
            H = d_model
            log_dt = torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)

            C = torch.randn(H, N // 2, dtype=torch.cfloat)
            self.C = nn.Parameter(torch.view_as_real(C))
            self.register("log_dt", log_dt, lr)

            log_A_real = torch.log(0.5 * torch.ones(H, N // 2))
            A_imag = math.pi * torch.arange(N // 2).unsqueeze(0).expand(H, N // 2)
            self.register("log_A_real", log_A_real, lr)
            self.register("A_imag", A_imag, lr)

        def forward(self, L: int) -> Any:
            """returns: (..., c, L) where c is number of channels (default 1)"""
            # Materialize parameters
            dt = torch.exp(self.log_dt)  # (H)
            C = torch.view_as_complex(self.C)  # (H N)
            A = -torch.exp(self.log_A_real) + 1j * self.A_imag  # (H N)

            # Vandermonde multiplication
            dtA = A * dt.unsqueeze(-1)  # (H N)
            K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device)  # (H N L)
            C = C * (torch.exp(dtA) - 1.0) / A
            K = 2 * torch.einsum("hn, hnl -> hl", C, torch.exp(K)).real
            return K

        def register(self, name: str, tensor: Any, lr: float | None = None) -> None:
            """Register a tensor with a configurable learning rate and 0 weight decay"""
            if lr == 0.0:
                self.register_buffer(name, tensor)
            else:
                self.register_parameter(name, nn.Parameter(tensor))
                optim = {"weight_decay": 0.0}
                if lr is not None:
                    optim["lr"] = lr
                setattr(getattr(self, name), "_optim", optim)  # noqa: B010 (as in s4d.py)

    class S4D(nn.Module):
        def __init__(
            self,
            d_model: int,
            d_state: int = 64,
            dropout: float = 0.0,
            transposed: bool = True,
            **kernel_args: Any,
        ) -> None:
            super().__init__()
            self.h = d_model
            self.n = d_state
            self.d_output = self.h
            self.transposed = transposed

            self.D = nn.Parameter(torch.randn(self.h))

            # SSM Kernel
            self.kernel = S4DKernel(self.h, N=self.n, **kernel_args)

            # Pointwise
            self.activation = nn.GELU()
            dropout_fn = DropoutNd
            self.dropout = dropout_fn(dropout) if dropout > 0.0 else nn.Identity()

            # position-wise output transform to mix features
            self.output_linear = nn.Sequential(
                nn.Conv1d(self.h, 2 * self.h, kernel_size=1),
                nn.GLU(dim=-2),
            )

        def forward(self, u: Any, **kwargs: Any) -> tuple:
            """Input and output shape (B, H, L)"""
            if not self.transposed:
                u = u.transpose(-1, -2)
            L = u.size(-1)

            # Compute SSM Kernel
            k = self.kernel(L=L)  # (H L)

            # Convolution
            k_f = torch.fft.rfft(k, n=2 * L)  # (H L)
            u_f = torch.fft.rfft(u, n=2 * L)  # (B H L)
            y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]  # (B H L)

            # Compute D term in state space equation - essentially a skip connection
            y = y + u * self.D.unsqueeze(-1)

            y = self.dropout(self.activation(y))
            y = self.output_linear(y)
            if not self.transposed:
                y = y.transpose(-1, -2)
            return y, None  # Return a dummy state to satisfy this repo's interface

    class S4Model(nn.Module):
        def __init__(
            self,
            d_input: int,
            d_output: int = 10,
            d_model: int = 256,
            n_layers: int = 4,
            dropout: float = 0.2,
            prenorm: bool = False,
            lr: float = 0.001,
        ) -> None:
            super().__init__()
            self.prenorm = prenorm
            self.encoder = nn.Linear(d_input, d_model)
            self.s4_layers = nn.ModuleList()
            self.norms = nn.ModuleList()
            self.dropouts = nn.ModuleList()
            for _ in range(n_layers):
                self.s4_layers.append(
                    S4D(
                        d_model,
                        d_state=D_STATE,
                        dropout=dropout,
                        transposed=True,
                        lr=min(0.001, lr),
                    )
                )
                self.norms.append(nn.LayerNorm(d_model))
                self.dropouts.append(DropoutNd(dropout) if dropout > 0.0 else nn.Identity())
            self.decoder = nn.Linear(d_model, d_output)

        def forward(self, x: Any) -> Any:
            """Input x is shape (B, L, d_input)"""
            x = self.encoder(x)  # (B, L, d_input) -> (B, L, d_model)
            x = x.transpose(-1, -2)  # (B, L, d_model) -> (B, d_model, L)
            for layer, norm, dropout in zip(self.s4_layers, self.norms, self.dropouts):
                z = x
                if self.prenorm:
                    z = norm(z.transpose(-1, -2)).transpose(-1, -2)
                z, _ = layer(z)
                z = dropout(z)
                x = z + x
                if not self.prenorm:
                    x = norm(x.transpose(-1, -2)).transpose(-1, -2)
            x = x.transpose(-1, -2)
            x = x.mean(dim=1)
            return self.decoder(x)

    return DropoutNd, S4Model


def make_model(torch_like: Any) -> Any:
    _, S4Model = _classes(torch_like)
    return S4Model(
        D_INPUT,
        d_output=D_OUTPUT,
        d_model=D_MODEL,
        n_layers=N_LAYERS,
        dropout=0.0,
        prenorm=True,
        lr=0.01,
    )


def setup_optimizer(
    torch_like: Any, model: Any, lr: float, weight_decay: float, epochs: int
) -> tuple:
    optim = torch_like.optim
    all_parameters = list(model.parameters())
    params = [p for p in all_parameters if not hasattr(p, "_optim")]
    optimizer = optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    hps = [getattr(p, "_optim") for p in all_parameters if hasattr(p, "_optim")]  # noqa: B009
    hps = [dict(s) for s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in hps)))]  # noqa: C414
    for hp in hps:
        params = [p for p in all_parameters if getattr(p, "_optim", None) == hp]
        optimizer.add_param_group({"params": params, **hp})
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    keys = sorted({k for hp in hps for k in hp.keys()})
    lines = []
    for i, g in enumerate(optimizer.param_groups):
        group_hps = {k: g.get(k, None) for k in keys}
        lines.append(
            " | ".join(
                [f"Optimizer group {i}", f"{len(g['params'])} tensors"]
                + [f"{k} {v}" for k, v in group_hps.items()]
            )
        )
    return optimizer, scheduler, lines


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    DropoutNd, _ = _classes(torch_like)
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    rng = np.random.default_rng(4)
    values: list[float] = []
    kernel = model.s4_layers[0].kernel
    values += [float(kernel.C.dtype == torch.float32), *kernel.C.shape]
    values += [float(torch.view_as_complex(kernel.C).dtype == torch.complex64)]
    values += [float(kernel.log_dt._optim == {"weight_decay": 0.0, "lr": 0.001})]

    optimizer, scheduler, lines = setup_optimizer(
        torch, model, lr=0.01, weight_decay=0.01, epochs=4
    )
    values += [float(len(optimizer.param_groups)), float(len(lines[0])), float(len(lines[1]))]
    values += [float(lines[1] == "Optimizer group 1 | 6 tensors | lr 0.001 | weight_decay 0.0")]
    for _epoch in range(4):
        x = as_tensor(torch_like, rng.standard_normal((BATCH, L, D_INPUT)))
        target = as_tensor(torch_like, rng.integers(0, D_OUTPUT, BATCH))
        model.train()
        optimizer.zero_grad()
        outputs = model(x)
        loss = F.cross_entropy(outputs, target)
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [
            loss.item(),
            kernel.C.grad.abs().sum().item(),
            kernel.log_A_real.grad.norm().item(),
        ]
        values += [g["lr"] for g in optimizer.param_groups]

    with torch.no_grad():
        k = kernel(L=L)
        values += [float(k.dtype == torch.float64), *k.shape] + k[0, :6].tolist()
        values += torch.view_as_complex(kernel.C)[0].abs().tolist()

    # the complex kernel's gradient against a direct recurrence-free check: d/dC of sum(K)
    C = torch.view_as_complex(kernel.C.detach().clone()).to(torch.complex128).requires_grad_(True)
    dt = torch.exp(kernel.log_dt.detach())
    A = -torch.exp(kernel.log_A_real.detach()) + 1j * kernel.A_imag.detach()
    dtA = A * dt.unsqueeze(-1)
    Kc = (C * (torch.exp(dtA) - 1.0) / A).unsqueeze(-1) * torch.exp(
        dtA.unsqueeze(-1) * torch.arange(L)
    )
    Kc.sum(-2).real.pow(2).sum().backward()
    values += torch.view_as_real(C.grad).flatten()[:8].tolist()

    drop = DropoutNd(0.5)
    h = as_tensor(torch_like, rng.standard_normal((3, 4, 6)))
    drop.eval()
    values += [float(torch.equal(drop(h), h))]
    drop.train()
    torch.manual_seed(0)
    dropped = drop(h)
    kept = dropped != 0
    values += [*dropped.shape, float(torch.equal(kept.all(-1), kept.any(-1)))]
    values += [float(torch.allclose(dropped[kept], 2 * h[kept]))]
    return values
