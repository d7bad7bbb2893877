"""Gaps found by the session-34 (batch h) drop-in programs (``poincare_embeddings_rsgd``,
``iwae_importance_weighted``, ``reptile_sine``, ``relation_network_fewshot``,
``cql_iql_offline_rl``, ``qmix_mixing_network``, ``deep_image_prior``,
``integral_pose_softargmax``, ``hierarchical_attention_network``, ``efficientdet_bifpn``,
``openai_evolution_strategies``, ``depth_estimation_losses``), each checked against PyTorch:

- ``ctx.saved_variables`` (PyTorch's deprecated name of ``saved_tensors``, which EfficientNet's
  ``SwishImplementation`` reads in its backward) was missing: an ``AttributeError``. It now gives
  the saved tensors with PyTorch's ``DeprecationWarning``, and raises PyTorch's error once the
  graph was freed.
- ``PackedSequence`` lacked ``half``/``long``/``int``/``short``/``char``/``byte``, ``cuda``,
  ``is_pinned`` and ``pin_memory`` (PyTorch's ``PackedSequence`` has them all; a packed batch of
  token ids is cast with ``.long()``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
DEPRECATED = "'saved_variables' is deprecated; use 'saved_tensors'"


def _swish(m: Any) -> Any:
    class SwishImplementation(m.autograd.Function):
        @staticmethod
        def forward(ctx: Any, i: Any) -> Any:
            ctx.save_for_backward(i)
            return i * m.sigmoid(i)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            i = ctx.saved_variables[0]
            sigmoid_i = m.sigmoid(i)
            return grad_output * (sigmoid_i * (1 + i * (1 - sigmoid_i)))

    return SwishImplementation


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_saved_variables_gives_the_saved_tensors_with_a_deprecation_warning(m: Any) -> None:
    x = m.tensor([-1.5, 0.0, 2.0], dtype=m.float64, requires_grad=True)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        _swish(m).apply(x).sum().backward()
    sig = 1 / (1 + np.exp(-x.detach().numpy()))
    want = sig * (1 + x.detach().numpy() * (1 - sig))
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_saved_variables_on_the_graph_node(m: Any) -> None:
    x = m.ones(2, requires_grad=True)
    y = _swish(m).apply(x)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        saved = y.grad_fn.saved_variables
    assert isinstance(saved, tuple) and len(saved) == 1
    assert saved[0].tolist() == [1.0, 1.0]
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        y.sum().backward()
    with pytest.warns(DeprecationWarning, match=DEPRECATED):  # freed: PyTorch's error
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.grad_fn.saved_variables  # noqa: B018


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_saved_variables_double_backward(m: Any) -> None:
    """The tensors ``saved_variables`` returns are connected to the graph (as ``saved_tensors``'s
    are), so a backward written with them is differentiable."""
    x = m.tensor([0.5, -1.0], dtype=m.float64, requires_grad=True)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        (g,) = m.autograd.grad(_swish(m).apply(x).sum(), x, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x)
    xs = x.detach().numpy()
    s = 1 / (1 + np.exp(-xs))
    want = s * (1 - s) * (2 + xs * (1 - 2 * s))  # d/dx of swish'(x)
    np.testing.assert_allclose(gg.numpy(), want, rtol=1e-12)


def _packed(m: Any) -> Any:
    return m.nn.utils.rnn.pack_padded_sequence(
        m.arange(6.0).view(2, 3, 1), [1, 3], batch_first=True, enforce_sorted=False
    )


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
@pytest.mark.parametrize(
    "method, dtype",
    [
        ("half", "float16"),
        ("long", "int64"),
        ("int", "int32"),
        ("short", "int16"),
        ("char", "int8"),
        ("byte", "uint8"),
        ("double", "float64"),
        ("float", "float32"),
    ],
)
def test_packed_sequence_casts(m: Any, method: str, dtype: str) -> None:
    pk = _packed(m)
    out = getattr(pk, method)()
    assert isinstance(out, m.nn.utils.rnn.PackedSequence)
    assert out.data.dtype == getattr(m, dtype)
    assert out.data.tolist() == [[3], [0], [4], [5]]
    assert out.batch_sizes.tolist() == [2, 1, 1]
    assert out.sorted_indices.tolist() == [1, 0] and out.unsorted_indices.tolist() == [1, 0]
    assert out.sorted_indices.dtype == m.int64  # the index tensors are not cast


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_packed_sequence_memory_and_device(m: Any) -> None:
    pk = _packed(m)
    assert pk.is_pinned() is False and pk.is_cuda is False
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        pk.pin_memory()
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        pk.cuda()
