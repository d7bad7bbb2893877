"""PyTorch's raw recurrent loops ``torch.lstm``, ``gru``, ``rnn_tanh`` and ``rnn_relu``: the
stacked (bidirectional) networks of ``nn.LSTM``/``GRU``/``RNN`` with explicit weights, in both
of PyTorch's overloads (padded input, or a packed sequence's data and batch sizes).

They run ``run_layers`` of ``nn/layers/_recurrent_loop.py``, the code path of the nn layers,
so results, gradients, forward mode and double backward are the layers'. PyTorch checks
little here (a wrong ``params`` count reads the weights wrongly or crashes the process);
chainrule checks the flags, the params count and every weight's shape, the states and the
dtypes, and raises naming the op, what it got and what it expects.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, overload

from ..autograd.tensor import Tensor
from ._raw_checks import need_floating, need_tensor, same_dtype, shape_of

__all__ = ["gru", "lstm", "rnn_relu", "rnn_tanh"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_OP = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


def _check_flag(op: str, name: str, value: Any, kind: type) -> None:
    ok = isinstance(value, bool) if kind is bool else isinstance(value, int)
    if not ok or (kind is int and isinstance(value, bool)):
        raise TypeError(
            f"{op}(): argument '{name}' must be {kind.__name__}, not {type(value).__name__}"
        )


def _layer_weights(op: str, params: Any, has_biases: bool, proj: bool, count: int) -> list[tuple]:
    """The flat ``params`` (w_ih, w_hh[, b_ih, b_hh][, w_hr] per layer and direction, PyTorch's
    order) as ``run_layers``'s (w_ih, w_hh, b_ih, b_hh, w_hr) tuples."""
    if not isinstance(params, (list, tuple)) or not all(isinstance(p, Tensor) for p in params):
        raise TypeError(
            f"{op}(): argument 'params' must be a list or tuple of Tensors, got "
            f"{type(params).__name__}"
        )
    per = 2 + 2 * has_biases + proj
    names = "w_ih, w_hh" + (", b_ih, b_hh" if has_biases else "") + (", w_hr" if proj else "")
    if len(params) != per * count:
        raise RuntimeError(
            f"{op}: expected {per * count} params ({per} per layer and direction: {names}; "
            f"{count} layer-directions), got {len(params)}"
        )
    out = []
    for k in range(count):
        group = list(params[k * per : (k + 1) * per])
        w_hr = group.pop() if proj else None
        b_ih, b_hh = (group[2], group[3]) if has_biases else (None, None)
        out.append((group[0], group[1], b_ih, b_hh, w_hr))
    return out


def _check_weights(
    op: str, weights: list[tuple], gate_size: int, sizes: tuple, input_size: int, dirs: int
) -> None:
    """Every weight's shape against the network's sizes: (hidden, proj or 0)."""
    hidden, proj = sizes
    real = proj or hidden
    per = sum(w is not None for w in weights[0])
    for k, group in enumerate(weights):
        layer_in = input_size if k < dirs else real * dirs
        expected = ((gate_size, layer_in), (gate_size, real), (gate_size,), (gate_size,))
        expected += ((proj, hidden),)
        for j, (name, w, shape) in enumerate(
            zip(("w_ih", "w_hh", "b_ih", "b_hh", "w_hr"), group, expected)
        ):
            if w is not None and tuple(w.shape) != shape:
                index = k * per + (j if j < 4 or per == 5 else 2)
                raise RuntimeError(
                    f"{op}: params[{index}] ({name} of layer {k // dirs}"
                    f"{', reverse' if k % dirs else ''}) must have shape {list(shape)}, got "
                    f"{list(w.shape)}"
                )


def _run(mode: str, a: dict, packed: bool) -> tuple:
    """Validate the arguments ``a`` (by name) of either overload and run ``run_layers``."""
    from ..nn.layers._recurrent_loop import run_layers  # in here: nn imports ops

    op = _OP[mode]
    for name in ("has_biases", "train", "bidirectional") + (() if packed else ("batch_first",)):
        _check_flag(op, name, a[name], bool)
    _check_flag(op, "num_layers", a["num_layers"], int)
    if a["num_layers"] < 1:
        raise RuntimeError(f"{op}: num_layers must be at least 1, got {a['num_layers']}")
    dropout = a["dropout"]
    if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool):
        raise TypeError(f"{op}(): argument 'dropout' must be float, not {type(dropout).__name__}")
    if a["train"] and dropout != 0 and a["num_layers"] > 1 and not 0 <= dropout <= 1:
        raise RuntimeError(
            f"{op}: dropout probability has to be between 0 and 1, but got {dropout}"
        )
    x = a["data"] if packed else a["input"]
    need_tensor(op, "data" if packed else "input", x, 2 if packed else 3)
    hx = a["hx"]
    if mode == "LSTM":
        if not isinstance(hx, (tuple, list)) or not all(isinstance(s, Tensor) for s in hx):
            raise TypeError(f"lstm(): argument 'hx' must be a tuple of Tensors, not {shape_of(hx)}")
        if len(hx) != 2:
            raise RuntimeError(f"lstm expects two hidden states, got {len(hx)}")
        states = tuple(hx)
    else:
        need_tensor(op, "hx", hx)
        states = (hx,)
    for k, s in enumerate(states):
        need_tensor(op, f"hx[{k}]" if mode == "LSTM" else "hx", s, 3)
    dirs = 2 if a["bidirectional"] else 1
    hidden = states[-1].shape[2]
    proj = states[0].shape[2] if mode == "LSTM" and states[0].shape[2] != hidden else 0
    count = a["num_layers"] * dirs
    weights = _layer_weights(op, a["params"], a["has_biases"], proj > 0, count)
    _check_weights(op, weights, _GATES[mode] * hidden, (hidden, proj), x.shape[-1], dirs)

    if packed:
        sizes = _batch_sizes(op, a["batch_sizes"], x.shape[0])
        rows = x
    else:
        if a["batch_first"]:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise RuntimeError(f"{op}: Expected sequence length to be larger than 0 in RNN")
        sizes = [x.shape[1]] * x.shape[0]
        rows = x.reshape(x.shape[0] * x.shape[1], x.shape[2])
    for k, (s, size) in enumerate(zip(states, [proj or hidden, hidden])):
        expected = (count, sizes[0], size)
        if tuple(s.shape) != expected:
            what = f"hidden[{k}]" if mode == "LSTM" else "hidden"
            raise RuntimeError(f"{op}: Expected {what} size {expected}, got {list(s.shape)}")
    named = [("input", x), *((f"hx[{k}]", s) for k, s in enumerate(states))]
    named += [(f"params[{k}]", p) for k, p in enumerate(a["params"])]
    if mode != "RNN_RELU":  # as PyTorch: an integer relu network computes in integers
        need_floating(op, named)
    same_dtype(op, named)

    out, finals = run_layers(
        mode, rows, sizes, states, weights, a["num_layers"], a["bidirectional"], dropout, a["train"]
    )
    if not packed:
        out = out.reshape(x.shape[0], x.shape[1], out.shape[-1])
        if a["batch_first"]:
            out = out.transpose(0, 1)
    return (out, *finals)


def _batch_sizes(op: str, batch_sizes: Any, rows: int) -> list[int]:
    """A packed sequence's batch sizes as ints: positive, non-increasing, summing to ``rows``."""
    need_tensor(op, "batch_sizes", batch_sizes, 1)
    if batch_sizes._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: batch_sizes must be an integer tensor, got {batch_sizes.dtype}")
    sizes = [int(b) for b in batch_sizes.tolist()]
    if not sizes:
        raise RuntimeError(f"{op}: Expected sequence length to be larger than 0 in RNN")
    if sizes[-1] < 1 or any(b < n for b, n in zip(sizes, sizes[1:])) or sum(sizes) != rows:
        raise RuntimeError(
            f"{op}: batch_sizes must be positive and non-increasing and sum to the number of "
            f"rows of data ({rows}), got {sizes}"
        )
    return sizes


def _params(*names: str) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(n, kind) for n in names])


_TAIL = ("params", "has_biases", "num_layers", "dropout", "train", "bidirectional")
_PADDED = _params("input", "hx", *_TAIL, "batch_first")
_PACKED = _params("data", "batch_sizes", "hx", *_TAIL)


def _dispatch(mode: str, args: tuple, kwargs: dict) -> tuple:
    """Pick PyTorch's overload: (input, hx, params, ..., batch_first) or a packed sequence's
    (data, batch_sizes, hx, params, ...); the packed one has a Tensor where the padded one has
    hx (LSTM: a tuple) or params (a list)."""
    at = 1 if mode == "LSTM" else 2
    packed = "data" in kwargs or "batch_sizes" in kwargs
    if not packed and "input" not in kwargs and len(args) > at:
        packed = isinstance(args[at], Tensor)
    signature = _PACKED if packed else _PADDED
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{_OP[mode]}(): {e}; expected {_OP[mode]}{signature}") from None
    return _run(mode, bound.arguments, packed)


_DOC = """{what}, PyTorch's ``torch.{op}``: the stacked (bidirectional) network of ``nn.{nn}``
with explicit weights; returns {returns}.

Two overloads, as PyTorch's:

* ``{op}(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
  batch_first)``: input (T, B, I) ((B, T, I) with ``batch_first``);
* ``{op}(data, batch_sizes, hx, params, has_biases, num_layers, dropout, train,
  bidirectional)``: a packed sequence's data (N, I) and batch sizes (sorted longest first).

``hx`` is {hx}, each (num_layers * D, B, ·), D = 2 if bidirectional. ``params`` is the flat
list w_ih, w_hh[, b_ih, b_hh]{proj} per layer and direction (layer-major, reverse after
forward), as ``nn.{nn}._flat_weights``. ``dropout`` applies to each layer's output but the
last when ``train``.
"""


_H = TypeVar("_H", contravariant=True)  # hx: a pair of tensors (LSTM) or one tensor
_R = TypeVar("_R", covariant=True)  # the result: (output, h_n, c_n) or (output, h_n)


class _Network(Protocol[_H, _R]):
    """The call of ``lstm``, ``gru``, ``rnn_tanh`` and ``rnn_relu``: PyTorch's two overloads,
    padded input or a packed sequence's data and batch sizes (for type checkers; the call
    itself takes ``*args, **kwargs`` and :func:`_dispatch` picks the overload)."""

    @overload
    def __call__(
        self,
        input: Tensor,
        hx: _H,
        params: Sequence[Tensor],
        has_biases: bool,
        num_layers: int,
        dropout: float,
        train: bool,
        bidirectional: bool,
        batch_first: bool,
    ) -> _R: ...
    @overload
    def __call__(
        self,
        data: Tensor,
        batch_sizes: Tensor,
        hx: _H,
        params: Sequence[Tensor],
        has_biases: bool,
        num_layers: int,
        dropout: float,
        train: bool,
        bidirectional: bool,
    ) -> _R: ...


def _network(mode: str, **doc: str) -> Any:
    """The public function of network ``mode`` (named as PyTorch's op), documented from
    :data:`_DOC` with ``doc``."""

    def network(*args: Any, **kwargs: Any) -> tuple:
        return _dispatch(mode, args, kwargs)

    network.__name__ = network.__qualname__ = _OP[mode]
    network.__doc__ = _DOC.format(op=_OP[mode], **doc)
    return network


_ELMAN = dict(returns="(output, h_n)", hx="h_0", proj="", nn="RNN")
lstm: _Network[Sequence[Tensor], tuple[Tensor, Tensor, Tensor]] = _network(
    "LSTM",
    what="A long short-term memory network",
    nn="LSTM",
    returns="(output, h_n, c_n)",
    hx="(h_0, c_0) (h_0 narrower than c_0 means projections: proj_size = h_0's last size)",
    proj="[, w_hr]",
)
gru: _Network[Tensor, tuple[Tensor, Tensor]] = _network(
    "GRU", what="A gated recurrent unit network", **{**_ELMAN, "nn": "GRU"}
)
rnn_tanh: _Network[Tensor, tuple[Tensor, Tensor]] = _network(
    "RNN_TANH", what="An Elman network with tanh", **_ELMAN
)
rnn_relu: _Network[Tensor, tuple[Tensor, Tensor]] = _network(
    "RNN_RELU", what="An Elman network with relu", **_ELMAN
)
