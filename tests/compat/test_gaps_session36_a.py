"""Gaps found by the session-36 (batch a) drop-in programs (``adain_style_transfer``,
``spade_denorm``, ``nafnet_simplegate``, ``restormer_mdta_gdfn``, ``pspnet_pyramid_pooling``,
``ssd_multibox_loss``, ``stargan_domain_gp``, ``biggan_cbn_ortho``, ``dncnn_residual``,
``fnet_fourier_mixing``, ``levit_attention_bias``, ``maxvit_block_grid``), each checked against
PyTorch.

The programs matched PyTorch as first written (the SSD matcher's ``index_fill_`` and
``index_fill_``-style masks among them); probing the APIs around them found:

- ``index_fill``/``index_fill_`` with an index of more than one dimension raised IndexError;
  PyTorch raises RuntimeError ("Index has to be a vector/scalar"), while ``index_add_``,
  ``index_copy_``, ``index_select`` and ``index_reduce_`` keep their IndexError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


def _error(fn: Callable[[], Any]) -> type[BaseException] | None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return type(e)
    return None


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
@pytest.mark.parametrize("inplace", [True, False])
@pytest.mark.parametrize("value", [5.0, "tensor"])
def test_index_fill_with_a_matrix_index_raises_runtime_error(
    m: Any, inplace: bool, value: Any
) -> None:
    x = m.zeros(4, 3)
    fill = m.tensor(2.0) if value == "tensor" else value
    op = x.index_fill_ if inplace else x.index_fill
    with pytest.raises(RuntimeError):
        op(0, m.tensor([[1, 2]]), fill)
    with pytest.raises(RuntimeError):
        m.index_fill(x, 1, m.tensor([[0], [1]]), fill)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_index_fill_vector_and_scalar_indices_still_fill(m: Any) -> None:
    x = m.zeros(4, 3)
    a = x.index_fill(0, m.tensor([1, -1]), 2.0)
    b = x.index_fill(1, m.tensor(0), m.tensor(3.0))
    assert a.sum().item() == 12.0 and a[1].tolist() == [2.0, 2.0, 2.0]
    assert b[:, 0].tolist() == [3.0] * 4 and b.sum().item() == 12.0


def test_matrix_index_error_types_match_torch_per_op() -> None:
    """index_fill raises RuntimeError, the other dim-wise index ops IndexError, in both."""

    def ops(m: Any) -> dict[str, Callable[[], Any]]:
        idx = m.tensor([[1]])
        return {
            "index_fill": lambda: m.zeros(4).index_fill(0, idx, 1.0),
            "index_add_": lambda: m.zeros(4).index_add_(0, idx, m.ones(1, 1)),
            "index_copy_": lambda: m.zeros(4).index_copy_(0, idx, m.ones(1)),
            "index_select": lambda: m.zeros(4).index_select(0, idx),
            "index_reduce_": lambda: m.zeros(4).index_reduce_(0, idx, m.ones(1), "prod"),
        }

    want = {name: _error(fn) for name, fn in ops(torch).items()}
    got = {name: _error(fn) for name, fn in ops(chainrule).items()}
    for name in want:
        assert want[name] is not None and got[name] is not None, name
        for base in (RuntimeError, IndexError):
            assert issubclass(got[name], base) == issubclass(want[name], base), (
                name,
                want[name],
                got[name],
            )


def test_index_fill_matrix_index_values_unchanged_after_refusal() -> None:
    """The refused in-place fill leaves the tensor as it was (both frameworks)."""
    for m in BOTH:
        x = m.tensor(np.arange(6.0).reshape(2, 3))
        with pytest.raises(RuntimeError):
            x.index_fill_(1, m.tensor([[0, 1]]), -1.0)
        assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
