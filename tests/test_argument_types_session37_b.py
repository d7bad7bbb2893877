"""PyTorch's argument parser on shape ops (session 37, part 2): a bool or float leading a
size list (``x.view(True, 6)``, ``x.reshape(True, 6)``, ``x.permute(True, 0)``) is refused
with torch's message, a bool after the first size is read as 1 (``x.sum((0, True))``),
``int`` dims (``unsqueeze``, ``flatten``, ``transpose``, ``softmax``) refuse bools and floats,
``F.dropout``'s ``training`` must be a bool and ``F.pad``'s sizes ints. Each case runs the
same expression on torch and chainrule and compares the outcome (values or error type and
full message)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

CASES = [
    "x.view(True, 6)",
    "x.view(2.0, 6)",
    "x.view(np.bool_(True), 12)",
    "x.view(True)",
    "x.view((True, 6))",
    "x.view([True, 6])",
    "x.view(2, 6.0)",
    "x.view(np.int64(2), 6)",
    "x.view(L.tensor(2), 6)",
    "x.reshape(True, 6)",
    "x.reshape(2.0, 3)",
    "x.reshape((True, 6))",
    "x.reshape(2, 6.0)",
    "x.reshape((2, 6.0))",
    "x.reshape(True)",
    "x.reshape(1.0)",
    "x.reshape(L.tensor(2), 6)",
    "x.reshape(3, np.int64(4))",
    "x.expand(True, 2, 6)",
    "x.expand(True)",
    "x.expand(2, 6.0)",
    "x.repeat(True, 2)",
    "x.repeat(2.0, 2)",
    "x.repeat((True, 2))",
    "x.repeat(True)",
    "x.repeat(2, True)",
    "x.permute(True, 0)",
    "x.permute((True, 0))",
    "x.permute(1.0, 0)",
    "x.permute(1.0)",
    "x.permute(True)",
    "x.permute(1, np.int64(0))",
    "x.unsqueeze(True)",
    "x.unsqueeze(1.0)",
    "x.unsqueeze(dim=True)",
    "L.unsqueeze(x, True)",
    "L.unsqueeze(x, dim=1.0)",
    "x.unsqueeze(np.int64(1))",
    "x.flatten(True)",
    "x.flatten(0, True)",
    "x.flatten(0.0)",
    "x.flatten(start_dim=True)",
    "L.flatten(x, True)",
    "x.transpose(True, 0)",
    "x.transpose(0, True)",
    "x.transpose(0.0, 1)",
    "L.transpose(x, True, 0)",
    "x.transpose(np.int64(0), 1)",
    "x.sum((0, True))",
    "x.sum([0, True])",
    "x.mean((0, True))",
    "x.amax((0, True))",
    "x.var((0, True))",
    "x.std((0, True))",
    "x.amin((0, True))",
    "x.logsumexp((0, True))",
    "x.squeeze((0, True))",
    "x.softmax(True)",
    "x.softmax(1.0)",
    "x.softmax(dim=True)",
    "L.softmax(x, True)",
    "L.softmax(x, 1.0)",
    "F.softmax(x, True)",
    "F.softmax(x, dim=True)",
    "F.softmax(x, 1.0)",
    "F.log_softmax(x, 1.0)",
    "F.log_softmax(x, dim=1.0)",
    "x.log_softmax(True)",
    "F.softmin(x, True)",
    "F.softmax(x, np.int64(1))",
    "F.dropout(x, 0.5, 1)",
    "F.dropout(x, 0.5, training=1)",
    "F.dropout(x, 0.5, 0)",
    "F.dropout(x, 0.5, 1.0)",
    "F.dropout(x, 0.5, None)",
    "F.dropout(x, 0.5, np.bool_(True))",
    "F.dropout(x, 0.5, L.tensor(True))",
    "F.dropout(x.clone(), 0.5, 1, True)",
    "F.dropout1d(x[None], 0.5, 1)",
    "F.dropout2d(x[None, None], 0.5, 1)",
    "F.dropout2d(x[None, None].clone(), 0.5, 1, True)",
    "F.dropout3d(x[None, None], 0.5, 0)",
    "F.alpha_dropout(x, 0.5, 1)",
    "F.alpha_dropout(x.clone(), 0.5, 0, True)",
    "F.pad(x, (True, 1))",
    "F.pad(x, (1.0, 1))",
    "F.pad(x, [1.0, 1])",
    "F.pad(x, pad=(True, 1))",
    "F.pad(x, (np.bool_(True), 1))",
    "F.pad(x, 1)",
    "F.pad(x, (1, True))",
    "F.pad(x, (np.int64(1), 1))",
    "F.pad(x, (L.tensor(1), 1))",
    "F.pad(x, (1, 2.0))",
    "x.sum(0, 1)",
    "x.sum(0, keepdim=1)",
    "x.sum(0, keepdim=None)",
    "x.sum(0, np.bool_(True))",
    "x.sum(0, L.tensor(True))",
    "x.mean(0, 1)",
    "x.mean(0, keepdim=1)",
    "x.amax(0, 1)",
    "x.amin(0, keepdim=1)",
    "x.argmax(0, 1)",
    "x.argmax(0, keepdim=1)",
    "x.argmin(0, 1.0)",
    "x.max(0, 1)",
    "x.max(0, keepdim=1)",
    "x.min(0, 1)",
    "L.sum(x, 0, 1)",
    "x.sum(0, True)",
    "x.argmax(True)",
    "x.argmin(1.0)",
    "x.argmax(dim=True)",
    "L.argmax(x, True)",
    "x.argmax(np.int64(1))",
    "L.cat([x, x], True)",
    "L.cat([x, x], 1.0)",
    "L.cat([x, x], dim=True)",
    "L.cat([x, x], np.int64(1))",
    "x.chunk(2, True)",
    "x.chunk(2, dim=True)",
    "L.chunk(x, 2, True)",
    "x.gather(True, L.zeros(2, 1, dtype=L.long))",
    "L.gather(x, True, L.zeros(2, 1, dtype=L.long))",
    "L.gather(x, 1.0, L.zeros(2, 1, dtype=L.long))",
    "F.max_pool2d(x[None], 1.5)",
    "F.max_pool2d(x[None], kernel_size=1.5)",
    "F.max_pool2d(x[None], (1.5, 2))",
    "F.max_pool2d(x[None], (2, 1.5))",
    "F.max_pool2d(x[None], '3')",
    "F.max_pool2d(x[None], 2, 1.5)",
    "F.max_pool2d(x[None], 2, padding=(True, 0))",
    "F.max_pool2d(x[None], 2, padding=(0, True))",
    "F.max_pool2d(x[None], 2, 1, 0, True)",
    "F.max_pool2d(x[None], 2, ceil_mode=1)",
    "F.max_pool1d(x[None], True)",
    "F.max_pool1d(x[None], 2, ceil_mode=1)",
    "F.max_pool1d(x[None], 2, 1, 0, 1.5)",
    "F.max_pool1d(x[None], 2, 1, True)",
    "F.max_pool3d(x[None, None], 1.5)",
    "F.max_pool3d(x[None, None], 1, 1, 0, 1, 1)",
    "F.avg_pool1d(x[None], 1.5)",
    "F.avg_pool1d(x[None], 2, 1.5)",
    "F.avg_pool1d(x[None], 2, ceil_mode=1)",
    "F.avg_pool1d(x[None], 2, count_include_pad=1)",
    "F.avg_pool2d(x[None], True)",
    "F.avg_pool2d(x[None], 2, True)",
    "F.avg_pool2d(x[None], kernel_size=1.5)",
    "F.avg_pool2d(x[None], (2, 1.0))",
    "F.avg_pool2d(x[None], 2, 1, 0, 1)",
    "F.avg_pool2d(x[None], 2, 1, 0, False, 1)",
    "F.avg_pool3d(x[None, None], 1.5)",
    "F.avg_pool3d(x[None, None], 1, 1, 0, 1)",
    "L.rand(True, 2)",
    "L.randn(True, 2)",
    "L.randn(2.0, 2)",
    "L.rand(True)",
    "L.rand((True, 2))",
    "L.randint(True, (2,))",
    "L.randint(0, True, (2,))",
    "L.randint(2.0, (2,))",
    "L.randint(10, (2,), 1)",
    "L.randint(np.int64(3), (2,))",
    "L.randint(0, np.int64(3), (2,))",
    "L.randint(L.tensor(3), (2,))",
    "L.zeros(2, L.tensor(True))",
    "L.ones(2, L.tensor(True))",
    "L.zeros(L.tensor(True), 2)",
    "L.empty(2, L.tensor(True))",
    "L.zeros(2, L.tensor(2.0))",
    "x.narrow(0, True, 1)",
    "x.narrow(True, 0, 1)",
    "x.narrow(0, 0, True)",
    "x.narrow(0, 0, 1.0)",
    "L.narrow(x, 0, True, 1)",
    "x.narrow(0, start=True, length=1)",
    "x.narrow(0, L.tensor(1), 1)",
    "x.narrow(np.int64(0), 1, 1)",
    "x.narrow(0, np.int64(1), 1)",
    "x.narrow(dim=0, start=1.0, length=1)",
    "L.narrow(x, 0, 1, length=1.5)",
]


def _outcome(lib, src: str):
    L, F = lib, lib.nn.functional  # noqa: N806 - the expressions' names
    x = lib.arange(12.0).reshape(2, 6)
    try:
        r = eval(src, {"L": L, "F": F, "x": x, "np": np})  # noqa: S307 - fixed test strings
    except Exception as e:  # noqa: BLE001 - the error is the outcome
        return type(e).__name__, str(e).rstrip("\n")
    if ("dropout" in src and "0.5, 0" not in src) or "rand" in src:
        return "ok", tuple(r.shape)  # random draws: the shape only
    if isinstance(r, tuple):  # (values, indices), chunks
        return "ok", [t.tolist() for t in r]
    return "ok", r.tolist()


@pytest.mark.parametrize("src", CASES)
def test_as_torch(src: str) -> None:
    expected = _outcome(torch, src)
    got = _outcome(cr, src)
    if expected[0] == "RuntimeError" and got[0] == "ShapeError":
        got = ("RuntimeError", got[1])
    if expected[0] == "ok" and got[0] == "ok" and isinstance(expected[1], list):
        np.testing.assert_allclose(np.asarray(got[1]), np.asarray(expected[1]), rtol=1e-6)
    else:
        assert got == expected


def test_dropout_checks_p_before_train() -> None:
    """``F.dropout(x, 1.5, 1)``: the probability's ValueError comes first, as in PyTorch."""
    for lib in (torch, cr):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            lib.nn.functional.dropout(lib.ones(3), 1.5, 1)


def test_bool_tensor_size_is_runtime_error() -> None:
    """A bool 0-d tensor inside a size list: PyTorch's RuntimeError from its int reading."""
    x = cr.arange(12.0)
    with pytest.raises(RuntimeError, match=r"Expected scalar.isIntegral\( false\)"):
        x.reshape(2, cr.tensor(True))
    with pytest.raises(RuntimeError, match=r"Expected scalar.isIntegral\( false\)"):
        torch.arange(12.0).reshape(2, torch.tensor(True))


def test_non_leading_bool_size_is_one() -> None:
    """``x.view(3, True, 4)``: the bool after the first size is 1, as in PyTorch."""
    x = cr.arange(12.0)
    assert x.view(3, True, 4).shape == tuple(torch.arange(12.0).view(3, True, 4).shape)
    assert x.reshape((3, True, 4)).shape == (3, 1, 4)
