"""Ops on cr.nested tensors, their float64 gradients, against torch live on random ragged
lengths (both layouts, where torch supports the op)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import arrays, assert_same, pair


def _weights(rng: np.random.Generator, d: int) -> tuple:
    w = rng.standard_normal((3, d))
    b = rng.standard_normal(3)
    return w, b


def _m(mod, name):
    return getattr(mod.nn.functional, name) if mod is torch else getattr(cr.nn.functional, name)


# (name, layouts, tail shape, fn(module, x, consts)) with consts numpy arrays made per test
_OPS = [
    ("sin", "sj", (4,), lambda m, x, k: x.sin()),
    ("neg_abs", "sj", (4,), lambda m, x, k: (-x).abs()),
    ("exp", "j", (4,), lambda m, x, k: m.exp(x)),
    ("gelu_tanh", "sj", (4,), lambda m, x, k: _m(m, "gelu")(x, approximate="tanh")),
    ("silu", "sj", (4,), lambda m, x, k: _m(m, "silu")(x)),
    ("relu", "sj", (4,), lambda m, x, k: _m(m, "relu")(x)),
    ("tanh", "sj", (4,), lambda m, x, k: m.tanh(x)),
    ("add_self", "sj", (4,), lambda m, x, k: x + x.sin()),
    ("mul_nested", "sj", (4,), lambda m, x, k: x * x.tanh()),
    ("scalar_ops", "sj", (4,), lambda m, x, k: (x * 2 - 1) / 3),
    ("rsub", "j", (4,), lambda m, x, k: 2 - x),
    ("pow", "j", (4,), lambda m, x, k: x**2),
    ("add_dense_row", "j", (4,), lambda m, x, k: x + m.tensor(k["row"])),
    ("mul_dense_batch", "j", (4,), lambda m, x, k: x * m.tensor(k["batch"])),
    ("add_0d", "sj", (4,), lambda m, x, k: x + m.tensor(1.5, dtype=m.float64)),
    ("linear", "sj", (4,), lambda m, x, k: _m(m, "linear")(x, m.tensor(k["w"]), m.tensor(k["b"]))),
    ("linear_nobias", "sj", (4,), lambda m, x, k: _m(m, "linear")(x, m.tensor(k["w"]))),
    ("softmax_last", "sj", (4,), lambda m, x, k: _m(m, "softmax")(x, dim=-1)),
    ("softmax_method", "sj", (4,), lambda m, x, k: x.softmax(-1)),
    ("softmax_ragged", "j", (4,), lambda m, x, k: m.softmax(x, 1)),
    ("log_softmax", "j", (4,), lambda m, x, k: _m(m, "log_softmax")(x, dim=-1)),
    (
        "layer_norm",
        "sj",
        (4,),
        lambda m, x, k: _m(m, "layer_norm")(x, (4,), m.tensor(k["g"]), m.tensor(k["beta"])),
    ),
    ("layer_norm_plain", "j", (4,), lambda m, x, k: _m(m, "layer_norm")(x, (4,))),
    ("transpose", "j", (2, 4), lambda m, x, k: x.transpose(1, 2).sin()),
    ("transpose_contiguous", "s", (2, 4), lambda m, x, k: x.transpose(1, 2).contiguous().sin()),
    ("transpose_back", "j", (2, 4), lambda m, x, k: x.transpose(1, 2).transpose(-1, -2)),
    ("matmul_nested", "s", (4,), lambda m, x, k: m.matmul(x, x.transpose(1, 2))),
    ("bmm_nested", "s", (4,), lambda m, x, k: m.bmm(x, x.transpose(-1, -2))),
    ("matmul_dense", "j", (4,), lambda m, x, k: x @ m.tensor(k["w"]).T),
    ("reshape", "sj", (4,), lambda m, x, k: x.reshape(x.size(0), -1, 2, 2)),
    ("view", "j", (4,), lambda m, x, k: x.view(x.size(0), -1, 2, 2)),
    ("unflatten", "j", (4,), lambda m, x, k: x.unflatten(-1, (2, 2))),
    ("unsqueeze", "sj", (4,), lambda m, x, k: x.unsqueeze(-1) * 2),
    ("chunk", "j", (4,), lambda m, x, k: x.chunk(2, -1)[1] * 3),
    ("chunk_contiguous", "s", (4,), lambda m, x, k: x.chunk(2, -1)[1].contiguous() * 3),
    # jagged: torch's backward crashes; strided: torch pads contiguous nested tensors only
    ("split_list", "s", (4,), lambda m, x, k: x.split([1, 3], -1)[1].contiguous() * 2),
    ("split_int", "j", (4,), lambda m, x, k: x.split(2, -1)[0] * 2),
    ("sum_last_keep", "sj", (4,), lambda m, x, k: x.sum(-1, keepdim=True)),
    ("sum_last", "j", (4,), lambda m, x, k: x.sum(-1)),
    ("sum_ragged", "j", (4,), lambda m, x, k: x.sum(1)),
    ("mean_ragged", "j", (4,), lambda m, x, k: x.mean(1)),
    ("mean_last", "j", (4,), lambda m, x, k: x.mean(-1)),
    ("sum_all", "j", (4,), lambda m, x, k: x.sum()),
    ("dropout_eval", "sj", (4,), lambda m, x, k: _m(m, "dropout")(x, 0.5, training=False)),
    ("clone_detach", "sj", (4,), lambda m, x, k: x.clone() + x.detach()),
]


# torch 2.13's jagged softmax over the ragged dim returns a wrong gradient (not the dense
# softmax's of each component): checked against central differences instead
_TORCH_GRAD_WRONG = frozenset({"softmax_ragged"})


def _consts(rng: np.random.Generator, batch: int) -> dict:
    w, b = _weights(rng, 4)
    return {
        "w": w,
        "b": b,
        "row": rng.standard_normal(4),
        "batch": rng.standard_normal((batch, 1, 4)),
        "g": rng.standard_normal(4),
        "beta": rng.standard_normal(4),
    }


def _cases():
    for name, layouts, tail, fn in _OPS:
        for lay in layouts:
            yield pytest.param(
                name, {"s": "strided", "j": "jagged"}[lay], tail, fn, id=f"{name}-{lay}"
            )


def _torch_grad(arrs: list, layout: str, fn, k: dict, wgt: np.ndarray) -> tuple | None:
    """torch's leaf gradient of ``(padded(fn(x)) * wgt).sum()`` as components; where torch's
    strided layout has no backward for the op, its jagged layout's (the same numbers); None
    where torch cannot compute it at all (its nested backward gaps)."""
    for lay in (layout, "jagged"):
        try:
            _, t = pair(arrs, lay, requires_grad=True)
            out = fn(torch, t, k)
            padded = out.to_padded_tensor(0.0) if out.is_nested else out
            (padded * torch.tensor(wgt)).sum().backward()
        except (NotImplementedError, RuntimeError):
            continue
        return t.grad.unbind()
    return None


def _numeric_grad(arrs: list, layout: str, fn, k: dict, wgt: np.ndarray) -> list:
    """Central differences of chainrule's ``(padded(fn(x)) * wgt).sum()`` (the reference
    where torch has no backward for the op)."""

    def f(parts: list) -> float:
        c, _ = pair(parts, layout)
        out = fn(cr, c, k)
        padded = out.to_padded_tensor(0.0) if out.is_nested else out
        return float((padded * cr.tensor(wgt)).sum())

    grads = []
    for i, a in enumerate(arrs):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            parts = [p.copy() for p in arrs]
            parts[i][idx] += 1e-6
            up = f(parts)
            parts[i][idx] -= 2e-6
            g[idx] = (up - f(parts)) / 2e-6
        grads.append(torch.tensor(g))
    return grads


@pytest.mark.parametrize(("name", "layout", "tail", "fn"), list(_cases()))
def test_op_and_gradient_match_torch(name, layout, tail, fn):
    rng = np.random.default_rng(abs(hash((name, layout))) % 2**32)
    arrs = arrays(rng, tail, batch=3)
    k = _consts(rng, 3)
    c, t = pair(arrs, layout, requires_grad=True)
    co, to = fn(cr, c, k), fn(torch, t, k)
    assert_same(co, to)
    assert co.requires_grad == to.requires_grad
    if not to.requires_grad:
        return
    cp = co.to_padded_tensor(0.0) if to.is_nested else co
    tp = to.to_padded_tensor(0.0) if to.is_nested else to
    assert_same(cp, tp)
    wgt = rng.standard_normal(tuple(tp.shape))
    (cp * cr.tensor(wgt)).sum().backward()
    assert c.grad is not None
    want = None if name in _TORCH_GRAD_WRONG else _torch_grad(arrs, layout, fn, k, wgt)
    if want is None:
        want = _numeric_grad(arrs, layout, fn, k, wgt)
        assert_same(c.grad.unbind(), tuple(want), atol=1e-6)
    else:
        assert_same(c.grad.unbind(), want)


def test_sdpa_jagged_as_torch_example():
    rng = np.random.default_rng(3)
    arrs = arrays(rng, (2, 4), batch=3)  # (B, *, H, D)
    c, t = pair(arrs, "jagged", requires_grad=True)
    fc = cr.nn.functional.scaled_dot_product_attention
    ft = torch.nn.functional.scaled_dot_product_attention
    qc, qt = c.transpose(1, 2), t.transpose(1, 2)
    oc = fc(qc, qc.sin(), qc.cos(), scale=0.3).transpose(1, 2)
    ot = ft(qt, qt.sin(), qt.cos(), scale=0.3).transpose(1, 2)
    assert_same(oc, ot)
    wgt = rng.standard_normal(tuple(ot.to_padded_tensor(0.0).shape))
    (oc.to_padded_tensor(0.0) * cr.tensor(wgt)).sum().backward()
    (ot.to_padded_tensor(0.0) * torch.tensor(wgt)).sum().backward()
    assert_same(c.grad, t.grad)


def test_sdpa_strided():
    rng = np.random.default_rng(4)
    arrs = [rng.standard_normal((2, n, 4)) for n in (3, 5)]
    c, t = pair(arrs, "strided")
    fc = cr.nn.functional.scaled_dot_product_attention
    ft = torch.nn.functional.scaled_dot_product_attention
    assert_same(fc(c, c, c), ft(t, t, t))


def test_nn_modules_on_jagged():
    rng = np.random.default_rng(5)
    c, t = pair(arrays(rng, (4,)), "jagged")
    lin_c, lin_t = cr.nn.Linear(4, 3).double(), torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        lin_t.weight.copy_(torch.tensor(lin_c.weight.detach().numpy()))
        lin_t.bias.copy_(torch.tensor(lin_c.bias.detach().numpy()))
    assert_same(lin_c(c), lin_t(t))
    assert_same(cr.nn.LayerNorm(4).double()(c), torch.nn.LayerNorm(4).double()(t))


def test_to_padded_tensor_output_size():
    rng = np.random.default_rng(6)
    arrs = arrays(rng, (3,))
    for layout in ("strided", "jagged"):
        c, t = pair(arrs, layout)
        assert_same(cr.nested.to_padded_tensor(c, -1.0), torch.nested.to_padded_tensor(t, -1.0))
        size = (3, 7, 3) if layout == "jagged" else (3, 7, 5)
        assert_same(c.to_padded_tensor(2.0, size), t.to_padded_tensor(2.0, size))
    c, t = pair(arrs, "jagged")
    assert_same(c.to_padded_tensor(0.0, (3, 1, 3)), t.to_padded_tensor(0.0, (3, 1, 3)))


def test_dropout_training_masks_and_scales():
    c = cr.nested.nested_tensor([cr.ones(50, 4), cr.ones(30, 4)], layout=cr.jagged)
    out = cr.nn.functional.dropout(c, 0.5)
    vals = out.values().numpy()
    assert set(np.unique(vals)) <= {0.0, 2.0} and 0 < (vals == 0).mean() < 1
    assert out.offsets() is c.offsets()


def test_unbind_and_indexing():
    rng = np.random.default_rng(8)
    for layout in ("strided", "jagged"):
        c, t = pair(arrays(rng, (2,)), layout)
        for i in range(3):
            np.testing.assert_allclose(c[i].numpy(), t[i].numpy())
        assert [tuple(x.shape) for x in c] == [tuple(x.shape) for x in t.unbind()]


_OPERATOR_FORMS = [
    lambda x: 2 - x,
    lambda x: 2 / x,
    lambda x: 2**x,
    lambda x: x % 2,
    lambda x: 2 % x,
    lambda x: x == x,
    lambda x: x < 1,
    lambda x: +x,
    lambda x: 1 + x,
    lambda x: 2 * x,
]


@pytest.mark.parametrize("layout", ["strided", "jagged"])
@pytest.mark.parametrize("case", range(len(_OPERATOR_FORMS)))
def test_operator_forms_as_torch(layout, case):
    # the same results where torch computes them, the same error type where it refuses
    rng = np.random.default_rng(case)
    c, t = pair([rng.random((2, 3)) + 0.5, rng.random((4, 3)) + 0.5], layout)
    fn = _OPERATOR_FORMS[case]
    try:
        want = fn(t)
    except (NotImplementedError, RuntimeError) as e:
        with pytest.raises(type(e)):
            fn(c)
        return
    assert_same(fn(c), want)
