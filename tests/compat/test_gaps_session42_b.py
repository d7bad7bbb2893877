"""Gaps found by the session-42 drop-in programs (letter b), each pinned against torch.

``on_lstm_ordered_neurons`` (yikangshen/Ordered-Neurons) draws its drop-connect mask as
``torch.uint8`` and hands it to ``masked_fill``, which current PyTorch refuses; the refusal's
text names the mask's dtype in C++ words (``unsigned char``, ``long int``). chainrule named it
``torch.uint8`` behind an op prefix. ``masked_scatter`` names it by ScalarType (``Byte``,
``Long``) and warns of a uint8 mask with PyTorch's text (``deprecated,please``, no space).
"""

from __future__ import annotations

import warnings

import pytest

import chainrule

torch = pytest.importorskip("torch")

DTYPES = [
    "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
    "complex64", "complex128",
]  # fmt: skip


def _error(fn) -> tuple[type, str]:  # noqa: ANN001 (a thunk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError) as info:
            fn()
    return info.type, str(info.value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", ["method", "inplace", "function", "tensor_value"])
def test_masked_fill_non_bool_mask_message(dtype: str, form: str) -> None:
    def call(lib):  # noqa: ANN001, ANN202 (torch or chainrule)
        x = lib.zeros(2, 3)
        mask = lib.tensor([[1, 0, 1], [0, 1, 0]]).to(getattr(lib, dtype))
        if form == "method":
            return lambda: x.masked_fill(mask, 1.0)
        if form == "inplace":
            return lambda: x.masked_fill_(mask, 1.0)
        if form == "function":
            return lambda: lib.masked_fill(x, mask, 2)
        return lambda: x.masked_fill(mask, lib.tensor(3.0))

    _, want = _error(call(torch))
    kind, got = _error(call(chainrule))
    assert got == want
    assert issubclass(kind, RuntimeError)


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_scatter_non_bool_mask_message(dtype: str) -> None:
    def call(lib):  # noqa: ANN001, ANN202
        mask = lib.tensor([1, 0, 1]).to(getattr(lib, dtype))
        return lambda: lib.zeros(3).masked_scatter(mask, lib.ones(3))

    assert _error(call(chainrule))[1] == _error(call(torch))[1]


def test_masked_scatter_uint8_warning_text() -> None:
    texts = []
    for lib in (torch, chainrule):
        mask = lib.tensor([1, 0, 1], dtype=lib.uint8)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(RuntimeError):
                lib.zeros(3).masked_scatter(mask, lib.ones(3))
        # torch's C++ warnings end in " (Triggered internally at <file>:<line>.)"
        texts.append([(w.category, str(w.message).split(" (Triggered")[0]) for w in caught])
    assert len(texts[0]) == 1
    assert texts[1] == texts[0]


def test_on_lstm_drop_connect_uint8_mask_refused_like_torch() -> None:
    """The program's idiom: a uint8 mask from ``new_empty(..., dtype=torch.uint8)``."""
    messages = []
    for lib in (torch, chainrule):
        lib.manual_seed(0)
        weight = lib.nn.Parameter(lib.randn(4, 3))
        mask = weight.new_empty(weight.size(), dtype=lib.uint8)
        mask.bernoulli_(0.3)
        messages.append(_error(lambda w=weight, m=mask: w.masked_fill(m, 0.0))[1])
    assert messages[1] == messages[0]
