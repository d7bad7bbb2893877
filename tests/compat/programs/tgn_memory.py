"""Temporal Graph Networks (Rossi et al.) as PyTorch Geometric's ``TGNMemory`` and
``examples/tgn.py`` write it, size-reduced with the GNN embedding reduced to a linear layer:
``TimeEncoder`` (``self.lin(t.view(-1, 1)).cos()``, initialised as the TGN paper's ``1 / 10 **
np.linspace(0, 9, dim)`` frequencies); ``IdentityMessage`` (``torch.cat([z_src, z_dst, raw_msg,
t_enc], dim=-1)``); the memory and ``last_update`` as buffers (``register_buffer('memory',
torch.empty(num_nodes, memory_dim))``, ``zero_()`` in ``reset_state``, ``self.memory.detach_()``
after each step); ``_update_msg_store`` (``n_id, perm = src.sort()``,
``n_id.unique_consecutive(return_counts=True)``, ``perm.split(count.tolist())``, a dict of
per-node message tuples); ``_compute_msg`` (``list(zip(*data))``, ``torch.cat``, ``t_rel = t -
self.last_update[src]``, ``self.time_enc(t_rel.to(raw_msg.dtype))``); ``LastAggregator`` through
``scatter_argmax`` (``res.scatter_reduce_(0, index, src.detach(), reduce='amax',
include_self=False)``, ``(src == res[index]).nonzero().view(-1)``, ``out[index[nonzero]] =
nonzero``, ``mask = argmax < msg.size(0)``, ``out[mask] = msg[argmax[mask]]``);
``_get_updated_memory`` (``self._assoc[n_id] = torch.arange(n_id.size(0))``, ``nn.GRUCell`` over
the aggregated messages, ``last_update`` by a ``scatter_reduce(..., 'amax')``); the training
loop: ``assoc[n_id] = torch.arange(n_id.size(0))``, ``LinkPredictor`` on ``z[assoc[batch.src]]``,
``BCEWithLogitsLoss`` on positive and random negative destinations, ``memory.update_state(...)``
before ``loss.backward()``, ``memory.detach()``; evaluation with ``torch.no_grad()`` and average
precision as torchmetrics computes it (``torch.where(preds[1:] - preds[:-1])[0]``,
``F.pad(..., value=...)``, ``torch.cumsum(target, dim=0)[threshold_idxs]``).
(``float(loss) * batch.num_events`` is ``loss.item() * ...``: ``float`` of a tensor that
requires grad warns in PyTorch 2.13.)

Changed: the JODIE Wikipedia stream -> 36 seeded events among 10 nodes with 3-dim messages,
memory 100 -> 6, time 100 -> 4, batch 200 -> 6, the ``TransformerConv`` embedding -> one
``Linear``, no ``LastNeighborLoader`` (every node is in ``n_id``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NODES, MSG, MEM, TIME, EMB, EVENTS, BATCH = 10, 3, 6, 4, 12, 36, 6


def _modules(torch_like: Any) -> tuple[Any, Any]:
    torch, nn = torch_like, torch_like.nn

    def scatter_argmax(src: Any, index: Any, dim: int = 0, dim_size: int | None = None) -> Any:
        if dim_size is None:
            dim_size = int(index.max()) + 1 if index.numel() > 0 else 0
        res = src.new_empty(dim_size)
        res.scatter_reduce_(0, index, src.detach(), reduce="amax", include_self=False)
        out = index.new_full((dim_size,), fill_value=src.size(0))
        nonzero = (src == res[index]).nonzero().view(-1)
        out[index[nonzero]] = nonzero
        return out

    class LastAggregator(nn.Module):
        def forward(self, msg: Any, index: Any, t: Any, dim_size: int) -> Any:
            argmax = scatter_argmax(t, index, dim=0, dim_size=dim_size)
            out = msg.new_zeros((dim_size, msg.size(-1)))
            mask = argmax < msg.size(0)  # Filter items with at least one entry.
            out[mask] = msg[argmax[mask]]
            return out

    class TimeEncoder(nn.Module):
        def __init__(self, out_channels: int) -> None:
            super().__init__()
            self.out_channels = out_channels
            self.lin = nn.Linear(1, out_channels)

        def reset_parameters(self) -> None:
            w = torch.from_numpy(1 / 10 ** np.linspace(0, 9, self.out_channels))
            self.lin.weight = nn.Parameter(w.to(torch.get_default_dtype()).reshape(-1, 1))
            self.lin.bias = nn.Parameter(torch.zeros(self.out_channels))

        def forward(self, t: Any) -> Any:
            return self.lin(t.view(-1, 1)).cos()

    class IdentityMessage(nn.Module):
        def __init__(self, raw_msg_dim: int, memory_dim: int, time_dim: int) -> None:
            super().__init__()
            self.out_channels = raw_msg_dim + 2 * memory_dim + time_dim

        def forward(self, z_src: Any, z_dst: Any, raw_msg: Any, t_enc: Any) -> Any:
            return torch.cat([z_src, z_dst, raw_msg, t_enc], dim=-1)

    class TGNMemory(nn.Module):
        def __init__(self, num_nodes: int, raw_msg_dim: int, memory_dim: int, time_dim: int):
            super().__init__()
            self.num_nodes, self.raw_msg_dim = num_nodes, raw_msg_dim
            self.memory_dim, self.time_dim = memory_dim, time_dim
            self.msg_s_module = IdentityMessage(raw_msg_dim, memory_dim, time_dim)
            self.msg_d_module = IdentityMessage(raw_msg_dim, memory_dim, time_dim)
            self.aggr_module = LastAggregator()
            self.time_enc = TimeEncoder(time_dim)
            self.gru = nn.GRUCell(self.msg_s_module.out_channels, memory_dim)
            self.register_buffer("memory", torch.empty(num_nodes, memory_dim))
            last_update = torch.empty(self.num_nodes, dtype=torch.long)
            self.register_buffer("last_update", last_update)
            self.register_buffer("_assoc", torch.empty(num_nodes, dtype=torch.long))
            self.msg_s_store: dict = {}
            self.msg_d_store: dict = {}
            self.time_enc.reset_parameters()
            self.reset_state()

        def reset_state(self) -> None:
            self.memory.zero_()
            self.last_update.zero_()
            self._reset_message_store()

        def _reset_message_store(self) -> None:
            i = self.memory.new_empty((0,), dtype=torch.long)
            msg = self.memory.new_empty((0, self.raw_msg_dim))
            # Message store format: (src, dst, t, msg)
            self.msg_s_store = {j: (i, i, i, msg) for j in range(self.num_nodes)}
            self.msg_d_store = {j: (i, i, i, msg) for j in range(self.num_nodes)}

        def detach(self) -> None:
            self.memory.detach_()

        def forward(self, n_id: Any) -> tuple[Any, Any]:
            if self.training:
                memory, last_update = self._get_updated_memory(n_id)
            else:
                memory, last_update = self.memory[n_id], self.last_update[n_id]
            return memory, last_update

        def update_state(self, src: Any, dst: Any, t: Any, raw_msg: Any) -> None:
            n_id = torch.cat([src, dst]).unique()
            if self.training:
                self._update_memory(n_id)
                self._update_msg_store(src, dst, t, raw_msg, self.msg_s_store)
                self._update_msg_store(dst, src, t, raw_msg, self.msg_d_store)
            else:
                self._update_msg_store(src, dst, t, raw_msg, self.msg_s_store)
                self._update_msg_store(dst, src, t, raw_msg, self.msg_d_store)
                self._update_memory(n_id)

        def _update_memory(self, n_id: Any) -> None:
            memory, last_update = self._get_updated_memory(n_id)
            self.memory[n_id] = memory
            self.last_update[n_id] = last_update

        def _get_updated_memory(self, n_id: Any) -> tuple[Any, Any]:
            self._assoc[n_id] = torch.arange(n_id.size(0), device=n_id.device)
            # Compute messages (src -> dst).
            msg_s, t_s, src_s, _ = self._compute_msg(n_id, self.msg_s_store, self.msg_s_module)
            # Compute messages (dst -> src).
            msg_d, t_d, src_d, _ = self._compute_msg(n_id, self.msg_d_store, self.msg_d_module)
            # Aggregate messages.
            idx = torch.cat([src_s, src_d], dim=0)
            msg = torch.cat([msg_s, msg_d], dim=0)
            t = torch.cat([t_s, t_d], dim=0)
            aggr = self.aggr_module(msg, self._assoc[idx], t, n_id.size(0))
            # Get local copy of updated memory.
            memory = self.gru(aggr, self.memory[n_id])
            # Get local copy of updated `last_update`.
            dim_size = self.last_update.size(0)
            last_update = self.last_update.new_zeros(dim_size).scatter_reduce(
                0, idx, t, reduce="amax", include_self=True
            )[n_id]
            return memory, last_update

        def _update_msg_store(
            self, src: Any, dst: Any, t: Any, raw_msg: Any, msg_store: dict
        ) -> None:
            n_id, perm = src.sort()
            n_id, count = n_id.unique_consecutive(return_counts=True)
            for i, idx in zip(n_id.tolist(), perm.split(count.tolist()), strict=True):
                msg_store[i] = (src[idx], dst[idx], t[idx], raw_msg[idx])

        def _compute_msg(self, n_id: Any, msg_store: dict, msg_module: Any) -> tuple:
            data = [msg_store[i] for i in n_id.tolist()]
            src, dst, t, raw_msg = list(zip(*data, strict=True))
            src = torch.cat(src, dim=0)
            dst = torch.cat(dst, dim=0)
            t = torch.cat(t, dim=0)
            raw_msg = torch.cat(raw_msg, dim=0)
            t_rel = t - self.last_update[src]
            t_enc = self.time_enc(t_rel.to(raw_msg.dtype))
            msg = msg_module(self.memory[src], self.memory[dst], raw_msg, t_enc)
            return msg, t, src, dst

    return TGNMemory, LastAggregator


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    TGNMemory, _ = _modules(torch_like)

    class LinkPredictor(nn.Module):
        def __init__(self, in_channels: int) -> None:
            super().__init__()
            self.lin_src = nn.Linear(in_channels, in_channels)
            self.lin_dst = nn.Linear(in_channels, in_channels)
            self.lin_final = nn.Linear(in_channels, 1)

        def forward(self, z_src: Any, z_dst: Any) -> Any:
            h = self.lin_src(z_src) + self.lin_dst(z_dst)
            h = h.relu()
            return self.lin_final(h)

    class TGN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.memory = TGNMemory(NODES, MSG, MEM, TIME)
            self.gnn = nn.Linear(MEM, EMB)
            self.link_pred = LinkPredictor(EMB)

    return TGN()


def _events() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(3530)
    src = rng.integers(0, NODES // 2, size=EVENTS)
    dst = rng.integers(NODES // 2, NODES, size=EVENTS)
    t = np.sort(rng.integers(0, 200, size=EVENTS))
    msg = rng.standard_normal((EVENTS, MSG))
    return src, dst, t, msg


def _average_precision(torch_like: Any, preds: Any, target: Any) -> Any:
    """Average precision as torchmetrics' ``_binary_clf_curve`` computes it (tied scores form
    one threshold, so the order a sort gives them does not matter)."""
    torch = torch_like
    desc_score_indices = torch.argsort(preds, descending=True)
    preds, target = preds[desc_score_indices], target[desc_score_indices]
    distinct_value_indices = torch.where(preds[1:] - preds[:-1])[0]
    threshold_idxs = torch.nn.functional.pad(
        distinct_value_indices, [0, 1], value=target.size(0) - 1
    )
    tps = torch.cumsum(target, dim=0)[threshold_idxs]
    fps = 1 + threshold_idxs - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    precision = torch.cat([precision.flip(0), torch.ones(1, dtype=precision.dtype)])
    recall = torch.cat([recall.flip(0), torch.zeros(1, dtype=recall.dtype)])
    return -torch.sum((recall[1:] - recall[:-1]) * precision[:-1])


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    _, LastAggregator = _modules(torch_like)
    src_all, dst_all, t_all, msg_all = (torch.from_numpy(a) for a in _events())
    neg_all = torch.from_numpy(np.random.default_rng(3531).integers(NODES // 2, NODES, EVENTS))
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    memory, gnn, link_pred = model.memory, model.gnn, model.link_pred
    values: list[float] = []
    # the aggregator keeps each node's latest message (and nothing for a node without one)
    msg = torch.arange(12.0).view(4, 3)
    out = LastAggregator()(msg, torch.tensor([0, 2, 0, 2]), torch.tensor([5, 1, 7, 0]), 4)
    values.extend(float(v) for v in out.flatten().tolist())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = torch.nn.BCEWithLogitsLoss()
    assoc = torch.empty(NODES, dtype=torch.long)
    n_id = torch.arange(NODES)
    for _epoch in range(2):
        memory.train()
        memory.reset_state()  # Start with a fresh memory.
        total_loss = 0.0
        for i in range(0, 24, BATCH):
            src, dst = src_all[i : i + BATCH], dst_all[i : i + BATCH]
            t, msg, neg_dst = t_all[i : i + BATCH], msg_all[i : i + BATCH], neg_all[i : i + BATCH]
            optimizer.zero_grad()
            assoc[n_id] = torch.arange(n_id.size(0))
            # Get updated memory of all nodes involved in the computation.
            z, last_update = memory(n_id)
            z = gnn(z)
            pos_out = link_pred(z[assoc[src]], z[assoc[dst]])
            neg_out = link_pred(z[assoc[src]], z[assoc[neg_dst]])
            loss = criterion(pos_out, torch.ones_like(pos_out))
            loss += criterion(neg_out, torch.zeros_like(neg_out))
            # Update memory with ground-truth state.
            memory.update_state(src, dst, t, msg)
            loss.backward()
            optimizer.step()
            memory.detach()
            total_loss += loss.item() * src.numel()
            values.append(float(last_update.sum()))
        values.append(total_loss / 24)
        # evaluation on the remaining events
        memory.eval()
        with torch.no_grad():
            scores, labels = [], []
            for i in range(24, EVENTS, BATCH):
                src, dst = src_all[i : i + BATCH], dst_all[i : i + BATCH]
                t, msg, neg_dst = (
                    t_all[i : i + BATCH],
                    msg_all[i : i + BATCH],
                    neg_all[i : i + BATCH],
                )
                z, _ = memory(n_id)
                z = gnn(z)
                pos_out = link_pred(z[assoc[src]], z[assoc[dst]])
                neg_out = link_pred(z[assoc[src]], z[assoc[neg_dst]])
                scores.append(torch.cat([pos_out, neg_out]).sigmoid().view(-1))
                labels.append(
                    torch.cat([torch.ones(pos_out.size(0)), torch.zeros(neg_out.size(0))])
                )
                memory.update_state(src, dst, t, msg)
            y_pred, y_true = torch.cat(scores), torch.cat(labels)
            ap = _average_precision(torch_like, y_pred, y_true)
        values.extend([ap.item(), memory.memory.abs().sum().item()])
    return values
