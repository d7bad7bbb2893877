"""Op specs for the extra losses (appended to the central table in tests/ops/op_specs.py):
gaussian/poisson NLL, soft-margin, multi-label soft-margin and margin, hinge-embedding and
triplet-with-distance losses, multi-margin (one node each for soft-margin, multi-margin and
multi-label margin; the last two without a second derivative, as PyTorch's). Integer /
label targets are constants captured in lambdas."""

from __future__ import annotations

import numpy as np

from .op_specs import NO_GG, BadInput, OpSpec, _unary, bad_call, const, nnf

_SIGNS = np.array([[1.0, -1.0, -1.0, 1.0], [-1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0]])
_HINGE_T = np.array([[1.0, -1.0, -1.0, 1.0], [-1.0, 1.0, 2.0, 1.0], [1.0, -1.0, 1.0, -1.0]])
_LABELS = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
_CLASS_W = np.array([0.5, 1.0, 2.0, 1.5])
# class lists ended by -1: a repeated class (counts twice), an early -1, every class
_ML_TARGET = np.array([[0, 0, -1, 2], [3, 1, -1, -1], [0, 1, 2, 3]])
_ML_TARGET_1D = np.array([2, 1, -1, 0])
_MM_TARGET = np.array([1, 0, 3])  # class indices for (3, 4) scores

F3 = (((3, 4), (3, 4), (3, 4)),)
B2 = ((3, 4), (3, 4))


def _bad_reduction(fn):
    return bad_call("bad_reduction", fn)


SPECS: list = [
    OpSpec(
        "F_gaussian_nll_loss",
        lambda x, y, v: nnf(x).gaussian_nll_loss(x, y, v),
        F3 + (((3, 4), (3, 4), (3,)), ((3, 4), (3, 4), (3, 1)), ((2, 3), (2, 3), (1, 3))),
        "positive",
        bad=(
            _bad_reduction(lambda x, y, v: nnf(x).gaussian_nll_loss(x, y, v, reduction="avg")),
            BadInput("negative_var", lambda a: [a[0], a[1], -a[2]]),
            BadInput("target_shape", lambda a: [a[0], np.ones((3, 5)), a[2]]),
            BadInput("var_two_mismatched", lambda a: [a[0], a[1], np.ones((1, 1))]),
        ),
    ),
    OpSpec(
        "F_gaussian_nll_loss_full_sum",
        lambda x, y, v: nnf(x).gaussian_nll_loss(x, y, v * v, full=True, reduction="sum"),
        F3,
    ),
    OpSpec(  # var below eps: clamped as PyTorch (gradient passed straight through the clamp)
        "F_gaussian_nll_loss_eps",
        lambda x, y, v: nnf(x).gaussian_nll_loss(x, y, v, eps=1.2, reduction="none"),
        F3,
        "positive",
        checks=frozenset({"fwd", "bwd"}),
    ),
    OpSpec(
        "F_gaussian_nll_loss_float_var",
        lambda x, y: nnf(x).gaussian_nll_loss(x, y, 0.7),
        (((3, 4), (3, 4)),),
    ),
    OpSpec(
        "F_poisson_nll_loss",
        lambda x, y: nnf(x).poisson_nll_loss(x, y * y),
        (((3, 4), (3, 4)), ((2, 3, 4), (3, 4))),
        bad=(_bad_reduction(lambda x, y: nnf(x).poisson_nll_loss(x, y, reduction="avg")),),
    ),
    OpSpec(  # Stirling term where target > 1
        "F_poisson_nll_loss_full",
        lambda x, y: nnf(x).poisson_nll_loss(x, y * y * 3, full=True, reduction="none"),
        (((3, 4), (3, 4)),),
    ),
    OpSpec(
        "F_poisson_nll_loss_rates",
        lambda x, y: nnf(x).poisson_nll_loss(x, y * 2, log_input=False, full=True, eps=1e-3),
        (((3, 4), (3, 4)),),
        "positive",
    ),
    _unary(
        "F_soft_margin_loss",
        lambda x: nnf(x).soft_margin_loss(x * 3, const(x, _SIGNS)),
        shapes=(((3, 4),),),
        bad=(
            _bad_reduction(lambda x: nnf(x).soft_margin_loss(x, const(x, _SIGNS), reduction="x")),
            bad_call(
                "target_shape",
                lambda x: nnf(x).soft_margin_loss(x, const(x, np.ones((3, 5)))),
            ),
        ),
    ),
    _unary(
        "F_soft_margin_loss_none",
        lambda x: nnf(x).soft_margin_loss(x, const(x, _SIGNS[0]), reduction="none"),
        shapes=(((3, 4),), ((4,),)),
    ),
    OpSpec(
        "F_multilabel_soft_margin_loss",
        lambda x, t: nnf(x).multilabel_soft_margin_loss(x * 3, t.sigmoid()),
        (((3, 4), (3, 4)), ((4,), (4,)), ((2, 3, 4), (2, 3, 4))),
        bad=(
            bad_call(
                "bad_reduction",
                lambda x, t: nnf(x).multilabel_soft_margin_loss(x, t, reduction="avg"),
            ),
        ),
    ),
    _unary(
        "F_multilabel_soft_margin_loss_weight",
        lambda x: nnf(x).multilabel_soft_margin_loss(
            x, const(x, _LABELS), const(x, _CLASS_W), reduction="none"
        ),
        shapes=(((3, 4),),),
    ),
    _unary(
        "F_hinge_embedding_loss",
        lambda x: nnf(x).hinge_embedding_loss(x, const(x, _HINGE_T)),
        "nokink",
        shapes=(((3, 4),),),
        bad=(
            bad_call(
                "bad_reduction",
                lambda x: nnf(x).hinge_embedding_loss(x, const(x, _HINGE_T), reduction="avg"),
            ),
            bad_call(
                "target_shape",
                lambda x: nnf(x).hinge_embedding_loss(x, const(x, np.ones((3, 5)))),
            ),
        ),
    ),
    _unary(
        "F_hinge_embedding_loss_margin",
        lambda x: nnf(x).hinge_embedding_loss(
            x, const(x, _HINGE_T[1]), margin=0.5, reduction="none"
        ),
        "nokink",
        shapes=(((3, 4),),),
    ),
    _unary(
        "F_multilabel_margin_loss",
        lambda x: nnf(x).multilabel_margin_loss(x, const(x, _ML_TARGET)),
        "distinct",
        NO_GG,  # PyTorch's multilabel_margin_loss_backward has no derivative, nor has ours
        shapes=(((3, 4),),),
        bad=(
            bad_call(
                "bad_reduction",
                lambda x: nnf(x).multilabel_margin_loss(x, const(x, _ML_TARGET), reduction="a"),
            ),
            bad_call(
                "target_out_of_range",
                lambda x: nnf(x).multilabel_margin_loss(x, const(x, _ML_TARGET + 2)),
            ),
            bad_call(
                "target_below_minus_one",
                lambda x: nnf(x).multilabel_margin_loss(x, const(x, _ML_TARGET - 1)),
            ),
            bad_call(
                "float_target",
                lambda x: nnf(x).multilabel_margin_loss(x, x.detach() * 0),
            ),
            bad_call(
                "target_shape",
                lambda x: nnf(x).multilabel_margin_loss(x, const(x, _ML_TARGET[:, :3])),
            ),
        ),
    ),
    _unary(
        "F_multilabel_margin_loss_none",
        lambda x: nnf(x).multilabel_margin_loss(x, const(x, _ML_TARGET), reduction="none"),
        "distinct",
        NO_GG,
        shapes=(((3, 4),),),
    ),
    _unary(
        "F_multilabel_margin_loss_1d",
        lambda x: nnf(x).multilabel_margin_loss(x, const(x, _ML_TARGET_1D), reduction="sum"),
        "distinct",
        NO_GG,
        shapes=(((4,),),),
    ),
    OpSpec(
        "F_triplet_margin_with_distance_loss",
        lambda a, p, n: nnf(a).triplet_margin_with_distance_loss(a, p, n, margin=2.0),
        F3 + (((4,), (4,), (4,)),),
        bad=(
            bad_call(
                "bad_reduction",
                lambda a, p, n: nnf(a).triplet_margin_with_distance_loss(a, p, n, reduction="x"),
            ),
            bad_call(
                "bad_margin",
                lambda a, p, n: nnf(a).triplet_margin_with_distance_loss(a, p, n, margin=0.0),
            ),
            BadInput("rank_differs", lambda arrs: [arrs[0], arrs[1], arrs[2][0]]),
        ),
    ),
    OpSpec(
        "F_triplet_margin_with_distance_loss_swap",
        lambda a, p, n: nnf(a).triplet_margin_with_distance_loss(
            a, p, n, swap=True, margin=1.5, reduction="none"
        ),
        F3,
    ),
    OpSpec(
        "F_triplet_margin_with_distance_loss_cosine",
        lambda a, p, n: nnf(a).triplet_margin_with_distance_loss(
            a,
            p,
            n,
            distance_function=lambda u, v: 1.0 - nnf(u).cosine_similarity(u, v),
            margin=1.5,
            reduction="sum",
        ),
        F3,
    ),
    # smooth L1 / Huber: one node for every reduction (SmoothL1LossBackward0 /
    # HuberLossBackward0); beta = 0 is PyTorch's composed L1; a weight multiplies the
    # unreduced node's output
    OpSpec(
        "F_smooth_l1_loss_none",
        lambda a, b: nnf(a).smooth_l1_loss(a, b, reduction="none", beta=0.5),
        (B2,),
        "distinct",
    ),
    OpSpec(
        "F_smooth_l1_loss_sum",
        lambda a, b: nnf(a).smooth_l1_loss(a, b, reduction="sum"),
        (B2, ((2, 3, 4), (2, 3, 4))),
        "distinct",
    ),
    OpSpec(
        "F_smooth_l1_loss_beta0",
        lambda a, b: nnf(a).smooth_l1_loss(a, b, beta=0.0),
        (B2,),
        "distinct",
        checks=NO_GG,  # L1: its second derivative is 0 (|d| has no curvature off 0)
    ),
    OpSpec(
        "F_huber_loss_none",
        lambda a, b: nnf(a).huber_loss(a, b, reduction="none", delta=0.7),
        (B2,),
        "distinct",
    ),
    OpSpec(
        "F_huber_loss_sum",
        lambda a, b: nnf(a).huber_loss(a, b, reduction="sum"),
        (B2, ((5,), (5,))),
        "distinct",
    ),
    OpSpec(
        "F_huber_loss_weight",
        lambda a, b: nnf(a).huber_loss(
            a, b, delta=0.7, weight=const(a, _CLASS_W[None, :] + 0 * _SIGNS)
        ),
        (B2,),
        "distinct",
    ),
    OpSpec(
        "F_multi_margin_loss",
        lambda x: nnf(x).multi_margin_loss(x, const(x, _MM_TARGET)),
        (((3, 4),),),
        "distinct",
        checks=NO_GG,  # PyTorch's multi_margin_loss_backward has no derivative, nor has ours
        bad=(
            bad_call("p_three", lambda x: nnf(x).multi_margin_loss(x, const(x, _MM_TARGET), 3)),
            bad_call(
                "target_range", lambda x: nnf(x).multi_margin_loss(x, const(x, _MM_TARGET + 1))
            ),
        ),
    ),
    OpSpec(
        "F_multi_margin_loss_p2_weight_sum",
        lambda x: nnf(x).multi_margin_loss(
            x, const(x, _MM_TARGET), p=2, margin=0.7, weight=const(x, _CLASS_W), reduction="sum"
        ),
        (((3, 4),),),
        "distinct",
        checks=NO_GG,
    ),
    OpSpec(
        "F_multi_margin_loss_none",
        lambda x: nnf(x).multi_margin_loss(x, const(x, _MM_TARGET), margin=2.0, reduction="none"),
        (((3, 4),),),
        "distinct",
        checks=NO_GG,
    ),
    OpSpec(
        "F_multi_margin_loss_1d",
        lambda x: nnf(x).multi_margin_loss(x, const(x, _MM_TARGET[:1])),
        (((4,),),),
        "distinct",
        checks=NO_GG,
    ),
    OpSpec(
        "F_soft_margin_loss_sum_bcast",
        lambda x: nnf(x).soft_margin_loss(x * 3, const(x, _SIGNS[1]), reduction="sum"),
        (((3, 4),),),
    ),
]
