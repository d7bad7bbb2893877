"""Gaps found by the session-32 (batch i) drop-in programs (``dreamerv3_twohot_unimix``,
``yolov8_tal_dfl_loss``, ``esm2_rotary_contacts``, ``learning_to_rank_losses``,
``convmixer_onecycle_mixup``, ``sam2_mask_decoder_losses``, ``blip2_qformer_itc_itm``), each
checked against PyTorch.

Six programs matched PyTorch as first written (probing the APIs around them: bucketize /
searchsorted, quantile, one-hot distributions and their KL, topk / scatter_add_ on int8,
unique, softmax with ``dtype=``, ``keepdims=``, list-of-tuples indexing, ``padding="same"``,
label smoothing, OneCycleLR, multinomial, fill_diagonal_, scaled_dot_product_attention, found
no other difference). The BLIP-2 Q-Former found one:

- ``load_state_dict`` into a buffer registered as an ``expand``ed view (HF BERT's and LAVIS's
  ``register_buffer("position_ids", torch.arange(n).expand((1, -1)))``) failed with
  "assignment destination is read-only": the copy wrote into NumPy's read-only broadcast view
  instead of going through the writable alias ``copy_`` uses. Its elements each have their own
  memory, so PyTorch copies into it (and into the arange it views); a buffer whose elements
  share memory (``expand((2, -1))``) is PyTorch's RuntimeError inside the load error, as here.

Probing DreamerV3's ``torch.quantile`` return normalisation found another:

- ``quantile`` / ``nanquantile`` over more than 2**24 elements along the reduced dim (the whole
  flattened input when ``dim`` is None) computed; PyTorch raises RuntimeError ("quantile()
  input tensor is too large"), so code that works around the limit (sub-sampling a large
  replay buffer first) is the code that runs on both. A larger tensor reduced along a shorter
  dim is fine in both.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


def _with_buffer(m: Any, buffer: Any) -> Any:
    class WithPositions(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("position_ids", buffer)

    return WithPositions()


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_load_state_dict_into_an_expanded_buffer(m: Any) -> None:
    base = m.arange(6)
    module = _with_buffer(m, base.expand((1, -1)))
    result = module.load_state_dict({"position_ids": m.arange(6).view(1, 6) * 2})
    assert not result.missing_keys and not result.unexpected_keys
    assert module.position_ids.tolist() == [[0, 2, 4, 6, 8, 10]]
    assert base.tolist() == [0, 2, 4, 6, 8, 10]  # written through to the arange it views
    # a deep copy (its own memory, same layout) and a float buffer cast on load
    twin = copy.deepcopy(module)
    twin.load_state_dict({"position_ids": m.arange(6).view(1, 6) + 1})
    assert twin.position_ids.tolist() == [[1, 2, 3, 4, 5, 6]]
    assert module.position_ids.tolist() == [[0, 2, 4, 6, 8, 10]]
    floats = _with_buffer(m, m.zeros(3, dtype=m.float32).expand(1, 3))
    floats.load_state_dict({"position_ids": m.tensor([[0.5, 1.5, 2.5]], dtype=m.float64)})
    assert floats.position_ids.dtype == m.float32
    assert floats.position_ids.tolist() == [[0.5, 1.5, 2.5]]


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_load_state_dict_into_an_expanded_parameter(m: Any) -> None:
    class WithWeight(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = m.nn.Parameter(m.ones(3).expand(1, 3))

    module = WithWeight()
    module.load_state_dict({"w": m.tensor([[1.0, 2.0, 3.0]])})
    assert module.w.tolist() == [[1.0, 2.0, 3.0]] and module.w.requires_grad


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_load_state_dict_into_a_buffer_sharing_memory_raises(m: Any) -> None:
    module = _with_buffer(m, m.arange(5).expand((2, -1)))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        module.load_state_dict({"position_ids": m.ones(2, 5, dtype=m.long)})
    assert module.position_ids.tolist() == [[0, 1, 2, 3, 4]] * 2


def test_bert_position_ids_round_trip_between_frameworks() -> None:
    """The drop-in path: torch's state dict (NumPy arrays) into chainrule's BERT embeddings."""
    state = _with_buffer(torch, torch.arange(8).expand((1, -1))).state_dict()
    module = _with_buffer(chainrule, chainrule.arange(8).expand((1, -1)))
    module.load_state_dict({k: chainrule.tensor(v.numpy()) for k, v in state.items()})
    np.testing.assert_array_equal(np.asarray(module.position_ids.tolist()), [list(range(8))])
    assert module.position_ids[:, 2:5].clone().tolist() == [[2, 3, 4]]


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_quantile_refuses_more_than_2_to_the_24_elements(m: Any) -> None:
    # (PyTorch sorts before it checks: about a second a call, so two calls)
    big = m.zeros(2**24 + 1)
    with pytest.raises(RuntimeError, match="quantile\\(\\) input tensor is too large"):
        m.quantile(big, 0.5)
    with pytest.raises(RuntimeError, match="quantile\\(\\) input tensor is too large"):
        big.view(1, -1).nanquantile(m.tensor([0.25, 0.75]), dim=1, keepdim=True)
    # a short reduced dim of a large tensor is fine; emptiness is checked first
    assert m.quantile(big.view(-1, 1)[:5], 0.5, dim=0).shape == (1,)
    with pytest.raises(RuntimeError, match="must be non-empty"):
        m.quantile(m.zeros(2**24 + 1, 0), 0.5, dim=0)
