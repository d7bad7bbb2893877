"""Autograd API semantics compared with PyTorch: divergences found by a differential sweep.

Each test runs one scenario against ``torch`` and ``chainrule`` (the module passed as
``lib``) and checks both give the same values or the same error type. Divergences fixed:

* an in-place op whose node saves its *result* (``exp_``, ``sigmoid_``, ``tanh_``,
  ``torch.relu_``): modifying the tensor in place again and then running backward silently
  used a private copy of the result; PyTorch raises the version-counter RuntimeError;
* ``Tensor.backward(inputs=[])`` and ``autograd.grad(outputs, [])`` did nothing / returned
  ``()``; PyTorch raises RuntimeError ("`inputs` argument ... cannot be empty");
* ``Tensor.backward(gradient=...)`` accepted numbers, lists of numbers and NumPy arrays
  (PyTorch: TypeError) and refused ``[tensor]`` (PyTorch: a sequence holds one gradient per
  tensor); ``grad_outputs``/``grad_tensors`` entries that are not Tensors raise TypeError;
* too few ``grad_outputs`` raised ValueError (PyTorch: RuntimeError "got 2 tensors and 1
  gradients"); extra ones raised where PyTorch ignores them;
* ``x.grad = x`` was accepted (PyTorch: "can't assign Variable as its own grad");
* a post-accumulate-grad hook returning a value raised TypeError (PyTorch: RuntimeError);
* ``ctx.mark_dirty`` did not exist (AttributeError); it now returns the input itself,
  rebased onto the Function's node, with PyTorch's errors for a leaf and for a dirty input
  that is not returned;
* a user Function's ``save_for_backward`` accepted non-tensors (PyTorch: TypeError);
* a user Function defining ``vjp`` instead of ``backward`` (PyTorch's alias) failed;
* a user Function's backward returning a gradient for a non-Tensor argument was silently
  dropped (PyTorch: RuntimeError).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

LIBS = [torch, cr]


def _leaf(lib, *vals):
    return lib.tensor(list(vals), dtype=lib.float64, requires_grad=True)


def _outcome(fn, lib):
    """``("ok", value)`` or ``("err", exception type)`` for ``fn(lib)``."""
    try:
        out = fn(lib)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return "err", e
    return "ok", out


def _same(fn, err=None):
    """Run ``fn`` on both libraries: the same outcome, values compared as arrays."""
    (kt, vt), (kc, vc) = _outcome(fn, torch), _outcome(fn, cr)
    assert kt == kc, (vt, vc)
    if kt == "err":
        assert err is not None and isinstance(vt, err) and isinstance(vc, err), (vt, vc)
        return vt, vc
    assert err is None
    vt = vt if isinstance(vt, tuple) else (vt,)
    vc = vc if isinstance(vc, tuple) else (vc,)
    for a, b in zip(vt, vc, strict=True):
        if a is None or b is None or isinstance(a, (bool, int)):
            assert a == b
        else:
            np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-12)
    return vt, vc


# ---------------------------------------------------------------- in-place saved results
_INPLACE = {
    "exp_": lambda lib, t: t.exp_(),
    "sigmoid_": lambda lib, t: t.sigmoid_(),
    "tanh_": lambda lib, t: t.tanh_(),
    "relu_": lambda lib, t: lib.relu_(t),
    "F.relu_": lambda lib, t: lib.nn.functional.relu_(t),
    "sqrt_": lambda lib, t: t.sqrt_(),
    "reciprocal_": lambda lib, t: t.reciprocal_(),
}


@pytest.mark.parametrize("name", sorted(_INPLACE))
def test_inplace_saved_result_modified_again_raises(name):
    def run(lib):
        x0 = _leaf(lib, 0.5, 2.0, 3.0)
        x = x0 * 1
        _INPLACE[name](lib, x)
        x.add_(1)  # the result the in-place op saved is x itself
        x.sum().backward()
        return x0.grad

    vt, vc = _same(run, RuntimeError)
    assert "modified by an in" in str(vc) and "version 2; expected version 1" in str(vc)


@pytest.mark.parametrize("name", sorted(_INPLACE))
def test_inplace_saved_result_unmodified_still_differentiates(name):
    def run(lib):
        x0 = _leaf(lib, 0.5, 2.0, 3.0)
        x = x0 * 1
        y = _INPLACE[name](lib, x)
        (y * lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64)).sum().backward()
        return y is x, x0.grad, x._version

    _same(run)


def test_inplace_result_used_by_a_later_op_then_modified():
    def run(lib):
        x0 = _leaf(lib, -1.0, 2.0, 3.0)
        x = x0 * 1
        z = x.exp_() * 3
        x.add_(1)
        z.sum().backward()
        return x0.grad

    _same(run, RuntimeError)


# ---------------------------------------------------------------- backward / grad arguments
def test_backward_with_empty_inputs_raises():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        (x * 2).sum().backward(inputs=[])

    _, vc = _same(run, RuntimeError)
    assert "cannot be empty" in str(vc)


def test_grad_with_empty_inputs_raises():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        return lib.autograd.grad((x * 2).sum(), [])

    _, vc = _same(run, RuntimeError)
    assert "cannot be empty" in str(vc)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: 1.0,
        lambda lib: [1.0, 2.0],
        lambda lib: np.ones(2),
    ],
    ids=["float", "list-of-floats", "ndarray"],
)
def test_backward_gradient_that_is_not_a_tensor_raises_type_error(make):
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        (x * 2).backward(make(lib))

    _same(run, TypeError)


def test_backward_gradient_given_as_a_sequence_of_one_tensor():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        (x * 2).backward([lib.tensor([1.0, 3.0], dtype=lib.float64)])
        return x.grad

    _same(run)


def test_backward_gradient_empty_sequence_raises():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        (x * 2).backward([])

    _same(run, RuntimeError)


@pytest.mark.parametrize("api", ["grad", "backward"])
def test_grad_outputs_entry_that_is_not_a_tensor_raises_type_error(api):
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        if api == "grad":
            return lib.autograd.grad((x * 2).sum(), x, grad_outputs=[1.0])
        return lib.autograd.backward((x * 2).sum(), grad_tensors=[1.0])

    _same(run, TypeError)


def test_too_few_grad_outputs_raise_runtime_error():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        outs = [(x * 2).sum(), (x * 3).sum()]
        return lib.autograd.grad(outs, x, grad_outputs=[lib.tensor(1.0, dtype=lib.float64)])

    _, vc = _same(run, RuntimeError)
    assert "got 2 tensors and 1 gradients" in str(vc)


def test_extra_grad_outputs_are_not_used_as_in_torch():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        two = lib.tensor(2.0, dtype=lib.float64)
        g = lib.autograd.grad([(x * 2).sum()], x, grad_outputs=[two, None])
        lib.autograd.backward([(x * 3).sum()], grad_tensors=[None, None])
        return g[0], x.grad

    _same(run)


# ---------------------------------------------------------------- .grad and hooks
def test_assigning_a_tensor_as_its_own_grad_raises():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        x.grad = x

    _, vc = _same(run, RuntimeError)
    assert "own grad" in str(vc)


def test_post_accumulate_hook_returning_a_value_raises_runtime_error():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0)
        x.register_post_accumulate_grad_hook(lambda t: t.grad * 100)
        (x * 2).sum().backward()

    _, vc = _same(run, RuntimeError)
    assert "should return None" in str(vc)


# ---------------------------------------------------------------- custom Function
def _dirty_fn(lib, factor=3.0):
    class Dirty(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(factor)
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * factor + 0 * y

    return Dirty


def test_mark_dirty_returns_the_input_rebased_onto_the_function():
    def run(lib):
        x0 = _leaf(lib, 1.0, 2.0)
        x = x0 * 1
        x.retain_grad()
        y = _dirty_fn(lib).apply(x)
        (y * lib.tensor([1.0, 5.0], dtype=lib.float64)).sum().backward()
        return y is x, x, x._version, x0.grad, x.grad, x.grad_fn.name() == "DirtyBackward"

    _same(run)


def test_mark_dirty_of_a_view_rebases_its_base():
    def run(lib):
        x0 = _leaf(lib, 1.0, 2.0, 3.0)
        x = x0 * 1
        v = x[1:]
        y = _dirty_fn(lib).apply(v)
        (x * lib.tensor([1.0, 2.0, 4.0], dtype=lib.float64)).sum().backward()
        return y is v, x, x._version, x0.grad

    _same(run)


def test_mark_dirty_without_grad_bumps_the_version_only():
    def run(lib):
        x = lib.ones(2, dtype=lib.float64)
        y = _dirty_fn(lib).apply(x)
        return y is x, x, x._version, y.requires_grad, y.grad_fn

    _same(run)


def test_mark_dirty_output_modified_again_raises():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0) * 1
        y = _dirty_fn(lib).apply(x)
        y.add_(1)
        y.sum().backward()

    _same(run, RuntimeError)


def test_mark_dirty_on_a_leaf_requiring_grad_raises():
    def run(lib):
        _dirty_fn(lib).apply(_leaf(lib, 1.0, 2.0))

    _, vc = _same(run, RuntimeError)
    assert "leaf" in str(vc)


def test_mark_dirty_input_not_returned_raises():
    def run(lib):
        class NotReturned(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g * 2

        NotReturned.apply(_leaf(lib, 1.0, 2.0) * 1)

    _, vc = _same(run, RuntimeError)
    assert "were not returned as output" in str(vc)


def test_mark_dirty_with_a_second_output_and_another_input():
    def run(lib):
        class AddInto(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, w):
                a.add_(w)
                ctx.mark_dirty(a)
                return a, w * 5

            @staticmethod
            def backward(ctx, ga, gb):
                return ga, ga + gb * 5

        a = lib.zeros(2, dtype=lib.float64)
        w = _leaf(lib, 1.0, 2.0)
        y, z = AddInto.apply(a, w)
        (y * 2 + z).sum().backward()
        return y is a, a.requires_grad, a.is_leaf, w.grad

    _same(run)


def test_save_for_backward_of_a_non_tensor_raises_type_error():
    def run(lib):
        class SavesInt(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        SavesInt.apply(_leaf(lib, 1.0))

    _, vc = _same(run, TypeError)
    assert "argument 1 is of type int" in str(vc)


def test_save_for_backward_accepts_none():
    def run(lib):
        class SavesNone(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, None)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                x, nothing = ctx.saved_tensors
                return g * x if nothing is None else g

        x = _leaf(lib, 1.0, 2.0)
        SavesNone.apply(x).sum().backward()
        return x.grad

    _same(run)


def test_function_with_vjp_instead_of_backward():
    def run(lib):
        VjpOnly = type(
            "VjpOnly",
            (lib.autograd.Function,),
            {
                "forward": staticmethod(lambda ctx, x: x * 2),
                "vjp": staticmethod(lambda ctx, g: g * 7),
            },
        )
        x = _leaf(lib, 1.0, 2.0)
        VjpOnly.apply(x).sum().backward()
        return x.grad

    _same(run)


@pytest.mark.parametrize("bad", [lambda g: g, lambda g: 1.0], ids=["tensor", "float"])
def test_gradient_for_a_non_tensor_argument_raises(bad):
    def run(lib):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g * 2, bad(g)

        x = _leaf(lib, 1.0, 2.0)
        Scale.apply(x, 2.0).sum().backward()

    _, vc = _same(run, RuntimeError)
    assert "position 2" in str(vc) and "not a Variable" in str(vc)


def test_gradient_none_for_a_non_tensor_argument_is_fine():
    def run(lib):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                ctx.k = k
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None

        x = _leaf(lib, 1.0, 2.0)
        Scale.apply(x, 3.0).sum().backward()
        return x.grad

    _same(run)


# ---------------------------------------------------------------- detach_ and complex seeds
@pytest.mark.parametrize(
    "make",
    [lambda lib: lib.ones(3)[1:], lambda lib: lib.ones(3, 2).t(), lambda lib: lib.ones(3).detach()],
    ids=["slice", "transpose", "detached"],
)
def test_detach_in_place_of_a_view_raises(make):
    def run(lib):
        v = make(lib)
        return v.detach_() is v

    _same(run, None if make(cr)._view is None else RuntimeError)


def test_detach_in_place_of_a_view_of_a_graph_tensor_raises():
    def run(lib):
        x = _leaf(lib, 1.0, 2.0) * 1
        x[0:1].detach_()

    _, vc = _same(run, RuntimeError)
    assert "Can't detach views in-place" in str(vc)


@pytest.mark.parametrize("api", ["backward", "grad", "autograd.backward"])
def test_implicit_gradient_of_a_complex_scalar_raises(api):
    def run(lib):
        x = lib.tensor([1 + 1j], requires_grad=True)
        y = (x * 2).sum()
        if api == "grad":
            return lib.autograd.grad(y, x)
        if api == "autograd.backward":
            return lib.autograd.backward(y)
        return y.backward()

    _, vc = _same(run, RuntimeError)
    assert "real scalar outputs" in str(vc)


def test_explicit_gradient_of_a_complex_scalar_is_fine():
    def run(lib):
        x = lib.tensor([1 + 1j, 2 - 1j], requires_grad=True)
        (x * x).sum().backward(lib.tensor(1 - 2j))
        return x.grad

    _same(run)


# ---------------------------------------------------------------- grad-mode decorators
@pytest.mark.parametrize("mode", ["no_grad", "enable_grad"])
def test_decorating_a_class_warns_future_warning(mode):
    def run(lib):
        x = _leaf(lib, 1.0)

        class Holder:
            def __init__(self):
                self.req = (x * 2).requires_grad

        with pytest.warns(FutureWarning, match="Decorating classes is deprecated"):
            wrapped = getattr(lib, mode)()(Holder)
        with lib.no_grad() if mode == "enable_grad" else lib.enable_grad():
            return wrapped().req

    _same(run)
