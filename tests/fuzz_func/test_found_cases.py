"""The bugs the ``torch.func`` fuzzer found, one minimal program each (all fixed in
chainrule.func), run on torch and chainrule through :func:`.programs.check` or
:func:`.modules.check`; a few tests also state the expected answer directly, and the last
ones pin the known differences :mod:`.programs` steers around (torch's answer there is an
implementation limit or bug; chainrule's is checked against what torch means)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .modules import ModProgram
from .modules import check as mod_check
from .programs import Program, check

VMAP2 = ("vmap", 0, 0, None, "error", 2)

FOUND = {
    # a function returning a nested tuple (another transform's results) under vjp / jvp /
    # linearize: the core transforms took a tensor or a flat tuple only ('tuple' object
    # has no attribute 'dtype' / '_fw_tangent')
    "vjp_of_vjp": Program(s=(1,), body=(), layers=(("vjp", False), ("vjp", False))),
    "jvp_of_vjp": Program(s=(1,), body=(), layers=(("jvp", False), ("vjp", False))),
    "jvp_of_vjp_in_vmap": Program(
        s=(1,), body=(), layers=(("jvp", False), ("vjp", False), VMAP2)
    ),
    "linearize_of_grad_and_value_aux": Program(
        s=(1,), body=(), layers=(("linearize",), ("gv", 0, True)), aux=True
    ),
    "jvp_of_hessian_tuple": Program(
        s=(1,), body=(), layers=(("jvp", False), ("hessian", (1, 0)), ("jacfwd", 0, False))
    ),
    "vjp_of_jacfwd_aux": Program(
        s=(3,), body=(("add_y", 1), ("sin", 2)), layers=(("vjp", False), ("jacfwd", (1,), True)),
        aux=True,
    ),
    "jvp_of_a_dict_output": Program(
        s=(2,), body=(("sin", 0),), layers=(("jvp", False),), out="dict"
    ),
    # jacfwd over grad_and_value(has_aux=True): the value and aux lost their tangents
    # (detached inside vmap, where the tangent lives on the physical tensor)
    "jacfwd_of_grad_and_value_aux": Program(
        s=(1,), body=(), layers=(("jacfwd", 0, False), ("gv", 0, True)), aux=True
    ),
    # a comparison (where's mask) of a nested-vmap value: the raw array of a value batched
    # at two levels had no per-sample form
    "where_in_nested_vmap": Program(s=(1,), body=(("where", 0),), layers=(VMAP2, VMAP2)),
    "where_in_nested_vmap_jacfwd": Program(
        s=(1,), body=(("where", 0),), layers=(VMAP2, VMAP2, ("jacfwd", 0, True)), aux=True
    ),
    # jacfwd/jacrev's aux was cut from the graph unless the differentiated inputs required
    # grad: a grad around w.r.t. another argument saw no gradient through the aux
    "grad_and_value_through_jacfwd_aux": Program(
        s=(1,), body=(("div_y", 2),), layers=(("gv", 1, False), ("jacfwd", 0, True)), aux=True
    ),
    "grad_through_jacrev_aux": Program(
        s=(2,), body=(("mul_y", 0),), layers=(("grad", 1, False), ("jacrev", 0, True, None)),
        aux=True,
    ),
    # vmap(randomness='same', chunk_size=...): each chunk drew anew (PyTorch rewinds the
    # generator before each chunk, so every sample shares the first chunk's draw)
    "same_randomness_in_chunks": Program(
        s=(1,), body=(("rand", 0),), layers=(("vmap", 0, 0, 1, "same", 2),)
    ),
    "same_randomness_in_chunks_nested": Program(
        s=(1,), body=(("rand", 0),),
        layers=(("vmap", 0, 0, 1, "same", 2), ("vmap", 0, 0, None, "same", 2)),
    ),
    "same_randomness_in_chunks_under_grad": Program(
        s=(1,), body=(("rand", 0),), layers=(("vmap", 0, 0, 1, "same", 2), ("grad", 0, False))
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_program_agrees_with_torch(name):
    diffs = check(FOUND[name])
    assert not diffs, "\n".join(diffs[:3])


@pytest.mark.parametrize("kind", ["ensemble", "ens_grad"])
def test_ensembles_of_a_class_defined_once(kind):
    """stack_module_state + vmap over models (a tied weight and a buffer): the stacked
    parameters, buffers and the outputs (or per-model gradients) agree with torch."""
    prog = ModProgram(kind, n=2, k=3, tie=True, buf=True, models=3, x_dim=0)
    assert not mod_check(prog)


def _body(x, y):
    return x / (1 + y * y), 2 * x / (1 + y * y)


def _aux_grad(lib, jac, x, y):
    """d/dy of the sum of jac(_body, has_aux=True)'s aux."""
    return lib.func.grad(lambda x, y: jac(_body, has_aux=True)(x, y)[1].sum(), argnums=1)(x, y)


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_grad_through_jacobian_aux_by_hand(lib, jac):
    """d/dy of the aux 2x/(1+y^2) that jacrev/jacfwd return: -4xy/(1+y^2)^2."""
    x, y = lib.tensor([0.3], dtype=lib.float64), lib.tensor([0.2], dtype=lib.float64)
    want = -4 * 0.3 * 0.2 / (1 + 0.04) ** 2
    assert abs(float(_aux_grad(lib, getattr(lib.func, jac), x, y)[0]) - want) < 1e-12


def _masks(lib, X, Y, Z):
    x, y, z = lib.tensor(X), lib.tensor(Y), lib.tensor(Z)
    v = lib.func.vmap
    a = v(lambda x, z: v(lambda y, z: lib.where(x > y, x * z, y))(y, z))(x, z)
    b = v(lambda x: v(lambda y: (x > y) & (y < 0.3))(y))(x)
    return [np.asarray(t.tolist(), dtype=float) for t in (a, b)]


def test_comparisons_of_values_of_different_vmap_levels():
    """Masks of values batched at the outer level, the inner one, or both (a comparison of
    x mapped by the outer vmap with y mapped by the inner one) agree with torch."""
    rng = np.random.default_rng(0)
    X, Y, Z = rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), rng.normal(size=(2, 4, 3))
    for want, have in zip(_masks(torch, X, Y, Z), _masks(cr, X, Y, Z)):
        np.testing.assert_array_equal(have, want)


def _same_draws(lib, chunk):
    """A vmap(randomness='same', chunk_size=chunk) draw and the generator's next number."""
    lib.manual_seed(5)
    f = lib.func.vmap(lambda x: x + lib.rand(2), randomness="same", chunk_size=chunk)
    out = f(lib.zeros(3, 2))
    return np.asarray(out.tolist()), float(lib.rand(()))


@pytest.mark.parametrize("chunk", [1, 2])
def test_same_randomness_draws_once_for_all_chunks(chunk):
    """randomness='same' with chunk_size: every sample gets the same numbers (torch's), and
    the generator ends where one draw leaves it."""
    got = [_same_draws(lib, chunk) for lib in (torch, cr)]
    np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-7)
    np.testing.assert_array_equal(got[1][0], np.broadcast_to(got[1][0][0], (3, 2)))
    assert got[1][1] == pytest.approx(got[0][1], rel=1e-7)


def test_known_difference_out_dims_of_an_unbatched_output():
    """torch 2.13 broadcasts an unbatched output wrongly for out_dims=1 (as if 0):
    chainrule gives the output expanded at out_dims, which is torch's out_dims=0 result
    with the batch dim moved."""
    x, y = np.arange(3.0).reshape(3, 1), np.zeros((1, 3, 1))
    got = cr.func.vmap(lambda x, y: x, in_dims=(None, 1), out_dims=1)(cr.tensor(x), cr.tensor(y))
    ref = torch.func.vmap(lambda x, y: x, in_dims=(None, 1))(torch.tensor(x), torch.tensor(y))
    np.testing.assert_array_equal(np.asarray(got.tolist()), torch.movedim(ref, 0, 1).numpy())


def test_known_difference_jacfwd_negative_argnums():
    """torch 2.13's jacfwd gives zeros for argnums=-1; chainrule gives torch's argnums=1."""
    X, Y = np.array([0.5, 1.0]), np.array([0.3, 2.0])

    def f(lib):
        return lambda x, y: x.sin() * y

    got = cr.func.jacfwd(f(cr), argnums=-1)(cr.tensor(X), cr.tensor(Y))
    ref = torch.func.jacfwd(f(torch), argnums=1)(torch.tensor(X), torch.tensor(Y))
    np.testing.assert_allclose(np.asarray(got.tolist()), ref.numpy(), rtol=1e-12)


def test_known_difference_linearize_of_jacrev():
    """torch's linearize (a make_fx trace) gives zero tangents through jacrev; chainrule's
    gives torch's jvp values."""
    X, Y = np.array([0.3, -0.7]), np.array([0.2, 0.5])

    def jac(lib):
        return lib.func.jacrev(lambda x, y: (x + y).log_softmax(-1))

    x, y = cr.tensor(X), cr.tensor(Y)
    _, fn = cr.func.linearize(jac(cr), x, y)
    got = fn(cr.ones_like(x) * 0.5, y.sin())
    tx, ty = torch.tensor(X), torch.tensor(Y)
    ref = torch.func.jvp(jac(torch), (tx, ty), (torch.ones_like(tx) * 0.5, ty.sin()))[1]
    np.testing.assert_allclose(np.asarray(got.tolist()), ref.numpy(), rtol=1e-10, atol=1e-12)


def _layer_norm_chain(lib, weight):
    """sin(layer_norm(x)) summed, then twice grad of the summed sines (seed 3602)."""
    F = lib.nn.functional
    w = None if weight is None else lib.tensor(weight, dtype=lib.float64)

    def outer(g):
        return lambda x: lib.sin(g(x)).sum()

    fns = [lambda x: lib.sin(F.layer_norm(x, (3,), w)).sum()]
    for _ in range(2):
        fns.append(outer(lib.func.grad(fns[-1])))
    return fns


@pytest.mark.parametrize("weight", [None, [0.7, -0.4, 1.3]])
def test_known_difference_layer_norm_third_derivative(weight):
    """torch 2.13's third derivative of layer_norm (grad of grad of grad) is wrong: it is
    not the finite difference of its own (right) second derivative; chainrule's is.
    (:func:`.bodies.steer` puts layer_norm's formula in its place under such layers.)"""
    X = np.array([0.3, -1.2, 0.8])
    f2 = _layer_norm_chain(torch, weight)[2]
    h, fd = 1e-5, []
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd.append((f2(torch.tensor(X + e)) - f2(torch.tensor(X - e))).item() / (2 * h))
    got = cr.func.grad(_layer_norm_chain(cr, weight)[2])(cr.tensor(X))
    np.testing.assert_allclose(np.asarray(got.tolist()), fd, rtol=1e-5, atol=1e-9)
    ref = torch.func.grad(f2)(torch.tensor(X)).numpy()
    assert not np.allclose(ref, fd, rtol=1e-3, atol=1e-6)  # still torch's bug


def test_known_difference_layer_norm_forward_over_forward():
    """torch 2.13's jacfwd(jacfwd(layer_norm)) differs from its jacrev(jacrev(...));
    chainrule's forward-over-forward is torch's reverse-over-reverse (seed 3602)."""
    X, W = np.array([0.3, -1.2]), np.array([0.7, -0.4])

    def f(lib):
        w = lib.tensor(W)
        return lambda x: lib.sin(lib.nn.functional.layer_norm(x, (2,), w))

    ref = torch.func.jacrev(torch.func.jacrev(f(torch)))(torch.tensor(X)).numpy()
    got = cr.func.jacfwd(cr.func.jacfwd(f(cr)))(cr.tensor(X))
    np.testing.assert_allclose(np.asarray(got.tolist()), ref, rtol=1e-9, atol=1e-12)


def test_known_difference_grad_of_hessian_of_vector_norm():
    """torch 2.13 raises an in-place RuntimeError inside grad(hessian(vector_norm)) (seed
    3602); chainrule's is torch's grad(jacrev(jacrev(...)))."""
    X = np.array([0.3, -0.6, 0.2])

    def f(lib, hess):
        def g(x):
            return lib.sin(lib.linalg.vector_norm(x + 0.25, 2, -1, keepdim=True)).sum()

        return lib.func.grad(lambda x: lib.sin(hess(g)(x)).sum())

    with pytest.raises(RuntimeError, match="inplace operation"):
        f(torch, torch.func.hessian)(torch.tensor(X))
    rr = lambda g: torch.func.jacrev(torch.func.jacrev(g))  # noqa: E731
    ref = f(torch, rr)(torch.tensor(X)).numpy()
    got = f(cr, cr.func.hessian)(cr.tensor(X))
    np.testing.assert_allclose(np.asarray(got.tolist()), ref, rtol=1e-9, atol=1e-12)
