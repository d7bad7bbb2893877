"""Gaps found by the session-42 drop-in programs (detection, video, medical, continual and
federated learning, quantization), each checked against PyTorch.

- ``prepare`` / ``prepare_qat`` give an exact ``nn.Dropout`` child no observer (PyTorch's
  "Dropout special" in ``_add_observer_``): the QAT tutorial's MobileNetV2 classifier
  ``nn.Sequential(nn.Dropout(0.2), nn.Linear(...))`` fake-quantized the Linear's input under
  chainrule, so its training losses drifted from PyTorch's.
- ``mean`` of a quantized tensor that PyTorch holds channels last (a quantized convolution's
  output, as in the tutorial's ``x.mean([2, 3])``) takes PyTorch's fallback (float32 mean of
  the dequantized values, requantized), whose halves round differently from the integer
  kernel used for contiguous tensors.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    with warnings.catch_warnings():  # the quantization APIs' deprecation / observer warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _dropout_net(lib: Any, state: dict | None = None) -> Any:
    nn = lib.nn
    model = nn.Sequential(
        lib.ao.quantization.QuantStub(),
        nn.Linear(6, 5),
        nn.Dropout(0.0),
        nn.Linear(5, 3),
        lib.ao.quantization.DeQuantStub(),
    )
    if state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    return model


@pytest.mark.parametrize("qat", [True, False])
def test_prepare_leaves_dropout_unobserved(qat: bool) -> None:
    torch.manual_seed(0)
    state = {k: v.detach().numpy().copy() for k, v in _dropout_net(torch).state_dict().items()}
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    outs, reprs = [], []
    for lib in (torch, cr):
        model = _dropout_net(lib, state)
        model.qconfig = lib.ao.quantization.get_default_qat_qconfig("x86")
        if qat:
            model.train()
            lib.ao.quantization.prepare_qat(model, inplace=True)
        else:
            model.eval()
            model.qconfig = lib.ao.quantization.get_default_qconfig("x86")
            lib.ao.quantization.prepare(model, inplace=True)
        assert not hasattr(model[2], "activation_post_process")
        assert hasattr(model[3], "activation_post_process")
        reprs.append(repr(model))
        outs.append(model(lib.from_numpy(x)).detach().numpy())
        if not qat:
            quantized = lib.ao.quantization.convert(model, inplace=False)
            outs.append(quantized(lib.from_numpy(x)).numpy())
    assert reprs[0] == reprs[1]
    half = len(outs) // 2
    for got, want in zip(outs[half:], outs[:half]):  # float32 matmuls: to rounding
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _conv_net(lib: Any, state: dict | None = None) -> Any:
    model = lib.nn.Sequential(
        lib.ao.quantization.QuantStub(),
        lib.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        lib.ao.quantization.DeQuantStub(),
    )
    if state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    return model


def _quantized_conv_output(lib: Any, state: dict, x: np.ndarray) -> Any:
    model = _conv_net(lib, state).eval()
    model.qconfig = lib.ao.quantization.get_default_qconfig("x86")
    lib.ao.quantization.prepare(model, inplace=True)
    model(lib.from_numpy(x))
    quantized = lib.ao.quantization.convert(model, inplace=False)
    got = {}
    quantized[1].register_forward_hook(lambda m, i, o: got.__setitem__("out", o))
    quantized(lib.from_numpy(x))
    return got["out"]


@pytest.mark.parametrize("dims,keepdim", [([2, 3], False), ([3], True), ([3], False)])
def test_quantized_mean_of_channels_last_conv_output(dims: list, keepdim: bool) -> None:
    torch.manual_seed(0)
    state = {k: v.detach().numpy().copy() for k, v in _conv_net(torch).state_dict().items()}
    x = (np.random.default_rng(1).normal(size=(64, 3, 4, 4)) * 0.3).astype(np.float32)
    qt, qc = _quantized_conv_output(torch, state, x), _quantized_conv_output(cr, state, x)
    assert not qt.is_contiguous()  # torch's quantized convolution answers channels last
    np.testing.assert_array_equal(qc.int_repr().numpy(), qt.int_repr().numpy())
    want = qt.mean(dims, keepdim=keepdim)
    got = qc.mean(dims, keepdim=keepdim)
    assert (got.q_scale(), got.q_zero_point()) == (want.q_scale(), want.q_zero_point())
    np.testing.assert_array_equal(got.int_repr().numpy(), want.int_repr().numpy())
    # the contiguous copy takes the integer kernel in both libraries
    np.testing.assert_array_equal(
        qc.contiguous().mean(dims, keepdim=keepdim).int_repr().numpy(),
        qt.contiguous().mean(dims, keepdim=keepdim).int_repr().numpy(),
    )
