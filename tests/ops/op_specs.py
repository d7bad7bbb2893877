"""The central table of differentiable op specs that drives tests/ops/test_ops.py (and
test_bad_inputs.py, test_inplace_after_forward.py, test_extreme_values.py,
test_cuda_op_specs.py).

Layout (session 35; the table used to be this one file):

- ``op_specs_core.py``: the machinery -- :class:`OpSpec` (its docstring lists the checks),
  :class:`BadInput`, ``make_inputs`` and the helpers spec files share (``lib``, ``nnf``,
  ``const``, ``_unary``, ``_binary``, ...). They are re-exported here, so
  ``from .op_specs import OpSpec, lib`` keeps working for every spec file.
- the family files, one ``SPECS`` list each: ``op_specs_pointwise.py``,
  ``op_specs_reductions.py``, ``op_specs_linalg.py``, ``op_specs_shape.py``,
  ``op_specs_indexing.py``, ``op_specs_nn.py``;
- the other ``op_specs_*.py`` files (one per op module or session), registered below.

``SPECS`` is the families' lists followed by the registered files' lists; ``cases()`` gives
the (spec, shapes, id) triples for ``pytest.mark.parametrize``. To register a new file:
import it in the second import block and add it to ``_REGISTERED``.
"""

from __future__ import annotations

from . import (
    op_specs_indexing,
    op_specs_linalg,
    op_specs_nn,
    op_specs_pointwise,
    op_specs_reductions,
    op_specs_shape,
)
from .op_specs_core import (
    ALL,
    BCAST,
    NO_GG,
    NO_JVP,
    B,
    BadInput,
    OpSpec,
    _binary,
    _fit,
    _log_probs,
    _unary,
    bad_call,
    const,
    lib,
    make_inputs,
    nnf,
)

__all__ = [
    "ALL",
    "B",
    "BCAST",
    "NO_GG",
    "NO_JVP",
    "BadInput",
    "OpSpec",
    "SPECS",
    "_binary",
    "_fit",
    "_log_probs",
    "_unary",
    "bad_call",
    "cases",
    "const",
    "lib",
    "make_inputs",
    "nnf",
]

SPECS: list = [
    *op_specs_pointwise.SPECS,
    *op_specs_reductions.SPECS,
    *op_specs_linalg.SPECS,
    *op_specs_shape.SPECS,
    *op_specs_indexing.SPECS,
    *op_specs_nn.SPECS,
]


# specs kept in their own files (each module imports OpSpec and its helpers from here)
from . import (  # noqa: E402 - after the table's helpers, which those modules import
    op_specs_activation_extra,
    op_specs_chunk_cat,
    op_specs_complex,
    op_specs_complex_linalg,
    op_specs_conv3d,
    op_specs_ctc,
    op_specs_embedding_bag,
    op_specs_fake_quantize,
    op_specs_grid_sample,
    op_specs_index_put,
    op_specs_linalg_extras,
    op_specs_linalg_lowrank,
    op_specs_linalg_more,
    op_specs_loss_extra,
    op_specs_masked,
    op_specs_misc_more,
    op_specs_new_formats,
    op_specs_nn_more,
    op_specs_pointwise_more,
    op_specs_pool_extra,
    op_specs_rnn_functional,
    op_specs_root_session33,
    op_specs_session35_a,
    op_specs_slice_inverse,
    op_specs_sparse,
    op_specs_special_more,
    op_specs_stacking,
    op_specs_view_copies,
)

_REGISTERED = (
    op_specs_activation_extra,
    op_specs_conv3d,
    op_specs_ctc,
    op_specs_embedding_bag,
    op_specs_grid_sample,
    op_specs_loss_extra,
    op_specs_pool_extra,
    op_specs_linalg_more,
    op_specs_pointwise_more,
    op_specs_stacking,
    op_specs_nn_more,
    op_specs_index_put,
    op_specs_linalg_extras,
    op_specs_special_more,
    op_specs_misc_more,
    op_specs_rnn_functional,
    op_specs_linalg_lowrank,
    op_specs_new_formats,
    op_specs_sparse,
    op_specs_complex,
    op_specs_complex_linalg,
    op_specs_slice_inverse,
    op_specs_view_copies,
    op_specs_fake_quantize,
    op_specs_root_session33,
    op_specs_masked,
    op_specs_session35_a,
    op_specs_chunk_cat,
)
for _extra in _REGISTERED:
    SPECS += _extra.SPECS


def cases() -> list:
    """(spec, shapes) pairs with readable ids for pytest.mark.parametrize."""
    out = []
    for spec in SPECS:
        for k, shapes in enumerate(spec.shapes):
            out.append((spec, shapes, f"{spec.id}-{k}"))
    return out
