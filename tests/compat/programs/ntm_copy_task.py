"""Neural Turing Machine on the copy task, as loudinthecloud's ``pytorch-ntm`` writes it
(``ntm/memory.py``, ``ntm/head.py``, ``ntm/controller.py``, ``ntm/ntm.py``, ``ntm/aio.py``,
``tasks/copytask.py``, ``train.py``), size-reduced.

The idioms: ``NTMMemory`` with a ``register_buffer('mem_bias', torch.Tensor(N, M))`` filled by
``nn.init.uniform_``, ``reset`` by ``self.mem_bias.clone().repeat(batch_size, 1, 1)``, reads by
``torch.matmul(w.unsqueeze(1), self.memory).squeeze(1)``, erase/add writes by
``torch.matmul(w.unsqueeze(-1), e.unsqueeze(1))`` (and the same outer product by ``torch.ger`` /
``torch.outer`` per sample, as DNC ports write it); content addressing ``F.softmax(beta *
F.cosine_similarity(self.memory + 1e-16, k + 1e-16, dim=-1), dim=1)``, the interpolation gate
``g * wc + (1 - g) * w_prev``, the circular shift ``_convolve`` (``torch.cat([w[-1:], w,
w[:1]])`` through ``F.conv1d(t.view(1, 1, -1), s.view(1, 1, -1)).view(-1)``, written into
``result[b]`` of a ``torch.zeros(wg.size())``; checked against a ``torch.roll`` formulation),
sharpening ``w ** gamma`` divided by ``torch.sum(w, dim=1).view(-1, 1) + 1e-16``; heads that
``_split_cols`` the ``fc_read``/``fc_write`` output at ``np.cumsum`` offsets and activate with
``F.softplus``, ``F.sigmoid``, ``F.softmax``, ``1 + F.softplus(gamma)``; the ``LSTMController``
(``nn.LSTM`` with ``nn.Parameter(torch.randn(num_layers, 1, num_outputs) * 0.05)`` initial
states ``.clone().repeat(1, batch_size, 1)``, ``nn.init.constant_`` / ``uniform_`` by
``p.dim()``); the copy-task loop (``BCELoss``, ``RMSprop(momentum=0.9, alpha=0.95)``, gradient
clipping of ``filter(lambda p: p.grad is not None, net.parameters())`` by ``p.grad.data.clamp_``
and ``nn.utils.clip_grad_value_``, the binarised cost by ``y_out.clone().data.apply_(lambda x: 0
if x < 0.5 else 1)``).

Changed: sizes (N=8 rows of M=5, controller 10, 4-bit sequences of length 3, batch 2, 4 steps,
lr 3e-3) and the random sequences (fixed NumPy data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N, M, CTRL, WIDTH, SEQ, BATCH, STEPS = 8, 5, 10, 4, 3, 2, 4


def _split_cols(mat: Any, lengths: list[int]) -> list[Any]:
    """Split a 2D matrix to variable length columns."""
    assert mat.size()[1] == sum(lengths), "Lengths must be summed to num columns"
    l = np.cumsum([0] + lengths)  # noqa: E741 (as in the repository)
    results = []
    for s, e in zip(l[:-1], l[1:]):
        results += [mat[:, s:e]]
    return results


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def _convolve(w: Any, s: Any) -> Any:
        """Circular convolution implementation."""
        assert s.size(0) == 3
        t = torch.cat([w[-1:], w, w[:1]])
        c = F.conv1d(t.view(1, 1, -1), s.view(1, 1, -1)).view(-1)
        return c

    class NTMMemory(nn.Module):
        """Memory bank for NTM."""

        def __init__(self, N: int, M: int) -> None:
            super(NTMMemory, self).__init__()  # noqa: UP008
            self.N = N
            self.M = M
            self.register_buffer("mem_bias", torch.Tensor(N, M))
            stdev = 1 / (np.sqrt(N + M))
            nn.init.uniform_(self.mem_bias, -stdev, stdev)

        def reset(self, batch_size: int) -> None:
            self.batch_size = batch_size
            self.memory = self.mem_bias.clone().repeat(batch_size, 1, 1)

        def size(self) -> tuple[int, int]:
            return self.N, self.M

        def read(self, w: Any) -> Any:
            return torch.matmul(w.unsqueeze(1), self.memory).squeeze(1)

        def write(self, w: Any, e: Any, a: Any) -> None:
            self.prev_mem = self.memory
            self.memory = torch.Tensor(self.batch_size, self.N, self.M)
            erase = torch.matmul(w.unsqueeze(-1), e.unsqueeze(1))
            add = torch.matmul(w.unsqueeze(-1), a.unsqueeze(1))
            self.memory = self.prev_mem * (1 - erase) + add

        def address(self, k: Any, β: Any, g: Any, s: Any, γ: Any, w_prev: Any) -> Any:
            wc = self._similarity(k, β)
            wg = self._interpolate(w_prev, wc, g)
            ŵ = self._shift(wg, s)
            w = self._sharpen(ŵ, γ)
            return w

        def _similarity(self, k: Any, β: Any) -> Any:
            k = k.view(self.batch_size, 1, -1)
            w = F.softmax(β * F.cosine_similarity(self.memory + 1e-16, k + 1e-16, dim=-1), dim=1)
            return w

        def _interpolate(self, w_prev: Any, wc: Any, g: Any) -> Any:
            return g * wc + (1 - g) * w_prev

        def _shift(self, wg: Any, s: Any) -> Any:
            result = torch.zeros(wg.size())
            for b in range(self.batch_size):
                result[b] = _convolve(wg[b], s[b])
            return result

        def _sharpen(self, ŵ: Any, γ: Any) -> Any:
            w = ŵ**γ
            w = torch.div(w, torch.sum(w, dim=1).view(-1, 1) + 1e-16)
            return w

    class NTMHeadBase(nn.Module):
        def __init__(self, memory: Any, controller_size: int) -> None:
            super(NTMHeadBase, self).__init__()  # noqa: UP008
            self.memory = memory
            self.N, self.M = memory.size()
            self.controller_size = controller_size

        def create_new_state(self, batch_size: int) -> Any:
            return torch.zeros(batch_size, self.N)

        def _address_memory(self, k: Any, β: Any, g: Any, s: Any, γ: Any, w_prev: Any) -> Any:
            # Handle Activations
            k = k.clone()
            β = F.softplus(β)
            g = F.sigmoid(g)
            s = F.softmax(s, dim=1)
            γ = 1 + F.softplus(γ)
            w = self.memory.address(k, β, g, s, γ, w_prev)
            return w

    class NTMReadHead(NTMHeadBase):
        def __init__(self, memory: Any, controller_size: int) -> None:
            super(NTMReadHead, self).__init__(memory, controller_size)  # noqa: UP008
            # Corresponding to k, β, g, s, γ sizes from the paper
            self.read_lengths = [self.M, 1, 1, 3, 1]
            self.fc_read = nn.Linear(controller_size, sum(self.read_lengths))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.fc_read.weight, gain=1.4)
            nn.init.normal_(self.fc_read.bias, std=0.01)

        def is_read_head(self) -> bool:
            return True

        def forward(self, embeddings: Any, w_prev: Any) -> tuple[Any, Any]:
            o = self.fc_read(embeddings)
            k, β, g, s, γ = _split_cols(o, self.read_lengths)
            w = self._address_memory(k, β, g, s, γ, w_prev)
            r = self.memory.read(w)
            return r, w

    class NTMWriteHead(NTMHeadBase):
        def __init__(self, memory: Any, controller_size: int) -> None:
            super(NTMWriteHead, self).__init__(memory, controller_size)  # noqa: UP008
            # Corresponding to k, β, g, s, γ, e, a sizes from the paper
            self.write_lengths = [self.M, 1, 1, 3, 1, self.M, self.M]
            self.fc_write = nn.Linear(controller_size, sum(self.write_lengths))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.fc_write.weight, gain=1.4)
            nn.init.normal_(self.fc_write.bias, std=0.01)

        def is_read_head(self) -> bool:
            return False

        def forward(self, embeddings: Any, w_prev: Any) -> Any:
            o = self.fc_write(embeddings)
            k, β, g, s, γ, e, a = _split_cols(o, self.write_lengths)
            # e should be in [0, 1]
            e = F.sigmoid(e)
            w = self._address_memory(k, β, g, s, γ, w_prev)
            self.memory.write(w, e, a)
            return w

    class LSTMController(nn.Module):
        """An NTM controller based on LSTM."""

        def __init__(self, num_inputs: int, num_outputs: int, num_layers: int) -> None:
            super(LSTMController, self).__init__()  # noqa: UP008
            self.num_inputs = num_inputs
            self.num_outputs = num_outputs
            self.num_layers = num_layers
            self.lstm = nn.LSTM(
                input_size=num_inputs, hidden_size=num_outputs, num_layers=num_layers
            )
            # The hidden state is a learned parameter
            self.lstm_h_bias = nn.Parameter(
                torch.randn(self.num_layers, 1, self.num_outputs) * 0.05
            )
            self.lstm_c_bias = nn.Parameter(
                torch.randn(self.num_layers, 1, self.num_outputs) * 0.05
            )
            self.reset_parameters()

        def create_new_state(self, batch_size: int) -> tuple[Any, Any]:
            lstm_h = self.lstm_h_bias.clone().repeat(1, batch_size, 1)
            lstm_c = self.lstm_c_bias.clone().repeat(1, batch_size, 1)
            return lstm_h, lstm_c

        def reset_parameters(self) -> None:
            for p in self.lstm.parameters():
                if p.dim() == 1:
                    nn.init.constant_(p, 0)
                else:
                    stdev = 5 / (np.sqrt(self.num_inputs + self.num_outputs))
                    nn.init.uniform_(p, -stdev, stdev)

        def size(self) -> tuple[int, int]:
            return self.num_inputs, self.num_outputs

        def forward(self, x: Any, prev_state: Any) -> tuple[Any, Any]:
            x = x.unsqueeze(0)
            outp, state = self.lstm(x, prev_state)
            return outp.squeeze(0), state

    class NTM(nn.Module):
        """A Neural Turing Machine."""

        def __init__(
            self, num_inputs: int, num_outputs: int, controller: Any, memory: Any, heads: Any
        ) -> None:
            super(NTM, self).__init__()  # noqa: UP008
            self.num_inputs = num_inputs
            self.num_outputs = num_outputs
            self.controller = controller
            self.memory = memory
            self.heads = heads
            self.N, self.M = memory.size()
            _, self.controller_size = controller.size()
            # Initialize the initial previous read values to random biases
            self.num_read_heads = 0
            self.init_r = []
            for head in heads:
                if head.is_read_head():
                    init_r_bias = torch.randn(1, self.M) * 0.01
                    self.register_buffer(f"read{self.num_read_heads}_bias", init_r_bias.data)
                    self.init_r += [init_r_bias]
                    self.num_read_heads += 1
            assert self.num_read_heads > 0, "heads list must contain at least a single read head"
            self.fc = nn.Linear(self.controller_size + self.num_read_heads * self.M, num_outputs)
            self.reset_parameters()

        def create_new_state(self, batch_size: int) -> tuple[Any, Any, Any]:
            init_r = [
                getattr(self, f"read{i}_bias").clone().repeat(batch_size, 1)
                for i in range(self.num_read_heads)
            ]
            controller_state = self.controller.create_new_state(batch_size)
            heads_state = [head.create_new_state(batch_size) for head in self.heads]
            return init_r, controller_state, heads_state

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.fc.weight, gain=1)
            nn.init.normal_(self.fc.bias, std=0.01)

        def forward(self, x: Any, prev_state: Any) -> tuple[Any, Any]:
            prev_reads, prev_controller_state, prev_heads_states = prev_state
            inp = torch.cat([x] + prev_reads, dim=1)
            controller_outp, controller_state = self.controller(inp, prev_controller_state)
            reads = []
            heads_states = []
            for head, prev_head_state in zip(self.heads, prev_heads_states):
                if head.is_read_head():
                    r, head_state = head(controller_outp, prev_head_state)
                    reads += [r]
                else:
                    head_state = head(controller_outp, prev_head_state)
                heads_states += [head_state]
            inp2 = torch.cat([controller_outp] + reads, dim=1)
            o = F.sigmoid(self.fc(inp2))
            state = (reads, controller_state, heads_states)
            return o, state

    class EncapsulatedNTM(nn.Module):
        def __init__(self, num_inputs: int, num_outputs: int, controller_size: int) -> None:
            super(EncapsulatedNTM, self).__init__()  # noqa: UP008
            self.num_inputs = num_inputs
            self.num_outputs = num_outputs
            memory = NTMMemory(N, M)
            controller = LSTMController(num_inputs + M, controller_size, 1)
            heads = nn.ModuleList([])
            heads += [NTMReadHead(memory, controller_size), NTMWriteHead(memory, controller_size)]
            self.ntm = NTM(num_inputs, num_outputs, controller, memory, heads)
            self.memory = memory

        def init_sequence(self, batch_size: int) -> None:
            self.batch_size = batch_size
            self.memory.reset(batch_size)
            self.previous_state = self.ntm.create_new_state(batch_size)

        def forward(self, x: Any = None) -> tuple[Any, Any]:
            if x is None:
                x = torch.zeros(self.batch_size, self.num_inputs)
            o, self.previous_state = self.ntm(x, self.previous_state)
            return o, self.previous_state

    return EncapsulatedNTM, _convolve


def make_model(torch_like: Any) -> Any:
    encapsulated, _ = _classes(torch_like)
    return encapsulated(WIDTH + 1, WIDTH, CTRL)


def _sequences(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """``dataloader`` of ``copytask.py``: random bits plus a delimiter channel."""
    out = []
    for _ in range(STEPS):
        seq = rng.binomial(1, 0.5, (SEQ, BATCH, WIDTH))
        inp = np.zeros((SEQ + 1, BATCH, WIDTH + 1))
        inp[:SEQ, :, :WIDTH] = seq
        inp[SEQ, :, WIDTH] = 1.0  # delimiter in our control channel
        out.append((inp, seq.astype(np.float64)))
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    _, _convolve = _classes(torch_like)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    criterion = nn.BCELoss()
    optimizer = optim.RMSprop(net.parameters(), momentum=0.9, alpha=0.95, lr=3e-3)
    values: list[float] = []

    def clip_grads(net: Any) -> None:
        """Gradient clipping to the range [10, 10]."""
        parameters = list(filter(lambda p: p.grad is not None, net.parameters()))
        for p in parameters:
            p.grad.data.clamp_(-10, 10)

    for step, (x, y) in enumerate(_sequences(np.random.default_rng(5))):
        X, Y = torch.from_numpy(x), torch.from_numpy(y)
        optimizer.zero_grad()
        inp_seq_len = X.size(0)
        outp_seq_len, batch_size, _ = Y.size()
        net.init_sequence(batch_size)
        for i in range(inp_seq_len):
            net(X[i])
        y_out = torch.zeros(Y.size())
        for i in range(outp_seq_len):
            y_out[i], _ = net()
        loss = criterion(y_out, Y)
        loss.backward()
        if step % 2:
            clip_grads(net)
        else:
            nn.utils.clip_grad_value_(net.parameters(), clip_value=10)
        optimizer.step()
        y_out_binarized = y_out.clone().data
        y_out_binarized.apply_(lambda x: 0 if x < 0.5 else 1)
        cost = torch.sum(torch.abs(y_out_binarized - Y.data))
        values += [loss.item(), cost.item() / batch_size]

    # the final memory, written per sample by torch.ger / torch.outer (DNC style), and the
    # shift by torch.roll instead of the wrapped-slice convolution
    with torch.no_grad():
        memory = net.memory
        w = nn.functional.softmax(memory.memory.sum(-1), dim=1)
        e = torch.sigmoid(memory.memory.mean(1))
        a = torch.tanh(memory.memory.mean(1))
        for b in range(batch_size):
            erase = torch.ger(w[b], e[b])
            add = torch.outer(w[b], a[b])
            written = memory.memory[b] * (1 - erase) + add
            values.append(written.sum().item())
            s = torch.softmax(torch.arange(3.0) - b, dim=0)
            rolled = s[0] * torch.roll(w[b], 1) + s[1] * w[b] + s[2] * torch.roll(w[b], -1)
            # (the two sums round differently: equal to a few ulps, not bit for bit)
            values.append(round((rolled - _convolve(w[b], s)).abs().max().item() * 1e12, 2))
            values.append(rolled.pow(2.5).sum().item())
    values.append(sum(p.detach().abs().sum().item() for p in net.parameters()))
    return values
