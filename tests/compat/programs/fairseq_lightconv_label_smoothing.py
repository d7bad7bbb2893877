"""fairseq's lightweight convolution encoder ("Pay Less Attention with Lightweight and Dynamic
Convolutions") trained with its label-smoothed cross entropy, as facebookresearch/fairseq writes
them (``fairseq/modules/lightweight_convolution.py``, ``fairseq/modules/unfold.py``,
``fairseq/models/lightconv.py``'s ``LightConvEncoderLayer``, ``fairseq/modules/fairseq_dropout.py``,
``fairseq/utils.py``'s ``softmax``/``log_softmax`` and ``fairseq/criterions/
label_smoothed_cross_entropy.py``), size-reduced.

The idioms: ``LightweightConv1dTBC`` with ``nn.Parameter(torch.Tensor(num_heads, 1,
kernel_size))`` under ``xavier_uniform_``, softmax-normalised weights (``F.softmax(x, dim=dim,
dtype=torch.float32).type_as(weight)``) shared by the ``R = C // H`` channels of a head, both
of its paths: ``_forward_expanded`` (the filters turned into band matrices with
``weight.new_zeros(B*H, T, T+K-1, requires_grad=False)``, ``weight_expanded.as_strided((B*H, T,
K), (T*(T+K-1), T+K, 1)).copy_(weight)`` (the gradient reaching ``weight`` through the in-place
copy into a strided view), ``narrow(2, P, T)`` and ``torch.bmm``) and ``_forward_unfolded``
(``unfold1d``: ``F.pad(x, (0, 0, 0, 0, padding_l, kernel_size - 1 - padding_l), value=pad_value)``
and ``x.as_strided((T, B, C, kernel_size), (B*C, C, 1, B*C))``; ``weight.view(1, H, K).expand(T*B,
H, K).contiguous().view(T*B*H, K, 1)``); ``FairseqDropout`` on the weights; the encoder layer's
``nn.GLU()`` after ``linear1``, ``x.masked_fill(encoder_padding_mask.transpose(0, 1)
.unsqueeze(2), 0)``, the post-norm ``maybe_layer_norm`` and the ReLU feed-forward; the T x B x C
layout (``x.transpose(0, 1)``) with ``embed_scale = math.sqrt(embed_dim)``;
``label_smoothed_nll_loss`` (``-lprobs.gather(dim=-1, index=target)``, ``-lprobs.sum(dim=-1,
keepdim=True)``, ``nll_loss.masked_fill_(pad_mask, 0.0)``, ``eps_i = epsilon / (lprobs.size(-1)
- 1)``, ``(1.0 - epsilon - eps_i) * nll_loss + eps_i * smooth_loss``) over ``lprobs.view(-1,
lprobs.size(-1))``; the reported ``loss / sample_size / math.log(2)``; ``Adam(betas=(0.9, 0.98))``
under the ``inverse_sqrt`` schedule and ``clip_grad_norm_``.

Changed: embeddings 512 -> 8, 2 heads, kernels 3 and 4, 2 layers, vocabulary 12, batches of 3
sentences of 5 tokens drawn by NumPy, 5 updates; the first layer takes the band-matrix path, the
second the unfolded one (fairseq picks the latter for incremental decoding); float32 as fairseq
trains.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run", "DTYPE"]

DTYPE = "float32"
VOCAB, EMBED, HEADS, PAD, BATCH, T, STEPS = 12, 8, 2, 1, 3, 5, 5


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def softmax(x: Any, dim: int) -> Any:
        return F.softmax(x, dim=dim, dtype=torch.float32)

    def unfold1d(x: Any, kernel_size: int, padding_l: int, pad_value: float = 0) -> Any:
        """unfold T x B x C to T x B x C x K"""
        if kernel_size > 1:
            T, B, C = x.size()
            x = F.pad(x, (0, 0, 0, 0, padding_l, kernel_size - 1 - padding_l), value=pad_value)
            x = x.as_strided((T, B, C, kernel_size), (B * C, C, 1, B * C))
        else:
            x = x.unsqueeze(3)
        return x

    class FairseqDropout(nn.Module):
        def __init__(self, p: float, module_name: str | None = None) -> None:
            super().__init__()
            self.p = p
            self.module_name = module_name
            self.apply_during_inference = False

        def forward(self, x: Any, inplace: bool = False) -> Any:
            if self.p > 0 and (self.training or self.apply_during_inference):
                return F.dropout(x, p=self.p, training=True, inplace=inplace)
            else:
                return x

    class LightweightConv1dTBC(nn.Module):
        def __init__(self, input_size: int, kernel_size: int = 1, padding_l: int | None = None,
                     num_heads: int = 1, weight_dropout: float = 0.0,
                     weight_softmax: bool = False, bias: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.input_size = input_size
            self.kernel_size = kernel_size
            self.padding_l = padding_l
            self.num_heads = num_heads
            self.weight_dropout_module = FairseqDropout(
                weight_dropout, module_name=self.__class__.__name__
            )
            self.weight_softmax = weight_softmax
            self.weight = nn.Parameter(torch.Tensor(self.num_heads, 1, self.kernel_size))
            if bias:
                self.bias = nn.Parameter(torch.Tensor(input_size))
            else:
                self.bias = None
            self.reset_parameters()
            self.onnx_trace = False

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.weight)
            if self.bias is not None:
                nn.init.constant_(self.bias, 0.0)

        def forward(self, x: Any, incremental_state: Any = None, unfold: bool = False) -> Any:
            unfold = unfold or (incremental_state is not None)
            if unfold:
                output = self._forward_unfolded(x, incremental_state)
            else:
                output = self._forward_expanded(x, incremental_state)
            if self.bias is not None:
                output = output + self.bias.view(1, 1, -1)
            return output

        def _forward_unfolded(self, x: Any, incremental_state: Any) -> Any:
            T, B, C = x.size()
            K, H = self.kernel_size, self.num_heads
            R = C // H
            assert R * H == C == self.input_size
            weight = self.weight.view(H, K)
            x_unfold = unfold1d(x, self.kernel_size, self.padding_l, 0)
            x_unfold = x_unfold.view(T * B * H, R, K)
            if self.weight_softmax:
                weight = softmax(weight, dim=1).type_as(weight)
            weight = weight.view(1, H, K).expand(T * B, H, K).contiguous().view(T * B * H, K, 1)
            weight = self.weight_dropout_module(weight)
            output = torch.bmm(x_unfold, weight)  # T*B*H x R x 1
            output = output.view(T, B, C)
            return output

        def _forward_expanded(self, x: Any, incremental_state: Any) -> Any:
            T, B, C = x.size()
            K, H = self.kernel_size, self.num_heads
            R = C // H
            assert R * H == C == self.input_size
            weight = self.weight.view(H, K)
            if self.weight_softmax:
                weight = softmax(weight, dim=1).type_as(weight)
            weight = weight.view(1, H, K).expand(T * B, H, K).contiguous()
            weight = weight.view(T, B * H, K).transpose(0, 1)
            x = x.view(T, B * H, R).transpose(0, 1)
            P = self.padding_l
            if K > T and P == K - 1:
                weight = weight.narrow(2, K - T, T)
                K, P = T, T - 1
            weight_expanded = weight.new_zeros(B * H, T, T + K - 1, requires_grad=False)
            weight_expanded.as_strided((B * H, T, K), (T * (T + K - 1), T + K, 1)).copy_(weight)
            weight_expanded = weight_expanded.narrow(2, P, T)
            weight_expanded = self.weight_dropout_module(weight_expanded)
            output = torch.bmm(weight_expanded, x)
            output = output.transpose(0, 1).contiguous().view(T, B, C)
            return output

        def extra_repr(self) -> str:
            s = "{}, kernel_size={}, padding_l={}, num_heads={}, weight_softmax={}, bias={}".format(  # noqa: UP032 (fairseq's form)
                self.input_size, self.kernel_size, self.padding_l, self.num_heads,
                self.weight_softmax, self.bias is not None,
            )  # fmt: skip
            if self.weight_dropout_module.p > 0.0:
                s += f", weight_dropout={self.weight_dropout_module.p}"
            return s

    class LightConvEncoderLayer(nn.Module):
        def __init__(self, kernel_size: int, unfold: bool) -> None:
            super().__init__()
            self.embed_dim = EMBED
            self.conv_dim = EMBED
            padding_l = kernel_size // 2 if kernel_size % 2 == 1 else (kernel_size - 1) // 2
            self.linear1 = nn.Linear(self.embed_dim, 2 * self.conv_dim)
            self.act = nn.GLU()
            self.conv = LightweightConv1dTBC(self.conv_dim, kernel_size, padding_l=padding_l,
                                             weight_softmax=True, num_heads=HEADS,
                                             weight_dropout=0.1)  # fmt: skip
            self.linear2 = nn.Linear(self.conv_dim, self.embed_dim)
            self.dropout_module = FairseqDropout(0.1, module_name=self.__class__.__name__)
            self.relu_dropout_module = FairseqDropout(0.0)
            self.input_dropout_module = FairseqDropout(0.0)
            self.normalize_before = False
            self.fc1 = nn.Linear(self.embed_dim, 2 * self.embed_dim)
            self.fc2 = nn.Linear(2 * self.embed_dim, self.embed_dim)
            self.layer_norms = nn.ModuleList([nn.LayerNorm(self.embed_dim) for _ in range(2)])
            self.unfold = unfold

        def forward(self, x: Any, encoder_padding_mask: Any) -> Any:
            residual = x
            x = self.maybe_layer_norm(0, x, before=True)
            x = self.input_dropout_module(x)
            x = self.linear1(x)
            if self.act is not None:
                x = self.act(x)
            if encoder_padding_mask is not None:
                x = x.masked_fill(encoder_padding_mask.transpose(0, 1).unsqueeze(2), 0)
            x = self.conv(x, unfold=self.unfold)
            x = self.linear2(x)
            x = self.dropout_module(x)
            x = residual + x
            x = self.maybe_layer_norm(0, x, after=True)
            residual = x
            x = self.maybe_layer_norm(1, x, before=True)
            x = F.relu(self.fc1(x))
            x = self.relu_dropout_module(x)
            x = self.fc2(x)
            x = self.dropout_module(x)
            x = residual + x
            x = self.maybe_layer_norm(1, x, after=True)
            return x

        def maybe_layer_norm(self, i: int, x: Any, before: bool = False,
                             after: bool = False) -> Any:  # fmt: skip
            assert before ^ after
            if after ^ self.normalize_before:
                return self.layer_norms[i](x)
            else:
                return x

    class LightConvTagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, EMBED, padding_idx=PAD)
            self.embed_scale = math.sqrt(EMBED)
            self.layers = nn.ModuleList(
                [LightConvEncoderLayer(3, unfold=False), LightConvEncoderLayer(4, unfold=True)]
            )
            self.output_projection = nn.Linear(EMBED, VOCAB, bias=False)

        def forward(self, src_tokens: Any) -> Any:
            x = self.embed_scale * self.embed_tokens(src_tokens)
            x = x.transpose(0, 1)
            encoder_padding_mask = src_tokens.eq(PAD)
            if not encoder_padding_mask.any():
                encoder_padding_mask = None
            for layer in self.layers:
                x = layer(x, encoder_padding_mask)
            return self.output_projection(x.transpose(0, 1))

        def get_normalized_probs(self, net_output: Any, log_probs: bool) -> Any:
            if log_probs:
                return F.log_softmax(net_output, dim=-1, dtype=torch.float32)
            return softmax(net_output, dim=-1)

    return LightConvTagger()


def label_smoothed_nll_loss(lprobs: Any, target: Any, epsilon: float, ignore_index: Any = None,
                            reduce: bool = True) -> tuple[Any, Any]:  # fmt: skip
    if target.dim() == lprobs.dim() - 1:
        target = target.unsqueeze(-1)
    nll_loss = -lprobs.gather(dim=-1, index=target)
    smooth_loss = -lprobs.sum(dim=-1, keepdim=True)
    if ignore_index is not None:
        pad_mask = target.eq(ignore_index)
        nll_loss.masked_fill_(pad_mask, 0.0)
        smooth_loss.masked_fill_(pad_mask, 0.0)
    else:
        nll_loss = nll_loss.squeeze(-1)
        smooth_loss = smooth_loss.squeeze(-1)
    if reduce:
        nll_loss = nll_loss.sum()
        smooth_loss = smooth_loss.sum()
    eps_i = epsilon / (lprobs.size(-1) - 1)
    loss = (1.0 - epsilon - eps_i) * nll_loss + eps_i * smooth_loss
    return loss, nll_loss


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, betas=(0.9, 0.98), eps=1e-8)
    warmup_updates = 2

    def inverse_sqrt(num_updates: int) -> float:
        if num_updates < warmup_updates:
            return (num_updates + 1) / warmup_updates
        return (warmup_updates / (num_updates + 1)) ** 0.5

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, inverse_sqrt)
    rng = np.random.default_rng(21)
    values: list[float] = []
    for step in range(STEPS):
        tokens = rng.integers(2, VOCAB, (BATCH, T))
        for b, length in enumerate(rng.integers(3, T + 1, BATCH)):
            tokens[b, length:] = PAD
        src_tokens = as_tensor(torch_like, tokens)
        target = as_tensor(torch_like, np.where(tokens == PAD, PAD, (tokens * 5 + 1) % VOCAB))
        model.train()
        net_output = model(src_tokens)
        lprobs = model.get_normalized_probs(net_output, log_probs=True)
        lprobs, target = lprobs.view(-1, lprobs.size(-1)), target.view(-1)
        loss, nll_loss = label_smoothed_nll_loss(lprobs, target, 0.1, ignore_index=PAD)
        sample_size = target.ne(PAD).long().sum().item()
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        scheduler.step()
        values += [loss.item() / sample_size / math.log(2), nll_loss.item(), float(grad_norm)]
        if step == STEPS - 1:
            model.eval()
            with torch.no_grad():
                out = model(src_tokens)
                values.append(str(out.dtype) == "torch.float32")
                values.append(out.softmax(-1).max(-1)[0].sum().item())
    return values
