"""Session 39: ``cr.fx.symbolic_trace`` and ``cr.export.export`` of small modules written
with common idioms (masked_fill, einsum, chunk, indexing with tensors and masks, where,
F.interpolate, F.softmax, Sequential / ModuleDict / ModuleList), against torch 2.13 (live):
the traced code is torch's, with ``torch.`` spelled ``chainrule.``; the export has torch's
inputs, module stacks and values (its calls are chainrule's functions where torch's are
ATen ops).

torch's Python-written functionals record their arguments in their own form, the leading
ones positionally and the rest by keyword with defaults
(``chainrule/fx/_functional_records.py``); the table there is read again here from the
installed torch's source."""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.fx._functional_records import RECORDS


def _stacks(ep):
    """The module stacks of the program's calls in order, a run of equal ones as one
    (torch's ATen graph spells some calls as several nodes), as in
    ``tests/export/test_unflatten_session38.py``."""
    out: list = []
    for n in ep.graph.nodes:
        if n.op in ("call_function", "call_method", "call_module"):
            stack = [(k, path) for k, (path, _) in n.meta["nn_module_stack"].items()]
            if not out or out[-1] != stack:
                out.append(stack)
    return out


def build(lib, kind):
    nn, F = lib.nn, lib.nn.functional

    class Idiom(nn.Module):
        def __init__(self):
            super().__init__()
            if kind == "module_dict":
                self.blocks = nn.ModuleDict(
                    {"a": nn.Linear(4, 4), "b": nn.Sequential(nn.ReLU(), nn.Linear(4, 2))}
                )
            if kind == "sequential":
                self.seq = nn.Sequential(
                    nn.Linear(4, 4), nn.GELU(), nn.Dropout(0.1), nn.LayerNorm(4)
                )
            if kind == "module_list":
                self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])

        def forward(self, x):
            if kind == "masked_fill":
                return x.masked_fill(x > 0, float("-inf")).softmax(-1)
            if kind == "masked_fill_fn":
                return lib.masked_fill(x, x < 0, 0.0)
            if kind == "einsum":
                return lib.einsum("bi,bj->bij", x, x)
            if kind == "chunk":
                a, b = x.chunk(2, dim=-1)
                return a * b
            if kind == "chunk_fn":
                a, b = lib.chunk(x, 2, -1)
                return a - b
            if kind == "index_tensor":
                return x[:, lib.tensor([0, 2])]
            if kind == "index_mask":
                return x[x > 0]
            if kind == "index_slices":
                return x[..., 1:3, None]
            if kind == "where":
                return lib.where(x > 0, x, lib.zeros_like(x))
            if kind == "where_scalar":
                return lib.where(x > 0, x, 0.0)
            if kind == "interpolate":
                return F.interpolate(x[None, None], scale_factor=2, mode="nearest")
            if kind == "interpolate_bilinear":
                return F.interpolate(
                    x[None, None], size=(6, 8), mode="bilinear", align_corners=False
                )
            if kind == "module_dict":
                return self.blocks["b"](self.blocks["a"](x))
            if kind == "sequential":
                return self.seq(x)
            if kind == "module_list":
                for layer in self.layers:
                    x = layer(x).relu()
                return x
            if kind == "shape_view":
                b, n = x.shape
                return x.view(b, 2, n // 2).transpose(1, 2).reshape(b, -1)
            if kind == "cat_stack":
                return lib.cat([x, x * 2], dim=1) + lib.stack([x, x], 0).sum(0).repeat(1, 2)
            if kind == "functionals":
                return F.softmax(x, dim=-1) + F.relu(x) + F.leaky_relu(x, 0.2)
            if kind == "size_arith":
                return x.new_zeros(x.size(0), x.size(1) * 2)
            if kind == "conversions":
                return x.float() + x.to(lib.float32) + x.type_as(x)
            raise AssertionError(kind)

    return Idiom()


KINDS = [
    "masked_fill",
    "masked_fill_fn",
    "einsum",
    "chunk",
    "chunk_fn",
    "index_tensor",
    "index_mask",
    "index_slices",
    "where",
    "where_scalar",
    "interpolate",
    "interpolate_bilinear",
    "module_dict",
    "sequential",
    "module_list",
    "shape_view",
    "cat_stack",
    "functionals",
    "size_arith",
    "conversions",
]


def _code(lib, kind):
    code = lib.fx.symbolic_trace(build(lib, kind)).code
    return code.replace("torch.", "LIB.").replace("chainrule.", "LIB.")


@pytest.mark.parametrize("kind", KINDS)
def test_traced_code_as_torchs(kind):
    assert _code(cr, kind) == _code(torch, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_traced_module_computes_as_the_module(kind):
    a = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    mod = build(cr, kind).eval()
    gm = cr.fx.symbolic_trace(mod)
    x = cr.tensor(a)
    np.testing.assert_array_equal(gm(x).detach().numpy(), mod(x).detach().numpy())


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", KINDS)
def test_export_as_torchs(kind):
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    theirs = build(torch, kind).eval()
    ours = build(cr, kind).eval()
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
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


def _torch_records():
    """torch's form of each functional's recorded call, read from its source: the
    arguments after the tensors in ``handle_torch_function(<name>, (...), ...)``."""
    out = {}
    for name in RECORDS:
        fn = getattr(torch.nn.functional, name)
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        (call,) = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "handle_torch_function"
        ]
        assert getattr(call.args[0], "id", getattr(call.args[0], "attr", None)) == name
        sig = inspect.signature(fn).parameters
        out[name] = (
            tuple(a.id for a in call.args[2:]),
            {k.arg: sig[k.arg].default for k in call.keywords},
        )
    return out


def test_functional_records_table_is_torchs():
    assert _torch_records() == RECORDS
    for name, (positional, keywords) in RECORDS.items():  # chainrule's signature is torch's
        params = list(inspect.signature(getattr(cr.nn.functional, name)).parameters)
        assert params == [*positional, *keywords], name


def test_functional_shared_with_the_top_level_records_as_given():
    """``cr.nn.functional.layer_norm is cr.layer_norm``: the trace cannot tell the forms
    apart and records the call as given, as torch records ``torch.layer_norm``."""
    assert cr.nn.functional.layer_norm is cr.layer_norm

    def ours(x):
        return cr.layer_norm(x, (4,))

    def theirs(x):
        return torch.layer_norm(x, (4,))

    for fn, lib in ((ours, cr), (theirs, torch)):
        g = lib.fx.symbolic_trace(fn)
        (node,) = [n for n in g.graph.nodes if n.op == "call_function"]
        assert node.kwargs == {} and len(node.args) == 2


@pytest.mark.parametrize(
    "call",
    [
        "F.softmax(x, -1)",
        "F.log_softmax(x, dim=0, dtype=None)",
        "F.relu(x, True)",
        "F.instance_norm(x[None], eps=1e-3)",
        "F.cross_entropy(x, y)",
        "F.normalize(x, dim=-1)",
        "F.hardtanh(x, -2.0)",
        "F.gelu(x, approximate='tanh')",
        "F.leaky_relu(x, 0.2)",
    ],
)
def test_functional_calls_recorded_as_torchs(call):
    def graph(lib):
        F = lib.nn.functional  # noqa: N806 - torch's spelling

        def fn(x, y):
            return eval(call, {"F": F, "x": x, "y": y})

        g = lib.fx.symbolic_trace(fn).graph
        return [
            (n.op, n.target.__name__, repr(n.args), repr(n.kwargs))
            for n in g.nodes
            if n.op == "call_function"
        ]

    assert graph(cr) == graph(torch)


def test_placeholders_of_one_target_keep_runnable_code():
    """The generated ``forward`` names each argument as its placeholder's target (torch's
    ``def forward(self, input): input_1 = input``); two placeholders of one target would
    give torch's ``def forward(self, x, x)``, a SyntaxError, so chainrule names the second
    by its node."""
    g = cr.fx.Graph()
    a, b = g.placeholder("x"), g.placeholder("x")
    g.output((a, b))
    gm = cr.fx.GraphModule(cr.nn.Module(), g)
    assert "def forward(self, x, x_1):" in gm.code
    assert gm(1, 2) == (1, 2)
