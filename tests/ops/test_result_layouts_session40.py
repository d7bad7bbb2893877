"""Layout marks, fourth pass, against PyTorch 2.13: aliases of a convolution's result stay
aliases through every relayout, ``numpy()`` has PyTorch's strides, and the strides of
non-elementwise ops on a convolution's result.

chainrule computes a convolution channel-major where PyTorch's result is row-major, marks it
(``chainrule/_layout_marks.py``) and lays it out row-major in place where the memory order is
seen (``view(n, -1)``, ``reshape``, ``contiguous()``). Session 39 found that such a relayout
of ``y.detach()`` (or of ``y`` after it) parted the two: a later ``d.add_(1)`` missed ``y``.
Now (``chainrule/_layout_relay.py``) ``detach()``, ``.data``, ``numpy()`` and ``__array__``
lay a convolution's result out row-major *before* they alias it, so nothing relays it later,
and ``numpy()``'s array has PyTorch's strides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule._layout_marks import layout_mark

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(40)
_X = _RNG.standard_normal((2, 3, 6, 5))
_W = _RNG.standard_normal((8, 3, 1, 1))
_RNG_W3 = _RNG.standard_normal((8, 3, 3, 3))


def _conv(lib: Any, grad: bool = False) -> Any:
    """An (2, 8, 6, 5) convolution result (channel-major memory in chainrule)."""
    w = lib.tensor(_W, requires_grad=grad)
    return lib.nn.functional.conv2d(lib.tensor(_X), w)


def _state_dict_buffer(lib: Any, y: Any) -> Any:
    m = lib.nn.Module()
    m.register_buffer("b", y)
    return m.state_dict()["b"]


# ways to get a second holder of a convolution's result's memory
ALIASES: dict[str, Callable[[Any, Any], Any]] = {
    "detach": lambda lib, y: y.detach(),
    "data": lambda lib, y: y.data,
    "detach_detach": lambda lib, y: y.detach().detach(),
    "numpy": lambda lib, y: y.detach().numpy(),
    "asarray": lambda lib, y: np.asarray(y.detach()),
    "view_same": lambda lib, y: y.view(y.shape),
    "reshape_same": lambda lib, y: y.reshape(y.shape),
    "view_as": lambda lib, y: y.view_as(y),
    "state_dict": _state_dict_buffer,
}

# what lays a tensor's memory out row-major in place (or reads its memory order)
RELAYOUTS: dict[str, Callable[[Any], Any]] = {
    "contiguous": lambda t: t.contiguous(),
    "view_flat": lambda t: t.view(2, -1),
    "reshape_flat": lambda t: t.reshape(2, -1),
    "flatten": lambda t: t.flatten(1),
    "view_as_flat": lambda t: t.view_as(t.new_zeros(2, 240)),
    "reshape_same": lambda t: t.reshape(t.shape),
    "numpy": lambda t: t.detach().numpy(),
    "asarray": lambda t: np.asarray(t.detach()),
    "detach": lambda t: t.detach(),
    "clone": lambda t: t.clone(),
}


def _write(a: Any, value: float) -> None:
    if isinstance(a, np.ndarray):
        a += value
        return
    with (torch if isinstance(a, torch.Tensor) else cr).no_grad():
        a.add_(value)


def _total(a: Any) -> float:
    if isinstance(a, np.ndarray):
        return float(a.sum())
    return float(a.detach().sum())


def _alias_then_relayout(lib: Any, alias: str, relayout: str, on: str, grad: bool) -> tuple:
    """Make ``alias`` of a convolution's result ``y``, run ``relayout`` on ``y`` or on the
    alias (``on``), then write through one of the two and read the other: the sums seen
    through ``y`` and through the alias."""
    y = _conv(lib, grad)
    a = ALIASES[alias](lib, y)
    RELAYOUTS[relayout](a if on == "alias" and not isinstance(a, np.ndarray) else y)
    _write(a, 1.0)
    through_alias = _total(y)
    _write(y, 2.0)
    return through_alias, _total(a)


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "graph"])
@pytest.mark.parametrize("on", ["base", "alias"])
@pytest.mark.parametrize("relayout", list(RELAYOUTS))
@pytest.mark.parametrize("alias", list(ALIASES))
def test_alias_shares_memory_through_relayouts(
    alias: str, relayout: str, on: str, grad: bool
) -> None:
    got = _alias_then_relayout(cr, alias, relayout, on, grad)
    want = _alias_then_relayout(torch, alias, relayout, on, grad)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("on", ["base", "alias"])
def test_view_after_a_full_slice(on: str) -> None:
    y = _conv(cr)
    part = y[:]
    flat = (part if on == "alias" else y).view(2, -1)
    flat.add_(1.0)
    np.testing.assert_array_equal(part.numpy().reshape(2, -1), flat.numpy())


def test_detach_in_a_forward_hook_then_inplace_relu_and_view() -> None:
    """The common pattern: a forward hook keeps ``output.detach()``, an in-place ReLU and a
    ``view(n, -1)`` follow; the kept tensor sees the ReLU (PyTorch's well-known aliasing)
    and the gradients are PyTorch's."""

    def run(lib: Any) -> tuple:
        kept = []
        conv = lib.nn.Conv2d(3, 8, 1).double()
        with lib.no_grad():
            conv.weight.copy_(lib.tensor(_W))
            conv.bias.zero_()
        conv.register_forward_hook(lambda m, i, o: kept.append(o.detach()))
        x = lib.tensor(_X, requires_grad=True)
        h = lib.nn.functional.relu(conv(x), inplace=True).view(2, -1)
        (h * lib.arange(480.0, dtype=lib.float64).view(2, 240)).sum().backward()
        return kept[0].numpy().copy(), x.grad.numpy(), conv.weight.grad.numpy()

    for got, want in zip(run(cr), run(torch), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_relayout_keeps_the_graph() -> None:
    """``detach()`` of a result on the graph lays it out row-major in place: the gradients
    through it (and through a view of it) are PyTorch's."""

    def run(lib: Any) -> tuple:
        x = lib.tensor(_X, requires_grad=True)
        w = lib.tensor(_W, requires_grad=True)
        y = lib.nn.functional.conv2d(x, w)
        z = lib.relu(y)
        kept = z.detach()
        out = (z.view(2, -1) * lib.arange(480.0, dtype=lib.float64).view(2, 240)).sum()
        (out + (y * kept).sum()).backward()
        return x.grad.numpy(), w.grad.numpy()

    for got, want in zip(run(cr), run(torch), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _bn(lib: Any, y: Any) -> Any:
    return lib.nn.functional.batch_norm(y, None, None, training=True)


# results made of a convolution's result, whose numpy() arrays have torch's strides
NUMPY: dict[str, Callable[[Any, Any], Any]] = {
    "conv": lambda lib, y: y,
    "relu": lambda lib, y: lib.relu(y),
    "batch_norm": _bn,
    "max_pool": lambda lib, y: lib.nn.functional.max_pool2d(y, 2),
    "add_bias": lambda lib, y: y + lib.ones(1, 8, 1, 1, dtype=lib.float64),
    "clone": lambda lib, y: y.clone(),
    "dropout_eval": lambda lib, y: lib.nn.functional.dropout(y, 0.5, training=False),
    "stack": lambda lib, y: lib.stack([y, y], 1),
    "float": lambda lib, y: y.float(),
}


@pytest.mark.parametrize("case", list(NUMPY))
def test_numpy_of_convolution_results_has_pytorch_strides(case: str) -> None:
    with cr.no_grad():
        t = NUMPY[case](cr, _conv(cr))
    want = NUMPY[case](torch, _conv(torch)).detach().numpy()
    got = t.numpy()
    assert got.strides == want.strides
    np.testing.assert_allclose(got, want, rtol=1e-6 if got.dtype == np.float32 else 1e-12)
    got[0, 0, 0] = 7.0  # the array shares the tensor's memory, both ways
    assert float(t[0, 0, 0].reshape(-1)[0]) == 7.0
    t.mul_(2.0)
    assert got[0, 0, 0].reshape(-1)[0] == 14.0
    assert t.stride() == NUMPY[case](torch, _conv(torch)).stride()


@pytest.mark.parametrize("case", ["slice", "transpose"])
def test_numpy_of_a_view_of_a_convolution(case: str) -> None:
    def make(lib: Any) -> Any:
        y = _conv(lib)
        return y[:, 2:5] if case == "slice" else y.transpose(0, 1)

    assert make(cr).numpy().strides == make(torch).numpy().strides


def _interp(mode: str) -> Callable[[Any, Any], Any]:
    return lambda lib, y: lib.nn.functional.interpolate(y, scale_factor=2, mode=mode)


_ONES_PROJ = (4, 8, 1, 1)
# non-elementwise ops on a convolution's result: PyTorch's strides and contiguity
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "sum_hw": lambda lib, y: y.sum((2, 3)),
    "sum_c": lambda lib, y: y.sum(1),
    "sum_c_keepdim": lambda lib, y: y.sum(1, keepdim=True),
    "mean_hw_keepdim": lambda lib, y: y.mean((2, 3), keepdim=True),
    "amax_c": lambda lib, y: y.amax(1),
    "max_c_keepdim": lambda lib, y: y.max(1, keepdim=True)[0],
    "var_w": lambda lib, y: y.var(3),
    "logsumexp_c": lambda lib, y: y.logsumexp(1, keepdim=True),
    "norm_c": lambda lib, y: y.norm(dim=1, keepdim=True),
    "cat_c": lambda lib, y: lib.cat([y, y], 1),
    "cat_n": lambda lib, y: lib.cat([y, y], 0),
    "cat_w": lambda lib, y: lib.cat([y, y], 3),
    "chunk_cat": lambda lib, y: lib.cat(y.chunk(2, 1), 1),
    "stack_0": lambda lib, y: lib.stack([y, y]),
    "stack_1": lambda lib, y: lib.stack([y, y], 1),
    "stack_2": lambda lib, y: lib.stack([y, y], 2),
    "stack_4": lambda lib, y: lib.stack([y, y], 4),
    "softmax_c": lambda lib, y: y.softmax(1),
    "softmax_w": lambda lib, y: y.softmax(-1),
    "log_softmax_c": lambda lib, y: lib.log_softmax(y, 1),
    "interpolate_nearest": _interp("nearest"),
    "interpolate_bilinear": _interp("bilinear"),
    "max_pool": lambda lib, y: lib.nn.functional.max_pool2d(y, 2),
    "avg_pool": lambda lib, y: lib.nn.functional.avg_pool2d(y, 2),
    "adaptive_avg_pool_1": lambda lib, y: lib.nn.functional.adaptive_avg_pool2d(y, 1),
    "adaptive_max_pool_2": lambda lib, y: lib.nn.functional.adaptive_max_pool2d(y, 2),
    "batch_norm": _bn,
    "group_norm": lambda lib, y: lib.nn.functional.group_norm(y, 2),
    "layer_norm_chw": lambda lib, y: lib.nn.functional.layer_norm(y, (8, 6, 5)),
    "instance_norm": lambda lib, y: lib.nn.functional.instance_norm(y),
    "clone": lambda lib, y: y.clone(),
    "clone_channels_last": lambda lib, y: y.clone(memory_format=lib.channels_last),
    "to_float32": lambda lib, y: y.to(lib.float32),
    "to_channels_last": lambda lib, y: y.to(memory_format=lib.channels_last),
    "pad": lambda lib, y: lib.nn.functional.pad(y, (1, 1, 1, 1)),
    "flip_w": lambda lib, y: y.flip(3),
    "roll_h": lambda lib, y: y.roll(1, 2),
    "cumsum_c": lambda lib, y: y.cumsum(1),
    "sort_c": lambda lib, y: y.sort(1)[0],
    "topk_c": lambda lib, y: y.topk(2, 1)[0],
    "index_select_c": lambda lib, y: y.index_select(1, lib.tensor([0, 2])),
    "index_list_c": lambda lib, y: y[:, [0, 2]],
    "gather_c": lambda lib, y: y.gather(1, lib.zeros(2, 1, 6, 5, dtype=lib.int64)),
    "masked_fill": lambda lib, y: y.masked_fill(y > 0, 0.0),
    "pixel_shuffle": lambda lib, y: lib.nn.functional.pixel_shuffle(y, 2),
    "unfold": lambda lib, y: lib.nn.functional.unfold(y, 2),
    "repeat_c": lambda lib, y: y.repeat(1, 2, 1, 1),
    "conv_again": lambda lib, y: lib.nn.functional.conv2d(y, lib.ones(_ONES_PROJ).double()),
    "conv_transpose": lambda lib, y: lib.nn.functional.conv_transpose2d(
        y, lib.ones(8, 4, 2, 2, dtype=lib.float64), stride=2
    ),
    "matmul_w": lambda lib, y: y @ lib.ones(5, 3, dtype=lib.float64),
    "einsum_nhwc": lambda lib, y: lib.einsum("nchw->nhwc", y),
    "bmm_flat": lambda lib, y: lib.bmm(y.flatten(2), y.flatten(2).transpose(1, 2)),
}


@pytest.mark.parametrize("op", list(OPS))
def test_strides_of_non_elementwise_ops_on_convolution(op: str) -> None:
    got, want = OPS[op](cr, _conv(cr)), OPS[op](torch, _conv(torch))
    rtol = 1e-6 if want.dtype == torch.float32 else 1e-10
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=1e-12)
    assert got.stride() == want.stride()
    assert got.is_contiguous() == want.is_contiguous()
    if want.ndim == 4:
        assert got.is_contiguous(memory_format=cr.channels_last) == want.is_contiguous(
            memory_format=torch.channels_last
        )
    assert got.contiguous().stride() == want.contiguous().stride()


@pytest.mark.parametrize(
    "fill",
    ["rand_like", "randn_like", "dropout", "bernoulli_"],
)
@pytest.mark.parametrize("dim", [0, 1, 4])
def test_random_fills_of_a_stack_of_convolutions(fill: str, dim: int) -> None:
    """A stack of convolutions' results is row-major in PyTorch (its channel-major memory
    here is marked so): random fills draw in row-major order."""

    def run(lib: Any) -> np.ndarray:
        s = lib.stack([_conv(lib), _conv(lib)], dim)
        lib.manual_seed(4)
        out = {
            "rand_like": lambda: lib.rand_like(s),
            "randn_like": lambda: lib.randn_like(s),
            "dropout": lambda: lib.nn.functional.dropout(s, 0.5),
            "bernoulli_": lambda: s.clone().bernoulli_(0.3),
        }[fill]()
        return out.detach().numpy()

    np.testing.assert_allclose(run(cr), run(torch), rtol=1e-10, atol=1e-12)


def test_marks_of_relaid_and_aliased_results() -> None:
    """After ``detach()`` the result's memory is row-major (no mark needed); the strides and
    contiguity reported before and after are PyTorch's."""
    y = _conv(cr)
    assert layout_mark(y._data) is not None and not y._data.flags.c_contiguous
    before = (y.stride(), y.is_contiguous())
    d = y.detach()
    assert y._data.flags.c_contiguous and np.shares_memory(d.numpy(), y.numpy())
    assert (y.stride(), y.is_contiguous()) == before == (d.stride(), d.is_contiguous())
    assert y.contiguous() is y and d.contiguous() is d


def test_strides_of_a_convolution_input_gradient() -> None:
    """(A strict xfail until session 41: the gradient's channel-major memory now carries
    the ``ROW_MAJOR`` mark, ``tests/ops/test_result_layouts_session41.py``.)"""

    def run(lib: Any) -> Any:
        x = lib.tensor(_X, requires_grad=True)
        y = lib.nn.functional.conv2d(x, lib.tensor(_RNG_W3), padding=1)
        return lib.autograd.grad(y, x, grad_outputs=lib.ones_like(y))[0]

    got, want = run(cr), run(torch)
    assert (got.stride(), got.is_contiguous()) == (want.stride(), want.is_contiguous())


def test_detached_alias_of_a_convolution_gradient_survives_view() -> None:
    """A convolution's input gradient is marked row-major as PyTorch's (session 41; before,
    ``view`` re-laid unmarked channel-major memory and ``detach()`` marked it shared so the
    view refused): ``detach()`` lays it out row-major before aliasing it, so the view works
    as PyTorch's and the alias and the gradient stay one memory."""

    def run(lib: Any) -> tuple:
        keep = _conv(lib)  # a mark alive
        x = lib.tensor(_X, requires_grad=True)
        y = lib.nn.functional.conv2d(x, lib.tensor(_RNG_W3), padding=1)
        g = lib.autograd.grad(y, x, grad_outputs=lib.ones_like(y))[0]
        d = g.detach()
        flat = g.view(2, -1)
        d.add_(1.0)
        flat.mul_(3.0)
        assert keep.is_contiguous()
        return g.stride(), g.detach().numpy().copy(), d.numpy().copy(), flat.numpy().copy()

    got, want = run(cr), run(torch)
    assert got[0] == want[0]
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(a, b)


def test_vmap_reshape_and_detach_while_a_mark_is_alive() -> None:
    """A vmap per-sample array has no ``flags``; asking it raises vmap's error, so the relayout
    helpers ask its class. Reached by an op-spec reduction under vmap (reshape inside
    nanquantile) once any convolution's result was alive in the same process."""
    keep = cr.nn.Conv2d(2, 3, 3)(cr.randn(2, 2, 5, 5))  # a layout mark alive
    x = cr.tensor(np.random.default_rng(4).integers(0, 4, (3, 6)).astype(np.float64))
    q = cr.tensor([0.2, 0.9], dtype=cr.float64)
    got = cr.func.vmap(lambda r: r.nanquantile(q, 0, keepdim=True))(x)
    want = cr.stack([r.nanquantile(q, 0, keepdim=True) for r in x])
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    z = cr.randn(2, 3, 4)
    flat = cr.func.vmap(lambda r: r.detach().t().reshape(-1))(z)
    np.testing.assert_array_equal(flat.numpy(), z.transpose(1, 2).reshape(2, -1).numpy())
    assert keep.stride() == (27, 9, 3, 1)  # (the mark was alive throughout)
