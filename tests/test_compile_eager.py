"""``cr.compile`` returns what ``torch.compile`` returns, run eagerly (checked against torch).

torch's own compiled calls are not run here (Inductor needs a C++ toolchain and minutes);
only what ``torch.compile`` returns and checks before compiling anything is compared.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _compiled(lib, model, **kwargs):
    if lib is cr:
        with pytest.warns(UserWarning, match="no graph compiler"):
            return cr.compile(model, **kwargs)
    return torch.compile(model, **kwargs)


def _mlp(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))


def test_compiled_module_has_torchs_shape_and_runs_the_original():
    for lib in (cr, torch):
        model = _mlp(lib)
        compiled = _compiled(lib, model)
        assert type(compiled).__name__ == "OptimizedModule"
        assert isinstance(compiled, lib.nn.Module)
        assert compiled._orig_mod is model
        assert list(compiled.state_dict()) == [
            "_orig_mod.0.weight",
            "_orig_mod.0.bias",
            "_orig_mod.2.weight",
            "_orig_mod.2.bias",
        ]
        assert [n for n, _ in compiled.named_parameters()][0] == "_orig_mod.0.weight"
        assert len(compiled) == 3
        with pytest.raises(TypeError, match="not subscriptable"):
            compiled[0]  # noqa: B018 - as torch's, the wrapper defines len() but not indexing
        assert repr(compiled) == (
            "OptimizedModule(\n  (_orig_mod): " + repr(model).replace("\n", "\n  ") + "\n)"
        )
    cr_model, cr_compiled = _mlp(cr), None
    cr_compiled = _compiled(cr, cr_model)
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(cr_compiled(x).detach().numpy(), cr_model(x).detach().numpy())


def test_compiled_module_passes_attributes_and_mode_through():
    for lib in (cr, torch):
        model = lib.nn.Linear(2, 3)
        compiled = _compiled(lib, model)
        assert compiled.in_features == 2 and compiled.weight is model.weight
        compiled.note = "kept"
        assert model.note == "kept" and "note" not in compiled.__dict__
        del compiled.note
        assert not hasattr(model, "note")
        compiled.eval()
        assert (model.training, compiled.training) == (False, False)
        model.train()
        assert compiled.training
        with pytest.raises(AttributeError):
            compiled.no_such_attribute  # noqa: B018


def test_compiled_module_loads_prefixed_state_dicts_only():
    for lib in (cr, torch):
        model = lib.nn.Linear(2, 2)
        compiled = _compiled(lib, model)
        source = lib.nn.Linear(2, 2)
        with pytest.raises(RuntimeError, match="Missing key"):
            compiled.load_state_dict(source.state_dict())
        compiled.load_state_dict({"_orig_mod." + k: v for k, v in source.state_dict().items()})
        assert lib.equal(model.weight, source.weight)


def test_compiled_module_trains_hooks_and_copies():
    model = _mlp(cr)
    compiled = _compiled(cr, model)
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    loss = compiled(cr.ones(4, 3)).sum()
    loss.backward()
    assert seen == [(4, 2)] and model[0].weight.grad is not None
    assert cr.optim.SGD(compiled.parameters(), lr=0.1).param_groups[0]["params"][0] is (
        model[0].weight
    )
    clone = copy.deepcopy(compiled)
    assert type(clone).__name__ == "OptimizedModule" and clone._orig_mod is not model
    np.testing.assert_array_equal(
        clone(cr.ones(1, 3)).detach().numpy(), compiled(cr.ones(1, 3)).detach().numpy()
    )
    clone.eval()
    assert not clone._orig_mod.training and model.training


def test_compiled_function_and_decorator():
    def f(x):
        """Doubles."""
        return x * 2

    g = _compiled(cr, f)
    assert g.__name__ == "f" and g.__doc__ == "Doubles." and g.__wrapped__ is f
    assert g(cr.tensor(3.0)).item() == 6.0
    with pytest.warns(UserWarning, match="no graph compiler"):
        h = cr.compile(fullgraph=True, dynamic=False)(f)
    assert h(2) == 4
    assert cr.compile(f, disable=True) is f


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "fastest"},
        {"mode": "max-autotune", "options": {"triton.cudagraphs": False}},
        {"backend": "no_such_backend"},
    ],
)
def test_bad_arguments_raise_as_torch(kwargs):
    with pytest.raises(RuntimeError) as expected:
        torch.compile(torch.nn.Linear(1, 1), **kwargs)
    with pytest.raises(RuntimeError) as got:
        cr.compile(nn.Linear(1, 1), **kwargs)
    assert type(expected.value).__name__ == type(got.value).__name__
    with pytest.raises(RuntimeError):
        nn.Linear(1, 1).compile(**kwargs)


def test_valid_modes_and_backends_are_accepted():
    for mode in ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"):
        _compiled(cr, nn.Linear(1, 1), mode=mode)
    for backend in ("inductor", "eager", "aot_eager", "cudagraphs"):
        _compiled(cr, nn.Linear(1, 1), backend=backend)
    _compiled(cr, nn.Linear(1, 1), options={"epilogue_fusion": True})


def test_callable_backend_and_non_callable_model_are_refused():
    with pytest.raises(NotImplementedError, match="FX graph"):
        cr.compile(nn.Linear(1, 1), backend=lambda gm, example_inputs: gm.forward)
    with pytest.raises(TypeError, match="callable"):
        cr.compile(5)


def test_dynamo_surface():
    assert cr._dynamo.list_backends() == torch._dynamo.list_backends()
    assert set(torch._dynamo.list_backends(exclude_tags=None)) >= set(
        cr._dynamo.list_backends(exclude_tags=None)
    )
    assert cr._dynamo.config.cache_size_limit == torch._dynamo.config.cache_size_limit
    assert cr._dynamo.config.suppress_errors is torch._dynamo.config.suppress_errors
    previous = cr._dynamo.config.cache_size_limit
    cr._dynamo.config.cache_size_limit = 64
    assert cr._dynamo.config.cache_size_limit == 64
    cr._dynamo.config.cache_size_limit = previous
    for lib in (cr, torch):
        with pytest.raises(AttributeError, match="does not exist"):
            lib._dynamo.config.no_such_setting = 1
    compiled = _compiled(cr, nn.Linear(1, 1))
    assert isinstance(compiled, cr._dynamo.eval_frame.OptimizedModule)
    assert cr._dynamo.OptimizedModule is cr._dynamo.eval_frame.OptimizedModule
    x = cr.ones(3, 2)
    assert cr._dynamo.mark_dynamic(x, 0, min=2, max=8) is None
    assert cr._dynamo.mark_static(x) is None and cr._dynamo.graph_break() is None
    assert cr._dynamo.reset() is None and cr._dynamo.is_compiling() is False
