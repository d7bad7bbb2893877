"""cr.utils.flop_counter against torch.utils.flop_counter: formulas, totals per module on an
MLP, a CNN and a Transformer encoder layer (forward and backward), the table, zero cost off."""

from __future__ import annotations

import inspect
import itertools

import pytest
import torch
import torch.utils.flop_counter as tfc
from torch.nn.attention import SDPBackend, sdpa_kernel

import chainrule as cr
import chainrule.utils.flop_counter as cfc
from chainrule.autograd import engine
from chainrule.autograd.function import Function
from chainrule.nn.module import Module

_PLAIN_APPLY = Function.__dict__["apply"]

PUBLIC = [
    "FlopCounterMode", "addmm_flop", "baddbmm_flop", "bmm_flop", "conv_backward_flop",
    "conv_flop", "conv_flop_count", "convert_num_with_suffix", "convert_to_percent_str",
    "get_shape", "get_suffix_str", "mm_flop", "normalize_tuple", "register_flop_formula",
    "sdpa_backward_flop", "sdpa_backward_flop_count", "sdpa_flop", "sdpa_flop_count",
]  # fmt: skip


@pytest.mark.parametrize("name", PUBLIC)
def test_signatures_match_torch(name):
    ours, theirs = getattr(cfc, name), getattr(tfc, name)
    if name == "FlopCounterMode":
        ours, theirs = ours.__init__, theirs.__init__
        for meth in ("get_total_flops", "get_flop_counts", "get_table"):
            a = inspect.signature(getattr(cfc.FlopCounterMode, meth)).parameters
            b = inspect.signature(getattr(tfc.FlopCounterMode, meth)).parameters
            assert [(p.name, p.default) for p in a.values()] == [
                (p.name, p.default) for p in b.values()
            ]
    pa = inspect.signature(ours).parameters.values()
    pb = inspect.signature(theirs).parameters.values()
    assert [(p.name, p.kind, p.default) for p in pa] == [(p.name, p.kind, p.default) for p in pb]


def test_formulas_match_torch():
    assert cfc.mm_flop((3, 4), (4, 5)) == tfc.mm_flop((3, 4), (4, 5))
    assert cfc.addmm_flop((5,), (3, 4), (4, 5)) == tfc.addmm_flop((5,), (3, 4), (4, 5))
    assert cfc.bmm_flop((2, 3, 4), (2, 4, 5)) == tfc.bmm_flop((2, 3, 4), (2, 4, 5))
    assert cfc.baddbmm_flop(None, (2, 3, 4), (2, 4, 5)) == tfc.baddbmm_flop(
        None, (2, 3, 4), (2, 4, 5)
    )
    for args in [([2, 4, 9, 9], [6, 2, 3, 3], [2, 6, 5, 5], False),
                 ([2, 4, 5, 5], [4, 3, 3, 3], [2, 3, 11, 11], True),
                 ([3, 2, 10], [4, 2, 3], [3, 4, 8], False)]:  # fmt: skip
        assert cfc.conv_flop_count(*args) == tfc.conv_flop_count(*args)
    conv = ([2, 4, 9, 9], [6, 2, 3, 3], None, [2, 2], [1, 1], [1, 1], False)
    expected = tfc.conv_flop(*conv, out_val=[2, 6, 5, 5])
    assert cfc.conv_flop(*conv, out_shape=[2, 6, 5, 5]) == expected
    assert cfc.conv_flop(*conv, out_val=cr.zeros(2, 6, 5, 5)) == expected
    q, k, v = (2, 4, 6, 8), (2, 4, 7, 8), (2, 4, 7, 5)
    assert cfc.sdpa_flop_count(q, k, v) == tfc.sdpa_flop_count(q, k, v)
    assert cfc.sdpa_flop(q, k, v) == tfc.sdpa_flop(q, k, v)
    g = (2, 4, 6, 5)
    assert cfc.sdpa_backward_flop_count(g, q, k, v) == tfc.sdpa_backward_flop_count(g, q, k, v)
    assert cfc.sdpa_backward_flop(g, q, k, v) == tfc.sdpa_backward_flop(g, q, k, v)
    with pytest.raises(AssertionError):
        cfc.mm_flop((3, 4), (5, 6))


def test_conv_backward_flop_matches_torch_counter():
    # torch's counted convolution_backward for x (2,3,8,8), w (5,3,3,3), padding 1
    with tfc.FlopCounterMode(display=False) as f:
        x = torch.randn(2, 3, 8, 8, requires_grad=True)
        w = torch.randn(5, 3, 3, 3, requires_grad=True)
        torch.nn.functional.conv2d(x, w, padding=1).sum().backward()
    expected = f.get_flop_counts()["Global"][torch.ops.aten.convolution_backward]
    args = ([2, 5, 8, 8], [2, 3, 8, 8], [5, 3, 3, 3], None, [1, 1], [1, 1], [1, 1], False)
    ours = cfc.conv_backward_flop(*args, [0, 0], 1, [True, True, False], None)
    assert ours == expected
    assert cfc.conv_backward_flop(*args, [0, 0], 1, [True, False, False], None) == expected // 2


@pytest.mark.parametrize("n", [0, 5, 999, 1000, 12345, 1234567, 12345678901, 10**15])
def test_suffix_helpers_match_torch(n):
    assert cfc.get_suffix_str(n) == tfc.get_suffix_str(n)
    s = tfc.get_suffix_str(n)
    assert cfc.convert_num_with_suffix(n, s) == tfc.convert_num_with_suffix(n, s)
    assert cfc.convert_to_percent_str(n, 3 * n + 1) == tfc.convert_to_percent_str(n, 3 * n + 1)
    assert cfc.convert_to_percent_str(n, 0) == tfc.convert_to_percent_str(n, 0)


def _totals(counts):
    return {m: sum(v.values()) for m, v in counts.items()}


def _ops(counts):
    """Per module and op, with torch's aten.X and chainrule's chainrule::X made comparable."""
    return {
        m: {str(k).replace("aten.", "").replace("chainrule::", ""): n for k, n in v.items()}
        for m, v in counts.items()
    }


def _count(lib, build, make_input, backward):
    counter = tfc.FlopCounterMode if lib is torch else cfc.FlopCounterMode
    lib.manual_seed(0)
    model, x = build(lib), make_input(lib)
    with counter(display=False) as f:
        y = model(x)
        if backward:
            y.sum().backward()
    return f


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Sequential(nn.Linear(16, 4)))


def _cnn(lib):
    nn = lib.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
            self.c1 = nn.Conv1d(4, 2, 3)
            self.fc = nn.Linear(28, 10)

        def forward(self, x):
            h = self.up(self.conv(x).relu())
            return self.fc(self.c1(h.flatten(2)[..., :16]).flatten(1))

    return CNN()


@pytest.mark.parametrize("backward", [False, True])
def test_mlp_counts_match_torch(backward):
    ours = _count(cr, _mlp, lambda lib: lib.randn(5, 8), backward)
    theirs = _count(torch, _mlp, lambda lib: lib.randn(5, 8), backward)
    assert _ops(ours.get_flop_counts()) == _ops(theirs.get_flop_counts())
    assert ours.get_total_flops() == theirs.get_total_flops() == (4480 if backward else 1920)


@pytest.mark.parametrize("input_grad", [False, True])
def test_cnn_counts_match_torch(input_grad):
    def make(lib):
        return lib.randn(2, 3, 8, 8, requires_grad=input_grad)

    for backward in (False, True):
        ours = _count(cr, _cnn, make, backward)
        theirs = _count(torch, _cnn, make, backward)
        assert _ops(ours.get_flop_counts()) == _ops(theirs.get_flop_counts())


def _encoder(lib):
    return lib.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, batch_first=True)


@pytest.mark.parametrize("backward", [False, True])
def test_transformer_encoder_totals_match_torch(backward):
    # torch counts attention only on its math path (its CPU flash kernel has no formula)
    with sdpa_kernel(SDPBackend.MATH):
        theirs = _totals(_count(torch, _encoder, lambda lib: lib.randn(2, 5, 16), backward)
                         .get_flop_counts())  # fmt: skip
    ours = _count(cr, _encoder, lambda lib: lib.randn(2, 5, 16), backward)
    counts = _totals(ours.get_flop_counts())
    # torch also charges backward FLOPs to the dropout modules around them: compare the rest
    assert counts == {m: theirs[m] for m in counts}
    assert ours.get_flop_counts()["Global"]["chainrule::scaled_dot_product_attention"] == 3200


def test_matmul_ranks_match_torch():
    shapes = [((2, 3, 4, 5), (5, 6)), ((5,), (5, 6)), ((6, 5), (5,)), ((5,), (2, 5, 6)),
              ((7, 2, 3, 4, 5), (2, 1, 5, 6)), ((4, 5), (2, 5, 6)), ((3, 4), (4, 5))]  # fmt: skip
    for (a, b), grads in itertools.product(shapes, [(False, True), (True, False), (True, True)]):
        got = []
        for lib, counter in ((torch, tfc.FlopCounterMode), (cr, cfc.FlopCounterMode)):
            x = lib.randn(*a, requires_grad=grads[0])
            y = lib.randn(*b, requires_grad=grads[1])
            with counter(display=False) as f:
                lib.matmul(x, y).sum().backward()
            got.append(_ops(f.get_flop_counts()))
        assert got[0] == got[1], (a, b, grads)


def test_table_layout_matches_torch():
    ours = _count(cr, _cnn, lambda lib: lib.randn(2, 3, 8, 8), True)
    table = ours.get_table()
    lines = table.splitlines()
    assert lines[0] == "Module                                 FLOP    % Total"
    assert lines[1] == "---------------------------------  --------  ---------"
    assert lines[2] == "CNN                                216.288K    100.00%"
    assert lines[3] == "- chainrule::convolution            89.408K     41.34%"
    assert "- chainrule::convolution_backward   55.296K     25.57%" in lines
    assert [ln.split()[0] for ln in lines if not ln.startswith("-")][1:] == [
        "CNN", "CNN.c1", "CNN.conv", "CNN.fc", "CNN.up",
    ]  # fmt: skip
    assert ours.get_table(depth=1).splitlines()[-1].startswith("- chainrule::")
    small = _count(cr, _mlp, lambda lib: lib.randn(5, 8), False).get_table(1)
    # torch prints, for the same model: the same layout with "- aten.addmm" (4 characters
    # shorter than "- chainrule::addmm", hence the wider first column here)
    assert small == (
        "Module                FLOP    % Total\n"
        "------------------  ------  ---------\n"
        "Sequential            1920    100.00%\n"
        "- chainrule::addmm    1920    100.00%"
    )


def test_empty_and_global_rows():
    with cfc.FlopCounterMode(display=False) as f:
        pass
    assert (
        f.get_table()
        == "Module      FLOP    % Total\n--------  ------  ---------\nGlobal         0         0%"
    )
    with cfc.FlopCounterMode(display=False) as f:
        cr.mm(cr.randn(3, 4), cr.randn(4, 5))
        cr.nn.Linear(4, 4)(cr.randn(3, 4))
    rows = [ln.split()[0] for ln in f.get_table().splitlines()[2:] if not ln.startswith("-")]
    assert rows == ["Global", "Linear"]  # Global shown: not all FLOPs are in one module
    assert f.get_flop_counts()["Global"] == {"chainrule::mm": 120, "chainrule::addmm": 96}


def test_display_prints_table(capsys):
    with cfc.FlopCounterMode(depth=1) as f:
        cr.mm(cr.randn(3, 4), cr.randn(4, 5))
    assert capsys.readouterr().out == f.get_table(1) + "\n"
    with pytest.warns(UserWarning, match="mods argument is not needed"):
        cfc.FlopCounterMode(cr.nn.Linear(2, 2), display=False)


def test_zero_cost_when_off():
    apply, rule, call = Function.__dict__["apply"], engine.call_rule, Module.__call__
    with cfc.FlopCounterMode(display=False):
        assert Function.__dict__["apply"] is not apply
        assert engine.call_rule is not rule
    assert Function.__dict__["apply"] is apply
    assert engine.call_rule is rule and Module.__call__ is call
    with pytest.raises(ValueError), cfc.FlopCounterMode(display=False):
        raise ValueError
    assert Function.__dict__["apply"] is apply and Module.__call__ is call


def test_custom_formula_for_user_function():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    def formula(x_shape, out_shape=None):
        return x_shape[0] * 10

    with cfc.FlopCounterMode(display=False, custom_mapping={Square: formula}) as f:
        Square.apply(cr.randn(3))
    assert f.get_flop_counts() == {"Global": {"Square": 30}}
    with pytest.raises(TypeError, match="Function subclass"):
        cfc.register_flop_formula("aten.mm")


@pytest.mark.parametrize("need", [(False, False, True), (True, False, False), (True, True, True)])
def test_sdpa_backward_counts_match_torch_math_path(need):
    # values narrower than the keys: torch runs its math path, which it counts
    got = []
    for lib, counter in ((torch, tfc.FlopCounterMode), (cr, cfc.FlopCounterMode)):
        shapes = [(2, 4, 6, 8), (2, 4, 7, 8), (2, 4, 7, 5)]
        q, k, v = (lib.randn(*s, requires_grad=n) for s, n in zip(shapes, need))
        with counter(display=False) as f:
            lib.nn.functional.scaled_dot_product_attention(q, k, v).sum().backward()
        got.append(f.get_total_flops())
    assert got[0] == got[1]


def test_backward_of_a_forward_run_before_the_counter():
    got = []
    for lib, counter in ((torch, tfc.FlopCounterMode), (cr, cfc.FlopCounterMode)):
        lib.manual_seed(0)
        loss = lib.nn.Linear(4, 3)(lib.randn(5, 4)).sum()
        with counter(display=False) as f:
            loss.backward()
        got.append(_ops(f.get_flop_counts()))
    assert got[0] == got[1] == {"Global": {"mm": 120}}


def test_nested_counters_and_reentry_match_torch():
    got = []
    for lib, counter in ((torch, tfc.FlopCounterMode), (cr, cfc.FlopCounterMode)):
        a, b = lib.randn(3, 4), lib.randn(4, 5)
        with counter(display=False) as outer:
            lib.mm(a, b)
            with counter(display=False) as inner:
                lib.mm(a, b)
            lib.mm(a, b)
        again = counter(display=False)
        for _ in range(2):
            with again:
                lib.mm(a, b)
        got.append((outer.get_total_flops(), inner.get_total_flops(), again.get_total_flops()))
    assert got[0] == got[1] == (360, 120, 120)
    assert Function.__dict__["apply"] is _PLAIN_APPLY


def test_profiler_inside_and_around_a_counter_restores_plain_objects():
    apply, rule = Function.__dict__["apply"], engine.call_rule
    with cfc.FlopCounterMode(display=False) as f:
        with cr.profiler.profile():
            cr.mm(cr.randn(3, 4), cr.randn(4, 5))
    assert Function.__dict__["apply"] is apply and engine.call_rule is rule
    with cr.profiler.profile():
        with cfc.FlopCounterMode(display=False) as f:
            cr.mm(cr.randn(3, 4), cr.randn(4, 5))
    assert f.get_total_flops() == 120
    assert Function.__dict__["apply"] is apply and engine.call_rule is rule
