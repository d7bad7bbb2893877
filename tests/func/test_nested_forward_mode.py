"""Forward mode nested in forward mode (``jacfwd(jacfwd(f))``, ``jvp`` of a ``jvp``) and
reverse mode over forward mode (``jacrev(jacfwd(f))``, ``grad`` of a ``jvp`` result, a loss
on a ``jvp`` tangent trained into a module's parameters), against PyTorch 2.13.

chainrule's core keeps one forward level whose tangents are arrays; an inner ``jvp`` (or one
whose tangents must be differentiable) computes ``J·v`` by two recorded reverse passes
instead (``autograd/transforms._jvp_by_reverse_mode``). Before, ``jacfwd(jacfwd(f))`` raised
and ``jacrev(jacfwd(f))`` silently returned zeros."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import chainrule as cr
import chainrule.autograd.forward_ad as fw

RNG = np.random.default_rng(30)
X = RNG.standard_normal(3)
Y = RNG.standard_normal(3)
V = RNG.standard_normal(3)


def _f(lib, x):
    return (x.sin() * x.exp()).sum()


def _h(lib, x):
    return (x[:, None] * x[None]).tanh().sum(0)


def _prod(lib, x):
    return x.sin().prod()


CASES = {
    "jacfwd_jacfwd": lambda lib, x: lib.func.jacfwd(lib.func.jacfwd(lambda z: _f(lib, z)))(x),
    "jacfwd_jacfwd_vector": lambda lib, x: lib.func.jacfwd(lib.func.jacfwd(lambda z: _h(lib, z)))(
        x
    ),
    "jacfwd_cubed": lambda lib, x: lib.func.jacfwd(
        lib.func.jacfwd(lib.func.jacfwd(lambda z: _prod(lib, z)))
    )(x),
    "jacrev_jacfwd": lambda lib, x: lib.func.jacrev(lib.func.jacfwd(lambda z: _h(lib, z)))(x),
    "jacfwd_jacrev_jacfwd": lambda lib, x: lib.func.jacfwd(
        lib.func.jacrev(lib.func.jacfwd(lambda z: _prod(lib, z)))
    )(x),
    "jacfwd_jacfwd_jacrev": lambda lib, x: lib.func.jacfwd(
        lib.func.jacfwd(lib.func.jacrev(lambda z: _prod(lib, z)))
    )(x),
    "mixed_partials": lambda lib, x: lib.func.jacfwd(
        lib.func.jacfwd(lambda a, b: (a * b.exp()).sum() + (a**2 * b).sum(), argnums=1),
        argnums=0,
    )(x, x * 2),
    "jvp_of_jvp": lambda lib, x: lib.func.jvp(
        lambda z: lib.func.jvp(lambda w: _h(lib, w), (z,), (lib.ones_like(z),))[1],
        (x,),
        (lib.tensor(V),),
    ),
    "grad_of_jvp": lambda lib, x: lib.func.grad(
        lambda z: lib.func.jvp(lambda w: _f(lib, w), (z,), (lib.ones_like(z),))[1]
    )(x),
    "vjp_of_jvp_tangent_input": lambda lib, x: lib.func.vjp(
        lambda t: lib.func.jvp(lambda w: _h(lib, w), (x,), (t,))[1], lib.tensor(V)
    )[1](lib.ones_like(x)),
}


def _numpy(out):
    if isinstance(out, (tuple, list)):
        return [_numpy(o) for o in out]
    return out.detach().numpy()


@pytest.mark.parametrize("name", list(CASES))
def test_nested_transforms_match_torch(name):
    expr = CASES[name]
    got = _numpy(expr(cr, cr.tensor(X)))
    want = _numpy(expr(torch, torch.tensor(X)))
    got, want = (got, want) if isinstance(want, list) else ([got], [want])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-14)


def test_jacfwd_of_jacfwd_is_the_hessian():
    x = cr.tensor(X)
    np.testing.assert_allclose(
        cr.func.jacfwd(cr.func.jacfwd(lambda z: _f(cr, z)))(x).numpy(),
        cr.func.hessian(lambda z: _f(cr, z))(x).numpy(),
        rtol=1e-12,
    )


def test_results_of_nested_transforms_require_no_grad():
    out = cr.func.jacfwd(cr.func.jacfwd(lambda z: _f(cr, z)))(cr.tensor(X))
    assert not out.requires_grad and out.grad_fn is None


_W1 = RNG.standard_normal((3, 5))
_W2 = RNG.standard_normal((5, 1))
_XB = RNG.standard_normal((4, 3))


def _pinn_step(lib):
    """A loss on a jvp tangent (the derivative along a direction) and on the output, trained
    into the closure's parameters: the tangent must carry the graph to them."""
    w1 = lib.tensor(_W1, requires_grad=True)
    w2 = lib.tensor(_W2, requires_grad=True)
    x = lib.tensor(_XB)

    def u(z):
        return (z @ w1).tanh() @ w2

    out, du = lib.func.jvp(u, (x,), (lib.ones_like(x),))
    loss = (du**2).mean() + (out**2).mean()
    loss.backward()
    return du, w1.grad, w2.grad


def test_jvp_tangent_trains_closure_parameters_as_torch():
    got, want = _pinn_step(cr), _pinn_step(torch)
    assert got[0].requires_grad and want[0].requires_grad
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-12)


def test_jvp_rerun_reuses_the_same_random_draws():
    w = cr.tensor(_W1, requires_grad=True)
    x = cr.tensor(_XB)

    def f(z):
        return cr.nn.functional.dropout(z @ w, 0.5, training=True)

    cr.manual_seed(3)
    out, tan = cr.func.jvp(f, (x,), (cr.ones_like(x),))
    after = cr.rand(1).item()
    cr.manual_seed(3)
    plain = f(x)
    np.testing.assert_array_equal(out.detach().numpy(), plain.detach().numpy())
    assert cr.rand(1).item() == after  # the draws were made once, not twice
    mask = (plain.detach().numpy() != 0).astype(float)
    np.testing.assert_allclose(tan.detach().numpy(), mask * 2 * (np.ones((4, 3)) @ _W1))


def test_backward_through_an_unpacked_tangent_raises_instead_of_dropping_it():
    w = cr.tensor(_W1, requires_grad=True)
    tw = torch.tensor(_W1, requires_grad=True)
    with fw.dual_level():
        d = fw.make_dual(cr.tensor(_XB), cr.ones(4, 3, dtype=cr.float64))
        p, t = fw.unpack_dual((d @ w).tanh())
        assert t.requires_grad
        with pytest.raises(NotImplementedError, match="cr.func.jvp"):
            ((t**2).sum() + p.sum()).backward()
    with tfw.dual_level():
        td = tfw.make_dual(torch.tensor(_XB), torch.ones(4, 3, dtype=torch.float64))
        tp, tt = tfw.unpack_dual((td @ tw).tanh())
        assert tt.requires_grad  # PyTorch's tangent requires grad too
    np.testing.assert_allclose(t.detach().numpy(), tt.detach().numpy(), rtol=1e-12)


def test_jvp_inside_dual_level_still_raises_as_torch():
    with fw.dual_level():
        with pytest.raises(NotImplementedError, match="nested forward mode"):
            cr.func.jvp(cr.sin, (cr.tensor(X),), (cr.tensor(V),))
    with tfw.dual_level():
        with pytest.raises(RuntimeError, match="Nested forward mode"):
            torch.func.jvp(torch.sin, (torch.tensor(X),), (torch.tensor(V),))


def test_nested_forward_mode_under_no_grad():
    x = cr.tensor(X)
    with cr.no_grad():
        got = cr.func.jacfwd(cr.func.jacfwd(lambda z: _f(cr, z)))(x)
    with torch.no_grad():
        want = torch.func.jacfwd(torch.func.jacfwd(lambda z: _f(torch, z)))(torch.tensor(X))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("case", ["embedding_padding_idx", "amax_ties"])
def test_differentiable_tangents_keep_forward_mode_values(case):
    """Where an op's backward is not the exact adjoint of its forward rule, the two reverse
    passes alone would give other tangents; the forward pass's values are kept."""
    w = RNG.standard_normal((4, 3))
    tw = RNG.standard_normal((4, 3))
    idx = [[0, 1, 2, 1]]

    def run(lib):
        def f(weight):
            if case == "embedding_padding_idx":
                return lib.nn.functional.embedding(lib.tensor(idx), weight, padding_idx=1)
            return lib.cat([weight, weight[:1]]).amax(0)  # row 0 appears twice: ties

        leaf = lib.tensor(w, requires_grad=True)
        _, tan = lib.func.jvp(f, (leaf,), (lib.tensor(tw),))
        return tan.detach().numpy(), tan.requires_grad

    (got, got_rg), (want, want_rg) = run(cr), run(torch)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got_rg == want_rg
