"""A Mamba language model in pure PyTorch, as johnma2006/mamba-minimal and mamba.py write the
selective state-space block (size-reduced, ``einops.rearrange`` spelled with ``view`` and
``transpose`` as the einops-free ports do): ``MambaBlock`` with ``in_proj = nn.Linear(d_model,
d_inner * 2, bias=False)``, ``(x, res) = x_and_res.split(split_size=[d_inner, d_inner],
dim=-1)``, a causal depthwise ``nn.Conv1d(d_inner, d_inner, kernel_size=d_conv, groups=d_inner,
padding=d_conv - 1)`` sliced back to the sequence length (``self.conv1d(x)[:, :, :l]``),
``F.silu``, ``x_proj`` split into ``(delta, B, C)`` with ``split(split_size=[dt_rank, n, n],
dim=-1)``, ``delta = F.softplus(self.dt_proj(delta))``, the parameter ``A_log =
nn.Parameter(torch.log(A))`` of ``A = repeat(torch.arange(1, d_state + 1), 'n -> d n', d=
d_inner)`` (``unsqueeze(0).repeat(d_inner, 1)``), ``A = -torch.exp(self.A_log.float())``, the
discretisation ``deltaA = torch.exp(einsum(delta, A, 'b l d_in, d_in n -> b l d_in n'))`` and
``deltaB_u = einsum(delta, B, u, 'b l d_in, b l n, b l d_in -> b l d_in n')`` (``torch.einsum``
with three operands), the sequential scan ``for i in range(l): x = deltaA[:, i] * x +
deltaB_u[:, i]; y = einsum(x, C[:, i, :], 'b d_in n, b n -> b d_in')`` collected with
``torch.stack(ys, dim=1)``, the skip ``y + u * D``, the gate ``y * F.silu(res)``, ``RMSNorm``
(``x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * self.weight``), residual blocks, a
weight-tied LM head (``self.lm_head.weight = self.embedding.weight``), the ``dt_proj`` bias
initialised as the inverse softplus of a log-uniform ``dt`` (``dt + torch.log(-torch.expm1(-dt))``
under ``torch.no_grad()`` with ``copy_``), and a check that the scan equals mamba.py's parallel
form (``torch.cumsum`` of ``log(deltaA)``, ``exp`` of the pairwise differences under a causal
``tril`` mask filled with ``-torch.inf``, the read-out as ``torch.einsum``'s sublist form
``einsum(h, [0, 1, 2, 3], C, [0, 1, 3], [0, 1, 2])``) and to Mamba-2's ``segsum`` (``repeat``,
``torch.tril(..., diagonal=-1)``, ``masked_fill(~mask, 0)``, ``cumsum(dim=-2)``) and to
mamba.py's ``PScan`` (an ``autograd.Function`` running a Blelloch scan in place, ``add_``/``mul_``
on ``view(B, D, T // 2, 2, -1)`` of step-sliced transposed tensors, ``F.pad`` to the next power
of two, ``save_for_backward``, a reverse scan in backward), values and gradients. Trains a few
steps of next-token prediction with ``Adam``, then decodes token by token as mamba-ssm's
``step`` does (``conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))``,
``conv_state[:, :, -1] = x``, ``torch.sum(conv_state * rearrange(conv1d.weight, "d 1 w -> d
w"), dim=-1)``, ``xz.chunk(2, dim=-1)``, ``torch.split``, ``F.linear``, ``ssm_state.copy_(
ssm_state * dA + rearrange(x, "b d -> b d 1") * dB)``), matching the full forward's logits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

VOCAB, D_MODEL, N_LAYER, D_STATE, EXPAND, D_CONV = 11, 6, 2, 4, 2, 4
BATCH, SEQ, STEPS = 2, 7, 4


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    d_inner = EXPAND * D_MODEL
    dt_rank = math.ceil(D_MODEL / 16)

    class RMSNorm(nn.Module):
        def __init__(self, d_model: int, eps: float = 1e-5) -> None:
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d_model))

        def forward(self, x: Any) -> Any:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class MambaBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.in_proj = nn.Linear(D_MODEL, d_inner * 2, bias=False)
            self.conv1d = nn.Conv1d(
                in_channels=d_inner,
                out_channels=d_inner,
                bias=True,
                kernel_size=D_CONV,
                groups=d_inner,
                padding=D_CONV - 1,
            )
            # x_proj takes in `x` and outputs the input-specific delta, B, C
            self.x_proj = nn.Linear(d_inner, dt_rank + D_STATE * 2, bias=False)
            # dt_proj projects delta from dt_rank to d_inner
            self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
            dt = torch.exp(
                torch.rand(d_inner) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)
            ).clamp(min=1e-4)
            inv_dt = dt + torch.log(-torch.expm1(-dt))  # inverse of softplus
            with torch.no_grad():
                self.dt_proj.bias.copy_(inv_dt)
            A = torch.arange(1, D_STATE + 1).unsqueeze(0).repeat(d_inner, 1)  # int64, as repeat()
            self.A_log = nn.Parameter(torch.log(A))
            self.D = nn.Parameter(torch.ones(d_inner))
            self.out_proj = nn.Linear(d_inner, D_MODEL, bias=False)

        def forward(self, x: Any) -> Any:
            (b, l, d) = x.shape
            x_and_res = self.in_proj(x)  # shape (b, l, 2 * d_in)
            (x, res) = x_and_res.split(split_size=[d_inner, d_inner], dim=-1)
            x = x.transpose(1, 2)  # rearrange(x, 'b l d_in -> b d_in l')
            x = self.conv1d(x)[:, :, :l]
            x = x.transpose(1, 2)  # rearrange(x, 'b d_in l -> b l d_in')
            x = F.silu(x)
            y = self.ssm(x)
            y = y * F.silu(res)
            return self.out_proj(y)

        def ssm(self, x: Any) -> Any:
            (d_in, n) = self.A_log.shape
            A = -torch.exp(self.A_log.to(x.dtype))  # shape (d_in, n)
            D = self.D.to(x.dtype)
            x_dbl = self.x_proj(x)  # (b, l, dt_rank + 2*n)
            (delta, B, C) = x_dbl.split(split_size=[dt_rank, n, n], dim=-1)
            delta = F.softplus(self.dt_proj(delta))  # (b, l, d_in)
            return selective_scan(torch_like, x, delta, A, B, C, D)

    class ResidualBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mixer = MambaBlock()
            self.norm = RMSNorm(D_MODEL)

        def forward(self, x: Any) -> Any:
            return self.mixer(self.norm(x)) + x

    class Mamba(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, D_MODEL)
            self.layers = nn.ModuleList([ResidualBlock() for _ in range(N_LAYER)])
            self.norm_f = RMSNorm(D_MODEL)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
            self.lm_head.weight = self.embedding.weight  # Tie output projection to embedding

        def forward(self, input_ids: Any) -> Any:
            x = self.embedding(input_ids)
            for layer in self.layers:
                x = layer(x)
            x = self.norm_f(x)
            return self.lm_head(x)

    return Mamba()


def selective_scan(torch_like: Any, u: Any, delta: Any, A: Any, B: Any, C: Any, D: Any) -> Any:
    """mamba-minimal's sequential selective scan: discretize, then one state update per step."""
    torch = torch_like
    (b, l, d_in) = u.shape
    n = A.shape[1]
    deltaA = torch.exp(torch.einsum("bld,dn->bldn", delta, A))
    deltaB_u = torch.einsum("bld,bln,bld->bldn", delta, B, u)
    x = torch.zeros((b, d_in, n), device=deltaA.device, dtype=u.dtype)
    ys = []
    for i in range(l):
        x = deltaA[:, i] * x + deltaB_u[:, i]
        y = torch.einsum("bdn,bn->bd", x, C[:, i, :])
        ys.append(y)
    y = torch.stack(ys, dim=1)  # shape (b, l, d_in)
    return y + u * D


def parallel_scan(torch_like: Any, u: Any, delta: Any, A: Any, B: Any, C: Any, D: Any) -> Any:
    """The same recurrence in closed form: h_t = sum_{s<=t} exp(sum_{s<r<=t} dA_r) dBu_s."""
    torch = torch_like
    log_a = torch.einsum("bld,dn->bldn", delta, A)  # log deltaA
    deltaB_u = torch.einsum("bld,bln,bld->bldn", delta, B, u)
    cum = torch.cumsum(log_a, dim=1)  # (b, l, d, n)
    diff = cum.unsqueeze(2) - cum.unsqueeze(1)  # [b, t, s] = cum_t - cum_s
    l = u.shape[1]
    causal = torch.tril(torch.ones(l, l, dtype=torch.bool, device=u.device))
    diff = diff.masked_fill(~causal[None, :, :, None, None], -torch.inf)
    h = (torch.exp(diff) * deltaB_u.unsqueeze(1)).sum(2)  # (b, t, d, n)
    # opt_einsum's sublist form: h[b, t, d, n] * C[b, t, n] -> y[b, t, d]
    y = torch.einsum(h, [0, 1, 2, 3], C, [0, 1, 3], [0, 1, 2])
    return y + u * D


def make_pscan(torch_like: Any) -> Any:
    """mamba.py's ``PScan``: a Blelloch parallel scan as an ``autograd.Function`` whose forward
    and backward sweep in place over ``view``s of strided slices (up-sweep, down-sweep, the
    last two levels unrolled), padded to the next power of two with ``F.pad``."""
    torch = torch_like
    F = torch_like.nn.functional

    def npo2(len: int) -> int:
        return 2 ** math.ceil(math.log2(len))

    def pad_npo2(X: Any) -> Any:
        len_npo2 = npo2(X.size(1))
        pad_tuple = (0, 0, 0, 0, 0, len_npo2 - X.size(1))
        return F.pad(X, pad_tuple, "constant", 0)

    class PScan(torch.autograd.Function):
        @staticmethod
        def pscan(A: Any, X: Any) -> None:
            # A : (B, D, L, N), X : (B, D, L, N); modifies X in place (A is scratch)
            B, D, L, _ = A.size()
            num_steps = int(math.log2(L))
            Aa = A
            Xa = X
            for _ in range(num_steps - 2):
                T = Xa.size(2)
                Aa = Aa.view(B, D, T // 2, 2, -1)
                Xa = Xa.view(B, D, T // 2, 2, -1)
                Xa[:, :, :, 1].add_(Aa[:, :, :, 1].mul(Xa[:, :, :, 0]))
                Aa[:, :, :, 1].mul_(Aa[:, :, :, 0])
                Aa = Aa[:, :, :, 1]
                Xa = Xa[:, :, :, 1]
            if Xa.size(2) == 4:
                Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 0]))
                Aa[:, :, 1].mul_(Aa[:, :, 0])
                Xa[:, :, 3].add_(Aa[:, :, 3].mul(Xa[:, :, 2] + Aa[:, :, 2].mul(Xa[:, :, 1])))
            elif Xa.size(2) == 2:
                Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 0]))
                return
            else:
                return
            Aa = A[:, :, 2 ** (num_steps - 2) - 1 : L : 2 ** (num_steps - 2)]
            Xa = X[:, :, 2 ** (num_steps - 2) - 1 : L : 2 ** (num_steps - 2)]
            Xa[:, :, 2].add_(Aa[:, :, 2].mul(Xa[:, :, 1]))
            Aa[:, :, 2].mul_(Aa[:, :, 1])
            for k in range(num_steps - 3, -1, -1):
                Aa = A[:, :, 2**k - 1 : L : 2**k]
                Xa = X[:, :, 2**k - 1 : L : 2**k]
                T = Xa.size(2)
                Aa = Aa.view(B, D, T // 2, 2, -1)
                Xa = Xa.view(B, D, T // 2, 2, -1)
                Xa[:, :, 1:, 0].add_(Aa[:, :, 1:, 0].mul(Xa[:, :, :-1, 1]))
                Aa[:, :, 1:, 0].mul_(Aa[:, :, :-1, 1])

        @staticmethod
        def pscan_rev(A: Any, X: Any) -> None:
            # the same sweeps from the end of the sequence (the backward's reverse scan)
            B, D, L, _ = A.size()
            num_steps = int(math.log2(L))
            Aa = A
            Xa = X
            for _ in range(num_steps - 2):
                T = Xa.size(2)
                Aa = Aa.view(B, D, T // 2, 2, -1)
                Xa = Xa.view(B, D, T // 2, 2, -1)
                Xa[:, :, :, 0].add_(Aa[:, :, :, 0].mul(Xa[:, :, :, 1]))
                Aa[:, :, :, 0].mul_(Aa[:, :, :, 1])
                Aa = Aa[:, :, :, 0]
                Xa = Xa[:, :, :, 0]
            if Xa.size(2) == 4:
                Xa[:, :, 2].add_(Aa[:, :, 2].mul(Xa[:, :, 3]))
                Aa[:, :, 2].mul_(Aa[:, :, 3])
                Xa[:, :, 0].add_(Aa[:, :, 0].mul(Xa[:, :, 1].add(Aa[:, :, 1].mul(Xa[:, :, 2]))))
            elif Xa.size(2) == 2:
                Xa[:, :, 0].add_(Aa[:, :, 0].mul(Xa[:, :, 1]))
                return
            else:
                return
            Aa = A[:, :, 0 : L : 2 ** (num_steps - 2)]
            Xa = X[:, :, 0 : L : 2 ** (num_steps - 2)]
            Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 2]))
            Aa[:, :, 1].mul_(Aa[:, :, 2])
            for k in range(num_steps - 3, -1, -1):
                Aa = A[:, :, 0 : L : 2**k]
                Xa = X[:, :, 0 : L : 2**k]
                T = Xa.size(2)
                Aa = Aa.view(B, D, T // 2, 2, -1)
                Xa = Xa.view(B, D, T // 2, 2, -1)
                Xa[:, :, :-1, 1].add_(Aa[:, :, :-1, 1].mul(Xa[:, :, 1:, 0]))
                Aa[:, :, :-1, 1].mul_(Aa[:, :, 1:, 0])

        @staticmethod
        def forward(ctx: Any, A_in: Any, X_in: Any) -> Any:
            L = X_in.size(1)
            if L == npo2(L):  # cloning is required because of the in-place ops
                A = A_in.clone()
                X = X_in.clone()
            else:  # pad tensors (and clone btw)
                A = pad_npo2(A_in)  # (B, npo2(L), D, N)
                X = pad_npo2(X_in)  # (B, npo2(L), D, N)
            A = A.transpose(2, 1)  # (B, D, npo2(L), N)
            X = X.transpose(2, 1)  # (B, D, npo2(L), N)
            PScan.pscan(A, X)
            ctx.save_for_backward(A_in, X)
            return X.transpose(2, 1)[:, :L]

        @staticmethod
        def backward(ctx: Any, grad_output_in: Any) -> tuple[Any, Any]:
            A_in, X = ctx.saved_tensors
            L = grad_output_in.size(1)
            if L == npo2(L):
                grad_output = grad_output_in.clone()
            else:
                grad_output = pad_npo2(grad_output_in)  # (B, npo2(L), D, N)
                A_in = pad_npo2(A_in)  # (B, npo2(L), D, N)
            grad_output = grad_output.transpose(2, 1)
            A_in = A_in.transpose(2, 1)  # (B, D, npo2(L), N)
            A = F.pad(A_in[:, :, 1:], (0, 0, 0, 1))  # shift 1 to the left
            PScan.pscan_rev(A, grad_output)
            Q = torch.zeros_like(X)
            Q[:, :, 1:].add_(X[:, :, :-1] * grad_output[:, :, 1:])
            return Q.transpose(2, 1)[:, :L], grad_output.transpose(2, 1)[:, :L]

    return PScan.apply


def pscan_scan(torch_like: Any, u: Any, delta: Any, A: Any, B: Any, C: Any, D: Any) -> Any:
    """mamba.py's ``selective_scan``: ``hs = pscan(deltaA, BX)``, ``y = (hs @
    C.unsqueeze(-1)).squeeze(3)``."""
    torch = torch_like
    deltaA = torch.exp(delta.unsqueeze(-1) * A)  # (B, L, ED, N)
    deltaB = delta.unsqueeze(-1) * B.unsqueeze(2)  # (B, L, ED, N)
    BX = deltaB * (u.unsqueeze(-1))  # (B, L, ED, N)
    hs = make_pscan(torch)(deltaA, BX)
    y = (hs @ C.unsqueeze(-1)).squeeze(3)  # (B, L, ED, N) @ (B, L, N, 1) -> (B, L, ED, 1)
    return y + D * u


def segsum(torch_like: Any, x: Any) -> Any:
    """Mamba-2's stable segment sum: out[..., t, s] = sum_{s<r<=t} x[..., r], -inf above."""
    torch = torch_like
    T = x.size(-1)
    x = x[..., None].repeat(*([1] * x.dim()), T)  # repeat(x, "... d -> ... d e", e=T)
    mask = torch.tril(torch.ones(T, T, device=x.device, dtype=bool), diagonal=-1)
    x = x.masked_fill(~mask, 0)
    x_segsum = torch.cumsum(x, dim=-2)
    mask = torch.tril(torch.ones(T, T, device=x.device, dtype=bool), diagonal=0)
    return x_segsum.masked_fill(~mask, -torch.inf)


def segsum_scan(torch_like: Any, u: Any, delta: Any, A: Any, B: Any, C: Any, D: Any) -> Any:
    """The recurrence through Mamba-2's ``segsum`` (time moved last, ``movedim``)."""
    torch = torch_like
    log_a = torch.einsum("bld,dn->bdnl", delta, A)
    L = torch.exp(segsum(torch, log_a))  # (b, d, n, t, s)
    deltaB_u = torch.einsum("bld,bln,bld->bdnl", delta, B, u)
    h = torch.einsum("bdnts,bdns->bdnt", L, deltaB_u)
    y = torch.einsum("bdnt,btn->btd", h, C)
    return y + u * D


def scan_gap(torch_like: Any, model: Any, input_ids: Any) -> float:
    """The sequential scan of the first block against the parallel form, with gradients."""
    F = torch_like.nn.functional
    block = model.layers[0].mixer
    x = model.layers[0].norm(model.embedding(input_ids))
    (x_in, _res) = block.in_proj(x).split(split_size=[x.shape[-1] * EXPAND] * 2, dim=-1)
    u = F.silu(block.conv1d(x_in.transpose(1, 2))[:, :, : x.shape[1]].transpose(1, 2))
    A = -torch_like.exp(block.A_log.to(u.dtype))
    delta, B, C = block.x_proj(u).split([block.dt_proj.in_features, D_STATE, D_STATE], dim=-1)
    delta = F.softplus(block.dt_proj(delta))
    seq = selective_scan(torch_like, u, delta, A, B, C, block.D)
    par = parallel_scan(torch_like, u, delta, A, B, C, block.D)
    seg = segsum_scan(torch_like, u, delta, A, B, C, block.D)
    psc = pscan_scan(torch_like, u, delta, A, B, C, block.D)
    wrt = [block.A_log, block.x_proj.weight, block.in_proj.weight]
    grads = []
    for y in (seq, par, seg, psc):
        grads.append(torch_like.autograd.grad((y * y).sum(), wrt, retain_graph=True))
    gaps = [seq - par, seq - seg, seq - psc]
    gaps += [g - g_seq for other in grads[1:] for g, g_seq in zip(other, grads[0], strict=True)]
    return max(gap.abs().max().item() for gap in gaps)


def step_decode(torch_like: Any, model: Any, input_ids: Any) -> Any:
    """mamba-ssm's recurrent ``step``: one token at a time with a rolling ``conv_state`` and
    an ``ssm_state``, giving the same logits as the full forward."""
    torch = torch_like
    F = torch_like.nn.functional
    b, l = input_ids.shape
    d_inner = EXPAND * D_MODEL
    states = [
        (torch.zeros(b, d_inner, D_CONV), torch.zeros(b, d_inner, D_STATE)) for _ in model.layers
    ]
    logits = []
    for t in range(l):
        hidden = model.embedding(input_ids[:, t])
        for layer, (conv_state, ssm_state) in zip(model.layers, states, strict=True):
            block = layer.mixer
            xz = block.in_proj(layer.norm(hidden))
            x, z = xz.chunk(2, dim=-1)
            conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))  # Update state (B D W)
            conv_state[:, :, -1] = x
            x = torch.sum(conv_state * block.conv1d.weight.squeeze(1), dim=-1)  # "d 1 w -> d w"
            x = F.silu(x + block.conv1d.bias)
            x_db = block.x_proj(x)
            dt, B, C = torch.split(x_db, [block.dt_proj.in_features, D_STATE, D_STATE], dim=-1)
            dt = F.softplus(F.linear(dt, block.dt_proj.weight, block.dt_proj.bias))
            A = -torch.exp(block.A_log.to(x.dtype))
            dA = torch.exp(torch.einsum("bd,dn->bdn", dt, A))
            dB = torch.einsum("bd,bn->bdn", dt, B)
            ssm_state.copy_(ssm_state * dA + x.unsqueeze(-1) * dB)
            y = torch.einsum("bdn,bn->bd", ssm_state, C)
            y = y + block.D.to(x.dtype) * x
            y = y * F.silu(z)
            hidden = hidden + block.out_proj(y)
        logits.append(model.lm_head(model.norm_f(hidden)))
    return torch.stack(logits, dim=1)


def run(torch_like: Any, init: dict) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(23)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=5e-3)
    tokens = as_tensor(torch_like, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
    input_ids, targets = tokens[:, :-1], tokens[:, 1:]
    values: list[float] = [scan_gap(torch_like, model, input_ids)]
    tied = model.lm_head.weight is model.embedding.weight
    for _step in range(STEPS):
        optimizer.zero_grad()
        logits = model(input_ids)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        loss.backward()
        optimizer.step()
        a_grad = model.layers[1].mixer.A_log.grad.norm().item()
        values += [loss.item(), a_grad, model.layers[0].mixer.dt_proj.bias.grad.sum().item()]
    with torch_like.no_grad():
        full = model(input_ids)
        probs = F.softmax(full[:, -1], dim=-1)
        stepped = step_decode(torch_like, model, input_ids)
    values += probs.flatten().tolist() + [(full - stepped).abs().max().item()]
    return [*values, float(tied), float(len(list(model.parameters())))]


def check(values: list[float]) -> None:
    assert values[0] < 1e-10  # sequential, parallel and segsum scans agree, with gradients
    assert values[-3] < 1e-10  # token-by-token decoding gives the full forward's logits
    assert values[-2] == 1.0  # the tied head shares the embedding's Parameter
