"""LightGCN (``gusye1234/LightGCN-PyTorch``: ``model.py``, ``dataloader.py``, ``procedure.py``),
size-reduced: ``getSparseGraph`` builds the bipartite adjacency ``[[0, R], [R^T, 0]]`` with SciPy,
normalises it symmetrically (``rowsum = np.array(adj_mat.sum(axis=1))``, ``d_inv =
np.power(rowsum, -0.5).flatten()``, ``d_inv[np.isinf(d_inv)] = 0.``, ``sp.diags``) and converts it
with ``_convert_sp_mat_to_sp_tensor`` (``torch.Tensor(coo.row).long()``, ``torch.stack([row,
col])``, ``torch.FloatTensor(coo.data)``, the legacy ``torch.sparse.FloatTensor(index, data,
torch.Size(coo.shape))``) then ``.coalesce()``; the same matrix built in PyTorch as later ports do
(``torch.sparse_coo_tensor``, ``torch.sparse.sum(adj, dim=1).to_dense().pow(-0.5)``,
``masked_fill_(torch.isinf(...), 0.)``, values scaled by ``d[row] * d[col]``) is checked against
it; ``computer()``: ``torch.cat([users_emb, items_emb])``, ``torch.sparse.mm(g_droped, all_emb)``
per layer, ``torch.stack(embs, dim=1)`` and ``torch.mean(embs, dim=1)``, ``torch.split(light_out,
[self.num_users, self.num_items])``; the edge dropout ``__dropout_x`` (``x.indices().t()``,
``x.values()``, ``torch.rand(len(values)) + keep_prob``, ``.int().bool()``, ``values[random_index] /
keep_prob``); ``bpr_loss`` (``torch.mul``/``torch.sum(dim=1)``,
``torch.mean(torch.nn.functional.softplus(neg_scores - pos_scores))``, the L2 term ``(1/2) *
(userEmb0.norm(2).pow(2) + ...) / float(len(users))``); ``nn.init.normal_(std=0.1)``
embeddings; ``BPRLoss.stageOne`` with ``Adam``; ``Test`` with ``getUsersRating``
(``self.f(torch.matmul(users_emb, items_emb.t()))``), ``rating[exclude_index, exclude_items] =
-(1 << 10)``, ``torch.topk(rating, k=max_K)`` and NumPy recall/NDCG.

Changed: Gowalla -> 10 users x 14 items with 40 seeded interactions, latent 64 -> 8, 3 layers,
batch 2048 -> 16, 4 epochs; ``UniformSample_original_python`` draws from a seeded generator.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

DTYPE = "float32"
USERS, ITEMS, LATENT, LAYERS = 10, 14, 8, 3


def _interactions() -> np.ndarray:
    rng = np.random.default_rng(3510)
    r = np.zeros((USERS, ITEMS), dtype=np.float32)
    for u in range(USERS):
        items = rng.choice(ITEMS, size=4, replace=False)
        r[u, items] = 1.0
    return r


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class LightGCN(nn.Module):
        def __init__(self, graph: Any = None) -> None:
            super().__init__()
            self.num_users, self.num_items = USERS, ITEMS
            self.latent_dim, self.n_layers, self.keep_prob = LATENT, LAYERS, 0.8
            self.embedding_user = torch.nn.Embedding(
                num_embeddings=self.num_users, embedding_dim=self.latent_dim
            )
            self.embedding_item = torch.nn.Embedding(
                num_embeddings=self.num_items, embedding_dim=self.latent_dim
            )
            nn.init.normal_(self.embedding_user.weight, std=0.1)
            nn.init.normal_(self.embedding_item.weight, std=0.1)
            self.f = nn.Sigmoid()
            self.Graph = graph

        def __dropout_x(self, x: Any, keep_prob: float) -> Any:
            size = x.size()
            index = x.indices().t()
            values = x.values()
            random_index = torch.rand(len(values)) + keep_prob
            random_index = random_index.int().bool()
            index = index[random_index]
            values = values[random_index] / keep_prob
            g = torch.sparse.FloatTensor(index.t(), values, size)
            return g

        def computer(self) -> tuple[Any, Any]:
            users_emb = self.embedding_user.weight
            items_emb = self.embedding_item.weight
            all_emb = torch.cat([users_emb, items_emb])
            embs = [all_emb]
            g_droped = self.__dropout_x(self.Graph, self.keep_prob) if self.training else self.Graph
            for _layer in range(self.n_layers):
                all_emb = torch.sparse.mm(g_droped, all_emb)
                embs.append(all_emb)
            embs = torch.stack(embs, dim=1)
            light_out = torch.mean(embs, dim=1)
            users, items = torch.split(light_out, [self.num_users, self.num_items])
            return users, items

        def getUsersRating(self, users: Any) -> Any:
            all_users, all_items = self.computer()
            users_emb = all_users[users.long()]
            items_emb = all_items
            return self.f(torch.matmul(users_emb, items_emb.t()))

        def getEmbedding(self, users: Any, pos_items: Any, neg_items: Any) -> tuple:
            all_users, all_items = self.computer()
            users_emb = all_users[users]
            pos_emb = all_items[pos_items]
            neg_emb = all_items[neg_items]
            users_emb_ego = self.embedding_user(users)
            pos_emb_ego = self.embedding_item(pos_items)
            neg_emb_ego = self.embedding_item(neg_items)
            return users_emb, pos_emb, neg_emb, users_emb_ego, pos_emb_ego, neg_emb_ego

        def bpr_loss(self, users: Any, pos: Any, neg: Any) -> tuple[Any, Any]:
            (users_emb, pos_emb, neg_emb, userEmb0, posEmb0, negEmb0) = self.getEmbedding(
                users.long(), pos.long(), neg.long()
            )
            reg_loss = (
                (1 / 2)
                * (userEmb0.norm(2).pow(2) + posEmb0.norm(2).pow(2) + negEmb0.norm(2).pow(2))
                / float(len(users))
            )
            pos_scores = torch.mul(users_emb, pos_emb)
            pos_scores = torch.sum(pos_scores, dim=1)
            neg_scores = torch.mul(users_emb, neg_emb)
            neg_scores = torch.sum(neg_scores, dim=1)
            loss = torch.mean(torch.nn.functional.softplus(neg_scores - pos_scores))
            return loss, reg_loss

    return LightGCN()


def _sparse_graph(torch_like: Any, r: np.ndarray) -> Any:
    """``Loader.getSparseGraph``: SciPy normalisation, then ``_convert_sp_mat_to_sp_tensor``."""
    torch = torch_like
    n = USERS + ITEMS
    adj_mat = sp.dok_matrix((n, n), dtype=np.float32)
    adj_mat = adj_mat.tolil()
    R = sp.csr_matrix(r).tolil()
    adj_mat[:USERS, USERS:] = R
    adj_mat[USERS:, :USERS] = R.T
    adj_mat = adj_mat.todok()
    rowsum = np.array(adj_mat.sum(axis=1))
    d_inv = np.power(rowsum, -0.5).flatten()
    d_inv[np.isinf(d_inv)] = 0.0
    d_mat = sp.diags(d_inv)
    norm_adj = d_mat.dot(adj_mat)
    norm_adj = norm_adj.dot(d_mat)
    norm_adj = norm_adj.tocsr()
    coo = norm_adj.tocoo().astype(np.float32)
    row = torch.Tensor(coo.row).long()
    col = torch.Tensor(coo.col).long()
    index = torch.stack([row, col])
    data = torch.FloatTensor(coo.data)
    return torch.sparse.FloatTensor(index, data, torch.Size(coo.shape)).coalesce()


def _torch_graph(torch_like: Any, r: np.ndarray) -> Any:
    """The normalised adjacency built in PyTorch from the interaction list."""
    torch = torch_like
    users, items = np.nonzero(r)
    u = torch.from_numpy(users)
    i = torch.from_numpy(items) + USERS
    row = torch.cat([u, i])
    col = torch.cat([i, u])
    adj = torch.sparse_coo_tensor(
        torch.stack([row, col]), torch.ones(row.numel()), (USERS + ITEMS, USERS + ITEMS)
    ).coalesce()
    deg = torch.sparse.sum(adj, dim=1).to_dense()
    d_inv_sqrt = deg.pow(-0.5)
    d_inv_sqrt.masked_fill_(torch.isinf(d_inv_sqrt), 0.0)
    idx = adj.indices()
    values = adj.values() * d_inv_sqrt[idx[0]] * d_inv_sqrt[idx[1]]
    return torch.sparse_coo_tensor(idx, values, adj.shape)


def run(torch_like: Any, init: dict | None) -> list[float]:
    """The training script, with the legacy constructor's deprecation warning silenced (the
    suite turns warnings into errors; PyTorch issues it once per process)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*sparse.SparseTensor", UserWarning)
        return _run(torch_like, init)


def _run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    torch.manual_seed(351)
    rng = np.random.default_rng(351)
    r = _interactions()
    graph = _sparse_graph(torch_like, r)
    other = _torch_graph(torch_like, r)
    values: list[float] = [float(graph._nnz()), float(graph.is_coalesced())]
    values.append(float(torch.allclose(graph.to_dense(), other.to_dense())))
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    model.Graph = graph
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    weight_decay = 1e-4
    users_all, items_all = np.nonzero(r)
    for _epoch in range(4):
        model.train()
        # UniformSample_original_python: a user, one of its items, an item it has not seen
        S = []
        for user in rng.integers(0, USERS, size=len(users_all)):
            pos_for_user = np.nonzero(r[user])[0]
            positem = pos_for_user[rng.integers(0, len(pos_for_user))]
            while True:
                negitem = int(rng.integers(0, ITEMS))
                if r[user, negitem] == 0:
                    break
            S.append([user, positem, negitem])
        S = np.array(S)
        users = torch.Tensor(S[:, 0]).long()
        posItems = torch.Tensor(S[:, 1]).long()
        negItems = torch.Tensor(S[:, 2]).long()
        aver_loss = 0.0
        total_batch = 0
        for i in range(0, len(users), 16):
            batch_users, batch_pos, batch_neg = (
                users[i : i + 16],
                posItems[i : i + 16],
                negItems[i : i + 16],
            )
            loss, reg_loss = model.bpr_loss(batch_users, batch_pos, batch_neg)
            reg_loss = reg_loss * weight_decay
            loss = loss + reg_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            aver_loss += loss.cpu().item()
            total_batch += 1
        values.append(aver_loss / total_batch)
        # Test: rank the unseen items, train items excluded
        model.eval()
        with torch.no_grad():
            batch_users_gpu = torch.Tensor(np.arange(USERS)).long()
            rating = model.getUsersRating(batch_users_gpu)
            exclude_index, exclude_items = users_all, items_all
            rating[exclude_index, exclude_items] = -(1 << 10)
            _, rating_K = torch.topk(rating, k=3)
        hits = (r[np.arange(USERS)[:, None], rating_K.cpu().numpy()] == 0).astype(float)
        dcg = (hits / np.log2(np.arange(2, 5))).sum(1)
        values.extend([float(rating.sum().item()), float(dcg.mean())])
    return values
