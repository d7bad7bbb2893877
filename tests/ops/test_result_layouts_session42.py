"""Layout marks, sixth pass, against PyTorch 2.13: a convolution's result and its views are
re-laid together.

chainrule computes a convolution channel-major where PyTorch's result is row-major, and lays
it out row-major in place where the memory order is seen (``view(n, -1)``, ``contiguous()``,
``numpy()``). Until session 42 a view of the result (``y[:]``, a slice, a transpose) marked
its memory shared, so the result was never re-laid: ``y.view(2, -1)`` raised where PyTorch's
views, ``contiguous()`` copied where PyTorch's returns the tensor itself, and ``numpy()`` of
the view had chainrule's strides. Now (``chainrule/_layout_relay.py``) the result remembers
its views weakly and a relayout re-takes each on the new memory (an exact mapping or none:
then nothing is re-laid and the memory is shared, as before).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule._layout_relay import VIEW_GROUPS

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(42)
_X = _RNG.standard_normal((2, 3, 6, 5))
_W = _RNG.standard_normal((8, 3, 1, 1))


def _conv(lib: Any, grad: bool = False) -> tuple[Any, Any]:
    """A (2, 8, 6, 5) convolution result (channel-major memory in chainrule), its weight."""
    w = lib.tensor(_W, requires_grad=grad)
    return lib.nn.functional.conv2d(lib.tensor(_X), w), w


# views of a convolution's result, taken before it is re-laid
VIEWS: dict[str, Callable[[Any], Any]] = {
    "full": lambda y: y[:],
    "slice_c": lambda y: y[:, 2:5],
    "select_n": lambda y: y[1],
    "select_c": lambda y: y[:, 3],
    "transpose": lambda y: y.transpose(0, 1),
    "permute": lambda y: y.permute(0, 2, 3, 1),
    "chunk": lambda y: y.chunk(2, dim=1)[1],
    "step_slice": lambda y: y[:, :, 1:, ::2],
    "unsqueeze": lambda y: y.unsqueeze(2),
    "expand": lambda y: y[:, :1].expand(2, 8, 6, 5),
    "narrow_w": lambda y: y.narrow(3, 1, 3),
    "diagonal": lambda y: y.diagonal(0, 2, 3),
    "unfold": lambda y: y.unfold(3, 2, 1),
    "view_of_slice": lambda y: y[:, 2:6][:, 1:, 2],
}


def _relay(kind: str, y: Any, v: Any) -> Any:
    """What re-lays ``y`` (or reads its memory order); returns an array to compare or None."""
    if kind == "view":
        return y.view(2, -1).detach().numpy().copy()
    if kind == "contiguous":
        assert y.contiguous() is y
        return None
    if kind == "numpy_base":
        return np.array(y.detach().numpy().strides)
    if kind == "numpy_view":
        return np.array(v.detach().numpy().strides)
    d = v.detach()  # "detach_view"
    return d.reshape(-1).numpy().copy()


def _run(lib: Any, view: str, relay: str) -> list:
    y, w = _conv(lib, grad=True)
    v = VIEWS[view](y)
    out: list = [v.stride(), v.is_contiguous()]
    got = _relay(relay, y, v)
    out += [got, v.stride(), v.is_contiguous(), y.stride(), y.is_contiguous()]
    with lib.no_grad():
        y.mul_(2.0)  # through the base: the view sees it
        if view != "expand":  # (an expanded view refuses in-place writes, in both)
            v.add_(1.0)  # through the view: the base sees it
    out += [y.detach().numpy().copy(), v.detach().numpy().copy()]
    try:
        (v.sum() + (y * y).sum()).backward()
        out.append(w.grad.numpy().copy())
    except RuntimeError as err:  # (a chunk's view used after its base changed in place)
        out.append(type(err))
    return out


@pytest.mark.parametrize("relay", ["view", "contiguous", "numpy_base", "numpy_view", "detach_view"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_views_are_re_laid_with_their_base(view: str, relay: str) -> None:
    """Strides and contiguity of the view before and after its base is re-laid, the values
    written through either, and the gradients afterwards: PyTorch's."""
    got, want = _run(cr, view, relay), _run(torch, view, relay)
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        if isinstance(b, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=f"item {i}")
        else:
            assert a == b, f"item {i}"


def test_view_of_a_view_after_the_base_was_re_laid_is_plain() -> None:
    """Once re-laid, the base is row-major: later views need no group, and views of the
    re-taken views share its memory."""
    y, _ = _conv(cr)
    part = y[:, 1:]
    y.view(2, -1)
    assert not VIEW_GROUPS or all(g[0]() is not y for g in VIEW_GROUPS.values())
    inner = part[:, :, 2]
    later = y[1]
    assert np.shares_memory(inner._data, y._data) and np.shares_memory(later._data, y._data)
    t, _ = _conv(torch)
    assert inner.stride() == t[:, 1:][:, :, 2].stride() and later.stride() == t[1].stride()


def test_a_view_that_cannot_be_re_taken_keeps_the_memory_shared() -> None:
    """A view whose elements the mapping onto the re-laid memory cannot prove the same (an
    ``as_strided`` window running across rows) leaves the base as it is: its
    ``view(2, -1)`` refuses (a remaining difference: PyTorch's views) and ``contiguous()``
    copies, and the two still share the memory, both ways."""
    y, _ = _conv(cr)
    window = y.as_strided((3, 3), (7, 1), 2)
    t, _ = _conv(torch)
    np.testing.assert_array_equal(window.numpy(), t.as_strided((3, 3), (7, 1), 2).numpy())
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        y.view(2, -1)
    assert np.shares_memory(window._data, y._data)
    with cr.no_grad():
        y.zero_()
    assert not window.numpy().any()
    c = y.contiguous()
    assert c is not y and c.numpy().flags.c_contiguous


def test_a_dtype_view_of_a_convolution_result_stays_an_alias() -> None:
    """Session 43: ``view(dtype)`` lays the result out row-major first (``before_alias``),
    as ``detach()`` does, so the two share PyTorch's memory for good."""
    y, _ = _conv(cr)
    bits = y.view(cr.int64)
    y.view(2, -1)
    with cr.no_grad():
        y.zero_()
    assert not bits.numpy().any()


def test_size_one_slice_of_a_view_of_a_convolution_keeps_its_stride() -> None:
    """Session 43: a size-1 dim left by slicing keeps the sliced dim's stride, as PyTorch's
    (``_layout_marks._sliced_stride``), not the unsqueeze rule's (120, 30, 1)."""

    def make(lib: Any) -> Any:
        return _conv(lib)[0][:, 2:6][1:, :, 2]

    assert make(cr).stride() == make(torch).stride()


def test_a_group_dies_with_its_base() -> None:
    """The weak group of views goes when the result and its views do."""
    y, _ = _conv(cr)
    parts = [y[:, i] for i in range(8)]
    key = id(y)
    assert VIEW_GROUPS[key][0]() is y and len(VIEW_GROUPS[key][1]) == 8
    del y, parts
    gc.collect()
    assert key not in VIEW_GROUPS


def test_many_views_of_one_result_all_follow() -> None:
    """A loop of slices (more than the group prunes at) all re-taken, values as PyTorch's."""

    def run(lib: Any) -> np.ndarray:
        y, _ = _conv(lib)
        parts = [y[:, i % 8, i % 6] for i in range(100)]
        flat = y.view(2, -1)
        with lib.no_grad():
            flat.mul_(3.0)
        return np.stack([p.numpy() for p in parts])

    np.testing.assert_allclose(run(cr), run(torch), rtol=1e-12)


def test_padded_transposed_convolution_crop_with_a_view() -> None:
    """A transposed convolution with padding is a crop of a padded buffer (gaps between
    rows): its view is re-taken too, onto the gapless re-laid memory."""
    x = _RNG.standard_normal((2, 3, 4, 4))
    w = _RNG.standard_normal((3, 5, 3, 3))

    def run(lib: Any) -> list:
        y = lib.nn.functional.conv_transpose2d(lib.tensor(x), lib.tensor(w), padding=1)
        part = y[:, 1:4, ::2]
        flat = y.view(2, -1)
        with lib.no_grad():
            part.add_(5.0)
        return [part.stride(), y.stride(), part.numpy().strides, flat.numpy().copy()]

    got, want = run(cr), run(torch)
    assert got[:3] == want[:3]
    np.testing.assert_allclose(got[3], want[3], rtol=1e-12)


def test_graph_views_then_relayout_give_pytorch_gradients() -> None:
    """A chunk used in the graph, then the base re-laid by ``view``: the gradients of both
    paths are PyTorch's."""

    def run(lib: Any) -> list:
        x = lib.tensor(_X, requires_grad=True)
        w = lib.tensor(_W, requires_grad=True)
        y = lib.nn.functional.conv2d(x, w)
        a, b = y.chunk(2, dim=1)
        z = (a * b.sigmoid()).sum() + (y.view(2, -1) ** 2).sum()
        z.backward()
        return [x.grad.numpy().copy(), w.grad.numpy().copy(), a.stride(), b.stride()]

    got, want = run(cr), run(torch)
    for a, b in zip(got, want):
        if isinstance(b, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-10)
        else:
            assert a == b


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("which", ["input", "weight"])
def test_channels_last_transposed_convolution_gradients(which: str, create_graph: bool) -> None:
    """``conv_transpose2d`` of a channels-last input (or weight) has channels-last
    gradients, as PyTorch's; the values (and, through ``create_graph``, the second-order
    ones) are PyTorch's."""
    x_np = _RNG.standard_normal((2, 4, 5, 5))
    w_np = _RNG.standard_normal((4, 3, 3, 3))

    def run(lib: Any) -> list:
        x, w = lib.tensor(x_np), lib.tensor(w_np)
        if which == "input":
            x = x.contiguous(memory_format=lib.channels_last)
        else:
            w = w.contiguous(memory_format=lib.channels_last)
        x.requires_grad_()
        w.requires_grad_()
        y = lib.nn.functional.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
        gx, gw = lib.autograd.grad((y * y).sum(), (x, w), create_graph=create_graph)
        out = [gx.stride(), gw.stride(), gx.detach().numpy().copy(), gw.detach().numpy().copy()]
        if create_graph:
            ggx, ggw = lib.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (x, w))
            out += [ggx.numpy().copy(), ggw.numpy().copy()]
        return out

    got, want = run(cr), run(torch)
    assert got[:2] == want[:2]
    for a, b in zip(got[2:], want[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
