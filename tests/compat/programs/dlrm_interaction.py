"""DLRM (Naumov et al., 2019) as facebookresearch/dlrm writes it (``dlrm_s_pytorch.py``:
``DLRM_Net``, ``create_mlp``, ``create_emb``, ``apply_mlp``, ``apply_emb``,
``interact_features``, ``loss_fn_wrap``; ``dlrm_data_pytorch.py``'s random data), size-reduced.

The idioms: ``create_mlp`` (``nn.Linear(int(n), int(m), bias=True)`` with NumPy-drawn weights
``np.random.normal(0.0, std_dev, size=(m, n)).astype(np.float32)`` written through
``LL.weight.data = torch.tensor(W, requires_grad=True)`` and ``LL.bias.data = ...``,
``nn.Sigmoid()`` on the ``sigmoid_layer`` else ``nn.ReLU()``, ``torch.nn.Sequential(*layers)``);
``create_emb`` (``nn.EmbeddingBag(n, m, mode="sum", sparse=True)``, uniform NumPy weights
``EE.weight.data = torch.tensor(W, requires_grad=True)``, the ``nn.ModuleList``);
``apply_emb`` (``sparse_index_group_batch``/``sparse_offset_group_batch`` per table, the
``per_sample_weights`` of the weighted-pooling variant); ``interact_features`` both ways:
``"dot"`` (``T = torch.cat([x] + ly, dim=1).view((batch_size, -1, d))``, ``Z = torch.bmm(T,
torch.transpose(T, 1, 2))``, the strictly lower triangle through ``li = torch.tensor([i for i
in range(ni) for j in range(i + offset)])`` and ``lj``, ``Zflat = Z[:, li, lj]``, ``R =
torch.cat([x] + [Zflat], dim=1)``) and ``"cat"``; the same pairs from
``torch.tril_indices(ni, nj, offset=-1)`` and ``torch.triu_indices(..., offset=1)`` on the
transposed product; the ``loss_threshold`` clamp ``torch.clamp(p, min=eps, max=1.0 - eps)``,
``torch.nn.BCELoss(reduction="mean")`` and ``torch.nn.BCEWithLogitsLoss``; the training step
(``optimizer.zero_grad(); E.backward(); optimizer.step()`` with ``torch.optim.SGD`` on sparse
embedding gradients, and the usual split of ``torch.optim.SparseAdam`` for the sparse tables
with ``torch.optim.Adam`` for the MLPs); the accuracy ``np.sum((np.round(Z, 0) ==
T).astype(np.uint8))``.

Changed: the random data generator's ``ra.randint``/``ra.rand`` are NumPy draws with a fixed
seed; tables of ~1e6 rows -> 6-9 rows, embedding dim 16 -> 4, MLPs ``13-512-256-64-16`` ->
``5-8-4``; a few steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

DTYPE = "float32"
M_SPA = 4
LN_EMB = np.array([6, 9, 7])
LN_BOT = np.array([5, 8, M_SPA])
BATCH, STEPS, LR = 4, 2, 0.1


def init_state(tmp_path: Any) -> int:
    return 2  # the seed of DLRM's NumPy weight draws (``np.random.seed(args.numpy_rand_seed)``)


def make_dlrm(torch_like: Any, ln_top: np.ndarray, interaction: str, weighted: bool) -> Any:
    torch = torch_like
    nn = torch.nn

    class DLRM_Net(nn.Module):
        def create_mlp(self, ln, sigmoid_layer):
            # build MLP layer by layer
            layers = nn.ModuleList()
            for i in range(0, ln.size - 1):
                n = ln[i]
                m = ln[i + 1]

                # construct fully connected operator
                LL = nn.Linear(int(n), int(m), bias=True)

                # initialize the weights
                mean = 0.0  # std_dev = np.sqrt(variance)
                std_dev = np.sqrt(2 / (m + n))  # np.sqrt(1 / m) # np.sqrt(1 / n)
                W = np.random.normal(mean, std_dev, size=(m, n)).astype(np.float32)
                std_dev = np.sqrt(1 / m)  # np.sqrt(2 / (m + 1))
                bt = np.random.normal(mean, std_dev, size=m).astype(np.float32)
                LL.weight.data = torch.tensor(W, requires_grad=True)
                LL.bias.data = torch.tensor(bt, requires_grad=True)
                layers.append(LL)

                # construct sigmoid or relu operator
                if i == sigmoid_layer:
                    layers.append(nn.Sigmoid())
                else:
                    layers.append(nn.ReLU())

            return torch.nn.Sequential(*layers)

        def create_emb(self, m, ln, weighted_pooling=None):
            emb_l = nn.ModuleList()
            v_W_l = []
            for i in range(0, ln.size):
                n = ln[i]
                EE = nn.EmbeddingBag(n, m, mode="sum", sparse=True)
                # initialize embeddings
                W = np.random.uniform(low=-np.sqrt(1 / n), high=np.sqrt(1 / n), size=(n, m)).astype(
                    np.float32
                )
                EE.weight.data = torch.tensor(W, requires_grad=True)
                if weighted_pooling is None:
                    v_W_l.append(None)
                else:
                    v_W_l.append(torch.ones(n, dtype=torch.float32))
                emb_l.append(EE)
            return emb_l, v_W_l

        def __init__(
            self,
            m_spa,
            ln_emb,
            ln_bot,
            ln_top,
            arch_interaction_op="dot",
            arch_interaction_itself=False,
            sigmoid_bot=-1,
            sigmoid_top=-1,
            loss_threshold=0.0,
            weighted_pooling=None,
        ):
            super().__init__()
            self.arch_interaction_op = arch_interaction_op
            self.arch_interaction_itself = arch_interaction_itself
            self.loss_threshold = loss_threshold
            self.weighted_pooling = weighted_pooling
            self.emb_l, w_list = self.create_emb(m_spa, ln_emb, weighted_pooling)
            if self.weighted_pooling == "learned":
                self.v_W_l = nn.ParameterList()
                for w in w_list:
                    self.v_W_l.append(nn.Parameter(w))
            else:
                self.v_W_l = w_list
            self.bot_l = self.create_mlp(ln_bot, sigmoid_bot)
            self.top_l = self.create_mlp(ln_top, sigmoid_top)

        def apply_mlp(self, x, layers):
            return layers(x)

        def apply_emb(self, lS_o, lS_i, emb_l, v_W_l):
            ly = []
            for k, sparse_index_group_batch in enumerate(lS_i):
                sparse_offset_group_batch = lS_o[k]
                # embedding lookup; the weighted variant pools with a weight per index
                if v_W_l[k] is not None:
                    per_sample_weights = v_W_l[k].gather(0, sparse_index_group_batch)
                else:
                    per_sample_weights = None
                E = emb_l[k]
                V = E(
                    sparse_index_group_batch,
                    sparse_offset_group_batch,
                    per_sample_weights=per_sample_weights,
                )
                ly.append(V)
            return ly

        def interact_features(self, x, ly):
            if self.arch_interaction_op == "dot":
                # concatenate dense and sparse features
                (batch_size, d) = x.shape
                T = torch.cat([x] + ly, dim=1).view((batch_size, -1, d))
                # perform a dot product
                Z = torch.bmm(T, torch.transpose(T, 1, 2))
                # append dense feature with the interactions (into a row vector)
                _, ni, nj = Z.shape
                offset = 1 if self.arch_interaction_itself else 0
                li = torch.tensor([i for i in range(ni) for j in range(i + offset)])
                lj = torch.tensor([j for i in range(nj) for j in range(i + offset)])
                Zflat = Z[:, li, lj]
                # concatenate dense features and interactions
                R = torch.cat([x] + [Zflat], dim=1)
            elif self.arch_interaction_op == "cat":
                # concatenation features (into a row vector)
                R = torch.cat([x] + ly, dim=1)
            else:
                raise ValueError(
                    "ERROR: --arch-interaction-op=" + self.arch_interaction_op + " is not supported"
                )
            return R

        def forward(self, dense_x, lS_o, lS_i):
            # process dense features (using bottom mlp), resulting in a row vector
            x = self.apply_mlp(dense_x, self.bot_l)
            # process sparse features(using embeddings), resulting in a list of row vectors
            ly = self.apply_emb(lS_o, lS_i, self.emb_l, self.v_W_l)
            # interact features (dense and sparse)
            z = self.interact_features(x, ly)
            # obtain probability of a click (using top mlp)
            p = self.apply_mlp(z, self.top_l)
            # clamp output if needed
            if 0.0 < self.loss_threshold and self.loss_threshold < 1.0:
                z = torch.clamp(p, min=self.loss_threshold, max=(1.0 - self.loss_threshold))
            else:
                z = p
            return z

    sigmoid_top = ln_top.size - 2 if interaction != "logits" else -2
    return DLRM_Net(
        M_SPA,
        LN_EMB,
        LN_BOT,
        ln_top,
        arch_interaction_op="cat" if interaction == "cat" else "dot",
        sigmoid_top=sigmoid_top,
        loss_threshold=1e-6 if interaction == "dot" else 0.0,
        weighted_pooling="learned" if weighted else None,
    )


def random_batch(rng: np.random.Generator) -> tuple[np.ndarray, list, list, np.ndarray]:
    """One mini-batch as ``generate_random_input_batch`` makes it (uniform lookups)."""
    Xt = rng.random((BATCH, LN_BOT[0])).astype(np.float32)
    lS_emb_offsets, lS_emb_indices = [], []
    for size in LN_EMB:
        lS_batch_offsets, lS_batch_indices = [], []
        offset = 0
        for _ in range(BATCH):
            sparse_group_size = int(rng.integers(1, 4))
            lS_batch_offsets += [offset]
            sparse_group = np.unique(rng.integers(0, size, sparse_group_size))
            lS_batch_indices += sparse_group.tolist()
            offset += sparse_group.size
        lS_emb_offsets.append(np.array(lS_batch_offsets))
        lS_emb_indices.append(np.array(lS_batch_indices))
    T = rng.integers(0, 2, (BATCH, 1)).astype(np.float32)
    return Xt, lS_emb_offsets, lS_emb_indices, T


def run(torch_like: Any, init: int) -> list[float]:
    torch = torch_like
    values: list[float] = []
    num_fea = LN_EMB.size + 1
    num_int = (num_fea * (num_fea - 1)) // 2 + LN_BOT[-1]
    configs = [
        ("dot", False, np.array([num_int, 6, 1])),
        ("cat", True, np.array([LN_BOT[-1] * num_fea, 6, 1])),
        ("logits", False, np.array([num_int, 6, 1])),
    ]
    for interaction, weighted, ln_top in configs:
        np.random.seed(init)
        dlrm = make_dlrm(torch, ln_top, interaction, weighted)
        rng = np.random.default_rng(1)
        if interaction == "logits":  # BCEWithLogits, SparseAdam for the tables + Adam
            loss_fn = torch.nn.BCEWithLogitsLoss()
            sparse = [p for n, p in dlrm.named_parameters() if n.startswith("emb_l")]
            dense = [p for n, p in dlrm.named_parameters() if not n.startswith("emb_l")]
            optimizers = [torch.optim.SparseAdam(sparse, lr=0.05), torch.optim.Adam(dense, 0.01)]
        else:
            loss_fn = torch.nn.BCELoss(reduction="mean")
            optimizers = [torch.optim.SGD(dlrm.parameters(), lr=LR)]
        for _ in range(STEPS):
            X, lS_o, lS_i, T = random_batch(rng)
            X, T = as_tensor(torch, X), as_tensor(torch, T)
            lS_o = [as_tensor(torch, o) for o in lS_o]
            lS_i = [as_tensor(torch, i) for i in lS_i]
            Z = dlrm(X, lS_o, lS_i)
            E = loss_fn(Z, T)
            for optimizer in optimizers:
                optimizer.zero_grad()
            E.backward()
            sparse_grad = dlrm.emb_l[0].weight.grad
            for optimizer in optimizers:
                optimizer.step()
            S = Z.detach().cpu().numpy()  # numpy array
            if interaction == "logits":
                S = 1 / (1 + np.exp(-S))
            A = np.sum((np.round(S, 0) == T.detach().cpu().numpy()).astype(np.uint8))
            values += [E.item(), float(A), float(sparse_grad.is_sparse)]
            values.append(sparse_grad.coalesce().values().abs().sum().item())
        values.append(sum(p.detach().double().abs().sum().item() for p in dlrm.parameters()))

    # the interaction pairs by tril_indices / triu_indices, as other DLRM ports write them
    X, lS_o, lS_i, _ = random_batch(np.random.default_rng(4))
    with torch.no_grad():
        x = dlrm.apply_mlp(as_tensor(torch, X), dlrm.bot_l)
        ly = dlrm.apply_emb(
            [as_tensor(torch, o) for o in lS_o],
            [as_tensor(torch, i) for i in lS_i],
            dlrm.emb_l,
            dlrm.v_W_l,
        )
        R = dlrm.interact_features(x, ly)
        T = torch.stack([x] + ly, dim=1)
        Z = torch.bmm(T, T.transpose(1, 2))
        li, lj = torch.tril_indices(num_fea, num_fea, offset=-1)
        ui, uj = torch.triu_indices(num_fea, num_fea, offset=1)
        tril = Z[:, li, lj]
        triu = Z.transpose(1, 2)[:, uj, ui]
        values.append((R[:, LN_BOT[-1] :] - tril).abs().max().item())
        values.append((tril - triu).abs().max().item())
        values += tril.flatten().tolist()
    return values
