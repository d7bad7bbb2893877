"""Layouts, fifth pass (session 41): a convolution's gradients, and ``view`` as strict as
PyTorch's, compared with PyTorch 2.13.

A convolution's kernels compute its input gradient channel-major (a slice of a padded buffer
for a padded convolution) and its weight gradient as ``(C*kh*kw, O)`` memory; PyTorch's are
contiguous. The three convolution Functions now mark what they compute ``ROW_MAJOR``
(``_layout_marks.mark_contiguous_result``), so ``stride()``, ``is_contiguous()``, ``view``
and ``numpy()`` of ``autograd.grad``'s results answer as PyTorch's; a channels-last
convolution's gradients are laid out channels-last, as PyTorch's. With that, ``view`` no
longer re-lays unmarked memory that is not row-major: it refuses as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(41)

_TORCH_VIEW_ERROR = (
    "view size is not compatible with input tensor's size and stride (at least one dimension "
    "spans across two contiguous subspaces). Use .reshape(...) instead."
)


def _arr(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape)


# name -> (functional name, input shape, weight shape, keyword arguments)
CONVS: dict[str, tuple] = {
    "conv2d_pad": ("conv2d", (2, 4, 7, 8), (3, 4, 3, 3), {"padding": 1}),
    "conv2d": ("conv2d", (2, 4, 7, 8), (3, 4, 3, 3), {}),
    "conv2d_stride": ("conv2d", (2, 4, 7, 8), (3, 4, 3, 3), {"stride": 2}),
    "conv2d_1x1": ("conv2d", (2, 4, 7, 8), (3, 4, 1, 1), {}),
    "conv2d_groups": ("conv2d", (2, 4, 7, 8), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    "conv2d_depthwise": ("conv2d", (2, 4, 7, 8), (4, 1, 3, 3), {"groups": 4, "padding": 1}),
    "conv2d_dilated": ("conv2d", (2, 4, 9, 9), (3, 4, 3, 3), {"dilation": 2}),
    "conv2d_batch1": ("conv2d", (1, 4, 7, 8), (3, 4, 3, 3), {"padding": 1}),
    "conv2d_channel1": ("conv2d", (2, 1, 7, 8), (3, 1, 3, 3), {"padding": 1}),
    "conv2d_same": ("conv2d", (2, 4, 7, 8), (3, 4, 3, 2), {"padding": "same"}),
    "conv1d_pad": ("conv1d", (2, 4, 9), (3, 4, 3), {"padding": 1}),
    "conv1d_stride": ("conv1d", (2, 4, 9), (3, 4, 3), {"stride": 2}),
    "conv3d_pad": ("conv3d", (2, 4, 5, 6, 5), (3, 4, 3, 3, 3), {"padding": 1}),
    "conv3d": ("conv3d", (2, 4, 5, 6, 5), (3, 4, 3, 3, 3), {}),
    "conv_transpose2d_pad": ("conv_transpose2d", (2, 4, 7, 8), (4, 3, 3, 3), {"padding": 1}),
    "conv_transpose2d_crop": (
        "conv_transpose2d",
        (2, 4, 7, 8),
        (4, 3, 3, 3),
        {"padding": 2, "stride": 2, "output_padding": 1},
    ),
    "conv_transpose2d_groups": ("conv_transpose2d", (2, 4, 7, 8), (4, 3, 3, 3), {"groups": 2}),
    "conv_transpose1d": ("conv_transpose1d", (2, 4, 9), (4, 3, 3), {"stride": 2}),
    "conv_transpose3d": ("conv_transpose3d", (2, 4, 4, 5, 4), (4, 3, 3, 3, 3), {"padding": 1}),
}
_DATA = {name: (_arr(*xs), _arr(*ws)) for name, (_, xs, ws, _) in CONVS.items()}


def _conv(lib: Any, name: str, x: Any, w: Any) -> Any:
    fn, _, _, kwargs = CONVS[name]
    return getattr(lib.nn.functional, fn)(x, w, **kwargs)


def _leaves(lib: Any, name: str) -> tuple:
    x, w = _DATA[name]
    return lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)


def _layout(t: Any) -> tuple:
    return t.stride(), t.is_contiguous()


@pytest.mark.parametrize("name", list(CONVS))
def test_autograd_grad_of_a_convolution_has_pytorch_layout(name: str) -> None:
    """``autograd.grad``'s input and weight gradients: PyTorch's strides (contiguous), a
    ``view(n, -1)`` that works, ``numpy()`` with PyTorch's strides, the same values."""

    def run(lib: Any) -> list:
        x, w = _leaves(lib, name)
        y = _conv(lib, name, x, w)
        gy = lib.tensor(np.linspace(-1.0, 1.0, y.numel()).reshape(tuple(y.shape)))
        gx, gw = lib.autograd.grad(y, (x, w), gy)
        out = [y.stride()]
        for g in (gx, gw):
            out.append(_layout(g))
            out.append(g.view(g.shape[0], -1).detach().numpy().copy())
            arr = g.detach().numpy()
            out.append(arr.strides)
        return out

    got, want = run(cr), run(torch)
    for a, b in zip(got, want):
        if isinstance(b, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
        else:
            assert a == b


@pytest.mark.parametrize(
    "name", ["conv2d_pad", "conv1d_pad", "conv3d_pad", "conv_transpose2d_crop"]
)
def test_leaf_grads_of_a_convolution(name: str) -> None:
    """``x.grad`` and ``w.grad`` (the engine lays a leaf's first gradient out as the leaf)
    and a second backward accumulating into them: PyTorch's layouts and values."""

    def run(lib: Any) -> list:
        x, w = _leaves(lib, name)
        for _ in range(2):
            _conv(lib, name, x, w).pow(2).sum().backward()
        return [_layout(x.grad), _layout(w.grad), x.grad.numpy().strides, x.grad.numpy().copy()]

    got, want = run(cr), run(torch)
    assert got[:3] == want[:3]
    np.testing.assert_allclose(got[3], want[3], rtol=1e-10)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_gradients_through_padding_modes(mode: str) -> None:
    x_np, w_np = _arr(2, 4, 7, 8), _arr(3, 4, 3, 3)

    def run(lib: Any) -> list:
        m = lib.nn.Conv2d(4, 3, 3, padding=1, padding_mode=mode).double()
        with lib.no_grad():
            m.weight.copy_(lib.tensor(w_np))
        x = lib.tensor(x_np, requires_grad=True)
        y = m(x)
        gx, gw = lib.autograd.grad(y, (x, m.weight), lib.ones_like(y))
        return [_layout(gx), _layout(gw), gx.view(-1).numpy().copy(), gw.view(3, -1).numpy().copy()]

    got, want = run(cr), run(torch)
    assert got[:2] == want[:2]
    for a, b in zip(got[2:], want[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("which", ["input", "weight"])
def test_channels_last_convolution_gradients_are_channels_last(which: str) -> None:
    """PyTorch computes a convolution whose input or weight suggests channels-last in that
    format, its gradients too."""
    x_np, w_np = _arr(2, 4, 7, 8), _arr(3, 4, 3, 3)

    def run(lib: Any) -> list:
        x, w = lib.tensor(x_np), lib.tensor(w_np)
        if which == "input":
            x = x.to(memory_format=lib.channels_last)
        else:
            w = w.to(memory_format=lib.channels_last)
        x.requires_grad_()
        w.requires_grad_()
        y = lib.nn.functional.conv2d(x, w, padding=1)
        gx, gw = lib.autograd.grad(y, (x, w), lib.ones_like(y))
        return [y.stride(), gx.stride(), gw.stride(), gx.numpy().copy(), gw.numpy().copy()]

    got, want = run(cr), run(torch)
    assert got[:3] == want[:3]
    for a, b in zip(got[3:], want[3:]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_forward_of_a_cropped_transposed_convolution() -> None:
    """A transposed convolution with padding is a crop of a larger buffer: marked too, so its
    strides are PyTorch's contiguous ones and ``view`` works."""

    def run(lib: Any) -> tuple:
        x, w = _leaves(lib, "conv_transpose2d_crop")
        y = _conv(lib, "conv_transpose2d_crop", x, w)
        return _layout(y), y.view(2, -1).detach().numpy().copy()

    got, want = run(cr), run(torch)
    assert got[0] == want[0]
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10)


def test_input_gradient_in_a_hook_views_as_pytorch() -> None:
    """A tensor hook on a convolution's input sees the input gradient: ``grad.view(n, -1)``
    (a per-sample gradient norm) works as PyTorch's, with PyTorch's strides."""
    x_np, w_np = _arr(3, 2, 6, 6), _arr(4, 2, 3, 3)

    def run(lib: Any) -> list:
        seen = []
        x = lib.tensor(x_np, requires_grad=True)
        h = lib.nn.functional.relu(x * 1.5)
        h.register_hook(lambda g: seen.append((g.stride(), g.view(3, -1).norm(dim=1))))
        lib.nn.functional.conv2d(h, lib.tensor(w_np), padding=1).sum().backward()
        ((stride, norms),) = seen
        return [stride, norms.numpy().copy(), x.grad.stride()]

    got, want = run(cr), run(torch)
    assert got[0] == want[0] and got[2] == want[2]
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10)


# --------------------------------------------------------------------------- stack


@pytest.mark.parametrize("dim", range(5))
@pytest.mark.parametrize("mode", ["conv_of_unbound", "times_stacked_conv"])
def test_stack_backward_beside_a_live_mark(mode: str, dim: int) -> None:
    """The gradients of ``stack``'s inputs where a convolution's input gradient reaches
    them (session 40: ``(9, 18, 3, 1)`` where PyTorch's is ``(36, 9, 3, 1)``)."""
    a_np, w_np = _arr(2, 4, 3, 3), _arr(4, 4, 3, 3)

    def run(lib: Any) -> list:
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(a_np * 2, requires_grad=True)
        w = lib.tensor(w_np)
        z = lib.stack([a, b], dim)
        if mode == "conv_of_unbound":
            loss = sum(lib.nn.functional.conv2d(p, w, padding=1).sum() for p in z.unbind(dim))
        else:
            keep = lib.nn.functional.conv2d(a, w, padding=1)
            loss = (z * lib.stack([keep, keep], dim)).sum()
        ga, gb = lib.autograd.grad(loss, (a, b))
        return [ga.stride(), gb.stride(), ga.numpy().copy(), gb.numpy().copy()]

    got, want = run(cr), run(torch)
    assert got[:2] == want[:2]
    for x, y in zip(got[2:], want[2:]):
        np.testing.assert_allclose(x, y, rtol=1e-10)


# --------------------------------------------------------------------------- view


_A43, _A234, _A2345 = _arr(4, 3), _arr(2, 3, 4), _arr(2, 3, 4, 5)
VIEW_REFUSED: dict[str, Callable[[Any], Any]] = {
    "transpose_clone": lambda lib: lib.tensor(_A43).t().clone(),
    "permute_clone": lambda lib: lib.tensor(_A234).permute(2, 0, 1).clone(),
    "permute_relu": lambda lib: lib.tensor(_A234).permute(1, 2, 0).relu(),
    "transpose_add": lambda lib: lib.tensor(_A234).transpose(0, 1) + 1.0,
    "channels_last": lambda lib: lib.tensor(_A2345).to(memory_format=lib.channels_last),
    "empty_like": lambda lib: lib.empty_like(lib.tensor(_A43).t()).fill_(1.0),
}


@pytest.mark.parametrize("case", list(VIEW_REFUSED))
@pytest.mark.parametrize("mark_alive", [False, True], ids=["no_mark", "mark_alive"])
def test_view_of_unmarked_non_row_major_memory_refuses(case: str, mark_alive: bool) -> None:
    """A new tensor whose memory is not row-major and carries no mark has PyTorch's strides,
    so ``view(-1)`` refuses as PyTorch's does, PyTorch's words first (session 40 re-laid it
    in place and viewed it)."""
    keep = (
        cr.nn.functional.conv2d(cr.randn(2, 2, 4, 4), cr.randn(3, 2, 3, 3)) if mark_alive else None
    )
    t = VIEW_REFUSED[case](torch)
    with pytest.raises(RuntimeError) as want:
        t.view(-1)
    c = VIEW_REFUSED[case](cr)
    assert c.stride() == t.stride() and c.is_contiguous() == t.is_contiguous()
    with pytest.raises(RuntimeError) as got:
        c.view(-1)
    assert str(want.value) == _TORCH_VIEW_ERROR
    assert str(got.value).startswith(_TORCH_VIEW_ERROR)
    assert "PyTorch's tensor is contiguous" not in str(got.value)
    np.testing.assert_array_equal(c.reshape(-1).numpy(), t.reshape(-1).numpy())
    assert keep is None or keep.is_contiguous()


def test_view_refusal_of_a_convolution_result_says_why() -> None:
    """Where PyTorch's tensor is contiguous and views (a convolution's result whose memory
    may not be re-laid: an ``as_strided`` window across its rows is alive; session 42
    re-takes a slice alive on the re-laid memory instead, and session 43 lays the result
    out row-major before ``untyped_storage()`` hands its memory out), the refusal says why
    chainrule's differs."""
    y = cr.nn.functional.conv2d(cr.randn(2, 3, 5, 5), cr.randn(4, 3, 3, 3))
    window = y.as_strided((3, 3), (7, 1), 2)
    with pytest.raises(RuntimeError, match="PyTorch's tensor is contiguous here") as err:
        y.view(2, -1)
    assert str(err.value).startswith(_TORCH_VIEW_ERROR)
    assert window.shape == (3, 3)


def test_view_still_relays_an_unaliased_convolution_result() -> None:
    """What the relayout is for: a convolution's result (and what relu/pooling make of it)
    viewed flat, as PyTorch's contiguous result."""

    def run(lib: Any) -> np.ndarray:
        x = lib.tensor(_DATA["conv2d_pad"][0])
        y = lib.nn.functional.max_pool2d(
            _conv(lib, "conv2d_pad", x, lib.tensor(_DATA["conv2d_pad"][1])).relu(), 2
        )
        return y.view(2, -1).numpy().copy()

    np.testing.assert_allclose(run(cr), run(torch), rtol=1e-10)


@pytest.mark.parametrize("name", ["conv2d_pad", "conv1d_pad", "conv3d", "conv_transpose2d_crop"])
def test_forward_mode_tangent_of_a_convolution_is_contiguous(name: str) -> None:
    """A convolution's tangent (forward mode, ``cr.func.jvp``) is computed by the same
    kernels: marked row-major as PyTorch's contiguous tangent."""
    x_np, w_np = _DATA[name]

    def run(lib: Any) -> list:
        out = []
        for wrt in ("input", "weight"):
            x, w = lib.tensor(x_np), lib.tensor(w_np)
            if wrt == "input":
                _, tan = lib.func.jvp(lambda a, w=w: _conv(lib, name, a, w), (x,), (x * 0.5,))
            else:
                _, tan = lib.func.jvp(lambda b, x=x: _conv(lib, name, x, b), (w,), (w * 0.5,))
            out += [_layout(tan), tan.view(-1).numpy().copy()]
        return out

    got, want = run(cr), run(torch)
    for a, b in zip(got, want):
        if isinstance(b, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
        else:
            assert a == b


def test_contiguous_of_a_convolution_result_with_a_view_alive_is_itself() -> None:
    y = cr.nn.functional.conv2d(cr.randn(2, 3, 5, 5), cr.randn(4, 3, 3, 3))
    part = y[:, 1:]
    assert y.is_contiguous() and part.stride() == (36, 9, 3, 1)
    assert y.contiguous() is y
