"""torchtune's single-device LoRA fine-tuning recipe (``recipes/lora_finetune_single_device.py``)
with the pieces it pulls from ``torchtune/modules`` and ``torchtune/modules/peft``, size-reduced
and written as torchtune writes them.

The idioms: ``LoRALinear`` (``register_parameter("weight", nn.Parameter(weight))``,
``register_parameter("bias", None)`` when ``use_bias=False``, ``lora_a`` / ``lora_b`` as
bias-free ``nn.Linear`` initialised by ``nn.init.kaiming_uniform_(x.weight, a=math.sqrt(5))`` and
``nn.init.zeros_``, ``F.linear(x, self.weight, self.bias)`` plus ``(self.alpha / self.rank) *
self.lora_b(self.lora_a(self.dropout(x)))`` unless ``self.disabled``, ``adapter_params()``
naming ``["lora_a.weight", "lora_b.weight"]``); ``get_adapter_params`` (``named_modules()``,
``hasattr(v, "adapter_params") and callable(v.adapter_params)``, ``named_parameters(
recurse=True)``) and ``set_trainable_params`` (``v.requires_grad_(k in adapter_params)``); the
``disable_adapter`` context manager flipping ``module.disabled``; ``RMSNorm`` computing in
float32 (``x.float()``, ``F.rms_norm(x_fp32, normalized_shape=self.normalized_shape,
eps=self.eps).type_as(x)``, ``* self.scale``); ``RotaryPositionalEmbeddings`` (``theta = 1.0 /
(self.base ** (torch.arange(0, self.dim, 2)[: (self.dim // 2)].float() / self.dim))`` as a
non-persistent buffer, ``torch.einsum("i, j -> ij", seq_idx, self.theta)``, a ``torch.stack(
[cos, sin], dim=-1)`` cache, ``x.float().reshape(*x.shape[:-1], -1, 2)``, ``rope_cache.view(-1,
xshaped.size(1), 1, xshaped.size(3), 2)``, ``x_out.flatten(3).type_as(x)``); attention through
``F.scaled_dot_product_attention(q, k, v, is_causal=True)``; the SwiGLU ``FeedForward``
(``self.w2(F.silu(self.w1(x)) * self.w3(x))``); the decoder's chunked output (``[self.output(
chunk) for chunk in h.chunk(self.num_output_chunks, dim=1)]``) and ``CEWithChunkedOutputLoss``
(``labels.chunk(self.num_output_chunks, dim=1)``, per-chunk ``F.cross_entropy(logits.float(),
labels, ignore_index=self.ignore_index, reduction="sum")`` summed and divided by ``(labels !=
self.ignore_index).sum()``); the recipe's training step (``labels = torch.hstack((labels[...,
1:], self.ignore_labels_cache[: labels.shape[0]]))`` with ``torch.full((batch_size, 1),
ignore_index)``, ``current_num_tokens = (labels != ignore_index).sum()``, the loss times the
token count accumulated over ``gradient_accumulation_steps``, ``training.scale_grads(model, 1 /
num_tokens)`` by ``p.grad.mul_(scaler)``, ``clip_grad_norm_(..., max_norm=float(clip))``,
``optimizer.zero_grad(set_to_none=True)``); ``get_cosine_schedule_with_warmup`` as a
``LambdaLR``; loading the base checkpoint with ``load_state_dict(base, strict=False)`` and
``validate_missing_and_unexpected_for_lora`` over the ``missing_keys`` / ``unexpected_keys``;
the adapter checkpoint (``{k: v.cpu() for k, v in self.adapter_params.items()}``); and
``get_merged_lora_ckpt`` (``state_dict[f"{module}.weight"] += (alpha / rank) * lora_b_weight @
lora_a_weight``, ``del state_dict[...]``) loaded into a plain (LoRA-free) model that must give
the LoRA model's logits, while ``disable_adapter`` gives the base model's.

Changed: Llama-2-7B -> a 2-layer decoder of width 8 (2 heads, vocabulary 11); the Alpaca dataset
-> a fixed NumPy batch with prompt tokens masked to -100; bf16 -> float32; 4 optimizer steps of
2 accumulated micro-batches.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
RTOL, ATOL = 2e-5, 2e-6
VOCAB, DIM, HEADS, LAYERS, SEQ, RANK, ALPHA = 11, 8, 2, 2, 6, 2, 4.0


def _build(torch_like: Any, lora: bool) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class AdapterModule:  # torchtune's Protocol, as a plain base class
        def adapter_params(self) -> list[str]: ...

    def _lora_a_init_params(x: Any) -> None:
        nn.init.kaiming_uniform_(x.weight, a=math.sqrt(5))

    def _lora_b_init_params(x: Any) -> None:
        nn.init.zeros_(x.weight)

    class LoRALinear(nn.Module, AdapterModule):
        def __init__(self, in_dim, out_dim, rank, alpha, dropout=0.0, use_bias=False):
            super().__init__()
            self.in_dim = in_dim
            self.rank = rank
            self.alpha = alpha
            self.out_dim = out_dim
            self.use_bias = use_bias
            weight, bias = self._create_weight_and_bias()
            self.disabled = False
            self.register_parameter("weight", nn.Parameter(weight))
            self.register_parameter("bias", nn.Parameter(bias) if self.use_bias else None)
            self.dropout = nn.Dropout(p=dropout) if dropout > 0.0 else nn.Identity()
            self.lora_a = nn.Linear(in_features=in_dim, out_features=rank, bias=False)
            self.lora_b = nn.Linear(in_features=rank, out_features=out_dim, bias=False)
            self.merged = False
            self.initialize_parameters()

        def initialize_parameters(self):
            _lora_a_init_params(self.lora_a)
            _lora_b_init_params(self.lora_b)

        def _create_weight_and_bias(self):
            linear = nn.Linear(
                in_features=self.in_dim, out_features=self.out_dim, bias=self.use_bias
            )
            weight = linear.weight
            bias = None
            if self.use_bias:
                bias = linear.bias
            return weight, bias

        def adapter_params(self) -> list[str]:
            adapter_params = ["lora_a.weight", "lora_b.weight"]
            return adapter_params

        def forward(self, x):
            out = F.linear(x, self.weight, self.bias)
            if self.disabled:
                return out
            lora_out = self.lora_a(self.dropout(x))
            lora_out = (self.alpha / self.rank) * self.lora_b(lora_out)
            return out + lora_out

    class RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.normalized_shape = (dim,)
            self.eps = eps
            self.scale = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            x_fp32 = x.float()
            x_normed = F.rms_norm(
                x_fp32, normalized_shape=self.normalized_shape, eps=self.eps
            ).type_as(x)
            return x_normed * self.scale

    class RotaryPositionalEmbeddings(nn.Module):
        def __init__(self, dim: int, max_seq_len: int = 4096, base: int = 10_000) -> None:
            super().__init__()
            self.dim = dim
            self.base = base
            self.max_seq_len = max_seq_len
            self.rope_init()

        def rope_init(self):
            theta = 1.0 / (
                self.base ** (torch.arange(0, self.dim, 2)[: (self.dim // 2)].float() / self.dim)
            )
            self.register_buffer("theta", theta, persistent=False)
            self.build_rope_cache(self.max_seq_len)

        def build_rope_cache(self, max_seq_len: int = 4096) -> None:
            seq_idx = torch.arange(max_seq_len, dtype=self.theta.dtype, device=self.theta.device)
            idx_theta = torch.einsum("i, j -> ij", seq_idx, self.theta).float()
            cache = torch.stack([torch.cos(idx_theta), torch.sin(idx_theta)], dim=-1)
            self.register_buffer("cache", cache, persistent=False)

        def forward(self, x, *, input_pos=None):
            seq_len = x.size(1)
            rope_cache = self.cache[:seq_len] if input_pos is None else self.cache[input_pos]
            xshaped = x.float().reshape(*x.shape[:-1], -1, 2)
            rope_cache = rope_cache.view(-1, xshaped.size(1), 1, xshaped.size(3), 2)
            x_out = torch.stack(
                [
                    xshaped[..., 0] * rope_cache[..., 0] - xshaped[..., 1] * rope_cache[..., 1],
                    xshaped[..., 1] * rope_cache[..., 0] + xshaped[..., 0] * rope_cache[..., 1],
                ],
                -1,
            )
            x_out = x_out.flatten(3)
            return x_out.type_as(x)

    def proj(name: str, in_dim: int, out_dim: int) -> Any:
        if lora and name in ("q_proj", "v_proj"):  # lora_attn_modules: ['q_proj', 'v_proj']
            return LoRALinear(in_dim, out_dim, rank=RANK, alpha=ALPHA)
        return nn.Linear(in_dim, out_dim, bias=False)

    class MultiHeadAttention(nn.Module):
        def __init__(self, embed_dim, num_heads, head_dim, max_seq_len):
            super().__init__()
            self.num_heads, self.head_dim = num_heads, head_dim
            self.q_proj = proj("q_proj", embed_dim, num_heads * head_dim)
            self.k_proj = proj("k_proj", embed_dim, num_heads * head_dim)
            self.v_proj = proj("v_proj", embed_dim, num_heads * head_dim)
            self.output_proj = proj("output_proj", num_heads * head_dim, embed_dim)
            self.pos_embeddings = RotaryPositionalEmbeddings(head_dim, max_seq_len=max_seq_len)

        def forward(self, x):
            b, s_x, _ = x.shape
            q = self.q_proj(x).view(b, s_x, self.num_heads, self.head_dim)
            q = self.pos_embeddings(q)
            q = q.transpose(1, 2)
            k = self.k_proj(x).view(b, s_x, -1, self.head_dim)
            k = self.pos_embeddings(k)
            v = self.v_proj(x).view(b, s_x, -1, self.head_dim)
            k, v = k.transpose(1, 2), v.transpose(1, 2)
            output = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=True)
            output = output.transpose(1, 2).contiguous().view(b, s_x, -1)
            return self.output_proj(output)

    class FeedForward(nn.Module):
        def __init__(self, dim, hidden_dim):
            super().__init__()
            self.w1 = nn.Linear(dim, hidden_dim, bias=False)
            self.w2 = nn.Linear(hidden_dim, dim, bias=False)
            self.w3 = nn.Linear(dim, hidden_dim, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class TransformerSelfAttentionLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = MultiHeadAttention(DIM, HEADS, DIM // HEADS, SEQ)
            self.mlp = FeedForward(DIM, 2 * DIM)
            self.sa_norm = RMSNorm(DIM, eps=1e-5)
            self.mlp_norm = RMSNorm(DIM, eps=1e-5)

        def forward(self, x):
            h = self.attn(self.sa_norm(x)) + x
            return self.mlp(self.mlp_norm(h)) + h

    class TransformerDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embeddings = nn.Embedding(VOCAB, DIM)
            self.layers = nn.ModuleList([TransformerSelfAttentionLayer() for _ in range(LAYERS)])
            self.norm = RMSNorm(DIM, eps=1e-5)
            self.output = nn.Linear(DIM, VOCAB, bias=False)
            self.num_output_chunks = 0

        def set_num_output_chunks(self, num_output_chunks: int) -> None:
            self.num_output_chunks = num_output_chunks

        def forward(self, tokens):
            h = self.tok_embeddings(tokens)
            for layer in self.layers:
                h = layer(h)
            h = self.norm(h)
            if self.num_output_chunks > 0:
                output = [self.output(chunk) for chunk in h.chunk(self.num_output_chunks, dim=1)]
                return [chunk.float() for chunk in output]
            return self.output(h).float()

    return TransformerDecoder()


def make_model(torch_like: Any) -> Any:
    """The base (pretrained) checkpoint: a plain decoder."""
    return _build(torch_like, lora=False)


def get_adapter_params(model: Any) -> dict[str, Any]:
    adapter_params = {}
    for k, v in model.named_modules():
        if hasattr(v, "adapter_params") and callable(v.adapter_params):
            current_adapter_params = v.adapter_params()
            for n, p in v.named_parameters(recurse=True):
                if n in current_adapter_params:
                    full_key = f"{k}.{n}" if k else n
                    adapter_params.update({full_key: p})
                    current_adapter_params.remove(n)
            assert current_adapter_params == [], (
                f"Adapter params {current_adapter_params} not converted"
            )
    return adapter_params


def set_trainable_params(model: Any, adapter_params: dict[str, Any]) -> None:
    for k, v in model.named_parameters():
        v.requires_grad_(k in adapter_params)


@contextlib.contextmanager
def disable_adapter(model: Any) -> Any:
    for _, module in model.named_modules():
        if hasattr(module, "adapter_params") and hasattr(module, "disabled"):
            module.disabled = True
    try:
        yield
    finally:
        for _, module in model.named_modules():
            if hasattr(module, "adapter_params") and hasattr(module, "disabled"):
                module.disabled = False


def validate_missing_and_unexpected_for_lora(missing, unexpected) -> None:
    for k in missing:
        if "lora" not in k:
            raise AssertionError(f"Missing non-LoRA key {k} from base model dict")
    if unexpected:
        raise AssertionError("Unexpected key loading base model")


def _get_lora_modules(state_dict: dict[str, Any]) -> set[str]:
    lora_keys = [k for k in state_dict.keys() if "lora" in k or "magnitude" in k]
    return {
        k.replace(".lora_a.weight", "").replace(".lora_b.weight", "").replace(".magnitude", "")
        for k in lora_keys
    }


def get_merged_lora_ckpt(state_dict: dict[str, Any], rank: int, alpha: float) -> dict[str, Any]:
    lora_modules = _get_lora_modules(state_dict)
    for module in sorted(lora_modules):
        lora_a_weight = state_dict[f"{module}.lora_a.weight"]
        lora_b_weight = state_dict[f"{module}.lora_b.weight"]
        state_dict[f"{module}.weight"] += (alpha / rank) * lora_b_weight @ lora_a_weight
        del state_dict[f"{module}.lora_a.weight"]
        del state_dict[f"{module}.lora_b.weight"]
    return state_dict


def _loss_fn(torch_like: Any) -> Any:
    torch, F = torch_like, torch_like.nn.functional

    class CEWithChunkedOutputLoss(torch.nn.Module):
        def __init__(self, num_output_chunks: int = 8, ignore_index: int = -100):
            super().__init__()
            self.num_output_chunks = num_output_chunks
            self.ignore_index = ignore_index

        def compute_cross_entropy(self, logits, labels, normalize: bool = True):
            return F.cross_entropy(
                logits.float(), labels, ignore_index=self.ignore_index, reduction="sum"
            )

        def forward(self, logits, labels):
            total_elements = (labels != self.ignore_index).sum()
            labels = [
                target_chunk.reshape(-1)
                for target_chunk in labels.chunk(self.num_output_chunks, dim=1)
            ]
            logits = [logit_chunk.reshape(-1, logit_chunk.size(-1)) for logit_chunk in logits]
            total_loss = 0.0
            for logits_chunk, labels_chunk in zip(logits, labels, strict=True):
                total_loss += self.compute_cross_entropy(logits_chunk, labels_chunk)
            return total_loss / total_elements

    return CEWithChunkedOutputLoss(num_output_chunks=3)


def get_cosine_schedule_with_warmup(
    torch_like: Any, optimizer, num_warmup_steps, num_training_steps, num_cycles=0.5, last_epoch=-1
):
    def lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return current_step / max(1, num_warmup_steps)
        progress = (current_step - num_warmup_steps) / max(1, num_training_steps - num_warmup_steps)
        cosine_lr_multiple = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
        return max(0.0, cosine_lr_multiple)

    return torch_like.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


def scale_grads(model: Any, scaler: Any) -> None:
    for p in model.parameters():
        if p.grad is not None:
            scaler = scaler.to(p.grad.device)
            p.grad.mul_(scaler)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    values: list[float] = []
    torch.manual_seed(3)  # the adapters' own initialisation (lora_b is zero, so it is harmless)
    model = _build(torch_like, lora=True)
    base_missing, base_unexpected = model.load_state_dict(
        {k: torch.tensor(v) for k, v in init.items()}, strict=False
    )
    validate_missing_and_unexpected_for_lora(base_missing, base_unexpected)
    values.append(len(base_missing))
    # the adapters are drawn by each framework's own generator: overwrite lora_a alike
    rng = np.random.default_rng(5)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_a" in name:
                p.copy_(as_tensor(torch_like, rng.uniform(-0.5, 0.5, tuple(p.shape)).astype("f4")))
    adapter_params = get_adapter_params(model)
    set_trainable_params(model, adapter_params)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    values += [len(adapter_params), trainable]

    loss_fn = _loss_fn(torch_like)
    model.set_num_output_chunks(loss_fn.num_output_chunks)
    optimizer = torch.optim.AdamW(params=model.parameters(), lr=3e-2, weight_decay=0.01)
    lr_scheduler = get_cosine_schedule_with_warmup(torch_like, optimizer, 1, 4)
    batch_size, grad_accum = 2, 2
    ignore_labels_cache = torch.full((batch_size, 1), loss_fn.ignore_index)

    tokens_np = rng.integers(0, VOCAB, (4 * grad_accum, batch_size, SEQ))
    labels_np = tokens_np.copy()
    labels_np[..., :2] = -100  # the prompt is masked out of the loss
    labels_np[1, 0, :] = -100
    labels_np[1, 0, -1] = 3

    model.train()
    running_loss, num_tokens, idx = 0, 0, 0
    for micro in range(4 * grad_accum):
        tokens = as_tensor(torch_like, tokens_np[micro])
        labels = as_tensor(torch_like, labels_np[micro])
        labels = torch.hstack((labels[..., 1:], ignore_labels_cache[: labels.shape[0]]))
        logits = model(tokens)
        if not isinstance(logits, list):
            labels = labels.reshape(-1)
            logits = logits.reshape(-1, logits.size(-1))
        current_num_tokens = (labels != loss_fn.ignore_index).sum()
        num_tokens += current_num_tokens
        current_loss = loss_fn(logits, labels) * current_num_tokens
        running_loss += current_loss
        current_loss.backward()
        if (micro + 1) % grad_accum == 0:
            scale_grads(model, 1 / num_tokens)
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=float(1.0))  # noqa: UP018
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            lr_scheduler.step()
            loss_to_log = running_loss.item() / num_tokens
            values += [loss_to_log, grad_norm.item(), optimizer.param_groups[0]["lr"]]
            running_loss, num_tokens, idx = 0, 0, idx + 1

    frozen_untouched = all(
        p.grad is None for n, p in model.named_parameters() if n not in adapter_params
    )
    values.append(float(frozen_untouched))

    # the checkpoints: the adapter alone, and the merged weights in a plain model
    adapter_ckpt = {k: v.cpu() for k, v in adapter_params.items()}
    values.append(sum(v.detach().abs().sum().item() for v in adapter_ckpt.values()))
    model.eval()
    model.set_num_output_chunks(0)
    probe = as_tensor(torch_like, rng.integers(0, VOCAB, (2, SEQ)))
    with torch.no_grad():
        lora_logits = model(probe)
        with disable_adapter(model):
            base_logits = model(probe)
    state_dict = {k: v.cpu().clone() for k, v in model.state_dict().items()}
    merged = get_merged_lora_ckpt(state_dict, rank=RANK, alpha=ALPHA)
    values.append(float(any("lora" in k for k in merged)))
    plain = make_model(torch_like)
    plain.load_state_dict(merged)
    plain.eval()
    base = make_model(torch_like)
    load_numpy_state(torch_like, base, init)
    with torch.no_grad():
        merged_logits = plain(probe)
        pretrained_logits = base(probe)
    values.append(float(torch.allclose(merged_logits, lora_logits, atol=1e-5)))
    values.append(float(torch.allclose(base_logits, pretrained_logits, atol=1e-6)))
    values += [lora_logits.sum().item(), (lora_logits - base_logits).abs().max().item()]
    return values


def check(values: list[float]) -> None:
    assert values[-4:-2] == [1.0, 1.0], values[-4:-2]
    assert values[-5] == 0.0 and values[-7] == 1.0, values[-7:]
