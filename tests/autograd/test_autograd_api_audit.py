"""The autograd API audited against PyTorch: ``autograd.grad`` / ``backward`` arguments, tensor
and module hooks (what ``register_full_backward_hook`` receives), custom ``Function`` outputs
and ``vmap`` rules, ``torch.func`` auxiliary outputs and argument errors,
``autograd.functional`` and ``utils.checkpoint``.

Each case is written once against a module ``T`` (``torch`` or ``chainrule``) and run under
both; the results (values, dtypes, shapes, ``requires_grad``), the error type and the
warnings must agree.
"""

from __future__ import annotations

import builtins
import importlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

A = [0.5, -1.5, 2.0]
CASES: dict[str, Callable] = {}


def case(fn: Callable) -> Callable:
    CASES[fn.__name__] = fn
    return fn


def _leaf(T: Any, values: Any = A) -> Any:
    return T.tensor(values, dtype=T.float64, requires_grad=True)


def _norm(v: Any) -> Any:
    """A comparable form of a case's result: tensors as (dtype, shape, requires_grad, values)."""
    if isinstance(v, (torch.Tensor, cr.Tensor)):
        dtype = str(v.dtype).split(".")[-1]
        return ("T", dtype, tuple(v.shape), bool(v.requires_grad), v.detach().numpy())
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_norm(x) for x in v])
    if isinstance(v, dict):
        return ("dict", {k: _norm(x) for k, x in v.items()})
    return ("V", v)


def _run(fn: Callable, T: Any) -> tuple:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out: tuple = ("ok", _norm(fn(T)))
        except Exception as e:  # noqa: BLE001 - the error type is what is compared
            out = ("err", type(e), str(e))
        finally:
            T.set_grad_enabled(True)
    kept = sorted(
        str(w.message)[:60]
        for w in caught
        if "jit" not in str(w.message) and "Anomaly Detection" not in str(w.message)
    )
    return out, kept


def _assert_same(want: Any, got: Any, path: str = "result") -> None:
    assert type(want) is type(got), f"{path}: {want!r} vs {got!r}"
    if isinstance(want, tuple) and want and want[0] == "T":
        assert want[1:4] == got[1:4], f"{path}: {want[1:4]} vs {got[1:4]}"
        np.testing.assert_allclose(got[4], want[4], rtol=1e-12, atol=1e-12, err_msg=path)
    elif isinstance(want, tuple) and want and want[0] in ("list", "tuple", "dict"):
        assert want[0] == got[0], f"{path}: {want[0]} vs {got[0]}"
        items = want[1].items() if want[0] == "dict" else enumerate(want[1])
        assert len(want[1]) == len(got[1]), f"{path}: length {len(want[1])} vs {len(got[1])}"
        for k, w in items:
            _assert_same(w, got[1][k], f"{path}[{k!r}]")
    else:
        assert want == got, f"{path}: {want!r} vs {got!r}"


# --- autograd.grad / backward (already agreeing: regressions) --------------------------------


@case
def grad_go_none_for_scalar(T):
    x = _leaf(T)
    return T.autograd.grad([(x * x).sum(), x * 3], x, [None, T.ones(3, dtype=T.float64)])


@case
def grad_go_none_for_nonscalar(T):
    x = _leaf(T)
    return T.autograd.grad([(x * x).sum(), x * 3], x, [None, None])


@case
def grad_second_time_freed(T):
    x = _leaf(T)
    y = x.exp().sum()
    T.autograd.grad(y, x)
    return T.autograd.grad(y, x)


@case
def grad_materialize(T):
    x, z = _leaf(T), _leaf(T)
    return T.autograd.grad((x * x).sum(), [x, z], materialize_grads=True)


@case
def grad_materialize_allow_unused_false(T):
    x, z = _leaf(T), _leaf(T)
    return T.autograd.grad((x * x).sum(), [x, z], allow_unused=False, materialize_grads=True)


@case
def grad_unused(T):
    x, z = _leaf(T), _leaf(T)
    return T.autograd.grad((x * x).sum(), [x, z])


@case
def grad_batched(T):
    x = _leaf(T)
    return T.autograd.grad(x.sin(), x, T.eye(3, dtype=T.float64), is_grads_batched=True)


@case
def grad_create_graph_double(T):
    x = _leaf(T)
    (g,) = T.autograd.grad((x**3).sum(), x, create_graph=True)
    return g, T.autograd.grad(g.sum(), x)


@case
def backward_inputs_nonleaf(T):
    x = _leaf(T)
    h = x * 2
    (h * h).sum().backward(inputs=[h])
    return h.grad, str(x.grad)


@case
def backward_accumulates(T):
    x = _leaf(T)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    return x.grad


@case
def nonleaf_grad_read_warns(T):
    x = _leaf(T)
    h = x * 2
    (h * h).sum().backward()
    return str(h.grad)


@case
def retain_grad_with_hook(T):
    x = _leaf(T)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 3)
    (h * h).sum().backward()
    return x.grad, h.grad


@case
def requires_grad_int_tensor(T):
    return T.tensor([1, 2]).requires_grad_()


# --- tensor hooks --------------------------------------------------------------------------


@case
def hook_handle_as_context_manager(T):
    x = _leaf(T)
    with x.register_hook(lambda g: g * 2):
        pass
    (x * x).sum().backward()
    return x.grad


@case
def hook_handle_context_nonleaf(T):
    x = _leaf(T)
    h = x * 1
    with h.register_hook(lambda g: g * 2):
        (h * h).sum().backward(retain_graph=True)
    g1 = x.grad.clone()
    (h * h).sum().backward()
    return g1, x.grad


@case
def hook_order_and_post_accumulate(T):
    log = []
    x = _leaf(T)
    x.register_post_accumulate_grad_hook(lambda p: log.append(("post", p.grad.clone())))
    x.register_hook(lambda g: (log.append(("pre", g.clone())), g * 2)[1])
    (x * x).sum().backward()
    return log


@case
def node_hooks_order(T):
    log = []
    x = _leaf(T)
    y = x * 2
    y.grad_fn.register_prehook(lambda go: log.append("prehook"))
    y.register_hook(lambda g: log.append("tensorhook"))
    y.grad_fn.register_hook(lambda gi, go: log.append("posthook"))
    (y * y).sum().backward()
    return log


# --- module full backward hooks --------------------------------------------------------------


def _hooked(T: Any, forward: Callable, *, pre: bool = False) -> tuple:
    log: list = []

    class M(T.nn.Module):
        def forward(self, *args):
            return forward(T, *args)

    m = M()

    def show(gs):
        return [None if g is None else g.detach().clone() for g in gs]

    m.register_full_backward_hook(lambda mod, gi, go: log.append((show(gi), show(go))))
    if pre:
        m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", show(go))))
    return m, log


@case
def full_hook_tensor_input_without_grad_gets_zeros(T):
    m, log = _hooked(T, lambda T, a, b: a * b)
    (m(_leaf(T), T.tensor(A, dtype=T.float64) + 1) ** 2).sum().backward()
    return log


@case
def full_hook_int_tensor_input(T):
    m, log = _hooked(T, lambda T, a, b: a * b)
    (m(_leaf(T), T.tensor([2, 2, 2])) ** 2).sum().backward()
    return log


@case
def full_hook_non_tensor_input_is_none(T):
    m, log = _hooked(T, lambda T, a, n, b: a * b * n)
    x, y = _leaf(T), _leaf(T)
    m(x, 3, y).sum().backward()
    return log, x.grad, y.grad


@case
def full_hook_unused_output_is_none(T):
    m, log = _hooked(T, lambda T, a: (a * 2, a * 3), pre=True)
    y1, _ = m(_leaf(T))
    (y1**2).sum().backward()
    return log


@case
def full_hook_output_without_grad(T):
    m, log = _hooked(T, lambda T, a: (a * 2, a.detach() * 3, T.tensor([1, 2]), 5))
    out = m(_leaf(T))
    (out[0] ** 2).sum().backward()
    return log, out[3]


@case
def full_hook_list_output_warns_and_skips(T):
    m, log = _hooked(T, lambda T, a: [a * 2, a * 3])
    x = _leaf(T)
    m(x)[0].sum().backward()
    return log, x.grad


@case
def full_hook_no_input_requires_grad(T):
    log: list = []

    class M(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = T.nn.Parameter(T.ones(3, dtype=T.float64))

        def forward(self, a, b):
            return a * b * self.w

    m = M()
    m.register_full_backward_hook(lambda mod, gi, go: log.append((gi, go[0].clone())))
    m(T.tensor(A, dtype=T.float64), T.ones(3, dtype=T.float64)).sum().backward()
    return log


@case
def full_hook_replaces_grad_input(T):
    class M(T.nn.Module):
        def forward(self, a, n, b):
            return a * b * n

    m = M()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0, None, gi[2] * 10))
    x, y = _leaf(T), _leaf(T)
    m(x, 3, y).sum().backward()
    return x.grad, y.grad


@case
def full_hook_wrong_number_of_grad_input(T):
    class M(T.nn.Module):
        def forward(self, a, n, b):
            return a * b * n

    m = M()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[2]))
    x, y = _leaf(T), _leaf(T)
    m(x, 3, y).sum().backward()
    return x.grad


@case
def full_pre_hook_fills_unused_output(T):
    class M(T.nn.Module):
        def forward(self, a):
            return a * 2, a * 3

    m = M()
    m.register_full_backward_pre_hook(lambda mod, go: (go[0], T.ones(3, dtype=T.float64)))
    x = _leaf(T)
    y1, _ = m(x)
    y1.sum().backward()
    return x.grad


@case
def full_hook_linear_contents(T):
    lin = T.nn.Linear(3, 2).double()
    with T.no_grad():
        lin.weight.copy_(T.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]], dtype=T.float64))
        lin.bias.fill_(0.5)
    log: list = []
    lin.register_full_backward_hook(lambda mod, gi, go: log.append((gi[0].clone(), go[0].clone())))
    x = _leaf(T, [A, A])
    (lin(x) ** 2).sum().backward()
    return log, lin.weight.grad


# --- custom Functions ------------------------------------------------------------------------


@case
def function_non_tensor_outputs_pass_through(T):
    seen: list = []

    class F(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, 5, a.argmax(), "s"

        @staticmethod
        def backward(ctx, g, g5, gi, gs):
            seen.append((g5, gi, gs))
            return g * 2

    x = _leaf(T)
    y, n, i, s = F.apply(x)
    y.sum().backward()
    return n, s, i, x.grad, seen


@case
def function_lone_non_tensor_output(T):
    class F(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return [a * 2, a * 3]

        @staticmethod
        def backward(ctx, g):
            return g

    class G(F):
        @staticmethod
        def forward(ctx, a):
            return None

    out = F.apply(_leaf(T))
    return type(out).__name__, G.apply(_leaf(T))


@case
def function_setup_context_non_tensor_output(T):
    class F(T.autograd.Function):
        @staticmethod
        def forward(a):
            return a * 2, 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g, n):
            return g * 5

    x = _leaf(T)
    y, n = F.apply(x)
    y.sum().backward()
    return n, x.grad


@case
def function_materialize_and_needs_input_grad(T):
    log: list = []

    class F(T.autograd.Function):
        @staticmethod
        def forward(ctx, a, n, b):
            ctx.set_materialize_grads(False)
            return a * n, b * n

        @staticmethod
        def backward(ctx, g1, g2):
            log.append((ctx.needs_input_grad, g2 is None))
            return g1 * 2, None, None

    x = _leaf(T)
    y, _ = F.apply(x, 2, _leaf(T))
    y.sum().backward()
    return log, x.grad


def _vmapped_function(T: Any) -> type:
    class F(T.autograd.Function):
        @staticmethod
        def forward(a, b):
            return a * b, a + 1

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g, g2):
            a, b = ctx.saved_tensors
            return g * b + g2, g * a

        @staticmethod
        def vmap(info, in_dims, a, b):  # ten times the product: the rule must be the one used
            a = a.movedim(in_dims[0], 0) if in_dims[0] is not None else a
            b = b.movedim(in_dims[1], 0) if in_dims[1] is not None else b
            out_dims = (0, None if in_dims[0] is None else 0)
            return (a * b * 10 * info.batch_size / info.batch_size, a + 1), out_dims

    return F


@case
def function_vmap_staticmethod_is_used(T):
    F = _vmapped_function(T)
    x = T.arange(6.0, dtype=T.float64).reshape(2, 3)
    return (
        T.func.vmap(F.apply, in_dims=(1, None))(x, T.ones(1, dtype=T.float64)),
        T.func.vmap(F.apply, in_dims=(None, 0))(T.ones(1, dtype=T.float64), x[0]),
        T.func.vmap(T.func.vmap(F.apply))(x.reshape(2, 3, 1), x.reshape(2, 3, 1) + 1),
    )


@case
def function_vmap_staticmethod_gradient_is_backward(T):
    F = _vmapped_function(T)
    xs = T.arange(6.0, dtype=T.float64).reshape(2, 3)
    return T.func.vmap(T.func.grad(lambda v: F.apply(v, v)[0].sum()))(xs)


@case
def function_vmap_staticmethod_bad_return(T):
    class F(T.autograd.Function):
        @staticmethod
        def forward(a):
            return a * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g

        @staticmethod
        def vmap(info, in_dims, a):
            return a

    return T.func.vmap(F.apply)(T.ones(2, 3, dtype=T.float64))


# --- torch.func / autograd.functional ------------------------------------------------------


def _x0(T: Any) -> Any:
    return T.tensor(A, dtype=T.float64)


@case
def func_grad_aux_is_unwrapped(T):
    return T.func.grad(lambda a: ((a * a).sum(), {"m": a.max()}), has_aux=True)(_x0(T))


@case
def func_grad_aux_stays_connected_to_outer_graph(T):
    x = _leaf(T)
    g, aux = T.func.grad(lambda a: ((a * a).sum(), a.exp()), has_aux=True)(x)
    (ga,) = T.autograd.grad(aux.sum(), x)
    return g, aux, ga


@case
def func_vjp_aux_is_unwrapped(T):
    out, fn, aux = T.func.vjp(lambda v: (v.sin() * 2, v.sum()), _x0(T), has_aux=True)
    return out, fn(T.ones(3, dtype=T.float64)), aux


@case
def func_jacrev_aux_is_unwrapped(T):
    return T.func.jacrev(lambda v: (v.sin() * v, v.sum()), has_aux=True)(_x0(T))


@case
def func_jacfwd_aux(T):
    return T.func.jacfwd(lambda v: (v.sin() * v, v.sum()), has_aux=True)(_x0(T))


@case
def func_grad_has_aux_without_tuple(T):
    return T.func.grad(lambda a: (a * a).sum(), has_aux=True)(_x0(T))


@case
def func_vjp_has_aux_without_tuple(T):
    return T.func.vjp(lambda a: a * a, _x0(T), has_aux=True)


@case
def func_grad_argnums_out_of_range(T):
    return T.func.grad(lambda a: a.sum(), argnums=2)(_x0(T))


@case
def func_grad_negative_argnums(T):
    return T.func.grad(lambda a, b: (a * b.exp()).sum(), argnums=-1)(_x0(T), _x0(T))


@case
def func_jacfwd_randomness_same(T):
    T.manual_seed(0)
    j = T.func.jacfwd(lambda v: v * T.rand(3, dtype=T.float64), randomness="same")(_x0(T) * 0 + 1)
    return (j - T.diag(j.diagonal())).abs().sum()


@case
def func_jacfwd_randomness_bad(T):
    return T.func.jacfwd(lambda v: v, randomness="x")(_x0(T))


@case
def func_jacrev_argnums_tuple(T):
    return T.func.jacrev(lambda a, b: a * b, argnums=(0, 1))(_x0(T), _x0(T) + 1)


@case
def hessian_forward_over_reverse(T):
    # values only: torch's result has a grad_fn even for inputs without grad (a leak of its
    # inner create_graph), which chainrule does not copy
    f = lambda v: (v.sin() * v).sum()  # noqa: E731
    kw = dict(vectorize=True, outer_jacobian_strategy="forward-mode")
    return T.autograd.functional.hessian(f, _x0(T), **kw).detach()


@case
def jacobian_forward_mode(T):
    fv = lambda v: v.sin() * v.roll(1)  # noqa: E731
    return T.autograd.functional.jacobian(fv, _x0(T), vectorize=True, strategy="forward-mode")


@case
def hvp_vhp(T):
    f = lambda v: (v.sin() * v).sum()  # noqa: E731
    v = T.tensor([1.0, 2.0, 3.0], dtype=T.float64)
    return T.autograd.functional.hvp(f, _x0(T), v), T.autograd.functional.vhp(f, _x0(T), v)


# --- checkpoint -----------------------------------------------------------------------------


@case
def checkpoint_early_stop_block(T):
    cp = importlib.import_module(T.__name__ + ".utils.checkpoint")
    x = _leaf(T)
    with cp.set_checkpoint_early_stop(False):
        y = cp.checkpoint(lambda v: (v.sin() * v).exp(), x, use_reentrant=False)
    y.sum().backward()
    return y, x.grad


@case
def checkpoint_reentrant_rejects_grad(T):
    cp = importlib.import_module(T.__name__ + ".utils.checkpoint")
    x = _leaf(T)
    y = cp.checkpoint(lambda v: v.sin(), x, use_reentrant=True)
    return T.autograd.grad(y.sum(), x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name: str) -> None:
    want, want_warnings = _run(CASES[name], torch)
    got, got_warnings = _run(CASES[name], cr)
    if want[0] == "err":  # chainrule's error is torch's type or a subclass of it
        assert got[0] == "err", f"torch raised {want[1]}: {want[2]}; chainrule returned {got}"
        wanted = getattr(builtins, want[1].__name__)
        assert issubclass(got[1], wanted), f"torch raised {want[1]}: {want[2]}; chainrule {got}"
    else:
        assert got[0] == "ok", f"chainrule raised {got[1]}: {got[2]}"
        _assert_same(want[1], got[1])
    assert got_warnings == want_warnings


def test_function_vmap_rule_bad_return_message() -> None:
    class F(cr.autograd.Function):
        @staticmethod
        def forward(a):
            return a * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g

        @staticmethod
        def vmap(info, in_dims, a):
            return (a, a), (0, 0, 0)

    with pytest.raises(RuntimeError, match="incompatible"):
        cr.func.vmap(F.apply)(cr.ones(2, 3))


def test_full_backward_hook_error_names_counts() -> None:
    class M(cr.nn.Module):
        def forward(self, a, n, b):
            return a * b * n

    m = M()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0],))
    with pytest.raises(RuntimeError, match="got 1, but expected 3"):
        m(_leaf(cr), 3, _leaf(cr)).sum().backward()
