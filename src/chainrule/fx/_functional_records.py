"""How torch.fx records a call of a ``torch.nn.functional`` function on traced values, so
that chainrule's trace records ``F.<name>`` the same way.

torch's functionals are written in Python and hand a traced call on to
``handle_torch_function(<name>, (tensors...), <leading arguments>, <name>=<name>, ...)``:
the trace records the leading arguments positionally and every other one by keyword,
defaults included (``F.softmax(x, -1)`` is recorded as ``softmax(x, dim = -1,
_stacklevel = 3, dtype = None)``). :data:`RECORDS` is that form for each function whose
signature chainrule shares, read from torch 2.13's source (``tests/fx/
test_functional_records_session39.py`` reads it again from the installed torch and compares).
"""

from __future__ import annotations

import sys
from typing import Any

from .node import FUNCTIONAL_ONLY

__all__ = ["RECORDS", "ROOT_RECORDS", "functional_records"]

# name -> (the arguments torch passes on positionally, the others with their defaults, in
# the order torch passes them)
RECORDS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "adaptive_avg_pool2d": (("input", "output_size"), {}),
    "adaptive_avg_pool3d": (("input", "output_size"), {}),
    "adaptive_max_pool1d_with_indices": (("input", "output_size"), {"return_indices": False}),
    "adaptive_max_pool2d_with_indices": (("input", "output_size"), {"return_indices": False}),
    "adaptive_max_pool3d_with_indices": (("input", "output_size"), {"return_indices": False}),
    "affine_grid": (("theta", "size"), {"align_corners": None}),
    "alpha_dropout": (("input",), {"p": 0.5, "training": False, "inplace": False}),
    "batch_norm": (
        ("input", "running_mean", "running_var"),
        {"weight": None, "bias": None, "training": False, "momentum": 0.1, "eps": 1e-05},
    ),
    "binary_cross_entropy": (
        ("input", "target"),
        {"weight": None, "size_average": None, "reduce": None, "reduction": "mean"},
    ),
    "binary_cross_entropy_with_logits": (
        ("input", "target"),
        {
            "weight": None,
            "size_average": None,
            "reduce": None,
            "reduction": "mean",
            "pos_weight": None,
        },
    ),
    "celu": (("input",), {"alpha": 1.0, "inplace": False}),
    "cosine_embedding_loss": (
        ("input1", "input2", "target"),
        {"margin": 0, "size_average": None, "reduce": None, "reduction": "mean"},
    ),
    "cross_entropy": (
        ("input", "target"),
        {
            "weight": None,
            "size_average": None,
            "ignore_index": -100,
            "reduce": None,
            "reduction": "mean",
            "label_smoothing": 0.0,
        },
    ),
    "ctc_loss": (
        ("log_probs", "targets", "input_lengths", "target_lengths"),
        {"blank": 0, "reduction": "mean", "zero_infinity": False},
    ),
    "dropout": (("input",), {"p": 0.5, "training": True, "inplace": False}),
    "dropout1d": (("input",), {"p": 0.5, "training": True, "inplace": False}),
    "dropout2d": (("input",), {"p": 0.5, "training": True, "inplace": False}),
    "dropout3d": (("input",), {"p": 0.5, "training": True, "inplace": False}),
    "elu": (("input",), {"alpha": 1.0, "inplace": False}),
    "embedding": (
        ("input", "weight"),
        {
            "padding_idx": None,
            "max_norm": None,
            "norm_type": 2.0,
            "scale_grad_by_freq": False,
            "sparse": False,
        },
    ),
    "embedding_bag": (
        ("input", "weight"),
        {
            "offsets": None,
            "max_norm": None,
            "norm_type": 2,
            "scale_grad_by_freq": False,
            "mode": "mean",
            "sparse": False,
            "per_sample_weights": None,
            "include_last_offset": False,
            "padding_idx": None,
        },
    ),
    "feature_alpha_dropout": (("input",), {"p": 0.5, "training": False, "inplace": False}),
    "fold": (("input", "output_size", "kernel_size"), {"dilation": 1, "padding": 0, "stride": 1}),
    "fractional_max_pool2d_with_indices": (
        ("input", "kernel_size"),
        {
            "output_size": None,
            "output_ratio": None,
            "return_indices": False,
            "_random_samples": None,
        },
    ),
    "fractional_max_pool3d_with_indices": (
        ("input", "kernel_size"),
        {
            "output_size": None,
            "output_ratio": None,
            "return_indices": False,
            "_random_samples": None,
        },
    ),
    "gaussian_nll_loss": (
        ("input", "target", "var"),
        {"full": False, "eps": 1e-06, "reduction": "mean"},
    ),
    "glu": (("input",), {"dim": -1}),
    "grid_sample": (
        ("input", "grid"),
        {"mode": "bilinear", "padding_mode": "zeros", "align_corners": None},
    ),
    "group_norm": (("input", "num_groups"), {"weight": None, "bias": None, "eps": 1e-05}),
    "gumbel_softmax": (("logits",), {"tau": 1, "hard": False, "eps": 1e-10, "dim": -1}),
    "hardsigmoid": (("input",), {"inplace": False}),
    "hardswish": (("input",), {"inplace": False}),
    "hardtanh": (("input",), {"min_val": -1.0, "max_val": 1.0, "inplace": False}),
    "hinge_embedding_loss": (
        ("input", "target"),
        {"margin": 1.0, "size_average": None, "reduce": None, "reduction": "mean"},
    ),
    "huber_loss": (("input", "target"), {"reduction": "mean", "delta": 1.0, "weight": None}),
    "instance_norm": (
        ("input",),
        {
            "running_mean": None,
            "running_var": None,
            "weight": None,
            "bias": None,
            "use_input_stats": True,
            "momentum": 0.1,
            "eps": 1e-05,
        },
    ),
    "interpolate": (
        ("input",),
        {
            "size": None,
            "scale_factor": None,
            "mode": "nearest",
            "align_corners": None,
            "recompute_scale_factor": None,
            "antialias": False,
        },
    ),
    "kl_div": (
        ("input", "target"),
        {"size_average": None, "reduce": None, "reduction": "mean", "log_target": False},
    ),
    "layer_norm": (("input", "normalized_shape"), {"weight": None, "bias": None, "eps": 1e-05}),
    "leaky_relu": (("input",), {"negative_slope": 0.01, "inplace": False}),
    "linear_cross_entropy": (
        ("input", "linear_weight", "target"),
        {
            "linear_bias": None,
            "weight": None,
            "reduction": "mean",
            "ignore_index": None,
            "label_smoothing": 0.0,
            "options": None,
        },
    ),
    "local_response_norm": (("input", "size"), {"alpha": 0.0001, "beta": 0.75, "k": 1.0}),
    "log_softmax": (("input",), {"dim": None, "_stacklevel": 3, "dtype": None}),
    "lp_pool1d": (("input", "norm_type", "kernel_size"), {"stride": None, "ceil_mode": False}),
    "lp_pool2d": (("input", "norm_type", "kernel_size"), {"stride": None, "ceil_mode": False}),
    "lp_pool3d": (("input", "norm_type", "kernel_size"), {"stride": None, "ceil_mode": False}),
    "margin_ranking_loss": (
        ("input1", "input2", "target"),
        {"margin": 0, "size_average": None, "reduce": None, "reduction": "mean"},
    ),
    "max_pool1d_with_indices": (
        ("input", "kernel_size"),
        {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False},
    ),
    "max_pool2d_with_indices": (
        ("input", "kernel_size"),
        {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False},
    ),
    "max_pool3d_with_indices": (
        ("input", "kernel_size"),
        {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False},
    ),
    "max_unpool1d": (
        ("input", "indices", "kernel_size"),
        {"stride": None, "padding": 0, "output_size": None},
    ),
    "max_unpool2d": (
        ("input", "indices", "kernel_size"),
        {"stride": None, "padding": 0, "output_size": None},
    ),
    "max_unpool3d": (
        ("input", "indices", "kernel_size"),
        {"stride": None, "padding": 0, "output_size": None},
    ),
    "mish": (("input",), {"inplace": False}),
    "mse_loss": (
        ("input", "target"),
        {"size_average": None, "reduce": None, "reduction": "mean", "weight": None},
    ),
    "multi_margin_loss": (
        ("input", "target"),
        {
            "p": 1,
            "margin": 1.0,
            "weight": None,
            "size_average": None,
            "reduce": None,
            "reduction": "mean",
        },
    ),
    "multilabel_margin_loss": (
        ("input", "target"),
        {"size_average": None, "reduce": None, "reduction": "mean"},
    ),
    "multilabel_soft_margin_loss": (
        ("input", "target"),
        {"weight": None, "size_average": None, "reduce": None, "reduction": "mean"},
    ),
    "nll_loss": (
        ("input", "target"),
        {
            "weight": None,
            "size_average": None,
            "ignore_index": -100,
            "reduce": None,
            "reduction": "mean",
        },
    ),
    "normalize": (("input",), {"p": 2.0, "dim": 1, "eps": 1e-12, "out": None}),
    "pad": (("input", "pad"), {"mode": "constant", "value": None}),
    "poisson_nll_loss": (
        ("input", "target"),
        {
            "log_input": True,
            "full": False,
            "size_average": None,
            "eps": 1e-08,
            "reduce": None,
            "reduction": "mean",
        },
    ),
    "relu": (("input",), {"inplace": False}),
    "relu6": (("input",), {"inplace": False}),
    "rms_norm": (("input", "normalized_shape"), {"weight": None, "eps": None}),
    "rrelu": (
        ("input",),
        {"lower": 0.125, "upper": 0.3333333333333333, "training": False, "inplace": False},
    ),
    "selu": (("input",), {"inplace": False}),
    "silu": (("input",), {"inplace": False}),
    "smooth_l1_loss": (
        ("input", "target"),
        {"size_average": None, "reduce": None, "reduction": "mean", "beta": 1.0},
    ),
    "soft_margin_loss": (
        ("input", "target"),
        {"size_average": None, "reduce": None, "reduction": "mean"},
    ),
    "softmax": (("input",), {"dim": None, "_stacklevel": 3, "dtype": None}),
    "softmin": (("input",), {"dim": None, "_stacklevel": 3, "dtype": None}),
    "softsign": (("input",), {}),
    "tanhshrink": (("input",), {}),
    "triplet_margin_loss": (
        ("anchor", "positive", "negative"),
        {
            "margin": 1.0,
            "p": 2,
            "eps": 1e-06,
            "swap": False,
            "size_average": None,
            "reduce": None,
            "reduction": "mean",
        },
    ),
    "triplet_margin_with_distance_loss": (
        ("anchor", "positive", "negative"),
        {"distance_function": None, "margin": 1.0, "swap": False, "reduction": "mean"},
    ),
    "unfold": (("input", "kernel_size"), {"dilation": 1, "padding": 0, "stride": 1}),
}


REQUIRED = object()  # a keyword torch passes on that has no default (the call must give it)

# the same for root functions written in torch/functional.py (``torch.functional.cdist``)
# whose signature chainrule shares
ROOT_RECORDS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "cdist": (("x1", "x2"), {"p": 2.0, "compute_mode": "use_mm_for_euclid_dist_if_necessary"}),
    "lu": (("A",), {"pivot": True, "get_infos": False, "out": None}),
    "tensordot": (("a", "b"), {"dims": 2, "out": None}),
    "unique_consecutive": (
        ("input",),
        {"return_inverse": False, "return_counts": False, "dim": None},
    ),
    "unravel_index": (("indices",), {"shape": REQUIRED}),
}


def _is_functional(func: Any, name: str) -> bool:
    """Whether ``func`` is ``chainrule.nn.functional.<name>`` (or its dispatch wrapper)
    and not also ``chainrule.<name>``: where chainrule binds one object to both
    (``layer_norm``, ``selu``), the trace cannot tell ``F.layer_norm(...)`` from
    ``torch.layer_norm(...)``, which torch records as given, and records it so."""
    public = getattr(sys.modules.get("chainrule.nn.functional"), name, None)
    if public is None:
        return False
    if name not in FUNCTIONAL_ONLY and getattr(sys.modules.get("chainrule"), name, None) is public:
        return False
    unwrap = "__torch_function_wrapped__"
    return func is public or getattr(func, unwrap, func) is getattr(public, unwrap, public)


def functional_records(func: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The ``(args, kwargs)`` torch's trace records for the call ``func(*args,
    **kwargs)`` of a functional of :data:`RECORDS`; any other call (or one whose
    arguments do not bind: its own error will say) as given."""
    name = getattr(func, "__name__", "")
    rule = RECORDS.get(name)
    if rule is None or not _is_functional(func, name):
        rule = ROOT_RECORDS.get(name)
        if rule is None or getattr(sys.modules.get("chainrule"), name, None) is not func:
            return args, kwargs
    positional, keywords = rule
    names = [*positional, *keywords]
    if len(args) > len(names):
        return args, kwargs
    bound = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k in bound or k not in names:
            return args, kwargs
        bound[k] = v
    if any(p not in bound for p in positional):
        return args, kwargs
    if any(default is REQUIRED and k not in bound for k, default in keywords.items()):
        return args, kwargs
    return tuple(bound[p] for p in positional), {
        k: bound.get(k, default) for k, default in keywords.items()
    }
