"""PyTorch 2's ways of writing an ``autograd.Function``, checked against torch: the
``setup_context`` style (``forward`` without ``ctx``, arguments bound with their defaults),
``ctx.set_materialize_grads`` and ``generate_vmap_rule``."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr


def _cube_fn(lib):
    class Cube(lib.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, scale=2.0, shift=None):
            out = x**3 * scale
            return out if shift is None else out + shift

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, scale, shift = inputs  # defaults filled in, as torch passes them
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.scale, ctx.has_shift = scale, shift is not None

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2 * ctx.scale, None, (g if ctx.has_shift else None)

        @staticmethod
        def jvp(ctx, tx, tscale, tshift):
            (x,) = ctx.saved_tensors
            out = tx * 3 * x**2 * ctx.scale
            return out if tshift is None else out + tshift

    return Cube


def _pair(values):
    return cr.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


def test_setup_context_style_matches_torch():
    (x, tx), (s, ts) = _pair([0.5, -1.0, 2.0]), _pair([1.0, 2.0, 3.0])
    results = []
    for lib, a, b in ((cr, x, s), (torch, tx, ts)):
        fn = _cube_fn(lib)
        y = fn.apply(a) + fn.apply(a, 0.5) + fn.apply(a, shift=b)  # keyword tensor: bound
        y.sum().backward()
        results.append((y.detach().numpy(), a.grad.numpy(), b.grad.numpy()))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-14)


def test_setup_context_style_under_jvp_and_vmap():
    x = np.array([0.5, -1.0, 2.0])
    v = np.array([1.0, 0.25, -2.0])
    got = cr.func.jvp(lambda a: _cube_fn(cr).apply(a, 1.5), (cr.tensor(x),), (cr.tensor(v),))
    want = torch.func.jvp(
        lambda a: _cube_fn(torch).apply(a, 1.5), (torch.tensor(x),), (torch.tensor(v),)
    )
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-14)
    batch = np.arange(6.0).reshape(2, 3) / 4
    got = cr.func.vmap(cr.func.grad(lambda a: _cube_fn(cr).apply(a).sum()))(cr.tensor(batch))
    want = torch.func.vmap(torch.func.grad(lambda a: _cube_fn(torch).apply(a).sum()))(
        torch.tensor(batch)
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-14)


def _two_outputs(lib, materialize):
    seen = []

    class TwoOut(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb if gb is None else gb.detach().numpy().copy())
            return ga * 2 if gb is None else ga * 2 + gb * 3

    return TwoOut, seen


def test_set_materialize_grads_matches_torch():
    for materialize in (True, False):
        results = []
        for lib in (cr, torch):
            x = lib.tensor([1.0, 2.0], requires_grad=True)
            fn, seen = _two_outputs(lib, materialize)
            a, _ = fn.apply(x)
            a.sum().backward()  # the second output gets no gradient
            results.append((seen[0], x.grad.numpy()))
        (cr_seen, cr_grad), (t_seen, t_grad) = results
        if materialize:
            np.testing.assert_array_equal(cr_seen, t_seen)  # zeros
            np.testing.assert_array_equal(cr_seen, [0.0, 0.0])
        else:
            assert cr_seen is None and t_seen is None
        np.testing.assert_array_equal(cr_grad, t_grad)
