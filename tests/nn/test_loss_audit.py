"""Loss functions against PyTorch: the differences an audit of ``torch.nn.functional``'s
losses found (each fixed case says what chainrule did before), and a sample of the cases
that already agreed, so that a regression in either shows.

Every case runs the same float64 (or stated dtype) data through both libraries and
compares the value, its dtype and shape, the warnings' categories, and the gradients of a
random weighted sum of the result with respect to every floating argument that takes one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(1234)


class G:
    """An array that enters the loss as a leaf requiring grad (in both libraries)."""

    def __init__(self, a: np.ndarray) -> None:
        self.a = a


def _convert(v: Any, lib: Any, leaves: list) -> Any:
    if isinstance(v, G):
        t = lib.tensor(v.a.copy(), requires_grad=True)
        leaves.append(t)
        return t
    if isinstance(v, np.ndarray):
        return lib.tensor(v.copy())
    return v


def _run(lib: Any, fn: Callable, args: list, kwargs: dict, double: bool) -> dict:
    """Call ``fn(lib)`` on ``args``/``kwargs`` converted to ``lib``'s tensors: the value,
    dtype, warnings, first (and with ``double`` second) derivatives."""
    leaves: list = []
    a = [_convert(v, lib, leaves) for v in args]
    k = {n: _convert(v, lib, leaves) for n, v in kwargs.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(lib)(*a, **k)
    res = {
        "value": out.detach().numpy(),
        "dtype": str(out.dtype).removeprefix("torch."),
        "warnings": sorted({w.category.__name__ for w in caught}),
    }
    if leaves and out.requires_grad:
        w = lib.tensor(np.random.default_rng(7).standard_normal(tuple(out.shape))).to(out.dtype)
        grads = lib.autograd.grad((out * w).sum(), leaves, create_graph=double, allow_unused=True)
        res["grads"] = [None if g is None else g.detach().numpy() for g in grads]
        res["grad_dtypes"] = [None if g is None else str(g.dtype) for g in grads]
        if double:  # a gradient that does not depend on the inputs has a zero second one
            squares = [(g * g).sum() for g in grads if g is not None and g.requires_grad]
            gg = lib.autograd.grad(sum(squares), leaves, allow_unused=True) if squares else leaves
            res["second"] = [
                None if g is None or g is t else g.detach().numpy()
                for g, t in zip(gg, leaves, strict=True)
            ]
    return res


def _compare(fn: Callable, args: list, kwargs: dict | None = None, *, double=False, tol=1e-10):
    kwargs = kwargs or {}
    want = _run(torch, fn, args, kwargs, double)
    got = _run(cr, fn, args, kwargs, double)
    assert got["dtype"] == want["dtype"]
    assert got["value"].shape == want["value"].shape
    np.testing.assert_allclose(got["value"], want["value"], rtol=tol, atol=tol)
    assert got["warnings"] == want["warnings"]
    for key in ("grads", "second"):
        assert (key in got) == (key in want), key
        for g, t in zip(got.get(key, []), want.get(key, []), strict=True):
            if t is None or g is None:  # one side may skip a zero gradient
                assert not np.any(t if g is None else g)
                continue
            np.testing.assert_allclose(g, t, rtol=max(tol, 1e-9), atol=max(tol, 1e-9))
    assert got.get("grad_dtypes") == want.get("grad_dtypes")


def F(name: str, **fixed: Any) -> Callable:
    """``lib.nn.functional.<name>`` with ``fixed`` keyword arguments."""
    return lambda lib: lambda *a, **k: getattr(lib.nn.functional, name)(*a, **k, **fixed)


def _raises(fn: Callable, args: list, kwargs: dict | None = None) -> tuple:
    """The exception each library raises (torch's first): both must raise."""
    errors = []
    for lib in (torch, cr):
        leaves: list = []
        a = [_convert(v, lib, leaves) for v in args]
        k = {n: _convert(v, lib, leaves) for n, v in (kwargs or {}).items()}
        with pytest.raises(Exception) as info:  # noqa: PT011 - the type is compared below
            fn(lib)(*a, **k)
        errors.append(info.value)
    return tuple(errors)


def _n(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def _u(*shape: int) -> np.ndarray:
    return np.asarray(RNG.uniform(0.05, 0.95, shape))


def _sign(*shape: int) -> np.ndarray:
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0)


# ------------------------------------------------------------------ fixed differences
FIXED = {
    # cross_entropy with probabilities: float32 logits and a float64 target gave float32
    "ce_prob_f32_logits_f64_target": (
        F("cross_entropy"),
        [G(_n(3, 4).astype(np.float32)), _u(3, 4)],
        {},
    ),
    "ce_prob_f32_logits_f64_target_ls_w": (
        F("cross_entropy", label_smoothing=0.2, reduction="none"),
        [G(_n(2, 4, 3).astype(np.float32)), _u(2, 4, 3)],
        {"weight": _u(4).astype(np.float32)},
    ),
    # kl_div, multilabel_soft_margin_loss: a float64 target gave a float32 loss
    "kl_div_f32_f64": (
        F("kl_div", reduction="sum"),
        [G(_n(3, 4).astype(np.float32)), _u(3, 4)],
        {},
    ),
    "kl_div_f64_f32_log_target": (
        F("kl_div", reduction="batchmean", log_target=True),
        [G(_n(3, 4)), G(np.log(_u(3, 4)).astype(np.float32))],
        {},
    ),
    "mlsm_f32_f64": (
        F("multilabel_soft_margin_loss"),
        [G(_n(3, 4).astype(np.float32)), (_u(3, 4) > 0.5).astype(np.float64)],
        {},
    ),
    # mse/l1/smooth_l1 of an integer input against a floating target raised DtypeError
    "mse_int_input_f64_target": (F("mse_loss"), [RNG.integers(0, 5, (3, 4)), G(_n(3, 4))], {}),
    "l1_int_input_f32_target": (
        F("l1_loss", reduction="sum"),
        [RNG.integers(0, 5, (3, 4)), G(_n(3, 4).astype(np.float32))],
        {},
    ),
    "smooth_l1_bool_input": (F("smooth_l1_loss", beta=0.5), [_n(3, 4) > 0, G(_n(3, 4))], {}),
    # cosine_embedding_loss refused inputs that broadcast; its hinge used relu's zero
    # gradient at cos = margin where PyTorch's clamp_min passes it (zero input, y = -1)
    "cosine_broadcast_input2": (
        F("cosine_embedding_loss", reduction="none"),
        [G(_n(3, 4)), G(_n(1, 4)), _sign(3)],
        {},
    ),
    "cosine_broadcast_input1_target": (
        F("cosine_embedding_loss", margin=0.2),
        [G(_n(1, 4)), G(_n(3, 4)), _sign(1)],
        {},
    ),
    "cosine_broadcast_column": (
        F("cosine_embedding_loss", reduction="sum"),
        [G(_n(3, 4)), G(_n(3, 1)), _sign(3)],
        {},
    ),
    "cosine_zero_input_kink": (
        F("cosine_embedding_loss", reduction="none"),
        [G(np.zeros((2, 4))), G(_n(2, 4)), np.array([1.0, -1.0])],
        {},
    ),
    # margin_ranking_loss / triplet_margin_loss: at the hinge's kink PyTorch's clamp_min
    # passes the gradient (relu gave 0)
    "margin_ranking_kink": (
        F("margin_ranking_loss", reduction="none"),
        [G(np.array([1.0, 2.0, -1.0])), G(np.array([1.0, 2.0, 0.5])), np.array([1.0, -1.0, 1.0])],
        {},
    ),
    # margin_ranking_loss / triplet_margin_loss raised NotImplementedError for the legacy
    # size_average / reduce, which PyTorch reads (with its UserWarning)
    "margin_ranking_legacy_sum": (
        F("margin_ranking_loss", size_average=False),
        [G(_n(5)), G(_n(5)), _sign(5)],
        {},
    ),
    "margin_ranking_legacy_none": (
        F("margin_ranking_loss", reduce=False, margin=0.3),
        [G(_n(5)), G(_n(5)), _sign(5)],
        {},
    ),
    "triplet_legacy_sum": (
        F("triplet_margin_loss", size_average=False, margin=2.0),
        [G(_n(3, 4)), G(_n(3, 4)), G(_n(3, 4))],
        {},
    ),
    "triplet_legacy_none": (
        F("triplet_margin_loss", reduce=False, size_average=True),
        [G(_n(3, 4)), G(_n(3, 4)), G(_n(3, 4))],
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(FIXED))
def test_fixed_against_torch(case):
    fn, args, kwargs = FIXED[case]
    _compare(fn, args, kwargs, tol=1e-6)


def test_cross_entropy_all_ignored_mean_second_derivative_is_zero():
    # every target ignored: the 'mean' loss is NaN, its gradient 0 and (fixed) the second
    # derivative 0 as PyTorch's, where chainrule's double backward gave NaN
    for shape, target in (((5,), np.array(-100)), ((3, 1), np.array([0, 0, 0]))):
        ignore = -100 if target.ndim == 0 else 0
        for ls in (0.0, 0.1):
            _compare(
                F("cross_entropy", ignore_index=ignore, label_smoothing=ls),
                [G(_n(*shape)), target],
                double=True,
            )


ERRORS = {
    # silently computed before: a weight of the wrong size, an (N, 1) target
    "multi_margin_weight_size": (
        F("multi_margin_loss"),
        [G(_n(3, 4)), np.array([0, 1, 2])],
        {"weight": _u(3)},
    ),
    "multi_margin_2d_target": (
        F("multi_margin_loss"),
        [G(_n(3, 4)), np.array([[0], [1], [2]])],
        {},
    ),
    "multi_margin_float_target": (F("multi_margin_loss"), [G(_n(3, 4)), np.array([0.0, 1, 2])], {}),
    # an integer input or target: PyTorch refuses ("Integral inputs not supported")
    "kl_div_int_target": (F("kl_div"), [G(_n(3, 4)), RNG.integers(0, 2, (3, 4))], {}),
    "kl_div_int_input": (F("kl_div"), [RNG.integers(0, 2, (3, 4)), _u(3, 4)], {}),
    # inputs of different ranks: PyTorch refuses, chainrule broadcast them
    "triplet_1d_anchor_2d_rest": (
        F("triplet_margin_loss"),
        [G(_n(4)), G(_n(3, 4)), G(_n(3, 4))],
        {},
    ),
    "triplet_2d_negative_1d": (F("triplet_margin_loss"), [G(_n(3, 4)), G(_n(3, 4)), G(_n(4))], {}),
    "cosine_1d_2d": (F("cosine_embedding_loss"), [G(_n(3, 4)), G(_n(4)), _sign(3)], {}),
    "cosine_1d_target_1d_inputs": (F("cosine_embedding_loss"), [G(_n(4)), G(_n(4)), _sign(1)], {}),
    "cosine_3d": (F("cosine_embedding_loss"), [G(_n(2, 3, 4)), G(_n(2, 3, 4)), _sign(2, 3)], {}),
    "cosine_no_broadcast": (F("cosine_embedding_loss"), [G(_n(3, 4)), G(_n(2, 4)), _sign(3)], {}),
    # already agreeing
    "ce_class_out_of_range": (F("cross_entropy"), [G(_n(3, 4)), np.array([0, 4, 1])], {}),
    "ce_int32_target": (F("cross_entropy"), [G(_n(3, 4)), np.array([0, 1, 2], np.int32)], {}),
    "ce_label_smoothing_above_1": (
        F("cross_entropy", label_smoothing=1.5),
        [G(_n(3, 4)), np.array([0, 1, 2])],
        {},
    ),
    "nll_weight_dtype": (
        F("nll_loss"),
        [G(_n(3, 4)), np.array([0, 1, 2])],
        {"weight": _u(4).astype(np.float32)},
    ),
    "bce_input_above_1": (F("binary_cross_entropy"), [G(_n(3, 4) + 2), _u(3, 4)], {}),
    "bce_with_logits_shape": (F("binary_cross_entropy_with_logits"), [G(_n(3, 4)), _u(4)], {}),
    "huber_delta_0": (F("huber_loss", delta=0.0), [G(_n(3)), _n(3)], {}),
    "smooth_l1_negative_beta": (F("smooth_l1_loss", beta=-1.0), [G(_n(3)), _n(3)], {}),
    "gaussian_var_bad_shape": (F("gaussian_nll_loss"), [G(_n(3, 4)), _n(3, 4), _u(2, 4)], {}),
    "gaussian_0d_var": (F("gaussian_nll_loss"), [G(_n(3, 4)), _n(3, 4), _u()], {}),
    "gaussian_negative_var": (F("gaussian_nll_loss"), [G(_n(3, 4)), _n(3, 4), -_u(3, 4)], {}),
    "multilabel_margin_out_of_range": (
        F("multilabel_margin_loss"),
        [G(_n(2, 3)), np.array([[0, 3, -1], [1, -1, 0]])],
        {},
    ),
    "ctc_blank_out_of_range": (
        lambda lib: lambda lp, t: lib.nn.functional.ctc_loss(lp, t, [6, 6], [2, 2], blank=5),
        [G(np.log(np.full((6, 2, 5), 0.2))), np.array([[1, 2], [3, 4]])],
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_as_torch(case):
    fn, args, kwargs = ERRORS[case]
    want, got = _raises(fn, args, kwargs)
    assert isinstance(got, type(want)), (type(got), type(want), got)
    assert str(got)


def test_multi_margin_float_target_is_still_a_type_error():
    # PyTorch's RuntimeError, and the TypeError chainrule raised before
    with pytest.raises(TypeError, match="multi_margin_loss"):
        cr.nn.functional.multi_margin_loss(cr.randn(3, 4), cr.tensor([0.0, 1.0, 2.0]))


# ------------------------------------------------------------------ agreeing sample
def _agreeing() -> dict:
    cases: dict = {}
    x4 = _n(2, 5, 3, 2)
    t4 = RNG.integers(0, 5, (2, 3, 2))
    t4[0, 0, 0] = -100
    for red in ("none", "mean", "sum"):
        cases[f"ce_kdim_w_ls_{red}"] = (
            F("cross_entropy", reduction=red, label_smoothing=0.1),
            [G(x4), t4],
            {"weight": _u(5)},
        )
        cases[f"ce_prob_kdim_{red}"] = (
            F("cross_entropy", reduction=red),
            [G(x4), G(_u(2, 5, 3, 2))],
            {"weight": G(_u(5))},
        )
        cases[f"nll_ignore_{red}"] = (
            F("nll_loss", reduction=red, ignore_index=2),
            [G(_n(4, 5)), np.array([2, 0, 4, 2])],
            {"weight": _u(5)},
        )
        cases[f"bce_weight_{red}"] = (
            F("binary_cross_entropy", reduction=red),
            [G(_u(3, 4)), G(_u(3, 4))],
            {"weight": _u(4)},
        )
        cases[f"bce_logits_pos_weight_{red}"] = (
            F("binary_cross_entropy_with_logits", reduction=red),
            [G(_n(3, 4) * 5), G(_u(3, 4))],
            {"weight": _u(3, 1), "pos_weight": _u(4) + 0.5},
        )
        cases[f"smooth_l1_beta0_{red}"] = (
            F("smooth_l1_loss", reduction=red, beta=0.0),
            [G(_n(3, 4)), G(_n(3, 4))],
            {},
        )
        cases[f"huber_{red}"] = (
            F("huber_loss", reduction=red, delta=0.5),
            [G(_n(3, 4)), G(_n(3, 4))],
            {},
        )
        cases[f"poisson_full_{red}"] = (
            F("poisson_nll_loss", reduction=red, log_input=False, full=True, eps=1e-3),
            [G(_u(3, 4) * 3), G(RNG.integers(2, 6, (3, 4)).astype(np.float64))],
            {},
        )
        cases[f"hinge_{red}"] = (
            F("hinge_embedding_loss", reduction=red, margin=0.5),
            [G(_n(3, 4)), _sign(3, 4)],
            {},
        )
        cases[f"soft_margin_{red}"] = (
            F("soft_margin_loss", reduction=red),
            [G(_n(3, 4)), _sign(3, 4)],
            {},
        )
        cases[f"multilabel_margin_{red}"] = (
            F("multilabel_margin_loss", reduction=red),
            [G(_n(2, 4)), np.array([[3, 0, -1, 1], [1, 1, 2, 0]])],
            {},
        )
        cases[f"multi_margin_p2_{red}"] = (
            F("multi_margin_loss", reduction=red, p=2, margin=0.7),
            [G(_n(3, 4)), np.array([3, 0, 1])],
            {"weight": _u(4)},
        )
        cases[f"triplet_swap_p1_{red}"] = (
            F("triplet_margin_loss", reduction=red, p=1.0, swap=True, margin=0.5),
            [G(_n(3, 4)), G(_n(3, 4)), G(_n(3, 4))],
            {},
        )
        cases[f"ctc_concat_{red}"] = (
            lambda lib, red=red: (
                lambda lp, t: lib.nn.functional.ctc_loss(
                    lp, t, lib.tensor([8, 6]), lib.tensor([3, 0]), blank=4, reduction=red
                )
            ),
            [G(np.log(RNG.dirichlet(np.ones(5), (8, 2)))), np.array([1, 1, 2])],
            {},
        )
    cases["kl_batchmean_log_target"] = (
        F("kl_div", reduction="batchmean", log_target=True),
        [G(np.log(_u(3, 4))), G(np.log(_u(3, 4)))],
        {},
    )
    cases["kl_mean_warns"] = (F("kl_div"), [G(np.log(_u(3, 4))), G(_u(3, 4))], {})
    for vs in ((3, 4), (3, 1), (3,)):
        cases[f"gaussian_var{vs}"] = (
            F("gaussian_nll_loss", full=True),
            [G(_n(3, 4)), G(_n(3, 4)), G(_u(*vs) + 0.1)],
            {},
        )
    cases["mse_size_warning"] = (F("mse_loss"), [G(_n(3, 4)), G(_n(4))], {})
    cases["l1_legacy_reduce"] = (F("l1_loss", reduce=False), [G(_n(3, 4)), G(_n(3, 4))], {})
    cases["ce_legacy_size_average"] = (
        F("cross_entropy", size_average=False),
        [G(_n(3, 4)), np.array([0, 1, 3])],
        {},
    )
    cases["ce_unbatched"] = (
        F("cross_entropy", reduction="none", label_smoothing=0.2),
        [G(_n(5)), np.array(3)],
        {},
    )
    cases["twd_cosine"] = (
        lambda lib: (
            lambda a, p, n: lib.nn.functional.triplet_margin_with_distance_loss(
                a,
                p,
                n,
                distance_function=lambda u, v: 1 - lib.nn.functional.cosine_similarity(u, v),
                swap=True,
            )
        ),
        [G(_n(3, 4)), G(_n(3, 4)), G(_n(3, 4))],
        {},
    )
    return cases


AGREEING = _agreeing()
DOUBLE = ("ce_", "nll_", "bce_", "huber_", "poisson_", "gaussian_", "kl_")


@pytest.mark.parametrize("case", sorted(AGREEING))
def test_agreeing_sample(case):
    fn, args, kwargs = AGREEING[case]
    _compare(fn, args, kwargs, double=case.startswith(DOUBLE))


def test_modules_match_functional():
    x, t = _n(3, 4), np.array([0, 3, 1])
    _compare(
        lambda lib: lib.nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=3),
        [G(x), t],
    )
    _compare(lambda lib: lib.nn.MultiMarginLoss(p=2, margin=0.5), [G(x), t])
    _compare(lambda lib: lib.nn.CosineEmbeddingLoss(margin=0.1), [G(x), G(_n(1, 4)), _sign(3)])
    _compare(lambda lib: lib.nn.KLDivLoss(reduction="batchmean"), [G(x), G(_u(3, 4))])
