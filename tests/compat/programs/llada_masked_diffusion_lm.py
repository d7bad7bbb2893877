"""A masked diffusion language model, trained and sampled as LLaDA (ML-GSAI/LLaDA,
``GUIDELINES.md``'s pre-training ``forward_process``, ``get_log_likelihood.py``,
``generate.py``) and MDLM (kuleshov-group/mdlm) write it, on a tiny bidirectional transformer.

The idioms kept: ``forward_process`` (``t = torch.rand(b)``, ``p_mask = (1 - eps) * t + eps``,
``p_mask[:, None].repeat(1, l)``, ``masked_indices = torch.rand((b, l)) < p_mask``,
``noisy_batch = torch.where(masked_indices, MASK_ID, input_ids)``); the loss
``F.cross_entropy(logits[masked_indices], input_ids[masked_indices], reduction='none') /
p_mask[masked_indices]`` summed over ``input_ids.shape[0] * input_ids.shape[1]``; the random
length trick (``torch.randint(1, l + 1, (1,))`` on 1% of steps, here every other step); the
Monte-Carlo likelihood (``get_log_likelihood``: ``k = torch.randint(1, l + 1, (b,))``, ``x =
torch.round(torch.linspace(float(k[i]), float(k[i] + (b - 1) * (l / b)), steps=b)).long()``,
``torch.randperm`` per row, ``is_mask = torch.zeros_like(...).bool()``, ``- sum(loss) /
mc_num``); ``generate`` with semi-autoregressive blocks (``get_num_transfer_tokens``: ``base =
mask_num // steps``, ``remainder``, ``num_transfer_tokens[i, :remainder[i]] += 1``),
``add_gumbel_noise`` in float64 (``logits.exp() / (- torch.log(noise)) ** temperature``),
``torch.argmax(logits_with_noise, dim=-1)``, the ``low_confidence`` remasking (``p =
F.softmax(logits, dim=-1)``, ``torch.squeeze(torch.gather(p, dim=-1, index=torch.unsqueeze(x0,
-1)), -1)``, ``x0_p[:, prompt.shape[1] + (num_block + 1) * block_length:] = -np.inf``,
``torch.where(mask_index, x0_p, -np.inf)``, ``_, select_index = torch.topk(confidence[j],
k=num_transfer_tokens[j, i])``, ``transfer_index[j, select_index] = True``, ``x[transfer_index]
= x0[transfer_index]``), all under ``@torch.no_grad()``.

Changed: vocabulary 10 (+ the mask token), length 8, a one-layer ``nn.TransformerEncoder``
(dropout 0), 6 AdamW steps, generation of 4 tokens in 2 blocks of 2 steps, 2 Monte-Carlo
samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, MASK_ID, LENGTH, DIM, BATCH, STEPS = 10, 10, 8, 16, 4, 6


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class MaskedDiffusionLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB + 1, DIM)
            self.wpe = nn.Parameter(torch.randn(1, 2 * LENGTH, DIM) * 0.02)
            layer = nn.TransformerEncoderLayer(DIM, 2, 32, dropout=0.0, batch_first=True,
                                               norm_first=True, activation="gelu")  # fmt: skip
            self.blocks = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
            self.ln_f = nn.LayerNorm(DIM)
            self.lm_head = nn.Linear(DIM, VOCAB + 1, bias=False)

        def forward(self, input_ids: Any) -> Any:
            x = self.wte(input_ids) + self.wpe[:, : input_ids.shape[1]]
            return self.lm_head(self.ln_f(self.blocks(x)))

    return MaskedDiffusionLM()


def forward_process(torch: Any, input_ids: Any, eps: float = 1e-3) -> tuple[Any, Any, Any]:
    b, l = input_ids.shape
    t = torch.rand(b, device=input_ids.device)
    p_mask = (1 - eps) * t + eps
    p_mask = p_mask[:, None].repeat(1, l)
    masked_indices = torch.rand((b, l), device=input_ids.device) < p_mask
    noisy_batch = torch.where(masked_indices, MASK_ID, input_ids)
    return noisy_batch, masked_indices, p_mask


def get_log_likelihood(torch: Any, model: Any, prompt: Any, answer: Any, mc_num: int = 2,
                       batch_size: int = 2) -> float:  # fmt: skip
    F = torch.nn.functional
    seq = torch.cat([prompt, answer])[None, :].repeat(batch_size, 1)
    prompt_index = torch.arange(seq.shape[1]) < len(prompt)
    loss_ = []
    for _ in range(mc_num // batch_size):
        b, l = seq.shape
        target_len = (seq[0] != MASK_ID).sum() - prompt_index.sum()
        k = torch.randint(1, target_len + 1, (), device=seq.device)
        x = torch.round(torch.linspace(float(k), k + (b - 1) * (target_len / b), steps=b)).long()
        x = ((x - 1) % target_len) + 1
        indices = torch.arange(target_len, device=seq.device).repeat(b, 1)
        is_mask = indices < x.unsqueeze(1)
        for i in range(b):
            is_mask[i] = is_mask[i][torch.randperm(target_len)]
        is_mask = torch.cat(
            (torch.zeros(b, prompt_index.sum(), dtype=torch.bool, device=seq.device), is_mask),
            dim=1,
        )
        perturbed_seq = torch.where(is_mask, MASK_ID, seq)
        mask_index = perturbed_seq == MASK_ID
        logits = model(perturbed_seq)
        loss = F.cross_entropy(logits[mask_index], seq[mask_index], reduction="none")
        loss = loss / (x.unsqueeze(1).repeat(1, l)[mask_index] / target_len)
        loss_.append(loss.sum() / batch_size)
    return -sum(loss_).item() / len(loss_)


def add_gumbel_noise(torch: Any, logits: Any, temperature: float) -> Any:
    if temperature == 0:
        return logits
    logits = logits.to(torch.float64)
    noise = torch.rand_like(logits, dtype=torch.float64)
    gumbel_noise = (-torch.log(noise)) ** temperature
    return logits.exp() / gumbel_noise


def get_num_transfer_tokens(torch: Any, mask_index: Any, steps: int) -> Any:
    mask_num = mask_index.sum(dim=1, keepdim=True)
    base = mask_num // steps
    remainder = mask_num % steps
    num_transfer_tokens = torch.zeros(mask_num.size(0), steps, device=mask_index.device,
                                      dtype=torch.int64) + base  # fmt: skip
    for i in range(mask_num.size(0)):
        num_transfer_tokens[i, : remainder[i]] += 1
    return num_transfer_tokens


def generate(torch: Any, model: Any, prompt: Any, steps: int = 4, gen_length: int = 4,
             block_length: int = 2, temperature: float = 0.5) -> Any:  # fmt: skip
    F = torch.nn.functional
    x = torch.full((prompt.shape[0], prompt.shape[1] + gen_length), MASK_ID, dtype=torch.long)
    x[:, : prompt.shape[1]] = prompt.clone()
    num_blocks = gen_length // block_length
    steps = steps // num_blocks
    for num_block in range(num_blocks):
        start = prompt.shape[1] + num_block * block_length
        block_mask_index = x[:, start : start + block_length] == MASK_ID
        num_transfer_tokens = get_num_transfer_tokens(torch, block_mask_index, steps)
        for i in range(steps):
            mask_index = x == MASK_ID
            logits = model(x)
            logits_with_noise = add_gumbel_noise(torch, logits, temperature=temperature)
            x0 = torch.argmax(logits_with_noise, dim=-1)
            p = F.softmax(logits, dim=-1)
            x0_p = torch.squeeze(torch.gather(p, dim=-1, index=torch.unsqueeze(x0, -1)), -1)
            x0_p[:, prompt.shape[1] + (num_block + 1) * block_length :] = -np.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, -np.inf)
            transfer_index = torch.zeros_like(x0, dtype=torch.bool, device=x0.device)
            for j in range(confidence.shape[0]):
                _, select_index = torch.topk(confidence[j], k=num_transfer_tokens[j, i])
                transfer_index[j, select_index] = True
            x[transfer_index] = x0[transfer_index]
    return x


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    rng = np.random.default_rng(31)
    torch.manual_seed(17)
    values: list[float] = []
    for step in range(STEPS):
        start = rng.integers(0, VOCAB, (BATCH, 1))
        input_ids = as_tensor(torch, (start + np.arange(LENGTH)) % VOCAB)
        if step % 2 == 1:
            random_length = torch.randint(1, input_ids.shape[1] + 1, (1,))
            input_ids = input_ids[:, :random_length]
        noisy_batch, masked_indices, p_mask = forward_process(torch, input_ids)
        logits = model(input_ids=noisy_batch)
        token_loss = (
            F.cross_entropy(logits[masked_indices], input_ids[masked_indices], reduction="none")
            / p_mask[masked_indices]
        )
        loss = token_loss.sum() / (input_ids.shape[0] * input_ids.shape[1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        prompt = torch.tensor([3, 4, 5, 6])
        answer = torch.tensor([7, 8, 9, 0])
        values.append(get_log_likelihood(torch, model, prompt, answer))
        out = generate(torch, model, prompt[None].repeat(2, 1))
        values += out[:, 4:].flatten().tolist()
    return values
