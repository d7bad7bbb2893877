"""``func.jvp`` / forward-mode leftovers against PyTorch (session 33): what ``f`` sees of a
primal (``is_leaf``), a closure tensor that requires grad (``f`` runs once), a primal's
``_version`` after ``f`` changes it in place, ``func.grad`` of a result cut from the input
(zeros), ``jacfwd``'s ``randomness`` modes, and no copy of the primals under grad mode."""

from __future__ import annotations

import functools
import tracemalloc

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal(4)
V = np.random.default_rng(1).standard_normal(4)
W = np.random.default_rng(2).standard_normal(4)


def _np(t):
    return t.detach().numpy(force=True)  # (torch may give a ZeroTensor)


def _close(a, b):
    np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("non_leaf", [False, True])
def test_flags_inside_f(requires_grad, non_leaf):
    def run(lib):
        x = lib.tensor(X, requires_grad=requires_grad)
        p = x * 2 if non_leaf else x
        seen = []

        def f(a):
            b = a * 3
            seen.append((a.is_leaf, a.requires_grad, b.is_leaf, b.requires_grad))
            if not requires_grad:  # (chainrule shows the recorded graph's grad_fn otherwise)
                seen.append((a.grad_fn is None, b.grad_fn is None))
            return b

        lib.func.jvp(f, (p,), (lib.tensor(V),))
        return seen

    assert run(cr) == run(torch)


def _closure_case(lib, kind):
    calls = []
    w = lib.tensor(W, requires_grad=True)
    if kind == "cell":

        def f(a):
            calls.append(1)
            return (a * w).sin()

    elif kind == "module":
        lin = lib.nn.Linear(4, 3).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(np.outer(np.arange(3.0), W)))
            lin.bias.copy_(lib.tensor(W[:3]))
        w = lin.weight

        def f(a):
            calls.append(1)
            return lin(a).tanh()

    elif kind == "partial":

        def g(a, scale):
            calls.append(1)
            return (a * scale).exp()

        f = functools.partial(g, scale=w)
    else:  # a bound method of an object holding w

        class Holder:
            def __init__(self):
                self.w = w

            def apply(self, a):
                calls.append(1)
                return a.cos() * self.w

        f = Holder().apply
    out, tan = lib.func.jvp(f, (lib.tensor(X),), (lib.tensor(V),))
    g_out = lib.autograd.grad(out.sum(), w, retain_graph=True)[0]
    g_tan = lib.autograd.grad(tan.sum(), w)[0]
    return len(calls), out, tan, g_out, g_tan


@pytest.mark.parametrize("kind", ["cell", "module", "partial", "method"])
def test_closure_tensor_requiring_grad_runs_f_once(kind):
    n_cr, *res_cr = _closure_case(cr, kind)
    n_t, *res_t = _closure_case(torch, kind)
    assert n_cr == n_t == 1
    for a, b in zip(res_cr, res_t, strict=True):
        _close(a, b)
    assert res_cr[0].requires_grad and res_cr[1].requires_grad


class _Slotted:
    __slots__ = ("w",)

    def __init__(self, w):
        self.w = w


def test_capture_the_search_misses_still_differentiates():
    """A tensor behind an object without ``__dict__``: ``f`` runs again, recording."""

    def run(lib):
        box = _Slotted(lib.tensor(W, requires_grad=True))
        holder = [box]
        out, tan = lib.func.jvp(lambda a: a.sin() * holder[0].w, (lib.tensor(X),), (lib.tensor(V),))
        return out, tan, lib.autograd.grad(tan.sum(), box.w)[0]

    for a, b in zip(run(cr), run(torch), strict=True):
        _close(a, b)


def test_missed_capture_with_inplace_primal_is_refused():
    box = _Slotted(cr.tensor(W, requires_grad=True))
    holder = [box]

    def f(a):
        a.mul_(2)
        return a * holder[0].w

    with pytest.raises(RuntimeError, match="changed a primal in place"):
        cr.func.jvp(f, (cr.tensor(X),), (cr.tensor(V),))


@pytest.mark.parametrize("mode", ["grad", "no_grad", "requires_grad_non_leaf"])
def test_primal_version_bumps_when_f_changes_it(mode):
    def run(lib):
        if mode == "requires_grad_non_leaf":
            x = lib.tensor(X, requires_grad=True).clone()
        else:
            x = lib.tensor(X)
        before = x._version

        def f(a):
            a.mul_(2)
            return a * 1

        if mode == "no_grad":
            with lib.no_grad():
                out, tan = lib.func.jvp(f, (x,), (lib.tensor(V),))
        else:
            out, tan = lib.func.jvp(f, (x,), (lib.tensor(V),))
        return x._version - before, x, out, tan

    (dv_c, *rc), (dv_t, *rt) = run(cr), run(torch)
    assert dv_c == dv_t == 1
    for a, b in zip(rc, rt, strict=True):
        _close(a, b)


_DETACHED = {
    "detach_only": lambda a: a.detach() * 2,
    "detach_times_self": lambda a: a.detach() * a,
    "detach_sin_plus": lambda a: a.detach().sin() + a,
}


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("name", sorted(_DETACHED))
def test_func_grad_through_jvp_of_detached_input(name, which):
    """``func.grad`` of a jvp result that does not depend on the input: zeros, as torch."""

    def run(lib):
        f = _DETACHED[name]

        def g(y):
            return lib.func.jvp(f, (y,), (lib.ones(4, dtype=lib.float64),))[which].sum()

        return [lib.func.grad(g)(lib.tensor(X)), lib.func.jacrev(g)(lib.tensor(X))]

    for a, b in zip(run(cr), run(torch), strict=True):
        _close(a, b)


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, a: (a.detach() * 2).sum(),
        lambda lib, a: lib.ones((), dtype=lib.float64),
        lambda lib, a: (a * 0).sum(),
    ],
)
def test_func_grad_of_output_not_requiring_grad(f):
    def run(lib):
        return lib.func.grad(functools.partial(f, lib))(lib.tensor(X))

    _close(run(cr), run(torch))


_RANDOM = {
    "rand": lambda lib, a: a * lib.rand(4, dtype=lib.float64),
    "randn_scalar": lambda lib, a: a * lib.randn((), dtype=lib.float64),
    "dropout": lambda lib, a: lib.nn.functional.dropout(a, 0.5),
    "bernoulli": lambda lib, a: a * lib.bernoulli(lib.full((4,), 0.5, dtype=lib.float64)),
}


@pytest.mark.parametrize("name", sorted(_RANDOM))
def test_jacfwd_randomness_error_raises_as_torch(name):
    def run(lib):
        lib.manual_seed(3)
        with pytest.raises(RuntimeError) as info:
            lib.func.jacfwd(functools.partial(_RANDOM[name], lib))(lib.tensor(X))
        return str(info.value), lib.rand(3, dtype=lib.float64)  # the generator did not move

    (msg_c, next_c), (msg_t, next_t) = run(cr), run(torch)
    assert msg_c == msg_t
    _close(next_c, next_t)


@pytest.mark.parametrize("randomness", ["same", "different"])
@pytest.mark.parametrize("name", sorted(_RANDOM))
def test_jacfwd_randomness_same_and_different_match_torch(name, randomness):
    def run(lib):
        lib.manual_seed(5)
        f = functools.partial(_RANDOM[name], lib)
        jac = lib.func.jacfwd(f, randomness=randomness)(lib.tensor(X))
        return jac, lib.rand(3, dtype=lib.float64)

    for a, b in zip(run(cr), run(torch), strict=True):
        _close(a, b)


def test_jacfwd_randomness_error_without_random_ops_and_hessian():
    def run(lib):
        jac = lib.func.jacfwd(lambda a: a.sin() * a)(lib.tensor(X))
        lib.manual_seed(0)
        with pytest.raises(RuntimeError, match="randomness error mode"):
            lib.func.hessian(lambda a: (a * lib.rand(4, dtype=lib.float64)).sum())(lib.tensor(X))
        return jac

    _close(run(cr), run(torch))


@pytest.mark.parametrize("name", sorted(_RANDOM))
def test_jacrev_and_vmap_randomness_match_torch(name):
    def run(lib):
        lib.manual_seed(7)
        f = functools.partial(_RANDOM[name], lib)
        jac = lib.func.jacrev(f)(lib.tensor(X))
        batch = lib.tensor(np.stack([X, W, X * W]))
        with pytest.raises(RuntimeError, match="randomness error mode"):
            lib.func.vmap(f)(batch)
        same = lib.func.vmap(f, randomness="same")(batch)
        different = lib.func.vmap(f, randomness="different")(batch)
        return jac, same, different, lib.rand(3, dtype=lib.float64)

    for a, b in zip(run(cr), run(torch), strict=True):
        _close(a, b)


def test_jvp_under_grad_mode_does_not_copy_primals():
    big = cr.tensor(np.random.default_rng(4).standard_normal(1_000_000))
    tangent = cr.ones(1_000_000, dtype=cr.float64)
    cr.func.jvp(lambda a: a[:2] * 2, (big,), (tangent,))  # warm up
    tracemalloc.start()
    try:
        out, tan = cr.func.jvp(lambda a: a[:2] * 2, (big,), (tangent,))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < big.numel() * 8 // 2  # far below one copy of the primal (8 MB)
    np.testing.assert_allclose(_np(tan), [2.0, 2.0])


def test_batch_norm_training_under_jvp_refuses_captured_write():
    bn = cr.nn.BatchNorm1d(3)
    x = cr.tensor(np.random.default_rng(6).standard_normal((4, 3)))
    with pytest.raises(RuntimeError, match="mutate a captured Tensor"):
        cr.func.jvp(bn.double(), (x,), (cr.ones_like(x),))


def test_closure_tensor_and_primal_changed_in_place():
    """Recorded pass (a captured tensor requires grad) with an in-place change of the primal:
    once, on the primal's memory and version, differentiable w.r.t. the captured tensor."""

    def run(lib):
        w = lib.tensor(W, requires_grad=True)
        x = lib.tensor(X)
        calls = []

        def f(a):
            calls.append(1)
            a.mul_(2)
            return (a * w).sin()

        out, tan = lib.func.jvp(f, (x,), (lib.tensor(V),))
        g = lib.autograd.grad(tan.sum(), w)[0]
        return len(calls), x._version, x, out, tan, g

    (n_c, v_c, *rc), (n_t, v_t, *rt) = run(cr), run(torch)
    assert (n_c, v_c) == (n_t, v_t) == (1, 1)
    for a, b in zip(rc, rt, strict=True):
        _close(a, b)
