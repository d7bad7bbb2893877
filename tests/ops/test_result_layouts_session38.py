"""The layouts PyTorch reports for convolution and attention results, against PyTorch.

chainrule computes a convolution's result channel-major ((C, N, *spatial) memory seen as
(N, C, *spatial)), which PyTorch lays out row-major; ``nn.MultiheadAttention(batch_first=
True)`` returns (L, N, E) memory seen as (N, L, E) in both libraries. The two layouts have the
same strides, so each producer marks its result (``chainrule/_layout_marks.py``) and the
memory-order consumers read the mark: ``stride()``, ``is_contiguous()``, ``contiguous()``,
dropout's mask, ``bernoulli_``, ``uniform_``, ``rand_like``, and ``F.pad``'s result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(38)
_X4 = _RNG.standard_normal((3, 2, 6, 5))
_W4 = _RNG.standard_normal((4, 2, 3, 3))
_X3 = _RNG.standard_normal((3, 2, 9))
_W3 = _RNG.standard_normal((5, 2, 3))
_WT = _RNG.standard_normal((2, 4, 3, 3))
_X5 = _RNG.standard_normal((2, 2, 4, 4, 3))
_W5 = _RNG.standard_normal((3, 2, 2, 2, 2))
_Q = _RNG.standard_normal((3, 4, 8))  # (N, L, E) batch-first; (L, N, E) otherwise


def _conv(lib: Any, kind: str) -> Any:
    """A convolution result of ``kind`` made by ``lib`` from the module's fixed arrays."""
    F, t = lib.nn.functional, lib.tensor
    return {
        "conv2d": lambda: F.conv2d(t(_X4), t(_W4), padding=1),
        "conv2d_batch1": lambda: F.conv2d(t(_X4[:1]), t(_W4)),
        "conv2d_one_channel": lambda: F.conv2d(t(_X4), t(_W4[:1])),
        "conv1d": lambda: F.conv1d(t(_X3), t(_W3)),
        "conv_transpose2d": lambda: F.conv_transpose2d(t(_X4), t(_WT), stride=2),
        "conv_transpose1d": lambda: F.conv_transpose1d(t(_X3), t(_WT[:, :, 0])),
        "conv3d": lambda: F.conv3d(t(_X5), t(_W5)),
        "conv2d_module": lambda: _conv_module(lib),
    }[kind]()


def _conv_module(lib: Any) -> Any:
    m = lib.nn.Conv2d(2, 4, 3).double()
    with lib.no_grad():
        m.weight.copy_(lib.tensor(_W4))
        m.bias.zero_()
    return m(lib.tensor(_X4))


CONVS = [
    "conv2d",
    "conv2d_batch1",
    "conv2d_one_channel",
    "conv1d",
    "conv_transpose2d",
    "conv_transpose1d",
    "conv3d",
    "conv2d_module",
]


def _mha(lib: Any, batch_first: bool, state: dict | None = None) -> Any:
    """The output of a ``MultiheadAttention`` (float64, no attention dropout), its weights
    PyTorch's seeded ones (``state`` given: loaded into chainrule's)."""
    if lib is torch:
        torch.manual_seed(0)
        m = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    else:
        m = cr.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
        m.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    q = lib.tensor(_Q if batch_first else _Q.transpose(1, 0, 2).copy())
    return m(q, q, q, need_weights=False)[0], m


def _mha_pair(batch_first: bool) -> tuple[Any, Any]:
    want, m = _mha(torch, batch_first)
    state = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    return want, _mha(cr, batch_first, state)[0]


def _results(kind: str) -> tuple[Any, Any]:
    """(torch's, chainrule's) result of ``kind``: a convolution or an attention output."""
    if kind.startswith("mha"):
        return _mha_pair(kind == "mha_batch_first")
    return _conv(torch, kind), _conv(cr, kind)


KINDS = [*CONVS, "mha_batch_first", "mha_seq_first"]


def _seeded(lib: Any, seed: int, fn: Callable[[], Any]) -> np.ndarray:
    lib.manual_seed(seed)
    return np.asarray(fn().detach().numpy())


@pytest.mark.parametrize("kind", KINDS)
def test_strides_and_is_contiguous(kind: str) -> None:
    want, got = _results(kind)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    assert got.stride() == want.stride()
    assert got.is_contiguous() == want.is_contiguous()
    for dim in range(want.ndim):
        assert got.stride(dim) == want.stride(dim)
    # what shares the layout: a detached alias, a full slice, a clone, empty_like
    for make in (lambda t: t.detach(), lambda t: t[:], lambda t: t.clone()):
        assert make(got).stride() == make(want).stride()
        assert make(got).is_contiguous() == make(want).is_contiguous()
    assert cr.empty_like(got).stride() == torch.empty_like(want).stride()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p", [0.3, 0.5])
def test_dropout_mask_after_result(kind: str, p: float) -> None:
    want_t, got_t = _results(kind)
    want = _seeded(torch, 5, lambda: torch.nn.functional.dropout(want_t, p))
    got = _seeded(cr, 5, lambda: cr.nn.functional.dropout(got_t, p))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # the dropout's result keeps the input's layout, as PyTorch's, and a second dropout of
    # it draws as PyTorch's second one
    torch.manual_seed(6)
    cr.manual_seed(6)
    tw = torch.nn.functional.dropout(want_t, p)
    cw = cr.nn.functional.dropout(got_t, p)
    assert cw.stride() == tw.stride() and cw.is_contiguous() == tw.is_contiguous()
    np.testing.assert_allclose(
        cr.nn.functional.dropout(cw, p).detach().numpy(),
        torch.nn.functional.dropout(tw, p).detach().numpy(),
        rtol=1e-10,
        atol=1e-12,
    )


@pytest.mark.parametrize("kind", ["conv2d", "conv1d", "mha_batch_first"])
def test_alpha_dropout_after_result(kind: str) -> None:
    want_t, got_t = _results(kind)
    want = _seeded(torch, 2, lambda: torch.nn.functional.alpha_dropout(want_t, 0.4, True))
    got = _seeded(cr, 2, lambda: cr.nn.functional.alpha_dropout(got_t, 0.4, True))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fill", ["bernoulli_", "uniform_", "normal_"])
def test_in_place_random_fill_of_result(kind: str, fill: str) -> None:
    want_t, got_t = _results(kind)
    want = _seeded(torch, 3, lambda: getattr(want_t.detach(), fill)())
    got = _seeded(cr, 3, lambda: getattr(got_t.detach(), fill)())
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("factory", ["rand_like", "randn_like", "bernoulli"])
def test_random_like_of_result(kind: str, factory: str) -> None:
    want_t, got_t = _results(kind)
    if factory == "bernoulli":  # probabilities in [0, 1], the result's layout kept
        want_t, got_t = want_t.detach().sigmoid(), got_t.detach().sigmoid()
    want = _seeded(torch, 4, lambda: getattr(torch, factory)(want_t.detach()))
    got = _seeded(cr, 4, lambda: getattr(cr, factory)(got_t.detach()))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "mode, widths", [("constant", (1, 2)), ("constant", (0, 1, 2, 0)), ("replicate", None)]
)
def test_pad_of_result(kind: str, mode: str, widths: tuple | None) -> None:
    want_t, got_t = _results(kind)
    if widths is None:  # replicate pads every spatial dim of an (N, C, *spatial) input
        widths = {3: (1, 1), 4: (1, 1, 1, 0), 5: (1, 1, 0, 1, 1, 0)}[want_t.ndim]
    want = torch.nn.functional.pad(want_t, widths, mode=mode)
    got = cr.nn.functional.pad(got_t, widths, mode=mode)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    assert got.stride() == want.stride()
    assert got.is_contiguous() == want.is_contiguous()
    torch.manual_seed(1)
    cr.manual_seed(1)
    np.testing.assert_allclose(
        cr.nn.functional.dropout(got, 0.5).detach().numpy(),
        torch.nn.functional.dropout(want, 0.5).detach().numpy(),
        rtol=1e-10,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_contiguous_of_result(kind: str) -> None:
    want_t, got_t = _results(kind)
    want, got = want_t.contiguous(), got_t.contiguous()
    assert (got is got_t) == (want is want_t)  # PyTorch returns a contiguous tensor itself
    assert got.stride() == want.stride() and got.is_contiguous()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    assert got._data.flags.c_contiguous  # the memory itself is row-major now
    assert got.view(-1).shape == want.view(-1).shape


def test_contiguous_of_convolution_with_a_view_is_itself() -> None:
    """A convolution's result whose memory a view shares is re-laid in place with the view
    (session 42, ``_layout_relay.py``; a copy before): its ``contiguous()`` is itself, as
    PyTorch's, with row-major memory, and the view still reaches the result."""
    y = _conv(cr, "conv2d")
    part = y[:, :2]
    c = y.contiguous()
    assert c is y and c.numpy().flags.c_contiguous
    part.mul_(0.0)
    assert not y[:, :2].numpy().any() and y[:, 2:].numpy().all()


def test_contiguous_of_convolution_keeps_gradients() -> None:
    """Re-laying a convolution's result in place (``contiguous()`` returning it) changes no
    value on the graph: the gradients are PyTorch's."""
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(_X4, requires_grad=True)
        w = lib.tensor(_W4, requires_grad=True)
        y = lib.nn.functional.conv2d(x, w)
        z = y.contiguous().view(3, -1)
        (z * lib.arange(z.numel(), dtype=lib.float64).reshape(z.shape)).sum().backward()
        grads.append((x.grad.numpy().copy(), w.grad.numpy().copy()))
    for ours, theirs in zip(*grads[::-1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_encoder_layer_training_dropout(batch_first: bool, norm_first: bool) -> None:
    x = np.random.default_rng(1).normal(size=(3, 4, 8))
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.2, batch_first=batch_first, norm_first=norm_first
    ).double()
    state = {k: v.detach().numpy().copy() for k, v in layer.state_dict().items()}
    ours = cr.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.2, batch_first=batch_first, norm_first=norm_first
    ).double()
    ours.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    torch.manual_seed(7)
    want = layer(tx)
    cr.manual_seed(7)
    got = ours(cx)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    assert got.stride() == want.stride()
    want.pow(2).sum().backward()
    got.pow(2).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_dropout_in_place_after_attention() -> None:
    want_t, got_t = _mha_pair(True)
    want_t, got_t = want_t.detach(), got_t.detach()
    torch.manual_seed(9)
    cr.manual_seed(9)
    torch.nn.functional.dropout(want_t, 0.5, inplace=True)
    cr.nn.functional.dropout(got_t, 0.5, inplace=True)
    np.testing.assert_allclose(got_t.numpy(), want_t.numpy(), rtol=1e-10)


def test_elementwise_of_convolution_reports_row_major() -> None:
    want = torch.nn.functional.relu(_conv(torch, "conv2d"))
    got = cr.nn.functional.relu(_conv(cr, "conv2d"))
    assert got.stride() == want.stride() and got.is_contiguous()


def test_transpose_of_convolution_strides() -> None:
    want = _conv(torch, "conv2d").transpose(0, 1)
    got = _conv(cr, "conv2d").transpose(0, 1)
    assert got.stride() == want.stride()


NESTED = {
    "built": lambda lib, nt, a, b: nt,
    "transpose12": lambda lib, nt, a, b: nt.transpose(1, 2),
    "transpose23": lambda lib, nt, a, b: nt.transpose(2, 3),
    "transpose_add": lambda lib, nt, a, b: nt.transpose(1, 2) + 1,
    "transpose_contiguous": lambda lib, nt, a, b: nt.transpose(1, 2).contiguous(),
    "transpose_twice": lambda lib, nt, a, b: nt.transpose(1, 2).transpose(1, 2),
    "transpose_clone": lambda lib, nt, a, b: nt.transpose(1, 2).clone(),
    "add": lambda lib, nt, a, b: nt + 1,
    "narrow_tail": lambda lib, nt, a, b: nt.narrow(0, 1, 1),
    "narrow_head": lambda lib, nt, a, b: nt.narrow(0, 0, 1),
    "select_last": lambda lib, nt, a, b: nt.select(3, 1),
    "unsqueeze": lambda lib, nt, a, b: nt.unsqueeze(1),
    "from_transposed": lambda lib, nt, a, b: lib.nested.nested_tensor(
        [a.transpose(1, 2), b.transpose(1, 2)], layout=lib.strided
    ),
    "as_nested_transposed": lambda lib, nt, a, b: lib.nested.as_nested_tensor(
        [a.transpose(0, 1), b.transpose(0, 1)], layout=lib.strided
    ),
    "as_nested_rows": lambda lib, nt, a, b: lib.nested.as_nested_tensor([a, b]),
    "as_nested_tensor": lambda lib, nt, a, b: lib.nested.as_nested_tensor(
        lib.arange(24.0).reshape(2, 3, 4)
    ),
}


@pytest.mark.parametrize("case", sorted(NESTED))
def test_strided_nested_tensor_is_contiguous(case: str) -> None:
    """A strided nested tensor is contiguous, as PyTorch's, when its components are
    row-major and laid one after another from the start of their memory: not after
    ``transpose(1, 2)`` or ``narrow`` past the first component (it always answered True)."""
    out = []
    for lib in (torch, cr):
        a = lib.arange(24.0).reshape(2, 3, 4)
        b = lib.arange(16.0).reshape(2, 2, 4)
        nt = lib.nested.nested_tensor([a, b], layout=lib.strided)
        out.append(NESTED[case](lib, nt, a, b))
    want, got = out
    assert got.is_contiguous() == want.is_contiguous()
    assert [c.stride() for c in got.unbind()] == [c.stride() for c in want.unbind()]
    for g, w in zip(got.unbind(), want.unbind()):
        np.testing.assert_array_equal(g.detach().numpy(), w.detach().numpy())
