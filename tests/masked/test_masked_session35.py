"""Session 35: MaskedTensor ops torch supports that chainrule refused (and the reverse),
and the edge errors of the dense ``torch.masked`` functions, against torch 2.13 live."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import error_type, pair, same

pytestmark = pytest.mark.filterwarnings("ignore:The PyTorch API of MaskedTensors")


def _pairs():
    return pair(11, (3, 4)), pair(12, (3, 4))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, o, M: m.conj(),
        lambda m, o, M: m.resolve_conj(),
        lambda m, o, M: m.resolve_neg(),
        lambda m, o, M: m.isreal(),
        lambda m, o, M: m.adjoint(),
        lambda m, o, M: m.ravel(),
        lambda m, o, M: m.to_dense(),
        lambda m, o, M: m.float_power(2),
        lambda m, o, M: M.float_power(m, 3),
        lambda m, o, M: m.clone().float_power_(2),
        lambda m, o, M: m.abs().clone().log10_(),
        lambda m, o, M: m.abs().clone().log2_(),
        lambda m, o, M: m.repeat_interleave(2),
        lambda m, o, M: m.repeat_interleave(2, dim=1),
        lambda m, o, M: m.max(m * 2),
        lambda m, o, M: M.min(m, m * 2),
        lambda m, o, M: m.sum_to_size(1, 4),
        lambda m, o, M: m.sum_to_size(4),
        lambda m, o, M: m.type(M.float32),
        lambda m, o, M: m.to(M.ones(1, dtype=M.float32)),
        lambda m, o, M: m.type_as(M.ones(1, dtype=M.float32)),
        lambda m, o, M: 2 / m,
    ],
)
def test_ops_torch_supports_match(call):
    (theirs, ours), _ = _pairs()
    same(call(ours, None, cr), call(theirs, None, torch), rtol=1e-6)


@pytest.mark.parametrize("name", ["hsplit", "tensor_split"])
def test_splits_match(name):
    (theirs, ours), _ = _pairs()
    for t, c in zip(getattr(theirs, name)(2), getattr(ours, name)(2), strict=True):
        same(c, t)


def test_copy_keeps_own_mask():
    (theirs, ours), (t2, c2) = _pairs()
    same(ours.clone().copy_(c2), theirs.clone().copy_(t2))
    same(ours.clone().copy_(cr.ones(3, 4)), theirs.clone().copy_(torch.ones(3, 4)))


def test_queries_match():
    (theirs, ours), (t2, c2) = _pairs()
    assert ours.type() == theirs.type()
    assert ours.is_same_size(c2) == theirs.is_same_size(t2)
    for name in ("is_conj", "is_neg", "is_inference", "is_shared", "dim_order"):
        assert getattr(ours, name)() == getattr(theirs, name)(), name


@pytest.mark.parametrize(
    "call",
    [
        lambda m, o, M: m.byte(),
        lambda m, o, M: m.to(M.uint8),
        lambda m, o, M: m.add(o, alpha=2),
        lambda m, o, M: m.clone().sub_(o, alpha=2),
        lambda m, o, M: m.div(o, rounding_mode="floor"),
        lambda m, o, M: m.round(decimals=1),
        lambda m, o, M: m.atan2(2.0),
        lambda m, o, M: m.isclose(1.0),
        lambda m, o, M: m.amax(1, dtype=M.float32),
        lambda m, o, M: m.max(),
        lambda m, o, M: m.max(1),
        lambda m, o, M: m.split([1, 3], 1),
        lambda m, o, M: m.long().softmax(1),
    ],
)
def test_refusals_match(call):
    (theirs, ours), (t2, c2) = _pairs()
    expected = error_type(lambda: call(theirs, t2, torch))
    assert expected is not None
    assert error_type(lambda: call(ours, c2, cr)) is expected


def test_uint8_data_refused_as_torch():
    x, m = np.arange(4, dtype=np.uint8), np.ones(4, bool)
    with pytest.raises(TypeError, match="torch.uint8 is not supported in MaskedTensor"):
        torch.masked.masked_tensor(torch.tensor(x), torch.tensor(m))
    with pytest.raises(TypeError, match="torch.uint8 is not supported in MaskedTensor"):
        cr.masked.masked_tensor(cr.tensor(x), cr.tensor(m))


X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
MASK = np.array([[True, False, True], [False, False, False]])


def _dense(name, x, *args, **kw):
    """torch's and chainrule's results (or exception types) of ``torch.masked.<name>``."""
    out = []
    for M in (torch, cr):
        kw2 = {k: (M.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        kw2 = {k: (getattr(M, v) if k == "dtype" else v) for k, v in kw2.items()}
        try:
            out.append(getattr(M.masked, name)(M.tensor(x), *args, **kw2))
        except Exception as exc:  # noqa: BLE001 - the type is compared
            out.append(exc)
    return out


@pytest.mark.parametrize(
    ("name", "x", "args", "kw"),
    [
        ("softmax", X.astype(np.int64), (1,), {"mask": MASK, "dtype": "float32"}),
        ("log_softmax", X.astype(np.int64), (1,), {"mask": MASK, "dtype": "float64"}),
        ("softmin", X.astype(np.int64), (1,), {"mask": MASK, "dtype": "float32"}),
        ("softmax", X, (1,), {"mask": MASK, "dtype": "float64"}),
        ("amax", X.astype(np.int64), (1,), {"mask": MASK, "dtype": "float32"}),
        ("amin", X.astype(np.int64), (1,), {"mask": MASK, "dtype": "float64"}),
        ("logsumexp", X.astype(np.int64), (1,), {"mask": MASK, "dtype": "float64"}),
        ("median", X > 2, (1,), {"mask": np.ones((2, 3), bool)}),
        ("median", X.astype(np.int64), (1,), {"mask": np.ones((2, 3), bool)}),
    ],
)
def test_dense_values_match(name, x, args, kw):
    theirs, ours = _dense(name, x, *args, **kw)
    assert not isinstance(theirs, Exception), theirs
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize(
    ("name", "x", "args", "kw"),
    [
        ("softmax", X.astype(np.int64), (1,), {"mask": MASK}),
        ("log_softmax", X, (1,), {"mask": MASK, "dtype": "int64"}),
        ("softmin", X > 2, (1,), {"mask": MASK}),
        ("median", X > 2, (1,), {"mask": MASK}),
        ("median", np.ones((0, 3)), (0,), {"mask": np.ones((0, 3), bool)}),
        ("median", np.ones((3, 0)), (1,), {"mask": np.ones((3, 0), bool)}),
        ("median", X.astype(np.int64), (1,), {"mask": MASK}),
        ("mean", X, (1,), {"mask": MASK, "dtype": "int64"}),
        ("var", X > 2, (1,), {"mask": MASK}),
        ("std", X > 2, (1,), {"mask": MASK}),
        ("normalize", X.astype(np.int64), (2.0, 1), {"mask": MASK, "dtype": "float32"}),
        ("normalize", X, (2.0, 1), {"mask": MASK, "dtype": "float32"}),
        ("sum", X, (1,), {"mask": np.array([True, False])}),
        ("sum", X, (1,), {"mask": np.ones((3, 3), bool)}),
        ("cumsum", X, (5,), {"mask": MASK}),
    ],
)
def test_dense_errors_match(name, x, args, kw):
    theirs, ours = _dense(name, x, *args, **kw)
    assert isinstance(theirs, Exception), theirs
    assert isinstance(ours, type(theirs)), (type(ours), type(theirs))
    if name != "normalize":  # normalize's message is linalg.vector_norm's own
        assert str(theirs).split("\n")[0] in str(ours)
