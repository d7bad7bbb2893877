"""Op specs: ``nn.functional`` ops: layers, normalizations, activations, losses, padding.

Part of the central op-spec table; tests/ops/op_specs.py assembles it, and
tests/ops/op_specs_core.py holds :class:`OpSpec` and the helpers used here. A pure move out
of the former single-file op_specs.py (session 35): no case changed.
"""

from __future__ import annotations

import numpy as np

from .op_specs_core import (
    _CE_IDX,
    _CE_PROBS,
    _CE_TARGET,
    _CE_WEIGHT,
    _EMB_IDX,
    NO_GG,
    B,
    OpSpec,
    _log_probs,
    _probs,
    _unary,
    bad_call,
    const,
    nnf,
)

__all__ = ["SPECS"]

SPECS: list = [
    # ------------------------------------------------------------ nn.functional
    OpSpec("F_linear", "nn.functional.linear", (((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,)))),
    OpSpec(
        "F_conv2d",
        lambda x, w, b: nnf(x).conv2d(x, w, b, padding=1, stride=(1, 2)),
        (((2, 3, 5, 5), (4, 3, 3, 3), (4,)),),
    ),
    OpSpec("F_conv1d", lambda x, w: nnf(x).conv1d(x, w, dilation=2), (((2, 3, 7), (4, 3, 2)),)),
    _unary(
        "F_max_pool2d", lambda a: nnf(a).max_pool2d(a, 2), "distinct", shapes=(((1, 2, 4, 4),),)
    ),
    _unary("F_avg_pool2d", lambda a: nnf(a).avg_pool2d(a, 2, padding=1), shapes=(((1, 2, 4, 4),),)),
    _unary(
        "F_adaptive_avg_pool2d",
        lambda a: nnf(a).adaptive_avg_pool2d(a, (2, 3)),
        shapes=(((1, 2, 5, 6),),),
    ),
    _unary(
        "F_adaptive_avg_pool2d_one",
        lambda a: nnf(a).adaptive_avg_pool2d(a, 1),
        shapes=(((2, 3, 3, 4),), ((3, 2, 5),)),
    ),
    _unary(
        "F_adaptive_avg_pool2d_grow",
        lambda a: nnf(a).adaptive_avg_pool2d(a, (None, 7)),
        shapes=(((1, 2, 3, 4),), ((2, 3, 5),)),
    ),
    _unary(
        "F_adaptive_avg_pool1d",
        lambda a: nnf(a).adaptive_avg_pool1d(a, 3),
        shapes=(((2, 3, 7),), ((3, 5),)),
    ),
    OpSpec(
        "F_layer_norm", lambda x, w, b: nnf(x).layer_norm(x, (4,), w, b), (((3, 4), (4,), (4,)),)
    ),
    OpSpec(
        "F_batch_norm",
        lambda x, w, b: nnf(x).batch_norm(x, None, None, w, b, training=True),
        (((4, 3), (3,), (3,)), ((2, 3, 2, 2), (3,), (3,))),
    ),
    OpSpec(
        "F_group_norm", lambda x, w, b: nnf(x).group_norm(x, 2, w, b), (((2, 4, 3), (4,), (4,)),)
    ),
    OpSpec("F_rms_norm", lambda x, w: nnf(x).rms_norm(x, (4,), w), (((3, 4), (4,)),)),
    _unary("F_gelu", "nn.functional.gelu"),
    _unary("F_gelu_tanh", lambda a: nnf(a).gelu(a, approximate="tanh")),
    _unary("F_silu", "nn.functional.silu"),
    _unary("F_elu", "nn.functional.elu", "nokink"),
    _unary("F_leaky_relu", lambda a: nnf(a).leaky_relu(a, 0.1), "nokink"),
    _unary("F_logsigmoid", "nn.functional.logsigmoid"),
    _unary("F_hardtanh", "nn.functional.hardtanh", "nokink"),
    OpSpec("F_mse_loss", "nn.functional.mse_loss", (B,)),
    OpSpec("F_l1_loss", "nn.functional.l1_loss", (B,), "distinct"),
    OpSpec(
        "F_smooth_l1_loss", lambda a, b: nnf(a).smooth_l1_loss(a, b, beta=0.5), (B,), "distinct"
    ),
    OpSpec("F_huber_loss", lambda a, b: nnf(a).huber_loss(a, b, delta=0.7), (B,), "distinct"),
    _unary(
        "F_cross_entropy",
        lambda a: nnf(a).cross_entropy(a, const(a, _CE_TARGET)),
        shapes=(((3, 4),),),
        bad=(
            bad_call(
                "target_out_of_range",
                lambda a: nnf(a).cross_entropy(a, const(a, np.array([1, 0, 7]))),
            ),
        ),
    ),
    _unary(
        "F_cross_entropy_smooth",
        lambda a: nnf(a).cross_entropy(
            a, const(a, _CE_TARGET), label_smoothing=0.1, reduction="sum"
        ),
        shapes=(((3, 4),),),
    ),
    _unary(
        "F_nll_loss",
        lambda a: nnf(a).nll_loss(_log_probs(a), const(a, _CE_TARGET)),
        shapes=(((3, 4),),),
    ),
    OpSpec(
        "F_bce_with_logits",
        lambda a, t: nnf(a).binary_cross_entropy_with_logits(a, t.sigmoid()),
        (B,),
    ),
    OpSpec(
        "F_bce_with_logits_weights_none",
        lambda a, t: nnf(a).binary_cross_entropy_with_logits(
            a,
            t.sigmoid(),
            const(a, [0.5, 1.0, 2.0, 1.5]),
            reduction="none",
            pos_weight=const(a, [[3.0], [0.5], [1.0]]),
        ),
        (B,),
    ),
    OpSpec(
        "F_bce_with_logits_pos_weight_sum",
        lambda a, t: nnf(a).binary_cross_entropy_with_logits(
            a, t.sigmoid(), reduction="sum", pos_weight=const(a, 2.5)
        ),
        (B, ((), ())),
    ),
    OpSpec("F_bce", lambda a, t: nnf(a).binary_cross_entropy(a.sigmoid(), t.sigmoid()), (B,)),
    # binary_cross_entropy: one node (BinaryCrossEntropyBackward0), weight and reduction inside
    OpSpec(
        "F_bce_weight_none",
        lambda a, t: nnf(a).binary_cross_entropy(
            a.sigmoid(), t.sigmoid(), const(a, [0.5, 1.0, 2.0, 1.5]), reduction="none"
        ),
        (B,),
    ),
    OpSpec(
        "F_bce_bcast_weight_sum",
        lambda a, t: nnf(a).binary_cross_entropy(
            a.sigmoid(), t.sigmoid(), const(a, [[3.0], [0.5], [1.0]]), reduction="sum"
        ),
        (B,),
    ),
    OpSpec(
        "F_bce_0d",
        lambda a, t: nnf(a).binary_cross_entropy(a.sigmoid(), t.sigmoid(), const(a, 2.5)),
        (((), ()),),
    ),
    OpSpec(
        "F_kl_div",
        lambda a, b: nnf(a).kl_div(_log_probs(a), _probs(b), reduction="batchmean"),
        (B,),
    ),
    _unary("F_normalize", lambda a: nnf(a).normalize(a, dim=1), shapes=(((3, 4),),)),
    OpSpec("F_cosine_similarity", "nn.functional.cosine_similarity", (B,)),
    OpSpec("F_pairwise_distance", "nn.functional.pairwise_distance", (B,)),
    _unary(
        "F_pdist",
        "nn.functional.pdist",
        checks=NO_GG,  # PyTorch's _pdist_backward has no derivative, nor has ours
        shapes=(((4, 3),), ((1, 3),), ((2, 1),)),
        bad=(
            bad_call("not_2d", lambda a: nnf(a).pdist(a.reshape(-1))),
            bad_call("negative_p", lambda a: nnf(a).pdist(a, -1.0)),
        ),
    ),
    _unary("F_pdist_p1", lambda a: nnf(a).pdist(a, 1.0), "distinct", NO_GG, shapes=(((4, 3),),)),
    _unary("F_pdist_p3", lambda a: nnf(a).pdist(a, 3.0), "distinct", NO_GG, shapes=(((4, 3),),)),
    _unary(
        "F_pdist_inf", lambda a: nnf(a).pdist(a, np.inf), "distinct", NO_GG, shapes=(((4, 3),),)
    ),
    _unary(
        "F_embedding",
        lambda w: nnf(w).embedding(const(w, _EMB_IDX), w),
        shapes=(((5, 3),),),
        bad=(
            bad_call("index_out_of_range", lambda w: nnf(w).embedding(const(w, _EMB_IDX + 5), w)),
        ),
    ),
    OpSpec(
        "F_sdpa",
        lambda q, k, v: nnf(q).scaled_dot_product_attention(q, k, v),
        (((2, 3, 4), (2, 5, 4), (2, 5, 2)),),
    ),
    OpSpec(
        "F_sdpa_causal",
        lambda q, k, v: nnf(q).scaled_dot_product_attention(q, k, v, is_causal=True),
        (((1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 3)),),
    ),
    _unary(
        "F_interpolate_bilinear",
        lambda a: nnf(a).interpolate(a, size=(5, 3), mode="bilinear"),
        shapes=(((1, 2, 3, 4),),),
    ),
    _unary("F_pixel_shuffle", lambda a: nnf(a).pixel_shuffle(a, 2), shapes=(((1, 8, 2, 3),),)),
    # nn.functional ops also run by the in-place-after-forward test under their own names
    _unary("F_layer_norm_plain", lambda x: nnf(x).layer_norm(x, (5,)), shapes=(((3, 5),),)),
    _unary(
        "F_batch_norm_plain",
        lambda x: nnf(x).batch_norm(x, None, None, training=True),
        shapes=(((4, 3),),),
    ),
    _unary(
        "F_batch_norm_eval",  # running statistics, constant weight and bias: one affine pass
        lambda x: nnf(x).batch_norm(
            x,
            const(x, [0.3, -0.2, 0.1]),
            const(x, [1.5, 0.7, 2.0]),
            const(x, [0.9, -1.1, 0.4]),
            const(x, [0.2, 0.0, -0.5]),
            training=False,
        ),
        shapes=(((4, 3),), ((2, 3, 2, 2),)),
    ),
    _unary("F_instance_norm", lambda x: nnf(x).instance_norm(x), shapes=(((2, 3, 4),),)),
    _unary("F_softmax", lambda x: nnf(x).softmax(x, dim=1), shapes=(((3, 4),),)),
    _unary("F_log_softmax", lambda x: nnf(x).log_softmax(x, dim=1), shapes=(((3, 4),),)),
    _unary("F_softmin", lambda x: nnf(x).softmin(x, dim=1), shapes=(((3, 4),),)),
    _unary(
        "F_cross_entropy_none",
        lambda x: nnf(x).cross_entropy(x, const(x, _CE_IDX), reduction="none"),
        shapes=(((4, 3),),),
    ),
    _unary(
        "F_cross_entropy_smooth_weight",
        lambda x: nnf(x).cross_entropy(
            x, const(x, _CE_IDX), const(x, _CE_WEIGHT), label_smoothing=0.1
        ),
        shapes=(((4, 3),),),
    ),
    _unary(
        "F_cross_entropy_probs",
        lambda x: nnf(x).cross_entropy(x, const(x, _CE_PROBS)),
        shapes=(((4, 3),),),
    ),
    _unary("F_nll_loss_raw", lambda x: nnf(x).nll_loss(x, const(x, _CE_IDX)), shapes=(((4, 3),),)),
    OpSpec(
        "F_kl_div_positive",
        lambda x, y: nnf(x).kl_div(x, y, reduction="batchmean"),
        (B,),
        "positive",
    ),
    OpSpec("F_bilinear", "nn.functional.bilinear", (((3, 2), (3, 4), (5, 2, 4)),)),
    OpSpec(
        "F_conv1d_bias",
        lambda x, w, b: nnf(x).conv1d(x, w, b, padding=1),
        (((2, 3, 5), (4, 3, 3), (4,)),),
    ),
    OpSpec("F_conv_transpose2d", "nn.functional.conv_transpose2d", (((1, 2, 3, 3), (2, 3, 2, 2)),)),
    _unary("F_relu", "nn.functional.relu", "nokink"),
    _unary("F_relu6", lambda x: nnf(x).relu6(x * 4), "nokink"),
    _unary("F_selu", "nn.functional.selu", "nokink"),
    _unary("F_celu", "nn.functional.celu", "nokink"),
    _unary("F_mish", "nn.functional.mish"),
    _unary("F_softplus", "nn.functional.softplus"),
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 (rel. error 3e-8);
    # no double backward: PyTorch's hardsigmoid_backward has no derivative, nor has chainrule's
    # (tests/test_parity_session24.py checks that both raise)
    _unary("F_hardsigmoid", "nn.functional.hardsigmoid", "nokink", NO_GG, bwd_rtol=1e-7),
    _unary("F_hardswish", "nn.functional.hardswish", "nokink"),
    _unary("F_softsign", "nn.functional.softsign"),
    _unary("F_tanhshrink", "nn.functional.tanhshrink"),
    _unary("F_sigmoid", "nn.functional.sigmoid"),
    _unary("F_tanh", "nn.functional.tanh"),
    OpSpec("F_prelu", "nn.functional.prelu", (((2, 3), (1,)),), "nokink"),
    _unary("F_dropout_eval", lambda x: nnf(x).dropout(x, 0.5, training=False)),
    _unary("F_pad", lambda x: nnf(x).pad(x, (1, 2)), shapes=(((3, 4),),)),
    # reflect / replicate padding: one node each (ReflectionPad2DBackward0, ...); negative
    # entries crop inside it, after the positive ones padded (PyTorch's order)
    _unary(
        "F_pad_reflect_1d",
        lambda x: nnf(x).pad(x, (2, 1), mode="reflect"),
        shapes=(((2, 3, 4),), ((3, 5),)),
    ),
    _unary(
        "F_pad_reflect_2d",
        lambda x: nnf(x).pad(x, (1, 2, 2, 0), mode="reflect"),
        shapes=(((2, 2, 3, 4),), ((2, 4, 3),)),
    ),
    _unary(
        "F_pad_reflect_3d",
        lambda x: nnf(x).pad(x, (1, 1, 0, 2, 1, 0), mode="reflect"),
        shapes=(((1, 2, 3, 4, 3),),),
    ),
    _unary(
        "F_pad_reflect_crop",
        lambda x: nnf(x).pad(x, (-2, 3, 1, -1), mode="reflect"),
        shapes=(((1, 2, 3, 4),),),
    ),
    _unary(
        "F_pad_replicate_1d",
        lambda x: nnf(x).pad(x, (3, 1), mode="replicate"),
        shapes=(((2, 3, 2),), ((3, 1),)),
    ),
    _unary(
        "F_pad_replicate_2d",
        lambda x: nnf(x).pad(x, (1, 3, 2, 2), mode="replicate"),
        shapes=(((2, 2, 3, 4),),),
    ),
    _unary(
        "F_pad_replicate_3d",
        lambda x: nnf(x).pad(x, (2, 0, 1, 1, 0, 3), mode="replicate"),
        shapes=(((2, 3, 2, 4),), ((1, 2, 2, 3, 2),)),
    ),
    _unary(
        "F_pad_replicate_crop",
        lambda x: nnf(x).pad(x, (3, -2), mode="replicate"),
        shapes=(((2, 3, 4),),),
    ),
    # circular padding: one node (under torch's top CopySlices); negative entries crop first,
    # then the cropped dim wraps
    _unary(
        "F_pad_circular_1d",
        lambda x: nnf(x).pad(x, (2, 3), mode="circular"),
        shapes=(((2, 3, 4),), ((3, 5),)),
    ),
    _unary(
        "F_pad_circular_2d",
        lambda x: nnf(x).pad(x, (1, 2, 3, 0), mode="circular"),
        shapes=(((2, 2, 3, 4),), ((2, 4, 3),)),
    ),
    _unary(
        "F_pad_circular_3d",
        lambda x: nnf(x).pad(x, (1, 1, 0, 2, 2, 1), mode="circular"),
        shapes=(((1, 2, 3, 4, 3),), ((2, 2, 3, 2),)),
    ),
    _unary(
        "F_pad_circular_crop",
        lambda x: nnf(x).pad(x, (-1, 2, 2, -1), mode="circular"),
        shapes=(((1, 2, 3, 4),),),
    ),
    OpSpec(
        "F_cosine_embedding_loss",
        lambda x, y: nnf(x).cosine_embedding_loss(x, y, const(x, np.array([1.0, -1.0, 1.0]))),
        (((3, 4), (3, 4)),),
    ),
]
