"""Karpathy's nanoGPT (``model.py``, kept apart in ``_nanogpt_model.py``, and ``train.py``
here), size-reduced: the bias-optional
``LayerNorm`` (``F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)`` with
``self.bias = ... if bias else None``), ``CausalSelfAttention`` (``c_attn(x).split(n_embd,
dim=2)``, ``view(...).transpose(1, 2)``, ``self.flash = hasattr(F,
'scaled_dot_product_attention')`` choosing ``F.scaled_dot_product_attention(..., attn_mask=None,
dropout_p=..., is_causal=True)`` or the manual path over a ``register_buffer``'d
``tril(ones).view(1, 1, T, T)`` mask with ``masked_fill(self.bias[:, :, :T, :T] == 0,
float('-inf'))``), ``MLP`` with ``nn.GELU()``, pre-norm ``Block``, the ``@dataclass GPTConfig``,
``GPT`` (``nn.ModuleDict(dict(wte=..., wpe=..., drop=..., h=nn.ModuleList(...), ln_f=...))``,
weight tying ``self.transformer.wte.weight = self.lm_head.weight``, ``self.apply(
self._init_weights)``, the scaled ``normal_`` of every ``c_proj.weight`` found by
``named_parameters()``, ``get_num_params``, ``cross_entropy(..., ignore_index=-1)``, inference
on ``x[:, [-1], :]``), ``configure_optimizers`` (parameter groups by ``p.dim() >= 2``, the
``'fused' in inspect.signature(torch.optim.AdamW).parameters`` check), ``crop_block_size``
(a new ``nn.Parameter`` from a slice) and ``@torch.no_grad() generate`` (``torch.topk``,
``logits[logits < v[:, [-1]]] = -float('Inf')``, ``torch.multinomial``, ``torch.cat``);
``train.py``'s ``get_batch`` (``torch.stack([torch.from_numpy((data[i:i+block_size]).astype(
np.int64)) for i in ix])``), ``estimate_loss`` (``losses = torch.zeros(eval_iters)``,
``losses[k] = loss.item()``, ``losses.mean()``), the warm-up + cosine ``get_lr`` written into
every ``param_group['lr']``, gradient accumulation with ``loss / gradient_accumulation_steps``,
a disabled ``torch.amp.GradScaler`` (``scale``/``unscale_``/``step``/``update``),
``clip_grad_norm_`` and ``zero_grad(set_to_none=True)``.

Changed: the token file is a fixed NumPy sequence and batch offsets come from a seeded NumPy
generator (``torch.randint`` streams differ between frameworks); n_layer 12 -> 2, n_embd 768
-> 8, block_size 1024 -> 6, vocab 50304 -> 11, 600000 iterations -> 6; ``dropout`` 0;
``generate`` uses ``top_k=1`` so that ``multinomial`` draws from a one-hot distribution (the
same token under both frameworks). The manual attention path is run too, by building a second
model with ``hasattr`` made false (the original's fallback for PyTorch < 2.0), on the same
weights. The scaler's deprecated ``torch.cuda.amp.GradScaler(enabled=...)`` spelling is
``torch.amp.GradScaler('cuda', enabled=...)`` (the old one warns in PyTorch 2.13).
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import Any

import numpy as np

from ._nanogpt_model import GPTConfig, gpt_class

VOCAB, BLOCK = 11, 6


def _config() -> GPTConfig:
    return GPTConfig(
        block_size=BLOCK, vocab_size=VOCAB, n_layer=2, n_head=2, n_embd=8, dropout=0.0, bias=True
    )


def make_model(torch_like: Any) -> Any:
    return gpt_class(torch_like)(_config())


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    values: list[float] = []
    for flash in (True, False):
        model = gpt_class(torch_like, flash_available=flash)(_config())
        if init is not None:
            # the manual-attention model also holds its causal-mask buffers
            state = model.state_dict()
            state.update({k: torch.tensor(v) for k, v in init.items()})
            model.load_state_dict(state)
        values += _train(torch_like, model)
    return values


def _train(torch_like: Any, model: Any) -> list[float]:
    torch = torch_like
    # -----------------------------------------------------------------------------
    # train.py's configuration, reduced
    gradient_accumulation_steps = 2
    batch_size = 3
    block_size = BLOCK
    learning_rate = 6e-3
    max_iters = 6
    weight_decay = 1e-1
    beta1, beta2 = 0.9, 0.95
    grad_clip = 1.0
    decay_lr = True
    warmup_iters = 2
    lr_decay_iters = 5
    min_lr = 6e-4
    eval_iters = 2
    device = "cpu"
    dtype = "float32"
    device_type = "cuda" if "cuda" in device else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    ctx = nullcontext()
    # -----------------------------------------------------------------------------

    rng = np.random.default_rng(7)
    tokens = {
        "train": (np.arange(60) * 7 % VOCAB).astype(np.uint16),
        "val": (np.arange(30) * 5 % VOCAB).astype(np.uint16),
    }

    def get_batch(split: str) -> tuple[Any, Any]:
        data = tokens[split]
        ix = rng.integers(0, len(data) - block_size, size=(batch_size,))
        x = torch.stack([torch.from_numpy((data[i : i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack(
            [torch.from_numpy((data[i + 1 : i + 1 + block_size]).astype(np.int64)) for i in ix]
        )
        return x.to(device), y.to(device)

    scaler = torch.amp.GradScaler("cuda", enabled=(dtype == "float16"))
    optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)

    @torch.no_grad()
    def estimate_loss() -> dict:
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                with ctx:
                    logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    # learning rate decay scheduler (cosine with warmup)
    def get_lr(it: int) -> float:
        # 1) linear warmup for warmup_iters steps
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        # 2) if it > lr_decay_iters, return min learning rate
        if it > lr_decay_iters:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff ranges 0..1
        return min_lr + coeff * (learning_rate - min_lr)

    values = [float(model.get_num_params())]
    X, Y = get_batch("train")  # fetch the very first batch
    iter_num = 0
    while True:
        # determine and set the learning rate for this iteration
        lr = get_lr(iter_num) if decay_lr else learning_rate
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr

        if iter_num % 3 == 0:
            losses = estimate_loss()
            values += [losses["train"].item(), float(losses["val"])]

        # forward backward update, with optional gradient accumulation to simulate larger
        # batch size and using the GradScaler if data type is float16
        for _micro_step in range(gradient_accumulation_steps):
            with ctx:
                logits, loss = model(X, Y)
                # scale the loss to account for gradient accumulation
                loss = loss / gradient_accumulation_steps
            # immediately async prefetch next batch while model is doing the forward pass
            X, Y = get_batch("train")
            # backward pass, with gradient scaling if training in fp16
            scaler.scale(loss).backward()
        # clip the gradient
        if grad_clip != 0.0:
            scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            values.append(norm.item())
        # step the optimizer and scaler if training in fp16
        scaler.step(optimizer)
        scaler.update()
        # flush the gradients as soon as we can, no need for this memory anymore
        optimizer.zero_grad(set_to_none=True)

        lossf = loss.item() * gradient_accumulation_steps
        values.append(lossf)
        iter_num += 1
        if iter_num > max_iters:
            break

    model.eval()
    model.crop_block_size(4)
    start = torch.tensor([[1, 2, 3]], dtype=torch.long, device=device)
    y = model.generate(start, max_new_tokens=4, temperature=0.8, top_k=1)
    values += [float(t) for t in y[0].tolist()]
    return values
