"""Session 40: ``cr.fx.symbolic_trace`` and ``cr.export.export`` of more small modules
written with common idioms not covered by ``test_idioms_session39.py`` (F.pad and roll, a
causal-mask buffer, a hand-written layer norm, scaled_dot_product_attention, sort and
gather, one_hot, repeat_interleave and logsumexp, dropout keyed on ``self.training``,
bmm/baddbmm, full_like/new_ones/clamp, ``torch.functional`` functions, layers reached with
``getattr``), against torch 2.13 (live): the traced code is torch's with ``torch.`` spelled
``chainrule.``; the export has torch's inputs, module stacks and values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr

from .test_idioms_session39 import _stacks


def build(lib, kind):
    nn, F = lib.nn, lib.nn.functional

    class Idiom(nn.Module):
        def __init__(self):
            super().__init__()
            if kind in ("causal_mask", "causal_mask_traced_size"):
                self.register_buffer("mask", lib.tril(lib.ones(4, 4)))
            if kind == "layer_norm_by_hand":
                self.gain = nn.Parameter(lib.ones(4) * 1.5)
            if kind == "one_hot":
                self.table = nn.Parameter(lib.arange(16.0).reshape(4, 4) / 10)
            if kind == "getattr_layers":
                for i in range(2):
                    setattr(self, f"layer{i}", nn.Linear(4, 4))
            if kind == "dropout_training":
                self.lin = nn.Linear(4, 4)

        def forward(self, x):
            if kind == "pad_roll":
                return F.pad(x, (1, 1), value=0.5)[:, 1:-1] + x.roll(1, -1)
            if kind == "causal_mask":
                scores = x[:, :, None] * x[:, None, :] / math.sqrt(4)
                return scores.masked_fill(self.mask[:4, :4] == 0, float("-inf")).softmax(-1)
            if kind == "causal_mask_traced_size":  # a buffer sliced by a traced size
                n = x.size(-1)
                return x.masked_fill(self.mask[:n, :n] == 0, 0.0)
            if kind == "layer_norm_by_hand":
                mean = x.mean(-1, keepdim=True)
                var = x.var(-1, keepdim=True, unbiased=False)
                return (x - mean) * lib.rsqrt(var + 1e-5) * self.gain
            if kind == "sdpa":
                q = x[None].expand(2, -1, -1)
                return F.scaled_dot_product_attention(q, q * 2, q + 1, is_causal=True)
            if kind == "sort_gather":
                values, order = x.sort(-1, descending=True)
                return values - lib.gather(x, 1, order.flip(-1))
            if kind == "one_hot":
                return F.one_hot(x.argmax(-1), 4).float() @ self.table
            if kind == "repeat_logsumexp":
                return x.repeat_interleave(2, dim=0).logsumexp(-1, keepdim=True) + x.sum()
            if kind == "dropout_training":
                return F.dropout(self.lin(x), 0.25, self.training) + F.dropout1d(x, 0.1, False)
            if kind == "bmm":
                b = x[None].expand(2, 3, 4)
                return lib.baddbmm(b.new_ones(2, 3, 3), b, b.transpose(1, 2)) + lib.bmm(
                    b, b.transpose(1, 2)
                )
            if kind == "factory_in_forward":
                return x + lib.ones(3, 4)
            if kind == "full_like_clamp":
                y = lib.full_like(x, 2.0) + x.new_ones(x.shape)
                return F.silu(y * x).clamp(min=-1.0, max=1.5)
            if kind == "functional_module":
                a, b = lib.split(x, [1, 3], dim=1)
                return lib.einsum("bi,bj->bij", a, b).flatten(1) + lib.norm(x)
            if kind == "getattr_layers":
                for i in range(2):
                    x = F.normalize(getattr(self, f"layer{i}")(x), dim=-1)
                return x
            raise AssertionError(kind)

    return Idiom()


KINDS = [
    "pad_roll",
    "causal_mask",
    "layer_norm_by_hand",
    "sdpa",
    "sort_gather",
    "one_hot",
    "repeat_logsumexp",
    "dropout_training",
    "bmm",
    "full_like_clamp",
    "functional_module",
    "getattr_layers",
]


def _code(lib, kind):
    code = lib.fx.symbolic_trace(build(lib, kind)).code
    return code.replace("torch.", "LIB.").replace("chainrule.", "LIB.")


@pytest.mark.parametrize("kind", KINDS)
def test_traced_code_as_torchs(kind):
    assert _code(cr, kind) == _code(torch, kind)


def _pair(kind):
    theirs, ours = build(torch, kind).eval(), build(cr, kind).eval()
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return theirs, ours


@pytest.mark.parametrize("kind", KINDS)
def test_traced_module_computes_as_the_module(kind):
    a = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    mod = build(cr, kind).eval()
    gm = cr.fx.symbolic_trace(mod)
    x = cr.tensor(a)
    np.testing.assert_array_equal(gm(x).detach().numpy(), mod(x).detach().numpy())


def test_buffer_sliced_by_a_traced_size_is_refused_as_torchs():
    """``self.mask[:n]`` with ``n = x.size(-1)``: both tracers refuse it (Python's slice
    indices need ``__index__``, which a proxy has not) with the same TypeError."""
    errors = []
    for lib in (torch, cr):
        with pytest.raises(TypeError) as info:
            lib.fx.symbolic_trace(build(lib, "causal_mask_traced_size"))
        errors.append(str(info.value))
    assert errors[0] == errors[1]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "kind",
    [*KINDS, "factory_in_forward"],  # recorded as a call, as torch's (session 41)
)
def test_export_as_torchs(kind):
    torch.manual_seed(0)
    theirs, ours = _pair(kind)
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    te = torch.export.export(theirs, (torch.tensor(a),))
    oe = cr.export.export(ours, (cr.tensor(a),))
    assert [(s.kind.name, s.arg.name, s.target) for s in oe.graph_signature.input_specs] == [
        (s.kind.name, s.arg.name, s.target) for s in te.graph_signature.input_specs
    ]
    assert _stacks(oe) == _stacks(te)
    b = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        oe.module()(cr.tensor(b)).detach().numpy(),
        te.module()(torch.tensor(b)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_export_slices_a_tensor_attribute_by_a_dynamic_size():
    """What ``symbolic_trace`` refuses (a real tensor sliced by a traced bound) export
    records, as torch's, whose dynamic sizes are SymInts: the program slices by the size
    of each call's input."""

    def build_table(lib):
        class Table(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.table = lib.arange(32.0).reshape(8, 4)

            def forward(self, x):
                return x + self.table[: x.size(0)]

        return Table()

    outs = []
    for lib in (torch, cr):
        n = lib.export.Dim("n", min=2, max=8)
        ep = lib.export.export(build_table(lib), (lib.ones(3, 4),), dynamic_shapes=({0: n},))
        outs.append(ep.module()(lib.ones(5, 4)).numpy())
    assert outs[1].shape == (5, 4)
    np.testing.assert_array_equal(outs[1], outs[0])
