"""``cr.autograd.forward_ad`` (dual tensors) against ``torch.autograd.forward_ad``.

The tangents must equal PyTorch's on the same functions, the level must own its tangents
(none survives ``dual_level``'s exit, so a tensor reused in a later level carries nothing
stale), and the errors must be PyTorch's.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import chainrule as cr
import chainrule.autograd.forward_ad as fw

RNG = np.random.default_rng(0)


def _pair(*shape: int) -> tuple:
    a = RNG.standard_normal(shape)
    return cr.tensor(a), torch.tensor(a)


FUNCTIONS = {
    "sin_mul": (lambda m, x, y: (m.sin(x) * y).sum(-1), ((3, 4), (3, 4))),
    "matmul_tanh": (lambda m, x, y: m.tanh(x @ y), ((3, 4), (4, 2))),
    "softmax": (lambda m, x, y: m.softmax(x * y, dim=-1), ((3, 4), (3, 4))),
    "exp_div": (lambda m, x, y: m.exp(x) / (1 + y * y), ((2, 5), (2, 5))),
    "cumsum_norm": (
        lambda m, x, y: m.linalg.vector_norm(m.cumsum(x, 0) + y, dim=0),
        ((4, 3), (3,)),
    ),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_tangents_match_torch(name: str) -> None:
    f, shapes = FUNCTIONS[name]
    (x, tx), (y, ty) = (_pair(*s) for s in shapes)
    (vx, tvx), (vy, tvy) = (_pair(*s) for s in shapes)
    with fw.dual_level():
        out = f(cr, fw.make_dual(x, vx), fw.make_dual(y, vy))
        primal, tangent = fw.unpack_dual(out)
    with tfw.dual_level():
        tout = f(torch, tfw.make_dual(tx, tvx), tfw.make_dual(ty, tvy))
        tprimal, ttangent = tfw.unpack_dual(tout)
    np.testing.assert_allclose(primal.numpy(), tprimal.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tangent.numpy(), ttangent.numpy(), rtol=1e-10, atol=1e-12)


def test_tangent_equals_jvp_and_plain_inputs_count_as_zero() -> None:
    (x, _), (v, _), (c, _) = _pair(3, 4), _pair(3, 4), _pair(3, 4)
    with fw.dual_level():
        out = cr.tanh(fw.make_dual(x, v) * c + c)  # c has no tangent: a zero tangent
        tangent = fw.unpack_dual(out).tangent
    _, expected = cr.func.jvp(lambda a: cr.tanh(a * c + c), (x,), (v,))
    np.testing.assert_allclose(tangent.numpy(), expected.numpy(), rtol=1e-13)


def test_dual_is_a_view_and_the_tangent_is_kept_as_given() -> None:
    x = cr.zeros(3, dtype=cr.float64)
    t = cr.ones(3, dtype=cr.float64)
    with fw.dual_level() as level:
        assert level == 0
        d = fw.make_dual(x, t)
        unpacked = fw.unpack_dual(d)
        assert isinstance(unpacked, fw.UnpackedDualTensor)
        assert unpacked.tangent is t  # as torch: unpack_dual(make_dual(x, t)).tangent is t
        assert unpacked.primal.data_ptr() == x.data_ptr() == d.data_ptr()
        assert fw.unpack_dual(unpacked.primal).tangent is None
        assert fw.unpack_dual(x).tangent is None  # the primal itself did not become dual
        with cr.no_grad():
            d.add_(2.0)  # writes through the view
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0, 2.0])


def test_tangents_are_destroyed_when_the_level_ends() -> None:
    (x, _), (v, _) = _pair(4), _pair(4)
    with fw.dual_level():
        mid = cr.sin(fw.make_dual(x, v))
        out = mid * 2
        assert fw.unpack_dual(out).tangent is not None
    assert fw.unpack_dual(out) == (out, None)  # outside a level: the tensor itself, None
    # The same tensors in a later level: no stale tangent flows into the new computation.
    (w, _) = _pair(4)
    with fw.dual_level():
        assert fw.unpack_dual(mid).tangent is None
        y = fw.make_dual(w, cr.ones(4, dtype=cr.float64))
        res = mid * y  # mid's old tangent must not contribute
        np.testing.assert_allclose(fw.unpack_dual(res).tangent.numpy(), mid.numpy(), rtol=1e-15)
    # and after cr.func.jvp, whose intermediate results also held tangents
    keep = []
    cr.func.jvp(lambda a: keep.append(a.exp()) or keep[0].sum(), (x,), (v,))
    with fw.dual_level():
        res = keep[0] * fw.make_dual(w, cr.ones(4, dtype=cr.float64))
        np.testing.assert_allclose(fw.unpack_dual(res).tangent.numpy(), keep[0].numpy())


def test_reverse_mode_through_a_dual_tensor() -> None:
    a = RNG.standard_normal(5)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v = RNG.standard_normal(5)
    with fw.dual_level():
        d = fw.make_dual(x, cr.tensor(v))
        assert d.requires_grad and d.grad_fn is not None
        y = (d.sin() * d).sum()
        y.backward()
        tangent = fw.unpack_dual(y).tangent
    with tfw.dual_level():
        td = tfw.make_dual(tx, torch.tensor(v))
        ty = (td.sin() * td).sum()
        ty.backward()
        ttangent = tfw.unpack_dual(ty).tangent
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-13)
    # the tangent depends on x: it requires grad in both (chainrule's refuses a backward)
    assert tangent.requires_grad and ttangent.requires_grad
    np.testing.assert_allclose(tangent.detach().numpy(), ttangent.detach().numpy(), rtol=1e-13)


def test_forward_over_reverse_gives_the_hessian_vector_product() -> None:
    a, v = RNG.standard_normal(4), RNG.standard_normal(4)

    def f(m, x):
        return (m.tanh(x) ** 3).sum() + (x[:2] * x[2:]).sum()

    x = cr.tensor(a, requires_grad=True)
    with fw.dual_level():
        d = fw.make_dual(x, cr.tensor(v))
        (g,) = cr.autograd.grad(f(cr, d), d, create_graph=True)
        hvp = fw.unpack_dual(g).tangent
    tx = torch.tensor(a, requires_grad=True)
    with tfw.dual_level():
        td = tfw.make_dual(tx, torch.tensor(v))
        (tg,) = torch.autograd.grad(f(torch, td), td, create_graph=True)
        thvp = tfw.unpack_dual(tg).tangent
    assert hvp.requires_grad and thvp.requires_grad
    np.testing.assert_allclose(hvp.detach().numpy(), thvp.detach().numpy(), rtol=1e-12)


def test_module_parameters_as_dual_tensors() -> None:
    # The forward-mode tutorial's pattern: parameters replaced by dual tensors through
    # functional_call, giving the directional derivative along a parameter perturbation.
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    tmodel = tmodel.double()
    model = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.Tanh(), cr.nn.Linear(3, 2)).double()
    model.load_state_dict(
        {k: cr.tensor(p.detach().numpy()) for k, p in tmodel.state_dict().items()}
    )
    inp = RNG.standard_normal((5, 4))
    tangents = {k: RNG.standard_normal(tuple(p.shape)) for k, p in tmodel.named_parameters()}
    with fw.dual_level():
        params = {
            k: fw.make_dual(p.detach(), cr.tensor(tangents[k])) for k, p in model.named_parameters()
        }
        out = cr.func.functional_call(model, params, (cr.tensor(inp),))
        jvp = fw.unpack_dual(out).tangent
    with tfw.dual_level():
        tparams = {
            k: tfw.make_dual(p.detach(), torch.tensor(tangents[k]))
            for k, p in tmodel.named_parameters()
        }
        tout = torch.func.functional_call(tmodel, tparams, (torch.tensor(inp),))
        tjvp = tfw.unpack_dual(tout).tangent
    np.testing.assert_allclose(jvp.numpy(), tjvp.numpy(), rtol=1e-12)


class _ScaleMul(cr.autograd.Function):
    """x * y * k with a hand-written jvp that reads save_for_forward."""

    @staticmethod
    def forward(ctx, x, y, k):
        ctx.save_for_forward(x, y)
        ctx.save_for_backward(x, y)
        ctx.k = k
        return x * y * k

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y * ctx.k, g * x * ctx.k, None

    @staticmethod
    def jvp(ctx, tx, ty, tk):
        x, y = ctx.saved_tensors
        assert tk is None  # non-tensor argument
        assert isinstance(ty, cr.Tensor) and not ty.any()  # no tangent: zeros, as torch
        return (tx * y + x * ty) * ctx.k


def test_custom_function_jvp() -> None:
    (x, _), (y, _), (v, _) = _pair(3), _pair(3), _pair(3)
    with fw.dual_level():
        out = _ScaleMul.apply(fw.make_dual(x, v), y, 2.5)
        tangent = fw.unpack_dual(out).tangent
    np.testing.assert_allclose(tangent.numpy(), (v * y * 2.5).numpy(), rtol=1e-15)
    # the same through cr.func.jvp, and the backward still uses save_for_backward's values
    _, t2 = cr.func.jvp(lambda a: _ScaleMul.apply(a, y, 2.5), (x,), (v,))
    np.testing.assert_allclose(t2.numpy(), tangent.numpy())
    xr = x.detach().requires_grad_()
    _ScaleMul.apply(xr, y, 2.5).sum().backward()
    np.testing.assert_allclose(xr.grad.numpy(), (y * 2.5).numpy())


def test_custom_function_without_jvp_raises_torchs_error() -> None:
    class NoJvp(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    (x, _), (v, _) = _pair(3), _pair(3)
    with fw.dual_level(), pytest.raises(NotImplementedError, match="must implement the jvp"):
        NoJvp.apply(fw.make_dual(x, v))


def test_decorator_form() -> None:
    (x, _), (v, _) = _pair(3), _pair(3)

    @fw.dual_level()
    def tangent_of_exp(a, t):
        return fw.unpack_dual(fw.make_dual(a, t).exp()).tangent

    np.testing.assert_allclose(tangent_of_exp(x, v).numpy(), (x.exp() * v).numpy())
    assert cr.autograd.forward_ad.unpack_dual(x).tangent is None  # the level was closed


def test_errors_outside_a_level_match_torch() -> None:
    (x, tx), (v, tv) = _pair(3), _pair(3)
    for api, a, t in ((fw, x, v), (tfw, tx, tv)):
        with pytest.raises(RuntimeError, match="no level exists"):
            api.make_dual(a, t)
        with pytest.raises(RuntimeError, match="Dual level must be a positive"):
            api.exit_dual_level()


def test_errors_inside_a_level_match_torch() -> None:
    cases = [
        (lambda m, f, x, v: f.make_dual(x, m.ones(4)), RuntimeError, "different size"),
        (lambda m, f, x, v: f.make_dual(x.long(), v), ValueError, "primal to be floating"),
        (lambda m, f, x, v: f.make_dual(x, v.long()), ValueError, "tangent to be floating"),
        (
            lambda m, f, x, v: f.make_dual(f.make_dual(x, v), v),
            RuntimeError,
            "already has a forward gradient",
        ),
        (lambda m, f, x, v: f.enter_dual_level(), RuntimeError, "Nested forward mode AD"),
        (lambda m, f, x, v: f.exit_dual_level(level=3), RuntimeError, "not the last one"),
        (lambda m, f, x, v: f.unpack_dual(1.0), TypeError, "must be Tensor"),
    ]
    (x, tx), (v, tv) = _pair(3), _pair(3)
    for call, error, message in cases:
        with fw.dual_level(), pytest.raises(error, match=message):
            call(cr, fw, x, v)
        with tfw.dual_level(), pytest.raises(error, match=message):
            call(torch, tfw, tx, tv)


def test_unsupported_parts_raise() -> None:
    (x, _), (v, _) = _pair(3), _pair(3)
    with fw.dual_level():
        with pytest.raises(NotImplementedError, match="reverse mode over forward"):
            fw.make_dual(x, v.detach().requires_grad_())
        with pytest.raises(NotImplementedError, match="nested forward mode"):
            cr.func.jvp(cr.sin, (x,), (v,))  # torch: "Nested forward mode AD is not supported"
    # the failed calls left no level open
    with fw.dual_level() as level:
        assert level == 0


def test_levels_are_per_thread() -> None:
    (x, _), (v, _) = _pair(3), _pair(3)
    seen = {}

    def other() -> None:
        seen["plain"] = fw.unpack_dual(d).tangent  # no level in this thread
        with fw.dual_level():  # may open its own level while the main thread has one
            seen["own"] = fw.unpack_dual(fw.make_dual(x, v).exp()).tangent

    with fw.dual_level():
        d = fw.make_dual(x, v)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert fw.unpack_dual(d).tangent is v
    assert seen["plain"] is None
    np.testing.assert_allclose(seen["own"].numpy(), (x.exp() * v).numpy())


def test_repr_shows_the_tangent_inside_the_level_only() -> None:
    x, tx = cr.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    v, tv = cr.tensor([0.5, 1.0]), torch.tensor([0.5, 1.0])
    with fw.dual_level():
        d = fw.make_dual(x, v)
        with tfw.dual_level():
            assert repr(d) == repr(tfw.make_dual(tx, tv))
    assert "tangent" not in repr(d)


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_extreme_tangent_keeps_float32_and_splits_ties_as_torch(op):
    # the tangent of a float32 amax/amin is float32 (it came out float64), ties share it
    x = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, -1.0, -1.0, 0.5]], np.float32)
    t = np.array([[1.0, 2.0, 4.0, 8.0], [3.0, 5.0, 7.0, 9.0]], np.float32)
    _, got = cr.func.jvp(lambda a: getattr(a, op)(1), (cr.tensor(x),), (cr.tensor(t),))
    _, want = torch.func.jvp(lambda a: getattr(a, op)(1), (torch.tensor(x),), (torch.tensor(t),))
    assert got.dtype == cr.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
