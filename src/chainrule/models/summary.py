"""``summary(model, input_size)``: a torchinfo-style table of a model's layers.

For each module it records, through forward hooks during one forward pass (no autograd
recording): the output shape, its own parameter count, its multiply-accumulates and the
bytes of its output activation. MACs are counted the way torchvision's published
"GFLOPS" are: convolutions (k_h k_w C_in/groups per output element), transposed
convolutions (per input element), linear layers (in x out per row) and recurrent layers
(each weight matrix once per time step of each sequence), and attention (Q K^T and P V:
L S (E + Ev) per score matrix, counted for the module that calls it, e.g. a
``MultiheadAttention`` or a GPT block's attention); elementwise layers, BatchNorm and
pooling count 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..ops.attention import ATTENTION_OBSERVERS


@dataclass
class LayerInfo:
    name: str
    kind: str
    depth: int
    output_shape: tuple
    params: int
    macs: int
    activation_bytes: int


@dataclass
class ModelSummary:
    """Result of :func:`summary`; ``str()`` (or ``print``) gives the table."""

    layers: list = field(default_factory=list)
    input_size: tuple = ()
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    activation_bytes: int = 0
    param_bytes: int = 0
    input_bytes: int = 0

    def __str__(self) -> str:
        rows = [("Layer (type)", "Output shape", "Param #", "MACs", "Act. memory")]
        for li in self.layers:
            rows.append(
                (
                    ("  " * li.depth) + f"{li.name} ({li.kind})",
                    str(list(li.output_shape)),
                    f"{li.params:,}" if li.params else "--",
                    f"{li.macs:,}" if li.macs else "--",
                    _mb(li.activation_bytes),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        line = "=" * (sum(widths) + 8)

        def fmt(r):
            return "  ".join(
                [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
            )

        out = [line, fmt(rows[0]), line] + [fmt(r) for r in rows[1:]] + [line]
        out += [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.total_params - self.trainable_params:,}",
            f"Total mult-adds (G): {self.total_macs / 1e9:.3f}",
            line,
            f"Input size (MB): {self.input_bytes / 1e6:.2f}",
            f"Forward activations (MB): {self.activation_bytes / 1e6:.2f}",
            f"Params size (MB): {self.param_bytes / 1e6:.2f}",
            (
                f"Estimated total size (MB): "
                f"{(self.input_bytes + self.activation_bytes + self.param_bytes) / 1e6:.2f}"
            ),
            line,
        ]
        return "\n".join(out)

    __repr__ = __str__


def _mb(b: int) -> str:
    return f"{b / 1e6:.2f} MB" if b else "--"


def _macs(m: nn.Module, inp: tuple, out: Tensor) -> int:
    if isinstance(m, (nn.Conv1d, nn.Conv2d)) and not m._transposed:
        k = int(np.prod(m.weight.shape[1:]))
        return int(out.numel()) * k
    if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        x = inp[0]
        return int(x.numel()) * int(np.prod(m.weight.shape[1:]))
    if isinstance(m, nn.Linear):
        return int(out.numel()) * int(m.weight.shape[1])
    if isinstance(m, nn.MultiheadAttention):
        # its projections run as functions on its own weights (out_proj's forward is not
        # called): q, k, v projections and the output projection, once per row
        q, k, v = inp[:3]
        e = m.embed_dim
        rows = [int(t.numel()) // int(t.shape[-1]) for t in (q, k, v)]
        return rows[0] * e * e * 2 + rows[1] * m.kdim * e + rows[2] * m.vdim * e
    if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
        # every weight matrix (W_ih, W_hh, W_hr of each layer and direction) once per step
        # of each sequence; the gate nonlinearities are elementwise and count 0
        x = inp[0]
        x = x._data if isinstance(x, nn.utils.rnn.PackedSequence) else x
        rows = int(x.numel()) // int(x.shape[-1])
        return rows * sum(int(p.numel()) for p in m.parameters() if p.ndim == 2)
    return 0


def summary(
    model: nn.Module,
    input_size: Any,
    dtype: Any = None,
    depth: int = 3,
    input_data: Tensor | None = None,
) -> ModelSummary:
    """Run one forward pass of ``model`` on zeros of ``input_size`` and tabulate its layers.

    Args:
        model: the module (its train/eval mode is kept; the pass records no graph).
        input_size: full input shape including the batch, e.g. (1, 3, 224, 224).
        dtype: input dtype (default: the dtype of the model's first parameter).
        depth: deepest module nesting level shown in the table (totals count everything).
        input_data: a tensor to use instead of zeros.

    Returns:
        A :class:`ModelSummary`; print it for the table, or read ``total_params``,
        ``total_macs``, ``activation_bytes`` and ``layers``.
    """
    params = list(model.parameters())
    if input_data is None:
        if dtype is None:
            dtype = params[0].dtype if params else np.float32
        input_data = Tensor._make(np.zeros(tuple(input_size), dtype=dtype), False, None, 0)
    records: list = []
    handles = []
    names = {}
    for name, m in model.named_modules():
        if m is model:
            continue
        names[id(m)] = (name, name.count(".") + 1)

    running: list = []  # modules whose forward is in progress, innermost last
    attn_macs: dict = {}

    def pre_hook(m, inp):
        running.append(id(m))
        attn_macs[id(m)] = 0

    def observe_attention(batch, L, S, E, Ev):  # noqa: N803 - the usual names
        if running:
            attn_macs[running[-1]] += batch * L * S * (E + Ev)

    def hook(m, inp, out):
        if running and running[-1] == id(m):
            running.pop()
        o = out[0] if isinstance(out, (tuple, list)) else out
        name, d = names[id(m)]
        own = sum(int(p.numel()) for p in m.parameters(recurse=False))
        leaf = not any(True for _ in m.children())
        counted = leaf or isinstance(m, nn.MultiheadAttention)
        macs = (_macs(m, inp, o) if counted else 0) + attn_macs.pop(id(m), 0)
        act = int(o.numel()) * o._data.itemsize if leaf and isinstance(o, Tensor) else 0
        records.append(
            (
                name,
                type(m).__name__,
                d,
                tuple(o.shape) if isinstance(o, Tensor) else (),
                own,
                macs,
                act,
            )
        )

    for m in model.modules():
        if m is not model:
            handles.append(m.register_forward_pre_hook(pre_hook))
            handles.append(m.register_forward_hook(hook))
    ATTENTION_OBSERVERS.append(observe_attention)
    try:
        with no_grad():
            model(input_data)
    finally:
        ATTENTION_OBSERVERS.remove(observe_attention)
        for h in handles:
            h.remove()
    res = ModelSummary(input_size=tuple(input_data.shape))
    res.total_params = sum(int(p.numel()) for p in params)
    res.trainable_params = sum(int(p.numel()) for p in params if p.requires_grad)
    res.param_bytes = sum(int(p.numel()) * p._data.itemsize for p in params)
    res.input_bytes = int(input_data.numel()) * input_data._data.itemsize
    # hooks fire child-first; show parents before their children (pre-order by first call)
    order = {name: i for i, (name, _) in enumerate(model.named_modules())}
    seen = set()
    for rec in sorted(records, key=lambda r: order.get(r[0], 0)):
        res.total_macs += rec[5]
        res.activation_bytes += rec[6]
        if rec[2] <= depth and rec[0] not in seen:
            res.layers.append(LayerInfo(*rec))
        seen.add(rec[0])
    return res
