"""Session 40: what ``cr.fx`` prints and records for calls torch.fx prints by their defining
module, against torch 2.13 (live): the functions of ``torch/functional.py`` (``einsum``,
``split``, ``norm``, ... printed ``torch.functional.<name>``), the functionals torch binds
from C (``F.gelu``, ``F.one_hot``, ``F.scaled_dot_product_attention``: ``torch._C._nn``),
``F.pad`` (no ``torch.pad``), and the dropout family and ``gumbel_softmax``, whose
signatures are torch's (no ``generator=``) so that their calls are recorded in torch's form
(leading arguments positionally, the rest by keyword with defaults)."""

from __future__ import annotations

import inspect
import io
import zipfile

import numpy as np
import pytest
import torch

import chainrule as cr

F_DROPOUTS = [
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "gumbel_softmax",
]

CALLS = {
    "einsum": lambda L, x: L.einsum("ij,ij->i", x, x),
    "split": lambda L, x: L.split(x, 2)[0],
    "norm": lambda L, x: L.norm(x),
    "meshgrid": lambda L, x: L.meshgrid(x[0], x[1], indexing="ij")[0],
    "broadcast_tensors": lambda L, x: L.broadcast_tensors(x, x[0])[1],
    "atleast_2d": lambda L, x: L.atleast_2d(x),
    "block_diag": lambda L, x: L.block_diag(x, x),
    "cartesian_prod": lambda L, x: L.cartesian_prod(x[0], x[1]),
    "chain_matmul": lambda L, x: L.chain_matmul(x, x.t()),
    "tensordot": lambda L, x: L.tensordot(x, x, dims=([1], [1])),
    "tensordot_int": lambda L, x: L.tensordot(x, x, 1),
    "cdist": lambda L, x: L.cdist(x, x),
    "cdist_p": lambda L, x: L.cdist(x, x, 1.0),
    "unravel_index": lambda L, x: L.unravel_index(x.argmax(), (4, 4))[0],
    "F.gelu": lambda L, x: L.nn.functional.gelu(x),
    "F.linear": lambda L, x: L.nn.functional.linear(x, x),
    "F.softplus": lambda L, x: L.nn.functional.softplus(x, beta=2.0),
    "F.logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
    "F.softshrink": lambda L, x: L.nn.functional.softshrink(x, 0.3),
    "F.one_hot": lambda L, x: L.nn.functional.one_hot(x.argmax(-1), 4),
    "F.avg_pool2d": lambda L, x: L.nn.functional.avg_pool2d(x[None], 2),
    "F.sdpa": lambda L, x: L.nn.functional.scaled_dot_product_attention(x, x, x),
    "F.pad": lambda L, x: L.nn.functional.pad(x, (1, 2), value=0.5),
    "F.pad_reflect": lambda L, x: L.nn.functional.pad(x[None], (1, 1), "reflect"),
    "F.dropout": lambda L, x: L.nn.functional.dropout(x, 0.1),
    "F.dropout_kw": lambda L, x: L.nn.functional.dropout(x, p=0.2, training=False),
    "F.dropout1d": lambda L, x: L.nn.functional.dropout1d(x, 0.1, False),
    "F.dropout2d": lambda L, x: L.nn.functional.dropout2d(x[None], 0.1, False),
    "F.dropout3d": lambda L, x: L.nn.functional.dropout3d(x[None, None], training=False),
    "F.alpha_dropout": lambda L, x: L.nn.functional.alpha_dropout(x, 0.1),
    "F.feature_alpha_dropout": lambda L, x: L.nn.functional.feature_alpha_dropout(x, 0.1),
    "F.gumbel_softmax": lambda L, x: L.nn.functional.gumbel_softmax(x, tau=0.5, hard=True),
}


def _module(lib, call):
    class M(lib.nn.Module):
        def forward(self, x):
            return call(lib, x)

    return M()


def _code(lib, name):
    code = lib.fx.symbolic_trace(_module(lib, CALLS[name])).code
    return code.replace("torch.", "LIB.").replace("chainrule.", "LIB.")


@pytest.mark.filterwarnings("ignore:chain_matmul is deprecated")
@pytest.mark.parametrize("name", list(CALLS))
def test_traced_code_as_torchs(name):
    assert _code(cr, name) == _code(torch, name)


@pytest.mark.filterwarnings("ignore:chain_matmul is deprecated")
@pytest.mark.parametrize("name", [n for n in CALLS if "dropout" not in n and "gumbel" not in n])
def test_traced_module_runs_its_printed_code(name):
    """The printed names resolve (``chainrule.functional.einsum``,
    ``chainrule._C._nn.gelu``): the generated code runs and computes as the module."""
    a = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
    mod = _module(cr, CALLS[name])
    gm = cr.fx.symbolic_trace(mod)
    x = cr.tensor(a)
    np.testing.assert_array_equal(gm(x).numpy(), mod(x).numpy())


def test_printed_modules_hold_the_same_functions():
    assert cr.functional.einsum is cr.einsum and cr.functional.split is cr.split
    assert sorted(cr.functional.__all__) == sorted(torch.functional.__all__)
    for name in cr.functional.__all__:
        assert getattr(cr.functional, name) is getattr(cr, name)
    for name in cr._C._nn.__all__:
        f_name = "logsigmoid" if name == "log_sigmoid" else name
        assert getattr(cr._C._nn, name) is getattr(cr.nn.functional, f_name)
        assert getattr(torch.nn.functional, f_name) is getattr(torch._C._nn, name)
    torch_c_nn = {
        getattr(torch.nn.functional, n).__name__
        for n in dir(torch.nn.functional)
        if getattr(getattr(torch.nn.functional, n), "__module__", None) == "torch._C._nn"
    }
    assert set(cr._C._nn.__all__) == torch_c_nn
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cr.functional.nope  # noqa: B018


@pytest.mark.parametrize("name", F_DROPOUTS)
def test_dropout_and_gumbel_signatures_are_torchs(name):
    ours = inspect.signature(getattr(cr.nn.functional, name))
    theirs = inspect.signature(getattr(torch.nn.functional, name))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in theirs.parameters.values()
    ]
    x = np.ones((2, 3, 4, 4, 4), np.float32)
    with pytest.raises(TypeError, match="generator") as theirs_err:
        getattr(torch.nn.functional, name)(torch.tensor(x), generator=torch.Generator())
    with pytest.raises(TypeError, match="generator") as ours_err:
        getattr(cr.nn.functional, name)(cr.tensor(x), generator=cr.Generator())
    assert str(ours_err.value) == str(theirs_err.value)


def test_seeded_dropout_draws_as_before():
    """Without ``generator=`` the masks come from the default generator: seeding it
    reproduces them."""
    x = cr.ones(64)
    cr.manual_seed(3)
    a = cr.nn.functional.dropout(x, 0.5)
    cr.manual_seed(3)
    b = cr.nn.functional.dropout(x, 0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert 0 < (a.numpy() == 0).sum() < 64


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_export_save_load_keeps_the_namespaces_it_wrote():
    """An exported program calling ``einsum`` and ``F.gelu`` saves them under the names
    chainrule archives always used (``chainrule.einsum``, ``chainrule.nn.functional.gelu``)
    and loads back to the same functions."""

    class M(cr.nn.Module):
        def forward(self, x):
            return cr.nn.functional.gelu(cr.einsum("ij,jk->ik", x, x))

    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32))
    ep = cr.export.export(M(), (x,))
    buf = io.BytesIO()
    cr.export.save(ep, buf)
    text = _archive_text(buf)
    assert b'"chainrule.einsum"' in text and b'"chainrule.nn.functional.gelu"' in text
    assert b"chainrule.functional." not in text and b"_C._nn" not in text
    buf.seek(0)
    loaded = cr.export.load(buf)
    targets = [n.target for n in loaded.graph.nodes if n.op == "call_function"]
    assert targets == [cr.einsum, cr.nn.functional.gelu]
    np.testing.assert_array_equal(loaded.module()(x).numpy(), M()(x).numpy())


def _archive_text(buf):
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return b"".join(z.read(n) for n in z.namelist() if n.endswith(".json"))
