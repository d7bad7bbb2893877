"""Medusa heads, as FasterDecoding/Medusa writes them (``medusa/model/medusa_model.py``'s
``ResBlock`` and ``medusa_head``, ``medusa/train/train_legacy.py``'s
``CustomizedTrainer.compute_loss``, ``medusa/model/utils.py``'s ``generate_medusa_buffers``,
``generate_candidates``, ``evaluate_posterior`` and the tree mask the LLaMA model merges in
``_prepare_decoder_attention_mask``), on a tiny frozen causal LM, size-reduced (3 heads, top-3,
a 7-node tree).

The idioms: ``ResBlock`` with ``torch.nn.init.zeros_(self.linear.weight)`` (identity at the
start) and ``x + self.act(self.linear(x))``; the heads ``nn.Sequential(*([ResBlock(hidden)] *
medusa_num_layers), nn.Linear(hidden, vocab, bias=False))`` (one block repeated: shared
weights, two state-dict keys), copied from the base LM head with
``self.medusa_head[i][-1].weight.data[:] = base_model.lm_head.weight.data[:]``;
``torch.stack(medusa_logits, dim=0)``; the shifted targets ``logits[i, :, : -(2 + i)]
.contiguous()`` / ``labels[..., 2 + i :]`` with ``CrossEntropyLoss`` and the top-k accuracy
``topk.eq(medusa_labels.unsqueeze(-1)).any(-1)`` over ``medusa_labels.ne(IGNORE_TOKEN_ID)``;
the buffers: ``sorted(medusa_choices, key=lambda x: (len(x), x))``, ``medusa_attn_mask =
torch.eye(medusa_len, medusa_len)``, ``medusa_attn_mask[:, 0] = 1``, ``medusa_attn_mask[j + start
+ 1, ancestor_idx] = 1``, ``medusa_tree_indices``, ``medusa_position_ids[start + 1: start +
depth_counts[i] + 1] = i + 1``, the retrieval paths padded with ``-2`` (``+ 1`` makes them -1:
the appended zero of ``tree_candidates_ext``), ``torch.cat([torch.zeros((n, 1),
dtype=torch.long), retrieve_indices], dim=1)``; the candidates ``torch.argmax(logits[:,
-1]).unsqueeze(0)``, ``torch.topk(medusa_logits[:, 0, -1], TOPK, dim=-1).indices``,
``candidates[tree_indices]``, ``tree_candidates_ext[retrieve_indices]``; the tree mask merged
into the causal one as ``mask[:, :, -medusa_len:, -medusa_len:][medusa_mask == 0] =
torch.finfo(torch.float32).min``; and the greedy posterior ``(candidates[:, 1:] ==
torch.argmax(logits[:, :-1], dim=-1)).int()``, ``torch.cumprod(posterior_mask, dim=1).sum(dim=1)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, HIDDEN, HEADS, TOPK, IGNORE_TOKEN_ID, STEPS = 13, 8, 3, 3, -100, 4
MEDUSA_CHOICES = [[0], [1], [2], [0, 0], [0, 1], [1, 0], [0, 0, 0]]


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class TinyCausalLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, HIDDEN)
            self.embed_positions = nn.Embedding(32, HIDDEN)
            self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN, bias=False)
            self.o_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
            self.norm = nn.LayerNorm(HIDDEN)
            self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)

        def model(self, input_ids: Any, position_ids: Any = None, medusa_mask: Any = None):
            bsz, seq_len = input_ids.shape
            if position_ids is None:
                position_ids = torch.arange(seq_len).unsqueeze(0)
            h = self.embed_tokens(input_ids) + self.embed_positions(position_ids)
            q, k, v = self.qkv(h).chunk(3, dim=-1)
            mask = torch.full((seq_len, seq_len), torch.finfo(h.dtype).min)
            mask = torch.triu(mask, diagonal=1)[None, None].expand(bsz, 1, -1, -1).clone()
            if medusa_mask is not None:
                medusa_len = medusa_mask.size(-1)
                mask[:, :, -medusa_len:, -medusa_len:][medusa_mask == 0] = torch.finfo(
                    torch.float32
                ).min
            att = (q.unsqueeze(1) @ k.unsqueeze(1).transpose(-2, -1)) / HIDDEN**0.5 + mask
            out = att.softmax(-1) @ v.unsqueeze(1)
            return (self.norm(h + self.o_proj(out.squeeze(1))),)

    class ResBlock(nn.Module):
        def __init__(self, hidden_size: int) -> None:
            super().__init__()
            self.linear = nn.Linear(hidden_size, hidden_size)
            # Initialize as an identity mapping
            torch.nn.init.zeros_(self.linear.weight)
            # Use SiLU activation to keep consistent with the Llama model
            self.act = nn.SiLU()

        def forward(self, x: Any) -> Any:
            return x + self.act(self.linear(x))

    class MedusaModel(nn.Module):
        def __init__(self, medusa_num_heads: int = HEADS, medusa_num_layers: int = 2) -> None:
            super().__init__()
            self.base_model = TinyCausalLM()
            self.hidden_size, self.vocab_size = HIDDEN, VOCAB
            self.medusa = medusa_num_heads
            self.medusa_head = nn.ModuleList(
                [
                    nn.Sequential(
                        *([ResBlock(self.hidden_size)] * medusa_num_layers),
                        nn.Linear(self.hidden_size, self.vocab_size, bias=False),
                    )
                    for _ in range(medusa_num_heads)
                ]
            )
            self.medusa_head.to(self.base_model.lm_head.weight.dtype)
            for i in range(medusa_num_heads):
                # Initialize the weights of each medusa_head using the base model's weights
                self.medusa_head[i][-1].weight.data[:] = self.base_model.lm_head.weight.data[:]

        def forward(self, input_ids: Any, output_orig: bool = False, position_ids: Any = None,
                    medusa_mask: Any = None) -> Any:  # fmt: skip
            with torch.inference_mode():
                outputs = self.base_model.model(input_ids, position_ids, medusa_mask)
                if output_orig:
                    orig = self.base_model.lm_head(outputs[0])
            hidden_states = outputs[0].clone()
            medusa_logits = []
            for i in range(self.medusa):
                medusa_logits.append(self.medusa_head[i](hidden_states))
            if output_orig:
                return torch.stack(medusa_logits, dim=0), outputs, orig
            return torch.stack(medusa_logits, dim=0)

    return MedusaModel()


def pad_path(path: list, length: int, pad_value: int = -2) -> list:
    return path + [pad_value] * (length - len(path))


def generate_medusa_buffers(torch_like: Any, medusa_choices: list, device: str = "cpu") -> dict:
    torch = torch_like
    sorted_medusa_choices = sorted(medusa_choices, key=lambda x: (len(x), x))
    medusa_len = len(sorted_medusa_choices) + 1
    depth_counts: list = []
    prev_depth = 0
    for path in sorted_medusa_choices:
        depth = len(path)
        if depth != prev_depth:
            depth_counts.append(0)
        depth_counts[depth - 1] += 1
        prev_depth = depth
    medusa_attn_mask = torch.eye(medusa_len, medusa_len)
    medusa_attn_mask[:, 0] = 1
    start = 0
    for i in range(len(depth_counts)):
        for j in range(depth_counts[i]):
            cur_medusa_choice = sorted_medusa_choices[start + j]
            if len(cur_medusa_choice) == 1:
                continue
            ancestor_idx = []
            for c in range(len(cur_medusa_choice) - 1):
                ancestor_idx.append(sorted_medusa_choices.index(cur_medusa_choice[: c + 1]) + 1)
            medusa_attn_mask[j + start + 1, ancestor_idx] = 1
        start += depth_counts[i]
    medusa_tree_indices = torch.zeros(medusa_len, dtype=torch.long)
    medusa_tree_indices[0] = 0
    start = 0
    for i in range(len(depth_counts)):
        for j in range(depth_counts[i]):
            cur_medusa_choice = sorted_medusa_choices[start + j]
            medusa_tree_indices[start + j + 1] = cur_medusa_choice[-1] + TOPK * i + 1
        start += depth_counts[i]
    medusa_position_ids = torch.zeros(medusa_len, dtype=torch.long)
    start = 0
    for i in range(len(depth_counts)):
        medusa_position_ids[start + 1 : start + depth_counts[i] + 1] = i + 1
        start += depth_counts[i]
    retrieve_indices_nest = []
    retrieve_paths: list = []
    for i in range(len(sorted_medusa_choices)):
        cur_medusa_choice = sorted_medusa_choices[-i - 1]
        retrieve_indice = []
        if cur_medusa_choice in retrieve_paths:
            continue
        else:
            for c in range(len(cur_medusa_choice)):
                retrieve_indice.append(sorted_medusa_choices.index(cur_medusa_choice[: c + 1]))
                retrieve_paths.append(cur_medusa_choice[: c + 1])
        retrieve_indices_nest.append(retrieve_indice)
    max_length = max([len(x) for x in retrieve_indices_nest])
    retrieve_indices = [pad_path(path, max_length) for path in retrieve_indices_nest]
    retrieve_indices = torch.tensor(retrieve_indices, dtype=torch.long)
    retrieve_indices = retrieve_indices + 1
    retrieve_indices = torch.cat(
        [torch.zeros((retrieve_indices.shape[0], 1), dtype=torch.long), retrieve_indices], dim=1
    )
    medusa_buffers = {
        "medusa_attn_mask": medusa_attn_mask.unsqueeze(0).unsqueeze(0),
        "tree_indices": medusa_tree_indices,
        "medusa_position_ids": medusa_position_ids,
        "retrieve_indices": retrieve_indices,
    }
    return {
        k: v.clone().to(device) if isinstance(v, torch.Tensor) else torch.tensor(v, device=device)
        for k, v in medusa_buffers.items()
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.base_model.requires_grad_(False)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=2e-2, weight_decay=0.0
    )
    rng = np.random.default_rng(14)
    values: list[float] = [float(len(model.state_dict())), float(len(list(model.parameters())))]
    for _step in range(STEPS):
        ids = rng.integers(0, VOCAB, (2, 10))
        labels = ids.copy()
        labels[1, -3:] = IGNORE_TOKEN_ID
        input_ids, labels = as_tensor(torch_like, ids), as_tensor(torch_like, labels)
        logits = model(input_ids=input_ids)
        loss = 0
        loss_fct = nn.CrossEntropyLoss()
        log = {}
        medusa = logits.shape[0]
        for i in range(medusa):
            medusa_logits = logits[i, :, : -(2 + i)].contiguous()
            medusa_labels = labels[..., 2 + i :].contiguous()
            medusa_logits = medusa_logits.view(-1, logits.shape[-1])
            medusa_labels = medusa_labels.view(-1)
            medusa_labels = medusa_labels.to(medusa_logits.device)
            loss_i = loss_fct(medusa_logits, medusa_labels)
            loss += loss_i
            not_ignore = medusa_labels.ne(IGNORE_TOKEN_ID)
            medusa_labels = medusa_labels[not_ignore]
            for k in range(1, 3):
                _, topk = medusa_logits.topk(k, dim=-1)
                topk = topk[not_ignore]
                correct = topk.eq(medusa_labels.unsqueeze(-1)).any(-1)
                log[f"medusa{i}_top{k}"] = correct.float().mean().item()
            log[f"medusa{i}_loss"] = loss_i.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.extend([loss.item(), *log.values()])
    buffers = generate_medusa_buffers(torch_like, MEDUSA_CHOICES)
    values += [float(v.sum()) for v in buffers.values()]
    prompt = as_tensor(torch_like, rng.integers(0, VOCAB, (1, 6)))
    with torch.no_grad():
        medusa_logits, _, logits = model(prompt, output_orig=True)
        candidates_logit = torch.argmax(logits[:, -1]).unsqueeze(0)
        candidates_medusa_logits = torch.topk(medusa_logits[:, 0, -1], TOPK, dim=-1).indices
        candidates = torch.cat([candidates_logit, candidates_medusa_logits.view(-1)], dim=-1)
        tree_candidates = candidates[buffers["tree_indices"]]
        tree_candidates_ext = torch.cat(
            [tree_candidates, torch.zeros((1), dtype=torch.long, device=tree_candidates.device)],
            dim=0,
        )
        cart_candidates = tree_candidates_ext[buffers["retrieve_indices"]]
        tree_candidates = tree_candidates.unsqueeze(0)
        position_ids = buffers["medusa_position_ids"] + prompt.shape[1]
        full_ids = torch.cat([prompt, tree_candidates], dim=1)
        full_pos = torch.cat([torch.arange(prompt.shape[1]), position_ids]).unsqueeze(0)
        _, _, tree_logits = model(
            full_ids, output_orig=True, position_ids=full_pos,
            medusa_mask=buffers["medusa_attn_mask"],
        )  # fmt: skip
        tree_logits = tree_logits[0, prompt.shape[1] :][buffers["retrieve_indices"]]
        posterior_mask = (cart_candidates[:, 1:] == torch.argmax(tree_logits[:, :-1], dim=-1)).int()
        candidates_accept_length = (torch.cumprod(posterior_mask, dim=1)).sum(dim=1)
        accept_length = candidates_accept_length.max()
        if accept_length == 0:
            best_candidate = torch.tensor(0, dtype=torch.long, device=cart_candidates.device)
        else:
            best_candidate = torch.argmax(candidates_accept_length).to(torch.long)
    values += [float(cart_candidates.sum()), float(accept_length), float(best_candidate)]
    values += [tree_logits.sum().item()]
    return values
