"""``func.jvp`` edge cases against PyTorch: what ``f`` sees (``requires_grad`` of the primal
and of tensors computed from it, read False inside torch.func.jvp), a function that changes
its primal in place (once), the embedding ``max_norm`` renorm of fuzz seed 505 (a branch on
``requires_grad`` that skipped a write through a view), and gradients through the results."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((2, 3, 2))
T = np.random.default_rng(1).standard_normal((2, 3, 2))


def _np(t):
    return t.detach().numpy()


def _both(fn):
    return fn(torch), fn(cr)


def _close(a, b):
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(_np(v), _np(u), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_flags_inside_f_match_torch(requires_grad):
    def run(lib):
        x = lib.tensor(X, requires_grad=requires_grad)
        w = lib.tensor(X[0], requires_grad=True)
        seen = []

        def f(a):
            y = a * 2
            z = a * w
            seen.extend([a.requires_grad, y.requires_grad, z.requires_grad, w.requires_grad])
            seen.append(lib.is_grad_enabled())
            return a.sin() if not a.requires_grad else a * 2

        out, tan = lib.func.jvp(f, (x,), (lib.tensor(T),))
        return seen, out, tan

    (s_t, o_t, t_t), (s_c, o_c, t_c) = _both(run)
    assert s_c == s_t == [False, False, False, True, True]
    _close((o_t, t_t), (o_c, t_c))


def test_branch_on_requires_grad_keeps_outer_gradients():
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        t = lib.tensor(T)

        def f(a):
            return a.sin() * a if not a.requires_grad else a

        out, tan = lib.func.jvp(f, (x,), (t,))
        assert out.requires_grad and tan.requires_grad
        g_out = lib.autograd.grad(out.sum(), x, retain_graph=True)[0]
        g_tan = lib.autograd.grad(tan.sum(), x)[0]
        return out, tan, g_out, g_tan

    _close(*_both(run))


def test_in_place_change_of_the_primal_happens_once():
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        y = x * 1  # a non-leaf primal that requires grad
        plain = lib.tensor(X)
        res = []
        for p in (y, plain):

            def f(a):
                a.mul_(2)
                return a * 3

            out, tan = lib.func.jvp(f, (p,), (lib.tensor(T),))
            res += [p, out, tan]
        return res

    _close(*_both(run))


def test_embedding_max_norm_through_a_view_of_amax_fuzz_505():
    # reduced from `python -m tests.fuzz.hunt 30 505`: the weight is copied only when it
    # reads requires_grad True; torch reads False, renorms the amax output in place
    def run(lib):
        F = lib.nn.functional
        x = lib.tensor(X, requires_grad=True)

        def f(a):
            m = a.amax(0)
            w = m.view(3, 2)
            if w.requires_grad:
                w = w * 1
            e = F.embedding(lib.tensor([[0, 1], [2, 0]]), w, max_norm=0.5)
            return e, m

        out, tan = lib.func.jvp(f, (x,), (lib.tensor(T),))
        return (*out, *tan)

    _close(*_both(run))


def test_no_grad_and_detach_inside_f():
    def run(lib):
        def f(a):
            with lib.no_grad():
                y = a * 3  # forward AD ignores no_grad, as torch
            return y + a.detach() * a

        return lib.func.jvp(f, (lib.tensor(X),), (lib.tensor(T),))

    _close(*_both(run))


def test_reverse_transform_inside_jvp_sees_requires_grad():
    def run(lib):
        seen = []

        def g(a):
            def inner(b):
                seen.append(b.requires_grad)
                return (b**3).sum()

            return lib.func.grad(inner)(a)

        x = lib.tensor(X[0], requires_grad=True)
        out, tan = lib.func.jvp(g, (x,), (lib.tensor(T[0]),))
        return seen, out, tan, lib.autograd.grad(tan.sum(), x)[0]

    (s_t, *r_t), (s_c, *r_c) = _both(run)
    assert s_t == s_c == [True]
    _close(r_t, r_c)


def test_hessian_and_jacfwd_unchanged():
    def run(lib):
        h = lib.func.hessian(lambda a: (a.sin() * a).sum())(lib.tensor(X[0, 0]))
        j = lib.func.jacfwd(lambda a: (a.exp() * a).sum(0))(lib.tensor(X[0]))
        return h, j

    _close(*_both(run))


def test_dropout_and_closure_parameter_draw_once():
    def run(lib):
        lib.manual_seed(0)
        w = lib.tensor(X[0], requires_grad=True)

        def f(a):
            return lib.nn.functional.dropout(a * w, 0.5)

        out, tan = lib.func.jvp(f, (lib.tensor(X[1]),), (lib.tensor(T[1]),))
        return out, tan, lib.autograd.grad(tan.sum(), w)[0], lib.rand(3, dtype=lib.float64)

    _close(*_both(run))


def test_closure_parameter_and_in_place_primal_change_once():
    # a closure tensor that requires grad is seen only in the results: chainrule runs f a
    # second time, recording, from the primal's values before the first run changed them
    def run(lib):
        x = lib.tensor([1.0, 2.0])
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        out, tan = lib.func.jvp(lambda a: a.mul_(2) * w, (x,), (lib.tensor([1.0, 1.0]),))
        return x, out, tan, lib.autograd.grad(tan.sum(), w)[0]

    _close(*_both(run))


def test_in_place_change_of_a_primal_that_requires_grad_is_recorded_on_it():
    def run(lib):
        x0 = lib.tensor([1.0, 2.0], requires_grad=True)
        x = x0 * 1

        def f(a):
            a.mul_(2)
            return a * a

        out, tan = lib.func.jvp(f, (x,), (lib.tensor([1.0, 1.0]),))
        grads = [lib.autograd.grad(r.sum(), x0, retain_graph=True)[0] for r in (tan, out, x)]
        return x, out, tan, *grads

    _close(*_both(run))


def test_a_tangent_that_requires_grad_makes_only_the_tangent_differentiable():
    def run(lib):
        t = lib.tensor(T[0], requires_grad=True)
        out, tan = lib.func.jvp(lambda a: a.sin() * a, (lib.tensor(X[0]),), (t,))
        assert not out.requires_grad and tan.requires_grad
        return out, tan, lib.autograd.grad(tan.sum(), t)[0]

    _close(*_both(run))


def test_flags_inside_f_of_a_jvp_under_vmap():
    def run(lib):
        seen = []

        def f(a):
            seen.extend([a.requires_grad, (a * 2).requires_grad])
            return a.sin() if not a.requires_grad else a

        x = lib.tensor(X[0], requires_grad=True)
        out, tan = lib.func.vmap(lambda p, t: lib.func.jvp(f, (p,), (t,)))(x, lib.tensor(T[0]))
        return seen, out, tan, lib.autograd.grad(tan.sum(), x)[0]

    (s_t, *r_t), (s_c, *r_c) = _both(run)
    assert s_t == s_c == [False, False]
    _close(r_t, r_c)


def test_flags_inside_f_of_nested_forward_mode():
    def run(lib):
        seen = []

        def f(a):
            seen.append(a.requires_grad)
            return a.sin() * a if not a.requires_grad else a * 0

        h = lib.func.jacfwd(lib.func.jacfwd(f))(lib.tensor(X[0, 0]))
        hr = lib.func.hessian(lambda a: (a.sin() * a * (2 if a.requires_grad else 0)).sum())(
            lib.tensor(X[0, 0])
        )
        return set(seen), h, hr

    (s_t, *r_t), (s_c, *r_c) = _both(run)
    assert s_t == s_c == {False}
    _close(r_t, r_c)
