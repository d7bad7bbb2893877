"""Mult-VAE for collaborative filtering (Liang et al. 2018), as younggyoseo/vae-cf-pytorch writes
it (``models.py``: ``MultiVAE``, ``loss_function``; ``main.py``: ``train``/``evaluate``;
``metric.py``: ``NDCG_binary_at_k_batch``), size-reduced.

Kept verbatim: ``MultiVAE`` with ``q_dims = p_dims[::-1]``, ``temp_q_dims = self.q_dims[:-1] +
[self.q_dims[-1] * 2]``, ``nn.ModuleList`` of ``nn.Linear`` built from ``zip``, ``encode``'s
``F.normalize(input)`` then ``nn.Dropout``, ``F.tanh`` between layers and ``mu``/``logvar``
sliced from the last one, ``reparameterize``'s ``eps.mul(std).add_(mu)`` (``mu`` in eval),
``init_weights``' ``layer.weight.data.normal_(0.0, std)`` with ``np.sqrt(2.0/(fan_in +
fan_out))`` and ``layer.bias.data.normal_(0.0, 0.001)``; the multinomial likelihood
``-torch.mean(torch.sum(F.log_softmax(recon_x, 1) * x, -1))`` plus the annealed KL
``-0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))``;
``naive_sparse2tensor``'s ``torch.FloatTensor(data.toarray())`` (a dense NumPy matrix here),
the annealing ``min(args.anneal_cap, 1. * update_count / args.total_anneal_steps)``,
``optim.Adam(model.parameters(), lr=1e-3, weight_decay=args.wd)``; ``evaluate`` under
``torch.no_grad()`` with ``recon_batch.cpu().numpy()``, ``recon_batch[data.nonzero()] =
-np.inf`` and the NumPy NDCG@k with ``bn.argpartition`` (``np.argpartition`` here).

Changed: 20 users x 30 items (random clicks) instead of MovieLens-20M, p_dims [8, 16, 30]
instead of [200, 600, n_items], batch 500 -> 5, 2 epochs, total_anneal_steps 200000 -> 5,
NDCG@100 -> @5, scipy.sparse matrices -> dense NumPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"  # torch.FloatTensor input, as the repository


def _multivae(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class MultiVAE(nn.Module):
        """
        Container module for Multi-VAE.

        Multi-VAE : Variational Autoencoder with Multinomial Likelihood
        See Variational Autoencoders for Collaborative Filtering
        https://arxiv.org/abs/1802.05814
        """

        def __init__(self, p_dims, q_dims=None, dropout=0.5):  # noqa: ANN001
            super(MultiVAE, self).__init__()  # noqa: UP008 (as in the repository)
            self.p_dims = p_dims
            if q_dims:
                assert q_dims[0] == p_dims[-1], "In and Out dimensions must equal to each other"
                assert q_dims[-1] == p_dims[0], "Latent dimension for p- and q- network mismatches."
                self.q_dims = q_dims
            else:
                self.q_dims = p_dims[::-1]

            # Last dimension of q- network is for mean and variance
            temp_q_dims = self.q_dims[:-1] + [self.q_dims[-1] * 2]
            self.q_layers = nn.ModuleList([nn.Linear(d_in, d_out) for
                d_in, d_out in zip(temp_q_dims[:-1], temp_q_dims[1:])])  # fmt: skip
            self.p_layers = nn.ModuleList([nn.Linear(d_in, d_out) for
                d_in, d_out in zip(self.p_dims[:-1], self.p_dims[1:])])  # fmt: skip

            self.drop = nn.Dropout(dropout)
            self.init_weights()

        def forward(self, input):  # noqa: ANN001, ANN201
            mu, logvar = self.encode(input)
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

        def encode(self, input):  # noqa: ANN001, ANN201
            h = F.normalize(input)
            h = self.drop(h)

            for i, layer in enumerate(self.q_layers):
                h = layer(h)
                if i != len(self.q_layers) - 1:
                    h = F.tanh(h)
                else:
                    mu = h[:, : self.q_dims[-1]]
                    logvar = h[:, self.q_dims[-1] :]
            return mu, logvar

        def reparameterize(self, mu, logvar):  # noqa: ANN001, ANN201
            if self.training:
                std = torch.exp(0.5 * logvar)
                eps = torch.randn_like(std)
                return eps.mul(std).add_(mu)
            else:
                return mu

        def decode(self, z):  # noqa: ANN001, ANN201
            h = z
            for i, layer in enumerate(self.p_layers):
                h = layer(h)
                if i != len(self.p_layers) - 1:
                    h = F.tanh(h)
            return h

        def init_weights(self):  # noqa: ANN201
            for layer in self.q_layers:
                # Xavier Initialization for weights
                size = layer.weight.size()
                fan_out = size[0]
                fan_in = size[1]
                std = np.sqrt(2.0 / (fan_in + fan_out))
                layer.weight.data.normal_(0.0, std)

                # Normal Initialization for Biases
                layer.bias.data.normal_(0.0, 0.001)

            for layer in self.p_layers:
                # Xavier Initialization for weights
                size = layer.weight.size()
                fan_out = size[0]
                fan_in = size[1]
                std = np.sqrt(2.0 / (fan_in + fan_out))
                layer.weight.data.normal_(0.0, std)

                # Normal Initialization for Biases
                layer.bias.data.normal_(0.0, 0.001)

    return MultiVAE


def make_model(torch_like: Any) -> Any:
    return _multivae(torch_like)([8, 16, 30])


def NDCG_binary_at_k_batch(X_pred, heldout_batch, k=100):  # noqa: ANN001, ANN201, N802
    """
    Normalized Discounted Cumulative Gain@k for binary relevance
    ASSUMPTIONS: all the 0's in heldout_data indicate 0 relevance
    """
    batch_users = X_pred.shape[0]
    idx_topk_part = np.argpartition(-X_pred, k, axis=1)
    topk_part = X_pred[np.arange(batch_users)[:, np.newaxis], idx_topk_part[:, :k]]
    idx_part = np.argsort(-topk_part, axis=1)
    idx_topk = idx_topk_part[np.arange(batch_users)[:, np.newaxis], idx_part]
    tp = 1.0 / np.log2(np.arange(2, k + 2))
    DCG = (heldout_batch[np.arange(batch_users)[:, np.newaxis], idx_topk] * tp).sum(axis=1)
    IDCG = np.array([(tp[: min(n, k)]).sum() for n in heldout_batch.sum(axis=1).astype(int)])
    return DCG / np.maximum(IDCG, 1e-12)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    train_data = (rng.random((20, 30)) < 0.25).astype(np.float32)
    vad_tr = (rng.random((10, 30)) < 0.25).astype(np.float32)
    vad_te = ((rng.random((10, 30)) < 0.2) & (vad_tr == 0)).astype(np.float32)
    total_anneal_steps, anneal_cap, batch_size, wd = 5, 0.2, 5, 0.0

    def naive_sparse2tensor(data):  # noqa: ANN001, ANN202
        return torch.FloatTensor(data)  # data.toarray() for a scipy matrix

    def loss_function(recon_x, x, mu, logvar, anneal=1.0):  # noqa: ANN001, ANN202
        # BCE = F.binary_cross_entropy(recon_x, x)
        BCE = -torch.mean(torch.sum(F.log_softmax(recon_x, 1) * x, -1))
        KLD = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        return BCE + anneal * KLD

    torch.manual_seed(98765)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.Adam(model.parameters(), lr=1e-3 * 10, weight_decay=wd)
    criterion = loss_function
    update_count = 0
    values: list[float] = []
    idxlist = list(range(train_data.shape[0]))
    for _epoch in range(2):
        model.train()
        train_loss = 0.0
        np.random.default_rng(_epoch).shuffle(idxlist)
        N = train_data.shape[0]
        for _batch_idx, start_idx in enumerate(range(0, N, batch_size)):
            end_idx = min(start_idx + batch_size, N)
            data = train_data[idxlist[start_idx:end_idx]]
            data = naive_sparse2tensor(data)
            optimizer.zero_grad()

            if total_anneal_steps > 0:
                anneal = min(anneal_cap, 1.0 * update_count / total_anneal_steps)
            else:
                anneal = anneal_cap

            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)

            loss = criterion(recon_batch, data, mu, logvar, anneal)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()

            update_count += 1
        values.append(train_loss)

        # evaluate
        model.eval()
        total_loss = 0.0
        n100_list = []
        with torch.no_grad():
            for start_idx in range(0, vad_tr.shape[0], batch_size):
                end_idx = min(start_idx + batch_size, vad_tr.shape[0])
                data = vad_tr[start_idx:end_idx]
                heldout_data = vad_te[start_idx:end_idx]
                data_tensor = naive_sparse2tensor(data)
                recon_batch, mu, logvar = model(data_tensor)
                loss = criterion(recon_batch, data_tensor, mu, logvar, anneal)
                total_loss += loss.item()
                # Exclude examples from training set
                recon_batch = recon_batch.cpu().numpy()
                recon_batch[data.nonzero()] = -np.inf
                n100_list.append(NDCG_binary_at_k_batch(recon_batch, heldout_data, 5))
        values += [total_loss, float(np.mean(np.concatenate(n100_list)))]
    return values
