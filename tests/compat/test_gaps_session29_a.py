"""Gaps found by the session-29 (batch a) drop-in programs (``double_backward_custom_function``,
``jacobians_hessians_functional``, ``channels_last_tutorial``, ``checkpoint_recipes``,
``char_rnn_generation``), each checked against PyTorch.

- ``torch.func.jvp`` took a bare tensor (or a list) as ``primals`` and tangents of another
  structure; PyTorch raises ``RuntimeError`` ("Expected primals to be a tuple", "... the same
  python structure", "... at least one Tensor", "... only contain Tensors").
- A convolution (``conv2d``, ``conv_transpose2d`` and their modules) of a channels-last input
  or with a channels-last weight (``model.to(memory_format=torch.channels_last)``) gave a
  result in chainrule's own memory order; PyTorch lays it out channels-last
  (``out.is_contiguous(memory_format=torch.channels_last)`` is the tutorial's check).
- ``x.to(memory_format=torch.channels_last)``, ``Module.to(memory_format=...)``,
  ``clone``/``empty``/``empty_like(memory_format=...)`` kept the row-major strides of a tensor
  whose channel (or spatial) dims are size 1 (one-channel images), because such a tensor is
  already dense in both orders; PyTorch gives it channels-last strides (``(16, 1, 4, 1)`` for
  ``(2, 1, 4, 4)``), which then make a convolution of it channels-last. ``.to`` also follows
  PyTorch's rule for a tensor already strided channels-last but not dense (a slice): it is
  returned as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


# ----------------------------------------------------------------------------- func.jvp
@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize(
    "args, match",
    [
        (lambda x: (x, x), "Expected primals to be a tuple"),
        (lambda x: ([x], [x]), "Expected primals to be a tuple"),
        (lambda x: ((x,), [x]), "same python structure"),
        (lambda x: ((x,), x), "same python structure"),
        (lambda x: ((x,), (x, x)), "same python structure"),
        (lambda x: ((), ()), "at least one Tensor"),
        (lambda x: ((x,), (1.0,)), "only contain Tensors"),
        (lambda x: ((2.0,), (1.0,)), "only contain Tensors"),
    ],
)
def test_func_jvp_checks_its_arguments_as_torch(m: Any, args: Any, match: str) -> None:
    x = m.ones(3, dtype=m.float64)
    primals, tangents = args(x)
    with pytest.raises(RuntimeError, match=match):
        m.func.jvp(lambda *a: a[0].sin() if a else x, primals, tangents)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_func_jvp_accepts_tuples_and_pytrees(m: Any) -> None:
    x = m.tensor([0.1, 0.2, 0.3], dtype=m.float64)
    out, tan = m.func.jvp(lambda a: a.sin(), (x,), (m.ones(3, dtype=m.float64),))
    assert np.allclose(tan.tolist(), np.cos([0.1, 0.2, 0.3]))
    _, tan = m.func.jvp(lambda d: d["w"].exp().sum(), ({"w": x},), ({"w": x},))
    assert np.isclose(tan.item(), float(np.sum(np.exp([0.1, 0.2, 0.3]) * [0.1, 0.2, 0.3])))
    batched = m.vmap(lambda t: m.func.jvp(lambda a: a * a, (x,), (t,))[1])(m.eye(3))
    assert np.allclose(batched.tolist(), np.diag([0.2, 0.4, 0.6]))


# --------------------------------------------------------------- channels-last convolutions
def _cl(m: Any, t: Any) -> Any:
    return t.to(memory_format=m.channels_last)


def _conv_cases(m: Any) -> dict[str, Any]:
    rng = np.random.default_rng(0)

    def r(*shape: int) -> Any:
        return m.tensor(rng.standard_normal(shape))

    F = m.nn.functional
    x, w = r(2, 8, 5, 5), r(4, 8, 3, 3)
    return {
        "plain": F.conv2d(x, w, padding=1),
        "input": F.conv2d(_cl(m, x), w),
        "weight": F.conv2d(x, _cl(m, w), padding=1),
        "both": F.conv2d(_cl(m, x), _cl(m, w), stride=2),
        "depthwise": F.conv2d(_cl(m, x), r(8, 1, 3, 3), groups=8),
        "pointwise": F.conv2d(_cl(m, x), r(4, 8, 1, 1), r(4)),
        "pointwise weight only": F.conv2d(x, _cl(m, r(4, 8, 1, 1))),
        "strided input": F.conv2d(_cl(m, x)[:, :, ::2], w, padding=1),
        "one image": F.conv2d(_cl(m, x[:1]), w),
        "one channel": F.conv2d(_cl(m, r(2, 1, 5, 5)), r(3, 1, 3, 3)),
        "transposed": F.conv_transpose2d(_cl(m, x), r(8, 3, 2, 2), r(3), stride=2),
        "transposed weight": F.conv_transpose2d(x, _cl(m, r(8, 3, 3, 3)), padding=1),
        "module": m.nn.Conv2d(8, 4, 3).double().to(memory_format=m.channels_last)(x),
        "transposed module": _cl(m, m.nn.ConvTranspose2d(8, 2, 2, stride=2).double())(x),
    }


def test_convolution_results_are_channels_last_as_torch() -> None:
    want, got = _conv_cases(torch), _conv_cases(chainrule)
    for name, y in want.items():
        cl = y.is_contiguous(memory_format=torch.channels_last)
        assert got[name].is_contiguous(memory_format=chainrule.channels_last) == cl, name
        if cl and not y.is_contiguous():  # the channels-last strides themselves
            assert got[name].stride() == y.stride(), name
    for name in ("input", "weight", "one channel", "transposed", "module"):
        assert want[name].is_contiguous(memory_format=torch.channels_last), name


def test_channels_last_convolution_values_and_grads_match_contiguous() -> None:
    rng = np.random.default_rng(1)
    xs, ws = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((5, 3, 3, 3))
    results = []
    for fmt in (chainrule.contiguous_format, chainrule.channels_last):
        x = chainrule.tensor(xs).to(memory_format=fmt).requires_grad_(True)
        w = chainrule.tensor(ws).to(memory_format=fmt).requires_grad_(True)
        y = chainrule.nn.functional.conv2d(x, w, padding=1)
        assert y.is_contiguous(memory_format=fmt) or fmt is chainrule.contiguous_format
        (y * y).sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_conv1d_and_unbatched_results_are_unchanged() -> None:
    rng = np.random.default_rng(2)
    for m in BOTH:
        x = m.tensor(rng.standard_normal((2, 5, 8))).transpose(1, 2)
        y = m.nn.functional.conv1d(x, m.tensor(rng.standard_normal((4, 8, 3))))
        assert y.is_contiguous() or m is chainrule
        img = _cl(m, m.tensor(rng.standard_normal((1, 3, 4, 4))))[0]
        out = m.nn.functional.conv2d(img, m.tensor(rng.standard_normal((2, 3, 3, 3))))
        assert tuple(out.shape) == (2, 2, 2)


# --------------------------------------------------- channels-last strides of size-1 dims
SHAPES = [(2, 1, 4, 4), (2, 8, 1, 1), (1, 3, 1, 1), (2, 3, 1, 5), (1, 1, 1, 1), (2, 3, 4, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_new_channels_last_tensors_have_torch_strides(shape: tuple) -> None:
    def strides(m: Any) -> list:
        x = m.zeros(*shape)
        fmt = m.channels_last
        return [
            x.to(memory_format=fmt).stride(),
            x.contiguous(memory_format=fmt).stride(),  # already dense: returned as is
            m.empty(*shape, memory_format=fmt).stride(),
            x.clone(memory_format=fmt).stride(),
            m.empty_like(x, memory_format=fmt).stride(),
            m.zeros(*shape).to(memory_format=fmt).to(memory_format=m.contiguous_format).stride(),
            x.to(memory_format=fmt).clone(memory_format=m.contiguous_format).stride(),
        ]

    assert strides(chainrule) == strides(torch)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_module_to_channels_last_restrides_one_channel_weights(m: Any) -> None:
    conv = m.nn.Conv2d(1, 4, 3).to(memory_format=m.channels_last)
    assert conv.weight.stride() == (9, 1, 3, 1)
    images = m.zeros(2, 1, 6, 6).to(memory_format=m.channels_last)
    assert images.stride() == (36, 1, 6, 1)
    out = conv(images)
    assert out.is_contiguous(memory_format=m.channels_last) and not out.is_contiguous()


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_to_channels_last_keeps_a_channels_last_slice(m: Any) -> None:
    x = m.arange(120.0).reshape(2, 3, 4, 5).to(memory_format=m.channels_last)[:, :, ::2]
    y = x.to(memory_format=m.channels_last)
    assert y.data_ptr() == x.data_ptr() and y.stride() == (60, 1, 30, 3)
    dense = x.contiguous(memory_format=m.channels_last)
    assert dense.stride() == (30, 1, 15, 3) and dense.tolist() == x.tolist()
    z = m.zeros(2, 1, 4, 5)
    assert z.to(memory_format=m.channels_last).data_ptr() != z.data_ptr()
    assert z.contiguous(memory_format=m.channels_last).data_ptr() == z.data_ptr()


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_channels_last_round_trips_keep_values_and_gradients(m: Any) -> None:
    x = m.arange(40.0, dtype=m.float64).reshape(2, 1, 4, 5).requires_grad_(True)
    y = x.to(memory_format=m.channels_last)
    assert y.stride() == (20, 1, 5, 1) and y.tolist() == x.tolist()
    (y * m.arange(40.0, dtype=m.float64).reshape(2, 1, 4, 5)).sum().backward()
    assert x.grad.flatten().tolist() == list(range(40))
    c = y.to(memory_format=m.contiguous_format)
    assert c.stride() == (20, 20, 5, 1)
