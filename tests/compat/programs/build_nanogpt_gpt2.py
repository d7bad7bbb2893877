"""Karpathy's "build-nanogpt" (``train_gpt2.py``, the GPT-2 124M reproduction from the "Let's
reproduce GPT-2" video), size-reduced: ``CausalSelfAttention`` (``self.c_proj.NANOGPT_SCALE_INIT
= 1`` set as a plain attribute on a submodule, ``qkv.split(self.n_embd, dim=2)``,
``F.scaled_dot_product_attention(q, k, v, is_causal=True)``, ``y.transpose(1, 2).contiguous()
.view(B, T, C)``), ``MLP`` with ``nn.GELU(approximate='tanh')``, the ``@dataclass GPTConfig``,
``GPT`` (``nn.ModuleDict(dict(wte=..., wpe=..., h=nn.ModuleList(...), ln_f=...))``, weight tying
``self.transformer.wte.weight = self.lm_head.weight``, ``self.apply(self._init_weights)`` reading
``hasattr(module, 'NANOGPT_SCALE_INIT')`` to scale ``std *= (2 * self.config.n_layer) ** -0.5``,
``torch.nn.init.normal_(module.weight, mean=0.0, std=std)`` / ``zeros_``, ``forward`` with
``torch.arange(0, T, dtype=torch.long, device=idx.device)`` and ``F.cross_entropy(logits.view(
-1, logits.size(-1)), targets.view(-1))``), ``configure_optimizers`` (``{pn: p for pn, p in
self.named_parameters()}``, decay/no-decay groups by ``p.dim() >= 2``, ``'fused' in
inspect.signature(torch.optim.AdamW).parameters``, ``AdamW(optim_groups, lr=..., betas=(0.9,
0.95), eps=1e-8, fused=use_fused)``); ``DataLoaderLite`` over ``np.load``-ed token shards
(``npt.astype(np.int32)``, ``torch.tensor(npt, dtype=torch.long)``, ``buf[:-1].view(B, T)``,
shard rollover); the training script's ``torch.manual_seed(1337)``,
``torch.set_float32_matmul_precision('high')``, ``grad_accum_steps = total_batch_size // (B *
T)``, the warm-up + cosine ``get_lr``, the validation loop (``model.eval()``,
``val_loader.reset()``, ``val_loss_accum += loss.detach()`` under ``torch.no_grad()`` and
``torch.autocast(device_type=device_type, dtype=torch.bfloat16)``), the checkpoint dict
(``raw_model.state_dict()``, ``raw_model.config``, ``val_loss_accum.item()``) saved with
``torch.save``, HellaSwag scoring (``render_example``'s ``torch.zeros((4, max_len),
dtype=torch.long)`` rows filled by slice, ``get_most_likely_row``: shifted ``.contiguous()``
logits, ``F.cross_entropy(..., reduction='none')``, ``.view(tokens.size(0), -1)``, masked
average, ``avg_loss.argmin().item()``), generation (``tokens.unsqueeze(0).repeat(n, 1)``,
``torch.Generator(device=device)`` seeded, ``torch.topk(probs, k, dim=-1)``,
``torch.multinomial(topk_probs, 1, generator=sample_rng)``, ``torch.gather(topk_indices, -1,
ix)``), and the micro-step loop (``loss = loss / grad_accum_steps``, ``loss_accum +=
loss.detach()``, ``norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)``, every
``param_group['lr'] = lr``, the ``f"{norm:.4f}"`` log line formatting a 0-d tensor).

Changed: the FineWeb-Edu shards are two small NumPy token files written by ``init_state``;
n_layer 12 -> 2, n_head 12 -> 2, n_embd 768 -> 8, block_size 1024 -> 8, vocab 50304 -> 13,
B 64, T 1024 -> 2, 4, total_batch_size 524288 -> 16 (4 micro-steps), 19073 steps -> 5. The
program runs in float64, where ``torch.autocast(dtype=torch.bfloat16)`` leaves the computation
alone (autocast casts only float32), so the two frameworks agree to double precision; the
generation keeps ``top_k=1`` so that ``multinomial`` draws from a one-hot distribution (the
same token under both frameworks' generators). The init-time standard deviations
``_init_weights`` chose are returned, as the initial weights themselves come from torch.
"""

from __future__ import annotations

import inspect
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import load_numpy_state, state_to_numpy

VOCAB = 13


@dataclass
class GPTConfig:
    block_size: int = 1024  # max sequence length
    vocab_size: int = (
        50257  # number of tokens: 50,000 BPE merges + 256 bytes tokens + 1 <|endoftext|>
    )
    n_layer: int = 12  # number of layers
    n_head: int = 12  # number of heads
    n_embd: int = 768  # embedding dimension


def gpt_class(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            assert config.n_embd % config.n_head == 0
            # key, query, value projections for all heads, but in a batch
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
            # output projection
            self.c_proj = nn.Linear(config.n_embd, config.n_embd)
            self.c_proj.NANOGPT_SCALE_INIT = 1
            # regularization
            self.n_head = config.n_head
            self.n_embd = config.n_embd

        def forward(self, x: Any) -> Any:
            B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)
            # calculate query, key, values for all heads in batch and move head forward to be the
            # batch dim
            qkv = self.c_attn(x)
            q, k, v = qkv.split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # flash attention
            y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs
            # output projection
            y = self.c_proj(y)
            return y

    class MLP(nn.Module):
        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
            self.gelu = nn.GELU(approximate="tanh")
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
            self.c_proj.NANOGPT_SCALE_INIT = 1

        def forward(self, x: Any) -> Any:
            x = self.c_fc(x)
            x = self.gelu(x)
            x = self.c_proj(x)
            return x

    class Block(nn.Module):
        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = nn.LayerNorm(config.n_embd)
            self.mlp = MLP(config)

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    class GPT(nn.Module):
        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            self.config = config
            self.init_stds: list[float] = []

            self.transformer = nn.ModuleDict(
                dict(
                    wte=nn.Embedding(config.vocab_size, config.n_embd),
                    wpe=nn.Embedding(config.block_size, config.n_embd),
                    h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                    ln_f=nn.LayerNorm(config.n_embd),
                )
            )
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

            # weight sharing scheme
            self.transformer.wte.weight = self.lm_head.weight

            # init params
            self.apply(self._init_weights)

        def _init_weights(self, module: Any) -> None:
            if isinstance(module, nn.Linear):
                std = 0.02
                if hasattr(module, "NANOGPT_SCALE_INIT"):
                    std *= (2 * self.config.n_layer) ** -0.5
                self.init_stds.append(std)
                torch.nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx: Any, targets: Any = None) -> tuple[Any, Any]:
            # idx is of shape (B, T)
            B, T = idx.size()
            assert T <= self.config.block_size, (
                f"Cannot forward sequence of length {T}, "
                f"block size is only {self.config.block_size}"
            )
            # forward the token and posisition embeddings
            pos = torch.arange(0, T, dtype=torch.long, device=idx.device)  # shape (T)
            pos_emb = self.transformer.wpe(pos)  # position embeddings of shape (T, n_embd)
            tok_emb = self.transformer.wte(idx)  # token embeddings of shape (B, T, n_embd)
            x = tok_emb + pos_emb
            # forward the blocks of the transformer
            for block in self.transformer.h:
                x = block(x)
            # forward the final layernorm and the classifier
            x = self.transformer.ln_f(x)
            logits = self.lm_head(x)  # (B, T, vocab_size)
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

        def configure_optimizers(
            self, weight_decay: float, learning_rate: float, device_type: str
        ) -> Any:
            # start with all of the candidate parameters (that require grad)
            param_dict = {pn: p for pn, p in self.named_parameters()}
            param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
            # create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
            # i.e. all weight tensors in matmuls + embeddings decay, all biases and layernorms
            # don't.
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [
                {"params": decay_params, "weight_decay": weight_decay},
                {"params": nodecay_params, "weight_decay": 0.0},
            ]
            num_decay_params = sum(p.numel() for p in decay_params)
            num_nodecay_params = sum(p.numel() for p in nodecay_params)
            self.group_sizes = (len(decay_params), num_decay_params, num_nodecay_params)
            # Create AdamW optimizer and use the fused version if it is available
            fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
            use_fused = fused_available and device_type == "cuda"
            optimizer = torch.optim.AdamW(
                optim_groups, lr=learning_rate, betas=(0.9, 0.95), eps=1e-8, fused=use_fused
            )
            return optimizer

    return GPT


CONFIG = GPTConfig(block_size=8, vocab_size=VOCAB, n_layer=2, n_head=2, n_embd=8)


def make_model(torch_like: Any) -> Any:
    return gpt_class(torch_like)(CONFIG)


def init_state(tmp_path: Path) -> dict:
    """torch's initial weights and two token shards ``edufineweb_{train,val}_000000.npy``."""
    import torch

    torch.manual_seed(0)
    state = state_to_numpy(make_model(torch))
    rng = np.random.default_rng(124)
    data_root = tmp_path / "edu_fineweb10B"
    data_root.mkdir()
    for split, n in (("train", 40), ("train", 30), ("val", 50)):
        index = len(list(data_root.glob(f"*_{split}_*")))
        # a noisy counting sequence: learnable, like text
        tokens = (np.arange(n) + (rng.random(n) < 0.2) * rng.integers(1, VOCAB, n)) % VOCAB
        np.save(data_root / f"edufineweb_{split}_{index:06d}.npy", tokens.astype(np.uint16))
    return {"state": state, "data_root": str(data_root), "log_dir": str(tmp_path / "log")}


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional

    def load_tokens(filename: str) -> Any:
        npt = np.load(filename)
        npt = npt.astype(np.int32)  # added after video
        ptt = torch.tensor(npt, dtype=torch.long)
        return ptt

    class DataLoaderLite:
        def __init__(self, B: int, T: int, process_rank: int, num_processes: int, split: str):
            self.B = B
            self.T = T
            self.process_rank = process_rank
            self.num_processes = num_processes
            assert split in {"train", "val"}

            # get the shard filenames
            data_root = init["data_root"]
            shards = os.listdir(data_root)
            shards = [s for s in shards if split in s]
            shards = sorted(shards)
            shards = [os.path.join(data_root, s) for s in shards]
            self.shards = shards
            assert len(shards) > 0, f"no shards found for split {split}"
            self.reset()

        def reset(self) -> None:
            # state, init at shard zero
            self.current_shard = 0
            self.tokens = load_tokens(self.shards[self.current_shard])
            self.current_position = self.B * self.T * self.process_rank

        def next_batch(self) -> tuple[Any, Any]:
            B, T = self.B, self.T
            buf = self.tokens[self.current_position : self.current_position + B * T + 1]
            x = (buf[:-1]).view(B, T)  # inputs
            y = (buf[1:]).view(B, T)  # targets
            # advance the position in the tensor
            self.current_position += B * T * self.num_processes
            # if loading the next batch would be out of bounds, advance to next shard
            if self.current_position + (B * T * self.num_processes + 1) > len(self.tokens):
                self.current_shard = (self.current_shard + 1) % len(self.shards)
                self.tokens = load_tokens(self.shards[self.current_shard])
                self.current_position = B * T * self.process_rank
            return x, y

    def render_example(ctx: list[int], endings: list[list[int]], label: int) -> tuple:
        tok_rows, mask_rows = [], []
        for end_tokens in endings:
            tok_rows.append(ctx + end_tokens)
            mask_rows.append([0] * len(ctx) + [1] * len(end_tokens))
        # have to be careful during the collation because the number of tokens in each row can
        # differ
        max_len = max(len(row) for row in tok_rows)
        tokens = torch.zeros((4, max_len), dtype=torch.long)
        mask = torch.zeros((4, max_len), dtype=torch.long)
        for i, (tok_row, mask_row) in enumerate(zip(tok_rows, mask_rows, strict=True)):
            tokens[i, : len(tok_row)] = torch.tensor(tok_row)
            mask[i, : len(mask_row)] = torch.tensor(mask_row)
        return None, tokens, mask, label

    def get_most_likely_row(tokens: Any, mask: Any, logits: Any) -> tuple[int, list[float]]:
        # evaluate the autoregressive loss at all positions
        shift_logits = (logits[..., :-1, :]).contiguous()
        shift_tokens = (tokens[..., 1:]).contiguous()
        flat_shift_logits = shift_logits.view(-1, shift_logits.size(-1))
        flat_shift_tokens = shift_tokens.view(-1)
        shift_losses = F.cross_entropy(flat_shift_logits, flat_shift_tokens, reduction="none")
        shift_losses = shift_losses.view(tokens.size(0), -1)
        # now get the average loss just for the completion region (where mask == 1), in each row
        shift_mask = (
            mask[..., 1:]
        ).contiguous()  # we must shift mask, so we start at the last prompt token
        masked_shift_losses = shift_losses * shift_mask
        # sum and divide by the number of 1s in the mask
        sum_loss = masked_shift_losses.sum(dim=1)
        avg_loss = sum_loss / shift_mask.sum(dim=1)
        # now we have a loss for each of the 4 completions
        # the one with the lowest loss should be the most likely
        pred_norm = avg_loss.argmin().item()
        return pred_norm, avg_loss.tolist()

    values: list[float] = []
    device = "cpu"
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    ddp_world_size, ddp_rank = 1, 0

    torch.manual_seed(1337)
    total_batch_size = 32  # 524288, 2**19, ~0.5M, in number of tokens
    B = 2  # micro batch size
    T = 4  # sequence length
    assert total_batch_size % (B * T * ddp_world_size) == 0
    grad_accum_steps = total_batch_size // (B * T * ddp_world_size)
    train_loader = DataLoaderLite(B=B, T=T, process_rank=0, num_processes=1, split="train")
    val_loader = DataLoaderLite(B=B, T=T, process_rank=0, num_processes=1, split="val")

    torch.set_float32_matmul_precision("high")
    values.append(float(torch.get_float32_matmul_precision() == "high"))

    # create model
    model = gpt_class(torch_like)(CONFIG)
    values.extend(model.init_stds)
    load_numpy_state(torch_like, model, init["state"])
    assert model.transformer.wte.weight is model.lm_head.weight
    model.to(device)
    raw_model = model  # always contains the "raw" unwrapped model

    max_lr = 6e-3
    min_lr = max_lr * 0.1
    warmup_steps = 2
    max_steps = 5

    def get_lr(it: int) -> float:
        # 1) linear warmup for warmup_iters steps
        if it < warmup_steps:
            return max_lr * (it + 1) / warmup_steps
        # 2) if it > lr_decay_iters, return min learning rate
        if it > max_steps:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_steps) / (max_steps - warmup_steps)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff starts at 1 and goes to 0
        return min_lr + coeff * (max_lr - min_lr)

    # optimize!
    optimizer = raw_model.configure_optimizers(
        weight_decay=0.1, learning_rate=6e-4, device_type=device_type
    )
    values.extend(raw_model.group_sizes)

    # create the log directory we will write checkpoints to and log to
    log_dir = init["log_dir"]
    os.makedirs(log_dir, exist_ok=True)
    log_file = os.path.join(log_dir, "log.txt")
    with open(log_file, "w") as f:  # open for writing to clear the file
        pass

    hellaswag = [
        ([0, 1, 2], [[3, 4], [7, 7, 1], [3, 9], [12]], 0),
        ([5, 6], [[7, 8, 9], [1], [2, 2], [7, 3]], 0),
    ]

    for step in range(max_steps):
        last_step = step == max_steps - 1

        # once in a while evaluate our validation loss
        if step % 2 == 0 or last_step:
            model.eval()
            val_loader.reset()
            with torch.no_grad():
                val_loss_accum = 0.0
                val_loss_steps = 3
                for _ in range(val_loss_steps):
                    x, y = val_loader.next_batch()
                    x, y = x.to(device), y.to(device)
                    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
                        logits, loss = model(x, y)
                    loss = loss / val_loss_steps
                    val_loss_accum += loss.detach()
            values.append(val_loss_accum.item())
            with open(log_file, "a") as f:
                f.write(f"{step} val {val_loss_accum.item():.4f}\n")
            if step > 0 and (step % 4 == 0 or last_step):
                # optionally write model checkpoints
                checkpoint_path = os.path.join(log_dir, f"model_{step:05d}.pt")
                checkpoint = {
                    "model": raw_model.state_dict(),
                    "config": raw_model.config,
                    "step": step,
                    "val_loss": val_loss_accum.item(),
                }
                torch.save(checkpoint, checkpoint_path)
                restored = torch.load(checkpoint_path, weights_only=False)
                assert restored["config"] == CONFIG and restored["step"] == step
                values.append(restored["model"]["lm_head.weight"].sum().item())

        # once in a while evaluate hellaswag
        if step % 2 == 1 or last_step:
            num_correct_norm = 0
            num_total = 0
            for i, (ctx, endings, label) in enumerate(hellaswag):
                # only process examples where i % ddp_world_size == ddp_rank
                if i % ddp_world_size != ddp_rank:
                    continue
                # render the example into tokens and labels
                _, tokens, mask, label = render_example(ctx, endings, label)
                tokens = tokens.to(device)
                mask = mask.to(device)
                # get the logits
                with torch.no_grad():
                    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
                        logits, loss = model(tokens)
                    pred_norm, avg_losses = get_most_likely_row(tokens, mask, logits)
                values.extend(avg_losses)
                num_total += 1
                num_correct_norm += int(pred_norm == label)
            acc_norm = num_correct_norm / num_total
            values.append(acc_norm)

        # once in a while generate from the model (except step 0, which is noise)
        if (step > 0 and step % 2 == 0) or last_step:
            model.eval()
            num_return_sequences = 2
            max_length = 8
            tokens = [1, 2, 3]  # enc.encode("Hello, I'm a language model,")
            tokens = torch.tensor(tokens, dtype=torch.long)
            tokens = tokens.unsqueeze(0).repeat(num_return_sequences, 1)
            xgen = tokens.to(device)
            sample_rng = torch.Generator(device=device)
            sample_rng.manual_seed(42 + ddp_rank)
            while xgen.size(1) < max_length:
                # forward the model to get the logits
                with torch.no_grad():
                    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
                        logits, loss = model(xgen)  # (B, T, vocab_size)
                    # take the logits at the last position
                    logits = logits[:, -1, :]  # (B, vocab_size)
                    # get the probabilities
                    probs = F.softmax(logits, dim=-1)
                    # do top-k sampling (50 in the original; 1 keeps the draw deterministic)
                    topk_probs, topk_indices = torch.topk(probs, 1, dim=-1)
                    # select a token from the top-k probabilities
                    ix = torch.multinomial(topk_probs, 1, generator=sample_rng)  # (B, 1)
                    # gather the corresponding indices
                    xcol = torch.gather(topk_indices, -1, ix)  # (B, 1)
                    # append to the sequence
                    xgen = torch.cat((xgen, xcol), dim=1)
            for i in range(num_return_sequences):
                values.extend(xgen[i, :max_length].tolist())

        # do one step of the optimization
        model.train()
        optimizer.zero_grad()
        loss_accum = 0.0
        for _micro_step in range(grad_accum_steps):
            x, y = train_loader.next_batch()
            x, y = x.to(device), y.to(device)
            with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
                logits, loss = model(x, y)
            # we have to scale the loss to account for gradient accumulation,
            # because the gradients just add on each successive backward().
            # addition of gradients corresponds to a SUM in the objective, but
            # instead of a SUM we want MEAN. Scale the loss here so it comes out right
            loss = loss / grad_accum_steps
            loss_accum += loss.detach()
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        # determine and set the learning rate for this iteration
        lr = get_lr(step)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        optimizer.step()
        tokens_processed = train_loader.B * train_loader.T * grad_accum_steps * ddp_world_size
        line = f"step {step:5d} | loss: {loss_accum.item():.6f} | lr {lr:.4e} | norm: {norm:.4f}"
        assert line.startswith(f"step {step:5d} | loss: ") and tokens_processed == 32
        with open(log_file, "a") as f:
            f.write(f"{step} train {loss_accum.item():.6f}\n")
        values.extend([loss_accum.item(), norm.item(), lr])
    with open(log_file) as f:
        values.append(len(f.read().splitlines()))
    return values
