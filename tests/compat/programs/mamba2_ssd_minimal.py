"""Mamba-2's "minimal SSD" (state-spaces/mamba, ``mamba_ssm/modules/ssd_minimal.py``) inside a
small ``Mamba2Simple``-style block (``mamba_ssm/modules/mamba2_simple.py``), size-reduced.

The idioms: ``segsum`` both ways the file writes it, the naive one (``x_cumsum =
torch.cumsum(x, dim=-1)``, ``x_cumsum[..., :, None] - x_cumsum[..., None, :]``) and the stable
one (``x`` repeated along a new last dim, ``torch.tril(torch.ones(T, T, device=x.device,
dtype=bool), diagonal=-1)``, ``x.masked_fill(~mask, 0)``, ``torch.cumsum(x, dim=-2)``, then
``masked_fill(~mask, -torch.inf)`` on the ``diagonal=0`` mask); ``ssd_minimal_discrete``
(chunking ``b (c l) ... -> b c l ...`` and ``b c l h -> b h c l`` written with ``view`` /
``permute`` in place of einops' ``rearrange``, ``A_cumsum = torch.cumsum(A, dim=-1)``, ``L =
torch.exp(segsum(A))``, ``torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, L, X)``,
``decay_states = torch.exp((A_cumsum[:, :, :, -1:] - A_cumsum))``, ``torch.einsum(
"bclhn,bhcl,bclhp->bchpn", ...)``, ``initial_states = torch.zeros_like(states[:, :1])``,
``decay_chunk = torch.exp(segsum(F.pad(A_cumsum[:, :, :, -1], (1, 0))))``,
``torch.einsum("bhzc,bchpn->bzhpn", ...)``, ``new_states[:, :-1], new_states[:, -1]``,
``torch.einsum('bclhn,bchpn,bhcl->bclhp', ...)``); the file's test against a step-by-step
recurrence (``Y, final_state`` vs. a Python loop over time); ``Mamba2Simple``'s parameter set-up
(``dt = torch.exp(torch.rand(self.nheads) * (math.log(dt_max) - math.log(dt_min)) +
math.log(dt_min))``, ``torch.clamp(dt, min=dt_init_floor)``, the inverse softplus ``inv_dt =
dt + torch.log(-torch.expm1(-dt))``, ``self.dt_bias._no_weight_decay = True``, ``A =
torch.empty(self.nheads, dtype=torch.float32).uniform_(*A_init_range)``, ``A_log =
torch.log(A).to(dtype=dtype)``, ``self.D = nn.Parameter(torch.ones(self.nheads))``), its forward
(``in_proj`` split by ``torch.split(zxbcdt, [self.d_inner, self.d_inner + 2 * self.ngroups *
self.d_state, self.nheads], dim=-1)``, ``dt = F.softplus(dt + self.dt_bias)``, the depthwise
causal ``nn.Conv1d(..., groups=conv_dim, padding=d_conv - 1)`` cut back with ``[..., :seqlen]``
and ``nn.SiLU``, ``A = -torch.exp(self.A_log.float())``, ``X * dt.unsqueeze(-1)`` and
``A * dt`` fed to the minimal SSD, ``y + x * self.D.unsqueeze(-1)``, the gated RMSNorm
``y * F.silu(z)`` then ``x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight``,
``out_proj``), trained as a tiny language model with ``AdamW`` whose parameter groups leave out
parameters marked ``_no_weight_decay``.

Changed: d_model 2048 -> 8, d_state 128 -> 4, headdim 64 -> 4, chunk 256 -> 4, seq 8; the
triton chunk-scan kernels are not used (the minimal SSD is the repo's reference for them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

D_MODEL, D_STATE, HEADDIM, EXPAND, D_CONV, CHUNK, VOCAB, SEQ = 8, 4, 4, 2, 4, 4, 11, 8


def _ssd(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    F = torch_like.nn.functional

    def segsum_unstable(x):
        """Naive segment sum calculation."""
        T = x.size(-1)
        x_cumsum = torch.cumsum(x, dim=-1)
        x_segsum = x_cumsum[..., :, None] - x_cumsum[..., None, :]
        mask = torch.tril(torch.ones(T, T, device=x.device, dtype=bool), diagonal=0)
        x_segsum = x_segsum.masked_fill(~mask, -torch.inf)
        return x_segsum

    def segsum(x):
        """More stable segment sum calculation."""
        T = x.size(-1)
        x = x[..., None].repeat(*([1] * x.dim()), T)  # repeat(x, "... d -> ... d e", e=T)
        mask = torch.tril(torch.ones(T, T, device=x.device, dtype=bool), diagonal=-1)
        x = x.masked_fill(~mask, 0)
        x_segsum = torch.cumsum(x, dim=-2)
        mask = torch.tril(torch.ones(T, T, device=x.device, dtype=bool), diagonal=0)
        x_segsum = x_segsum.masked_fill(~mask, -torch.inf)
        return x_segsum

    def ssd_minimal_discrete(X, A, B, C, block_len, initial_states=None):
        """
        Arguments:
            X: (batch, length, n_heads, d_head)
            A: (batch, length, n_heads)
            B: (batch, length, n_heads, d_state)
            C: (batch, length, n_heads, d_state)
        Return:
            Y: (batch, length, n_heads, d_head)
        """
        assert X.dtype == A.dtype == B.dtype == C.dtype
        assert X.shape[1] % block_len == 0

        # Rearrange into blocks/chunks: "b (c l) ... -> b c l ..."
        X, A, B, C = [
            x.view(x.shape[0], x.shape[1] // block_len, block_len, *x.shape[2:])
            for x in (X, A, B, C)
        ]

        A = A.permute(0, 3, 1, 2)  # "b c l h -> b h c l"
        A_cumsum = torch.cumsum(A, dim=-1)

        # 1. Compute the output for each intra-chunk (diagonal blocks)
        L = torch.exp(segsum(A))
        Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, L, X)

        # 2. Compute the state for each intra-chunk
        # (right term of low-rank factorization of off-diagonal blocks; B terms)
        decay_states = torch.exp(A_cumsum[:, :, :, -1:] - A_cumsum)
        states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_states, X)

        # 3. Compute the inter-chunk SSM recurrence; produces correct SSM states at chunk
        # boundaries (middle term of factorization of off-diag blocks; A terms)
        if initial_states is None:
            initial_states = torch.zeros_like(states[:, :1])
        states = torch.cat([initial_states, states], dim=1)
        decay_chunk = torch.exp(segsum(F.pad(A_cumsum[:, :, :, -1], (1, 0))))
        new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
        states, final_state = new_states[:, :-1], new_states[:, -1]

        # 4. Compute state -> output conversion per chunk
        # (left term of low-rank factorization of off-diagonal blocks; C terms)
        state_decay_out = torch.exp(A_cumsum)
        Y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, states, state_decay_out)

        # Add output of intra-chunk and inter-chunk terms (diagonal and off-diagonal blocks)
        Y = Y_diag + Y_off
        Y = Y.reshape(Y.shape[0], -1, *Y.shape[3:])  # "b c l h p -> b (c l) h p"
        return Y, final_state

    return {
        "segsum": segsum,
        "segsum_unstable": segsum_unstable,
        "ssd_minimal_discrete": ssd_minimal_discrete,
    }


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    ssd_minimal_discrete = _ssd(torch_like)["ssd_minimal_discrete"]

    class RMSNormGated(nn.Module):
        def __init__(self, d, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x, z=None):
            if z is not None:
                x = x * F.silu(z)
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class Mamba2Simple(nn.Module):
        def __init__(
            self,
            d_model,
            d_state=64,
            d_conv=4,
            expand=2,
            headdim=128,
            ngroups=1,
            A_init_range=(1, 16),
            dt_min=0.001,
            dt_max=0.1,
            dt_init_floor=1e-4,
            chunk_size=256,
            bias=False,
            conv_bias=True,
            device=None,
            dtype=None,
        ):
            factory_kwargs = {"device": device, "dtype": dtype}
            super().__init__()
            self.d_model = d_model
            self.d_state = d_state
            self.d_conv = d_conv
            self.expand = expand
            self.d_inner = self.expand * self.d_model
            self.headdim = headdim
            self.ngroups = ngroups
            assert self.d_inner % self.headdim == 0
            self.nheads = self.d_inner // self.headdim
            self.chunk_size = chunk_size

            # Order: [z, x, B, C, dt]
            d_in_proj = 2 * self.d_inner + 2 * self.ngroups * self.d_state + self.nheads
            self.in_proj = nn.Linear(self.d_model, d_in_proj, bias=bias, **factory_kwargs)

            conv_dim = self.d_inner + 2 * self.ngroups * self.d_state
            self.conv1d = nn.Conv1d(
                in_channels=conv_dim,
                out_channels=conv_dim,
                bias=conv_bias,
                kernel_size=d_conv,
                groups=conv_dim,
                padding=d_conv - 1,
                **factory_kwargs,
            )
            self.act = nn.SiLU()

            # Initialize log dt bias
            dt = torch.exp(
                torch.rand(self.nheads, **factory_kwargs) * (math.log(dt_max) - math.log(dt_min))
                + math.log(dt_min)
            )
            dt = torch.clamp(dt, min=dt_init_floor)
            # Inverse of softplus: https://github.com/pytorch/pytorch/issues/72759
            inv_dt = dt + torch.log(-torch.expm1(-dt))
            self.dt_bias = nn.Parameter(inv_dt)
            # Just to be explicit. Without this we already don't put wd on dt_bias because of
            # the check name.endswith("bias") in param_grouping.py
            self.dt_bias._no_weight_decay = True

            # A parameter
            assert A_init_range[0] > 0 and A_init_range[1] >= A_init_range[0]
            A = torch.empty(self.nheads, dtype=torch.float32, device=device).uniform_(*A_init_range)
            A_log = torch.log(A).to(dtype=dtype)
            self.A_log = nn.Parameter(A_log)
            self.A_log._no_weight_decay = True

            # D "skip" parameter
            self.D = nn.Parameter(torch.ones(self.nheads, device=device))
            self.D._no_weight_decay = True

            self.norm = RMSNormGated(self.d_inner, eps=1e-5)
            self.out_proj = nn.Linear(self.d_inner, self.d_model, bias=bias, **factory_kwargs)

        def forward(self, u):
            """
            u: (B, L, D)
            Returns: same shape as u
            """
            batch, seqlen, dim = u.shape
            zxbcdt = self.in_proj(u)  # (B, L, d_in_proj)
            A = -torch.exp(self.A_log.float())  # (nheads) or (d_inner, d_state)
            z, xBC, dt = torch.split(
                zxbcdt,
                [self.d_inner, self.d_inner + 2 * self.ngroups * self.d_state, self.nheads],
                dim=-1,
            )
            dt = F.softplus(dt + self.dt_bias)  # (B, L, nheads)
            xBC = self.act(self.conv1d(xBC.transpose(1, 2)).transpose(1, 2))  # (B, L, ...)
            xBC = xBC[:, :seqlen, :]
            x, B, C = torch.split(
                xBC,
                [self.d_inner, self.ngroups * self.d_state, self.ngroups * self.d_state],
                dim=-1,
            )
            x = x.view(batch, seqlen, self.nheads, self.headdim)
            # ngroups == 1: every head reads the same B and C
            B = B.view(batch, seqlen, 1, self.d_state).expand(-1, -1, self.nheads, -1)
            C = C.view(batch, seqlen, 1, self.d_state).expand(-1, -1, self.nheads, -1)
            y, _ = ssd_minimal_discrete(x * dt.unsqueeze(-1), A * dt, B, C, self.chunk_size)
            y = y + x * self.D.unsqueeze(-1)
            y = y.reshape(batch, seqlen, -1)
            y = self.norm(y, z)
            return self.out_proj(y)

    class MambaLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, D_MODEL)
            self.mixer = Mamba2Simple(
                D_MODEL, d_state=D_STATE, d_conv=D_CONV, expand=EXPAND, headdim=HEADDIM,
                chunk_size=CHUNK,
            )  # fmt: skip
            self.norm_f = nn.LayerNorm(D_MODEL)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)

        def forward(self, input_ids):
            h = self.embedding(input_ids)
            h = h + self.mixer(h)
            return self.lm_head(self.norm_f(h))

    return MambaLM()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    ssd = _ssd(torch_like)
    rng = np.random.default_rng(2405)
    values: list[float] = []

    # ssd_minimal's test: the chunked algorithm against the sequential recurrence, and its grads
    batch, seqlen, nheads, headdim, dstate = 2, 8, 2, 3, 4

    def t(*shape, scale=1.0):
        return torch.tensor(scale * rng.standard_normal(shape)).requires_grad_()

    X, B, C = (
        t(batch, seqlen, nheads, headdim),
        t(batch, seqlen, nheads, dstate),
        t(batch, seqlen, nheads, dstate),
    )
    A = (-torch.exp(t(batch, seqlen, nheads, scale=0.5))).detach().requires_grad_()
    Y, final_state = ssd["ssd_minimal_discrete"](X, A, B, C, block_len=4)
    h = torch.zeros(batch, nheads, headdim, dstate)
    ys = []
    for i in range(seqlen):
        h = torch.exp(A[:, i])[:, :, None, None] * h + torch.einsum(
            "bhp,bhn->bhpn", X[:, i], B[:, i]
        )
        ys.append(torch.einsum("bhpn,bhn->bhp", h, C[:, i]))
    Y_ref = torch.stack(ys, dim=1)
    values.append((Y - Y_ref).abs().max().item() < 1e-10)
    values.append((final_state - h).abs().max().item() < 1e-10)
    (Y.pow(2).sum() + final_state.sum()).backward()
    values.extend([Y.sum().item(), A.grad.sum().item(), B.grad.abs().sum().item()])
    values.append(X.grad.pow(2).sum().item())
    # the two segsums agree below the diagonal and are -inf above it
    a = torch.tensor(rng.standard_normal((2, 5)))
    s1, s2 = ssd["segsum"](a), ssd["segsum_unstable"](a)
    values.append(torch.isneginf(s1).sum().item())
    values.append(torch.allclose(s1, s2))
    values.extend(torch.exp(s1)[0].flatten().tolist())
    # with an initial state the last chunk carries on from it
    Y2, fs2 = ssd["ssd_minimal_discrete"](
        X.detach(), A.detach(), B.detach(), C.detach(), 4, initial_states=final_state[:, None]
    )
    values.extend([Y2.sum().item(), fs2.abs().sum().item()])

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values.append(float(getattr(model.mixer.dt_bias, "_no_weight_decay", False)))
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if getattr(p, "_no_weight_decay", False) or name.endswith("bias") or p.ndim < 2:
            no_decay.append(p)
        else:
            decay.append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-2,
    )
    tokens = (np.arange(200) * 3 + rng.integers(0, 2, 200)) % VOCAB
    for step in range(5):
        starts = rng.integers(0, len(tokens) - SEQ - 1, 3)
        x = torch.from_numpy(np.stack([tokens[s : s + SEQ] for s in starts])).long()
        y = torch.from_numpy(np.stack([tokens[s + 1 : s + SEQ + 1] for s in starts])).long()
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, VOCAB), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values.append(loss.item())
        if step == 0:
            values.append(model.mixer.A_log.grad.abs().sum().item())
    values.append(model.mixer.A_log.sum().item())
    return values
