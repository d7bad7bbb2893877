"""CPU autocast and bfloat16 against PyTorch where they used to differ: ``addmm``/``baddbmm``/
``addbmm`` (lower-precision list, the added term cast too), ``addmv``/``mv``/``dot`` (on no
list), ``prelu``/``linalg.vecdot`` (lower precision), ``trace``/``adaptive_avg_pool3d``
(float32 list; the adaptive average pools are not cast through their inner matmuls),
float16 arguments, ``linalg.vander``'s refusals, ``binary_cross_entropy_with_logits``'s
result dtype (the target's), and the ``grad_fn`` name of a bfloat16 result.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(0)


def _arrays(*shapes):
    return [RNG.standard_normal(s).astype(np.float32) for s in shapes]


def _leaves(lib, arrays, dtype=None):
    out = []
    for a in arrays:
        t = lib.tensor(a)
        if dtype is not None:
            t = t.to(dtype)
        out.append(t.requires_grad_(True))
    return out


def _dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _close(c, t, tol=0.0) -> None:
    assert _dtype_name(c) == _dtype_name(t)
    np.testing.assert_allclose(
        c.detach().float().numpy(), t.detach().float().numpy(), rtol=tol, atol=tol
    )


def _run_both(fn, arrays, autocast=True, dtype=None):
    """fn(lib, *leaves) in both libraries (inside CPU autocast if asked), then the gradients
    of the float32 sum reaching each leaf."""
    results = []
    for lib, dt in ((cr, None if dtype is None else getattr(cr, dtype)), (torch, None)):
        if lib is torch and dtype is not None:
            dt = getattr(torch, dtype)
        leaves = _leaves(lib, arrays, dt)
        with lib.autocast("cpu", enabled=autocast):
            out = fn(lib, *leaves)
        out.float().sum().backward()
        results.append((out, [leaf.grad for leaf in leaves]))
    return results


# ------------------------------------------------------------------ 1. scaled products
_SCALED = {
    "addmm": ((3, 5), (3, 4), (4, 5)),
    "baddbmm": ((2, 3, 5), (2, 3, 4), (2, 4, 5)),
    "addbmm": ((3, 5), (2, 3, 4), (2, 4, 5)),
}


@pytest.mark.parametrize("name", sorted(_SCALED))
def test_scaled_products_cast_all_arguments_under_autocast(name):
    arrays = _arrays(*_SCALED[name])

    def fn(lib, m, a, b):
        return getattr(lib, name)(m, a, b, beta=0.5, alpha=2.0)

    (c, cg), (t, tg) = _run_both(fn, arrays)
    assert _dtype_name(c) == _dtype_name(t) == "bfloat16"
    _close(c, t, 0.0 if name != "addbmm" else 0.1)  # addbmm: PyTorch rounds per batch
    for g_c, g_t in zip(cg, tg):  # gradients come back through the casts, in float32
        _close(g_c, g_t, 5e-2)
    (c, _), (t, _) = _run_both(fn, arrays, autocast=False)
    _close(c, t, 1e-5)  # outside the block: float32, as before


def test_addmm_of_bfloat16_rounds_once_as_torch():
    arrays = _arrays((6, 7), (6, 9), (9, 7))
    (c, cg), (t, tg) = _run_both(
        lambda lib, m, a, b: lib.addmm(m, a, b, beta=0.5, alpha=2.0),
        arrays,
        autocast=False,
        dtype="bfloat16",
    )
    _close(c, t)  # bit for bit: one rounding of the float32 result
    for g_c, g_t in zip(cg, tg):
        _close(g_c, g_t, 5e-2)


@pytest.mark.parametrize(
    ("name", "shapes"),
    [("addmv", ((3,), (3, 4), (4,))), ("mv", ((3, 4), (4,))), ("dot", ((4,), (4,)))],
)
def test_products_on_no_autocast_list_stay_float32(name, shapes):
    (c, cg), (t, tg) = _run_both(lambda lib, *xs: getattr(lib, name)(*xs), _arrays(*shapes))
    _close(c, t, 1e-5)
    assert _dtype_name(c) == "float32"
    for g_c, g_t in zip(cg, tg):
        _close(g_c, g_t, 1e-5)


# ------------------------------------------------------------ 2. prelu, vecdot, trace
def test_prelu_and_vecdot_are_lower_precision_under_autocast():
    x, w = _arrays((2, 3, 4), (3,))
    (c, cg), (t, tg) = _run_both(lambda lib, a, b: lib.nn.functional.prelu(a, b), [x, w])
    assert _dtype_name(c) == "bfloat16"
    _close(c, t)
    for g_c, g_t in zip(cg, tg):
        _close(g_c, g_t, 5e-2)
    a, b = _arrays((3, 5), (3, 5))
    (c, cg), (t, tg) = _run_both(lambda lib, p, q: lib.linalg.vecdot(p, q), [a, b])
    assert _dtype_name(c) == "bfloat16"
    _close(c, t, 2e-2)
    for g_c, g_t in zip(cg, tg):
        _close(g_c, g_t, 5e-2)


def test_prelu_under_autocast_takes_mixed_dtypes_as_torch():
    x, w = _arrays((2, 3, 4), (3,))
    for lib in (cr, torch):
        with lib.autocast("cpu"):
            out = lib.nn.functional.prelu(lib.tensor(x).bfloat16(), lib.tensor(w))
        assert _dtype_name(out) == "bfloat16"
    with pytest.raises(RuntimeError, match="prelu"):  # outside the block both refuse
        F.prelu(cr.tensor(x).bfloat16(), cr.tensor(w))
    with pytest.raises(RuntimeError):
        TF.prelu(torch.tensor(x).bfloat16(), torch.tensor(w))


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_trace_is_float32_under_autocast(dtype):
    (m,) = _arrays((4, 5))
    (c, cg), (t, tg) = _run_both(lambda lib, a: lib.trace(a), [m], dtype=dtype)
    assert _dtype_name(c) == "float32"
    _close(c, t, 1e-2)
    _close(cg[0], tg[0])  # the gradient arrives in the leaf's dtype


# ----------------------------------------------------------------- 3. adaptive pooling
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("autocast", [False, True])
def test_adaptive_avg_pool3d_dtype_and_values_as_torch(dtype, autocast):
    (x,) = _arrays((1, 2, 5, 6, 7))
    (c, cg), (t, tg) = _run_both(
        lambda lib, a: lib.nn.functional.adaptive_avg_pool3d(a, (2, 4, 3)),
        [x],
        autocast=autocast,
        dtype=dtype,
    )
    _close(c, t, 1e-5 if c.dtype == cr.float32 else 1e-2)
    _close(cg[0], tg[0], 1e-5 if dtype == "float32" else 1e-2)  # bfloat16: within a step


@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_avg_pool1d"])
def test_adaptive_avg_pool_keeps_float32_under_autocast(name):
    (x,) = _arrays((2, 3, 5, 7) if name.endswith("2d") else (2, 3, 7))
    (c, cg), (t, tg) = _run_both(lambda lib, a: getattr(lib.nn.functional, name)(a, 3), [x])
    assert _dtype_name(c) == "float32"
    _close(c, t, 1e-5)
    _close(cg[0], tg[0], 1e-5)


def test_autocast_casts_float16_as_torch():
    a, b = _arrays((3, 4), (4, 2))
    for lib in (cr, torch):
        ha, hb = lib.tensor(a).half(), lib.tensor(b).half()
        with lib.autocast("cpu"):
            assert _dtype_name(lib.mm(ha, hb)) == "bfloat16"  # lower precision list
            assert _dtype_name(lib.prod(ha)) == "float32"  # float32 list
            assert _dtype_name(lib.matmul(ha.double(), hb.double())) == "float64"


# ---------------------------------------------------------------------- 4. linalg.vander
@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "bool"])
def test_linalg_vander_refuses_as_torch(dtype):
    with pytest.raises(RuntimeError):
        torch.linalg.vander(torch.arange(3).to(getattr(torch, dtype)))
    with pytest.raises(RuntimeError, match=f"linalg.vander.*got (torch.)?{dtype}"):
        cr.linalg.vander(cr.arange(3).to(getattr(cr, dtype)))
    # torch.vander takes them
    want = torch.vander(torch.arange(3).to(getattr(torch, dtype)))
    _close(cr.vander(cr.arange(3).to(getattr(cr, dtype))), want)


# -------------------------------------------------- 5. binary_cross_entropy_with_logits
@pytest.mark.parametrize(
    ("x", "y", "w", "autocast"),
    [
        ("float32", "bfloat16", None, False),
        ("bfloat16", "float32", None, False),
        ("float64", "float32", None, False),
        ("float32", "float64", None, False),
        ("float32", "float16", None, False),
        ("bfloat16", "bfloat16", "float32", False),
        ("float32", "bfloat16", None, True),
        ("float32", "float16", None, True),
    ],
)
def test_bce_with_logits_result_has_the_targets_dtype(x, y, w, autocast):
    a, b, c = _arrays((6,), (6,), (6,))
    b = 1 / (1 + np.exp(-b))
    c = np.abs(c)
    got = []
    for lib in (cr, torch):
        inp = lib.tensor(a).to(getattr(lib, x)).requires_grad_(True)
        tgt = lib.tensor(b).to(getattr(lib, y))
        wt = None if w is None else lib.tensor(c).to(getattr(lib, w))
        with lib.autocast("cpu", enabled=autocast):
            out = lib.nn.functional.binary_cross_entropy_with_logits(inp, tgt, wt)
        out.float().backward()
        got.append((out, inp.grad))
    (c_out, c_grad), (t_out, t_grad) = got
    _close(c_out, t_out, 1e-2)
    _close(c_grad, t_grad, 1e-2)


# ----------------------------------------------------------------- 6. grad_fn names
def test_bfloat16_result_grad_fn_names_the_op():
    (a,) = _arrays((3, 4))
    x = cr.tensor(a, requires_grad=True)
    for fn in (lambda t: t * t, lambda t: t @ t.T, lambda t: t.exp(), lambda t: t.sum()):
        want = fn(x).grad_fn.name()
        xb = x.detach().bfloat16().requires_grad_(True)
        y = fn(xb)
        assert y.dtype == cr.bfloat16
        assert y.grad_fn.name() == want
        assert repr(y.grad_fn).startswith(f"<{want} object at 0x")
        tx = torch.tensor(a).bfloat16().requires_grad_(True)
        y.float().sum().backward()
        fn(tx).float().sum().backward()
        _close(xb.grad, tx.grad, 2e-2)


_EINSUMS = {
    "ij,jk->ik": [(3, 4), (4, 5)],
    "ij,ij->i": [(3, 4), (3, 4)],
    "ij,ij->ij": [(3, 4), (3, 4)],
    "i,j->ij": [(3,), (4,)],
    "ij->ji": [(3, 4)],
    "ii->": [(3, 3)],
    "i,i,i->": [(4,), (4,), (4,)],
    "ij,k->i": [(3, 4), (5,)],
    "ij,jk->ij": [(3, 4), (4, 5)],
    "i,j,j->i": [(3,), (4,), (4,)],
    "...ij,...jk->...ik": [(2, 3, 4), (2, 4, 5)],
    "j,j,i->i": [(4,), (4,), (3,)],
    "ij,jk,kl->il": [(3, 4), (4, 5), (5, 2)],
    "bij,bjk,bkl->bil": [(2, 3, 4), (2, 4, 5), (2, 5, 2)],
    "i,ij,j->ij": [(3,), (3, 4), (4,)],
    "ij,jk,kl,l->i": [(3, 40), (40, 2), (2, 50), (50,)],
}


@pytest.mark.parametrize("opt_einsum", [True, False], ids=["opt_einsum", "left_to_right"])
@pytest.mark.parametrize("equation", sorted(_EINSUMS))
def test_einsum_under_autocast_casts_where_torch_contracts(equation, opt_einsum):
    """torch's einsum runs bmm when a summed subscript is shared by two operands (bfloat16
    under CPU autocast); otherwise it stays float32. Three operands or more are contracted
    pair by pair along the contraction path (opt_einsum's, or left to right), each pair by
    that rule, so the result's dtype is the last pair's."""
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in _EINSUMS[equation]]
    torch.backends.opt_einsum.set_flags(True, "auto")  # whatever an earlier test left
    with torch.backends.opt_einsum.flags(enabled=opt_einsum), torch.autocast("cpu"):
        want = torch.einsum(equation, *[torch.tensor(a) for a in arrays])
    with cr.backends.opt_einsum.flags(enabled=opt_einsum), cr.autocast("cpu"):
        got = cr.einsum(equation, *[cr.tensor(a) for a in arrays])
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_float16_losses_under_autocast_return_float32(loss):
    """PyTorch's CPU autocast computes the losses of its float32 list in float32 for float16
    arguments too; outside autocast they stay float16."""
    rng = np.random.default_rng(8)
    a, b = (rng.standard_normal(6).astype(np.float16) for _ in range(2))
    ta, tb = torch.tensor(a), torch.tensor(b)
    ca, cb = cr.tensor(a), cr.tensor(b)
    with torch.autocast("cpu"):
        want = getattr(torch.nn.functional, loss)(ta, tb)
    with cr.autocast("cpu"):
        got = getattr(cr.nn.functional, loss)(ca, cb)
    outside = getattr(cr.nn.functional, loss)(ca, cb)
    assert str(want.dtype) == "torch.float32" and str(got.dtype).endswith("float32")
    assert str(outside.dtype).endswith("float16")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)
