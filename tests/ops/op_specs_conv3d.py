"""Op specs for the 3-D convolutions and poolings (appended to the central table in
tests/ops/op_specs.py). Shapes are small: gradcheck and gradgradcheck are slow in 3-d."""

from __future__ import annotations

from .op_specs import OpSpec, _unary, bad_call, nnf


def _conv(x, w, b, **kw):
    return nnf(x).conv3d(x, w, b, **kw)


def _convt(x, w, b, **kw):
    return nnf(x).conv_transpose3d(x, w, b, **kw)


SPECS: list = [
    OpSpec(
        "F_conv3d",
        lambda x, w, b: _conv(x, w, b, stride=(1, 2, 1), padding=(1, 0, 1), groups=2),
        (((2, 4, 3, 4, 3), (4, 2, 2, 3, 2), (4,)),),
        bad=(
            bad_call("bad_padding_string", lambda x, w, b: _conv(x, w, b, padding="full")),
            bad_call("same_strided", lambda x, w, b: _conv(x, w, b, padding="same", stride=2)),
            bad_call("groups_mismatch", lambda x, w, b: _conv(x, w, b, groups=4)),
            bad_call("negative_padding", lambda x, w, b: _conv(x, w, b, padding=-1)),
            bad_call("zero_stride", lambda x, w, b: _conv(x, w, b, stride=0)),
            bad_call("kernel_too_big", lambda x, w, b: _conv(x, w, b, dilation=3, groups=2)),
            bad_call("bias_shape", lambda x, w, b: _conv(x, w, b[:3], groups=2)),
        ),
    ),
    OpSpec(
        "F_conv3d_same",
        lambda x, w: nnf(x).conv3d(x, w, padding="same", dilation=(2, 1, 1)),
        (((1, 2, 4, 3, 3), (3, 2, 2, 3, 1)),),
    ),
    OpSpec(
        "F_conv3d_unbatched",
        lambda x, w: nnf(x).conv3d(x, w, stride=2, dilation=(1, 1, 2)),
        (((2, 3, 3, 5), (2, 2, 2, 2, 2)),),
    ),
    OpSpec(
        "F_conv_transpose3d",
        lambda x, w, b: _convt(x, w, b, stride=2, padding=(1, 0, 0), output_padding=(1, 0, 1)),
        (((1, 2, 2, 3, 2), (2, 3, 2, 2, 2), (3,)),),
        bad=(
            bad_call("output_padding_too_big", lambda x, w, b: _convt(x, w, b, output_padding=1)),
            bad_call("groups_mismatch", lambda x, w, b: _convt(x, w, b, groups=3)),
        ),
    ),
    OpSpec(
        "F_conv_transpose3d_grouped",
        lambda x, w: nnf(x).conv_transpose3d(x, w, groups=2, dilation=(1, 2, 1), stride=(1, 1, 2)),
        (((1, 4, 2, 2, 3), (4, 1, 2, 2, 1)),),
    ),
    # one recorded node (ops/conv.py's Functions on 5-d tensors): the remaining arguments
    OpSpec(
        "F_conv3d_valid_dilated",
        lambda x, w, b: _conv(x, w, b, padding="valid", stride=(2, 1, 1), dilation=(1, 2, 1)),
        (((2, 2, 4, 4, 3), (3, 2, 2, 2, 2), (3,)),),
    ),
    OpSpec(  # an even kernel: the odd extra padded first (ConstantPadNd), as PyTorch
        "F_conv3d_same_even",
        lambda x, w, b: _conv(x, w, b, padding="same"),
        (((1, 2, 3, 4, 3), (2, 2, 2, 3, 2), (2,)),),
    ),
    OpSpec(
        "F_conv3d_unbatched_grouped",
        lambda x, w, b: _conv(x, w, b, padding=(1, 0, 1), groups=2, dilation=(2, 1, 1)),
        (((4, 3, 3, 3), (4, 2, 2, 1, 2), (4,)),),
    ),
    OpSpec(  # nn.Conv3d(padding_mode="replicate"): the module pads, then a valid conv
        "F_conv3d_replicate_padded",
        lambda x, w: nnf(x).conv3d(nnf(x).pad(x, (1, 0, 1, 1, 0, 1), mode="replicate"), w),
        (((1, 2, 2, 3, 2), (2, 2, 2, 2, 2)),),
    ),
    OpSpec(
        "F_conv_transpose3d_unbatched",
        lambda x, w, b: _convt(
            x, w, b, stride=(2, 1, 2), padding=(1, 0, 0), output_padding=(1, 0, 1), dilation=2
        ),
        (((2, 2, 2, 2), (2, 2, 2, 1, 2), (2,)),),
    ),
    OpSpec(  # output_padding below the dilation (stride 1)
        "F_conv_transpose3d_dilated_outpad",
        lambda x, w: nnf(x).conv_transpose3d(x, w, groups=2, dilation=2, output_padding=1),
        (((1, 2, 2, 2, 2), (2, 1, 2, 2, 2)),),
    ),
    _unary(
        "F_max_pool3d",
        lambda a: nnf(a).max_pool3d(a, 2, (2, 1, 2), (1, 0, 1), ceil_mode=True),
        "distinct",
        shapes=(((1, 2, 4, 4, 3),), ((2, 3, 4, 3),)),
        bad=(
            bad_call("padding_too_big", lambda a: nnf(a).max_pool3d(a, 2, padding=2)),
            bad_call("kernel_too_big", lambda a: nnf(a).max_pool3d(a, 5)),
            bad_call("zero_stride", lambda a: nnf(a).max_pool3d(a, 2, 0)),
        ),
    ),
    _unary(
        "F_max_pool3d_dilated",
        lambda a: nnf(a).max_pool3d(a, (2, 2, 1), 1, dilation=(2, 1, 1)),
        "distinct",
        shapes=(((1, 2, 4, 3, 3),),),
    ),
    _unary(
        "F_avg_pool3d",
        lambda a: nnf(a).avg_pool3d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        shapes=(((1, 2, 3, 4, 4),), ((2, 4, 3, 3),)),
        bad=(
            bad_call("padding_too_big", lambda a: nnf(a).avg_pool3d(a, 2, padding=2)),
            bad_call("divisor_zero", lambda a: nnf(a).avg_pool3d(a, 2, divisor_override=0)),
        ),
    ),
    _unary(
        "F_avg_pool3d_divisor",
        lambda a: nnf(a).avg_pool3d(a, (2, 1, 2), 1, (1, 0, 1), divisor_override=3),
        shapes=(((1, 1, 3, 3, 4),),),
    ),
    _unary(
        "F_adaptive_avg_pool3d",
        lambda a: nnf(a).adaptive_avg_pool3d(a, (2, 3, None)),
        shapes=(((1, 2, 5, 4, 3),), ((2, 3, 5, 2),)),
    ),
    _unary(
        "F_adaptive_max_pool3d",
        lambda a: nnf(a).adaptive_max_pool3d(a, (2, 3, 2)),
        "distinct",
        shapes=(((1, 2, 5, 4, 4),), ((2, 4, 3, 4),)),
    ),
]
