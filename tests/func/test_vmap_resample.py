"""``cr.func.vmap`` over ``F.interpolate``'s tap modes (linear, bilinear, bicubic, trilinear,
antialiased): the ``Resample`` node and its transpose have a batching rule (the vmapped dim
folded into the batch dim), so no per-sample loop runs. Results and gradients are compared
with a loop over the samples and with ``torch.func.vmap``, for several ``in_dims``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import _dispatch

from ._helpers import assert_tree_close, compare, rand, to_lib, to_numpy

torch = pytest.importorskip("torch")

# (per-sample shape, interpolate keywords)
CASES = {
    "linear_up": ((2, 3, 5), dict(scale_factor=2, mode="linear")),
    "linear_align": ((2, 3, 5), dict(size=9, mode="linear", align_corners=True)),
    "bilinear_up": ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    "bilinear_down_align": ((1, 2, 6, 7), dict(size=(4, 3), mode="bilinear", align_corners=True)),
    "bicubic": ((2, 2, 4, 5), dict(size=(7, 3), mode="bicubic")),
    "bicubic_align": ((2, 2, 4, 5), dict(scale_factor=1.5, mode="bicubic", align_corners=True)),
    "trilinear": ((1, 2, 3, 4, 3), dict(scale_factor=2, mode="trilinear")),
    "trilinear_align": (
        (1, 2, 3, 4, 3),
        dict(size=(2, 5, 4), mode="trilinear", align_corners=True),
    ),
    "bilinear_aa": ((2, 3, 8, 9), dict(size=(3, 4), mode="bilinear", antialias=True)),
    "bicubic_aa_align": (
        (2, 2, 9, 6),
        dict(size=(4, 6), mode="bicubic", antialias=True, align_corners=True),
    ),
    "bilinear_aa_same_size": ((2, 3, 5, 4), dict(size=(5, 4), mode="bilinear", antialias=True)),
}
B = 3


def _interp(lib, kw):
    return lambda x: lib.nn.functional.interpolate(x, **kw)


def _batched(shape, in_dim, seed=0):
    """A batch of B samples of ``shape`` with the batch at ``in_dim``."""
    return np.moveaxis(rand(B, *shape, seed=seed), 0, in_dim)


@pytest.mark.parametrize("in_dim", [0, 1, -1])
@pytest.mark.parametrize("name", list(CASES))
def test_vmap_matches_torch_and_loop(name, in_dim):
    shape, kw = CASES[name]
    x = _batched(shape, in_dim)
    got = compare(lambda lib: _interp(lib, kw), (x,), in_dims=in_dim)
    loop = np.stack([_interp(cr, kw)(cr.tensor(s)).numpy() for s in np.moveaxis(x, in_dim, 0)])
    np.testing.assert_array_equal(got.numpy(), loop)


@pytest.mark.parametrize("name", list(CASES))
def test_vmap_out_dims(name):
    shape, kw = CASES[name]
    compare(lambda lib: _interp(lib, kw), (_batched(shape, 1),), in_dims=1, out_dims=2)


def _weighted_sum(lib, kw, w):
    return lambda x: (_interp(lib, kw)(x) * lib.tensor(w)).sum()


@pytest.mark.parametrize("in_dim", [0, 2])
@pytest.mark.parametrize("name", list(CASES))
def test_vmap_of_grad_matches_torch_and_loop(name, in_dim):
    """Per-sample gradients: the transpose map runs on a batched gradient."""
    shape, kw = CASES[name]
    x = _batched(shape, in_dim, seed=1)
    out_shape = _interp(torch, kw)(torch.tensor(rand(*shape))).shape
    w = rand(*out_shape, seed=2)
    got = compare(
        lambda lib: lib.func.grad(_weighted_sum(lib, kw, w)), (x,), in_dims=in_dim, out_dims=0
    )
    loop = []
    for s in np.moveaxis(x, in_dim, 0):
        leaf = cr.tensor(s, requires_grad=True)
        _weighted_sum(cr, kw, w)(leaf).backward()
        loop.append(leaf.grad.numpy())
    np.testing.assert_allclose(got.numpy(), np.stack(loop), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["bilinear_up", "bicubic_aa_align", "trilinear"])
def test_vmap_of_vjp_with_batched_cotangents(name):
    """One input, a batch of cotangents (rows of a Jacobian): ``ResampleTranspose`` is the
    batched op."""
    shape, kw = CASES[name]
    x = rand(*shape, seed=3)
    out_shape = tuple(_interp(torch, kw)(torch.tensor(x)).shape)
    cot = rand(B, *out_shape, seed=4)

    def body(lib):
        def rows(c):
            return lib.func.vjp(_interp(lib, kw), lib.tensor(x))[1](c)[0]

        return rows

    before = _dispatch.STATS["fallback"]
    got = cr.func.vmap(body(cr))(cr.tensor(cot))
    assert _dispatch.STATS["fallback"] == before
    want = torch.func.vmap(body(torch))(torch.tensor(cot))
    assert_tree_close(to_numpy(got), to_numpy(want))


def test_nested_vmap():
    shape, kw = CASES["bicubic"]
    x = rand(2, B, *shape, seed=5)
    f = {lib: lib.func.vmap(lib.func.vmap(_interp(lib, kw)), in_dims=1) for lib in (cr, torch)}
    before = _dispatch.STATS["fallback"]
    got = f[cr](to_lib(cr, x))
    assert _dispatch.STATS["fallback"] == before
    assert_tree_close(to_numpy(got), to_numpy(f[torch](to_lib(torch, x))))


def test_vmap_grad_of_grad():
    """Second derivatives per sample (the transpose's backward is the map again)."""
    shape, kw = CASES["bilinear_down_align"]
    x = _batched(shape, 0, seed=6)

    def body(lib):
        def f(t):
            return (_interp(lib, kw)(t) ** 3).sum()

        return lambda t: lib.func.grad(lambda u: (lib.func.grad(f)(u) ** 2).sum())(t)

    compare(body, (x,))


def test_same_size_antialias_records_a_node_like_torch():
    """An antialiased resize that changes no axis is still torch's upsampling node, a copy."""
    for mode, ac in (("bilinear", False), ("bicubic", True)):
        names = []
        for lib in (cr, torch):
            x = lib.tensor(rand(2, 3, 5, 4, seed=7), requires_grad=True)
            y = lib.nn.functional.interpolate(
                x, size=(5, 4), mode=mode, antialias=True, align_corners=ac
            )
            assert y is not x and y.data_ptr() != x.data_ptr()
            np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
            (y * 2).sum().backward()
            np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, 2.0))
            names.append((y.grad_fn.name(), len(y.grad_fn.next_functions)))
        assert names[0] == names[1] == (f"Upsample{mode.capitalize()}2DAaBackward0", 1)
