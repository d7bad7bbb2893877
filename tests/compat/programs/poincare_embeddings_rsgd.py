"""facebookresearch ``poincare-embeddings`` (``hype/poincare.py``, ``hype/rsgd.py``,
``hype/energy_function.py``), size-reduced: a ``nn.Embedding`` initialised with
``weight.data.uniform_(-1e-4, 1e-4)`` holds the points of the Poincare ball; the distance is the
custom ``Distance(Function)`` (``arcosh(1 + 2 |u-v|^2 / ((1-|u|^2)(1-|v|^2)))`` with
``th.clamp(..., min=0, max=1 - eps)``, a hand-written backward through ``ctx.save_for_backward``)
and also ``th.acosh`` (the autograd one, compared to it); the energy is
``F.cross_entropy(-dists, zeros)`` over a positive and its negatives, taken from ``e[:, 1:]`` and
``e.narrow(1, 0, 1)``; ``RiemannianSGD`` rescales the Euclidean gradient by
``(1 - |p|^2)^2 / 4`` (``d_p * (...).expand_as(d_p)``, ``renorm_(2, 0, 5)`` on the rows), steps
with ``p.data.add_(d_p, alpha=-lr)`` and projects back with ``renorm_(2, 0, 1 - eps)``; the burn-in
epochs use ``lr / 10``. A sparse-gradient embedding (``sparse=True``) takes the same steps
through ``d_p.coalesce()``, ``_indices()``/``_values()`` (rescaled in place) and ``index_add_``.
The data is a small tree's transitive closure (the WordNet mammal closure in the original).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

N_NODES, DIM, NNEGS, EPOCHS, BURNIN, LR = 12, 3, 4, 4, 1, 0.3
EPS = 1e-5


def _closure() -> np.ndarray:
    """(child, ancestor) pairs of a binary tree's transitive closure."""
    parent = {i: (i - 1) // 2 for i in range(1, N_NODES)}
    pairs = []
    for node in range(1, N_NODES):
        up = node
        while up != 0:
            up = parent[up]
            pairs.append((node, up))
    return np.array(pairs, dtype=np.int64)


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(5)
    return {"weight": rng.uniform(-1e-4, 1e-4, (N_NODES, DIM))}


def _model(torch_like: Any, sparse: bool) -> Any:
    th, nn = torch_like, torch_like.nn
    Function = torch_like.autograd.Function

    class Distance(Function):
        @staticmethod
        def grad(x: Any, v: Any, sqnormx: Any, sqnormv: Any, sqdist: Any, eps: float) -> Any:
            alpha = 1 - sqnormx
            beta = 1 - sqnormv
            z = 1 + 2 * sqdist / (alpha * beta)
            a = (
                ((sqnormv - 2 * th.sum(x * v, dim=-1) + 1) / th.pow(alpha, 2))
                .unsqueeze(-1)
                .expand_as(x)
            )
            a = a * x - v / alpha.unsqueeze(-1).expand_as(v)
            z = th.sqrt(th.pow(z, 2) - 1)
            z = th.clamp(z * beta, min=eps).unsqueeze(-1)
            return 4 * a / z.expand_as(x)

        @staticmethod
        def forward(ctx: Any, u: Any, v: Any, eps: float) -> Any:
            squnorm = th.clamp(th.sum(u * u, dim=-1), 0, 1 - eps)
            sqvnorm = th.clamp(th.sum(v * v, dim=-1), 0, 1 - eps)
            sqdist = th.sum(th.pow(u - v, 2), dim=-1)
            ctx.eps = eps
            ctx.save_for_backward(u, v, squnorm, sqvnorm, sqdist)
            x = sqdist / ((1 - squnorm) * (1 - sqvnorm)) * 2 + 1
            # arcosh
            z = th.sqrt(th.pow(x, 2) - 1)
            return th.log(x + z)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            u, v, squnorm, sqvnorm, sqdist = ctx.saved_tensors
            g = g.unsqueeze(-1)
            gu = Distance.grad(u, v, squnorm, sqvnorm, sqdist, ctx.eps)
            gv = Distance.grad(v, u, sqvnorm, squnorm, sqdist, ctx.eps)
            return g.expand_as(gu) * gu, g.expand_as(gv) * gv, None

    class PoincareManifold:
        def __init__(self, eps: float = EPS) -> None:
            self.eps = eps
            self.max_norm = 1 - eps

        def normalize(self, u: Any) -> Any:
            d = u.size(-1)
            if self.max_norm:
                u.view(-1, d).renorm_(2, 0, self.max_norm)
            return u

        def distance(self, u: Any, v: Any) -> Any:
            return Distance.apply(u, v, self.eps)

        def rgrad(self, p: Any, d_p: Any) -> Any:
            if d_p.is_sparse:
                p_sqnorm = th.sum(
                    p[d_p._indices()[0].squeeze()] ** 2, dim=1, keepdim=True
                ).expand_as(d_p._values())
                # the coalesced gradient's values rescaled in place (hype rebuilds it with
                # th.sparse.DoubleTensor(d_p._indices(), n_vals, d_p.size()))
                n_vals = d_p._values()
                n_vals.mul_(((1 - p_sqnorm) ** 2) / 4)
                n_vals.renorm_(2, 0, 5)
            else:
                p_sqnorm = th.sum(p**2, dim=-1, keepdim=True)
                d_p = d_p * ((1 - p_sqnorm) ** 2 / 4).expand_as(d_p)
            return d_p

        def expm(self, p: Any, d_p: Any, lr: float) -> None:
            if d_p.is_sparse:
                ix, d_val = d_p._indices().squeeze(), d_p._values()
                p.index_add_(0, ix, -lr * d_val)
                self.normalize(p)
            else:
                p.add_(d_p, alpha=-lr)
                self.normalize(p)

    class Energy(nn.Module):
        def __init__(self, manifold: Any, size: int, dim: int) -> None:
            super().__init__()
            self.manifold = manifold
            self.lt = nn.Embedding(size, dim, sparse=sparse)

        def forward(self, inputs: Any) -> Any:
            e = self.lt(inputs)
            with th.no_grad():
                e = self.manifold.normalize(e)
            o = e.narrow(1, 1, e.size(1) - 1)
            s = e.narrow(1, 0, 1).expand_as(o)
            return -self.manifold.distance(s, o).squeeze(-1)

        def loss(self, inp: Any, target: Any) -> Any:
            return th.nn.functional.cross_entropy(inp, target)

    class RiemannianSGD(th.optim.Optimizer):
        def __init__(self, params: Any, lr: float, rgrad: Any, expm: Any) -> None:
            defaults = {"lr": lr, "rgrad": rgrad, "expm": expm}
            super().__init__(params, defaults)

        def step(self, lr: float | None = None, counts: Any = None, **kwargs: Any) -> None:
            for group in self.param_groups:
                for p in group["params"]:
                    lr = lr or group["lr"]
                    rgrad = group["rgrad"]
                    expm = group["expm"]
                    if p.grad is None:
                        continue
                    d_p = p.grad.data
                    if d_p.is_sparse:
                        d_p = d_p.coalesce()
                    d_p = rgrad(p.data, d_p)
                    expm(p.data, d_p, lr)

    manifold = PoincareManifold()
    model = Energy(manifold, N_NODES, DIM)
    opt = RiemannianSGD(model.parameters(), lr=LR, rgrad=manifold.rgrad, expm=manifold.expm)
    return model, opt, manifold, Distance


def _batches(rng: np.random.Generator, pairs: np.ndarray) -> list[np.ndarray]:
    """Rows (u, v, negatives...) where no negative is an ancestor of u."""
    known = {(int(a), int(b)) for a, b in pairs}
    rows = []
    for u, v in pairs[rng.permutation(len(pairs))]:
        negs: list[int] = []
        while len(negs) < NNEGS:
            n = int(rng.integers(0, N_NODES))
            if n != u and (int(u), n) not in known:
                negs.append(n)
        rows.append([u, v, *negs])
    rows_a = np.array(rows, dtype=np.int64)
    return [rows_a[i : i + 6] for i in range(0, len(rows_a), 6)]


def run(torch_like: Any, init: dict) -> list[float]:
    th = torch_like
    values: list[float] = []
    pairs = _closure()
    for sparse in (False, True):
        rng = np.random.default_rng(11)
        model, opt, manifold, Distance = _model(torch_like, sparse)
        model.load_state_dict({"lt.weight": th.tensor(init["weight"])})
        for epoch in range(EPOCHS):
            lr = LR / 10 if epoch < BURNIN else LR
            epoch_loss = th.Tensor([0])
            for batch in _batches(rng, pairs):
                inputs = th.from_numpy(batch)
                targets = th.zeros(inputs.size(0)).long()
                opt.zero_grad()
                preds = model(inputs)
                loss = model.loss(preds, targets)
                loss.backward()
                opt.step(lr=lr)
                epoch_loss += loss.data.item()
            values.append(epoch_loss.item())
        w = model.lt.weight.data
        values += w.norm(dim=-1).tolist()
        # the custom Function against torch.acosh's autograd on the same points
        u = w[:4].clone().requires_grad_()
        v = w[4:8].clone().requires_grad_()
        d1 = manifold.distance(u, v)
        g1 = th.autograd.grad(d1.sum(), (u, v))
        sq = ((u - v) ** 2).sum(-1)
        d2 = th.acosh(1 + 2 * sq / ((1 - (u * u).sum(-1)) * (1 - (v * v).sum(-1))))
        g2 = th.autograd.grad(d2.sum(), (u, v))
        values += d1.tolist()
        values.append(max((a - b).abs().max().item() for a, b in zip(g1, g2)) < 1e-6)
    return values
