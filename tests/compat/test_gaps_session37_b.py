"""Gaps found by the session-37 (batch b) drop-in programs (``trl_ppo_value_head_kl``,
``mistral_rolling_kv_cache``, ``world_models_mdnrnn``, ``painn_schnetpack``,
``node_oblivious_trees``, ``meshgraphnets_cylinder``, ``torchsde_latent_sde``,
``svgp_inducing_points``, ``sbert_cosent_angle_cached_mnrl`` and the rest of the batch), each
checked against PyTorch.

- ``F.dropout`` / ``F.alpha_dropout`` drew their mask in row-major order whatever the input's
  layout. PyTorch's noise is ``empty_like(input)`` (the input's strides kept) filled in memory
  order, so a seeded dropout of a transposed or permuted tensor drops other elements than a
  row-major draw would: the dropout after ``x.t()``, ``x.transpose(1, 2)`` or a permuted
  attention output. (Found through a dropout after ``nn.MultiheadAttention(batch_first=True)``.)
- That very case, ``nn.TransformerEncoderLayer(batch_first=True)`` training with dropout,
  was open until session 38: the attention output's layout, (L, N, E) memory seen as
  (N, L, E), is the layout chainrule gives its own convolution results (channel-major), which
  dropout draws for row-major as PyTorch's contiguous convolution results. The producers now
  mark which is which (``chainrule/_layout_marks.py``; tests in
  ``tests/ops/test_result_layouts_session38.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _both(make: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray]:
    """``make(lib)`` under torch and chainrule from the same seed, as NumPy arrays."""
    out = []
    for lib in (torch, chainrule):
        lib.manual_seed(0)
        out.append(np.asarray(make(lib).detach().numpy()))
    return out[0], out[1]


LAYOUTS = {
    "transposed": lambda lib: lib.arange(12.0).reshape(3, 4).t(),
    "transpose12": lambda lib: lib.arange(24.0).reshape(2, 3, 4).transpose(1, 2),
    "permuted4d": lambda lib: lib.arange(120.0).reshape(2, 3, 4, 5).permute(0, 2, 3, 1),
    "sliced_permuted": lambda lib: lib.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1)[:, :, ::2],
    "expanded": lambda lib: lib.arange(3.0).reshape(3, 1).expand(3, 4),
    "contiguous": lambda lib: lib.arange(12.0).reshape(3, 4),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_mask_follows_memory_order(layout: str, p: float) -> None:
    want, got = _both(lambda lib: lib.nn.functional.dropout(LAYOUTS[layout](lib), p))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("layout", ["transposed", "permuted4d", "sliced_permuted"])
def test_alpha_dropout_mask_follows_memory_order(layout: str) -> None:
    want, got = _both(lambda lib: lib.nn.functional.alpha_dropout(LAYOUTS[layout](lib), 0.3, True))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_dropout_of_transposed_gradient_and_rng_state() -> None:
    """The gradient is the same mask scaled, and the generator moves on as PyTorch's."""
    grads, after = [], []
    for lib in (torch, chainrule):
        lib.manual_seed(3)
        x = lib.ones(4, 6, dtype=lib.float64, requires_grad=True)
        y = lib.nn.Dropout(0.4)(x.t() * 2.0)
        (y * lib.arange(24.0, dtype=lib.float64).reshape(6, 4)).sum().backward()
        grads.append(x.grad.numpy().copy())
        after.append(float(lib.rand(1)))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-15)
    assert after[0] == after[1]


def test_inplace_dropout_of_transposed_view() -> None:
    def make(lib: Any) -> Any:
        base = lib.arange(1.0, 13.0).reshape(3, 4)
        view = base.t()
        lib.nn.functional.dropout(view, 0.5, inplace=True)
        return base

    want, got = _both(make)
    np.testing.assert_array_equal(got, want)


def test_transformer_encoder_layer_batch_first_training_dropout() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 8))
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
    layer = layer.double()
    state = {k: v.detach().numpy().copy() for k, v in layer.state_dict().items()}
    ours = chainrule.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
    ours = ours.double()
    ours.load_state_dict({k: chainrule.tensor(v) for k, v in state.items()})
    torch.manual_seed(1)
    want = layer(torch.tensor(x)).detach().numpy()
    chainrule.manual_seed(1)
    got = ours(chainrule.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
