"""Session 41: what ``cr.export`` / ``cr.fx`` record for factory calls, ``out=`` tensors and
a few ``torch.functional`` functions, against torch 2.13.

- a factory called in ``forward`` with no traced argument (``torch.ones(3, 4)``) is a node
  (torch's ``aten.ones.default``), not a lifted constant;
- a call writing into a traced ``out=`` tensor (``torch.tensordot(x, y, 1, o)``, ``out``
  by position) is kept, and ``o``'s later uses read its result, as torch's functionalized
  ``tensordot.out``;
- ``torch.lu`` and ``torch.unique_consecutive`` are recorded by ``symbolic_trace`` with
  their defaults spelled out (torch's ``torch.functional`` wrappers pass them on);
- ``cr.lu(..., out=...)`` and ``cr.tensordot``'s positional ``out`` behave as torch's.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _x(lib, shape=(3, 3), seed=0):
    return lib.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _names(program) -> list[str]:
    return [n.name for n in program.graph.nodes if n.op == "call_function"]


def _code(lib, gm) -> str:
    text = gm.code.replace("torch.", "LIB.").replace("chainrule.", "LIB.")
    return re.sub(r"\s+", " ", text).strip()


def _factory_module(lib):
    class M(lib.nn.Module):
        def forward(self, x):
            return x + lib.ones(3, 3) * lib.arange(3.0) + lib.full((3, 3), 2.0)

    return M()


def test_factory_calls_are_recorded_not_lifted():
    te = torch.export.export(_factory_module(torch), (_x(torch),))
    oe = cr.export.export(_factory_module(cr), (_x(cr),))
    assert [s.kind.name for s in oe.graph_signature.input_specs] == [
        s.kind.name for s in te.graph_signature.input_specs
    ]
    assert oe.constants == {}
    assert _names(oe) == ["ones", "arange", "mul", "add", "full", "add_1"]
    assert [n for n in _names(te)] == _names(oe)
    b = np.random.default_rng(3).standard_normal((3, 3)).astype(np.float32)
    np.testing.assert_allclose(
        oe.module()(cr.tensor(b)).numpy(), te.module()(torch.tensor(b)).numpy(), rtol=1e-6
    )


def test_factories_run_as_before_outside_a_trace():
    assert cr.ones(2, 2).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    ep = cr.export.export(_factory_module(cr), (_x(cr),))
    assert type(cr.ones(1)) is cr.Tensor  # the trace's switch is undone
    assert not hasattr(cr.ones, "_factory_original")
    assert all(not hasattr(n.target, "_factory_original") for n in ep.graph.nodes)


def _tensordot_out(lib):
    class M(lib.nn.Module):
        def forward(self, x, y):
            o = lib.empty(3, 3)
            lib.tensordot(x, y, 1, o)
            return o * 2

    return M()


def test_out_tensor_reads_the_calls_result_in_export():
    x, y = _x(torch), _x(torch, seed=1)
    te = torch.export.export(_tensordot_out(torch), (x, y))
    oe = cr.export.export(_tensordot_out(cr), (_x(cr), _x(cr, seed=1)))
    assert _names(oe) == ["empty", "tensordot", "mul"] == _names(te)
    got = oe.module()(_x(cr), _x(cr, seed=1)).numpy()
    np.testing.assert_allclose(got, te.module()(x, y).numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "code",
    [
        "L.tensordot(x, x, 1, L.empty(0))",
        "L.tensordot(x, x, 1, out=L.empty(0))",
        "L.tensordot(x, x, 1, None)",
        "L.tensordot(x, x, ([1], [0]), L.empty(3, 3))",
    ],
)
def test_tensordot_out_by_position(code):
    results = []
    for lib in (torch, cr):
        x = lib.ones(3, 3)
        results.append(eval(code, {"L": lib, "x": x}).tolist())
    assert results[0] == results[1]


def _lu(lib, get_infos, out_kind):
    x = _x(lib)
    outs = [lib.empty(0), lib.empty(0, dtype=lib.int32)]
    if get_infos:
        outs.append(lib.empty(0, dtype=lib.int32))
    out = outs if out_kind is list else tuple(outs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch.lu's deprecation
        result = lib.lu(x, get_infos=get_infos, out=out)
    assert type(result) is out_kind
    assert all(r is o for r, o in zip(result, outs, strict=True))
    return [r.tolist() for r in result], [str(r.dtype).split(".")[-1] for r in result]


@pytest.mark.parametrize("get_infos", [False, True])
@pytest.mark.parametrize("out_kind", [tuple, list])
def test_lu_out(get_infos, out_kind):
    (want, want_dtypes), (got, got_dtypes) = (
        _lu(torch, get_infos, out_kind),
        _lu(cr, get_infos, out_kind),
    )
    assert got_dtypes == want_dtypes
    np.testing.assert_allclose(np.asarray(got[0]), np.asarray(want[0]), rtol=1e-5, atol=1e-6)
    assert got[1:] == want[1:]


@pytest.mark.parametrize("out", ["(L.empty(0),)", "L.empty(3)"])
def test_lu_out_of_the_wrong_length(out):
    errors = []
    for lib in (torch, cr):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with pytest.raises(TypeError) as info:
                lib.lu(_x(lib), out=eval(out, {"L": lib}))
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def _functional_calls(lib):
    class M(lib.nn.Module):
        def forward(self, x, i):
            a = lib.lu(x, pivot=False)
            b = lib.lu(x, True, True)
            u = lib.unique_consecutive(i, True, dim=0)
            v = lib.unique_consecutive(input=i)
            return a[0], b, u, v

    return M()


def test_symbolic_trace_records_lu_and_unique_consecutive_defaults():
    ours = _code(cr, cr.fx.symbolic_trace(_functional_calls(cr)))
    theirs = _code(torch, torch.fx.symbolic_trace(_functional_calls(torch)))
    assert ours == theirs
