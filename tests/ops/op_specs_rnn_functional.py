"""Op specs for the raw top-level functions of ``ops/raw_functional.py`` (and the modules it
gathers): the recurrent cells (``torch.lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``,
``rnn_relu_cell``), the stacked loops (``torch.lstm``, ``gru``, ``rnn_tanh``, ``rnn_relu``, both
overloads), ``convolution``, ``grid_sampler``, ``affine_grid_generator`` and
``norm_except_dim`` and ``_weight_norm``; appended to the central table in tests/ops/op_specs.py.

Every tensor argument is a spec input (weights and biases included), so values and gradients
are compared with PyTorch for all of them. The loops take the flat ``params`` list built from
the inputs in PyTorch's order. PyTorch has no forward mode for these; the ``jvp`` check
compares chainrule's forward mode with its own reverse mode.
"""

from __future__ import annotations

import numpy as np
import torch

from .op_specs import NO_GG, OpSpec, const, lib

__all__ = ["SPECS"]

_B, _I, _H, _T = 2, 3, 2, 3  # batch, input size, hidden size, steps


def _cell(name: str, gates: int, lstm: bool, biases: bool) -> OpSpec:
    def fn(x, h, *rest):
        if lstm:
            c, *rest = rest
            hx = (h, c)
        else:
            hx = h
        return getattr(lib(x), name)(x, hx, *rest)

    shapes = [(_B, _I), (_B, _H)] + [(_B, _H)] * lstm + [(gates * _H, _I), (gates * _H, _H)]
    shapes += [(gates * _H,), (gates * _H,)] * biases
    return OpSpec(f"raw_{name}{'' if biases else '_nobias'}", fn, (tuple(shapes),))


def _loop(name: str, gates: int, layers: int, bidirectional: bool, **kw) -> OpSpec:
    """A spec for ``torch.<name>`` with ``layers`` layers; kw: biases, proj, batch_first,
    packed (then the batch sizes [2, 2, 1] over the padded layout's 5 rows)."""
    biases, proj = kw.get("biases", True), kw.get("proj", 0)
    batch_first, packed = kw.get("batch_first", False), kw.get("packed", False)
    lstm = name == "lstm"
    dirs = 2 if bidirectional else 1
    real = proj or _H
    per = 2 + 2 * biases + (proj > 0)
    sizes = [2, 2, 1]

    def fn(x, h, *rest):
        if lstm:
            c, *params = rest
            hx = (h, c)
        else:
            hx, params = h, list(rest)
        flags = (biases, layers, 0.0, False, bidirectional)
        if packed:
            return getattr(lib(x), name)(x, const(x, np.array(sizes)), hx, params, *flags)
        return getattr(lib(x), name)(x, hx, params, *flags, batch_first)

    x = (sum(sizes), _I) if packed else ((_B, _T, _I) if batch_first else (_T, _B, _I))
    shapes = [x, (layers * dirs, _B, real)] + [(layers * dirs, _B, _H)] * lstm
    for layer in range(layers):
        layer_in = _I if layer == 0 else real * dirs
        group = [(gates * _H, layer_in), (gates * _H, real)]
        group += [(gates * _H,), (gates * _H,)] * biases + [(proj, _H)] * (proj > 0)
        assert len(group) == per
        shapes += group * dirs
    tag = "".join(
        [
            f"_l{layers}",
            "_bi" if bidirectional else "",
            "" if biases else "_nobias",
            f"_proj{proj}" if proj else "",
            "_bf" if batch_first else "",
            "_packed" if packed else "",
        ]
    )
    return OpSpec(f"raw_{name}{tag}", fn, (tuple(shapes),))


def _conv(tag: str, transposed: bool, x: tuple, w: tuple, args: tuple) -> OpSpec:
    stride, padding, dilation, output_padding, groups = args

    def fn(x, w, b):
        return lib(x).convolution(
            x, w, b, stride, padding, dilation, transposed, output_padding, groups
        )

    bias = (w[1] * groups,) if transposed else (w[0],)
    return OpSpec(f"raw_convolution_{tag}", fn, ((x, w, bias),))


_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}

SPECS: list = (
    [
        _cell(f"{name}_cell", _GATES[name], name == "lstm", biases)
        for name in _GATES
        for biases in (True, False)
    ]
    + [_loop(name, _GATES[name], 2, False) for name in _GATES]
    + [_loop(name, _GATES[name], 1, True, packed=True) for name in _GATES]
    + [
        _loop("lstm", 4, 1, True, batch_first=True),
        _loop("lstm", 4, 2, False, biases=False, proj=1),
        _loop("lstm", 4, 1, False, proj=1, packed=True),
        _loop("gru", 3, 2, True, batch_first=True, biases=False),
        _loop("rnn_tanh", 1, 1, True, batch_first=True),
    ]
    + [
        _conv("1d", False, (2, 4, 7), (4, 2, 3), ([2], [1], [1], [0], 2)),
        _conv("2d", False, (2, 2, 5, 4), (3, 2, 2, 3), ([1, 2], [1, 0], [2, 1], [0, 0], 1)),
        _conv("2d_transposed", True, (2, 2, 3, 4), (2, 3, 2, 2), ([2], [1], [1], [1], 1)),
        _conv("3d", False, (1, 2, 3, 4, 3), (2, 1, 2, 2, 2), ([1], [1, 0, 1], [1], [0], 2)),
        _conv(
            "3d_transposed", True, (1, 2, 2, 2, 3), (2, 1, 2, 1, 2), ([1, 2, 1], [0], [1], [0], 1)
        ),
    ]
    + [
        OpSpec(
            f"raw_grid_sampler_{mode}_{padding}",
            lambda x, g, mode=mode, padding=padding: lib(x).grid_sampler(
                x, g, mode, padding, bool(padding % 2)
            ),
            (((2, 3, 4, 5), (2, 3, 6, 2)),),
            # the second derivative is F.grid_sample's, checked by its own specs (slow: ~12 s)
            checks=NO_GG,
        )
        for mode in (0, 1, 2)
        for padding in (0, 1, 2)
    ]
    + [
        OpSpec(
            "raw_grid_sampler_2d",
            lambda x, g: lib(x).grid_sampler_2d(x, g, 2, 2, False),
            (((1, 2, 3, 3), (1, 2, 2, 2)),),
        ),
        OpSpec(
            "raw_affine_grid_generator_2d",
            lambda t: lib(t).affine_grid_generator(t, [2, 3, 4, 5], False),
            (((2, 2, 3),),),
        ),
        OpSpec(
            "raw_affine_grid_generator_3d",
            lambda t: lib(t).affine_grid_generator(t, (2, 1, 3, 4, 2), True),
            (((2, 3, 4),),),
        ),
    ]
    + [
        OpSpec(
            f"raw_norm_except_dim_p{p}_d{d}",
            lambda v, p=p, d=d: lib(v).norm_except_dim(v, p, d),
            (((3, 4, 5),), ((4,),)) if d in (0, -1) else (((3, 4, 5),),),
            domain="nokink",
        )
        for p, d in ((2, 0), (2, 1), (2, -1), (3, 2), (1, 0), (2, -2))
    ]
    + [
        OpSpec(
            f"raw_weight_norm_d{d}",
            lambda v, g, d=d: lib(v)._weight_norm(v, g, d),
            (((3, 4, 5), g_shape),),
            domain="nokink",
            # PyTorch's fused kernel aborts the process on a g that does not fit (the bad-input
            # mutations); its composite form, the same values and derivatives, raises instead
            torch_fn=lambda v, g, d=d: v * (g / torch.norm_except_dim(v, 2, d)),
        )
        for d, g_shape in (
            (0, (3, 1, 1)),
            (1, (1, 4, 1)),
            (2, (1, 1, 5)),
            (-1, ()),
            (-2, (1, 4, 1)),
        )
    ]
)
