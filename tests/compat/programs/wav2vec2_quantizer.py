"""wav2vec 2.0's self-supervised pieces as fairseq (``fairseq/modules/gumbel_vector_quantizer.py``,
``fairseq/models/wav2vec/wav2vec2.py``, ``fairseq/data/data_utils.py``) and Hugging Face's
``Wav2Vec2GumbelVectorQuantizer`` write them, size-reduced.

The idioms: a conv feature encoder (``nn.Conv1d`` + ``nn.GroupNorm`` over channels with
``affine=True`` on the first layer + ``nn.GELU``) over ``source.unsqueeze(1)``, then
``features.transpose(1, 2)``, ``nn.LayerNorm``, ``post_extract_proj``; the Gumbel vector
quantizer (``weight_proj`` to ``groups * num_vars`` logits, ``self.vars =
nn.Parameter(torch.FloatTensor(1, groups * num_vars, var_dim))`` with ``nn.init.uniform_``,
``weight_proj.weight.data.normal_(mean=0, std=1)`` and ``bias.data.zero_()``, the hard one-hot of
the arg-max written as ``x.new_zeros(*x.shape).scatter_(-1, k.view(-1, 1), 1.0)``, the code and
softmax perplexities ``torch.exp(-torch.sum(p * torch.log(p + 1e-7), dim=-1)).sum()``, the
temperature annealed by ``set_num_updates`` as ``max(max_temp * temp_decay ** num_updates,
min_temp)``, the training path ``F.gumbel_softmax(x.float(), tau=self.curr_temp,
hard=True).type_as(x)``, and the codevectors as ``x.unsqueeze(-1) * vars`` summed over
``num_vars``); span masking computed in NumPy (``compute_mask_indices``: ``num_mask = int(
mask_prob * sz / mask_length + rng.random())``, ``rng.choice(sz - min_len, num_mask,
replace=False)``, spans expanded with ``np.asarray([...] for j in range(lengths[j]))``) and
applied as ``x[mask_indices] = self.mask_emb`` with ``torch.from_numpy``; ``sample_negatives``
(``buffered_arange(tsz).unsqueeze(-1).expand(-1, num).flatten()``, ``neg_idxs[neg_idxs >=
tszs] += 1``, the per-utterance offset ``neg_idxs[i] += i * high``, ``y[neg_idxs.view(-1)]``
then ``.view(bsz, tsz, num, fsz).permute(2, 0, 1, 3)``); ``compute_preds`` (``neg_is_pos = (y
== negatives).all(-1)``, ``torch.cat([y, negatives], dim=0)``, ``torch.cosine_similarity(
x.float(), targets.float(), dim=-1).type_as(x)`` broadcast over the negatives, ``logits /
self.logit_temp``, ``logits[1:][neg_is_pos] = float("-inf")``); and the criterion
(``logits.transpose(0, 2).reshape(-1, logits.size(-1))``, ``F.cross_entropy(logits, target,
reduction="sum")`` with ``target = x.new_zeros(..., dtype=torch.long)``, plus the diversity
loss ``(num_vars * groups - prob_perplexity) / (num_vars * groups)``), trained with ``AdamW``.

Changed: the Gumbel noise and the negatives' indices (``torch.randint``) come from NumPy, since the
two libraries' generators differ (the quantizer's ``gumbel_softmax`` is the library's own hard,
straight-through formula on that noise); ``F.gumbel_softmax`` itself is called on logits far apart,
where its sample is the arg-max whatever the draw. ``neg_is_pos`` is the exact equality of the
codevectors before ``project_q`` (fairseq tests the projected ones, where two equal rows may differ
in the last bit with the BLAS kernel's row blocking). The transformer context network is one linear
+ GELU layer; sizes are tiny.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # fairseq's (``torch.FloatTensor`` parameters)
RTOL = 1e-4
ATOL = 1e-5

SAMPLES, BSZ, EMBED, FEAT, GROUPS, NUM_VARS, VQ_DIM, NUM_NEG = 48, 2, 8, 6, 2, 4, 6, 3
MASK_PROB, MASK_LEN, LOGIT_TEMP, DIVERSITY_WEIGHT = 0.4, 2, 0.1, 0.1
MAX_TEMP, MIN_TEMP, TEMP_DECAY, STEPS = 2.0, 0.5, 0.5, 3


def _classes(torch_like: Any) -> tuple[Any, Any]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class GumbelVectorQuantizer(nn.Module):
        def __init__(self, dim: int, num_vars: int, temp: tuple, groups: int, vq_dim: int) -> None:
            super().__init__()
            self.groups = groups
            self.input_dim = dim
            self.num_vars = num_vars
            var_dim = vq_dim // groups
            self.vars = nn.Parameter(torch.FloatTensor(1, groups * num_vars, var_dim))
            nn.init.uniform_(self.vars)
            self.weight_proj = nn.Linear(self.input_dim, groups * num_vars)
            nn.init.normal_(self.weight_proj.weight, mean=0, std=1)
            nn.init.zeros_(self.weight_proj.bias)
            self.max_temp, self.min_temp, self.temp_decay = temp
            self.curr_temp = self.max_temp
            self.gumbel_softmax = F.gumbel_softmax

        def set_num_updates(self, num_updates: int) -> None:
            self.curr_temp = max(self.max_temp * self.temp_decay**num_updates, self.min_temp)

        def forward(self, x: Any) -> dict:
            result = {"num_vars": self.num_vars * self.groups}
            bsz, tsz, fsz = x.shape
            x = x.reshape(-1, fsz)
            x = self.weight_proj(x)
            x = x.view(bsz * tsz * self.groups, -1)

            _, k = x.max(-1)
            hard_x = (
                x.new_zeros(*x.shape)
                .scatter_(-1, k.view(-1, 1), 1.0)
                .view(bsz * tsz, self.groups, -1)
            )
            hard_probs = torch.mean(hard_x.float(), dim=0)
            result["code_perplexity"] = torch.exp(
                -torch.sum(hard_probs * torch.log(hard_probs + 1e-7), dim=-1)
            ).sum()

            avg_probs = torch.softmax(x.view(bsz * tsz, self.groups, -1).float(), dim=-1).mean(
                dim=0
            )
            result["prob_perplexity"] = torch.exp(
                -torch.sum(avg_probs * torch.log(avg_probs + 1e-7), dim=-1)
            ).sum()
            result["temp"] = self.curr_temp

            if self.training:
                x = self.gumbel_softmax(x.float(), tau=self.curr_temp, hard=True).type_as(x)
            else:
                x = hard_x

            x = x.view(bsz * tsz, -1)
            x = x.unsqueeze(-1) * self.vars
            x = x.view(bsz * tsz, self.groups, self.num_vars, -1)
            x = x.sum(-2)
            x = x.view(bsz, tsz, -1)
            result["x"] = x
            return result

    class Wav2Vec2Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.feature_extractor = nn.Sequential(
                nn.Sequential(
                    nn.Conv1d(1, FEAT, 4, stride=2, bias=False),
                    nn.GroupNorm(FEAT, FEAT, affine=True),
                    nn.GELU(),
                ),
                nn.Sequential(nn.Conv1d(FEAT, FEAT, 3, stride=2, bias=False), nn.GELU()),
            )
            self.layer_norm = nn.LayerNorm(FEAT)
            self.post_extract_proj = nn.Linear(FEAT, EMBED)
            self.mask_emb = nn.Parameter(torch.FloatTensor(EMBED).uniform_())
            self.quantizer = GumbelVectorQuantizer(
                FEAT, NUM_VARS, (MAX_TEMP, MIN_TEMP, TEMP_DECAY), GROUPS, VQ_DIM
            )
            self.project_q = nn.Linear(VQ_DIM, VQ_DIM)
            self.encoder = nn.Sequential(nn.Linear(EMBED, EMBED), nn.GELU())
            self.final_proj = nn.Linear(EMBED, VQ_DIM)

    return Wav2Vec2Model, GumbelVectorQuantizer


def make_model(torch_like: Any) -> Any:
    Wav2Vec2Model, _ = _classes(torch_like)
    return Wav2Vec2Model()


def compute_mask_indices(
    shape: tuple[int, int], mask_prob: float, mask_length: int, rng: np.random.Generator
) -> np.ndarray:
    """fairseq's span masking: static lengths, no overlap check, the same count per row."""
    bsz, all_sz = shape
    mask = np.full((bsz, all_sz), False)
    mask_idcs = []
    for _i in range(bsz):
        sz = all_sz
        num_mask = int(mask_prob * sz / float(mask_length) + rng.random())
        num_mask = max(1, num_mask)
        lengths = np.full(num_mask, mask_length)
        min_len = min(lengths)
        mask_idc = rng.choice(sz - min_len, num_mask, replace=False)
        mask_idc = np.asarray(
            [mask_idc[j] + offset for j in range(len(mask_idc)) for offset in range(lengths[j])]
        )
        mask_idcs.append(np.unique(mask_idc[mask_idc < sz]))

    min_len = min([len(m) for m in mask_idcs])
    for i, mask_idc in enumerate(mask_idcs):
        if len(mask_idc) > min_len:  # require_same_masks
            mask_idc = rng.choice(mask_idc, min_len, replace=False)
        mask[i, mask_idc] = True
    return mask


def _numpy_gumbel(torch_like: Any, noise: list) -> Any:
    """``F.gumbel_softmax(hard=True)``'s formula on Gumbel noise drawn by NumPy."""
    torch = torch_like

    def gumbel_softmax(logits: Any, tau: float = 1.0, hard: bool = False, dim: int = -1) -> Any:
        u = noise.pop(0)
        gumbels = -torch.empty_like(logits).copy_(as_tensor(torch, u)).log().neg().log()
        y_soft = ((logits + gumbels) / tau).softmax(dim)
        if not hard:
            return y_soft
        index = y_soft.max(dim, keepdim=True)[1]
        y_hard = torch.zeros_like(logits).scatter_(dim, index, 1.0)
        return y_hard - y_soft.detach() + y_soft

    return gumbel_softmax


def buffered_arange(torch_like: Any, max: int) -> Any:
    return torch_like.arange(max)


def sample_negatives(torch_like: Any, y: Any, num: int, rng: np.random.Generator) -> tuple:
    torch = torch_like
    bsz, tsz, fsz = y.shape
    y = y.view(-1, fsz)
    high = tsz
    with torch.no_grad():
        tszs = buffered_arange(torch, tsz).unsqueeze(-1).expand(-1, num).flatten()
        neg_idxs = as_tensor(torch, rng.integers(0, high - 1, size=(bsz, num * tsz)))
        neg_idxs[neg_idxs >= tszs] += 1
    for i in range(1, bsz):
        neg_idxs[i] += i * high
    negs = y[neg_idxs.view(-1)]
    negs = negs.view(bsz, tsz, num, fsz).permute(2, 0, 1, 3)  # to NxBxTxC
    return negs, neg_idxs


def compute_preds(torch_like: Any, x: Any, y: Any, negatives: Any, neg_is_pos: Any) -> Any:
    torch = torch_like
    y = y.unsqueeze(0)
    targets = torch.cat([y, negatives], dim=0)
    logits = torch.cosine_similarity(x.float(), targets.float(), dim=-1).type_as(x)
    logits = logits / LOGIT_TEMP
    if neg_is_pos.any():
        logits[1:][neg_is_pos] = float("-inf")
    return logits, neg_is_pos


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(11)
    source = as_tensor(torch, rng.standard_normal((BSZ, SAMPLES)), dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    noise: list = []
    model.quantizer.gumbel_softmax = _numpy_gumbel(torch, noise)
    values: list[float] = []

    for step in range(STEPS):
        model.train()
        model.quantizer.set_num_updates(step)
        features = model.feature_extractor(source.unsqueeze(1))
        features = features.transpose(1, 2)
        features = model.layer_norm(features)
        unmasked_features = features.clone()
        x = model.post_extract_proj(features)
        B, T, C = x.shape

        mask_indices = compute_mask_indices((B, T), MASK_PROB, MASK_LEN, rng)
        mask_indices = torch.from_numpy(mask_indices).to(x.device)
        x[mask_indices] = model.mask_emb
        x = model.encoder(x)

        noise.append(rng.uniform(1e-6, 1.0, size=(B * T * GROUPS, NUM_VARS)))
        q = model.quantizer(unmasked_features)
        y = q["x"]
        y = y[mask_indices].view(y.size(0), -1, y.size(-1))
        x = x[mask_indices].view(x.size(0), -1, x.size(-1))
        negs, _ = sample_negatives(torch, y, NUM_NEG, rng)
        neg_is_pos = (y == negs).all(-1)
        y, negs = model.project_q(y), model.project_q(negs)
        x = model.final_proj(x)
        logits, neg_is_pos = compute_preds(torch, x, y, negs, neg_is_pos)

        logits = logits.transpose(0, 2)
        logits = logits.reshape(-1, logits.size(-1))
        target = logits.new_zeros(logits.size(0), dtype=torch.long)
        loss = F.cross_entropy(logits, target, reduction="sum")
        num_vars = q["num_vars"]
        diversity = (num_vars - q["prob_perplexity"]) / num_vars
        sample_size = target.numel()
        total = loss + DIVERSITY_WEIGHT * diversity * sample_size

        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        with torch.no_grad():
            acc = (logits.argmax(-1) == 0).float().sum()
        values += [loss.item(), total.item(), q["code_perplexity"].item()]
        values += [q["prob_perplexity"].item(), q["temp"], float(mask_indices.sum())]
        values += [float(neg_is_pos.sum()), acc.item(), model.mask_emb.grad.abs().sum().item()]
        values += [model.quantizer.vars.grad.abs().sum().item()]
        values += [model.quantizer.weight_proj.weight.grad.norm().item()]

    # eval path: the hard arg-max codevectors, no gradient through the choice
    model.eval()
    with torch.no_grad():
        features = model.layer_norm(model.feature_extractor(source.unsqueeze(1)).transpose(1, 2))
        q = model.quantizer(features)
        values += [q["x"].sum().item(), q["code_perplexity"].item()]

    # the library's own F.gumbel_softmax on logits far apart: the arg-max whatever the draw
    torch.manual_seed(0)
    logits = torch.tensor([[0.0, 200.0, 1.0], [150.0, -3.0, 2.0]], requires_grad=True)
    sample = F.gumbel_softmax(logits, tau=0.5, hard=True)
    (sample * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    values += sample.flatten().tolist() + logits.grad.flatten().tolist()
    return values
