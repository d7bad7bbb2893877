"""``cr.fx.passes.shape_prop.ShapeProp``, ``cr.fx.subgraph_rewriter.replace_pattern``,
``GraphModule.print_readable`` and ``copy.deepcopy(graph_module)``, compared with torch's."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.fx
import torch.fx.passes.shape_prop
import torch.fx.subgraph_rewriter

import chainrule as cr
import chainrule.fx as fx
from chainrule.fx.passes.shape_prop import ShapeProp

from ._models import BUILDERS, INPUT_SHAPES, assert_same, copy_weights, pair_inputs


def _fx(lib):
    return torch.fx if lib is torch else fx


def _shape_prop(lib):
    return torch.fx.passes.shape_prop.ShapeProp if lib is torch else ShapeProp


def _rewriter(lib):
    return torch.fx.subgraph_rewriter if lib is torch else fx.subgraph_rewriter


def _two_input(lib):
    class Net(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = lib.nn.Linear(4, 3)

        def forward(self, x, y):
            return lib.relu(self.l(x)) + y.sum(0).int(), x.shape, [y.t(), 3]

    return Net()


def _meta_text(graph, strides: bool = True) -> list[str]:
    out = []
    for n in graph.nodes:
        meta = n.meta.get("tensor_meta")
        if not strides and hasattr(meta, "stride"):
            meta = (meta.shape, meta.dtype, meta.requires_grad)
        kind = n.meta["type"].__name__.replace("immutable_dict", "dict")  # fx's output dict
        out.append(f"{n.name} {str(meta).replace('torch.', '')} {kind}")
    return out


def test_shape_prop_records_torchs_metadata():
    texts = []
    for lib in (torch, cr):
        gm = _fx(lib).symbolic_trace(_two_input(lib))
        x, y = lib.ones(2, 4), lib.ones(5, 3, dtype=lib.float64)
        _shape_prop(lib)(gm).propagate(x, y)
        texts.append(_meta_text(gm.graph))
    assert texts[0] == texts[1]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_shape_prop_on_the_shared_models(name):
    texts = []
    models = [BUILDERS[name](lib) for lib in (torch, cr)]
    copy_weights(models[0], models[1])
    inputs = pair_inputs(INPUT_SHAPES[name])
    for lib, model, x in zip((torch, cr), models, inputs):
        model.eval()
        gm = _fx(lib).symbolic_trace(model)
        out = _shape_prop(lib)(gm).propagate(x)
        # strides not compared: chainrule's conv2d output is laid out batch-inner
        texts.append((_meta_text(gm.graph, strides=False), out))
    assert texts[0][0] == texts[1][0]
    assert_same(texts[1][1], texts[0][1])


def test_shape_prop_refuses_fake_mode():
    gm = fx.symbolic_trace(_two_input(cr))
    with pytest.raises(NotImplementedError, match="fake_mode"):
        ShapeProp(gm, fake_mode=object())


def _readable(lib, propagate: bool) -> str:
    gm = _fx(lib).symbolic_trace(_two_input(lib))
    if propagate:
        _shape_prop(lib)(gm).propagate(lib.ones(2, 4), lib.ones(5, 3, dtype=lib.float64))
    return gm.print_readable(print_output=False)


@pytest.mark.parametrize("propagate", [False, True])
def test_print_readable_as_torch(propagate):
    theirs = _readable(torch, propagate).replace("torch.", "chainrule.")
    assert _readable(cr, propagate) == theirs


def test_print_readable_prints(capsys):
    text = fx.symbolic_trace(_two_input(cr)).print_readable()
    assert capsys.readouterr().out == text + "\n"


def test_deepcopy_of_a_graph_module_as_torch():
    models = [_two_input(lib) for lib in (torch, cr)]
    copy_weights(models[0], models[1])
    gms = [_fx(lib).symbolic_trace(m) for lib, m in zip((torch, cr), models)]
    copies = [copy.deepcopy(gm) for gm in gms]
    for gm, c in zip(gms, copies):
        assert c.code == gm.code and c.l is not gm.l and c.l.weight is not gm.l.weight
    assert type(copies[1]).__name__ == type(copies[0]).__name__
    x, y = cr.ones(2, 4), cr.ones(5, 3)
    assert_same(copies[1](x, y), gms[1](x, y))
    with cr.no_grad():
        copies[1].l.weight.zero_()  # the copy owns its parameters
    assert float(gms[1].l.weight.detach().abs().sum()) > 0


def _program(lib):
    def f(x, y):
        a = lib.relu(x) * 2
        b = lib.relu(y) * 2
        c = lib.relu(a + b) * 2
        return c, a.sum()

    return f


def _relu_twice(lib):
    return lambda x: lib.relu(x) * 2


def _sigmoid_plus_one(lib):
    return lambda x: lib.sigmoid(x) + 1


def _mul(lib):
    return lambda x, y: lib.mul(x, y)


def _rewrite(lib, program, pattern, replacement):
    gm = _fx(lib).symbolic_trace(program)
    matches = _rewriter(lib).replace_pattern(gm, pattern, replacement)
    maps = [{k.name: getattr(v, "name", v) for k, v in m.nodes_map.items()} for m in matches]
    return gm, [m.anchor.name for m in matches], maps


def test_replace_pattern_matches_code_and_values_as_torch():
    results = []
    for lib in (torch, cr):
        results.append(
            _rewrite(
                lib,
                _program(lib),
                _relu_twice(lib),
                _sigmoid_plus_one(lib),
            )
        )
    (gt, anchors_t, maps_t), (gc, anchors_c, maps_c) = results
    assert anchors_c == anchors_t and maps_c == maps_t
    assert gc.code == gt.code.replace("torch.", "chainrule.")
    x, y = [[0.5, -1.0, 2.0]], [[1.5, 0.25, -3.0]]
    assert_same(gc(cr.tensor(x), cr.tensor(y)), gt(torch.tensor(x), torch.tensor(y)))


def test_replace_pattern_binds_constants_and_follows_earlier_replacements():
    results = []
    for lib in (torch, cr):
        results.append(
            _rewrite(
                lib,
                lambda x, y: (x + y) + (x + 1),
                lambda x, y: x + y,
                _mul(lib),
            )
        )
    (gt, _, maps_t), (gc, _, maps_c) = results
    assert maps_c == maps_t
    assert gc.code == gt.code.replace("torch.", "chainrule.")
    assert_same(
        gc(cr.tensor([2.0]), cr.tensor([3.0])), gt(torch.tensor([2.0]), torch.tensor([3.0]))
    )


@pytest.mark.parametrize("which", ["escaping", "partial"])
def test_replace_pattern_skips_what_torch_skips(which):
    def program(lib):
        if which == "escaping":
            return lambda x: (lib.relu(x) * 2, lib.relu(x).neg())

        def f(x):
            r = lib.relu(x)
            return r * 2, r  # the pattern's inner relu is read outside the match

        return f

    codes = []
    for lib in (torch, cr):
        gm, anchors, _ = _rewrite(lib, program(lib), _relu_twice(lib), lambda x: x - 1)
        codes.append((gm.code.replace("torch.", "chainrule."), anchors))
    assert codes[0] == codes[1]


def test_replace_pattern_refuses_mismatched_inputs():
    gm = fx.symbolic_trace(lambda x: x + 1)
    with pytest.raises(ValueError, match="same inputs"):
        fx.subgraph_rewriter.replace_pattern(gm, lambda x: x + 1, lambda x, y: x * y)


def test_non_finite_constants_are_written_as_torch_writes_them():
    def program(x):
        return (x * float("-inf") + float("nan")) * float("inf")

    ours, theirs = fx.symbolic_trace(program), torch.fx.symbolic_trace(program)
    assert ours.code == theirs.code
    assert_same(ours(cr.tensor([1.0, -2.0])), theirs(torch.tensor([1.0, -2.0])))
