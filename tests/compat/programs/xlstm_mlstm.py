"""xLSTM's mLSTM and sLSTM ("xLSTM: Extended Long Short-Term Memory", Beck et al. 2024) as NX-AI's
``xlstm`` package writes them (``blocks/mlstm/backends.py``, ``blocks/mlstm/layer.py``,
``blocks/mlstm/cell.py``, ``components/ln.py``, ``components/conv.py``,
``components/linear_headwise.py``, ``blocks/slstm/src/vanilla/slstm.py``), size-reduced.

The idioms: ``parallel_stabilized_simple`` (``F.logsigmoid(fgate_preact)``, the ``torch.cat``
of a zero row and ``torch.cumsum(log_fgates, dim=-2)``, ``.repeat(1, 1, 1, S + 1)`` minus its
transpose, ``torch.where(ltr, _log_fg_matrix[:, :, 1:, 1:], -float("inf"))`` over a
``torch.tril(torch.ones((S, S), dtype=torch.bool))``, the row-wise ``torch.max(log_D_matrix,
dim=-1, keepdim=True)`` stabiliser, ``torch.maximum(C_matrix.sum(dim=-1, keepdim=True).abs(),
torch.exp(-max_log_D))``); ``recurrent_step_stabilized_simple`` with the in-place
``q.squeeze_(2).unsqueeze(-1)``, the stabiliser ``m_state_new = torch.max(log_fg_act + m_state,
igate_preact)``, the matrix memory ``fg_act * c_state + ig_act * (k_scaled @ v.transpose(-1,
-2))`` and normaliser ``n``; the ``mLSTMLayer`` (``torch.split`` of the up-projection, a
``CausalConv1d`` as a depthwise ``nn.Conv1d`` with ``padding=kernel_size - 1`` sliced back,
``LinearHeadwiseExpand`` by ``torch.einsum("...hd,hod->...ho", x, self.weight)``, the gates from
``torch.cat([q, k, v], dim=-1)``, the ``MultiHeadLayerNorm`` as ``F.group_norm(x.transpose(1,
2).reshape(B * S, NH * DH), num_groups=NH, weight=self.weight_proxy)`` with the residual weight
``1.0 + self.weight``, ``learnable_skip`` and the ``F.silu(z)`` output gate); the forget-gate bias
``bias_linspace_init_`` (``torch.linspace(3.0, 6.0, n)`` copied in under ``torch.no_grad()``);
the sLSTM pointwise cell (``torch.unbind(states.view(4, B, -1), dim=0)``, ``logfplusm = m +
F.logsigmoid(fraw)``, ``mnew = iraw if torch.all(n == 0.0) else torch.max(iraw, logfplusm)``,
``torch.stack((ynew, cnew, nnew, mnew), dim=0)``) with block-diagonal recurrent weights; and a
small language model trained with AdamW, the parallel and recurrent mLSTM checked to agree.

Changed: sizes (embedding 8, 2 heads, conv kernel 3, a sequence of 6, batch 2, 4 steps) and the
layer stack (one mLSTM and one sLSTM block).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

VOCAB, EMB, HEADS, KERNEL, BATCH, SEQ, STEPS, LR = 10, 8, 2, 3, 2, 6, 4, 5e-3
INNER = 2 * EMB


def parallel_stabilized_simple(
    torch_like: Any,
    queries: Any,
    keys: Any,
    values: Any,
    igate_preact: Any,
    fgate_preact: Any,
    lower_triangular_matrix: Any = None,
    stabilize_rowwise: bool = True,
    eps: float = 1e-6,
) -> Any:
    torch = torch_like
    B, NH, S, DH = queries.shape
    _dtype, _device = queries.dtype, queries.device

    # forget gate matrix
    log_fgates = torch.nn.functional.logsigmoid(fgate_preact)  # (B, NH, S, 1)
    if lower_triangular_matrix is None or S < lower_triangular_matrix.size(-1):
        ltr = torch.tril(torch.ones((S, S), dtype=torch.bool, device=_device))
    else:
        ltr = lower_triangular_matrix
    assert ltr.dtype == torch.bool, f"lower_triangular_matrix must be bool, got {ltr.dtype}"

    log_fgates_cumsum = torch.cat(
        [
            torch.zeros((B, NH, 1, 1), dtype=_dtype, device=_device),
            torch.cumsum(log_fgates, dim=-2),
        ],
        dim=-2,
    )  # (B, NH, S+1, 1)
    rep_log_fgates_cumsum = log_fgates_cumsum.repeat(1, 1, 1, S + 1)  # (B, NH, S+1, S+1)
    _log_fg_matrix = rep_log_fgates_cumsum - rep_log_fgates_cumsum.transpose(-2, -1)
    log_fg_matrix = torch.where(ltr, _log_fg_matrix[:, :, 1:, 1:], -float("inf"))

    # gate decay matrix D (combination of forget gate and input gate)
    log_D_matrix = log_fg_matrix + igate_preact.transpose(-2, -1)  # (B, NH, S, S)
    if stabilize_rowwise:
        max_log_D, _ = torch.max(log_D_matrix, dim=-1, keepdim=True)  # (B, NH, S, 1)
    else:
        max_log_D = torch.max(log_D_matrix.view(B, NH, -1), dim=-1, keepdim=True)[0].unsqueeze(-1)
    log_D_matrix_stabilized = log_D_matrix - max_log_D
    D_matrix = torch.exp(log_D_matrix_stabilized)

    keys_scaled = keys / math.sqrt(DH)

    qk_matrix = queries @ keys_scaled.transpose(-2, -1)  # (B, NH, S, S)
    C_matrix = qk_matrix * D_matrix
    normalizer = torch.maximum(C_matrix.sum(dim=-1, keepdim=True).abs(), torch.exp(-max_log_D))
    C_matrix_normalized = C_matrix / (normalizer + eps)
    return C_matrix_normalized @ values  # (B, NH, S, DH)


def recurrent_step_stabilized_simple(
    torch_like: Any,
    c_state: Any,
    n_state: Any,
    m_state: Any,
    q: Any,
    k: Any,
    v: Any,
    igate_preact: Any,
    fgate_preact: Any,
    eps: float = 1e-6,
) -> tuple[Any, tuple[Any, Any, Any]]:
    torch = torch_like
    B, NH, S, DH = q.shape
    # projections
    q, k, v = (
        q.squeeze_(2).unsqueeze(-1),
        k.squeeze_(2).unsqueeze(-1),
        v.squeeze_(2).unsqueeze(-1),
    )  # (B, NH, DH, 1)

    # gates
    log_fg_act = torch.nn.functional.logsigmoid(fgate_preact)  # (B, NH, 1, 1)

    # update rule
    m_state_new = torch.max(log_fg_act + m_state, igate_preact)  # (B, NH, 1, 1)

    fg_act = torch.exp(log_fg_act + m_state - m_state_new)
    ig_act = torch.exp(igate_preact - m_state_new)

    k_scaled = k / math.sqrt(DH)

    c_state_new = fg_act * c_state + ig_act * (k_scaled @ v.transpose(-1, -2))  # (B, NH, DH, DH)
    n_state_new = fg_act * n_state + ig_act * k_scaled  # (B, NH, DH, 1)

    h_num = q.transpose(-1, -2) @ c_state_new  # (B, NH, 1, DH)

    qn_dotproduct = q.transpose(-1, -2) @ n_state_new  # (B, NH, 1, 1)
    max_val = torch.exp(-m_state_new)
    h_denom = torch.maximum(qn_dotproduct.abs(), max_val) + eps
    h = h_num / h_denom
    return h, (c_state_new, n_state_new, m_state_new)


def slstm_forward_pointwise(
    torch_like: Any, Wx: Any, Ry: Any, b: Any, states: Any
) -> tuple[Any, Any]:
    torch = torch_like
    raw = Wx + Ry + b
    y, c, n, m = torch.unbind(states.view(4, states.shape[1], -1), dim=0)
    iraw, fraw, zraw, oraw = torch.unbind(raw.view(raw.shape[0], 4, -1), dim=1)
    logfplusm = m + torch.nn.functional.logsigmoid(fraw)
    if torch.all(n == 0.0):
        mnew = iraw
    else:
        mnew = torch.max(iraw, logfplusm)
    ogate = torch.sigmoid(oraw)
    igate = torch.exp(iraw - mnew)
    fgate = torch.exp(logfplusm - mnew)
    cnew = fgate * c + igate * torch.tanh(zraw)
    nnew = fgate * n + igate
    ynew = ogate * cnew / nnew
    return (
        torch.stack((ynew, cnew, nnew, mnew), dim=0),
        torch.stack((igate, fgate, zraw, ogate), dim=0),
    )


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def bias_linspace_init_(param: Any, start: float = 3.4, end: float = 6.0) -> Any:
        assert param.dim() == 1, (
            f"param must be 1-dimensional (typically a bias), got {param.dim()}"
        )
        n_dims = param.shape[0]
        init_vals = torch.linspace(start, end, n_dims)
        with torch.no_grad():
            param.copy_(init_vals)
        return param

    class LayerNorm(nn.Module):
        def __init__(self, ndim: int, weight: bool = True, bias: bool = False, eps: float = 1e-5):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(ndim)) if weight else None
            self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None
            self.eps = eps
            self.residual_weight = True
            self.ndim = ndim

        @property
        def weight_proxy(self) -> Any:
            if self.weight is None:
                return None
            return 1.0 + self.weight if self.residual_weight else self.weight

        def forward(self, input: Any) -> Any:
            return F.layer_norm(
                input, normalized_shape=(self.ndim,), weight=self.weight_proxy, bias=self.bias,
                eps=self.eps,
            )  # fmt: skip

    class MultiHeadLayerNorm(LayerNorm):
        def forward(self, input: Any) -> Any:
            assert input.dim() == 4, "Input must be 4D tensor (B, NH, S, DH)"
            B, NH, S, DH = input.shape
            gn_in_1 = input.transpose(1, 2)  # (B, S, NH, DH)
            gn_in_2 = gn_in_1.reshape(B * S, NH * DH)
            out = F.group_norm(
                gn_in_2, num_groups=NH, weight=self.weight_proxy, bias=self.bias, eps=self.eps
            )
            return out.view(B, S, NH, DH).transpose(1, 2)

    class CausalConv1d(nn.Module):
        def __init__(self, feature_dim: int, kernel_size: int = 4) -> None:
            super().__init__()
            self.pad = kernel_size - 1
            self.conv = nn.Conv1d(
                feature_dim, feature_dim, kernel_size, padding=self.pad, groups=feature_dim
            )

        def forward(self, x: Any) -> Any:
            y = x.transpose(2, 1)  # (B, F, T)
            y = self.conv(y)
            y = y[:, :, : -self.pad]
            return y.transpose(2, 1)

    class LinearHeadwiseExpand(nn.Module):
        def __init__(self, in_features: int, num_heads: int, bias: bool = False) -> None:
            super().__init__()
            self.in_features = in_features
            self.num_heads = num_heads
            out_features_per_head = in_features // num_heads
            self.weight = nn.Parameter(
                torch.empty(num_heads, out_features_per_head, in_features // num_heads)
            )
            self.bias = nn.Parameter(torch.empty(in_features)) if bias else None
            nn.init.normal_(self.weight, mean=0.0, std=math.sqrt(2 / 5 / self.weight.shape[-1]))
            if self.bias is not None:
                nn.init.zeros_(self.bias)

        def forward(self, x: Any) -> Any:
            shape = x.shape
            x = x.view(*shape[:-1], self.num_heads, -1)
            x = torch.einsum("...hd,hod->...ho", x, self.weight)
            x = x.reshape(*shape[:-1], -1)
            if self.bias is not None:
                x = x + self.bias
            return x

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, num_heads={self.num_heads}"

    class mLSTMCell(nn.Module):
        def __init__(self, inner: int, num_heads: int) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.igate = nn.Linear(3 * inner, num_heads)
            self.fgate = nn.Linear(3 * inner, num_heads)
            self.outnorm = MultiHeadLayerNorm(ndim=inner, weight=True, bias=False)
            torch.nn.init.zeros_(self.fgate.weight)
            bias_linspace_init_(self.fgate.bias, start=3.0, end=6.0)
            torch.nn.init.zeros_(self.igate.weight)
            torch.nn.init.normal_(self.igate.bias, mean=0.0, std=0.1)

        def gates(self, q: Any, k: Any, v: Any) -> tuple[Any, Any]:
            if_gate_input = torch.cat([q, k, v], dim=-1)
            igate_preact = self.igate(if_gate_input).transpose(-1, -2).unsqueeze(-1)
            fgate_preact = self.fgate(if_gate_input).transpose(-1, -2).unsqueeze(-1)
            return igate_preact, fgate_preact  # (B, NH, S, 1)

        def heads(self, x: Any) -> Any:
            B, S, _ = x.shape
            return x.view(B, S, self.num_heads, -1).transpose(1, 2)  # (B, NH, S, DH)

        def forward(self, q: Any, k: Any, v: Any) -> Any:
            B, S, _ = q.shape
            igate_preact, fgate_preact = self.gates(q, k, v)
            h_state = parallel_stabilized_simple(
                torch, self.heads(q), self.heads(k), self.heads(v), igate_preact, fgate_preact
            )
            h_state_norm = self.outnorm(h_state)  # (B, NH, S, DH)
            return h_state_norm.transpose(1, 2).reshape(B, S, -1)

        def step(self, q: Any, k: Any, v: Any, mlstm_state: Any = None) -> tuple[Any, Any]:
            B, S, _ = q.shape
            assert S == 1, f"mLSTMCell.step: Sequence length must be 1, got {S}"
            igate_preact, fgate_preact = self.gates(q, k, v)
            q, k, v = self.heads(q), self.heads(k), self.heads(v)
            _, NH, S, DH = q.shape
            if mlstm_state is None:
                c_state = torch.zeros(size=(B, NH, DH, DH), device=q.device, dtype=q.dtype)
                n_state = torch.zeros(size=(B, NH, DH, 1), device=q.device, dtype=q.dtype)
                m_state = torch.zeros(size=(B, NH, 1, 1), device=q.device, dtype=q.dtype)
            else:
                c_state, n_state, m_state = mlstm_state
            h_state, mlstm_state = recurrent_step_stabilized_simple(
                torch, c_state, n_state, m_state, q, k, v, igate_preact, fgate_preact
            )
            h_state_norm = self.outnorm(h_state)
            return h_state_norm.transpose(1, 2).reshape(B, S, -1), mlstm_state

    class mLSTMLayer(nn.Module):
        def __init__(self, embedding_dim: int, num_heads: int, conv_kernel: int) -> None:
            super().__init__()
            self.inner = 2 * embedding_dim
            self.proj_up = nn.Linear(embedding_dim, 2 * self.inner, bias=False)
            self.q_proj = LinearHeadwiseExpand(self.inner, num_heads)
            self.k_proj = LinearHeadwiseExpand(self.inner, num_heads)
            self.v_proj = LinearHeadwiseExpand(self.inner, num_heads)
            self.conv1d = CausalConv1d(self.inner, kernel_size=conv_kernel)
            self.conv_act_fn = nn.SiLU()
            self.mlstm_cell = mLSTMCell(self.inner, num_heads)
            self.ogate_act_fn = nn.SiLU()
            self.learnable_skip = nn.Parameter(torch.ones(self.inner, requires_grad=True))
            self.proj_down = nn.Linear(self.inner, embedding_dim, bias=False)
            self.dropout = nn.Dropout(0.0)

        def forward(self, x: Any) -> Any:
            x_inner = self.proj_up(x)
            x_mlstm, z = torch.split(x_inner, split_size_or_sections=self.inner, dim=-1)
            x_mlstm_conv = self.conv1d(x_mlstm)
            x_mlstm_conv_act = self.conv_act_fn(x_mlstm_conv)
            q = self.q_proj(x_mlstm_conv_act)
            k = self.k_proj(x_mlstm_conv_act)
            v = self.v_proj(x_mlstm)
            h_tilde_state = self.mlstm_cell(q=q, k=k, v=v)
            h_tilde_state_skip = h_tilde_state + (self.learnable_skip * x_mlstm_conv_act)
            h_state = h_tilde_state_skip * self.ogate_act_fn(z)
            return self.dropout(self.proj_down(h_state))

    class sLSTMLayer(nn.Module):
        def __init__(self, hidden: int, num_heads: int) -> None:
            super().__init__()
            self.hidden = hidden
            self.num_heads = num_heads
            self.head_dim = hidden // num_heads
            self.fgate_in = nn.Linear(hidden, 4 * hidden, bias=False)
            self.recurrent_kernel = nn.Parameter(
                torch.randn(num_heads, self.head_dim, 4 * self.head_dim) / self.head_dim
            )
            self.bias = nn.Parameter(torch.zeros(4 * hidden))
            with torch.no_grad():
                self.bias[hidden : 2 * hidden] = torch.linspace(3.0, 6.0, hidden)

        def recurrent(self, y: Any) -> Any:
            B = y.shape[0]
            Ry = torch.einsum("bhd,hdg->bhg", y.view(B, self.num_heads, -1), self.recurrent_kernel)
            # gate-major layout (i, f, z, o), each gate's heads side by side
            Ry = Ry.view(B, self.num_heads, 4, self.head_dim).transpose(1, 2)
            return Ry.reshape(B, 4 * self.hidden)

        def forward(self, x: Any) -> Any:
            B, S, _ = x.shape
            Wx = self.fgate_in(x)
            states = torch.zeros(4, B, self.hidden, dtype=x.dtype)
            outputs = []
            for t in range(S):
                states, _gates = slstm_forward_pointwise(
                    torch, Wx[:, t], self.recurrent(states[0]), self.bias, states
                )
                outputs.append(states[0])
            return torch.stack(outputs, dim=1)

    class xLSTMLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token_embedding = nn.Embedding(VOCAB, EMB)
            self.mlstm_norm = LayerNorm(EMB)
            self.mlstm = mLSTMLayer(EMB, HEADS, KERNEL)
            self.slstm_norm = LayerNorm(EMB)
            self.slstm = sLSTMLayer(EMB, HEADS)
            self.post_blocks_norm = LayerNorm(EMB)
            self.lm_head = nn.Linear(EMB, VOCAB, bias=False)

        def forward(self, idx: Any) -> Any:
            x = self.token_embedding(idx)
            x = x + self.mlstm(self.mlstm_norm(x))
            x = x + self.slstm(self.slstm_norm(x))
            return self.lm_head(self.post_blocks_norm(x))

    return xLSTMLM()


def recurrent_vs_parallel(torch_like: Any, layer: Any, x: Any) -> tuple[Any, Any]:
    """The mLSTM cell run step by step over q, k, v (from the layer's projections) and in its
    parallel form."""
    torch = torch_like
    x_mlstm, _z = torch.split(layer.proj_up(x), layer.inner, dim=-1)
    act = layer.conv_act_fn(layer.conv1d(x_mlstm))
    q, k, v = layer.q_proj(act), layer.k_proj(act), layer.v_proj(x_mlstm)
    parallel = layer.mlstm_cell(q, k, v)
    state = None
    steps = []
    for t in range(x.shape[1]):
        h, state = layer.mlstm_cell.step(q[:, t : t + 1], k[:, t : t + 1], v[:, t : t + 1], state)
        steps.append(h)
    return parallel, torch.cat(steps, dim=1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    x = as_tensor(torch_like, rng.standard_normal((BATCH, SEQ, EMB)))
    with torch.no_grad():
        parallel, recurrent = recurrent_vs_parallel(torch_like, model.mlstm, x)
        # the whole-matrix stabiliser gives the same retrieval as the row-wise one
        B, NH, S, DH = BATCH, HEADS, SEQ, INNER // HEADS
        q, k, v = (as_tensor(torch_like, rng.standard_normal((B, NH, S, DH))) for _ in range(3))
        ig = as_tensor(torch_like, rng.standard_normal((B, NH, S, 1)))
        fg = as_tensor(torch_like, rng.standard_normal((B, NH, S, 1)) + 2.0)
        rowwise = parallel_stabilized_simple(torch_like, q, k, v, ig, fg, eps=0.0)
        whole = parallel_stabilized_simple(
            torch_like, q, k, v, ig, fg, stabilize_rowwise=False, eps=0.0
        )
    values = [
        float(torch.allclose(parallel, recurrent, rtol=1e-4, atol=1e-5)),
        float(torch.allclose(rowwise, whole, atol=1e-12)),
        *parallel[1, -1, :4].tolist(),
        *recurrent[0, 2, :4].tolist(),
        *rowwise[1, 1, -1].tolist(),
        *model.mlstm.mlstm_cell.fgate.bias.tolist(),
    ]

    # the sLSTM cell's first step takes m from the input gate; its normaliser stays positive
    states = torch.zeros(4, BATCH, EMB)
    raw = as_tensor(torch_like, rng.standard_normal((3, BATCH, 4 * EMB)))
    for t in range(3):
        states, gates = slstm_forward_pointwise(
            torch_like, raw[t], torch.zeros_like(raw[t]), 0.0, states
        )
    values += [float((states[2] > 0).all()), *states[0, 0].tolist(), *gates[1, 1].tolist()]

    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.1)
    for _step in range(STEPS):
        tokens = as_tensor(torch_like, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        optimizer.zero_grad()
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.view(-1, VOCAB), tokens[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        values += [loss.item(), model.mlstm.learnable_skip.grad.abs().sum().item()]
    return values


def check(values: list[float]) -> None:
    """The recurrent and parallel mLSTM agreed, as did the two stabilisers."""
    assert values[:2] == [1.0, 1.0], values[:2]
