"""Mechanistic-interpretability workflows in plain PyTorch hooks, as TransformerLens
(``HookPoint``, ``run_with_cache``, ``run_with_hooks``, ``patching.py``) and the ARENA /
Neel Nanda tutorials teach them: a tiny attention-only transformer trained to copy a token,
then the logit lens, direct logit attribution, activation patching and attribution patching.

The idioms kept: ``class HookPoint(nn.Module)`` (an identity whose forward hooks are the
interface) named with ``named_modules()``; ``run_with_cache`` storing ``output.detach()`` from
``register_forward_hook(partial(save_hook, name=name))`` and removing every handle in a
``finally``; a patching hook that returns a replacement (``corrupted[:, pos] = clean_cache[name]
[:, pos]``) through ``run_with_hooks``; ``logits_to_ave_logit_diff`` (``logits[:, -1, :]
.gather(dim=-1, index=answer_tokens)``, ``correct_logits - incorrect_logits``); the normalised
patching metric ``(patched - corrupted) / (clean - corrupted)`` over a ``torch.zeros(n_layers,
seq_len)`` grid filled in a loop; the logit lens (``model.ln_final(resid) @ model.W_U``) over
``torch.stack`` of the accumulated residual stream, and ``einops.einsum`` of the residual
directions with ``model.W_U[:, answer] `` as ``@``; attribution patching's gradients from
``register_full_backward_hook`` (``grad_output[0].detach()``) and its linear estimate
``((clean_act - corrupted_act) * corrupted_grad).sum(-1)``.

Changed: one model of 2 attention layers, width 8, vocabulary 8, sequences of 4, 25 Adam steps of
training, two prompts.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, LAYERS, SEQ, STEPS = 8, 8, 2, 4, 25


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class HookPoint(nn.Module):
        def forward(self, x: Any) -> Any:
            return x

    class AttnBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln = nn.LayerNorm(DIM)
            self.W_QKV = nn.Linear(DIM, 3 * DIM, bias=False)
            self.W_O = nn.Linear(DIM, DIM, bias=False)
            self.hook_attn_out = HookPoint()
            self.hook_resid_post = HookPoint()

        def forward(self, x: Any) -> Any:
            q, k, v = self.W_QKV(self.ln(x)).chunk(3, dim=-1)
            z = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], is_causal=True)
            attn_out = self.hook_attn_out(self.W_O(z[:, 0]))
            return self.hook_resid_post(x + attn_out)

    class AttnOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.pos_embed = nn.Parameter(torch.randn(SEQ, DIM) * 0.1)
            self.hook_embed = HookPoint()
            self.blocks = nn.ModuleList([AttnBlock() for _ in range(LAYERS)])
            self.ln_final = nn.LayerNorm(DIM)
            self.W_U = nn.Parameter(torch.randn(DIM, VOCAB) * DIM**-0.5)

        def forward(self, tokens: Any) -> Any:
            x = self.hook_embed(self.embed(tokens) + self.pos_embed[: tokens.shape[1]])
            for block in self.blocks:
                x = block(x)
            return self.ln_final(x) @ self.W_U

    return AttnOnly()


def run_with_hooks(model: Any, tokens: Any, fwd_hooks: list) -> Any:
    modules = dict(model.named_modules())
    handles = [modules[name].register_forward_hook(hook) for name, hook in fwd_hooks]
    try:
        return model(tokens)
    finally:
        for handle in handles:
            handle.remove()


def run_with_cache(model: Any, tokens: Any) -> tuple[Any, dict]:
    cache: dict = {}

    def save_hook(module: Any, inputs: Any, output: Any, name: str) -> None:
        cache[name] = output.detach()

    names = [n for n, m in model.named_modules() if type(m).__name__ == "HookPoint"]
    logits = run_with_hooks(model, tokens, [(n, partial(save_hook, name=n)) for n in names])
    return logits, cache


def logits_to_ave_logit_diff(logits: Any, answer_tokens: Any) -> Any:
    final_logits = logits[:, -1, :]
    answer_logits = final_logits.gather(dim=-1, index=answer_tokens)
    correct_logits, incorrect_logits = answer_logits.unbind(dim=-1)
    return (correct_logits - incorrect_logits).mean()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(10)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    values: list[float] = []
    for step in range(STEPS):  # predict the first token at the last position
        tokens = as_tensor(torch, rng.integers(0, VOCAB, (16, SEQ)))
        logits = model(tokens)
        loss = F.cross_entropy(logits[:, -1], tokens[:, 0])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 8 == 0:
            values.append(loss.item())
    model.eval()
    clean_tokens = torch.tensor([[1, 5, 6, 7], [2, 5, 6, 7]])
    corrupted_tokens = torch.tensor([[3, 5, 6, 7], [4, 5, 6, 7]])
    answer_tokens = torch.tensor([[1, 3], [2, 4]])
    with torch.no_grad():
        clean_logits, clean_cache = run_with_cache(model, clean_tokens)
        corrupted_logits, _ = run_with_cache(model, corrupted_tokens)
        clean_diff = logits_to_ave_logit_diff(clean_logits, answer_tokens)
        corrupted_diff = logits_to_ave_logit_diff(corrupted_logits, answer_tokens)
        values += [clean_diff.item(), corrupted_diff.item()]
        # activation patching of the residual stream, layer by position
        results = torch.zeros(LAYERS, SEQ)
        for layer in range(LAYERS):
            for pos in range(SEQ):
                name = f"blocks.{layer}.hook_resid_post"

                def patch_hook(module: Any, inputs: Any, corrupted: Any, pos: int = pos,
                               name: str = name) -> Any:  # fmt: skip
                    corrupted = corrupted.clone()
                    corrupted[:, pos] = clean_cache[name][:, pos]
                    return corrupted

                patched = run_with_hooks(model, corrupted_tokens, [(name, patch_hook)])
                patched_diff = logits_to_ave_logit_diff(patched, answer_tokens)
                results[layer, pos] = (patched_diff - corrupted_diff) / (
                    clean_diff - corrupted_diff
                )
        values += results.flatten().tolist()
        # logit lens and direct logit attribution over the accumulated residual stream
        accumulated = torch.stack(
            [clean_cache["hook_embed"]]
            + [clean_cache[f"blocks.{i}.hook_resid_post"] for i in range(LAYERS)]  # fmt: skip
        )[:, :, -1]
        lens = model.ln_final(accumulated) @ model.W_U
        values += lens.argmax(-1).flatten().tolist()
        directions = model.W_U[:, answer_tokens[:, 0]] - model.W_U[:, answer_tokens[:, 1]]
        attn_outs = torch.stack(
            [clean_cache[f"blocks.{i}.hook_attn_out"][:, -1] for i in range(LAYERS)]
        )
        values += (attn_outs * directions.T[None]).sum(-1).mean(-1).tolist()
    # attribution patching: one forward and backward on the corrupted prompt
    grads: dict = {}
    acts: dict = {}
    handles = []
    for i, block in enumerate(model.blocks):
        name = f"blocks.{i}.hook_attn_out"

        def fwd(module: Any, inputs: Any, output: Any, name: str = name) -> None:
            acts[name] = output.detach()

        def bwd(module: Any, grad_input: Any, grad_output: Any, name: str = name) -> None:
            grads[name] = grad_output[0].detach()

        handles += [block.hook_attn_out.register_forward_hook(fwd),
                    block.hook_attn_out.register_full_backward_hook(bwd)]  # fmt: skip
    try:
        model.zero_grad()
        logits_to_ave_logit_diff(model(corrupted_tokens), answer_tokens).backward()
    finally:
        for handle in handles:
            handle.remove()
    for i in range(LAYERS):
        name = f"blocks.{i}.hook_attn_out"
        estimate = ((clean_cache[name] - acts[name]) * grads[name]).sum(-1)
        values += estimate.sum(0).tolist()
    return values
