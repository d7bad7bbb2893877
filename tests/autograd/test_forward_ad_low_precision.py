"""Forward-mode AD on bfloat16 and float16 tensors, against PyTorch.

bfloat16 is an ml_dtypes NumPy dtype of kind 'V', so every "is this floating?" test in the
forward-mode machinery must say so explicitly: a ``kind == 'f'`` check there silently gave
bfloat16 results a zero tangent and made ``make_dual`` refuse bfloat16 primals. Each op of
the table is run through ``cr.func.jvp`` and through dual tensors on both low-precision
dtypes and compared with ``torch.func.jvp``: the paths are the cast-wrapped ops (computed in
float32 between two recorded casts), the ``native_bfloat16`` nodes (var/std, mse and smooth
losses), conversions, views, in-place ops, reductions, matmul and the nn.functional ops. The
inner-product identity <u, J v> = <J^T u, v> against chainrule's own reverse mode in
float32 cross-checks the tangents without PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import chainrule as cr
import chainrule.autograd.forward_ad as fw

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 6))
B = RNG.standard_normal((4, 6))
VA = RNG.standard_normal((4, 6))
VB = RNG.standard_normal((4, 6))
U = RNG.standard_normal(64)  # a cotangent for the inner-product check (first numel)

DTYPES = ("bfloat16", "float16")
# (rtol, atol relative to the largest expected magnitude): a few units of the dtype's
# rounding (bfloat16: 2^-8, float16: 2^-11), since PyTorch and chainrule may round an
# intermediate result at different places.
TOL = {"bfloat16": 3e-2, "float16": 4e-3}


def _labels(lib: object) -> object:
    return lib.tensor([1, 0, 5, 2])


# name -> f(lib, F, a, b): every op takes the two (4, 6) inputs a and b.
OPS: dict[str, Callable] = {
    "mul": lambda lib, F, a, b: a * b,
    "add_scalar": lambda lib, F, a, b: a + 2.5,
    "div": lambda lib, F, a, b: a / (b * b + 1),
    "exp": lambda lib, F, a, b: lib.exp(a),
    "tanh": lambda lib, F, a, b: lib.tanh(a),
    "pow": lambda lib, F, a, b: a**3,
    "sqrt": lambda lib, F, a, b: (a * a + 1).sqrt(),
    "where": lambda lib, F, a, b: lib.where(a > 0, a, b),
    "sum": lambda lib, F, a, b: a.sum(),
    "sum_dim": lambda lib, F, a, b: a.sum(1),
    "mean": lambda lib, F, a, b: a.mean(0),
    "amax": lambda lib, F, a, b: a.amax(1),
    "prod": lambda lib, F, a, b: a.prod(1),
    "cumsum": lambda lib, F, a, b: a.cumsum(1),
    "logsumexp": lambda lib, F, a, b: lib.logsumexp(a, 1),
    "vector_norm": lambda lib, F, a, b: lib.linalg.vector_norm(a, dim=1),
    "var": lambda lib, F, a, b: a.var(),
    "var_dim": lambda lib, F, a, b: a.var(1),
    "std_keepdim": lambda lib, F, a, b: a.std(1, keepdim=True),
    "var_mean": lambda lib, F, a, b: lib.var_mean(a, 1)[0] + lib.var_mean(b, 0)[1].sum(),
    "matmul": lambda lib, F, a, b: a @ b.T,
    "linear": lambda lib, F, a, b: F.linear(a, b[:3], b[3, :3]),
    "softmax": lambda lib, F, a, b: F.softmax(a * b, -1),
    "log_softmax": lambda lib, F, a, b: F.log_softmax(a, 0),
    "layer_norm": lambda lib, F, a, b: F.layer_norm(a, (6,)),
    "layer_norm_affine": lambda lib, F, a, b: F.layer_norm(a, (6,), b[0], b[1]),
    "gelu": lambda lib, F, a, b: F.gelu(a),
    "silu": lambda lib, F, a, b: F.silu(a),
    "cross_entropy": lambda lib, F, a, b: F.cross_entropy(a, _labels(lib)),
    "nll_loss": lambda lib, F, a, b: F.nll_loss(F.log_softmax(a, -1), _labels(lib)),
    "mse_loss": lambda lib, F, a, b: F.mse_loss(a, b),
    "mse_loss_none": lambda lib, F, a, b: F.mse_loss(a, b, reduction="none"),
    "smooth_l1_loss": lambda lib, F, a, b: F.smooth_l1_loss(a, b, beta=0.5),
    "huber_loss_sum": lambda lib, F, a, b: F.huber_loss(a, b, reduction="sum"),
    "gaussian_nll_loss": lambda lib, F, a, b: F.gaussian_nll_loss(a, b, a * a + 0.5),
    "bce_with_logits": lambda lib, F, a, b: F.binary_cross_entropy_with_logits(a, lib.sigmoid(b)),
    "to_float32_and_back": lambda lib, F, a, b: (a.float() * b.float()).to(a.dtype),
    "to_float32": lambda lib, F, a, b: a.float().exp(),
    "to_float64": lambda lib, F, a, b: a.double() * 2,
    "views": lambda lib, F, a, b: a.t().reshape(-1)[3:9] * b.reshape(-1)[:6],
    "getitem_transpose": lambda lib, F, a, b: a[1:3, ::2].transpose(0, 1),
    "cat": lambda lib, F, a, b: lib.cat([a, b.sin()], 0),
    "inplace_mul": lambda lib, F, a, b: a.clone().mul_(b),
    "inplace_on_view": lambda lib, F, a, b: _inplace_on_view(a.clone(), b),
}


def _inplace_on_view(c: object, b: object) -> object:
    """``c`` after an in-place op on one of its rows: the base's tangent must see it."""
    c[1].mul_(b[1]).add_(b[2])
    return c


def _inputs(lib: object, dtype: str) -> tuple:
    return tuple(lib.tensor(x).to(getattr(lib, dtype)) for x in (A, B, VA, VB))


def _assert_close(got: cr.Tensor, expected: torch.Tensor, dtype: str, what: str) -> None:
    assert str(got.dtype) == str(expected.dtype), (what, got.dtype, expected.dtype)
    g, e = got.detach().float().numpy(), expected.detach().float().numpy()
    scale = max(1.0, float(np.abs(e).max(initial=0.0)))
    np.testing.assert_allclose(g, e, rtol=TOL[dtype], atol=TOL[dtype] * scale, err_msg=what)


def _torch_jvp(f: Callable, dtype: str) -> tuple:
    a, b, va, vb = _inputs(torch, dtype)
    return torch.func.jvp(lambda x, y: f(torch, torch.nn.functional, x, y), (a, b), (va, vb))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPS))
def test_func_jvp_matches_torch(name: str, dtype: str) -> None:
    f = OPS[name]
    a, b, va, vb = _inputs(cr, dtype)
    out, tangent = cr.func.jvp(lambda x, y: f(cr, cr.nn.functional, x, y), (a, b), (va, vb))
    t_out, t_tangent = _torch_jvp(f, dtype)
    _assert_close(out, t_out, dtype, f"{name} primal")
    _assert_close(tangent, t_tangent, dtype, f"{name} tangent")
    assert np.abs(t_tangent.float().numpy()).max() > 0  # a dropped tangent would read as 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPS))
def test_dual_tensor_tangent_matches_torch(name: str, dtype: str) -> None:
    f = OPS[name]
    a, b, va, vb = _inputs(cr, dtype)
    with fw.dual_level():
        out = f(cr, cr.nn.functional, fw.make_dual(a, va), fw.make_dual(b, vb))
        primal, tangent = fw.unpack_dual(out)
    ta, tb, tva, tvb = _inputs(torch, dtype)
    with tfw.dual_level():
        t_out = f(torch, torch.nn.functional, tfw.make_dual(ta, tva), tfw.make_dual(tb, tvb))
        t_primal, t_tangent = tfw.unpack_dual(t_out)
    assert tangent is not None, name
    _assert_close(primal, t_primal, dtype, f"{name} primal")
    _assert_close(tangent, t_tangent, dtype, f"{name} tangent")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPS))
def test_tangent_agrees_with_float32_reverse_mode(name: str, dtype: str) -> None:
    """<u, J v> from the low-precision jvp equals <J^T u, v> from chainrule's float32 vjp at
    the same (rounded) point: forward and reverse mode agree without PyTorch."""
    f = OPS[name]
    low = _inputs(cr, dtype)
    _, tangent = cr.func.jvp(lambda x, y: f(cr, cr.nn.functional, x, y), low[:2], low[2:])
    a, b, va, vb = (t.float() for t in low)
    out, vjp_fn = cr.func.vjp(lambda x, y: f(cr, cr.nn.functional, x, y).float(), a, b)
    u = cr.tensor(U[: out.numel()].reshape(tuple(out.shape)), dtype=cr.float32)
    ga, gb = vjp_fn(u)
    forward = float((u * tangent.float()).sum())
    reverse = float((ga * va).sum() + (gb * vb).sum())
    scale = float((u.abs() * tangent.float().abs()).sum()) + 1.0
    assert abs(forward - reverse) <= 2 * TOL[dtype] * scale, (forward, reverse)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conversions_into_low_precision_carry_the_tangent(dtype: str) -> None:
    """A float32 dual converted to bfloat16/float16 (``.to``, ``.bfloat16()``, ``.half()``)
    and back keeps its tangent, rounded as PyTorch rounds it."""
    x = RNG.standard_normal(5)
    v = RNG.standard_normal(5)

    def f(lib: object, t: object) -> object:
        low = t.bfloat16() if dtype == "bfloat16" else t.half()
        return (low.to(getattr(lib, dtype)) * 3).sin().float() + t.to(getattr(lib, dtype)).sum()

    out, tangent = cr.func.jvp(
        lambda t: f(cr, t), (cr.tensor(x, dtype=cr.float32),), (cr.tensor(v, dtype=cr.float32),)
    )
    t_out, t_tangent = torch.func.jvp(
        lambda t: f(torch, t),
        (torch.tensor(x, dtype=torch.float32),),
        (torch.tensor(v, dtype=torch.float32),),
    )
    _assert_close(out, t_out, dtype, "primal")
    _assert_close(tangent, t_tangent, dtype, "tangent")


def _inplace_tangent(lib: object, fwd: object, dtype: str, on_view: bool) -> object:
    a, b, va, _ = _inputs(lib, dtype)
    with fwd.dual_level():
        d = fwd.make_dual(a.clone(), va)
        d.mul_(b)
        d.exp_()
        if on_view:
            d[0].mul_(b[1])
        return fwd.unpack_dual(d).tangent


@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_on_the_dual_itself(dtype: str) -> None:
    """An in-place op on a low-precision dual tensor updates its tangent, as in PyTorch."""
    tangent = _inplace_tangent(cr, fw, dtype, on_view=False)
    _assert_close(tangent, _inplace_tangent(torch, tfw, dtype, on_view=False), dtype, "in-place")


def test_inplace_on_a_view_of_the_dual() -> None:
    tangent = _inplace_tangent(cr, fw, "float16", on_view=True)
    _assert_close(tangent, _inplace_tangent(torch, tfw, "float16", on_view=True), "float16", "")


# make_dual / func.jvp dtype rules, as PyTorch 2.13 answers them.
ACCEPTED = [
    ("bfloat16", "bfloat16"),
    ("float16", "float16"),
    ("float32", "bfloat16"),
    ("bfloat16", "float32"),
    ("float16", "bfloat16"),
    ("float64", "float32"),
    ("complex64", "float32"),
]


@pytest.mark.parametrize(("primal", "tangent"), ACCEPTED)
def test_make_dual_accepts_floating_pairs_as_torch(primal: str, tangent: str) -> None:
    p = cr.ones(2, dtype=getattr(cr, primal))
    t = cr.ones(2, dtype=getattr(cr, tangent))
    tp = torch.ones(2, dtype=getattr(torch, primal))
    tt = torch.ones(2, dtype=getattr(torch, tangent))
    with tfw.dual_level():
        t_got = tfw.unpack_dual(tfw.make_dual(tp, tt)).tangent
    with fw.dual_level():
        dual = fw.make_dual(p, t)
        got = fw.unpack_dual(dual).tangent
        assert got is t  # kept as given, as torch keeps it
        assert str(dual.dtype) == str(tp.dtype)
    assert str(got.dtype) == str(t_got.dtype)


REFUSED = [
    ("int64", "float32", "primal"),
    ("bool", "float32", "primal"),
    ("float32", "int64", "tangent"),
    ("bfloat16", "int32", "tangent"),
]


def _refusal(lib: object, fwd: object, primal: str, tangent: str, api: str) -> BaseException:
    p = lib.ones(2, dtype=getattr(lib, primal))
    t = lib.ones(2, dtype=getattr(lib, tangent))
    with pytest.raises(Exception) as info:
        if api == "make_dual":
            with fwd.dual_level():
                fwd.make_dual(p, t)
        else:
            lib.func.jvp(lambda x: x * 2, (p,), (t,))
    return info.value


@pytest.mark.parametrize("api", ["make_dual", "jvp"])
@pytest.mark.parametrize(("primal", "tangent", "which"), REFUSED)
def test_non_floating_primal_or_tangent_raises_as_torch(
    primal: str, tangent: str, which: str, api: str
) -> None:
    expected = _refusal(torch, tfw, primal, tangent, api)
    got = _refusal(cr, fw, primal, tangent, api)
    assert type(got) is type(expected) is ValueError
    assert str(got) == str(expected)
    assert f"Expected {which} to be floating point or complex" in str(got)


@pytest.mark.parametrize("api", ["make_dual", "jvp"])
def test_shape_mismatch_raises_as_torch(api: str) -> None:
    expected = _refusal_shape(torch, tfw, api)
    got = _refusal_shape(cr, fw, api)
    assert type(got) is type(expected) is RuntimeError
    assert str(got) == str(expected)


def _refusal_shape(lib: object, fwd: object, api: str) -> BaseException:
    p = lib.ones(2, dtype=lib.bfloat16)
    t = lib.ones(3, dtype=lib.bfloat16)
    with pytest.raises(RuntimeError) as info:
        if api == "make_dual":
            with fwd.dual_level():
                fwd.make_dual(p, t)
        else:
            lib.func.jvp(lambda x: x * 2, (p,), (t,))
    return info.value


@pytest.mark.parametrize("dtype", DTYPES)
def test_jacfwd_and_linearize_on_low_precision(dtype: str) -> None:
    x = RNG.standard_normal(4)
    v = RNG.standard_normal(4)

    def f(lib: object, t: object) -> object:
        return lib.nn.functional.softmax(t * t, 0) + t.var()

    cx = cr.tensor(x).to(getattr(cr, dtype))
    tx = torch.tensor(x).to(getattr(torch, dtype))
    jac = cr.func.jacfwd(lambda t: f(cr, t))(cx)
    t_jac = torch.func.jacfwd(lambda t: f(torch, t))(tx)
    _assert_close(jac, t_jac, dtype, "jacfwd")
    assert np.abs(jac.float().numpy()).max() > 0.1
    _, lin = cr.func.linearize(lambda t: f(cr, t), cx)
    _, t_lin = torch.func.linearize(lambda t: f(torch, t), tx)
    cv, tv = cr.tensor(v).to(cx.dtype), torch.tensor(v).to(tx.dtype)
    _assert_close(lin(cv), t_lin(tv), dtype, "linearize")


class TestGaussianNllLossLowPrecision:
    """``gaussian_nll_loss`` takes a bfloat16 var (it once raised "var must be floating
    point"); the result dtype follows PyTorch's promotion, and the gradient agrees."""

    @pytest.mark.parametrize(
        ("input_dtype", "var_dtype"),
        [
            ("bfloat16", "bfloat16"),
            ("bfloat16", "float32"),
            ("float16", "bfloat16"),
            ("float32", "bfloat16"),
            ("bfloat16", None),  # a float var
        ],
    )
    def test_matches_torch(self, input_dtype: str, var_dtype: str | None) -> None:
        var_np = np.abs(B) + 0.3

        def run(lib: object) -> tuple:
            a = lib.tensor(A).to(getattr(lib, input_dtype)).requires_grad_()
            target = lib.tensor(B).to(getattr(lib, input_dtype))
            var = 0.7 if var_dtype is None else lib.tensor(var_np).to(getattr(lib, var_dtype))
            loss = lib.nn.functional.gaussian_nll_loss(a, target, var)
            loss.backward()
            return loss, a.grad

        loss, grad = run(cr)
        t_loss, t_grad = run(torch)
        _assert_close(loss, t_loss, "bfloat16", "loss")
        _assert_close(grad, t_grad, "bfloat16", "grad")

    def test_integer_var_still_raises(self) -> None:
        a = cr.tensor(A, dtype=cr.bfloat16)
        with pytest.raises(RuntimeError, match="var must be floating point"):  # torch: too
            cr.nn.functional.gaussian_nll_loss(a, a, cr.ones(4, 6, dtype=cr.int64))


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
@pytest.mark.parametrize("dtype", DTYPES)
def test_anomaly_mode_sees_low_precision_nan(dtype: str) -> None:
    """detect_anomaly catches a NaN made by a node that computes bfloat16/float16 itself
    (var's native_bfloat16 node): bfloat16 once slipped through its ``kind == 'f'`` test,
    where PyTorch raises."""
    y = cr.tensor([float("inf"), 1.0, 2.0]).to(getattr(cr, dtype)).requires_grad_()
    ty = torch.tensor([float("inf"), 1.0, 2.0]).to(getattr(torch, dtype)).requires_grad_()
    with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="nan"):
        ty.var().backward()
    with cr.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="NaN or Inf"):
        y.var().backward()
