"""cr.export.export against torch.export 2.13 live: graph signatures (kinds, names,
targets), state_dict/constants, ExportedProgram.module() outputs and gradients, kwargs
inputs, the call checks' errors, printing, run_decompositions and what export refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.export import ExportedProgram, InputKind, OutputKind

from . import _models as M


def both(builder, *shape, train=False, **kw):
    theirs, ours = M.pair(builder, train)
    t, o = M.inputs(*shape)
    return (
        torch.export.export(theirs, (t,), **kw),
        cr.export.export(ours, (o,), **kw),
        theirs,
        ours,
    )


def specs(sig):
    ins = [(s.kind.name, s.arg.name, s.target, s.persistent) for s in sig.input_specs]
    outs = [(s.kind.name, s.arg.name, s.target) for s in sig.output_specs]
    return ins, outs


@pytest.mark.parametrize("builder,shape", [(M.mlp, (3, 4)), (M.cnn, (2, 1, 8, 8))])
def test_graph_signature_kinds_names_targets(builder, shape):
    te, oe, _, _ = both(builder, *shape)
    assert specs(oe.graph_signature) == specs(te.graph_signature)
    assert str(oe.graph_signature) == str(te.graph_signature)
    assert oe.graph_signature.parameters == te.graph_signature.parameters
    assert oe.graph_signature.buffers == te.graph_signature.buffers
    assert oe.graph_signature.user_inputs == te.graph_signature.user_inputs
    assert oe.graph_signature.user_outputs == te.graph_signature.user_outputs
    assert oe.graph_signature.inputs_to_buffers == te.graph_signature.inputs_to_buffers
    assert [n.name for n in oe.graph.nodes if n.op == "placeholder"] == [
        n.name for n in te.graph.nodes if n.op == "placeholder"
    ]


def test_enum_members_match_torch():
    import torch.export.graph_signature as tg

    assert [k.name for k in InputKind] == [k.name for k in tg.InputKind]
    assert [k.name for k in OutputKind] == [k.name for k in tg.OutputKind]


def test_state_dict_and_constants():
    te, oe, theirs, ours = both(M.mlp, 3, 4)
    assert list(oe.state_dict) == list(te.state_dict)
    assert sorted(oe.constants) == sorted(te.constants)
    for name, value in ours.named_parameters():
        assert oe.state_dict[name] is value  # the original's parameters, as torch's
    assert te.state_dict["l1.weight"] is theirs.l1.weight
    for k, v in te.state_dict.items():
        np.testing.assert_array_equal(oe.state_dict[k].detach().numpy(), v.detach().numpy())
    assert [n for n, _ in oe.named_parameters()] == [n for n, _ in te.named_parameters()]
    assert [n for n, _ in oe.named_buffers()] == [n for n, _ in te.named_buffers()]


@pytest.mark.parametrize("builder,shape", [(M.mlp, (3, 4)), (M.cnn, (2, 1, 8, 8))])
def test_module_outputs_and_gradients_match_torch(builder, shape):
    te, oe, theirs, ours = both(builder, *shape)
    tm, om = te.module(), oe.module()
    t, o = M.inputs(*shape, seed=1)
    tout, oout = tm(t), om(o)
    tout = tout if isinstance(tout, tuple) else (tout,)
    oout = oout if isinstance(oout, tuple) else (oout,)
    for a, b in zip(tout, oout, strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-5)
    sum(x.sum() for x in tout).backward()
    sum(x.sum() for x in oout).backward()
    for name, p in theirs.named_parameters():
        got = dict(ours.named_parameters())[name].grad  # gradients reach the original
        np.testing.assert_allclose(got.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-5)
    originals = dict(ours.named_parameters())
    assert all(p is originals[n] for n, p in om.named_parameters())


def test_module_state_dict_keys_match_torch():
    te, oe, _, _ = both(M.mlp, 3, 4)
    assert sorted(oe.module().state_dict()) == sorted(te.module().state_dict())


def test_kwargs_inputs():
    theirs, ours = M.kwargs_model(torch), M.kwargs_model(cr)
    (t, o), (tb, ob) = M.inputs(2, 3), M.inputs(2, 3, seed=5)
    te = torch.export.export(theirs, (t,), kwargs={"bias": tb})
    oe = cr.export.export(ours, (o,), kwargs={"bias": ob})
    assert specs(oe.graph_signature) == specs(te.graph_signature)
    assert repr(oe.call_spec.in_spec) == repr(te.call_spec.in_spec)
    np.testing.assert_allclose(oe.module()(o, bias=ob).numpy(), te.module()(t, bias=tb).numpy())
    for call in (lambda m, x, b: m(x), lambda m, x, b: m(x, b), lambda m, x, b: m(x=x, bias=b)):
        assert M.error_of(call, oe.module(), o, ob) == M.error_of(call, te.module(), t, tb)


@pytest.mark.parametrize(
    "shape",
    [(3, 5), (4, 4), (4,), (2, 3, 4)],
    ids=["wrong-static-dim", "wrong-batch", "fewer-dims", "more-dims"],
)
def test_wrong_shape_errors_match_torch(shape):
    theirs, ours = M.adder(torch), M.adder(cr)
    t, o = M.inputs(3, 4)
    tm = torch.export.export(theirs, (t, t)).module()
    om = cr.export.export(ours, (o, o)).module()
    bt, bo = M.inputs(*shape)
    assert M.error_of(lambda: om(bo, o)) == M.error_of(lambda: tm(bt, t))
    assert M.error_of(lambda: om(o, bo)) == M.error_of(lambda: tm(t, bt))


def test_wrong_number_of_inputs_errors_match_torch():
    te, oe, _, _ = both(M.mlp, 3, 4)
    t, o = M.inputs(3, 4)
    for n in (0, 2):
        assert M.error_of(oe.module(), *[o] * n) == M.error_of(te.module(), *[t] * n)


def test_wrong_dtype_is_not_a_guard_as_torch():
    theirs, ours = M.adder(torch), M.adder(cr)
    (t, o), (t2, o2) = M.inputs(3, 4), M.inputs(3, 4, seed=1)
    tm = torch.export.export(theirs, (t, t2)).module()
    om = cr.export.export(ours, (o, o2)).module()
    got = om(o.double(), o2)
    assert tm(t.double(), t2).dtype == torch.float64 and got.dtype == cr.float64


def test_python_constant_input_guard():
    class S(torch.nn.Module):
        def forward(self, x, n):
            return x * n

    class SC(cr.nn.Module):
        def forward(self, x, n):
            return x * n

    t, o = M.inputs(2)
    tm = torch.export.export(S(), (t, 3)).module()
    om = cr.export.export(SC(), (o, 3)).module()
    assert M.error_of(lambda: om(o, 4)) == M.error_of(lambda: tm(t, 4))
    np.testing.assert_allclose(om(o, 3).numpy(), tm(t, 3).numpy())


def test_calling_the_program_raises_torchs_error():
    te, oe, _, _ = both(M.mlp, 3, 4)
    t, o = M.inputs(3, 4)
    assert M.error_of(lambda: oe(o)) == M.error_of(lambda: te(t))


def test_printing_shape():
    te, oe, _, _ = both(M.mlp, 3, 4)
    ours, theirs = str(oe), str(te)
    head = "ExportedProgram:\n    class GraphModule(torch.nn.Module):\n        def forward(self, "
    assert ours.startswith(head) and theirs.startswith(head)
    assert ours.split("Graph signature:")[1] == theirs.split("Graph signature:")[1]
    first = ours.splitlines()[2]
    assert first == theirs.splitlines()[2]  # placeholders with their annotations
    assert 'linear: "f32[3, 8]" = ' in ours


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch's own LeafSpec deprecation
def test_run_decompositions_returns_an_equivalent_program():
    te, oe, _, _ = both(M.mlp, 3, 4)
    td, od = te.run_decompositions(), oe.run_decompositions()
    assert isinstance(od, ExportedProgram) and od is not oe
    assert specs(od.graph_signature) == specs(oe.graph_signature)
    t, o = M.inputs(3, 4, seed=2)
    np.testing.assert_allclose(
        od.module()(o)[0].detach().numpy(), td.module()(t)[0].detach().numpy(), rtol=1e-5
    )
    with pytest.raises(NotImplementedError, match="decomp_table"):
        oe.run_decompositions({"x": None})


def test_data_dependent_control_flow_is_refused():
    def build(lib):
        class C(lib.nn.Module):
            def forward(self, x):
                if x.sum() > 0:
                    return x + 1
                return x - 1

        return C()

    t, o = M.inputs(3)
    theirs = M.error_of(lambda: torch.export.export(build(torch), (t,)))
    ours = M.error_of(lambda: cr.export.export(build(cr), (o,)))
    assert ours[0] == theirs[0] == "GuardOnDataDependentSymNode"
    prefix = "Could not guard on data-dependent expression"
    assert ours[1].startswith(prefix) and theirs[1].startswith(prefix)
    assert "if x.sum() > 0" in ours[1] and "if x.sum() > 0" in theirs[1]


def test_static_shape_branch_is_specialized_as_torch():
    def build(lib):
        class C(lib.nn.Module):
            def forward(self, x):
                return x + 1 if x.shape[0] > 2 else x - 1

        return C()

    t, o = M.inputs(3)
    te, oe = torch.export.export(build(torch), (t,)), cr.export.export(build(cr), (o,))
    assert [n.name for n in oe.graph.nodes] == [n.name for n in te.graph.nodes]


def test_cond_on_traced_values_is_not_implemented():
    class C(cr.nn.Module):
        def forward(self, x):
            return cr.cond(x.sum() > 0, lambda x: x + 1, lambda x: x - 1, (x,))

    with pytest.raises(NotImplementedError, match="cond"):
        cr.export.export(C(), (cr.randn(3),))


def test_refused_arguments_match_torch():
    t, o = M.inputs(3, 4)
    for call in (
        lambda lib, x: lib.export.export(lambda v: v, (x,)),
        lambda lib, x: lib.export.export(M.adder(lib), [x, x]),
    ):
        ours, theirs = M.error_of(call, cr, o), M.error_of(call, torch, t)
        assert ours[0] == theirs[0]
        assert ours[1].split("\n")[0] == theirs[1].split("\n")[0]
    # preserve_module_call_signature is supported since session 39
    # (test_preserve_signature_session39.py); a path that is no submodule is torch's error
    with pytest.raises(AttributeError, match="has no attribute 'nosuch'"):
        cr.export.export(M.adder(cr), (o, o), preserve_module_call_signature=("nosuch",))
    with pytest.raises(NotImplementedError, match=r"input 'y\[1\]' is a range"):
        cr.export.export(M.adder(cr), (o, [o, range(2)]))  # nested inputs: session 37


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notice on LSTM._flat_weights
def test_recurrent_and_transformer_layers():
    theirs, ours = M.pair(M.recurrent)
    t, o = M.inputs(2, 3, 4)
    te = torch.export.export(theirs, (t,))
    oe = cr.export.export(ours, (o,))
    assert specs(oe.graph_signature)[0] == specs(te.graph_signature)[0]  # torch inlines layers
    out_t, out_o = te.module()(t), oe.module()(o)
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    out_o.sum().backward()
    assert ours.lstm.weight_ih_l0.grad is not None
    # a bare LSTM exports since session 38 (test_bare_recurrent_session38.py); unbatched
    # input to one is still refused
    with pytest.raises(NotImplementedError, match="bare LSTM"):
        cr.export.export(cr.nn.LSTM(4, 6), (o[0],))


@pytest.mark.parametrize("inplace", [True, False], ids=["add_", "reassign"])
def test_buffer_updates_in_forward(inplace):
    def build(lib):
        class C(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("steps", lib.zeros(1))

            def forward(self, x):
                if inplace:
                    self.steps.add_(1)
                else:
                    self.steps = self.steps + 1
                return x * self.steps

        return C()

    t, o = M.inputs(2)
    theirs, ours = build(torch), build(cr)
    te, oe = torch.export.export(theirs, (t,)), cr.export.export(ours, (o,))
    assert specs(oe.graph_signature) == specs(te.graph_signature)
    assert float(ours.steps) == float(theirs.steps) == 0.0  # export leaves the state alone
    tm, om = te.module(), oe.module()
    for _ in range(2):
        np.testing.assert_allclose(om(o).numpy(), tm(t).numpy())
    assert float(ours.steps) == float(theirs.steps) == 2.0


def test_batchnorm_in_training_mode_counts_batches():
    theirs, ours = M.pair(M.cnn, train=True)
    t, o = M.inputs(2, 1, 8, 8)
    tm, om = torch.export.export(theirs, (t,)).module(), cr.export.export(ours, (o,)).module()
    np.testing.assert_allclose(om(o).detach().numpy(), tm(t).detach().numpy(), rtol=1e-4, atol=1e-5)
    for name in ("bn.running_mean", "bn.running_var", "bn.num_batches_tracked"):
        np.testing.assert_allclose(
            ours.state_dict()[name].numpy(), theirs.state_dict()[name].numpy(), rtol=1e-5
        )


def test_numpy_conversion_of_traced_values_is_refused():
    class N(cr.nn.Module):
        def forward(self, x):
            return cr.tensor(np.asarray(x)) + 1

    with pytest.raises(NotImplementedError, match="to a NumPy array"):
        cr.export.export(N(), (cr.randn(3),))
