"""How ``cr.export`` records ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``: as one call of the raw
loop function (``chainrule.lstm(input, hx, params, has_biases, num_layers, dropout, train,
bidirectional, batch_first)``, torch's ``aten.lstm.input``), with the zero initial states
recorded as ``chainrule.zeros`` nodes when ``hx`` is not given, as torch's export graph has
them. The program then holds functions only, so it can be saved and loaded, and a dynamic
batch size reaches the initial states.

Unbatched (2-D) input and packed sequences stay one ``call_module`` node of the layer.
"""

from __future__ import annotations

import inspect
from typing import Any

import chainrule

from .. import nn
from ..autograd.tensor import Tensor
from ..fx.proxy import Proxy

__all__ = ["record_recurrent"]

# the functions are read from ``chainrule`` at each call: the graph names its public
# functions, which become __torch_function__ wrappers once a Tensor subclass is defined
_LOOPS = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


def record_recurrent(tracer: Any, m: nn.RNNBase, args: tuple, kwargs: dict) -> Any:
    """The traced result of ``m(*args, **kwargs)`` recorded as its raw loop function, or
    None where the layer stays one ``call_module`` node (see the module docstring)."""
    bound = inspect.signature(m.forward).bind(*args, **kwargs)
    x, hx = bound.arguments.get("input"), bound.arguments.get("hx")
    val = x.node.meta.get("val") if isinstance(x, Proxy) else None
    if not isinstance(val, Tensor) or val.dim() != 3:
        return None
    if m.mode == "LSTM" and hx is not None and not isinstance(hx, (tuple, list)):
        return None  # the layer's own error for a tensor hx
    if hx is None:
        rows = m.num_layers * (2 if m.bidirectional else 1)
        batch = x.size(0 if m.batch_first else 1)
        hx = [
            tracer.create_proxy(
                "call_function", chainrule.zeros, (rows, batch, s), {"dtype": val.dtype}
            )
            for s in m._state_sizes()
        ]
        hx = hx if m.mode == "LSTM" else hx[0]
    elif m.mode == "LSTM":
        hx = list(hx)
    out = tracer.create_proxy(
        "call_function",
        getattr(chainrule, _LOOPS[m.mode]),
        (
            x,
            hx,
            list(m._flat_weights),
            m.bias,
            m.num_layers,
            float(m.dropout),
            m.training,
            m.bidirectional,
            m.batch_first,
        ),
        {},
    )
    return (out[0], (out[1], out[2])) if m.mode == "LSTM" else (out[0], out[1])
