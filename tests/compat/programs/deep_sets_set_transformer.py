"""Set models as juho-lee/set_transformer (``modules.py``, ``models.py`` and the
``max_regression_demo`` notebook) and the DeepSets reference code write them, size-reduced.

Set Transformer: ``MAB`` (``fc_q``/``fc_k``/``fc_v``, heads split with ``torch.cat(Q.split(
dim_split, 2), 0)``, ``torch.softmax(Q_.bmm(K_.transpose(1, 2)) / math.sqrt(self.dim_V), 2)``,
heads rejoined with ``torch.cat((Q_ + A.bmm(V_)).split(Q.size(0), 0), 2)``, optional layer norms
found with ``getattr(self, 'ln0', None)``, ``O + F.relu(self.fc_o(O))``), ``SAB``, ``ISAB``
(inducing points ``nn.Parameter(torch.Tensor(1, num_inds, dim_out))`` initialised by
``nn.init.xavier_uniform_``, ``self.I.repeat(X.size(0), 1, 1)``) and ``PMA`` (seed vectors the
same way); ``SmallSetTransformer`` (``SAB``-``SAB`` encoder, ``PMA`` + ``nn.Linear`` decoder,
``x.squeeze(-1)``) and the full ``SetTransformer`` with ``ISAB`` and ``ln=True``.

DeepSets: ``SmallDeepSet`` (an element-wise ``nn.Sequential`` encoder, pooling by
``x.max(dim=1)[0]``, ``x.mean(dim=1)`` or ``x.sum(dim=1)``, a decoder) and the permutation-
equivariant layer of the DeepSets code (``xm, _ = x.max(1, keepdim=True)``, ``self.Gamma(x -
xm)``), with ``nn.ELU(inplace=True)`` and ``nn.Tanh``.

A padded variant (sets of different sizes in one batch, as later re-implementations write it):
``torch.nn.utils.rnn.pad_sequence(..., batch_first=True)``, a length mask ``torch.arange(n)[None,
:] < lengths[:, None]``, ``nn.MultiheadAttention(dim, heads, batch_first=True)`` with
``key_padding_mask=~mask`` (also on the eval-mode fast path), a masked mean ``h.masked_fill(~mask
.unsqueeze(-1), 0.0).sum(1) / mask.sum(1, keepdim=True)`` and a seed query pooled by attention;
extra padding must not change its output.

The demo's data (``gen_data``: ``np.random.randint(1, 100, (batch_size, length))`` sets of
random length with ``np.max`` targets, ``np.expand_dims``) comes through ``torch.from_numpy(x)
.float()``; training is ``Adam`` with ``nn.L1Loss``. Permutation invariance is checked by
reordering the set with a NumPy permutation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["DTYPE", "check", "make_model", "run"]

DTYPE = "float32"  # the demo's ``.float()`` data and models

BATCH, MAX_LENGTH, HIDDEN, HEADS, INDS, STEPS, LR = 16, 6, 8, 2, 3, 4, 1e-3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class MAB(nn.Module):
        def __init__(self, dim_Q: int, dim_K: int, dim_V: int, num_heads: int, ln=False) -> None:
            super().__init__()
            self.dim_V = dim_V
            self.num_heads = num_heads
            self.fc_q = nn.Linear(dim_Q, dim_V)
            self.fc_k = nn.Linear(dim_K, dim_V)
            self.fc_v = nn.Linear(dim_K, dim_V)
            if ln:
                self.ln0 = nn.LayerNorm(dim_V)
                self.ln1 = nn.LayerNorm(dim_V)
            self.fc_o = nn.Linear(dim_V, dim_V)

        def forward(self, Q: Any, K: Any) -> Any:
            Q = self.fc_q(Q)
            K, V = self.fc_k(K), self.fc_v(K)

            dim_split = self.dim_V // self.num_heads
            Q_ = torch.cat(Q.split(dim_split, 2), 0)
            K_ = torch.cat(K.split(dim_split, 2), 0)
            V_ = torch.cat(V.split(dim_split, 2), 0)

            A = torch.softmax(Q_.bmm(K_.transpose(1, 2)) / math.sqrt(self.dim_V), 2)
            O = torch.cat((Q_ + A.bmm(V_)).split(Q.size(0), 0), 2)
            O = O if getattr(self, "ln0", None) is None else self.ln0(O)
            O = O + F.relu(self.fc_o(O))
            O = O if getattr(self, "ln1", None) is None else self.ln1(O)
            return O

    class SAB(nn.Module):
        def __init__(self, dim_in: int, dim_out: int, num_heads: int, ln=False) -> None:
            super().__init__()
            self.mab = MAB(dim_in, dim_in, dim_out, num_heads, ln=ln)

        def forward(self, X: Any) -> Any:
            return self.mab(X, X)

    class ISAB(nn.Module):
        def __init__(self, dim_in: int, dim_out: int, num_heads: int, num_inds: int, ln=False):
            super().__init__()
            self.I = nn.Parameter(torch.Tensor(1, num_inds, dim_out))
            nn.init.xavier_uniform_(self.I)
            self.mab0 = MAB(dim_out, dim_in, dim_out, num_heads, ln=ln)
            self.mab1 = MAB(dim_in, dim_out, dim_out, num_heads, ln=ln)

        def forward(self, X: Any) -> Any:
            H = self.mab0(self.I.repeat(X.size(0), 1, 1), X)
            return self.mab1(X, H)

    class PMA(nn.Module):
        def __init__(self, dim: int, num_heads: int, num_seeds: int, ln=False) -> None:
            super().__init__()
            self.S = nn.Parameter(torch.Tensor(1, num_seeds, dim))
            nn.init.xavier_uniform_(self.S)
            self.mab = MAB(dim, dim, dim, num_heads, ln=ln)

        def forward(self, X: Any) -> Any:
            return self.mab(self.S.repeat(X.size(0), 1, 1), X)

    class SmallSetTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(
                SAB(dim_in=1, dim_out=HIDDEN, num_heads=HEADS),
                SAB(dim_in=HIDDEN, dim_out=HIDDEN, num_heads=HEADS),
            )
            self.dec = nn.Sequential(
                PMA(dim=HIDDEN, num_heads=HEADS, num_seeds=1),
                nn.Linear(in_features=HIDDEN, out_features=1),
            )

        def forward(self, x: Any) -> Any:
            x = self.enc(x)
            x = self.dec(x)
            return x.squeeze(-1)

    class SetTransformer(nn.Module):
        def __init__(self, dim_input, num_outputs, dim_output, num_inds, dim_hidden, num_heads, ln):
            super().__init__()
            self.enc = nn.Sequential(
                ISAB(dim_input, dim_hidden, num_heads, num_inds, ln=ln),
                ISAB(dim_hidden, dim_hidden, num_heads, num_inds, ln=ln),
            )
            self.dec = nn.Sequential(
                PMA(dim_hidden, num_heads, num_outputs, ln=ln),
                SAB(dim_hidden, dim_hidden, num_heads, ln=ln),
                SAB(dim_hidden, dim_hidden, num_heads, ln=ln),
                nn.Linear(dim_hidden, dim_output),
            )

        def forward(self, X: Any) -> Any:
            return self.dec(self.enc(X))

    class SmallDeepSet(nn.Module):
        def __init__(self, pool: str = "max") -> None:
            super().__init__()
            self.enc = nn.Sequential(
                nn.Linear(in_features=1, out_features=HIDDEN),
                nn.ReLU(),
                nn.Linear(in_features=HIDDEN, out_features=HIDDEN),
                nn.ReLU(),
                nn.Linear(in_features=HIDDEN, out_features=HIDDEN),
            )
            self.dec = nn.Sequential(
                nn.Linear(in_features=HIDDEN, out_features=HIDDEN),
                nn.ReLU(),
                nn.Linear(in_features=HIDDEN, out_features=1),
            )
            self.pool = pool

        def forward(self, x: Any) -> Any:
            x = self.enc(x)
            if self.pool == "max":
                x = x.max(dim=1)[0]
            elif self.pool == "mean":
                x = x.mean(dim=1)
            elif self.pool == "sum":
                x = x.sum(dim=1)
            return self.dec(x)

    class PermEqui2_max(nn.Module):
        def __init__(self, in_dim: int, out_dim: int) -> None:
            super().__init__()
            self.Gamma = nn.Linear(in_dim, out_dim)
            self.Lambda = nn.Linear(in_dim, out_dim, bias=False)

        def forward(self, x: Any) -> Any:
            xm, _ = x.max(1, keepdim=True)
            xm = self.Lambda(xm)
            x = self.Gamma(x)
            return x - xm

    class DTanh(nn.Module):
        def __init__(self, d_dim: int, x_dim: int = 1) -> None:
            super().__init__()
            self.phi = nn.Sequential(
                PermEqui2_max(x_dim, d_dim),
                nn.Tanh(),
                PermEqui2_max(d_dim, d_dim),
                nn.ELU(inplace=True),
            )
            self.ro = nn.Sequential(nn.Linear(d_dim, d_dim), nn.Tanh(), nn.Linear(d_dim, 1))

        def forward(self, x: Any) -> Any:
            phi_output = self.phi(x)
            sum_output = phi_output.sum(1)
            return self.ro(sum_output)

    class MaskedSetTransformer(nn.Module):
        """Variable-size sets padded by ``pad_sequence``: ``nn.MultiheadAttention`` blocks with
        a ``key_padding_mask``, pooled by a masked mean and by PMA-style attention."""

        def __init__(self, dim: int = HIDDEN, num_heads: int = HEADS) -> None:
            super().__init__()
            self.embed = nn.Linear(1, dim)
            self.sab = nn.MultiheadAttention(dim, num_heads, batch_first=True)
            self.ln = nn.LayerNorm(dim)
            self.seed = nn.Parameter(torch.Tensor(1, 1, dim))
            nn.init.xavier_uniform_(self.seed)
            self.pma = nn.MultiheadAttention(dim, num_heads, batch_first=True)
            self.head = nn.Linear(2 * dim, 1)

        def forward(self, x: Any, lengths: Any) -> tuple[Any, Any]:
            mask = torch.arange(x.size(1))[None, :] < lengths[:, None]  # True: a real element
            h = self.embed(x)
            a, _ = self.sab(h, h, h, key_padding_mask=~mask)
            h = self.ln(h + a)
            mean = h.masked_fill(~mask.unsqueeze(-1), 0.0).sum(1) / mask.sum(1, keepdim=True)
            seed = self.seed.expand(x.size(0), -1, -1)
            pooled, weights = self.pma(seed, h, h, key_padding_mask=~mask)
            out = self.head(torch.cat([mean, pooled.squeeze(1)], dim=-1))
            return out, weights

    class Models(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.masked = MaskedSetTransformer()
            self.small_set_transformer = SmallSetTransformer()
            self.set_transformer = SetTransformer(1, 1, 1, INDS, HIDDEN, HEADS, ln=True)
            self.deep_set_max = SmallDeepSet("max")
            self.deep_set_sum = SmallDeepSet("sum")
            self.deep_set_mean = SmallDeepSet("mean")
            self.d_tanh = DTanh(HIDDEN)

    return Models()


def gen_data(rng: np.random.Generator, batch_size: int, max_length: int = 10) -> tuple:
    length = rng.integers(1, max_length + 1)
    x = rng.integers(1, 100, (batch_size, length))
    y = np.max(x, axis=1)
    x, y = np.expand_dims(x, axis=2), np.expand_dims(y, axis=1)
    return x, y


def train(
    torch_like: Any, model: Any, batches: list, squeeze: bool, scale: float = 1.0
) -> list[float]:
    torch = torch_like
    optim = torch.optim.Adam(model.parameters(), lr=LR)
    criterion = torch.nn.L1Loss()
    losses: list[float] = []
    for x_np, y_np in batches:
        x, y = torch.from_numpy(x_np).float() / scale, torch.from_numpy(y_np).float() / scale
        out = model(x)
        loss = criterion(out.squeeze(-1) if squeeze else out, y)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    return losses


def masked_steps(torch_like: Any, model: Any, rng: np.random.Generator) -> list[float]:
    """Sets of different sizes in one batch: ``pad_sequence`` and padding masks."""
    torch = torch_like
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    optim = torch.optim.Adam(model.parameters(), lr=LR)
    values: list[float] = []
    for _step in range(STEPS):
        sets = [rng.integers(1, 100, (n, 1)) / 100 for n in rng.integers(1, MAX_LENGTH, BATCH)]
        x = pad_sequence([torch.from_numpy(a).float() for a in sets], batch_first=True)
        lengths = torch.tensor([len(a) for a in sets])
        y = torch.tensor(np.array([a.max() for a in sets])).float().unsqueeze(-1)
        out, weights = model(x, lengths)
        loss = torch.nn.functional.l1_loss(out, y)
        optim.zero_grad()
        loss.backward()
        optim.step()
        padded = weights.squeeze(1)[torch.arange(x.size(1))[None, :] >= lengths[:, None]]
        values += [loss.item(), padded.abs().sum().item(), float(x.shape[1])]
    model.eval()
    with torch.no_grad():  # the fast path of an eval-mode MultiheadAttention
        out, _ = model(x, lengths)
        grown = pad_sequence(
            [torch.from_numpy(a).float() for a in sets] + [torch.zeros(8, 1)], True
        )
        longer, _ = model(grown[:-1], lengths)
    return values + out.flatten().tolist() + [(longer - out).abs().max().item()]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(31)
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    batches = [gen_data(rng, BATCH, MAX_LENGTH) for _ in range(STEPS)]
    values: list[float] = []
    values += train(torch_like, models.small_set_transformer, batches, squeeze=False)
    values += train(torch_like, models.set_transformer, batches, squeeze=True)
    for name in ("deep_set_max", "deep_set_sum", "deep_set_mean"):
        values += train(torch_like, getattr(models, name), batches, squeeze=False)
    # the tanh model saturates on raw 1..99 inputs (its gradients then round to noise, which
    # Adam's normalised steps magnify): it trains on scaled sets, as the DeepSets code does
    values += train(torch_like, models.d_tanh, batches, squeeze=False, scale=100.0)
    values += masked_steps(torch_like, models.masked, rng)
    x_np = rng.integers(1, 100, (4, MAX_LENGTH, 1)).astype(np.float32) / 100
    perm = rng.permutation(MAX_LENGTH)
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        for name in ("small_set_transformer", "set_transformer", "deep_set_sum", "d_tanh"):
            model = getattr(models, name)
            out, shuffled = model(x), model(x[:, perm])
            values += out.flatten().tolist()
            values += [(out - shuffled).abs().max().item()]
    return values


def check(values: list[float]) -> None:
    for step in range(STEPS):  # padded elements get no attention
        assert values[6 * STEPS + 3 * step + 1] == 0.0
    assert values[-21] < 1e-5  # more padding does not change the masked model's output
    for i in range(4):  # the set models are permutation invariant (to float32 rounding)
        assert values[-1 - 5 * i] < 1e-4
