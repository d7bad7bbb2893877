"""Model merging by task arithmetic, TIES, DARE and SLERP, as mergekit (``mergekit/merge_methods/
generalized_task_arithmetic.py``, ``sparsify.py``, ``slerp.py``) and the TIES-Merging
reference (prateeksha10/ties-merging, ``src/ties_minimal.ipynb``) write them on state dicts:
a base model fine-tuned on two tasks, the fine-tunes merged back.

The idioms kept: task vectors ``{k: ft[k] - base[k] for k in base}`` over ``state_dict()``;
``state_dict_to_vector`` (``torch.nn.utils.parameters_to_vector([value.reshape(-1) for key,
value in sorted_dict.items()])`` over an ``OrderedDict(sorted(...))``) and back with
``vector_to_parameters``; TIES' ``topk_values_mask`` (``kth_values, _ = M.abs().kthvalue(k,
dim=1, keepdim=True)``, ``mask = M.abs() >= kth_values``), ``resolve_sign``
(``torch.sign(Tensor.sum(dim=0))`` with ``majority_sign = torch.sign(sign_to_mult.sum())`` for
the zeros), ``disjoint_merge`` (``torch.where(sign_to_mult.unsqueeze(0) > 0, Tensor > 0, Tensor <
0)``, ``selected_entries.sum(dim=0) / torch.clamp((selected_entries != 0).sum(dim=0).float(),
min=1)``); mergekit's ``rescaled_random`` DARE (``torch.bernoulli(torch.full_like(input=tensor,
fill_value=density))``, ``res / density``) and ``magnitude`` sparsification (``torch.topk(
tensor.abs().view(-1), k=k, largest=True)``, ``mask.view(-1)[topk.indices] = 1``); SLERP
(``torch.sum(v0 * v1)`` of the normalised vectors, ``np.arccos``/``np.sin`` of the dot's
``.item()``, the linear fallback when ``abs(dot) > DOT_THRESHOLD``); merged weights put back
with ``load_state_dict`` and scored on both tasks.

Changed: a 3-16-2 MLP regressor, two synthetic tasks, 6 fine-tuning steps each, densities 0.5.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STEPS, DENSITY, LAMBDA, DOT_THRESHOLD = 6, 0.5, 0.8, 0.9995


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(3, 16), nn.GELU(), nn.Linear(16, 2))


def state_dict_to_vector(torch: Any, state_dict: dict) -> Any:
    sorted_dict = OrderedDict(sorted(state_dict.items()))
    return torch.nn.utils.parameters_to_vector(
        [value.reshape(-1) for value in sorted_dict.values()]
    )


def vector_to_state_dict(torch: Any, vector: Any, state_dict: dict) -> dict:
    reference = OrderedDict(sorted((k, v.clone()) for k, v in state_dict.items()))
    torch.nn.utils.vector_to_parameters(vector, reference.values())
    return dict(reference)


def topk_values_mask(M: Any, K: float = 0.7) -> Any:
    if K > 1:
        K /= 100
    original_shape = M.shape
    if M.dim() == 1:
        M = M.unsqueeze(0)
    n, d = M.shape
    k = int(d * K)
    k = d - k
    kth_values, _ = M.abs().kthvalue(k, dim=1, keepdim=True)
    mask = M.abs() >= kth_values
    final_mask = mask.squeeze() if original_shape == M.squeeze().shape else mask
    return M * final_mask


def resolve_sign(torch: Any, Tensor: Any) -> Any:
    sign_to_mult = torch.sign(Tensor.sum(dim=0))
    majority_sign = torch.sign(sign_to_mult.sum())
    sign_to_mult[sign_to_mult == 0] = majority_sign
    return sign_to_mult


def disjoint_merge(torch: Any, Tensor: Any, sign_to_mult: Any) -> Any:
    rows_to_keep = torch.where(sign_to_mult.unsqueeze(0) > 0, Tensor > 0, Tensor < 0)
    selected_entries = Tensor * rows_to_keep
    non_zero_counts = (selected_entries != 0).sum(dim=0).float()
    return torch.sum(selected_entries, dim=0) / torch.clamp(non_zero_counts, min=1)


def magnitude(torch: Any, tensor: Any, density: float) -> Any:
    k = int(density * tensor.view(-1).shape[0])
    mask = torch.zeros_like(tensor)
    w = tensor.abs().view(-1)
    topk = torch.topk(w, k=k, largest=True)
    mask.view(-1)[topk.indices] = 1
    return tensor * mask


def rescaled_random(torch: Any, tensor: Any, density: float) -> Any:
    mask = torch.bernoulli(torch.full_like(input=tensor, fill_value=density))
    res = tensor * mask
    return res / density


def slerp(torch: Any, t: float, v0: Any, v1: Any, eps: float = 1e-8) -> Any:
    v0_copy, v1_copy = v0.clone(), v1.clone()
    v0 = v0 / torch.clamp(torch.norm(v0), min=eps)
    v1 = v1 / torch.clamp(torch.norm(v1), min=eps)
    dot = torch.sum(v0 * v1).item()
    if np.abs(dot) > DOT_THRESHOLD:
        return (1 - t) * v0_copy + t * v1_copy
    theta_0 = np.arccos(dot)
    sin_theta_0 = np.sin(theta_0)
    theta_t = theta_0 * t
    s0 = np.sin(theta_0 - theta_t) / sin_theta_0
    s1 = np.sin(theta_t) / sin_theta_0
    return s0 * v0_copy + s1 * v1_copy


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(12)
    tasks = []
    for _ in range(2):
        w = rng.standard_normal((3, 2))
        x = rng.standard_normal((24, 3))
        tasks.append((as_tensor(torch, x), as_tensor(torch, np.tanh(x @ w))))
    base = make_model(torch)
    load_numpy_state(torch, base, init)
    base_sd = {k: v.detach().clone() for k, v in base.state_dict().items()}
    finetuned = []
    values: list[float] = []
    for x, y in tasks:
        model = make_model(torch)
        model.load_state_dict(base_sd)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
        for _ in range(STEPS):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
        values.append(loss.item())
        finetuned.append(model.state_dict())

    def score(state: dict) -> list[float]:
        model = make_model(torch)
        model.load_state_dict(state)
        with torch.no_grad():
            return [F.mse_loss(model(x), y).item() for x, y in tasks]

    task_vectors = [{k: ft[k] - base_sd[k] for k in base_sd} for ft in finetuned]
    # task arithmetic
    values += score({k: base_sd[k] + LAMBDA * sum(tv[k] for tv in task_vectors) for k in base_sd})
    # TIES on flattened task vectors
    flat_tvs = torch.vstack([state_dict_to_vector(torch, tv) for tv in task_vectors])
    reset = topk_values_mask(flat_tvs, K=DENSITY * 100)
    signs = resolve_sign(torch, reset)
    merged_tv = disjoint_merge(torch, reset, signs)
    merged = state_dict_to_vector(torch, base_sd) + LAMBDA * merged_tv
    values += score(vector_to_state_dict(torch, merged, base_sd))
    values.append((reset != 0).float().mean().item())
    # DARE (rescaled random drop) and magnitude pruning, per tensor
    torch.manual_seed(5)
    dare = {k: base_sd[k] + sum(rescaled_random(torch, tv[k], DENSITY) for tv in task_vectors)
            for k in base_sd}  # fmt: skip
    values += score(dare)
    mag = {k: base_sd[k] + sum(magnitude(torch, tv[k], DENSITY) for tv in task_vectors)
           for k in base_sd}  # fmt: skip
    values += score(mag)
    # SLERP halfway between the two fine-tunes, per tensor
    values += score({k: slerp(torch, 0.5, finetuned[0][k], finetuned[1][k]) for k in base_sd})
    return values
