"""The raw forms ``cr.convolution``, ``grid_sampler`` (``_2d``/``_3d``),
``affine_grid_generator``, ``embedding_renorm_``, ``norm_except_dim`` and the deprecated
``resize``/``resize_as`` (ops/raw_conv_sampling.py, ops/raw_misc.py) against PyTorch, and
their errors. Gradients, gradcheck and forward mode of the differentiable ones are in
tests/ops/op_specs_rnn_functional.py.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import raw_misc

# PyTorch's message for an in-place op on a leaf that requires grad, word for word
LEAF_MESSAGE = r"^a leaf Variable that requires grad is being used in an in-place operation\.$"


def _cr(t: torch.Tensor) -> cr.Tensor:
    return cr.tensor(t.detach().numpy())


def _close(c, t, tol=1e-10):
    assert tuple(c.shape) == tuple(t.shape)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


_D = torch.float64


@pytest.mark.parametrize(
    "x,w,stride,padding,dilation,transposed,output_padding,groups",
    [
        ((2, 4, 6, 7), (6, 4, 3, 3), [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
        ((2, 4, 6, 7), (6, 2, 3, 2), (2, 1), (1, 0), (1, 2), False, (0, 0), 2),
        ((2, 4, 6, 7), (6, 4, 3, 3), [2], [1], [1], False, [1], 1),  # output_padding ignored
        ((2, 4, 6, 7), (4, 3, 3, 3), [2, 2], [1, 1], [1, 1], True, [1, 1], 2),
        ((2, 4, 7), (6, 4, 3), [1], [1], [2], False, [0], 1),
        ((2, 4, 7), (4, 3, 3), [2], [1], [1], True, [1], 1),
        ((1, 2, 4, 3, 3), (4, 2, 3, 1, 2), [1, 1, 1], [0, 1, 0], [1], False, [0], 1),
        ((1, 2, 3, 3, 2), (2, 3, 2, 2, 1), [1, 2, 1], [0], [1], True, [0, 1, 0], 1),
    ],
)
def test_convolution_matches_torch(
    x, w, stride, padding, dilation, transposed, output_padding, groups
):
    tx, tw = torch.randn(x, dtype=_D), torch.randn(w, dtype=_D)
    tb = torch.randn(w[1] * groups if transposed else w[0], dtype=_D)
    args = (stride, padding, dilation, transposed, output_padding, groups)
    _close(cr.convolution(_cr(tx), _cr(tw), _cr(tb), *args), torch.convolution(tx, tw, tb, *args))
    _close(cr.convolution(_cr(tx), _cr(tw), None, *args), torch.convolution(tx, tw, None, *args))


def test_convolution_errors():
    x, w = cr.randn(2, 4, 6, 7), cr.randn(6, 4, 3, 3)
    ok = ([1, 1], [0, 0], [1, 1], False, [0, 0], 1)

    def call(x=x, w=w, **change):
        names = ("stride", "padding", "dilation", "transposed", "output_padding", "groups")
        args = dict(zip(names, ok)) | change
        return cr.convolution(x, w, None, *(args[n] for n in names))

    assert call().shape == (2, 6, 4, 5)
    cases = [
        (dict(stride=2), TypeError, "'stride' must be tuple of ints"),
        (dict(padding="same"), TypeError, "'padding' must be tuple of ints"),
        (dict(stride=[1, 1, 1]), RuntimeError, "a list of 2 values"),
        (dict(stride=[0, 1]), RuntimeError, "non-positive stride"),
        (dict(padding=[-1, 0]), RuntimeError, "negative padding"),
        (dict(dilation=[0, 1]), RuntimeError, "dilation should be greater than zero"),
        (dict(transposed=1), TypeError, "'transposed' must be bool"),
        (dict(groups=1.0), TypeError, "'groups' must be int"),
        (dict(x=x[0]), RuntimeError, "Expected 4-dimensional input for 4-dimensional weight"),
        (dict(w=w[0, 0]), RuntimeError, "weight should have at least three dimensions"),
        (dict(x=x[..., None, None], w=w[..., None, None]), NotImplementedError, "1-, 2- and 3-d"),
    ]
    for change, error, match in cases:
        with pytest.raises(error, match=match):
            call(**change)


@pytest.mark.parametrize("mode,padding,align", itertools.product(range(3), range(3), (False, True)))
def test_grid_sampler_integer_modes_match_torch(mode, padding, align):
    x, g = torch.randn(2, 3, 4, 5, dtype=_D), torch.randn(2, 6, 7, 2, dtype=_D)
    want = torch.grid_sampler(x, g, mode, padding, align)
    _close(cr.grid_sampler(_cr(x), _cr(g), mode, padding, align), want)
    _close(cr.grid_sampler_2d(_cr(x), _cr(g), mode, padding, align), want)
    names = ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection")
    by_name = cr.nn.functional.grid_sample(
        _cr(x), _cr(g), names[0][mode], names[1][padding], align_corners=align
    )
    np.testing.assert_array_equal(
        cr.grid_sampler(_cr(x), _cr(g), mode, padding, align).numpy(), by_name.numpy()
    )


def test_grid_sampler_errors():
    x, g = cr.randn(2, 3, 4, 5), cr.randn(2, 6, 7, 2)
    x5, g5 = cr.randn(2, 3, 4, 5, 2), cr.randn(2, 1, 1, 1, 3)
    cases = [
        (
            lambda: cr.grid_sampler(x, g, 3, 0, False),
            ValueError,
            "interpolation_mode must be one of 0 \\(bilinear\\)",
        ),
        (lambda: cr.grid_sampler(x, g, -1, 0, False), ValueError, "interpolation_mode"),
        (lambda: cr.grid_sampler(x, g, 0, 3, False), ValueError, "padding_mode must be one of"),
        (
            lambda: cr.grid_sampler(x, g, True, 0, False),
            TypeError,
            "'interpolation_mode' must be int",
        ),
        (lambda: cr.grid_sampler(x, g, "bilinear", 0, False), TypeError, "must be int"),
        (lambda: cr.grid_sampler(x, g, 0, 0, None), TypeError, "'align_corners' must be bool"),
        (
            lambda: cr.grid_sampler_2d(x5, g5, 0, 0, False),
            RuntimeError,
            "expected 4D input and grid",
        ),
        (lambda: cr.grid_sampler_3d(x, g, 0, 0, False), RuntimeError, "expected 5D input and grid"),
        (
            lambda: cr.grid_sampler_3d(x5, g5, 2, 0, False),
            RuntimeError,
            "bicubic interpolation only supports 4D",
        ),
        (lambda: cr.grid_sampler(x, g[:1], 0, 0, False), RuntimeError, "same batch size"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match):
            call()


@pytest.mark.parametrize(
    "theta,size",
    [
        ((2, 2, 3), [2, 3, 4, 5]),
        ((2, 3, 4), (2, 1, 3, 4, 2)),
        ((2, 2, 3), [2, 3, 1, 5]),
        ((2, 2, 3), [2, 3, 0, 5]),
    ],
)
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_generator_matches_torch(theta, size, align):
    t = torch.randn(theta, dtype=_D)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning, unlike F.affine_grid
        got = cr.affine_grid_generator(_cr(t), size, align)
    _close(got, torch.affine_grid_generator(t, size, align))


def test_affine_grid_generator_errors():
    t = cr.randn(2, 2, 3)
    with pytest.raises(RuntimeError, match="needs 4d \\(spatial\\) or 5d"):
        cr.affine_grid_generator(t, [2, 3, 4], False)
    with pytest.raises(RuntimeError, match="expected theta of shape \\[2, 3, 4\\]"):
        cr.affine_grid_generator(t, [2, 3, 4, 5, 6], False)
    with pytest.raises(RuntimeError, match="expected theta of shape \\[3, 2, 3\\]"):
        cr.affine_grid_generator(t, [3, 3, 4, 5], False)
    with pytest.raises(IndexError, match="expected a 3-d theta"):
        cr.affine_grid_generator(t[0], [2, 3, 4, 5], False)
    for align in (False, True):  # integer theta: PyTorch's grid of truncated coordinates
        ti = torch.tensor([[[1, 0, 1], [-1, 2, 0]]])
        got = cr.affine_grid_generator(_cr(ti), [1, 1, 3, 4], align)
        want = torch.affine_grid_generator(ti, [1, 1, 3, 4], align)
        assert got.dtype == cr.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(TypeError, match="'align_corners' must be bool"):
        cr.affine_grid_generator(t, [2, 3, 4, 5], None)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 0.0, float("inf"), 3.5, -1.0])
def test_embedding_renorm_matches_torch(dtype, norm_type):
    torch.manual_seed(0)
    w = torch.randn(6, 3, dtype=dtype) * 3
    cw = _cr(w)
    idx = torch.tensor([[0, 2, 2], [5, -1, 1]])  # duplicates, and 5 / -1 name the same row
    version = cw._version
    out = cr.embedding_renorm_(cw, _cr(idx), 1.5, norm_type)
    torch.embedding_renorm_(w, idx, 1.5, norm_type)
    assert out is cw and cw._version == version + 1
    _close(cw, w, 1e-6 if dtype == torch.float32 else 1e-12)
    assert cw.dtype == (cr.float32 if dtype == torch.float32 else cr.float64)


def test_embedding_renorm_autograd_and_errors():
    w = cr.randn(5, 3, requires_grad=True)
    idx = cr.tensor([0, 1])
    with pytest.raises(RuntimeError, match=LEAF_MESSAGE):
        cr.embedding_renorm_(w, idx, 1.0, 2.0)
    with pytest.raises(NotImplementedError, match="derivative for 'embedding_renorm'"):
        cr.embedding_renorm_(w * 1, idx, 1.0, 2.0)
    with cr.no_grad():  # as F.embedding does
        cr.embedding_renorm_(w, idx, 0.5, 2.0)
    assert np.all(cr.linalg.vector_norm(w[:2].detach(), dim=1).numpy() <= 0.5 + 1e-6)
    v = cr.randn(5, 3)
    cases = [
        (
            lambda: cr.embedding_renorm_(v, cr.tensor([0, 5]), 1.0, 2.0),
            IndexError,
            "index 5 out of range",
        ),
        (lambda: cr.embedding_renorm_(v, cr.tensor([-6]), 1.0, 2.0), IndexError, "index -6"),
        (lambda: cr.embedding_renorm_(v, cr.tensor([0.0]), 1.0, 2.0), RuntimeError, "Long, Int"),
        (lambda: cr.embedding_renorm_(v[0], idx, 1.0, 2.0), RuntimeError, "Expected 2-dimensional"),
        (
            lambda: cr.embedding_renorm_(cr.ones(3, 2, dtype=cr.int64), idx, 1.0, 2.0),
            RuntimeError,
            "floating point",
        ),
        (lambda: cr.embedding_renorm_(v, idx, None, 2.0), TypeError, "'max_norm' must be float"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match):
            call()
    before = v.numpy().copy()
    cr.embedding_renorm_(v, cr.tensor([], dtype=cr.int64), 0.1, 2.0)  # no rows: no change
    np.testing.assert_array_equal(v.numpy(), before)


@pytest.mark.parametrize("pow,dim", itertools.product((2, 3, 0, 1, -1), (0, 1, 2, -1, -2, -3)))
def test_norm_except_dim_matches_torch(pow, dim):
    v = torch.randn(3, 4, 5, dtype=_D)
    _close(cr.norm_except_dim(_cr(v), pow, dim), torch.norm_except_dim(v, pow, dim))


def test_norm_except_dim_1d_defaults_and_errors():
    v = torch.tensor([0.0, -2.0, 3.0], dtype=_D)
    _close(cr.norm_except_dim(_cr(v)), torch.norm_except_dim(v))
    _close(cr.norm_except_dim(v=_cr(v), pow=0, dim=0), torch.norm_except_dim(v, 0, 0))
    with pytest.raises(TypeError, match="'pow' must be int"):
        cr.norm_except_dim(_cr(v), 2.5, 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        cr.norm_except_dim(cr.randn(3, 4), 2, 2)
    with pytest.raises(IndexError, match="no dimensions"):
        cr.norm_except_dim(cr.tensor(3.0), 2, 0)


def test_resize_and_resize_as_deprecated_forms():
    x = cr.arange(6.0, requires_grad=True)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        y = raw_misc.resize(x, 2, 3)
    assert y.shape == (2, 3)
    np.testing.assert_array_equal(y.detach().numpy(), np.arange(6.0).reshape(2, 3))
    (y * cr.arange(6.0).reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(6.0))
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        z = raw_misc.resize_as(x.detach(), cr.zeros(3, 2))
    assert z.shape == (3, 2)
    with (
        pytest.warns(UserWarning),
        pytest.raises(RuntimeError, match="requested resize to 4 \\(4 elements"),
    ):
        raw_misc.resize(x, 4)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="separate ints"):
        raw_misc.resize(x, (2, 3))
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="requested resize to 4x2"):
        raw_misc.resize_as(x, cr.zeros(4, 2))


def test_convolution_bias_and_norm_except_dim_empty_errors():
    x, w = cr.randn(2, 4, 6, 7), cr.randn(6, 4, 3, 3)
    with pytest.raises(RuntimeError, match="convolution: Given weight of size \\[6, 4, 3, 3\\]"):
        cr.convolution(x, w, cr.randn(5), [1], [0], [1], False, [0], 1)
    with pytest.raises(RuntimeError, match="transposed=1, .* with 4 elements"):
        cr.convolution(cr.randn(2, 6, 3, 3), w, cr.randn(6), [1], [0], [1], True, [0], 1)
    with pytest.raises(RuntimeError, match="norm_except_dim: dimension 0 .* is empty"):
        cr.norm_except_dim(cr.randn(0, 4, 5), 2, 0)
    empty_other = cr.norm_except_dim(cr.randn(3, 0, 5), 2, 0)  # as PyTorch: zeros
    _close(empty_other, torch.norm_except_dim(torch.randn(3, 0, 5, dtype=torch.float32), 2, 0))
