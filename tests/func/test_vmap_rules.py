"""Batching rules against ``torch.func.vmap`` in float64: every rule family runs as one batched
op (the per-sample fallback must not run) and gives PyTorch's values."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import _dispatch

from ._helpers import compare, rand, torch

UNARY = [
    "exp",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "abs",
    "neg",
    "erf",
    "log1p",
    "expm1",
    "reciprocal",
    "square",
    "atan",
    "sinh",
]


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    compare(lambda lib: getattr(lib, name), (rand(3, 4),))


@pytest.mark.parametrize("name", ["sqrt", "log", "rsqrt"])
def test_unary_positive(name):
    compare(lambda lib: getattr(lib, name), (np.abs(rand(3, 4)) + 0.5,))


def test_activations_and_parametrised_unary():
    def body(lib):
        F = lib.nn.functional
        return lambda x: (
            F.gelu(x)
            + F.gelu(x, approximate="tanh")
            + F.silu(x)
            + F.softplus(x, beta=2.0)
            + F.leaky_relu(x, 0.1)
            + F.elu(x)
            + lib.clamp(x, -0.5, 0.5)
            + F.hardtanh(x)
        )

    compare(body, (rand(4, 5),), batched_only=False)
    compare(lambda lib: lambda x: lib.clamp(x, -0.5, 0.5).tanh(), (rand(4, 5),))


BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "atan2"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize(
    "in_dims,shapes",
    [
        ((0, 0), ((3, 4), (3, 4))),
        ((0, None), ((3, 4), (4,))),  # the unbatched operand broadcasts
        ((None, 0), ((2, 4), (3, 1, 4))),  # ranks differ: aligned after the batch dim
        ((1, 0), ((4, 3), (3, 2, 4))),
        ((0, 0), ((3,), (3, 2, 5))),  # logical 0-d against 2-d
    ],
)
def test_binary(name, in_dims, shapes):
    args = tuple(rand(*s, seed=i) for i, s in enumerate(shapes))
    compare(lambda lib: getattr(lib, name), args, in_dims=in_dims)


def test_pow_and_scalars_and_where():
    a, b = np.abs(rand(3, 4)) + 0.1, rand(4)
    compare(lambda lib: lambda x, y: x**y + 2.0 * x - 1 / x, (a, b), in_dims=(0, None))
    compare(lambda lib: lambda x, y: lib.where(x > y, x, y * 2), (rand(3, 4), b), in_dims=(0, None))
    compare(
        lambda lib: lambda x, y: lib.where(y > 0, x, 0.0),
        (rand(3, 2, 4), rand(3, 4)),
        in_dims=(0, 0),
    )


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, x: x.sum(),
        lambda lib, x: x.sum(0),
        lambda lib, x: x.sum(-1, keepdim=True),
        lambda lib, x: x.sum((0, 1)),
        lambda lib, x: x.mean(1),
        lambda lib, x: x.mean(),
        lambda lib, x: x.amax(0),
        lambda lib, x: x.amin(-1, keepdim=True),
        lambda lib, x: x.prod(1),
        lambda lib, x: x.prod(),
        lambda lib, x: x.norm(dim=1),
        lambda lib, x: x.norm(),
        lambda lib, x: x.norm(p=3, dim=0),
        lambda lib, x: x.var(1),
        lambda lib, x: x.std(0, keepdim=True),
        lambda lib, x: x.logsumexp(1),
        lambda lib, x: x.cumsum(1),
        lambda lib, x: lib.softmax(x, 1),
        lambda lib, x: lib.log_softmax(x, -1),
        lambda lib, x: lib.softmax(x, 0),
    ],
)
def test_reductions_and_softmax(op):
    compare(lambda lib: lambda x: op(lib, x), (rand(3, 4, 5),))
    compare(lambda lib: lambda x: op(lib, x), (rand(4, 3, 5),), in_dims=1)


@pytest.mark.parametrize(
    "in_dims,shapes",
    [
        ((0, None), ((3, 4, 5), (5, 2))),
        ((None, 0), ((4, 5), (3, 5, 2))),
        ((0, 0), ((3, 4, 5), (3, 5, 2))),
        ((0, 0), ((3, 5), (3, 5))),  # dot products
        ((0, None), ((3, 5), (5, 2))),  # vector @ matrix
        ((None, 0), ((4, 5), (3, 5))),  # matrix @ batched vector
        ((0, None), ((3, 4, 5), (6, 5, 2))),  # unbatched operand with more batch dims
        ((None, 0), ((6, 4, 5), (3, 5, 2))),
        ((0, 0), ((3, 2, 4, 5), (3, 5))),
        ((1, 0), ((4, 3, 5), (3, 5, 2))),
    ],
)
def test_matmul(in_dims, shapes):
    args = tuple(rand(*s, seed=i) for i, s in enumerate(shapes))
    compare(lambda lib: lib.matmul, args, in_dims=in_dims)


def test_mm_bmm_addmm_linear():
    compare(lambda lib: lib.mm, (rand(3, 4, 5), rand(5, 2)), in_dims=(0, None))
    compare(lambda lib: lib.bmm, (rand(3, 2, 4, 5), rand(3, 2, 5, 2)), in_dims=(0, 0))
    compare(lambda lib: lib.addmm, (rand(4, 2), rand(3, 4, 5), rand(5, 2)), in_dims=(None, 0, None))

    def lin(lib):
        return lib.nn.functional.linear

    compare(lin, (rand(3, 6, 5), rand(4, 5), rand(4)), in_dims=(0, None, None))
    compare(lin, (rand(3, 5), rand(4, 5), rand(4)), in_dims=(0, None, None))  # 1-d input
    compare(lin, (rand(6, 5), rand(3, 4, 5), rand(4)), in_dims=(None, 0, None))
    compare(lin, (rand(3, 6, 5), rand(3, 4, 5), rand(3, 4)), in_dims=0)


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, x: x.view(4, 5),
        lambda lib, x: x.reshape(-1),
        lambda lib, x: x.transpose(0, 1),
        lambda lib, x: x.permute(1, 0),
        lambda lib, x: x.t(),
        lambda lib, x: x.unsqueeze(0),
        lambda lib, x: x.unsqueeze(-1),
        lambda lib, x: x.unsqueeze(1).squeeze(1),
        lambda lib, x: x.reshape(1, 20).squeeze(),
        lambda lib, x: x.flatten(),
        lambda lib, x: x.unsqueeze(0).expand(3, 4, 5),
        lambda lib, x: x[:, None].expand(-1, 2, -1),
        lambda lib, x: lib.cat([x, x * 2], 1),
        lambda lib, x: lib.cat([x, x], 0),
        lambda lib, x: lib.stack([x, -x], 0),
        lambda lib, x: lib.stack([x, -x], -1),
        lambda lib, x: x[1],
        lambda lib, x: x[:, 1:3],
        lambda lib, x: x[..., ::2],
        lambda lib, x: x[None, 1:, -1],
        lambda lib, x: x.movedim(0, 1),
        lambda lib, x: x.flip(1),
        lambda lib, x: x.roll(1, 0),
        lambda lib, x: x.contiguous(),
        lambda lib, x: x.clone(),
        lambda lib, x: x.expand_as(lib.ones(2, 4, 5)),
        lambda lib, x: x.T,
        lambda lib, x: x.repeat(2, 1, 3),
        lambda lib, x: x.tile((2, 1)),
    ],
)
def test_shape_ops(op):
    compare(lambda lib: lambda x: op(lib, x), (rand(3, 4, 5),))


def test_cat_with_unbatched_and_advanced_index():
    compare(
        lambda lib: lambda x, y: lib.cat([x, y], 0), (rand(3, 2, 4), rand(5, 4)), in_dims=(0, None)
    )
    idx = np.array([2, 0, 1])
    compare(lambda lib: lambda x: x[lib.tensor(idx)], (rand(3, 4, 5),))
    compare(lambda lib: lambda x: x[:, lib.tensor(idx)], (rand(3, 4, 5),))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_losses(reduction):
    logits, target = rand(3, 4, 5), np.random.default_rng(1).integers(0, 5, (3, 4))
    weight = np.abs(rand(5)) + 0.5

    def ce(lib):
        F = lib.nn.functional
        return lambda x, t: F.cross_entropy(x, t, reduction=reduction)

    compare(ce, (logits, target))
    weighted = [
        lambda lib: (
            lambda x, t: lib.nn.functional.cross_entropy(
                x, t, weight=lib.tensor(weight), ignore_index=2, reduction=reduction
            )
        ),
        lambda lib: (
            lambda x, t: lib.nn.functional.cross_entropy(
                x, t, weight=lib.tensor(weight), label_smoothing=0.1, reduction=reduction
            )
        ),
        lambda lib: (
            lambda x, t: lib.nn.functional.nll_loss(
                lib.log_softmax(x, -1),
                t,
                weight=lib.tensor(weight),
                ignore_index=1,
                reduction=reduction,
            )
        ),
    ]
    for body in weighted:
        if reduction != "mean":
            compare(body, (logits, target))
        else:  # torch's vmap cannot batch a weighted mean (masked_select): use a torch loop
            before = _dispatch.STATS["fallback"]
            got = cr.func.vmap(body(cr))(cr.tensor(logits), cr.tensor(target))
            assert _dispatch.STATS["fallback"] == before
            want = [
                body(torch)(torch.tensor(a), torch.tensor(b)).item() for a, b in zip(logits, target)
            ]
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    compare(
        lambda lib: lambda x, t: lib.nn.functional.cross_entropy(x, t, reduction=reduction),
        (logits[:, 0], target[:, 0]),
    )  # one sample: input (C,), target ()
    compare(
        lambda lib: lambda x, t: lib.nn.functional.cross_entropy(x, t, reduction=reduction),
        (logits, target[0]),
        in_dims=(0, None),
    )
    compare(
        lambda lib: lambda x, t: lib.nn.functional.mse_loss(x, t, reduction=reduction),
        (logits, rand(3, 4, 5, seed=3)),
    )


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"groups": 2}])
def test_conv2d(kw):
    def conv(lib):
        return lambda x, w, b: lib.nn.functional.conv2d(x, w, b, **kw)

    x, w, b = rand(3, 2, 4, 7, 6), rand(6, 4 // kw.get("groups", 1), 3, 3), rand(6)
    compare(conv, (x, w, b), in_dims=(0, None, None))  # fold into N
    compare(conv, (x[0], rand(3, *w.shape), b), in_dims=(None, 0, None))  # per-sample weights
    compare(conv, (x, rand(3, *w.shape), rand(3, 6)), in_dims=0)
    compare(conv, (x[:, 0], w, b), in_dims=(0, None, None))  # unbatched (C, H, W) samples


def test_composite_model_forward():
    """An MLP + softmax head: every op batched, nothing per sample."""
    w1, b1, w2 = rand(8, 5), rand(8), rand(3, 8)

    def body(lib):
        F = lib.nn.functional

        def f(x):
            h = F.gelu(F.linear(x, lib.tensor(w1), lib.tensor(b1)))
            return F.log_softmax(h @ lib.tensor(w2).T, dim=-1).sum()

        return f

    compare(body, (rand(6, 5),), batched_only=False)


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, x: x.argmax(-1),
        lambda lib, x: x.argmin(0),
        lambda lib, x: x.max(1).values,
        lambda lib, x: x.min(0).indices,
        lambda lib, x: x.sort(-1).values,
        lambda lib, x: x.sort(0, descending=True).indices,
        lambda lib, x: x.topk(2).values,
        lambda lib, x: x.logsumexp(0),
        lambda lib, x: lib.nn.functional.leaky_relu(x, 0.2),
        lambda lib, x: x.masked_fill(x > 0, 1.0),
        lambda lib, x: lib.where(x > 0.5, x, -x),
        lambda lib, x: (x > 0).all(-1),
    ],
)
def test_ops_computing_on_raw_arrays(op):
    """Ops that build masks or indices from ``x._data`` see per-sample raw arrays."""
    compare(lambda lib: lambda x: op(lib, x), (rand(3, 4, 5),), batched_only=False)


def test_gather_and_embedding_with_batched_indices():
    idx = np.random.default_rng(3).integers(0, 4, (3, 2, 5))
    compare(lambda lib: lambda x, i: x.gather(0, i), (rand(3, 4, 5), idx))
    compare(lambda lib: lambda x, i: x.gather(0, i), (rand(4, 5), idx), in_dims=(None, 0))
    emb = rand(6, 3)
    tokens = np.random.default_rng(4).integers(0, 6, (4, 5))
    compare(lambda lib: lambda i: lib.nn.functional.embedding(i, lib.tensor(emb)), (tokens,))
    with pytest.raises(IndexError, match="out of range"):  # checked for every sample
        cr.func.vmap(lambda i: cr.nn.functional.embedding(i, cr.tensor(emb)))(cr.tensor(tokens + 3))


def test_inplace_ops_and_setitem_on_batched_tensors():
    def body(lib):
        def f(x, y):
            h = x.clone()
            h.mul_(2.0).add_(y)
            h[0] = 0.5
            h[1:, 1] = y[0]
            return h.relu_()

        return f

    compare(body, (rand(3, 4, 5), rand(3, 5)), batched_only=False)
    compare(body, (rand(3, 4, 5), rand(5)), in_dims=(0, None), batched_only=False)


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, x: lib.nn.functional.max_pool2d(x, 2),
        lambda lib, x: lib.nn.functional.max_pool2d(x, 3, stride=1, padding=1),
        lambda lib, x: lib.nn.functional.avg_pool2d(x, 2),
        lambda lib, x: lib.nn.functional.max_pool2d(x[0], 2),  # (C, H, W) samples
        lambda lib, x: lib.nn.functional.pad(x, (1, 2, 0, 1)),
        lambda lib, x: lib.nn.functional.layer_norm(x, (6,)),
        lambda lib, x: lib.nn.functional.layer_norm(x, (5, 6), x[0, 0] * 0 + 2, x[0, 0] * 0 + 1),
        lambda lib, x: lib.einsum("nchw,nchw->nc", x, x),
        lambda lib, x: lib.einsum("...hw->...w", x),
        lambda lib, x: lib.diagonal(x, 1, -2, -1),
        lambda lib, x: x.cumprod(-1),
        lambda lib, x: lib.linalg.vector_norm(x, dim=(-1, -2)),
    ],
)
def test_pooling_norms_and_structural(op):
    compare(lambda lib: lambda x: op(lib, x), (rand(3, 2, 4, 5, 6),))


def test_einsum_with_unbatched_operand():
    compare(
        lambda lib: lambda a, b: lib.einsum("ij,jk->ik", a, b),
        (rand(3, 4, 5), rand(5, 2)),
        in_dims=(0, None),
    )
    compare(
        lambda lib: lambda a, b: lib.einsum("ij,jk->ik", a, b),
        (rand(4, 5), rand(3, 5, 2)),
        in_dims=(None, 0),
    )
