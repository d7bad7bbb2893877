"""Session 40 of the nn-module fuzzer (seeds 42-; the module-handling check of
:mod:`.utils_s40` is new: ``deepcopy``, ``requires_grad_``, ``apply``, names with a prefix,
``get_submodule``/``get_parameter``, ``state_dict(keep_vars=True)``, a non-persistent
buffer, ``load_state_dict(assign=True)``, dtype round trips, ``get_total_norm`` /
``clip_grads_with_norm_`` and the conv/linear-batchnorm fusions): cases pinned, checked
against torch by :func:`.utils_s40.check_utils_s40`, and the check shown not vacuous."""

from __future__ import annotations

import pytest
import torch

from .case import Case
from .utils_s40 import check_utils_s40, observe_utils_s40

__all__: list[str] = []

_CASES = {
    "linear": Case("Linear", (3, 2), (), (("f", (4, 3)),)),
    "linear_no_bias": Case("Linear", (3, 2), (("bias", False),), (("f", (2, 3)),)),
    "conv1d": Case("Conv1d", (2, 3, 2), (), (("f", (1, 2, 5)),)),
    "conv2d_padded": Case("Conv2d", (2, 3, 2), (("padding", 1),), (("f", (1, 2, 3, 3)),)),
    "batch_norm": Case("BatchNorm1d", (3,), (), (("f", (4, 3)),)),
    "lstm": Case("LSTM", (3, 2), (("num_layers", 2),), (("f", (4, 1, 3)),)),
    "lazy_linear": Case("LazyLinear", (2,), (), (("f", (2, 3)),)),
    # (seed 44: buffers read before the first call crashed the check in torch)
    "lazy_batch_norm_no_affine": Case(
        "LazyBatchNorm1d", (), (("affine", False),), (("f", (3, 2)),)
    ),
    "lazy_instance_norm3d": Case("LazyInstanceNorm3d", (), (), (("f", (2, 3, 2, 1, 2)),)),
    "relu_no_params": Case("ReLU", (), (), (("f", (2, 3)),)),
    "transformer_layer": Case(
        "TransformerEncoderLayer",
        (4, 2),
        (("dim_feedforward", 3), ("dropout", 0.0)),
        (("f", (2, 1, 4)),),
    ),  # fmt: skip
}


@pytest.mark.parametrize("seed", range(3))  # get_total_norm's norm types 2, 1, 3
@pytest.mark.parametrize("name", _CASES)
def test_module_handling_agrees(name, seed):
    base = _CASES[name]
    case = Case(base.name, base.args, base.kwargs, base.inputs, False, seed, False, True)
    assert check_utils_s40(case) == []


def test_module_handling_check_is_not_vacuous():
    case = Case("Conv2d", (2, 3, 2), (), (("f", (1, 2, 3, 3)),), False, 0, False, True)
    trace = dict((e[0], e[1:]) for e in observe_utils_s40(torch, case))
    assert trace["fused"] == ("Conv2d", False)
    assert trace["fused forward"][0] == [((1, 3, 2, 2), "float64")]
    assert trace["copy shares"] == ([False, False],)
    assert trace["non-persistent"] == (False, True)
    assert trace["assigned"] == (["weight", "bias"],) and trace["clipped"]
    assert trace["total norm"][0] > 0
