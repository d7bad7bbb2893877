"""The attention chapter of "Dive into Deep Learning" (d2l.ai, PyTorch edition, chapter 11:
Nadaraya-Watson kernel regression, attention scoring functions, multi-head attention,
positional encoding), size-reduced.

The idioms: Nadaraya-Watson's ``torch.sort(torch.rand(n_train) * 5)``, ``x_test.
repeat_interleave(n_train).reshape((-1, n_train))``, ``nn.functional.softmax(-(X_repeat -
x_train)**2 / 2, dim=1)``, the trainable ``nn.Parameter(torch.rand((1,), requires_grad=
True))``, ``torch.bmm(self.attention_weights.unsqueeze(1), values.unsqueeze(-1)).reshape(-1)``,
``x_train.repeat((n_train, 1))`` masked with ``(1 - torch.eye(n_train)).type(torch.bool)`` and
``nn.MSELoss(reduction='none')`` with ``l.sum().backward()``; ``masked_softmax`` (``valid_lens``
None, 1-d through ``torch.repeat_interleave(valid_lens, shape[1])`` or 2-d through
``reshape(-1)``; ``_sequence_mask``'s ``torch.arange((maxlen), dtype=torch.float32,
device=X.device)[None, :] < valid_len[:, None]`` and ``X[~mask] = value``, an in-place masked
write on a view inside the graph; ``nn.functional.softmax(X.reshape(shape), dim=-1)``);
``AdditiveAttention`` (``nn.LazyLinear(num_hiddens, bias=False)``, ``queries.unsqueeze(2) +
keys.unsqueeze(1)``, ``torch.tanh``, ``self.w_v(features).squeeze(-1)``, ``torch.bmm(
self.dropout(self.attention_weights), values)``) on d2l's ``torch.arange(40, dtype=
torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)`` values (why the run is float32);
``DotProductAttention``'s ``torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)``;
``MultiHeadAttention``'s ``transpose_qkv`` (``X.reshape(X.shape[0], X.shape[1], num_heads,
-1).permute(0, 2, 1, 3)``), ``transpose_output`` and ``torch.repeat_interleave(valid_lens,
repeats=self.num_heads, dim=0)``; ``PositionalEncoding``'s ``torch.zeros((1, max_len,
num_hiddens))`` filled by ``self.P[:, :, 0::2] = torch.sin(X)`` / ``self.P[:, :, 1::2] =
torch.cos(X)`` with ``torch.pow(10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) /
num_hiddens)`` and ``self.P[:, :X.shape[1], :].to(X.device)``; ``attention.eval()``; and a
few Adam steps of a positional-encoding + multi-head self-attention regressor.

Random draws come from NumPy; the lazy layers are materialised by a first call and then given
NumPy weights through ``load_state_dict``; dropout runs in ``eval()`` where values are compared.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

DTYPE = "float32"
RTOL, ATOL = 2e-5, 1e-6

N_TRAIN, NUM_HIDDENS, NUM_HEADS, SEQ, BATCH, STEPS = 12, 8, 2, 5, 3, 4


def init_state(tmp_path: Any) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    x_train = np.sort(rng.uniform(0, 5, N_TRAIN))
    return {
        "x_train": x_train,
        "y_train": 2 * np.sin(x_train) + x_train**0.8 + rng.normal(0, 0.5, N_TRAIN),
        "w": rng.uniform(0, 1, 1),
        "rand3": rng.uniform(0, 1, (2, 2, 4)),
        "queries": rng.standard_normal((2, 1, 20)),
        "dot_queries": rng.standard_normal((2, 1, 2)),
        "X": rng.standard_normal((BATCH, SEQ, NUM_HIDDENS)),
        "Y": rng.standard_normal((BATCH, SEQ, 1)),
        "seed": 12,
    }


def masked_softmax(torch: Any, X: Any, valid_lens: Any) -> Any:
    """Perform softmax operation by masking elements on the last axis."""
    nn = torch.nn

    # X: 3D tensor, valid_lens: 1D or 2D tensor
    def _sequence_mask(X: Any, valid_len: Any, value: float = 0) -> Any:
        maxlen = X.size(1)
        mask = (
            torch.arange((maxlen), dtype=torch.float32, device=X.device)[None, :]
            < valid_len[:, None]
        )
        X[~mask] = value
        return X

    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    shape = X.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    # On the last axis, replace masked elements with a very large negative
    # value, whose exponentiation outputs 0
    X = _sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
    return nn.functional.softmax(X.reshape(shape), dim=-1)


def make_classes(torch: Any) -> dict:
    nn = torch.nn

    class NWKernelRegression(nn.Module):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.w = nn.Parameter(torch.rand((1,), requires_grad=True))

        def forward(self, queries: Any, keys: Any, values: Any) -> Any:
            # Shape of the output `queries` and `attention_weights`:
            # (no. of queries, no. of key-value pairs)
            queries = queries.repeat_interleave(keys.shape[1]).reshape((-1, keys.shape[1]))
            self.attention_weights = nn.functional.softmax(
                -(((queries - keys) * self.w) ** 2) / 2, dim=1
            )
            # Shape of `values`: (no. of queries, no. of key-value pairs)
            return torch.bmm(self.attention_weights.unsqueeze(1), values.unsqueeze(-1)).reshape(-1)

    class AdditiveAttention(nn.Module):
        """Additive attention."""

        def __init__(self, num_hiddens: int, dropout: float, **kwargs: Any) -> None:
            super(AdditiveAttention, self).__init__(**kwargs)  # noqa: UP008 - d2l's spelling
            self.W_k = nn.LazyLinear(num_hiddens, bias=False)
            self.W_q = nn.LazyLinear(num_hiddens, bias=False)
            self.w_v = nn.LazyLinear(1, bias=False)
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries: Any, keys: Any, values: Any, valid_lens: Any) -> Any:
            queries, keys = self.W_q(queries), self.W_k(keys)
            # After dimension expansion, shape of queries: (batch_size, no. of
            # queries, 1, num_hiddens) and shape of keys: (batch_size, 1, no. of
            # key-value pairs, num_hiddens). Sum them up with broadcasting
            features = queries.unsqueeze(2) + keys.unsqueeze(1)
            features = torch.tanh(features)
            # There is only one output of self.w_v, so we remove the last
            # one-dimensional entry from the shape.
            scores = self.w_v(features).squeeze(-1)
            self.attention_weights = masked_softmax(torch, scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    class DotProductAttention(nn.Module):
        """Scaled dot product attention."""

        def __init__(self, dropout: float) -> None:
            super().__init__()
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries: Any, keys: Any, values: Any, valid_lens: Any = None) -> Any:
            d = queries.shape[-1]
            # Swap the last two dimensions of keys with keys.transpose(1, 2)
            scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
            self.attention_weights = masked_softmax(torch, scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    class MultiHeadAttention(nn.Module):
        """Multi-head attention."""

        def __init__(
            self,
            num_hiddens: int,
            num_heads: int,
            dropout: float,
            bias: bool = False,
            **kwargs: Any,
        ) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.attention = DotProductAttention(dropout)
            self.W_q = nn.LazyLinear(num_hiddens, bias=bias)
            self.W_k = nn.LazyLinear(num_hiddens, bias=bias)
            self.W_v = nn.LazyLinear(num_hiddens, bias=bias)
            self.W_o = nn.LazyLinear(num_hiddens, bias=bias)

        def forward(self, queries: Any, keys: Any, values: Any, valid_lens: Any) -> Any:
            # Shape of queries, keys, or values:
            # (batch_size, no. of queries or key-value pairs, num_hiddens)
            # After transposing, shape of output queries, keys, or values:
            # (batch_size * num_heads, no. of queries or key-value pairs,
            # num_hiddens / num_heads)
            queries = self.transpose_qkv(self.W_q(queries))
            keys = self.transpose_qkv(self.W_k(keys))
            values = self.transpose_qkv(self.W_v(values))
            if valid_lens is not None:
                # On axis 0, copy the first item (scalar or vector) for num_heads
                # times, then copy the next item, and so on
                valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
            output = self.attention(queries, keys, values, valid_lens)
            # Shape of output_concat: (batch_size, no. of queries, num_hiddens)
            output_concat = self.transpose_output(output)
            return self.W_o(output_concat)

        def transpose_qkv(self, X: Any) -> Any:
            """Transposition for parallel computation of multiple attention heads."""
            X = X.reshape(X.shape[0], X.shape[1], self.num_heads, -1)
            X = X.permute(0, 2, 1, 3)
            return X.reshape(-1, X.shape[2], X.shape[3])

        def transpose_output(self, X: Any) -> Any:
            """Reverse the operation of transpose_qkv."""
            X = X.reshape(-1, self.num_heads, X.shape[1], X.shape[2])
            X = X.permute(0, 2, 1, 3)
            return X.reshape(X.shape[0], X.shape[1], -1)

    class PositionalEncoding(nn.Module):
        """Positional encoding."""

        def __init__(self, num_hiddens: int, dropout: float, max_len: int = 1000) -> None:
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            # Create a long enough P
            self.P = torch.zeros((1, max_len, num_hiddens))
            X = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) / torch.pow(
                10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens
            )
            self.P[:, :, 0::2] = torch.sin(X)
            self.P[:, :, 1::2] = torch.cos(X)

        def forward(self, X: Any) -> Any:
            X = X + self.P[:, : X.shape[1], :].to(X.device)
            return self.dropout(X)

    return {
        "NWKernelRegression": NWKernelRegression,
        "AdditiveAttention": AdditiveAttention,
        "DotProductAttention": DotProductAttention,
        "MultiHeadAttention": MultiHeadAttention,
        "PositionalEncoding": PositionalEncoding,
    }


def _numpy_weights(torch: Any, module: Any, seed: int) -> None:
    """Give every (materialised) parameter a NumPy draw of its shape, in a fixed order."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, tensor in module.state_dict().items():
        bound = 1 / math.sqrt(tensor.shape[-1]) if tensor.dim() > 1 else 0.1
        state[name] = as_tensor(
            torch, rng.uniform(-bound, bound, tuple(tensor.shape)), dtype=torch.float32
        )
    module.load_state_dict(state)


def nadaraya_watson(torch: Any, init: dict, classes: dict) -> list[float]:
    nn = torch.nn
    n_train = N_TRAIN
    x_train, _ = torch.sort(torch.rand(n_train) * 5)
    values = [float(x_train.shape == (n_train,)), float((x_train[1:] >= x_train[:-1]).all())]
    x_train = as_tensor(torch, init["x_train"], dtype=torch.float32)
    y_train = as_tensor(torch, init["y_train"], dtype=torch.float32)
    x_test = torch.arange(0, 5, 0.5)
    n_test = len(x_test)
    X_repeat = x_test.repeat_interleave(n_train).reshape((-1, n_train))
    attention_weights = nn.functional.softmax(-((X_repeat - x_train) ** 2) / 2, dim=1)
    y_hat = torch.matmul(attention_weights, y_train)
    values += y_hat.tolist() + [float(x_test.dtype == torch.float32), float(n_test)]

    weights = torch.ones((2, 10)) * 0.1
    vals = torch.arange(20.0).reshape((2, 10))
    values += torch.bmm(weights.unsqueeze(1), vals.unsqueeze(-1)).flatten().tolist()

    X_tile = x_train.repeat((n_train, 1))
    Y_tile = y_train.repeat((n_train, 1))
    keys = X_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
    vals = Y_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
    net = classes["NWKernelRegression"]()
    with torch.no_grad():
        net.w.copy_(as_tensor(torch, init["w"]))
    loss = nn.MSELoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    for _epoch in range(3):
        trainer.zero_grad()
        l = loss(net(x_train, keys, vals), y_train)  # noqa: E741 - d2l's name
        l.sum().backward()
        trainer.step()
        values += [float(l.sum()), net.w.item()]
    keys = x_train.repeat((n_test, 1))
    vals = y_train.repeat((n_test, 1))
    y_hat = net(x_test, keys, vals).unsqueeze(1).detach()
    values += y_hat.flatten().tolist() + list(net.attention_weights.shape)
    return values


def scoring(torch: Any, init: dict, classes: dict) -> list[float]:
    rand = as_tensor(torch, init["rand3"], dtype=torch.float32)
    values = masked_softmax(torch, rand.clone(), torch.tensor([2, 3])).flatten().tolist()
    values += masked_softmax(torch, rand.clone(), torch.tensor([[1, 3], [2, 4]])).flatten().tolist()
    values += masked_softmax(torch, rand.clone(), None).flatten().tolist()

    queries = as_tensor(torch, init["queries"], dtype=torch.float32)
    keys = torch.ones((2, 10, 2))
    vals = torch.arange(40, dtype=torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)
    valid_lens = torch.tensor([2, 6])
    attention = classes["AdditiveAttention"](num_hiddens=8, dropout=0.1)
    attention.eval()
    out = attention(queries, keys, vals, valid_lens)
    _numpy_weights(torch, attention, 21)
    out = attention(queries, keys, vals, valid_lens)
    values += list(out.shape) + out.flatten().tolist()
    values += attention.attention_weights.flatten().tolist()

    queries = as_tensor(torch, init["dot_queries"], dtype=torch.float32)
    attention = classes["DotProductAttention"](dropout=0.5)
    attention.eval()
    out = attention(queries, keys, vals, valid_lens)
    values += out.flatten().tolist() + attention.attention_weights.flatten().tolist()
    attention.train()
    torch.manual_seed(0)
    dropped = attention(queries, keys, vals, valid_lens)
    values += [float(dropped.shape == out.shape)]
    return values


def multi_head(torch: Any, init: dict, classes: dict) -> list[float]:
    num_hiddens, num_heads = NUM_HIDDENS, NUM_HEADS
    attention = classes["MultiHeadAttention"](num_hiddens, num_heads, 0.5)
    batch_size, num_queries, num_kvpairs = 2, 4, 6
    valid_lens = torch.tensor([3, 2])
    X = torch.ones((batch_size, num_queries, num_hiddens))
    Y = torch.ones((batch_size, num_kvpairs, num_hiddens))
    attention.eval()
    values = list(attention(X, Y, Y, valid_lens).shape)
    _numpy_weights(torch, attention, 31)
    Xr = as_tensor(torch, init["X"], dtype=torch.float32)[:2, :num_queries]
    out = attention(Xr, Y, Y, valid_lens)
    values += out.flatten().tolist() + list(attention.attention.attention_weights.shape)
    values += list(attention.transpose_qkv(Y).shape)
    values += list(attention.transpose_output(attention.transpose_qkv(Y)).shape)

    encoding_dim, num_steps = 8, 10
    pos_encoding = classes["PositionalEncoding"](encoding_dim, 0)
    X = pos_encoding(torch.zeros((1, num_steps, encoding_dim)))
    P = pos_encoding.P[:, : X.shape[1], :]
    values += P[0, :, 2:6].flatten().tolist() + [float(P.dtype == torch.get_default_dtype())]
    return values


def training(torch: Any, init: dict, classes: dict) -> list[float]:
    nn = torch.nn

    class Regressor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos_encoding = classes["PositionalEncoding"](NUM_HIDDENS, 0.0, max_len=50)
            self.attention = classes["MultiHeadAttention"](NUM_HIDDENS, NUM_HEADS, 0.0)
            self.ln = nn.LayerNorm(NUM_HIDDENS)
            self.head = nn.LazyLinear(1)

        def forward(self, X: Any, valid_lens: Any) -> Any:
            X = self.pos_encoding(X * math.sqrt(NUM_HIDDENS))
            Y = self.ln(self.attention(X, X, X, valid_lens) + X)
            return self.head(Y)

    net = Regressor()
    X = as_tensor(torch, init["X"], dtype=torch.float32)
    Y = as_tensor(torch, init["Y"], dtype=torch.float32)
    valid_lens = torch.tensor([5, 3, 4])
    net(X, valid_lens)
    _numpy_weights(torch, net, init["seed"])
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    loss = nn.MSELoss()
    values = []
    for _step in range(STEPS):
        optimizer.zero_grad()
        l = loss(net(X, valid_lens), Y)  # noqa: E741
        l.backward()
        optimizer.step()
        values += [l.item(), float(net.attention.W_q.weight.grad.norm())]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    classes = make_classes(torch_like)
    with warnings.catch_warnings():  # d2l's animator.add(epoch + 1, float(l.sum()))
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
        values = nadaraya_watson(torch_like, init, classes)
    values += scoring(torch_like, init, classes)
    return values + multi_head(torch_like, init, classes) + training(torch_like, init, classes)
