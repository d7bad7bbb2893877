"""Gaps found by the session-10 drop-in programs, each checked against PyTorch.

pytorch/examples' GAT builds its parameters with ``torch.empty(size=(in_features, out))``:
the factories that take ``*size`` also take it as the keyword ``size=``. milesial's U-Net calls
``model.to(memory_format=torch.channels_last)``: ``nn.Module.to`` reads its arguments in
PyTorch's three forms and refuses what it cannot do instead of dropping it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

FACTORIES = ["zeros", "ones", "empty", "rand", "randn"]


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("size", [(2, 3), [4], ()])
def test_factory_size_keyword(name: str, size: Any) -> None:
    got = getattr(chainrule, name)(size=size, dtype=chainrule.float64)
    want = getattr(torch, name)(size=size, dtype=torch.float64)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.dtype == chainrule.float64
    if name in ("zeros", "ones"):
        assert got.tolist() == want.tolist()


def test_rand_size_keyword_with_generator() -> None:
    got = chainrule.rand(size=(3,), generator=chainrule.Generator().manual_seed(1))
    want = torch.rand(size=(3,), generator=torch.Generator().manual_seed(1))
    assert tuple(got.shape) == tuple(want.shape)


@pytest.mark.parametrize("name", ["new_zeros", "new_ones", "new_empty"])
def test_new_factory_size_keyword(name: str) -> None:
    got = getattr(chainrule.ones(2, dtype=chainrule.float32), name)(size=(3, 1))
    want = getattr(torch.ones(2, dtype=torch.float32), name)(size=(3, 1))
    assert tuple(got.shape) == tuple(want.shape) == (3, 1)
    assert got.dtype == chainrule.float32
    if name != "new_empty":
        assert got.tolist() == want.tolist()


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.zeros(2, size=(2,)),
        lambda m: m.randn((2,), size=(2,)),
        lambda m: m.ones(2).new_empty(2, size=(3,)),
        lambda m: m.empty(size=5),
    ],
    ids=["both-zeros", "both-randn", "both-new_empty", "int-size"],
)
def test_size_keyword_errors_match_torch(call: Any) -> None:
    with pytest.raises(TypeError) as want:
        call(torch)
    with pytest.raises(TypeError, match="argument 'size'") as got:
        call(chainrule)
    if "invalid combination" not in str(want.value):  # torch's overload report for randn
        assert str(got.value) == str(want.value)


# --- nn.Module.to: PyTorch's three forms, nothing silently dropped (milesial's U-Net passes
# ``memory_format=torch.channels_last``; scripts pass ``non_blocking`` positionally) ---

TO_CALLS = {
    "device-dtype-nonblocking": lambda m, lin: lin.to("cpu", m.float64, True),
    "keywords": lambda m, lin: lin.to(dtype=m.float64, non_blocking=True),
    "dtype-nonblocking": lambda m, lin: lin.to(m.float64, False),
    "device-keyword-dtype": lambda m, lin: lin.to("cpu", dtype=m.float64),
    "none-dtype": lambda m, lin: lin.to(None, m.float64),
    "tensor-nonblocking": lambda m, lin: lin.to(m.zeros(1, dtype=m.float64), True),
    "tensor-keyword": lambda m, lin: lin.to(tensor=m.zeros(1, dtype=m.float64)),
}


@pytest.mark.parametrize("name", sorted(TO_CALLS))
def test_module_to_forms(name: str) -> None:
    want = TO_CALLS[name](torch, torch.nn.Linear(2, 2, dtype=torch.float32))
    got = TO_CALLS[name](chainrule, chainrule.nn.Linear(2, 2, dtype=chainrule.float32))
    assert str(got.weight.dtype) == str(want.weight.dtype) == "torch.float64"
    assert str(got.bias.dtype) == "torch.float64"


TO_ERRORS = {
    "copy-keyword": (RuntimeError, lambda m, lin: lin.to(copy=True)),
    "copy-positional": (RuntimeError, lambda m, lin: lin.to("cpu", m.float64, True, False)),
    "five-positional": (TypeError, lambda m, lin: lin.to("cpu", m.float32, True, False, 1)),
    "unknown-keyword": (TypeError, lambda m, lin: lin.to(other=m.zeros(1))),
    "dtype-twice": (TypeError, lambda m, lin: lin.to(m.float32, dtype=m.float32)),
    "non-bool-flag": (TypeError, lambda m, lin: lin.to(m.float64, "cpu")),
    "integer-dtype": (TypeError, lambda m, lin: lin.to(m.int64)),
}


@pytest.mark.parametrize("name", sorted(TO_ERRORS))
def test_module_to_errors_match_torch(name: str) -> None:
    error, call = TO_ERRORS[name]
    with pytest.raises(error):
        call(torch, torch.nn.Linear(2, 2))
    lin = chainrule.nn.Linear(2, 2, dtype=chainrule.float32)
    with pytest.raises(error):
        call(chainrule, lin)
    assert lin.weight.dtype == chainrule.float32  # nothing converted before the error


def test_module_to_refuses_a_memory_format_that_is_not_one() -> None:
    """``memory_format`` takes ``cr.channels_last`` and its kind (tests/test_memory_format.py);
    anything else (here a string) is refused by name, not ignored."""
    with pytest.raises(TypeError, match="memory_format"):
        chainrule.nn.Conv2d(3, 4, 3).to(memory_format="torch.channels_last")


# --- channel dropout ranks as PyTorch 2.13 reads them (pytorch/examples' mnist_rnn applies
# nn.Dropout2d to the 2-D LSTM output; older TCN-style code applies it to (N, C, L)) ---

DROPOUT_SHAPES = {1: (40,), 2: (6, 40), 3: (5, 6, 40), 4: (4, 5, 6, 7), 5: (3, 4, 5, 6, 7)}


def _constant_axes(y: np.ndarray) -> list[int]:
    """The axes along which the dropout mask never changes."""
    kept = y != 0
    return [a for a in range(kept.ndim) if (kept == kept.take([0], axis=a)).all()]


def _dropout(lib: Any, name: str, ndim: int) -> tuple[Any, list[str]]:
    lib.manual_seed(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = getattr(lib.nn.functional, name)(lib.ones(DROPOUT_SHAPES[ndim]), 0.5, True)
        except RuntimeError as error:
            out = error
    return out, [str(w.message) for w in caught]


@pytest.mark.parametrize("ndim", sorted(DROPOUT_SHAPES))
@pytest.mark.parametrize("name", ["dropout1d", "dropout2d", "dropout3d"])
def test_channel_dropout_ranks_match_torch(name: str, ndim: int) -> None:
    want, want_warnings = _dropout(torch, name, ndim)
    got, got_warnings = _dropout(chainrule, name, ndim)
    assert got_warnings == want_warnings
    if isinstance(want, RuntimeError):
        assert isinstance(got, RuntimeError) and str(got) == str(want).split("\n")[0]
        return
    assert _constant_axes(got.numpy()) == _constant_axes(want.numpy())
    assert set(np.unique(got.numpy())) <= {0.0, 2.0}


def test_dropout2d_module_on_2d_input_warns_from_the_layer() -> None:
    """The layer form warns too (where PyTorch's warning names its ``nn.Dropout2d``)."""
    layer = chainrule.nn.Dropout2d(0.0)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d") as record:
        out = layer(chainrule.ones(3, 4))
    assert record[0].filename.endswith("dropout.py")
    assert out.tolist() == [[1.0] * 4] * 3
