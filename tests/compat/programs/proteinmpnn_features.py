"""ProteinMPNN (``protein_mpnn_utils.py``: ``ProteinFeatures``, ``EncLayer``, ``DecLayer``,
``ProteinMPNN.forward``, ``loss_smoothed``), size-reduced: the virtual C-beta ``b = X[:,:,1,:] -
X[:,:,0,:]``, ``a = torch.cross(b, c, dim=-1)``, ``Cb = -0.58273431*a + 0.56802827*b -
0.54067466*c + X[:,:,1,:]``; ``_dist`` (``mask_2D = torch.unsqueeze(mask,1) *
torch.unsqueeze(mask,2)``, ``torch.sqrt(torch.sum(dX**2, 3) + eps)``, ``D_max, _ = torch.max(D,
-1, keepdim=True)``, ``torch.topk(D_adjust, np.minimum(self.top_k, X.shape[1]), dim=-1,
largest=False)``); ``_rbf`` (``torch.linspace(D_min, D_max, D_count).view([1,1,1,-1])``,
``torch.exp(-((D_expand - D_mu) / D_sigma)**2)``) and ``_get_rbf`` between atom types;
``gather_edges`` (``neighbor_idx.unsqueeze(-1).expand(-1, -1, -1, edges.size(-1))``,
``torch.gather(edges, 2, neighbors)``) and ``gather_nodes``
(``neighbors_flat.unsqueeze(-1).expand(-1, -1, nodes.size(2))``, ``torch.gather(nodes, 1,
neighbors_flat)``, ``.view(list(neighbor_idx.shape)[:3] + [-1])``); ``PositionalEncodings``
(``torch.clip(offset + max_rel, 0, 2*max_rel)*mask +
(1-mask)*(2*max_rel+1)``, ``F.one_hot(d, 2*max_rel+1+1)``, ``self.linear(d_onehot.float())``)
with chain labels ``((chain_labels[:, :, None] - chain_labels[:,None,:])==0).long()``;
``EncLayer`` node and edge updates (``h_V.unsqueeze(-2).expand(-1,-1,h_EV.size(-2),-1)``,
``torch.sum(h_message, -2) / self.scale``, ``mask_attend = gather_nodes(mask.unsqueeze(-1),
E_idx).squeeze(-1)``); the random decoding order (``torch.argsort((chain_M+0.0001) *
(torch.abs(randn)))``, ``F.one_hot(decoding_order, num_classes=mask_size).float()``,
``torch.einsum('ij, biq, bjp->bqp', (1-torch.triu(torch.ones(mask_size,mask_size))), P, P)``,
``torch.gather(order_mask_backward, 2, E_idx).unsqueeze(-1)``, the forward/backward masks)
with a ``DecLayer`` over ``cat_neighbors_nodes`` of sequence embeddings; ``loss_smoothed``
(``F.one_hot(S, 21).float()`` smoothed by ``weight / float(S_onehot.size(-1))``, ``torch.sum(loss
* mask) / 2000.0``); ``Adam`` with the Noam schedule (``factor * (model_size ** (-0.5) *
min(step ** (-0.5), step * warmup ** (-1.5)))``).

Changed: 128 hidden -> 8, 48 neighbours -> 5, 16 RBFs x 25 atom pairs -> 4 x 6, 3+3 layers ->
1+1, two seeded 9-residue backbones (two chains, one masked position); no noise augmentation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"
HIDDEN, TOPK, NUM_RBF, POS, MAXREL, L, VOCAB = 8, 5, 4, 6, 4, 9, 21
PAIRS = ((1, 1), (0, 0), (2, 2), (3, 3), (4, 4), (1, 4))  # Ca-Ca first, then N-N, ..., Ca-Cb


def _utils(torch_like: Any) -> tuple[Any, Any, Any]:
    torch = torch_like

    def gather_edges(edges: Any, neighbor_idx: Any) -> Any:
        # Features [B,N,N,C] at Neighbor indices [B,N,K] => Neighbor features [B,N,K,C]
        neighbors = neighbor_idx.unsqueeze(-1).expand(-1, -1, -1, edges.size(-1))
        return torch.gather(edges, 2, neighbors)

    def gather_nodes(nodes: Any, neighbor_idx: Any) -> Any:
        # Features [B,N,C] at Neighbor indices [B,N,K] => [B,N,K,C]
        neighbors_flat = neighbor_idx.view((neighbor_idx.shape[0], -1))
        neighbors_flat = neighbors_flat.unsqueeze(-1).expand(-1, -1, nodes.size(2))
        neighbor_features = torch.gather(nodes, 1, neighbors_flat)
        return neighbor_features.view(list(neighbor_idx.shape)[:3] + [-1])

    def cat_neighbors_nodes(h_nodes: Any, h_neighbors: Any, E_idx: Any) -> Any:
        h_nodes = gather_nodes(h_nodes, E_idx)
        return torch.cat([h_neighbors, h_nodes], -1)

    return gather_edges, gather_nodes, cat_neighbors_nodes


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    gather_edges, gather_nodes, cat_neighbors_nodes = _utils(torch_like)

    class PositionalEncodings(nn.Module):
        def __init__(self, num_embeddings: int, max_relative_feature: int = MAXREL) -> None:
            super().__init__()
            self.max_relative_feature = max_relative_feature
            self.linear = nn.Linear(2 * max_relative_feature + 1 + 1, num_embeddings)

        def forward(self, offset: Any, mask: Any) -> Any:
            m = self.max_relative_feature
            d = torch.clip(offset + m, 0, 2 * m) * mask + (1 - mask) * (2 * m + 1)
            d_onehot = F.one_hot(d, 2 * m + 1 + 1)
            return self.linear(d_onehot.float())

    class ProteinFeatures(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.top_k, self.num_rbf = TOPK, NUM_RBF
            self.embeddings = PositionalEncodings(POS)
            self.edge_embedding = nn.Linear(POS + NUM_RBF * len(PAIRS), HIDDEN, bias=False)
            self.norm_edges = nn.LayerNorm(HIDDEN)

        def _dist(self, X: Any, mask: Any, eps: float = 1e-6) -> tuple[Any, Any]:
            mask_2D = torch.unsqueeze(mask, 1) * torch.unsqueeze(mask, 2)
            dX = torch.unsqueeze(X, 1) - torch.unsqueeze(X, 2)
            D = mask_2D * torch.sqrt(torch.sum(dX**2, 3) + eps)
            D_max, _ = torch.max(D, -1, keepdim=True)
            D_adjust = D + (1.0 - mask_2D) * D_max
            D_neighbors, E_idx = torch.topk(
                D_adjust, np.minimum(self.top_k, X.shape[1]), dim=-1, largest=False
            )
            return D_neighbors, E_idx

        def _rbf(self, D: Any) -> Any:
            D_min, D_max, D_count = 2.0, 22.0, self.num_rbf
            D_mu = torch.linspace(D_min, D_max, D_count, device=D.device)
            D_mu = D_mu.view([1, 1, 1, -1])
            D_sigma = (D_max - D_min) / D_count
            D_expand = torch.unsqueeze(D, -1)
            return torch.exp(-(((D_expand - D_mu) / D_sigma) ** 2))

        def _get_rbf(self, A: Any, B: Any, E_idx: Any) -> Any:
            D_A_B = torch.sqrt(torch.sum((A[:, :, None, :] - B[:, None, :, :]) ** 2, -1) + 1e-6)
            D_A_B_neighbors = gather_edges(D_A_B[:, :, :, None], E_idx)[:, :, :, 0]  # [B,L,K]
            return self._rbf(D_A_B_neighbors)

        def forward(self, X: Any, mask: Any, residue_idx: Any, chain_labels: Any) -> tuple:
            b = X[:, :, 1, :] - X[:, :, 0, :]
            c = X[:, :, 2, :] - X[:, :, 1, :]
            a = torch.cross(b, c, dim=-1)
            Cb = -0.58273431 * a + 0.56802827 * b - 0.54067466 * c + X[:, :, 1, :]
            atoms = [X[:, :, 0, :], X[:, :, 1, :], X[:, :, 2, :], X[:, :, 3, :], Cb]
            D_neighbors, E_idx = self._dist(atoms[1], mask)
            RBF_all = [self._rbf(D_neighbors)]  # Ca-Ca
            for i, j in PAIRS[1:]:
                RBF_all.append(self._get_rbf(atoms[i], atoms[j], E_idx))
            RBF_all = torch.cat(tuple(RBF_all), dim=-1)
            offset = residue_idx[:, :, None] - residue_idx[:, None, :]
            offset = gather_edges(offset[:, :, :, None], E_idx)[:, :, :, 0]  # [B, L, K]
            # find self vs non-self interaction
            d_chains = ((chain_labels[:, :, None] - chain_labels[:, None, :]) == 0).long()
            E_chains = gather_edges(d_chains[:, :, :, None], E_idx)[:, :, :, 0]
            E_positional = self.embeddings(offset.long(), E_chains)
            E = torch.cat((E_positional, RBF_all), -1)
            E = self.edge_embedding(E)
            E = self.norm_edges(E)
            return E, E_idx

    class EncLayer(nn.Module):
        def __init__(self, num_hidden: int, num_in: int, scale: float = 30) -> None:
            super().__init__()
            self.scale = scale
            self.norm1, self.norm2 = nn.LayerNorm(num_hidden), nn.LayerNorm(num_hidden)
            self.norm3 = nn.LayerNorm(num_hidden)
            self.W1 = nn.Linear(num_hidden + num_in, num_hidden, bias=True)
            self.W2 = nn.Linear(num_hidden, num_hidden, bias=True)
            self.W3 = nn.Linear(num_hidden, num_hidden, bias=True)
            self.W11 = nn.Linear(num_hidden + num_in, num_hidden, bias=True)
            self.W12 = nn.Linear(num_hidden, num_hidden, bias=True)
            self.W13 = nn.Linear(num_hidden, num_hidden, bias=True)
            self.act = torch.nn.GELU()
            self.dense = nn.Sequential(
                nn.Linear(num_hidden, 4 * num_hidden),
                nn.GELU(),
                nn.Linear(4 * num_hidden, num_hidden),
            )

        def forward(self, h_V: Any, h_E: Any, E_idx: Any, mask_V: Any, mask_attend: Any) -> tuple:
            h_EV = cat_neighbors_nodes(h_V, h_E, E_idx)
            h_V_expand = h_V.unsqueeze(-2).expand(-1, -1, h_EV.size(-2), -1)
            h_EV = torch.cat([h_V_expand, h_EV], -1)
            h_message = self.W3(self.act(self.W2(self.act(self.W1(h_EV)))))
            h_message = mask_attend.unsqueeze(-1) * h_message
            dh = torch.sum(h_message, -2) / self.scale
            h_V = self.norm1(h_V + dh)
            h_V = self.norm2(h_V + self.dense(h_V))
            h_V = mask_V.unsqueeze(-1) * h_V
            h_EV = cat_neighbors_nodes(h_V, h_E, E_idx)
            h_V_expand = h_V.unsqueeze(-2).expand(-1, -1, h_EV.size(-2), -1)
            h_EV = torch.cat([h_V_expand, h_EV], -1)
            h_message = self.W13(self.act(self.W12(self.act(self.W11(h_EV)))))
            h_E = self.norm3(h_E + h_message)
            return h_V, h_E

    class DecLayer(nn.Module):
        def __init__(self, num_hidden: int, num_in: int, scale: float = 30) -> None:
            super().__init__()
            self.scale = scale
            self.norm1, self.norm2 = nn.LayerNorm(num_hidden), nn.LayerNorm(num_hidden)
            self.W1 = nn.Linear(num_hidden + num_in, num_hidden, bias=True)
            self.W2 = nn.Linear(num_hidden, num_hidden, bias=True)
            self.W3 = nn.Linear(num_hidden, num_hidden, bias=True)
            self.act = torch.nn.GELU()
            self.dense = nn.Sequential(
                nn.Linear(num_hidden, 4 * num_hidden),
                nn.GELU(),
                nn.Linear(4 * num_hidden, num_hidden),
            )

        def forward(self, h_V: Any, h_E: Any, mask_V: Any) -> Any:
            h_V_expand = h_V.unsqueeze(-2).expand(-1, -1, h_E.size(-2), -1)
            h_EV = torch.cat([h_V_expand, h_E], -1)
            h_message = self.W3(self.act(self.W2(self.act(self.W1(h_EV)))))
            dh = torch.sum(h_message, -2) / self.scale
            h_V = self.norm1(h_V + dh)
            h_V = self.norm2(h_V + self.dense(h_V))
            return mask_V.unsqueeze(-1) * h_V

    class ProteinMPNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = ProteinFeatures()
            self.W_e = nn.Linear(HIDDEN, HIDDEN, bias=True)
            self.W_s = nn.Embedding(VOCAB, HIDDEN)
            self.encoder_layers = nn.ModuleList([EncLayer(HIDDEN, HIDDEN * 2)])
            self.decoder_layers = nn.ModuleList([DecLayer(HIDDEN, HIDDEN * 3)])
            self.W_out = nn.Linear(HIDDEN, VOCAB, bias=True)
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)

        def forward(
            self,
            X: Any,
            S: Any,
            mask: Any,
            chain_M: Any,
            residue_idx: Any,
            chain_encoding_all: Any,
            randn: Any,
        ) -> Any:
            E, E_idx = self.features(X, mask, residue_idx, chain_encoding_all)
            h_V = torch.zeros((E.shape[0], E.shape[1], E.shape[-1]), device=E.device)
            h_E = self.W_e(E)
            mask_attend = gather_nodes(mask.unsqueeze(-1), E_idx).squeeze(-1)
            mask_attend = mask.unsqueeze(-1) * mask_attend
            for layer in self.encoder_layers:
                h_V, h_E = layer(h_V, h_E, E_idx, mask, mask_attend)
            h_S = self.W_s(S)
            h_ES = cat_neighbors_nodes(h_S, h_E, E_idx)
            h_EX_encoder = cat_neighbors_nodes(torch.zeros_like(h_S), h_E, E_idx)
            h_EXV_encoder = cat_neighbors_nodes(h_V, h_EX_encoder, E_idx)
            chain_M = chain_M * mask  # update chain_M to include missing regions
            decoding_order = torch.argsort((chain_M + 0.0001) * (torch.abs(randn)))
            mask_size = E_idx.shape[1]
            permutation_matrix_reverse = F.one_hot(decoding_order, num_classes=mask_size).float()
            order_mask_backward = torch.einsum(
                "ij, biq, bjp->bqp",
                (1 - torch.triu(torch.ones(mask_size, mask_size, device=E.device))),
                permutation_matrix_reverse,
                permutation_matrix_reverse,
            )
            mask_attend = torch.gather(order_mask_backward, 2, E_idx).unsqueeze(-1)
            mask_1D = mask.view([mask.size(0), mask.size(1), 1, 1])
            mask_bw = mask_1D * mask_attend
            mask_fw = mask_1D * (1.0 - mask_attend)
            h_EXV_encoder_fw = mask_fw * h_EXV_encoder
            for layer in self.decoder_layers:
                h_ESV = cat_neighbors_nodes(h_V, h_ES, E_idx)
                h_ESV = mask_bw * h_ESV + h_EXV_encoder_fw
                h_V = layer(h_V, h_ESV, mask)
            logits = self.W_out(h_V)
            return F.log_softmax(logits, dim=-1)

    return ProteinMPNN()


def _backbones() -> tuple[np.ndarray, ...]:
    """Two helix-like backbones (N, CA, C, O per residue) with noise; two chains each."""
    rng = np.random.default_rng(3540)
    t = np.arange(L)[:, None] * 1.7 + np.array([-0.5, 0.0, 0.5, 0.9])[None, :]
    base = np.stack([2.3 * np.cos(t), 2.3 * np.sin(t), 1.5 * t / 1.7], -1)  # [L, 4, 3]
    X = np.stack([base + 0.3 * rng.standard_normal(base.shape) for _ in range(2)])
    S = rng.integers(0, 20, size=(2, L))
    mask = np.ones((2, L))
    mask[1, -1] = 0.0
    chain = np.where(np.arange(L) < 5, 1, 2)[None].repeat(2, 0)
    residue_idx = np.arange(L)[None].repeat(2, 0) + 100 * (chain - 1)
    return X, S, mask, chain, residue_idx


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    torch.manual_seed(354)
    X_np, S_np, mask_np, chain_np, residue_np = _backbones()
    X = torch.from_numpy(X_np).float()
    S, chain_encoding_all = torch.from_numpy(S_np), torch.from_numpy(chain_np)
    mask = torch.from_numpy(mask_np).float()
    residue_idx = torch.from_numpy(residue_np)
    chain_M = (chain_encoding_all == 2).float()  # design the second chain
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    gather_edges, gather_nodes, _ = _utils(torch_like)
    _, E_idx = model.features(X, mask, residue_idx, chain_encoding_all)
    values: list[float] = [float(v) for v in E_idx[0, :3].flatten().tolist()]
    nodes = torch.arange(2 * L * 2.0).view(2, L, 2)
    # the padded residue's distances all tie (its neighbour list is the sort's choice, and
    # masked out downstream): compare the gathered features of real residues
    values.append(float((gather_nodes(nodes, E_idx) * mask[:, :, None, None]).sum()))

    def loss_smoothed(S: Any, log_probs: Any, mask: Any, weight: float = 0.1) -> tuple:
        S_onehot = torch.nn.functional.one_hot(S, 21).float()
        S_onehot = S_onehot + weight / float(S_onehot.size(-1))
        S_onehot = S_onehot / S_onehot.sum(-1, keepdim=True)
        loss = -(S_onehot * log_probs).sum(-1)
        loss_av = torch.sum(loss * mask) / 2000.0
        return loss, loss_av

    optimizer = torch.optim.Adam(model.parameters(), lr=0, betas=(0.9, 0.98), eps=1e-9)
    factor, warmup = 2, 4
    for step in range(1, 6):
        rate = factor * (HIDDEN ** (-0.5) * min(step ** (-0.5), step * warmup ** (-1.5)))
        for p in optimizer.param_groups:
            p["lr"] = rate
        optimizer.zero_grad()
        randn = torch.randn(chain_M.shape, device=X.device)
        log_probs = model(X, S, mask, chain_M, residue_idx, chain_encoding_all, randn)
        mask_for_loss = mask * chain_M
        _, loss_av_smoothed = loss_smoothed(S, log_probs, mask_for_loss)
        loss_av_smoothed.backward()
        optimizer.step()
        loss = -(torch.nn.functional.one_hot(S, 21).float() * log_probs).sum(-1)
        values.append((torch.sum(loss * mask_for_loss) / torch.sum(mask_for_loss)).item())
    return values
