"""Session 42 of the nn-module fuzzer (seeds 50-; the parametrization, serialization and
clipping check of :mod:`.utils_s42` is new: ``spectral_norm`` and ``orthogonal``
parametrizations, a ``save``/``load`` round trip, ``to_empty``, ``clip_grad_value_`` /
``clip_grad_norm_``, a global forward hook): cases pinned, checked against torch by
:func:`.utils_s42.check_utils_s42`, and the check shown not vacuous."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .case import Case
from .utils_s42 import check_utils_s42, observe_utils_s42

__all__: list[str] = []

_CASES = {
    "linear": Case("Linear", (3, 2), (), (("f", (4, 3)),)),
    "linear_wide": Case("Linear", (2, 4), (), (("f", (3, 2)),)),
    "conv1d": Case("Conv1d", (2, 3, 2), (), (("f", (1, 2, 5)),)),
    "conv_transpose": Case("ConvTranspose2d", (2, 3, 2), (), (("f", (1, 2, 3, 3)),)),
    "batch_norm": Case("BatchNorm1d", (3,), (), (("f", (4, 3, 2)),)),
    "embedding": Case("Embedding", (5, 3), (), (("i", (2, 3), 0, 5),)),
    "bilinear": Case("Bilinear", (2, 3, 2), (), (("f", (4, 2)), ("f", (4, 3)))),
    "gru": Case("GRU", (3, 2), (), (("f", (2, 1, 3)),)),
    "transformer_layer": Case(
        "TransformerEncoderLayer",
        (4, 2),
        (("dim_feedforward", 3), ("dropout", 0.0)),
        (("f", (2, 2, 4)),),
    ),  # fmt: skip
    "lazy_linear": Case("LazyLinear", (2,), (), (("f", (2, 3)),)),
    "relu_no_params": Case("ReLU", (), (), (("f", (2, 3)),)),
}


@pytest.mark.parametrize("seed", range(6))  # orthogonal's three maps, with/without trivialization
@pytest.mark.parametrize("name", _CASES)
def test_parametrizations_and_serialization_agree(name, seed):
    base = _CASES[name]
    case = Case(base.name, base.args, base.kwargs, base.inputs, False, seed, False, True)
    assert check_utils_s42(case) == []


def test_the_check_is_not_vacuous():
    # a Linear goes through every stage: the trace holds each one's values
    case = Case("Linear", (3, 2), (), (("f", (4, 3)),), False, 1, False, True)
    stages = [entry[0] for entry in observe_utils_s42(torch, case)]
    for stage in ("global hooked", "global calls", "sn keys", "sn train", "sn eval", "orth",
                  "orth removed", "loaded keys", "after load", "to_empty loaded",
                  "clipped value", "clip norm"):  # fmt: skip
        assert stage in stages


@pytest.mark.parametrize("training", [True, False])
def test_spectral_norm_on_a_module_in_eval_mode_runs_no_power_iteration_at_registration(
    training,
):
    # found (seed 50 smoke): torch's register_parametrization sets the parametrization to
    # the host's mode before its first (checking) call; chainrule's called it in training
    # mode, so a spectral_norm registered on a module in eval mode ran one power iteration
    # more (its _u/_v and every later output off by up to 1e-3)
    w = np.random.default_rng(0).standard_normal((2, 3))
    seen = []
    for lib in (torch, cr):
        m = lib.nn.Linear(3, 2, bias=False).double()
        with lib.no_grad():
            m.weight.copy_(lib.tensor(w))
        m.train(training)
        lib.manual_seed(2)
        lib.nn.utils.parametrizations.spectral_norm(m)
        sn = m.parametrizations.weight[0]
        seen.append((sn._u.numpy().copy(), sn._v.numpy().copy(), sn.training))
    np.testing.assert_allclose(seen[1][0], seen[0][0], rtol=1e-12)
    np.testing.assert_allclose(seen[1][1], seen[0][1], rtol=1e-12)
    assert seen[1][2] == seen[0][2] == training
