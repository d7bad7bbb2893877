"""Round 2 of the nn-module fuzzer's findings (session 36), one minimal case each, run on
torch and chainrule through :func:`.programs.check` (construction errors, parameters, repr,
state_dict, outputs, gradients). Most are odd-typed constructor arguments that PyTorch stores
and refuses when the module is called (its parser's TypeError), or takes as a truthy value."""

from __future__ import annotations

import numpy as np
import pytest

from .case import Case
from .programs import check

_X3 = (("f", (2, 3, 4)),)
_PAIR = (("f", (2, 3)), ("f", (2, 3)))

FOUND = {
    # a bool flag given another type: PyTorch's TypeError when called (chainrule computed
    # with its truthiness)
    "kl_div_log_target_none": Case("KLDivLoss", (), (("log_target", None),), _PAIR, False),
    "kl_div_log_target_float": Case("KLDivLoss", (), (("log_target", 2.5),), _PAIR, False),
    "poisson_full_none": Case(
        "PoissonNLLLoss", (), (("full", None), ("eps", 0.1)),
        (("f", (2, 2, 1)), ("pos", (2, 2, 1), False)), False,
    ),
    "triplet_swap_float": Case(
        "TripletMarginLoss", (), (("swap", 2.5),), (("f", (2, 1)),) * 3, False
    ),
    "pairwise_distance_keepdim_none": Case(
        "PairwiseDistance", (), (("keepdim", None),), _PAIR, False
    ),
    "embedding_scale_grad_by_freq_none": Case(
        "Embedding", (5, 3), (("scale_grad_by_freq", None),), (("i", (1, 3), 0, 5),), False
    ),
    "embedding_bag_include_last_offset_none": Case(
        "EmbeddingBag", (5, 3), (("include_last_offset", None), ("mode", "max")),
        (("i", (3,), 0, 5), ("ints", (0, 3))), False,
    ),
    "ctc_zero_infinity_float": Case(
        "CTCLoss", (), (("zero_infinity", 1e30),),
        (("logp", (5, 1, 2)), ("ints", ((1,),)), ("ints", (4,)), ("ints", (1,))), False,
    ),
    "max_pool3d_ceil_mode_int": Case(
        "MaxPool3d", ((3, 1, 2),), (("ceil_mode", -3),), (("f", (2, 1, 6, 3, 5)),), False
    ),
    "avg_pool3d_ceil_mode_nan": Case(
        "AvgPool3d", ((1, 2, 1),), (("ceil_mode", float("nan")),), (("f", (1, 1, 4, 5, 3)),),
        False,
    ),
    # an int given a float or a bool
    "cross_entropy_ignore_index_float": Case(
        "CrossEntropyLoss", (), (("ignore_index", 2.5),),
        (("f", (2, 4, 1, 2)), ("i", (2, 1, 2), 0, 4)), False,
    ),
    "cross_entropy_ignore_index_str": Case(
        "CrossEntropyLoss", (), (("ignore_index", "x"),),
        (("f", (2, 4)), ("i", (2,), 0, 4)), False,
    ),
    "flatten_start_dim_list": Case("Flatten", (), (("start_dim", [2]),), _X3, False),
    "flatten_start_dim_tuple": Case("Flatten", (), (("start_dim", ()),), _X3, False),
    "unflatten_dim_bool": Case("Unflatten", (True, (3, 1)), (), _X3, False),
    "cosine_similarity_dim_none": Case("CosineSimilarity", (), (("dim", None),), _PAIR, False),
    "glu_dim_bool": Case("GLU", (True,), (), (("f", (2, 4, 3)),), False),
    "local_response_norm_size_bool": Case("LocalResponseNorm", (True,), (), _X3, False),
    "fractional_max_pool3d_output_size_float": Case(
        "FractionalMaxPool3d", (1,), (("output_size", 1e30),), (("f", (1, 4, 3, 2)),), False
    ),
    "fractional_max_pool2d_kernel_list_of_one": Case(
        "FractionalMaxPool2d", ([2],), (("output_size", (2, 1)),), (("f", (1, 5, 5)),), False
    ),
    "lazy_linear_out_features_bool": Case("LazyLinear", (True,), (), (("f", (2,)),), False),
    "upsample_size_bool": Case(
        "Upsample", (), (("mode", "trilinear"), ("size", True)), (("f", (1, 1, 2, 3, 2)),), False
    ),
    # a float given a list, a string or NaN
    "margin_ranking_margin_list": Case(
        "MarginRankingLoss", (), (("margin", [2]),),
        (("f", (2,)), ("f", (2,)), ("sign", (2,))), False,
    ),
    "gaussian_nll_eps_list": Case(
        "GaussianNLLLoss", (), (("eps", [2]), ("reduction", "sum")),
        (("f", (1, 1, 2)), ("c", (1, 1, 2)), ("pos", (1, 1), True)), False,
    ),
    "huber_delta_str_at_construction": Case(
        "HuberLoss", (), (("delta", "x"),), (("f", (1, 1)), ("c", (1, 1))), False
    ),
    "huber_delta_nan": Case(
        "HuberLoss", (), (("delta", float("nan")),), (("f", ()), ("c", ())), False
    ),
    "layer_norm_eps_str": Case("LayerNorm", ((3, 4),), (("eps", "x"),), _X3, False),
    "group_norm_eps_str": Case("GroupNorm", (3, 3), (("eps", "x"),), _X3, False),
    "cosine_similarity_eps_nan": Case(
        "CosineSimilarity", (), (("eps", float("nan")),), _PAIR, False
    ),
    "pairwise_distance_p_str": Case("PairwiseDistance", (), (("p", "x"),), _PAIR, False),
    "constant_pad_value_str": Case("ConstantPad1d", (1, "x"), (), _X3, False),
    "leaky_relu_slope_list": Case("LeakyReLU", ([2],), (), _X3, False),
    "softshrink_lambd_str": Case("Softshrink", ("x",), (), _X3, False),
    "rrelu_lower_nan": Case("RReLU", (float("nan"), 0.3), (), _X3, False),
    # NaN passes PyTorch's Python checks (comparisons are False) and is refused (or used)
    # later: batch norm's eps, Dropout's p, Hardtanh's bounds
    "batch_norm_eps_nan": Case(
        "BatchNorm1d", (3,), (("eps", float("nan")), ("affine", False),
                              ("track_running_stats", False)), _X3, False,
    ),
    "dropout_p_nan": Case("Dropout", (), (("p", float("nan")),), _X3, False),
    "hardtanh_min_nan": Case("Hardtanh", (float("nan"), 1.0), (), _X3, False),
    # a padding bool (a Python int) refused by F.pad's parser when called; an empty padding
    # pads nothing
    "circular_pad3d_bool": Case("CircularPad3d", (True,), (), (("f", (3, 1, 3, 4, 3)),), False),
    "zero_pad2d_empty": Case("ZeroPad2d", ((),), (), (("f", (1, 2, 3, 3)),), False),
    # SyncBatchNorm on CPU: the channels are checked against the parameters only (a wrong
    # count is PyTorch's RuntimeError; without parameters or statistics any count runs)
    "sync_batch_norm_channels": Case(
        "SyncBatchNorm", (0,), (("track_running_stats", False),), (("f", (3, 2)),), False
    ),
    "sync_batch_norm_no_parameters": Case(
        "SyncBatchNorm", (0,), (("affine", False), ("track_running_stats", False)),
        (("f", (2, 3, 1, 2)),), False,
    ),
    # more odd types found by the second hunt
    "lstm_bidirectional_none": Case(
        "LSTM", (2, 2), (("num_layers", 2), ("bidirectional", None)), (("f", (3, 2, 2)),), False
    ),
    "gru_bidirectional_float": Case("GRU", (3, 2), (("bidirectional", 2.5),),
                                    (("f", (2, 2, 3)),), False),
    "max_pool2d_kernel_bool": Case("MaxPool2d", (True,), (), (("f", (1, 1, 4, 4)),), False),
    "avg_pool2d_kernel_bool": Case("AvgPool2d", (True,), (), (("f", (1, 1, 4, 4)),), False),
    "adaptive_avg_pool2d_none": Case("AdaptiveAvgPool2d", (None,), (), (("f", (1, 2, 4, 5)),),
                                     False),
    "adaptive_avg_pool3d_none": Case("AdaptiveAvgPool3d", (None,), (),
                                     (("f", (1, 2, 5, 3, 3)),), False),
    "lp_pool2d_kernel_list_of_one": Case(
        "LPPool2d", (3.0, [2]), (), (("pos", (2, 1, 3, 4), True),), False
    ),
    "lp_pool1d_norm_bool": Case("LPPool1d", (True, 3), (), (("pos", (2, 2, 6), True),), False),
    "rms_norm_eps_str": Case("RMSNorm", ((2, 2),), (("eps", "x"),), (("f", (3, 1, 2, 2)),),
                             False),
    "embedding_bag_2d_include_last_offset_float": Case(
        "EmbeddingBag", (1, 2), (("include_last_offset", 2.5),),
        (("i", (3, 3), 0, 1), ("none",)), False,
    ),
    "rnn_cell_nonlinearity_checked_when_called": Case(
        "RNNCell", (-1, 2), (("nonlinearity", "gelu"),), (("f", (2,)),), False
    ),
    "rnn_cell_unknown_nonlinearity": Case(
        "RNNCell", (3, 2), (("nonlinearity", "gelu"),), (("f", (3,)),), False
    ),
    "gru_cell_numpy_hidden_size": Case(
        "GRUCell", (3, np.int64(2)), (), (("f", (2, 3)),), False
    ),
    "max_pool3d_kernel_bool": Case("MaxPool3d", (True,), (), (("f", (1, 2, 2, 3)),), False),
    "avg_pool3d_stride_bool": Case("AvgPool3d", (1,), (("stride", True),),
                                   (("f", (1, 2, 2, 3)),), False),
    "adaptive_avg_pool3d_bool": Case("AdaptiveAvgPool3d", (True,), (),
                                     (("f", (1, 2, 2, 1, 1)),), False),
    "adaptive_max_pool2d_bool": Case("AdaptiveMaxPool2d", (True,), (),
                                     (("f", (1, 2, 2, 2)),), False),
    # Tensor.unflatten wrapped an out-of-range dim (-3 of a 2-d input read as dim 1)
    "unflatten_dim_out_of_range": Case("Unflatten", (-3, (1, 3)), (), (("f", (2, 3)),), False),
    # max_unpool's sizes are PyTorch's Python arithmetic first (a NaN or negative size its
    # ValueError, a short tuple its IndexError, the count its kernel's RuntimeError), then
    # its kernel's parser (a float or a leading bool stride: TypeError)
    "max_unpool2d_kernel_nan": Case(
        "MaxUnpool2d", (float("nan"),), (),
        (("f", (2, 1, 1, 1)), ("unpool", (2, 1, 1, 1), 1, 1)), False,
    ),
    "max_unpool2d_kernel_empty": Case(
        "MaxUnpool2d", ((),), (), (("f", (2, 1, 1, 2)), ("unpool", (2, 1, 1, 2), 2, 2)), False
    ),
    "max_unpool2d_stride_empty": Case(
        "MaxUnpool2d", (2,), (("stride", ()),),
        (("f", (1, 2, 2, 1)), ("unpool", (1, 2, 2, 1), 2, 1)), False,
    ),
    "max_unpool2d_kernel_str": Case(
        "MaxUnpool2d", ("x",), (), (("f", (1, 2, 1, 1)), ("unpool", (1, 2, 1, 1), 2, 2)), False
    ),
    "max_unpool3d_negative_stride_size_first": Case(
        "MaxUnpool3d", (2,), (("stride", -3), ("padding", 0)),
        (("f", (2, 1, 2, 1, 2)), ("unpool", (2, 1, 2, 1, 2), 2, 2)), False,
    ),
    "max_unpool3d_kernel_bool": Case(
        "MaxUnpool3d", (True,), (),
        (("f", (2, 2, 1, 2, 1)), ("unpool", (2, 2, 1, 2, 1), 1, 1)), False,
    ),
    # the order of the checks: PyTorch's Python checks, then its parser
    "group_norm_batch_check_before_eps_type": Case(
        "GroupNorm", (2, 2), (("eps", None),), (("f", (1, 2, 1)),), False
    ),
    "bce_with_logits_weight_type_before_reduction": Case(
        "BCEWithLogitsLoss", (), (("reduction", "Mean"), ("weight", 2.5)),
        (("f", (1, 1, 1)), ("p", (1, 1, 1), False)), False,
    ),
    "fractional_max_pool2d_output_size_str": Case(
        "FractionalMaxPool2d", (2,), (("output_size", "x"),), (("f", (1, 2, 5, 4)),), False
    ),
    "lp_pool3d_kernel_float": Case(
        "LPPool3d", (1, 2.5), (), (("pos", (1, 1, 5, 2, 4), True),), False
    ),
    "linear_negative_and_float_features": Case("Linear", (-1, 1.5), (), (("f", (4,)),), False),
    "bilinear_negative_in1": Case("Bilinear", (-3, 2, 2), (), _PAIR, False),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_case_agrees_with_torch(name):
    case = FOUND[name]
    diffs = check(case)
    assert not diffs, f"{case!r}\n" + "\n".join(diffs[:3])
