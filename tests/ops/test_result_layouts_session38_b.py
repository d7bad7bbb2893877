"""Layout marks passed on, against PyTorch: what ops make of a convolution's result.

chainrule computes a convolution channel-major, which PyTorch lays out row-major, and marks
the result (``chainrule/_layout_marks.py``). ``Function.apply`` passes the mark on
(``_layout_carry.carry_input_marks``): an elementwise op, batch norm or pooling of a marked
result is row-major in PyTorch too, and a view of it (a slice, a select, a ``view``) reports
the strides PyTorch derives from the row-major ones; ``transpose``/``permute`` record theirs
(``mark_permuted``), and a user's ``x.transpose(0, 1)`` of a contiguous tensor is left
unmarked (its strides are PyTorch's), so that dropout and the random fills draw in its memory
order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(382)
_X = _RNG.standard_normal((3, 2, 6, 5))
_W = _RNG.standard_normal((4, 2, 3, 3))
_X1 = _RNG.standard_normal((3, 2, 9))
_W1 = _RNG.standard_normal((5, 2, 3))
_P = _RNG.standard_normal((3, 4, 5))


def _conv(lib: Any) -> Any:
    return lib.nn.functional.conv2d(lib.tensor(_X), lib.tensor(_W), padding=1)


def _bn(lib: Any, y: Any, training: bool) -> Any:
    m = lib.nn.BatchNorm2d(4).double()
    return m(y) if training else m.eval()(y)


# what is made of a convolution's result y (an op of lib)
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "relu": lambda lib, y: lib.nn.functional.relu(y),
    "add_scalar": lambda lib, y: y + 1,
    "mul_self": lambda lib, y: y * y,
    "add_row_major": lambda lib, y: y + lib.ones(3, 4, 6, 5, dtype=lib.float64),
    "add_bias": lambda lib, y: y + lib.ones(1, 4, 1, 1, dtype=lib.float64),
    "sigmoid": lambda lib, y: lib.sigmoid(y),
    "gelu": lambda lib, y: lib.nn.functional.gelu(y),
    "silu": lambda lib, y: lib.nn.functional.silu(y),
    "leaky_relu": lambda lib, y: lib.nn.functional.leaky_relu(y, 0.1),
    "where": lambda lib, y: lib.where(y > 0, y, 0.0),
    "softmax": lambda lib, y: y.softmax(1),
    "batch_norm_train": lambda lib, y: _bn(lib, y, True),
    "batch_norm_eval": lambda lib, y: _bn(lib, y, False),
    "max_pool": lambda lib, y: lib.nn.functional.max_pool2d(y, 2),
    "avg_pool": lambda lib, y: lib.nn.functional.avg_pool2d(y, 2),
    "sum_keepdim": lambda lib, y: y.sum(1, keepdim=True),
    "conv_bn_relu_pool": lambda lib, y: lib.nn.functional.max_pool2d(
        lib.nn.functional.relu(
            lib.nn.functional.conv2d(_bn(lib, y, True), lib.ones(2, 4, 1, 1, dtype=lib.float64))
        ),
        2,
    ),
    # views
    "transpose01": lambda lib, y: y.transpose(0, 1),
    "transpose01_twice": lambda lib, y: y.transpose(0, 1).transpose(0, 1),
    "transpose12": lambda lib, y: y.transpose(1, 2),
    "permute": lambda lib, y: y.permute(0, 2, 3, 1),
    "slice_channels": lambda lib, y: y[:, 1:],
    "step_slice": lambda lib, y: y[:, ::2],
    "slice_last": lambda lib, y: y[..., 1:],
    "select_batch": lambda lib, y: y[0],
    "select_channel": lambda lib, y: y[:, 0],
    "narrow": lambda lib, y: y.narrow(0, 1, 2),
    "view_merge": lambda lib, y: y.view(3, 4, 30),
    "view_split": lambda lib, y: y.view(3, 2, 2, 30),
    "unsqueeze0": lambda lib, y: y.unsqueeze(0),
    "unsqueeze2": lambda lib, y: y.unsqueeze(2),
    "expand": lambda lib, y: y[:, :1].expand(3, 4, 6, 5),
    "chunk": lambda lib, y: y.chunk(2, 1)[1],
    "unbind": lambda lib, y: y.unbind(1)[2],
    "relu_of_slice": lambda lib, y: lib.nn.functional.relu(y[:, 1:]),
    "transpose01_contiguous": lambda lib, y: y.transpose(0, 1).contiguous(),
    "slice_contiguous": lambda lib, y: y[:, 1:].contiguous(),
}


@pytest.mark.parametrize("op", list(OPS))
def test_strides_of_ops_on_convolution(op: str) -> None:
    want = OPS[op](torch, _conv(torch))
    got = OPS[op](cr, _conv(cr))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert got.stride() == want.stride()
    assert got.is_contiguous() == want.is_contiguous()
    c = got.contiguous()
    assert c.is_contiguous() and c.stride() == want.contiguous().stride()
    np.testing.assert_allclose(c.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_conv1d_relu_and_select() -> None:
    for lib_op in (
        lambda lib, y: lib.nn.functional.relu(y),
        lambda lib, y: y[:, 2:],
        lambda lib, y: y.transpose(1, 2),
    ):
        want = lib_op(torch, torch.nn.functional.conv1d(torch.tensor(_X1), torch.tensor(_W1)))
        got = lib_op(cr, cr.nn.functional.conv1d(cr.tensor(_X1), cr.tensor(_W1)))
        assert got.stride() == want.stride()
        assert got.is_contiguous() == want.is_contiguous()


def _seeded(lib: Any, seed: int, fn: Callable[[], Any]) -> np.ndarray:
    lib.manual_seed(seed)
    return np.asarray(fn().detach().numpy())


FILLS: dict[str, Callable[[Any], Any]] = {
    "dropout_relu_conv": lambda lib: lib.nn.functional.dropout(
        lib.nn.functional.relu(_conv(lib)), 0.5
    ),
    "dropout_bn_conv": lambda lib: lib.nn.functional.dropout(_bn(lib, _conv(lib), True), 0.4),
    "dropout_pool_conv": lambda lib: lib.nn.functional.dropout(
        lib.nn.functional.max_pool2d(_conv(lib), 2), 0.5
    ),
    "dropout_transposed_conv": lambda lib: lib.nn.functional.dropout(
        _conv(lib).transpose(0, 1), 0.5
    ),
    "rand_like_slice": lambda lib: lib.rand_like(_conv(lib)[:, 1:]),
    "uniform_transposed_conv": lambda lib: _conv(lib).detach().transpose(0, 1).uniform_(),
}

# a user's own transpose of a contiguous tensor: PyTorch draws it in its memory order
USER_FILLS: dict[str, Callable[[Any], Any]] = {
    "dropout_user_transpose": lambda lib: lib.nn.functional.dropout(
        lib.tensor(_P).transpose(0, 1), 0.5
    ),
    "bernoulli_user_transpose": lambda lib: lib.tensor(_P).transpose(0, 1).bernoulli_(0.3),
    "uniform_user_permute": lambda lib: lib.tensor(_P).permute(1, 0, 2).uniform_(),
    "rand_like_user_transpose": lambda lib: lib.rand_like(lib.tensor(_P).transpose(0, 1)),
}


@pytest.mark.parametrize("case", list(FILLS))
def test_random_fills_in_memory_order(case: str) -> None:
    want = _seeded(torch, 11, lambda: FILLS[case](torch))
    got = _seeded(cr, 11, lambda: FILLS[case](cr))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", list(USER_FILLS))
def test_random_fills_of_user_transpose(case: str) -> None:
    want = _seeded(torch, 11, lambda: USER_FILLS[case](torch))
    got = _seeded(cr, 11, lambda: USER_FILLS[case](cr))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_gradients_through_marked_chain() -> None:
    def run(lib: Any) -> tuple:
        x = lib.tensor(_X, requires_grad=True)
        w = lib.tensor(_W, requires_grad=True)
        y = lib.nn.functional.conv2d(x, w, padding=1)
        z = lib.nn.functional.max_pool2d(lib.nn.functional.relu(_bn(lib, y, True)), 2)
        (
            z[:, 1:].transpose(0, 1) * lib.arange(54.0, dtype=lib.float64).view(3, 3, 3, 2)
        ).sum().backward()
        return x.grad.numpy(), w.grad.numpy()

    for got, want in zip(run(cr), run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_unmarked_row_major_ops_keep_no_mark() -> None:
    """Plain row-major ops leave no mark behind (the marks table stays empty)."""
    from chainrule._layout_marks import LAYOUT_MARKS

    before = len(LAYOUT_MARKS)
    a = cr.randn(8, 8)
    b = cr.relu(a + 1) * a
    assert b.is_contiguous() and b.stride() == (8, 1)
    assert len(LAYOUT_MARKS) == before


# an elementwise op of a transpose of a convolution's result (row-major memory here, looked
# up only while such a mark lives: _layout_marks.C_MARKED), and empty_like of it
GAPS: dict[str, Callable[[Any, Any], Any]] = {
    "relu_of_transpose": lambda lib, y: lib.nn.functional.relu(y.transpose(0, 1)),
    "add_of_transpose": lambda lib, y: y.transpose(0, 1) + 1,
    "empty_like_of_transpose": lambda lib, y: lib.empty_like(y.transpose(0, 1)),
}


@pytest.mark.parametrize("op", list(GAPS))
def test_ops_on_transpose_of_convolution(op: str) -> None:
    want = GAPS[op](torch, _conv(torch))
    got = GAPS[op](cr, _conv(cr))
    assert got.stride() == want.stride()
