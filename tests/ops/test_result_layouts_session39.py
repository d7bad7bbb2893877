"""Layout marks, third pass, against PyTorch 2.13: ops whose inputs carry different marks,
ops on a transpose of a convolution's result, and a user's own transpose drawn in memory
order.

An unmarked array's strides are PyTorch's (``chainrule/_layout_marks.py``); only memory laid
out otherwise than PyTorch's is marked (a convolution's channel-major result, views and op
results computed from one: ``chainrule/_layout_carry.py``). The drop-in program
``diffusers_text_to_image_snr`` lost a mark at ``mean + std * sample`` (a chunk of the VAE's
convolution, PyTorch strides ``(512, 64, 8, 1)``, plus a row-major-marked product): the two
marks disagreed and the sum went unmarked, so ``randn_like(latents)`` drew in the
channel-major memory order once the fills stopped guessing row-major for unmarked memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule._layout_marks import LAYOUT_MARKS, layout_mark

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(39)
_X = _RNG.standard_normal((2, 3, 6, 5))
_W = _RNG.standard_normal((8, 3, 1, 1))
_P = _RNG.standard_normal((4, 2, 6, 5))  # a user's tensor; (2, 4, 6, 5) once transposed
_POS = _RNG.standard_normal((1, 30, 8))
_Q = _RNG.standard_normal((3, 5, 8))


def _conv(lib: Any) -> Any:
    """An (2, 8, 6, 5) convolution result (channel-major memory in chainrule)."""
    return lib.nn.functional.conv2d(lib.tensor(_X), lib.tensor(_W))


def _chunk_sum(lib: Any) -> Any:
    """``DiagonalGaussianDistribution.sample``: ``mean + std * sample`` of chunks."""
    mean, logvar = lib.chunk(_conv(lib), 2, dim=1)
    std = lib.exp(0.5 * lib.clamp(logvar, -30.0, 20.0))
    return mean + std * lib.ones(mean.shape, dtype=lib.float64)


# ops whose inputs carry different marks, or a mark beside a user's transpose
MIXED: dict[str, Callable[[Any], Any]] = {
    "chunk_plus_product": _chunk_sum,
    "scaled_chunk_sum": lambda lib: _chunk_sum(lib) * 0.18215,
    "chunk_plus_chunk": lambda lib: lib.chunk(_conv(lib), 2, 1)[0] + lib.chunk(_conv(lib), 2, 1)[1],
    "slice_times_conv_slice": lambda lib: _conv(lib)[:, :4] * lib.relu(_conv(lib))[:, 4:],
    "conv_plus_user_transpose": lambda lib: _conv(lib)[:, :4] + lib.tensor(_P).transpose(0, 1),
    "user_transpose_plus_conv": lambda lib: lib.tensor(_P).transpose(0, 1) + _conv(lib)[:, :4],
    "where_mixed": lambda lib: lib.where(
        lib.tensor(_P).transpose(0, 1) > 0, _conv(lib)[:, 4:], _conv(lib)[:, :4]
    ),
}

# what is made of a transpose (or permute) of a convolution's result y
ON_TRANSPOSE: dict[str, Callable[[Any, Any], Any]] = {
    "relu_t01": lambda lib, y: lib.relu(y.transpose(0, 1)),
    "gelu_t01": lambda lib, y: lib.nn.functional.gelu(y.transpose(0, 1)),
    "add_scalar_t01": lambda lib, y: y.transpose(0, 1) + 1,
    "mul_row_major_t01": lambda lib, y: y.transpose(0, 1) * lib.ones(8, 2, 6, 5, dtype=lib.float64),
    "row_major_mul_t01": lambda lib, y: lib.ones(8, 2, 6, 5, dtype=lib.float64) * y.transpose(0, 1),
    "clamp_t01": lambda lib, y: y.transpose(0, 1).clamp(-0.5, 0.5),
    "where_t01": lambda lib, y: lib.where(y.transpose(0, 1) > 0, y.transpose(0, 1), 0.0),
    "relu_t12": lambda lib, y: lib.relu(y.transpose(1, 2)),
    "exp_permute": lambda lib, y: lib.exp(y.permute(0, 2, 3, 1)),
    "softmax_t01": lambda lib, y: y.transpose(0, 1).softmax(-1),
    "layer_norm_t01": lambda lib, y: lib.nn.functional.layer_norm(y.transpose(0, 1), (5,)),
    "sum_t01": lambda lib, y: y.transpose(0, 1).sum(-1),
    "contiguous_t01": lambda lib, y: y.transpose(0, 1).contiguous(),
    "float_t01": lambda lib, y: y.transpose(0, 1).float(),
    "float_t12": lambda lib, y: y.transpose(1, 2).float(),
    "float_conv": lambda lib, y: y.float(),
    "clone_t01": lambda lib, y: y.transpose(0, 1).clone(),
    "empty_like_t01": lambda lib, y: lib.empty_like(y.transpose(0, 1)).zero_(),
    "zeros_like_t12": lambda lib, y: lib.zeros_like(y.transpose(1, 2)),
    # a ViT's patch embedding: proj(x).flatten(2).transpose(1, 2) + pos_embed, then norm
    "vit_tokens": lambda lib, y: y.flatten(2).transpose(1, 2) + lib.tensor(_POS),
    "vit_tokens_norm": lambda lib, y: lib.nn.functional.layer_norm(
        y.flatten(2).transpose(1, 2) + lib.tensor(_POS), (8,)
    ),
    "vit_tokens_gelu_add": lambda lib, y: (
        lib.nn.functional.gelu(y.flatten(2).transpose(1, 2)) + y.flatten(2).transpose(1, 2)
    ),
}


def _check_layout(got: Any, want: Any) -> None:
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert got.stride() == want.stride()
    assert got.is_contiguous() == want.is_contiguous()
    c = got.contiguous()
    assert c.is_contiguous() and c.stride() == want.contiguous().stride()


@pytest.mark.parametrize("case", list(MIXED))
def test_strides_of_ops_with_mixed_marks(case: str) -> None:
    _check_layout(MIXED[case](cr), MIXED[case](torch))


@pytest.mark.parametrize("op", list(ON_TRANSPOSE))
def test_strides_of_ops_on_transpose_of_convolution(op: str) -> None:
    got = ON_TRANSPOSE[op](cr, _conv(cr))
    want = ON_TRANSPOSE[op](torch, _conv(torch))
    _check_layout(got, want)


def _seeded(lib: Any, seed: int, fn: Callable[[], Any]) -> np.ndarray:
    lib.manual_seed(seed)
    return np.asarray(fn().detach().numpy())


FILLS: dict[str, Callable[[Any], Any]] = {
    # the diffusers program's draws: randn_like of the latents, then of the noise
    "randn_like_latents": lambda lib: lib.randn_like(_chunk_sum(lib) * 0.18215),
    "rand_like_chunk_sum": lambda lib: lib.rand_like(_chunk_sum(lib)),
    "dropout_chunk_sum": lambda lib: lib.nn.functional.dropout(_chunk_sum(lib), 0.3),
    "dropout_relu_t01": lambda lib: lib.nn.functional.dropout(
        lib.relu(_conv(lib).transpose(0, 1)), 0.5
    ),
    "rand_like_relu_t12": lambda lib: lib.rand_like(lib.relu(_conv(lib).transpose(1, 2))),
    "randn_like_vit_tokens": lambda lib: lib.randn_like(
        _conv(lib).flatten(2).transpose(1, 2) + lib.tensor(_POS)
    ),
    "rand_like_t01": lambda lib: lib.rand_like(_conv(lib).transpose(0, 1)),
    "randn_like_t01": lambda lib: lib.randn_like(_conv(lib).transpose(0, 1)),
    # a user's own transpose beside a convolution's result (a mark alive)
    "dropout_user_transpose_beside_conv": lambda lib: lib.nn.functional.dropout(
        lib.tensor(_P).transpose(0, 1) + 0.0 * _conv(lib)[:, :4].sum(), 0.5
    ),
    "normal_user_permute": lambda lib: lib.tensor(_P).permute(2, 0, 1, 3).normal_(),
    "bernoulli_user_transpose12": lambda lib: lib.tensor(_P).transpose(1, 2).bernoulli_(0.4),
}


@pytest.mark.parametrize("case", list(FILLS))
def test_random_fills_in_pytorch_memory_order(case: str) -> None:
    want = _seeded(torch, 5, lambda: FILLS[case](torch))
    got = _seeded(cr, 5, lambda: FILLS[case](cr))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_attention_batch_first_output_is_unmarked_and_drawn_in_memory_order() -> None:
    """MultiheadAttention's batch-first output is a transpose in both libraries: its strides
    are PyTorch's, so it is left unmarked (no per-op mark lookups in a transformer), and
    dropout of it draws in its memory order."""

    def run(lib: Any) -> tuple:
        lib.manual_seed(0)
        mha = lib.nn.MultiheadAttention(8, 2, batch_first=True).double()
        q = lib.tensor(_Q)
        out = mha(q, q, q, need_weights=False)[0]
        lib.manual_seed(3)
        return out, lib.nn.functional.dropout(out, 0.5)

    before = set(LAYOUT_MARKS.copy())  # (one C call: see the next test)
    got, got_drop = run(cr)
    assert set(LAYOUT_MARKS.copy()) <= before  # (an earlier test's marks may die meanwhile)
    want, want_drop = run(torch)
    assert got.stride() == want.stride() and got.is_contiguous() == want.is_contiguous()
    np.testing.assert_allclose(got_drop.detach().numpy(), want_drop.detach().numpy(), rtol=1e-9)


def test_gradients_through_transpose_of_convolution() -> None:
    def run(lib: Any) -> tuple:
        x = lib.tensor(_X, requires_grad=True)
        w = lib.tensor(_W, requires_grad=True)
        y = lib.nn.functional.conv2d(x, w)
        tokens = y.flatten(2).transpose(1, 2) + lib.tensor(_POS)
        z = lib.nn.functional.gelu(lib.nn.functional.layer_norm(tokens, (8,)))
        (z * lib.arange(480.0, dtype=lib.float64).view(2, 30, 8)).sum().backward()
        return x.grad.numpy(), w.grad.numpy()

    for got, want in zip(run(cr), run(torch), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_unmarked_ops_beside_a_live_mark_leave_no_mark() -> None:
    """Row-major 8x8 ops while a convolution's result is alive: nothing new is marked."""
    keep = _conv(cr)
    # (copies taken in one C call: iterating the table itself could meet a mark of an
    # earlier test dying mid-loop, whose weak-reference callback removes its entry)
    before = {k: dict(v[1]) for k, v in LAYOUT_MARKS.copy().items()}
    a = cr.randn(8, 8)
    steps = [a + 1, a.t()]
    steps.append(cr.relu(steps[0]))
    b = steps[-1] * steps[1]
    assert b.stride() == (8, 1)
    assert all(layout_mark(t._data) is None for t in (a, b, *steps))
    after = {k: dict(v[1]) for k, v in LAYOUT_MARKS.copy().items()}
    # no mark was added or changed (old marks may die meanwhile, and a dead owner's id may
    # come back unmarked)
    assert all(before.get(k) == v for k, v in after.items())
    assert keep.stride() == (240, 30, 5, 1)


def test_numpy_strides_of_convolution() -> None:
    """``numpy()`` lays a convolution's result out row-major first (``_layout_relay.py``):
    the array has PyTorch's strides and shares the tensor's memory."""
    with cr.no_grad():
        got = _conv(cr).numpy()
    want = _conv(torch).numpy()
    assert got.strides == want.strides


@pytest.mark.parametrize("alias", ["detach", "data"])
def test_relayout_keeps_detached_alias(alias: str) -> None:
    """``detach()``/``.data`` lay a convolution's result out row-major before they alias
    it, so a later ``contiguous()`` of the alias re-lays nothing and the write reaches
    ``y``."""

    def run(lib: Any) -> float:
        y = _conv(lib)
        d = y.detach() if alias == "detach" else y.data
        d.contiguous()
        d.add_(1.0)
        return float(y.sum())

    assert run(cr) == pytest.approx(run(torch), rel=1e-12)
