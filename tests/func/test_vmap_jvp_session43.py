"""Forward-mode tangents inside ``vmap`` against PyTorch, both orders: ``vmap`` of ``jvp`` and
``jvp`` of ``vmap``. There a batched tensor reports ``_fw_tangent = None`` (its physical
tensor carries the tangent), so an op that tests ``x._fw_tangent`` to pick a no-tangent path
(``fmod``/``remainder`` did) returns a wrong tangent. Covered: every op whose code tests
``_fw_tangent`` directly and that runs under vmap (clone, median, masked_fill, index_add,
index_fill, index_put, in-place writes, casts, the rounded divisions) plus ``div`` with a
``rounding_mode``, whose primal result (a plain Tensor holding per-sample values) leaked out
of ``vmap(jvp(...))`` unbatched before ``func._batched.physical`` read it as batched."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

# torch's vmap warns where it has no batching rule (masked_fill with a tensor, clamp_, fmod_)
pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")

RNG = np.random.default_rng(43)
X = RNG.standard_normal((3, 4)) + 0.1
T = RNG.standard_normal((3, 4))


def _setitem(m, x):
    y = x.clone()
    y[0] = x[1] * 2
    return y


def _inplace(name, *args):
    def f(m, x):
        y = x * 1
        getattr(y, name)(*(a(m, x) if callable(a) else a for a in args))
        return y

    return f


CASES = {
    "clone": lambda m, x: x.clone(),
    "clone_preserve": lambda m, x: x.clone(memory_format=m.preserve_format),
    "to_float32": lambda m, x: x.to(m.float32),
    "median": lambda m, x: x.median(),
    "nanmedian": lambda m, x: x.nanmedian(),
    "median_dim": lambda m, x: x.median(0)[0],
    "masked_fill": lambda m, x: x.masked_fill(x > 0, 2.0),
    "masked_fill_tensor": lambda m, x: x.masked_fill(x > 0, m.tensor(2.0, dtype=m.float64)),
    "index_add_source": lambda m, x: m.zeros(5, dtype=m.float64).index_add(
        0, m.tensor([0, 2, 4, 1]), x
    ),
    "index_add_self": lambda m, x: x.index_add(0, m.tensor([0, 2]), m.ones(2, dtype=m.float64)),
    "index_fill": lambda m, x: x.index_fill(0, m.tensor([0, 2]), 1.5),
    "index_put": lambda m, x: x.index_put((m.tensor([0, 2]),), x[:2] * 3),
    "index_put_accumulate": lambda m, x: x.index_put(
        (m.tensor([0, 0]),), x[:2] * 3, accumulate=True
    ),
    "index_copy": lambda m, x: x.index_copy(0, m.tensor([0, 2]), x[1:3] * 2),
    "scatter": lambda m, x: x.scatter(0, m.tensor([0, 1]), x[2:] * 2),
    "where": lambda m, x: m.where(x > 0, x, x * 2),
    "setitem": _setitem,
    "masked_fill_": _inplace("masked_fill_", lambda m, x: x > 0, 2.0),
    "index_fill_": _inplace("index_fill_", 0, lambda m, x: m.tensor([1]), 3.0),
    "index_put_": _inplace("index_put_", lambda m, x: (m.tensor([0, 2]),), lambda m, x: x[:2]),
    "index_add_": _inplace("index_add_", 0, lambda m, x: m.tensor([0, 0]), lambda m, x: x[2:]),
    "clamp_": _inplace("clamp_", -0.2, 0.3),
    "floor_": _inplace("floor_"),
    "fmod_": _inplace("fmod_", 0.3),
    "fmod": lambda m, x: m.fmod(x, 0.7),
    "remainder": lambda m, x: x.remainder(0.3),
    "div_floor": lambda m, x: m.div(x, 0.3, rounding_mode="floor"),
    "div_trunc": lambda m, x: m.div(x, 0.3, rounding_mode="trunc"),
    "div_floor_tensors": lambda m, x: m.div(x, x * x + 1, rounding_mode="floor"),
    "div_floor_times_x": lambda m, x: m.div(x, 0.3, rounding_mode="floor") * x,
    # plain vmap of these failed before session 44 (tests/func/test_vmap_session44.py)
    "max_all": lambda m, x: x.max(),
    "zero_view": lambda m, x: (lambda y: (y[:2].zero_(), y)[1])(x * 1),
    "fill_": _inplace("fill_", 1.0),
    "select_scatter": lambda m, x: m.select_scatter(x, x[1] * 3, 0, 0),
}


def _run(m, f, order):
    x, t = m.tensor(X), m.tensor(T)

    def g(v):
        return f(m, v)

    if order == "vmap_of_jvp":
        out, tan = m.func.vmap(lambda x, t: m.func.jvp(g, (x,), (t,)))(x, t)
    else:
        out, tan = m.func.jvp(m.func.vmap(g), (x,), (t,))
    return out, tan


@pytest.mark.parametrize("order", ["vmap_of_jvp", "jvp_of_vmap"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_tangents_match_torch(name, order):
    want_out, want_tan = _run(torch, CASES[name], order)
    out, tan = _run(cr, CASES[name], order)
    for got, want in ((out, want_out), (tan, want_tan)):
        assert type(got) is cr.Tensor  # not a batched tensor leaking out of vmap
        assert isinstance(got._data, np.ndarray)  # nor a plain one holding per-sample values
        assert tuple(got.shape) == tuple(want.shape)
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["div_floor_times_x", "div_trunc", "fmod", "remainder"])
def test_vmap_of_vjp_and_grad_match_torch(name):
    """The reverse-mode lifting reads an op's per-sample plain result the same way."""
    f = CASES[name]
    for m in (torch, cr):
        x = m.tensor(X)
        out = m.func.vmap(lambda x, m=m: m.func.vjp(lambda v: f(m, v), x)[0])(x)
        grad = m.func.vmap(m.func.grad(lambda v, m=m: f(m, v).sum()))(x)
        if m is torch:
            want = (out.detach().numpy(), grad.detach().numpy())
        else:
            assert isinstance(out._data, np.ndarray)
            np.testing.assert_allclose(out.numpy(), want[0], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(grad.numpy(), want[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_nested_vmap_of_jvp_rounded_div_matches_torch(mode):
    """Two vmap levels: the per-sample result carries both levels' values in one array."""
    x3 = RNG.standard_normal((2, 3, 4))
    t3 = RNG.standard_normal((2, 3, 4))
    res = []
    for m in (torch, cr):

        def f(x, t, m=m):
            return m.func.jvp(lambda v: m.div(v, 0.3, rounding_mode=mode), (x,), (t,))

        res.append(m.func.vmap(m.func.vmap(f))(m.tensor(x3), m.tensor(t3)))
    for want, got in zip(*res, strict=True):
        assert isinstance(got._data, np.ndarray)
        np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
