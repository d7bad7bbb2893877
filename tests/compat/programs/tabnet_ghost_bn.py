"""TabNet (Arik & Pfister 2019) in the shape of dreamquark-ai/tabnet's ``tab_network.py``, with
the sparsemax written as plain tensor ops that autograd differentiates (as the paper's
reference code and lightweight ports write it) rather than a custom ``Function``,
size-reduced.

The idioms: ``GBN`` (ghost batch norm: ``chunks = x.chunk(int(np.ceil(x.shape[0] /
self.virtual_batch_size)), 0)``, ``res = [self.bn(x_) for x_ in chunks]``, ``torch.cat(res,
dim=0)``, ``BatchNorm1d(momentum=0.02)``, its running statistics updated once per chunk and
used whole in ``eval()``); the ``EmbeddingGenerator`` for categorical columns
(``x[:, feat_init_idx].long()``, ``torch.cat(cols, dim=1)``); ``GLU_Layer`` (``fc`` shared
across steps or not, ``torch.mul(x[:, : self.output_dim], torch.sigmoid(x[:,
self.output_dim :]))``); ``GLU_Block`` (``scale = torch.sqrt(torch.FloatTensor([0.5]))``, ``x =
torch.add(x, self.glu_layers[glu_id](x))``, ``x = x * scale``); ``FeatTransformer`` with a
shared ``nn.ModuleList`` of ``Linear`` layers and step-specific blocks; ``AttentiveTransformer``
(``x = torch.mul(x, priors)`` before the selector); the sparsemax (``torch.sort(z,
descending=True)``, ``cumsum``, ``k = torch.arange(1, d + 1)``, ``support = 1 + k * z_sorted >
z_cumsum``, ``k_z = support.sum(dim=-1, keepdim=True)``, ``tau = (z_cumsum.gather(-1, k_z -
1) - 1) / k_z``, ``torch.clamp(z - tau, min=0)``); the encoder (``prior = torch.ones(...)``,
``M_loss += torch.mean(torch.sum(torch.mul(M, torch.log(M + self.epsilon)), dim=1))``,
``prior = torch.mul(self.gamma - M, prior)``, ``torch.split`` into ``n_d`` / ``n_a``,
``torch.sum(torch.stack(steps_output, dim=0), dim=0)``, ``M_loss /= self.n_steps``); the
loss ``F.cross_entropy(out, y) - lambda_sparse * M_loss`` (the entropy term is negative);
``Adam`` with ``clip_grad_norm_``; feature importances ``M_explain += torch.mul(M,
step_importance.unsqueeze(dim=1))`` under ``torch.no_grad()``.

Changed: a NumPy table of 5 numeric and 2 categorical columns, ``n_d = n_a = 4``, three steps,
batches of 10 with a virtual batch of 4 (chunks of 4, 4, 2); two training steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_FEATS, CAT_DIMS, CAT_EMB, N_D, N_A, N_STEPS, CLASSES, BATCH, VBS = (
    5,
    (4, 3),
    2,
    4,
    4,
    3,
    3,
    10,
    4,
)
POST_EMB = NUM_FEATS + len(CAT_DIMS) * CAT_EMB


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class GBN(nn.Module):
        def __init__(self, input_dim: int, virtual_batch_size: int = 128, momentum: float = 0.01):
            super().__init__()
            self.input_dim = input_dim
            self.virtual_batch_size = virtual_batch_size
            self.bn = nn.BatchNorm1d(self.input_dim, momentum=momentum)

        def forward(self, x: Any) -> Any:
            chunks = x.chunk(int(np.ceil(x.shape[0] / self.virtual_batch_size)), 0)
            res = [self.bn(x_) for x_ in chunks]
            return torch.cat(res, dim=0)

    def sparsemax(z: Any) -> Any:
        d = z.shape[-1]
        z = z - z.max(dim=-1, keepdim=True).values
        z_sorted, _ = torch.sort(z, dim=-1, descending=True)
        z_cumsum = z_sorted.cumsum(dim=-1)
        k = torch.arange(1, d + 1, dtype=z.dtype)
        support = 1 + k * z_sorted > z_cumsum
        k_z = support.sum(dim=-1, keepdim=True)
        tau = (z_cumsum.gather(-1, k_z - 1) - 1) / k_z.to(z.dtype)
        return torch.clamp(z - tau, min=0)

    class EmbeddingGenerator(nn.Module):
        def __init__(self, cat_idxs: list[int], cat_dims: tuple, cat_emb_dim: int) -> None:
            super().__init__()
            self.cat_idxs = cat_idxs
            self.embeddings = nn.ModuleList(nn.Embedding(d, cat_emb_dim) for d in cat_dims)

        def forward(self, x: Any) -> Any:
            cols, c = [], 0
            for feat_init_idx in range(x.shape[1]):
                if feat_init_idx in self.cat_idxs:
                    cols.append(self.embeddings[c](x[:, feat_init_idx].long()))
                    c += 1
                else:
                    cols.append(x[:, feat_init_idx].float().view(-1, 1).to(x.dtype))
            return torch.cat(cols, dim=1)

    class GLU_Layer(nn.Module):
        def __init__(self, input_dim: int, output_dim: int, fc: Any = None) -> None:
            super().__init__()
            self.output_dim = output_dim
            self.fc = fc if fc is not None else nn.Linear(input_dim, 2 * output_dim, bias=False)
            self.bn = GBN(2 * output_dim, virtual_batch_size=VBS, momentum=0.02)

        def forward(self, x: Any) -> Any:
            x = self.fc(x)
            x = self.bn(x)
            return torch.mul(x[:, : self.output_dim], torch.sigmoid(x[:, self.output_dim :]))

    class GLU_Block(nn.Module):
        def __init__(self, input_dim: int, output_dim: int, n_glu: int, first: bool,
                     shared_layers: Any = None) -> None:  # fmt: skip
            super().__init__()
            self.first = first
            self.shared_layers = shared_layers
            self.n_glu = n_glu
            self.glu_layers = nn.ModuleList()
            for glu_id in range(n_glu):
                fc = shared_layers[glu_id] if shared_layers else None
                in_dim = input_dim if glu_id == 0 else output_dim
                self.glu_layers.append(GLU_Layer(in_dim, output_dim, fc=fc))

        def forward(self, x: Any) -> Any:
            scale = torch.sqrt(torch.FloatTensor([0.5])).to(x.dtype)
            if self.first:  # the first layer of the block has no residual
                x = self.glu_layers[0](x)
                layers_left = range(1, self.n_glu)
            else:
                layers_left = range(self.n_glu)
            for glu_id in layers_left:
                x = torch.add(x, self.glu_layers[glu_id](x))
                x = x * scale
            return x

    class FeatTransformer(nn.Module):
        def __init__(self, input_dim: int, output_dim: int, shared_layers: Any) -> None:
            super().__init__()
            self.shared = GLU_Block(input_dim, output_dim, 2, True, shared_layers)
            self.specifics = GLU_Block(output_dim, output_dim, 2, False)

        def forward(self, x: Any) -> Any:
            return self.specifics(self.shared(x))

    class AttentiveTransformer(nn.Module):
        def __init__(self, input_dim: int, group_dim: int) -> None:
            super().__init__()
            self.fc = nn.Linear(input_dim, group_dim, bias=False)
            self.bn = GBN(group_dim, virtual_batch_size=VBS, momentum=0.02)

        def forward(self, priors: Any, processed_feat: Any) -> Any:
            x = self.fc(processed_feat)
            x = self.bn(x)
            x = torch.mul(x, priors)
            return sparsemax(x)

    class TabNet(nn.Module):
        def __init__(self, gamma: float = 1.3, epsilon: float = 1e-15) -> None:
            super().__init__()
            self.gamma, self.epsilon, self.n_steps = gamma, epsilon, N_STEPS
            self.embedder = EmbeddingGenerator([5, 6], CAT_DIMS, CAT_EMB)
            self.initial_bn = nn.BatchNorm1d(POST_EMB, momentum=0.01)
            shared_feat_transform = nn.ModuleList()
            for i in range(2):
                in_dim = POST_EMB if i == 0 else N_D + N_A
                shared_feat_transform.append(nn.Linear(in_dim, 2 * (N_D + N_A), bias=False))
            self.initial_splitter = FeatTransformer(POST_EMB, N_D + N_A, shared_feat_transform)
            self.feat_transformers = nn.ModuleList()
            self.att_transformers = nn.ModuleList()
            for _ in range(N_STEPS):
                self.feat_transformers.append(
                    FeatTransformer(POST_EMB, N_D + N_A, shared_feat_transform)
                )
                self.att_transformers.append(AttentiveTransformer(N_A, POST_EMB))
            self.final_mapping = nn.Linear(N_D, CLASSES, bias=False)

        def encoder(self, x: Any) -> tuple[list[Any], Any, list[Any]]:
            x = self.initial_bn(x)
            bs = x.shape[0]
            prior = torch.ones((bs, POST_EMB)).to(x.dtype)
            M_loss = 0
            att = self.initial_splitter(x)[:, N_D:]
            steps_output, masks = [], []
            for step in range(self.n_steps):
                M = self.att_transformers[step](prior, att)
                M_loss += torch.mean(torch.sum(torch.mul(M, torch.log(M + self.epsilon)), dim=1))
                prior = torch.mul(self.gamma - M, prior)
                masked_x = torch.mul(M, x)
                out = self.feat_transformers[step](masked_x)
                d, att = torch.split(out, [N_D, N_A], dim=1)
                d = nn.ReLU()(d)
                steps_output.append(d)
                masks.append(M)
            M_loss /= self.n_steps
            return steps_output, M_loss, masks

        def forward(self, x: Any) -> tuple[Any, Any]:
            x = self.embedder(x)
            steps_output, M_loss, _ = self.encoder(x)
            res = torch.sum(torch.stack(steps_output, dim=0), dim=0)
            return self.final_mapping(res), M_loss

        def forward_masks(self, x: Any) -> Any:
            x = self.embedder(x)
            steps_output, _, masks = self.encoder(x)
            M_explain = torch.zeros(masks[0].shape).to(x.dtype)
            for d, M in zip(steps_output, masks):
                step_importance = torch.sum(d, dim=1)
                M_explain += torch.mul(M, step_importance.unsqueeze(dim=1))
            return M_explain, masks

    return TabNet, GBN, sparsemax


def make_model(torch_like: Any) -> Any:
    TabNet, _, _ = _classes(torch_like)
    return TabNet()


def _table(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    numeric = rng.normal(size=(n, NUM_FEATS))
    cats = np.stack([rng.integers(0, d, n) for d in CAT_DIMS], axis=1).astype(np.float64)
    y = (numeric[:, 0] + cats[:, 0] > 1.0).astype(np.int64) + (numeric[:, 1] > 0.5)
    return np.concatenate([numeric, cats], axis=1), y


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    _, GBN, sparsemax = _classes(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(4)
    values: list[float] = []

    # the hand-written sparsemax: rows on the simplex, sparse, differentiable
    z = as_tensor(torch, rng.normal(size=(4, 6)) * 2, requires_grad=True)
    p = sparsemax(z)
    (p * as_tensor(torch, rng.normal(size=(4, 6)))).sum().backward()
    values += p.sum(dim=1).tolist() + [int((p == 0).sum()), z.grad.abs().sum().item()]

    # ghost batch norm: one BatchNorm1d over chunks, its running statistics per chunk
    gbn = GBN(3, virtual_batch_size=4, momentum=0.02)
    x = as_tensor(torch, rng.normal(size=(10, 3)))
    out = gbn(x)
    values += [out[:4].mean().item(), out[8:].std().item(), int(gbn.bn.num_batches_tracked)]
    values += gbn.bn.running_mean.tolist() + gbn.bn.running_var.tolist()
    gbn.eval()
    values.append(gbn(x).sum().item())

    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    lambda_sparse = 1e-3
    model.train()
    for _ in range(2):
        X, y = _table(rng, BATCH)
        X, y = as_tensor(torch, X), as_tensor(torch, y)
        optimizer.zero_grad()
        output, M_loss = model(X)
        loss = F.cross_entropy(output, y)
        loss = loss - lambda_sparse * M_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        shared_fc = model.initial_splitter.shared.glu_layers[0].fc
        values += [loss.item(), M_loss.item(), shared_fc.weight.grad.abs().sum().item()]
    values.append(float(shared_fc is model.feat_transformers[2].shared.glu_layers[0].fc))
    values += model.initial_bn.running_mean.tolist()[:3]

    model.eval()
    with torch.no_grad():
        X, _ = _table(rng, 6)
        M_explain, masks = model.forward_masks(as_tensor(torch, X))
        values += [M_explain.sum().item(), float(sum(int((m > 0).sum()) for m in masks))]
        values += masks[0].sum(dim=1).tolist()
        feature_importances = M_explain.sum(dim=0)
        values += (feature_importances / feature_importances.sum()).tolist()
    return values
