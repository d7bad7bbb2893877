"""The bugs the nn-module fuzzer found, one minimal case each (fixed in chainrule.nn and
the conv checks), run on torch and chainrule through :func:`.programs.check`; a few tests
also state the expected answer directly, and the known differences it steers around are
checked to stay what they are."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .case import Case, observe
from .programs import check

FOUND = {
    # PyTorch's 2-D 'nearest' kernel copies when an output size equals the input's and
    # halves the index when it doubles, whatever scale_factor says (chainrule indexed with
    # floor(dst / scale): rows 0,0,0,1,1,2 for 2.09 on 3 rows, where PyTorch has 0,0,1,1,2,2)
    "upsample_2d_nearest_doubling_scale": Case(
        "Upsample",
        (),
        (("scale_factor", (2.0876214026177804, 1.2032563467752881)),),
        (("f", (2, 2, 3, 4)),),
        False,
    ),
    "upsample_2d_nearest_same_size_scale": Case(
        "Upsample",
        (),
        (("scale_factor", 1.2),),
        (("f", (1, 1, 4, 4)),),
        True,
        3,
    ),
    # FeatureAlphaDropout(p=1) zeroes any input before the rank check (chainrule refused a
    # 1-D input: "Feature dropout requires at least 2 dimensions")
    "feature_alpha_dropout_p1_1d": Case(
        "FeatureAlphaDropout",
        (),
        (("p", 1.0),),
        (("f", (2,)),),
        True,
    ),
    # a negative ignore_index with class-probability targets is accepted (unused); only a
    # class index (>= 0) is refused (chainrule refused everything but -100)
    "cross_entropy_probs_negative_ignore_index": Case(
        "CrossEntropyLoss",
        (),
        (("ignore_index", -1),),
        (("f", (3, 1, 2)), ("p", (3, 1, 2), False)),
        False,
    ),
    # out_channels=0: the forward refuses the empty weight (RuntimeError, chainrule returned
    # an empty output)
    "conv2d_zero_out_channels": Case(
        "Conv2d",
        (1, 0, (3, 2)),
        (),
        (("f", (1, 1, 6, 6)),),
        False,
    ),
    "conv3d_zero_out_channels": Case("Conv3d", (1, 0, 1), (), (("f", (1, 1, 2, 2, 2)),)),
    "conv_transpose2d_zero_out_channels": Case(
        "ConvTranspose2d", (1, 0, 2), (), (("f", (1, 1, 3, 3)),)
    ),
    # LocalResponseNorm(0): PyTorch's RuntimeError (chainrule raised a bare ValueError)
    "local_response_norm_size_0": Case("LocalResponseNorm", (0,), (), (("f", (2, 3, 2)),)),
    # AdaptiveMaxPool1d takes no None in its output size (chainrule kept the input's size)
    "adaptive_max_pool1d_none": Case(
        "AdaptiveMaxPool1d",
        ((None,),),
        (),
        (("f", (1, 2, 5)),),
        False,
    ),
    # MaxUnpool of kernel_size 0: an empty output, no index checked (chainrule refused
    # index 0 as out of range)
    "max_unpool2d_kernel_0": Case(
        "MaxUnpool2d",
        (0,),
        (),
        (("f", (1, 2, 1, 1)), ("unpool", (1, 2, 1, 1), 1, 1)),
        False,
    ),
    # ... but a zero stride of the 3-d unpool is refused first (chainrule's empty-output
    # shortcut had returned an empty result)
    "max_unpool3d_kernel_0": Case(
        "MaxUnpool3d",
        (0,),
        (),
        (("f", (2, 2, 1, 2, 1)), ("unpool", (2, 2, 1, 2, 1), 2, 2)),
    ),
    "max_unpool3d_kernel_0_stride_1": Case(
        "MaxUnpool3d",
        (0,),
        (("stride", 1),),
        (("f", (2, 2, 2, 1, 2)), ("unpool", (2, 2, 2, 1, 2), 2, 1)),
        False,
    ),  # fmt: skip
    # a 4-long output_size for a 4-D input: PyTorch's ValueError ("Input dimension should be
    # at least 5"; chainrule raised only RuntimeError, PyTorch's type for a 5-D input)
    "adaptive_avg_pool3d_long_output_size": Case(
        "AdaptiveAvgPool3d",
        ((2, 2, 2, 2),),
        (),
        (("f", (2, 5, 4, 1)),),
        False,
    ),
    "adaptive_max_pool3d_long_output_size_5d": Case(
        "AdaptiveMaxPool3d",
        ((2, 2, 2, 2),),
        (),
        (("f", (1, 2, 5, 4, 1)),),
        False,
    ),
    "max_unpool1d_kernel_0": Case(
        "MaxUnpool1d",
        (0,),
        (),
        (("f", (2, 1, 1)), ("unpool", (2, 1, 1), 1, 1)),
        False,
    ),
    # Embedding's padding_idx is checked before the sizes (PyTorch's order: its
    # AssertionError, where chainrule raised the negative size first); padding_idx=0 is
    # not checked against the size
    "embedding_padding_idx_before_size": Case("Embedding", (-1, 1), (("padding_idx", -1),)),
    "embedding_bag_padding_idx_0_negative_size": Case(
        "EmbeddingBag", (-1, 1), (("padding_idx", 0),)
    ),
    # a table or cell size that is not an int: PyTorch's TypeError (chainrule: ValueError)
    "embedding_float_size": Case("Embedding", (2.5, 1), (("padding_idx", 1),)),
    "gru_cell_list_size": Case("GRUCell", ([2], 2), (), (("f", (3,)),)),
    "rnn_cell_float_hidden_size": Case("RNNCell", (1, 2.5), (), (("f", (2, 1)),)),
    # an RNN's dropout of an odd type: PyTorch's float(dropout) TypeError (a string is
    # its ValueError)
    "rnn_tuple_dropout": Case("RNN", (1, 3), (("dropout", ()),), (("f", (1, 3, 1)),)),
    "lstm_string_dropout": Case("LSTM", (1, 3), (("dropout", "x"),), (("f", (1, 3, 1)),)),
    # Fold/Unfold geometry of an odd type: PyTorch's argument parser's TypeError
    # (chainrule: RuntimeError); a bad value stays a RuntimeError
    "fold_none_dilation": Case(
        "Fold",
        (),
        (("dilation", None), ("kernel_size", 2), ("output_size", (3, 3))),
        (("f", (8, 1)),),
    ),  # fmt: skip
    "unfold_float_padding": Case(
        "Unfold", (), (("padding", 2.5), ("kernel_size", 1)), (("f", (1, 1, 3, 3)),)
    ),
    "unfold_negative_padding": Case(
        "Unfold", (), (("padding", -1), ("kernel_size", 1)), (("f", (1, 1, 3, 3)),)
    ),
    # InstanceNorm's repr prints bias as a bool (chainrule printed affine=0's 0)
    "instance_norm_int_affine_repr": Case(
        "InstanceNorm3d",
        (1,),
        (("affine", 0), ("track_running_stats", True)),
        (("f", (2, 1, 2, 2, 2)),),
        False,
    ),  # fmt: skip
    # a float stride is never rounded (chainrule ran Conv1d(stride=2.5) as stride 2; PyTorch
    # fails in the forward, chainrule at construction); a string kernel_size is PyTorch's
    # TypeError (chainrule: int('x')'s ValueError)
    "conv1d_float_stride": Case("Conv1d", (1, 1, 2), (("stride", 2.5),), (("f", (1, 1, 5)),)),
    "conv_transpose1d_string_kernel": Case("ConvTranspose1d", (2, 2, "x"), (), (("f", (1, 2, 3)),)),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_case_agrees_with_torch(name):
    diffs = check(FOUND[name])
    assert not diffs, "\n".join(diffs[:3])


def test_upsample_2d_nearest_index_rule():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    out = cr.nn.functional.interpolate(cr.tensor(x), scale_factor=(2.0876, 1.2))
    rows = [0, 0, 1, 1, 2, 2]  # halved: the output has twice the rows
    np.testing.assert_array_equal(out.numpy()[0, 0], x[0, 0][rows])  # columns copied


def test_upsample_1d_nearest_keeps_scale_indexing():
    # the 1-d (and 3-d) forward indexes with the scale: rows 0,0,0,1,1,2 (as PyTorch's)
    x = cr.arange(3.0).reshape(1, 1, 3)
    out = cr.nn.functional.interpolate(x, scale_factor=2.0876)
    assert out.flatten().tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 2.0]


# ---------------------------------------------------------------- known differences
def _last(lib, case):
    return observe(lib, case)[0][-1]


def test_known_eager_reduction_check():
    # a bad reduction is refused when the loss is called, as in PyTorch (chainrule refused it
    # at construction until session 42)
    case = Case("L1Loss", (), (("reduction", "bogus"),), (("f", (2,)), ("c", (2,))))
    assert _last(torch, case)[:3] == ("error", "forward", "ValueError")
    assert _last(cr, case)[:3] == ("error", "forward", "ValueError")
    assert check(case) == []


def test_known_embedding_bag_scale_grad_by_freq():
    # PyTorch's CPU backward divides index 1's gradient by index 0's count (1/3): its
    # gradient is not the frequency scaling; chainrule divides by each index's own count
    res = {}
    for lib in (torch, cr):
        m = lib.nn.EmbeddingBag(3, 1, mode="sum", scale_grad_by_freq=True)
        m(lib.tensor([[0, 0], [0, 1]])).sum().backward()
        res[lib.__name__] = m.weight.grad.flatten().tolist()
    assert res["chainrule"] == [1.0, 1.0, 0.0]
    assert res["torch"][1] == pytest.approx(1 / 3)  # still PyTorch's: else compare again
    case = Case("EmbeddingBag", (5, 3), (("scale_grad_by_freq", True),), (("i", (3, 2), 0, 5),))
    assert check(case) == []


def test_known_upsample_3d_nearest_backward():
    # 1-d/3-d nearest: PyTorch's backward copies/halves where its forward used the scale
    x = torch.zeros(1, 1, 3, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.interpolate(x, scale_factor=2.04)
    (y * torch.arange(1.0, 7.0, dtype=torch.float64)).sum().backward()
    assert x.grad.flatten().tolist() == [3.0, 7.0, 11.0]  # not [6, 9, 6], the adjoint
    xc = cr.zeros(1, 1, 3, dtype=cr.float64, requires_grad=True)
    yc = cr.nn.functional.interpolate(xc, scale_factor=2.04)
    (yc * cr.arange(1.0, 7.0, dtype=cr.float64)).sum().backward()
    assert xc.grad.flatten().tolist() == [6.0, 9.0, 6.0]
    assert torch.equal(y.detach(), torch.tensor(yc.detach().numpy()))


def test_known_transformer_encoder_without_layers():
    case = Case(
        "TransformerEncoder", (("layer", 2, 2, False, True), 0),
        (("enable_nested_tensor", False),), (("f", (2, 2, 2)),),
    )  # fmt: skip
    assert _last(torch, case)[:3] == ("error", "forward", "IndexError")
    assert check(case) == []


def test_known_conv_transpose_string_padding():
    # PyTorch stores 'same' as the tuple of its characters and fails in the forward
    case = Case("ConvTranspose2d", (4, 4, 1), (("padding", "same"),), (("f", (1, 4, 1, 3)),))
    assert "('s', 'a', 'm', 'e')" in repr(torch.nn.ConvTranspose2d(4, 4, 1, padding="same"))
    assert _last(torch, case)[:3] == _last(cr, case)[:3] == ("error", "forward", "TypeError")
    assert check(case) == []
