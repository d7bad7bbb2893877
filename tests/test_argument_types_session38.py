"""PyTorch's argument parser, leftovers of session 37 (session 38), checked against torch
live: each case runs the same expression in both libraries and compares the outcome (the
values, or the error's type and full message).

- PyTorch's "didn't match" lines under each overload whose argument count fits the call
  (``x.var(0, 1, True)``, ``x.var(keepdim=1)``), written by ops/invalid_arguments.py as
  torch's invalid_arguments.cpp writes them;
- ``max``/``min`` refuse what fits none of their overloads (``torch.max(x, None)`` was
  accepted as ``torch.max(x)``; ``x.max(keepdim=True)``, ``x.max(other=None)`` too);
- a ``dim`` of the wrong type (``x.sum(True)``, ``x.amax(1.0)``, ``x.squeeze(None)``,
  ``x.sum((0, 1.0))``) as the called op's parser words it;
- ``x.split(None)``: ``split_with_sizes``' TypeError, not a missing argument;
- ``F.max_poolNd(..., return_indices=True)`` named ``max_poolNd_with_indices``;
  ``F.lp_pool1d``/``lp_pool2d`` with a float kernel: ``avg_poolNd``'s TypeError.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

CASES = [
    # var / std: the per-overload lines
    "x.var(keepdim=1)",
    "x.var(0, 1, True)",
    "x.var(0, 1, False)",
    "x.std(0, correction=1, keepdim=1)",
    "x.var(0, keepdim=1, unbiased=True)",
    "L.var(x, 0, 1, False)",
    "x.var(1.0)",
    "L.std(x, 1.0)",
    "x.var(dim=1.0)",
    "x.var(1.0, True)",
    "x.std((0, 1.0))",
    "x.var(None, True)",
    "x.std(0, None)",
    "x.var(0, unbiased=None)",
    "L.std(x, 0, None, True)",
    "x.std(unbiased=False)",
    "x.var(0, True, True)",
    # max / min: None, a float, a bool, a str dim; keywords without a dim
    "x.max(None)",
    "L.max(x, None)",
    "L.max(x, dim=None)",
    "L.max(x, axis=None)",
    "x.min(None, True)",
    "x.max(dim=None, keepdim=True)",
    "x.max(1.0)",
    "x.max(True)",
    "x.max(1.0, True)",
    "x.max(0, 1)",
    "x.max('a')",
    "x.max(keepdim=True)",
    "x.max(other=None)",
    "x.min(dim=None)",
    "x.max(0, other=x)",
    "L.max(x, 0, other=x)",
    "x.max()",
    "x.max(0)",
    "x.max(-1, True)",
    "x.min(np.int64(1))",
    "x.max(L.tensor(1))",
    "x.max(L.tensor(0), True)",
    "L.min(x, x.flip(0))",
    "L.max(x, other=x.flip(1))",
    "x.max(dim=1, keepdim=True)",
    # dim types: the ops' own overloads
    "x.sum(True)",
    "L.sum(x, True)",
    "x.sum(1.0)",
    "x.sum(dim=1.0)",
    "x.sum(1.0, True)",
    "x.sum((0, 1.0))",
    "x.sum((True, 0))",
    "x.sum((0, True))",
    "x.sum(None)",
    "x.mean(True)",
    "L.mean(x, 1.0)",
    "x.prod(True)",
    "x.prod(1.0)",
    "L.prod(x, 1.0)",
    "x.prod(dim=1.0)",
    "x.amax(True)",
    "L.amax(x, True)",
    "x.amax(dim=1.0)",
    "x.amax((1.0, 0))",
    "L.amax(x, [0, None])",
    "x.amin(None)",
    "x.nansum(1.0)",
    "L.nanmean(x, 1.0)",
    "x.logsumexp(1.0)",
    "x.squeeze(True)",
    "L.squeeze(x, 1.0)",
    "x.squeeze(dim=1.0)",
    "x.squeeze((0, 1.0))",
    "x.all(1.0)",
    "L.any(x, 1.0)",
    "x.any(dim=1.0)",
    "x.count_nonzero(1.0)",
    "L.count_nonzero(x, 1.0)",
    "x.cumsum(1.0)",
    "L.cumsum(x, 1.0)",
    "x.cumprod(dim=1.0)",
    "x.unbind(1.0)",
    "x.median(1.0)",
    "L.mode(x, 1.0)",
    "x.nanmedian(dim=1.0)",
    "x.aminmax(dim=1.0)",
    "x.sum((0, 1))",
    "x.amax(-1)",
    "x.squeeze(0)",
    # an integer 0-d tensor is an int to PyTorch's parser (refused before)
    "x.prod(L.tensor(1))",
    "x.cumsum(L.tensor(1))",
    "x.median(L.tensor(1))",
    "x.mode(L.tensor(1))",
    "x.argmax(L.tensor(1))",
    # split: None is a size of split_with_sizes, a missing size Python's error
    "x.split(None)",
    "L.split(x, None)",
    "x.split(split_size=None)",
    "x.split(None, 1)",
    "x.split()",
    "L.split(x)",
    "x.split(2)",
    # found by the session's sweep: accepted silently before (ints and bools typed)
    "x.logsumexp(0, 1.5)",
    "x.logsumexp(0, None)",
    "x.logsumexp(0, True)",
    "x.unfold(0, 2, True)",
    "x.unfold(0, 2, 1.5)",
    "x.unfold(0, 2, 1)",
    "x.tile(True)",
    "x.tile(1.5)",
    "x.tile(1.5, 2)",
    "x.tile(2, 1)",
    "x.tile(np.int64(2))",
    "L.tile(x, (2,))",
    "x.diagonal(True)",
    "x.diagonal(1.5)",
    "x.diagonal(np.int64(1))",
    "x.tril(True)",
    "x.triu(1.5)",
    "x.tril(L.tensor(1.5))",
    "x.triu(-1)",
    "x.round(decimals=True)",
    "x.round(decimals=1.5)",
    "x.round(decimals=1)",
    "x.diff(True)",
    "x.diff(1.5)",
    "x.diff(dim=1.0)",
    "x.diff(1, 0)",
    "L.stack([x, x], True)",
    "L.stack([x, x], 1)",
    "L.diag(x, True)",
    "L.diag(x, 1.5)",
    "L.diag(x, 1)",
    "x.flip(None)",
    "x.flip(True)",
    "x.flip(1.5)",
    "x.flip(0, 1)",
    "L.searchsorted(x[0], x, right=1.5)",
    "L.searchsorted(x[0], x, right=None)",
    "L.searchsorted(x[0], x, out_int32=1, right=True)",
    "L.searchsorted(x[0], 3.0, right=1)",
    "L.searchsorted(x[0], x, right=True)",
    "F.batch_norm(x, None, None, training=1.5)",
    "F.batch_norm(x, None, None, training=np.int64(1))",
    "F.batch_norm(x, None, None, training=True)",
    # found by the sweep: a TypeError where chainrule raised another error
    "L.triu_indices(3, 1.5)",
    "L.tril_indices(1.5, 3)",
    "L.tril_indices(3, 3, 1.5)",
    "L.tril_indices(3, col=1.5)",
    "L.tril_indices(3, 3, 1)",
    "L.cross(x[:3], x[:3], dim=1.5)",
    "L.cross(x[:3], x[:3], dim=True)",
    "L.cross(x[:3], x[:3], dim=0)",
    "F.one_hot(x.long(), num_classes=None)",
    "F.one_hot(x.long(), True)",
    "F.one_hot(x.long(), 1.5)",
    "F.one_hot((x * 7).long(), 12)",
    "L.meshgrid(x[0], indexing=True)",
    "L.meshgrid(x[0], indexing='ij')",
]

# squeeze(None): refused as PyTorch's parser (its default dim is a sentinel since session
# 38's second argument pass)
SQUEEZE_NONE = ["x.squeeze(None)", "L.squeeze(x, None)", "x.squeeze(dim=None)"]

POOL_CASES = [
    "F.max_pool1d(x[None], 2, return_indices=True, ceil_mode=1)",
    "F.max_pool2d(x[None, None], 2, return_indices=True, ceil_mode=1)",
    "F.max_pool3d(x[None, None], 1, return_indices=True, ceil_mode=1)",
    "F.max_pool2d(x[None, None], 2.0, return_indices=True)",
    "F.max_pool1d(x[None], 2.0, return_indices=True)",
    "F.max_pool3d(x[None, None], 1.0, return_indices=True)",
    "F.max_pool2d(x[None, None], 2.0)",
    "F.max_pool2d(x[None, None], 2, ceil_mode=1)",
    "F.max_pool2d(x[None, None], 2, return_indices=True)",
    "F.lp_pool2d(x[None], 2, 2.0)",
    "F.lp_pool2d(x[None], 2, (2.0, 2))",
    "F.lp_pool2d(x[None], 2, (2, 2.0))",
    "F.lp_pool2d(x[None], 2, True)",
    "F.lp_pool2d(x[None], 2, None)",
    "F.lp_pool2d(x[None], 2, (2, 2), 1.5)",
    "F.lp_pool1d(x[None], 2, 2.0)",
    "F.lp_pool1d(x[None], 2, True)",
    "F.lp_pool2d(x[None], 2, 2)",
    "F.lp_pool2d(x[None], 3, (2, 3))",
    "F.lp_pool1d(x[None], 2, 2)",
    # every argument's type before any length or value (PyTorch's parser runs first)
    "F.max_pool2d(x[None], 2, stride=(1, 1, 1), padding=1.0)",
    "F.avg_pool2d(x[None], 2, stride=(1, 1, 1), padding=1.0)",
    "F.max_pool2d(x[None], (2, 2, 2), stride=1.0)",
    "F.avg_pool2d(x[None], (2, 2, 2), ceil_mode=1)",
    "F.max_pool3d(x[None, None], (1, 2), stride=1.0)",
    "F.avg_pool3d(x[None, None], (1, 2), stride=1.0)",
    "F.max_pool2d(x[None], 2.0, ceil_mode=1)",
    "F.max_pool2d(x, 2, stride=1.0)",
    "F.max_pool2d(x[None], 5, padding=1.0)",
    "F.max_pool3d(x[None, None], 1, stride=(1, 1), dilation=1.0)",
    "F.max_pool2d(x[None], (2, 2, 2))",
    "F.max_pool2d(x[None], 2, stride=(1, 1))",
]

# F.interpolate(mode='area') to an empty size: any dtype (PyTorch's 1-d/2-d pooling returns
# before its dtype dispatch), the 3-d one and a non-empty size still refused
INTERPOLATE_CASES = [
    "F.interpolate(L.zeros(1, 1, 4, 4, dtype=L.uint8), size=(0, 0), mode='area')",
    "F.interpolate(L.zeros(1, 1, 4, 4, dtype=L.uint8), size=(2, 0), mode='area')",
    "F.interpolate(L.zeros(1, 1, 4, dtype=L.uint8), size=0, mode='area')",
    "F.interpolate(L.zeros(1, 1, 4, 4, dtype=L.int64), size=(0, 2), mode='area')",
    "F.interpolate(L.zeros(1, 1, 4, 4, dtype=L.bool), size=(0, 2), mode='area')",
    "F.interpolate(L.zeros(1, 1, 4, 4, dtype=L.complex64), size=(0, 2), mode='area')",
    "F.interpolate(L.zeros(1, 1, 4, 4), size=(0, 2), mode='area')",
]
INTERPOLATE_REFUSED = [  # both refuse; chainrule's DtypeError words it otherwise
    "F.interpolate(L.zeros(1, 1, 4, 4, 4, dtype=L.uint8), size=(0, 2, 2), mode='area')",
    "F.interpolate(L.zeros(1, 1, 4, 4, dtype=L.uint8), size=(2, 2), mode='area')",
]

# convolution: PyTorch's geometry messages (no op prefix), its "didn't match" lines
CONV_CASES = [
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), stride=0)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), padding=-1)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), dilation=0)",
    "F.conv_transpose2d(x[None, None], L.ones(1, 1, 2, 2), output_padding=-1)",
    "F.conv1d(x[None], L.ones(1, 3, 2), stride=0)",
    "F.conv1d(x[None], L.ones(1, 3, 2), dilation=0)",
    "F.conv_transpose1d(x[None], L.ones(3, 1, 2), padding=-1)",
    "F.conv3d(x[None, None, None], L.ones(1, 1, 1, 2, 2), stride=0)",
    "F.conv_transpose2d(x[None, None], L.ones(1, 1, 2, 2), stride=0)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), None, (1, 1, 1), 0, 1, 1.5)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), None, 1, 0, 1, 1.5)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), stride=(1.0, 1))",
    "F.conv1d(x[None], L.ones(1, 3, 2), padding=1.0)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), stride=2)",
]


def _plain(value):
    if isinstance(value, tuple):  # split's pieces, (values, indices)
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return np.asarray(value.tolist())
    return value


def _outcome(lib, src: str):
    L = lib  # noqa: N806 - the expressions' name
    x = lib.arange(12.0).reshape(3, 4) / 7
    env = {"L": L, "x": x, "np": np, "F": lib.nn.functional}
    try:
        r = eval(src, env)  # noqa: S307 - fixed test strings
    except Exception as e:  # noqa: BLE001 - the error is the outcome
        name = type(e).__name__
        if isinstance(e, RuntimeError) and type(e).__module__.startswith("chainrule"):
            name = "RuntimeError"  # ShapeError: chainrule's RuntimeError (and ValueError)
        return name, str(e).rstrip("\n")
    return "ok", _plain(r)


def _same(got, expected) -> None:
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _same(g, e)
    else:
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6, atol=1e-6)


def _compare(src: str) -> None:
    expected = _outcome(torch, src)
    got = _outcome(cr, src)
    if expected[0] == "ok" and got[0] == "ok":
        _same(got[1], expected[1])
    else:
        assert got == expected


@pytest.mark.parametrize("src", CASES)
def test_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", SQUEEZE_NONE)
def test_squeeze_none_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", POOL_CASES)
def test_pooling_as_torch(src: str) -> None:
    _compare(src)


@pytest.mark.parametrize("src", INTERPOLATE_CASES)
def test_interpolate_area_empty_as_torch(src: str) -> None:
    _compare(src)
    out = eval(src, {"L": cr, "F": cr.nn.functional})  # noqa: S307 - fixed test strings
    expected = eval(src, {"L": torch, "F": torch.nn.functional})  # noqa: S307
    assert str(out.dtype) == str(expected.dtype)


@pytest.mark.parametrize("src", INTERPOLATE_REFUSED)
def test_interpolate_area_refused(src: str) -> None:
    assert _outcome(torch, src)[0] == "NotImplementedError"
    with pytest.raises(NotImplementedError):  # chainrule's DtypeError is one
        eval(src, {"L": cr, "F": cr.nn.functional})  # noqa: S307 - fixed test strings


@pytest.mark.parametrize("src", CONV_CASES)
def test_convolution_as_torch(src: str) -> None:
    _compare(src)


def test_max_none_was_accepted() -> None:
    """``torch.max(x, None)`` is a TypeError in PyTorch; chainrule returned the maximum."""
    x = cr.arange(6.0)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        cr.max(x, None)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        x.min(dim=None)


def test_max_min_gradients_unchanged() -> None:
    """max/min's results and gradients where the arguments fit: as PyTorch's."""
    data = np.arange(12.0).reshape(3, 4) / 7
    outs = []
    for lib in (torch, cr):
        x = lib.tensor(data, requires_grad=True)
        y = (
            x.max()
            + x.min(0)[0].sum()
            + lib.max(x, 1, True).values.sum()
            + lib.min(x, x.flip(0)).sum()
            + x.var(0, True).sum()
        )
        y.backward()
        outs.append((float(y.item()), np.asarray(x.grad.tolist())))
    assert outs[0][0] == pytest.approx(outs[1][0], rel=1e-6)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-6)


def test_fractional_max_pool_nonpositive_kernel_refused() -> None:
    """PyTorch 2.13 pools a kernel <= 0 over empty windows (-inf everywhere, and its
    backward fails an internal assert); chainrule refuses it with a RuntimeError instead
    of returning -inf (a deliberate difference, pinned here with torch's behaviour)."""
    torch.manual_seed(0)
    t = torch.nn.FractionalMaxPool2d(0, output_size=2)(torch.ones(1, 1, 4, 4))
    assert torch.isneginf(t).all()
    with pytest.raises(RuntimeError, match="kernel_size must be positive"):
        cr.nn.FractionalMaxPool2d(0, output_size=2)(cr.ones(1, 1, 4, 4))
