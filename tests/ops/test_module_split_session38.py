"""Session 38 split four long modules (``ops/binary.py``, ``ops/unary.py``, ``ops/views.py``,
``nn/functional/interpolate.py``) by responsibility. Every name keeps working from its old
module (code and tests import from there) and is the very object of its new home, so
``chainrule.<op>``, ``Tensor.<op>`` and the old import paths all reach one function."""

from __future__ import annotations

import importlib

import pytest

import chainrule as cr

_MOVED = [  # (old module, new module, names)
    (
        "chainrule.ops.binary",
        "chainrule.ops.pairwise_extremes",
        ["maximum", "minimum", "logaddexp", "Maximum", "Minimum", "LogAddExp"],
    ),
    ("chainrule.ops.binary", "chainrule.ops.binary_call", ["_call"]),
    (
        "chainrule.ops.unary",
        "chainrule.ops.unary_activations",
        ["tanh", "sigmoid", "relu", "softplus", "Tanh", "Sigmoid", "Relu", "Softplus"],
    ),
    ("chainrule.ops.unary", "chainrule.ops.unary_inputs", ["_float", "_no_complex"]),
    (
        "chainrule.ops.views",
        "chainrule.ops.broadcasting",
        ["BroadcastTo", "SumTo", "broadcast_to", "expand", "expand_as", "sum_to", "sum_to_size"],
    ),
    ("chainrule.ops.views", "chainrule.ops.view_sizes", ["_shape_arg", "_resolve_shape"]),
    ("chainrule.ops.views", "chainrule.ops.dtype_views", ["_is_dtype", "_view_dtype"]),
    (
        "chainrule.nn.functional.interpolate",
        "chainrule.nn.functional._interpolate_taps",
        ["_linear_taps", "_cubic_taps", "_antialias_taps", "_nearest_index", "_int_weights"],
    ),
    (
        "chainrule.nn.functional.interpolate",
        "chainrule.nn.functional._interpolate_checks",
        ["_check_args", "_check_mode", "_geometry"],  # (_refuse_tensor_scale: session 41's
        # _refuse_kernel_types, called inside _geometry)
    ),
]


@pytest.mark.parametrize("old,new,names", _MOVED, ids=lambda v: v if isinstance(v, str) else "")
def test_old_module_names_are_the_new_homes_objects(old, new, names):
    old_mod, new_mod = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(old_mod, name) is getattr(new_mod, name), name
        assert getattr(new_mod, name).__module__ == new, name


@pytest.mark.parametrize("name", ["maximum", "logaddexp", "sigmoid", "relu", "expand"])
def test_public_op_is_the_moved_function(name):
    """``cr.<name>`` is the function itself (no wrapper added by the move) and the method
    is bound (``x.<name>``)."""
    home = {
        "maximum": "pairwise_extremes",
        "logaddexp": "pairwise_extremes",
        "sigmoid": "unary_activations",
        "relu": "unary_activations",
        "expand": "broadcasting",
    }[name]
    fn = getattr(importlib.import_module(f"chainrule.ops.{home}"), name)
    assert getattr(cr, name) is fn or getattr(cr, name).__wrapped__ is fn
    assert callable(getattr(cr.randn(2), name))
