"""Session 37 of the nn-module fuzzer (seeds 27-31; the life-cycle check of
:mod:`.lifecycle` is new): the bugs found, one minimal case each, run on torch and chainrule
through :func:`.programs.check`, and life-cycle cases pinned (train/eval, a state_dict round
trip, hooks), among them the known differences the check steers around."""

from __future__ import annotations

import pytest

from .case import Case
from .programs import check

_IDX = (("i", (6,), 0, 2), ("ints", (0, 3, 5)))

FOUND = {
    # a string output_size: PyTorch's parser refuses it (TypeError), chainrule took its
    # length (RuntimeError "output_size must be 2") or int() of its characters (ValueError)
    "adaptive_avg_pool2d_str_size": Case("AdaptiveAvgPool2d", ("x",), (), (("f", (1, 2, 5, 1)),)),
    "adaptive_max_pool2d_str_pair": Case(
        "AdaptiveMaxPool2d", (("x", 2),), (), (("f", (1, 2, 5, 1)),)
    ),
    "adaptive_avg_pool3d_float_entry": Case(
        "AdaptiveAvgPool3d", ((2.5, 1, 1),), (), (("f", (1, 2, 5, 1, 1)),)
    ),
    # a bool padding_idx: PyTorch's weight[True].fill_(0) fills a copy (the weight keeps its
    # drawn values; chainrule zeroed every row) and its forward's parser refuses the bool
    "embedding_bag_bool_padding_idx": Case(
        "EmbeddingBag", (2, 3), (("padding_idx", True),), _IDX, False
    ),
    "embedding_bool_padding_idx": Case(
        "Embedding", (2, 3), (("padding_idx", True),), (("i", (6,), 0, 2),)
    ),
    # a NaN num_embeddings passes PyTorch's padding_idx checks as written (padding_idx <
    # -num is False), which then fails making the weight (TypeError); chainrule's negated
    # checks refused the padding_idx first
    "embedding_bag_nan_size_negative_padding": Case(
        "EmbeddingBag", (float("nan"), 2), (("padding_idx", -1),), (("i", (2, 1), 0, 1),), False
    ),
    # separate key/value projections whose input sizes do not match kdim/vdim: PyTorch's
    # _in_projection asserts the weight shapes (AssertionError), chainrule's linear raised
    # its ShapeError
    "multihead_attention_vdim_mismatch": Case(
        "MultiheadAttention",
        (4, 2),
        (("vdim", 1),),
        (("f", (1, 1, 4)), ("f", (1, 1, 1)), ("f", (1, 1, 1))),
        False,
    ),
    # a kernel_size tuple of the wrong length: PyTorch's avg_pool1d refuses its length
    # (RuntimeError) before anything else, chainrule's lp_pool1d raised a TypeError
    "lp_pool1d_empty_kernel_tuple": Case("LPPool1d", (1, ()), (), (("pos", (2, 2, 5), True),)),
    "lp_pool1d_pair_kernel": Case("LPPool1d", (1, (1, 2)), (), (("pos", (2, 2, 5), True),)),
}

LIFE = {
    "batch_norm_running_stats": Case("BatchNorm1d", (3,), (), (("f", (4, 3)),), True, 1, True),
    "dropout_train_then_eval": Case("Dropout", (0.5,), (), (("f", (3, 4)),), True, 2, True),
    "linear_hooks_and_reload": Case("Linear", (3, 2), (), (("f", (2, 3)),), True, 3, True),
    "lstm_tuple_output": Case("LSTM", (3, 2), (), (("f", (4, 1, 3)),), True, 4, True),
    "embedding_bag_bool_padding_idx": Case(
        "EmbeddingBag", (2, 3), (("padding_idx", True),), _IDX, True, 0, True
    ),
    # steered around: a lazy module without parameters loaded from a state_dict keeps
    # num_features=0 in PyTorch (its forward then fails); the second module is called first
    "lazy_instance_norm": Case("LazyInstanceNorm1d", (), (), (("f", (2, 1, 3)),), False, 0, True),
    # known difference (empty output): PyTorch's backward fails, chainrule's gives zeros
    "max_unpool_kernel_0": Case(
        "MaxUnpool2d",
        (0,),
        (),
        (("f", (1, 2, 2, 1)), ("unpool", (1, 2, 2, 1), 2, 2)),
        False,
        0,
        True,
    ),
}


@pytest.mark.parametrize("name", FOUND)
def test_found_case_agrees(name):
    assert check(FOUND[name]) == []


@pytest.mark.parametrize("name", LIFE)
def test_life_cycle_agrees(name):
    assert check(LIFE[name]) == []
