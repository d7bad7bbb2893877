"""Graves et al. 2016 "Differentiable Neural Computer" memory addressing as ixaxaar/pytorch-dnc
(``dnc/memory.py``, ``dnc/util.py``, ``tasks/copy_task.py``) writes it, size-reduced, on the copy
task.

The idioms: the interface vector cut into heads by offsets (``T.tanh(ξ[:, :r * w].contiguous()
.view(b, r, w))``, ``F.softplus`` strengths, ``T.sigmoid`` gates picked with one column
``ξ[:, k].contiguous().unsqueeze(1).view(b, 1)``, read modes through ``σ``, util's softmax over an
axis by ``transpose``/``view(-1, n)``/``F.softmax``); ``θ``, the cosine similarity of ``T.bmm(a,
b.transpose(1, 2))`` over ``T.norm(a, 2, 2, keepdim=True).expand_as(a) + δ``; usage ``usage +
(1 - usage) * (1 - T.prod(1 - write_weights, 1))`` and retention ``T.prod(1 -
free_gates.unsqueeze(2) * read_weights, 1)``; ``allocate`` (``T.topk(usage, m, dim=1,
largest=False)``, ``sorted_usage.data.new(batch_size, 1).fill_(1)``, ``T.cumprod(...,
1)[:, :-1]``, the inverse permutation by a second ``topk`` of the indices and
``.gather(1, φ_rev.long())``); the write (``T.prod(1 - weighted_resets, 1)`` erase, ``T.bmm(
write_weights.transpose(1, 2), write_vector)`` add); the temporal link matrix with its
``1 - T.eye(m).unsqueeze(0)`` mask ``expand_as`` and the precedence ``(1 - T.sum(write_weights,
2, keepdim=True)) * precedence + write_weights``; the forward/backward weightings
(``T.matmul(link_matrix, rw.transpose(2, 3)).transpose(2, 3)``) mixed by
``read_modes[:, :, 0:1].contiguous().unsqueeze(3)``; an ``nn.LSTMCell`` controller fed
``T.cat([x, last_read.view(b, -1)], 1)``; the copy task's ``criterion`` (``T.mean(-1 *
F.logsigmoid(predictions) * targets - T.log(1 - F.sigmoid(predictions) + 1e-9) * (1 -
targets))``), ``T.nn.utils.clip_grad_norm_`` and ``optim.Adam(..., eps=1e-9, betas=[0.9,
0.98])``.

Changed: the memory (16 cells of 8, 4 read heads) -> 5 cells of 4, 2 read heads, batch 2; the
controller is one LSTMCell of 10; the hidden state is carried in from an earlier segment
(``reset_experience=False``) as NumPy usage/memory, so the usage has no ties (the order
``topk`` gives equal usages is PyTorch's implementation detail); 3 steps of a 3-bit copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

MEM, CELL, READS, HIDDEN, BITS, BATCH = 5, 4, 2, 10, 3, 2
δ = 1e-6


def σ(F: Any, input: Any, axis: int = 1) -> Any:
    input_size = input.size()
    trans_input = input.transpose(axis, len(input_size) - 1)
    trans_size = trans_input.size()
    input_2d = trans_input.contiguous().view(-1, trans_size[-1])
    soft_max_2d = F.softmax(input_2d, -1)
    soft_max_nd = soft_max_2d.view(*trans_size)
    return soft_max_nd.transpose(axis, len(input_size) - 1)


def θ(T: Any, a: Any, b: Any, dimA: int = 2, dimB: int = 2, normBy: int = 2) -> Any:
    a_norm = T.norm(a, normBy, dimA, keepdim=True).expand_as(a) + δ
    b_norm = T.norm(b, normBy, dimB, keepdim=True).expand_as(b) + δ
    x = T.bmm(a, b.transpose(1, 2)).transpose(1, 2) / (
        T.bmm(a_norm, b_norm.transpose(1, 2)).transpose(1, 2) + δ
    )
    return x


def make_model(torch_like: Any) -> Any:
    T, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class Memory(nn.Module):
        def __init__(self, input_size: int, mem_size=5, cell_size=4, read_heads=2) -> None:
            super().__init__()
            self.mem_size, self.cell_size, self.read_heads = mem_size, cell_size, read_heads
            m, w, r = mem_size, cell_size, read_heads
            self.interface_size = (w * r) + (3 * w) + (5 * r) + 3
            self.interface_weights = nn.Linear(input_size, self.interface_size)
            self.I = 1 - T.eye(m).unsqueeze(0)  # (1 * n * n)

        def get_usage_vector(self, usage, free_gates, read_weights, write_weights):
            usage = usage + (1 - usage) * (1 - T.prod(1 - write_weights, 1))
            ψ = T.prod(1 - free_gates.unsqueeze(2) * read_weights, 1)
            return usage * ψ

        def allocate(self, usage: Any, write_gate: Any) -> tuple[Any, Any]:
            # ensure values are not too small prior to cumprod.
            usage = δ + (1 - δ) * usage
            batch_size = usage.size(0)
            # free list
            sorted_usage, φ = T.topk(usage, self.mem_size, dim=1, largest=False)
            # cumprod with exclusive=True
            v = sorted_usage.data.new(batch_size, 1).fill_(1)
            cat_sorted_usage = T.cat((v, sorted_usage), 1)
            prod_sorted_usage = T.cumprod(cat_sorted_usage, 1)[:, :-1]
            sorted_allocation_weights = (1 - sorted_usage) * prod_sorted_usage.squeeze()
            # construct the reverse sorting index
            _, φ_rev = T.topk(φ, k=self.mem_size, dim=1, largest=False)
            allocation_weights = sorted_allocation_weights.gather(1, φ_rev.long())
            return allocation_weights.unsqueeze(1), usage

        def write_weighting(self, memory, write_content_weights, allocation_weights, wg, ag):
            ag = ag.unsqueeze(-1)
            wg = wg.unsqueeze(-1)
            return wg * (ag * allocation_weights + (1 - ag) * write_content_weights)

        def get_link_matrix(self, link_matrix, write_weights, precedence):
            precedence = precedence.unsqueeze(2)
            write_weights_i = write_weights.unsqueeze(3)
            write_weights_j = write_weights.unsqueeze(2)
            prev_scale = 1 - write_weights_i - write_weights_j
            new_link_matrix = write_weights_i * precedence
            link_matrix = prev_scale * link_matrix + new_link_matrix
            # trick to delete diag elems
            return self.I.expand_as(link_matrix) * link_matrix

        def update_precedence(self, precedence, write_weights):
            return (1 - T.sum(write_weights, 2, keepdim=True)) * precedence + write_weights

        def write(self, write_key, write_vector, erase_vector, free_gates, read_strengths,
                  write_strength, write_gate, allocation_gate, hidden):  # fmt: skip
            # get current usage
            hidden["usage_vector"] = self.get_usage_vector(
                hidden["usage_vector"], free_gates, hidden["read_weights"], hidden["write_weights"]
            )
            # lookup memory with write_key and write_strength
            write_content_weights = self.content_weightings(
                hidden["memory"], write_key, write_strength
            )
            # get memory allocation
            alloc, _ = self.allocate(hidden["usage_vector"], allocation_gate * write_gate)
            # get write weightings
            hidden["write_weights"] = self.write_weighting(
                hidden["memory"], write_content_weights, alloc, write_gate, allocation_gate
            )
            weighted_resets = hidden["write_weights"].unsqueeze(3) * erase_vector.unsqueeze(2)
            reset_gate = T.prod(1 - weighted_resets, 1)
            # Update memory
            hidden["memory"] = hidden["memory"] * reset_gate
            hidden["memory"] = hidden["memory"] + T.bmm(
                hidden["write_weights"].transpose(1, 2), write_vector
            )
            # update link_matrix
            hidden["link_matrix"] = self.get_link_matrix(
                hidden["link_matrix"], hidden["write_weights"], hidden["precedence"]
            )
            hidden["precedence"] = self.update_precedence(
                hidden["precedence"], hidden["write_weights"]
            )
            return hidden

        def content_weightings(self, memory: Any, keys: Any, strengths: Any) -> Any:
            d = θ(T, memory, keys)
            return σ(F, d * strengths.unsqueeze(2), 2)

        def directional_weightings(self, link_matrix, read_weights):
            rw = read_weights.unsqueeze(1)
            f = T.matmul(link_matrix, rw.transpose(2, 3)).transpose(2, 3)
            b = T.matmul(rw, link_matrix)
            return f.transpose(1, 2), b.transpose(1, 2)

        def read_weightings(self, memory, content_weights, link_matrix, read_modes, read_weights):
            forward_weight, backward_weight = self.directional_weightings(link_matrix, read_weights)
            content_mode = read_modes[:, :, 2].contiguous().unsqueeze(2) * content_weights
            backward_mode = T.sum(
                read_modes[:, :, 0:1].contiguous().unsqueeze(3) * backward_weight, 2
            )
            forward_mode = T.sum(
                read_modes[:, :, 1:2].contiguous().unsqueeze(3) * forward_weight, 2
            )
            return backward_mode + content_mode + forward_mode

        def read(self, read_keys, read_strengths, read_modes, hidden):
            content_weights = self.content_weightings(hidden["memory"], read_keys, read_strengths)
            hidden["read_weights"] = self.read_weightings(
                hidden["memory"],
                content_weights,
                hidden["link_matrix"],
                read_modes,
                hidden["read_weights"],
            )
            read_vectors = T.bmm(hidden["read_weights"], hidden["memory"])
            return read_vectors, hidden

        def forward(self, ξ: Any, hidden: dict) -> tuple[Any, dict]:
            w, r = self.cell_size, self.read_heads
            b = ξ.size()[0]
            ξ = self.interface_weights(ξ)
            read_keys = T.tanh(ξ[:, : r * w].contiguous().view(b, r, w))
            read_strengths = F.softplus(ξ[:, r * w : r * w + r].contiguous().view(b, r))
            write_key = T.tanh(ξ[:, r * w + r : r * w + r + w].contiguous().view(b, 1, w))
            write_strength = F.softplus(ξ[:, r * w + r + w].contiguous().view(b, 1))
            erase_vector = T.sigmoid(
                ξ[:, r * w + r + w + 1 : r * w + r + 2 * w + 1].contiguous().view(b, 1, w)
            )
            write_vector = T.tanh(
                ξ[:, r * w + r + 2 * w + 1 : r * w + r + 3 * w + 1].contiguous().view(b, 1, w)
            )
            free_gates = T.sigmoid(
                ξ[:, r * w + r + 3 * w + 1 : r * w + 2 * r + 3 * w + 1].contiguous().view(b, r)
            )
            allocation_gate = T.sigmoid(
                ξ[:, r * w + 2 * r + 3 * w + 1].contiguous().unsqueeze(1).view(b, 1)
            )
            write_gate = T.sigmoid(ξ[:, r * w + 2 * r + 3 * w + 2].contiguous()).unsqueeze(1)
            write_gate = write_gate.view(b, 1)
            read_modes = σ(
                F,
                ξ[:, r * w + 2 * r + 3 * w + 3 : r * w + 5 * r + 3 * w + 3]
                .contiguous()
                .view(b, r, 3),
                -1,
            )
            hidden = self.write(write_key, write_vector, erase_vector, free_gates,
                                read_strengths, write_strength, write_gate, allocation_gate,
                                hidden)  # fmt: skip
            return self.read(read_keys, read_strengths, read_modes, hidden)

    class DNC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.controller = nn.LSTMCell(BITS + 1 + READS * CELL, HIDDEN)
            self.memory = Memory(HIDDEN, MEM, CELL, READS)
            self.output = nn.Linear(HIDDEN + READS * CELL, BITS + 1)

        def forward(self, x: Any, state: tuple) -> tuple[Any, tuple]:
            (h, c), mem_hidden, last_read = state
            b = x.size(0)
            h, c = self.controller(T.cat([x, last_read.view(b, -1)], 1), (h, c))
            read_vectors, mem_hidden = self.memory(h, mem_hidden)
            out = self.output(T.cat([h, read_vectors.view(b, -1)], 1))
            return out, ((h, c), mem_hidden, read_vectors)

    return DNC()


def criterion(T: Any, F: Any, predictions: Any, targets: Any) -> Any:
    return T.mean(
        -1 * F.logsigmoid(predictions) * (targets)
        - T.log(1 - F.sigmoid(predictions) + 1e-9) * (1 - targets)
    )


def _carried_state(T: Any, rng: np.random.Generator) -> tuple:
    usage = rng.random((BATCH, MEM))
    read_w = rng.dirichlet(np.ones(MEM), (BATCH, READS))
    write_w = rng.dirichlet(np.ones(MEM), (BATCH, 1)) * 0.5
    link = rng.random((BATCH, 1, MEM, MEM)) * 0.1 * (1 - np.eye(MEM))
    mem_hidden = {
        "memory": as_tensor(T, 0.1 * rng.standard_normal((BATCH, MEM, CELL))),
        "link_matrix": as_tensor(T, link),
        "precedence": as_tensor(T, rng.dirichlet(np.ones(MEM), (BATCH, 1)) * 0.5),
        "read_weights": as_tensor(T, read_w),
        "write_weights": as_tensor(T, write_w),
        "usage_vector": as_tensor(T, usage),
    }
    h = T.zeros(BATCH, HIDDEN)
    return (h, T.zeros_like(h)), mem_hidden, T.zeros(BATCH, READS, CELL)


def run(torch_like: Any, init: dict | None) -> list[float]:
    T, optim = torch_like, torch_like.optim
    F = torch_like.nn.functional
    rng = np.random.default_rng(41)
    rnn = make_model(torch_like)
    load_numpy_state(torch_like, rnn, init)
    optimizer = optim.Adam(rnn.parameters(), lr=1e-2, eps=1e-9, betas=[0.9, 0.98])
    values: list[float] = []
    for _epoch in range(3):
        seq = rng.integers(0, 2, (BATCH, 3, BITS)).astype(np.float64)
        inp = np.zeros((BATCH, 7, BITS + 1))
        inp[:, :3, :BITS] = seq
        inp[:, 3, BITS] = 1  # the delimiter
        target = np.zeros((BATCH, 7, BITS + 1))
        target[:, 4:, :BITS] = seq
        input_data, target_output = as_tensor(T, inp), as_tensor(T, target)
        optimizer.zero_grad()
        state = _carried_state(T, rng)
        outputs = []
        for t in range(input_data.size(1)):
            out, state = rnn(input_data[:, t], state)
            outputs.append(out)
        output = T.stack(outputs, 1)
        loss = criterion(T, F, output, target_output)
        loss.backward()
        norm = T.nn.utils.clip_grad_norm_(rnn.parameters(), 10)
        optimizer.step()
        mem = state[1]
        values += [loss.item(), norm.item(), mem["usage_vector"].sum().item()]
        values += mem["link_matrix"].sum((2, 3)).flatten().tolist()
        values += mem["read_weights"][0].flatten().tolist()
    return values
