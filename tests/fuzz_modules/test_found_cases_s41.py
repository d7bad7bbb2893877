"""Session 41 of the nn-module fuzzer (seeds 47-; the functional and hook check of
:mod:`.utils_s41` is new: ``func.functional_call``, ``stack_module_state`` + ``vmap``
ensembles, state_dict hooks, forward hooks with kwargs/prepend/always_call, a full backward
pre-hook, the old ``weight_norm``): cases pinned, checked against torch by
:func:`.utils_s41.check_utils_s41`, the bugs it found pinned, and the check shown not
vacuous."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import chainrule as cr

from .case import Case
from .programs import check
from .utils_s41 import check_utils_s41, observe_utils_s41

__all__: list[str] = []

_CASES = {
    "linear": Case("Linear", (3, 2), (), (("f", (4, 3)),)),
    "conv1d": Case("Conv1d", (2, 3, 2), (), (("f", (1, 2, 5)),)),
    # found: batch norm in eval mode under vmap read its batched running statistics' raw
    # arrays ("vmap: an operation computed on the raw array of a batched tensor ('reshape')";
    # an input of more than 2 dims)
    "batch_norm": Case("BatchNorm1d", (3,), (), (("f", (4, 3, 2)),)),
    "sync_batch_norm": Case("SyncBatchNorm", (2,), (("affine", True),), (("f", (3, 2, 3)),)),
    "batch_norm2d_no_affine": Case(
        "BatchNorm2d", (2,), (("affine", False),), (("f", (2, 2, 2, 2)),)
    ),  # fmt: skip
    # found: attention under vmap asked the batched q/k/v for their strides (whether torch
    # would pick its flash kernel)
    "transformer_layer": Case(
        "TransformerEncoderLayer",
        (4, 2),
        (("dim_feedforward", 3), ("dropout", 0.0)),
        (("f", (2, 2, 4)),),
    ),  # fmt: skip
    "multihead_attention": Case(
        "MultiheadAttention", (4, 2), (), (("f", (2, 1, 4)), ("f", (3, 1, 4)), ("f", (3, 1, 4)))
    ),
    "embedding": Case("Embedding", (5, 3), (), (("i", (2, 3), 0, 5),)),
    "layer_norm": Case("LayerNorm", (3,), (), (("f", (2, 3)),)),
    "lazy_linear": Case("LazyLinear", (2,), (), (("f", (2, 3)),)),
    "relu_no_params": Case("ReLU", (), (), (("f", (2, 3)),)),
}


@pytest.mark.parametrize("seed", range(3))  # the old weight_norm's dims 0, None, -1
@pytest.mark.parametrize("name", _CASES)
def test_functional_and_hooks_agree(name, seed):
    base = _CASES[name]
    case = Case(base.name, base.args, base.kwargs, base.inputs, False, seed, False, True)
    assert check_utils_s41(case) == []


def test_functional_and_hook_check_is_not_vacuous():
    case = Case("Linear", (3, 2), (), (("f", (4, 3)),), False, 0, False, True)
    trace = dict((e[0], e[1:]) for e in observe_utils_s41(torch, case))
    assert trace["fcall strict"] == ("RuntimeError",)
    assert trace["stacked"][0] == [("bias", (2, 2)), ("weight", (2, 2, 3))]
    assert len(trace["ensemble"][0]) == 1 and trace["ensemble"][0][0].shape == (2, 4, 2)
    assert trace["loaded"] == (["weight"], [])
    calls = [c[0] for c in trace["state hook calls"][0]]
    assert calls == ["pre", "post", "load pre", "load post"]
    order = trace["hook order"][0]
    assert order[1:4] == ["prepended", "first", ("always", [])] and order[-1][0] == "back pre"
    assert trace["old wn params"] == (["bias", "weight_g", "weight_v"],)


def _ensemble(lib, m, x):
    m2 = copy.deepcopy(m)
    with lib.no_grad():
        for b in m2.buffers():
            if b.is_floating_point():
                b.add_(0.5)
    params, buffers = lib.func.stack_module_state([m, m2])
    return lib.vmap(lambda p, b: lib.func.functional_call(m, (p, b), (x,)))(params, buffers)


def test_batch_norm_eval_under_vmap_matches_torch():
    x = np.random.default_rng(0).standard_normal((4, 3, 2))  # (3-d: the statistics reshaped)
    outs = []
    for lib in (torch, cr):
        m = lib.nn.BatchNorm1d(3).double().eval()
        with lib.no_grad():
            m.running_mean.copy_(lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64))
            m.running_var.copy_(lib.tensor([0.5, 1.5, 2.0], dtype=lib.float64))
            m.weight.copy_(lib.tensor([1.5, -1.0, 0.5], dtype=lib.float64))
        outs.append(np.array(_ensemble(lib, m, lib.tensor(x)).tolist()))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12, atol=1e-12)


def test_view_under_vmap():
    out = cr.vmap(lambda w: w.view(4))(cr.ones(3, 2, 2))
    assert tuple(out.shape) == (3, 4)


def test_embedding_max_norm_under_vmap():
    m = cr.nn.Embedding(4, 2, max_norm=1.0).double()
    out = _ensemble(cr, m, cr.tensor([0, 1, 3]))
    assert tuple(out.shape) == (2, 3, 2)


def test_embedding_bag_max_under_vmap():
    m = cr.nn.EmbeddingBag(4, 2, mode="max").double()
    out = _ensemble(cr, m, cr.tensor([[0, 1, 2], [3, 1, 0]]))
    assert tuple(out.shape) == (2, 2, 2)


def test_inplace_module_under_full_backward_hook_refused():
    m = cr.nn.ReLU(inplace=True)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    x = cr.ones(3, dtype=cr.float64, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="is a view and is being modified inplace"):
        m(x)


def test_seed_47_instance_norm_running_stats_of_the_wrong_size():
    # InstanceNorm2d([2], track_running_stats=True) on 3 channels: torch's batch norm over
    # the repeated statistics refuses them with a RuntimeError ("running_mean should contain
    # 3 elements not 2"); chainrule raised its own ValueError
    case = Case("InstanceNorm2d", ([2],), (("track_running_stats", True),),
                (("f", (1, 3, 2, 3)),), False, 0, False, False)  # fmt: skip
    assert check(case) == []
    m = cr.nn.InstanceNorm2d(2, track_running_stats=True).eval()
    with pytest.warns(UserWarning, match="does not match num_features"):  # (as torch's)
        with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 2"):
            m(cr.randn(1, 3, 2, 3))
