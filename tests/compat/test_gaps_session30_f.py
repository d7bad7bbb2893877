"""Gaps found by the session-30 (batch f) drop-in programs (``fastai_miniai_notebooks``,
``cs224n_dependency_parser``, ``cs224n_nmt_attention``, ``cs231n_pytorch_and_gans``,
``d2l_modern_cnns``, ``uva_gnn_and_flows_tutorials``), each checked against PyTorch.

- ``padding="same"`` with an even kernel (an odd ``dilation * (kernel_size - 1)``, so one side
  gets one more zero: CS224n's ``nn.Conv1d(..., kernel_size=2, padding="same")``) did not warn;
  PyTorch warns once per process ("Using padding='same' with even kernel lengths and odd
  dilation may require a zero-padded copy of the input be created"), for the 1-, 2- and 3-d
  convolutions alike (one warning for all of them).
- ``nn.Module.type(torch.LongTensor)`` (or any integer / bool type) converted parameters that
  require grad to integers; PyTorch refuses ("data set to a tensor that requires gradients
  must be floating point or complex dtype", a RuntimeError), as ``param.data = int_tensor``
  does. Parameters that do not require grad and buffers still convert.
- ``nn.Unflatten`` accepted any iterable of anything as ``unflattened_size`` (a NumPy array,
  NumPy integers, floats, tuples) and turned a ``torch.Size`` into a tuple; PyTorch takes a
  tuple or list of Python ints only (TypeError otherwise) and keeps what it was given (its
  repr shows ``torch.Size([...])``).
- ``Tensor.unflatten`` / ``torch.unflatten`` with empty (or None) sizes gave a shape error
  about the product; PyTorch says "unflatten: sizes must be non-empty" (RuntimeError); a float
  or bool size, or a bare int, is a TypeError in PyTorch (chainrule: a shape error or a
  message about iterating an int).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import _user_warnings

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
SAME_MSG = "Using padding='same' with even kernel lengths and odd dilation"


def _caught(fn: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught if SAME_MSG in str(w.message)]


def test_even_kernel_same_padding_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())  # as in a fresh process
    cr, F = chainrule, chainrule.nn.functional
    x1, x2 = cr.randn(1, 2, 6), cr.randn(1, 2, 6, 6)
    # symmetric totals: no warning
    assert not _caught(lambda: F.conv1d(x1, cr.randn(2, 2, 3), padding="same"))
    assert not _caught(lambda: F.conv1d(x1, cr.randn(2, 2, 2), padding="same", dilation=2))
    assert not _caught(lambda: cr.nn.Conv2d(2, 2, 3, padding="same")(x2))
    # an odd total warns, once in the process, whichever convolution comes next
    got = _caught(lambda: cr.nn.Conv1d(2, 2, kernel_size=2, padding="same")(x1))
    assert len(got) == 1
    assert not _caught(lambda: F.conv2d(x2, cr.randn(2, 2, 2, 3), padding="same"))
    monkeypatch.setattr(_user_warnings, "_issued", set())
    assert (
        len(
            _caught(
                lambda: F.conv3d(cr.randn(1, 1, 4, 4, 4), cr.randn(1, 1, 1, 1, 2), padding="same")
            )
        )
        == 1
    )
    monkeypatch.setattr(_user_warnings, "_issued", set())
    assert len(_caught(lambda: F.conv1d(x1, cr.randn(2, 2, 2), padding="same", dilation=3))) == 1


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_even_kernel_same_padding_values(m: Any) -> None:
    """The asymmetric padding itself (the extra zero on the right), as the warning's setting."""
    x = m.tensor(np.arange(12.0).reshape(1, 2, 6))
    w = m.tensor(np.arange(8.0).reshape(2, 2, 2) / 10)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SAME_MSG)
        y = m.nn.functional.conv1d(x, w, padding="same")
        y2 = m.nn.functional.conv2d(x[:, :, None], w[:, :, None], padding="same")
    ref = m.nn.functional.conv1d(m.nn.functional.pad(x, (0, 1)), w)
    assert y.shape == (1, 2, 6) and m.equal(y, ref) and m.equal(y2[:, :, 0], ref)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_module_type_refuses_integer_parameters_that_require_grad(m: Any) -> None:
    for dst in (m.LongTensor, m.int32, "torch.IntTensor", m.bool):
        lin = m.nn.Linear(2, 2)
        with pytest.raises(RuntimeError, match="requires gradients must be floating point"):
            lin.type(dst)
    bn = m.nn.BatchNorm1d(2)
    bn.weight.requires_grad_(False)
    bn.bias.requires_grad_(False)
    bn.type(m.LongTensor)  # nothing requires grad: everything converts
    assert bn.weight.dtype == bn.running_mean.dtype == bn.num_batches_tracked.dtype == m.int64
    net = m.nn.Sequential(m.nn.Linear(2, 2)).type(m.FloatTensor)
    assert net[0].weight.dtype == m.float32
    assert m.nn.Linear(2, 2).type(m.float16).bias.dtype == m.float16
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        m.nn.Linear(2, 2).to(m.long)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_unflatten_module_checks_its_sizes(m: Any) -> None:
    Unflatten = m.nn.Unflatten
    for bad in (np.array([2, 4]), 8):
        with pytest.raises(
            TypeError, match="unflattened_size must be a tuple of ints, but found type"
        ):
            Unflatten(1, bad)
    for bad, kind in (
        ((np.int64(2), 4), "int64"),
        ((2, 4.0), "float"),
        ((("a", 2), ("b", 4)), "tuple"),
    ):
        with pytest.raises(TypeError, match=f"found element of type {kind} at pos"):
            Unflatten(1, bad)
    assert (
        repr(Unflatten(1, m.Size([2, 4])))
        == "Unflatten(dim=1, unflattened_size=torch.Size([2, 4]))"
    )
    assert repr(Unflatten(1, [2, 4])) == "Unflatten(dim=1, unflattened_size=[2, 4])"
    assert Unflatten(1, m.Size([2, 4]))(m.ones(3, 8)).shape == (3, 2, 4)
    assert Unflatten(-1, (2, -1))(m.ones(3, 8)).shape == (3, 2, 4)
    flag = Unflatten(1, (True, 8))  # a bool passes the module's check, not unflatten's
    with pytest.raises(TypeError, match="found element of type bool at pos 0"):
        flag(m.ones(3, 8))


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_unflatten_sizes_errors(m: Any) -> None:
    x = m.ones(3, 8)
    for empty in ((), [], None):
        with pytest.raises(RuntimeError, match="unflatten: sizes must be non-empty"):
            x.unflatten(1, empty)
    for bad in ((2, 4.0), (True, 8), 8):
        with pytest.raises(TypeError, match="must be tuple of ints"):
            x.unflatten(1, bad)
    with pytest.raises(TypeError, match="must be tuple of ints"):
        m.unflatten(x, 1, (2, 2.0))
    assert x.unflatten(1, (np.int64(2), 4)).shape == (3, 2, 4)
    assert x.unflatten(1, (2, m.tensor(4))).shape == (3, 2, 4)
    assert x.unflatten(-1, [8]).shape == (3, 8)
    with pytest.raises(RuntimeError):
        x.unflatten(1, (3, 3))
