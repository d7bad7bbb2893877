"""Optimizer and LR-scheduler constructor errors match torch 2.13 (class and text).

Each case builds the same optimizer (or scheduler) in chainrule and in torch with one bad
hyperparameter; both must raise the same exception class with the same message, checked in
torch's order (so a case with two bad values reports the first one torch checks).
"""

from __future__ import annotations

import math

import pytest
import torch

import chainrule as cr

__all__: list[str] = []

NAN = math.nan


def _params(lib):
    return [lib.zeros(2, 2, requires_grad=True)]


def _raised(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return type(exc), str(exc).split("\n")[0]
    return None, None


def _compare(build):
    t_type, t_msg = _raised(lambda: build(torch))
    c_type, c_msg = _raised(lambda: build(cr))
    assert t_type is not None, "torch accepted the case; it is not an error case"
    assert c_type is t_type, (c_type, c_msg, t_type, t_msg)
    assert c_msg == t_msg


OPT_CASES = [
    ("SGD", {"lr": -1.0}),
    ("SGD", {"lr": 0.1, "momentum": -0.5}),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-3}),
    ("SGD", {"lr": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
    ("SGD", {"lr": -1.0, "momentum": -1.0}),
    ("Adam", {"lr": -1e-3}),
    ("Adam", {"lr": NAN}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (-0.1, 0.999)}),
    ("Adam", {"betas": (0.9, 1.0)}),
    ("Adam", {"betas": (0.9, NAN)}),
    ("Adam", {"weight_decay": -0.1}),
    ("Adam", {"betas": (0.9, 1)}),
    ("Adam", {"eps": -1.0, "betas": (2.0, 2.0)}),
    ("AdamW", {"lr": -1e-3}),
    ("AdamW", {"eps": -1.0}),
    ("AdamW", {"betas": (0.9, 1.5)}),
    ("AdamW", {"weight_decay": -0.1}),
    ("Adamax", {"lr": -1.0}),
    ("Adamax", {"eps": -1.0}),
    ("Adamax", {"betas": (1.0, 0.9)}),
    ("Adamax", {"betas": (0.9, 1.0)}),
    ("Adamax", {"weight_decay": -1.0}),
    ("NAdam", {"lr": -1.0}),
    ("NAdam", {"eps": -1.0}),
    ("NAdam", {"betas": (1.0, 0.9)}),
    ("NAdam", {"betas": (0.9, 1.0)}),
    ("NAdam", {"weight_decay": -1.0}),
    ("NAdam", {"momentum_decay": -1.0}),
    ("RAdam", {"lr": -1.0}),
    ("RAdam", {"eps": -1.0}),
    ("RAdam", {"betas": (1.0, 0.9)}),
    ("RAdam", {"betas": (0.9, 1.0)}),
    ("RAdam", {"weight_decay": -1.0}),
    ("Adagrad", {"lr": -1.0}),
    ("Adagrad", {"lr_decay": -1.0}),
    ("Adagrad", {"weight_decay": -1.0}),
    ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1.0}),
    ("Adadelta", {"lr": -1.0}),
    ("Adadelta", {"rho": 1.5}),
    ("Adadelta", {"rho": -0.1}),
    ("Adadelta", {"eps": -1.0}),
    ("Adadelta", {"weight_decay": -1.0}),
    ("RMSprop", {"lr": -1.0}),
    ("RMSprop", {"eps": -1.0}),
    ("RMSprop", {"momentum": -1.0}),
    ("RMSprop", {"weight_decay": -1.0}),
    ("RMSprop", {"alpha": -1.0}),
    ("Rprop", {"lr": -1.0}),
    ("Rprop", {"etas": (1.5, 1.2)}),
    ("Rprop", {"etas": (0.5, 0.9)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
    ("ASGD", {"lr": -1.0}),
    ("ASGD", {"weight_decay": -1.0}),
    ("LBFGS", {"lr": -1.0}),
    ("SparseAdam", {"lr": 0.0}),
    ("SparseAdam", {"lr": -1.0}),
    ("SparseAdam", {"eps": 0.0}),
    ("SparseAdam", {"betas": (1.0, 0.9)}),
    ("SparseAdam", {"betas": (0.9, 1.0)}),
    ("Adafactor", {"lr": -1.0}),
    ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"eps": (-1.0, 1e-3)}),
    ("Adafactor", {"eps": (None, -1e-3)}),
    ("Adafactor", {"d": 0.5}),
    ("Adafactor", {"weight_decay": -1.0}),
    ("Muon", {"lr": -1.0}),
    ("Muon", {"momentum": -1.0}),
    ("Muon", {"weight_decay": -1.0}),
    ("Muon", {"adjust_lr_fn": "bogus"}),
    ("Adam", {"lr": -1}),
    ("Adagrad", {"eps": -1.0, "lr_decay": -1.0}),
    ("RMSprop", {"alpha": -1.0, "momentum": -1.0}),
    ("NAdam", {"momentum_decay": -1.0, "weight_decay": -1.0}),
    ("Adadelta", {"eps": -1.0, "rho": 2.0}),
    ("Muon", {"weight_decay": -1.0, "momentum": -1.0}),
    ("Adafactor", {"d": 0.0, "beta2_decay": 0.5}),
    ("Adagrad", {"eps": NAN}),
    ("RMSprop", {"alpha": NAN}),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), OPT_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPT_CASES)]
)
def test_optimizer_argument_error_matches_torch(name, kwargs):
    _compare(lambda lib: getattr(lib.optim, name)(_params(lib), **kwargs))


TENSOR_LR_OPTS = [
    "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta",
    "RMSprop", "Rprop", "ASGD", "LBFGS", "SparseAdam", "Adafactor", "Muon",
]  # fmt: skip


@pytest.mark.parametrize("name", TENSOR_LR_OPTS)
def test_tensor_lr_with_several_elements(name):
    _compare(lambda lib: getattr(lib.optim, name)(_params(lib), lr=lib.tensor([0.1, 0.2])))


def test_adam_tensor_lr_with_foreach():
    _compare(lambda lib: lib.optim.Adam(_params(lib), lr=lib.tensor(0.1), foreach=True))


def test_adam_mixed_betas():
    _compare(lambda lib: lib.optim.Adam(_params(lib), betas=(lib.tensor(0.9), 0.999)))


def test_muon_refuses_a_1d_parameter():
    _compare(lambda lib: lib.optim.Muon([lib.zeros(3, requires_grad=True)]))


def test_adam_negative_tensor_lr():
    _compare(lambda lib: lib.optim.Adam(_params(lib), lr=lib.tensor(-0.5)))


@pytest.mark.parametrize("value", [NAN, -math.inf])
def test_sgd_takes_nan_but_not_negative(value):
    """PyTorch's SGD checks only ``value < 0``: NaN passes, -inf does not."""
    if math.isnan(value):
        kw = {"lr": value, "momentum": value, "weight_decay": value, "nesterov": True}
        opt_t = torch.optim.SGD(_params(torch), **kw)
        opt_c = cr.optim.SGD(_params(cr), **kw)
        assert math.isnan(opt_c.defaults["lr"]) and math.isnan(opt_t.defaults["lr"])
    else:
        _compare(lambda lib: lib.optim.SGD(_params(lib), lr=value))


def test_adam_tensor_betas_with_several_elements():
    _compare(
        lambda lib: lib.optim.Adam(
            _params(lib), betas=(lib.tensor([0.9, 0.9]), lib.tensor(0.999)), foreach=False
        )
    )


def test_string_lr_names_the_optimizer():
    """torch fails with a bare comparison TypeError; chainrule names the optimizer."""
    with pytest.raises(TypeError, match="Adam"):
        cr.optim.Adam(_params(cr), lr="0.1")


# ---- LR schedulers and swa_utils ---------------------------------------------------------


def _sgd(lib, groups=1):
    return lib.optim.SGD(
        [{"params": [lib.zeros(2, requires_grad=True)]} for _ in range(groups)],
        lr=0.1,
        momentum=0.9,
    )


def _rprop(lib):
    return lib.optim.Rprop(_params(lib), lr=0.1)


def _sched(lib):
    return lib.optim.lr_scheduler


SCHED_CASES = {
    "LambdaLR-count": lambda L: _sched(L).LambdaLR(_sgd(L, 2), [lambda e: 1.0]),
    "LambdaLR-not-callable": lambda L: _sched(L).LambdaLR(_sgd(L), 0.5),
    "MultiplicativeLR-count": lambda L: _sched(L).MultiplicativeLR(_sgd(L, 2), [lambda e: 1]),
    "MultiplicativeLR-not-callable": lambda L: _sched(L).MultiplicativeLR(_sgd(L), 0.5),
    "StepLR-not-optimizer": lambda L: _sched(L).StepLR(None, 3),
    "StepLR-resume-without-initial_lr": lambda L: _sched(L).StepLR(_sgd(L), 3, last_epoch=2),
    "MultiStepLR-not-optimizer": lambda L: _sched(L).MultiStepLR(3, [1, 2]),
    "ExponentialLR-not-optimizer": lambda L: _sched(L).ExponentialLR("opt", 0.9),
    "CosineAnnealingLR-not-optimizer": lambda L: _sched(L).CosineAnnealingLR([], 10),
    "PolynomialLR-not-optimizer": lambda L: _sched(L).PolynomialLR(None),
    "ConstantLR-factor-high": lambda L: _sched(L).ConstantLR(_sgd(L), factor=1.5),
    "ConstantLR-factor-negative": lambda L: _sched(L).ConstantLR(_sgd(L), factor=-0.1),
    "LinearLR-start-zero": lambda L: _sched(L).LinearLR(_sgd(L), start_factor=0.0),
    "LinearLR-start-high": lambda L: _sched(L).LinearLR(_sgd(L), start_factor=1.5),
    "LinearLR-end-high": lambda L: _sched(L).LinearLR(_sgd(L), end_factor=1.5),
    "LinearLR-end-negative": lambda L: _sched(L).LinearLR(_sgd(L), end_factor=-0.5),
    "SequentialLR-empty": lambda L: _sched(L).SequentialLR(_sgd(L), [], []),
    "SequentialLR-no-optimizer-attr": lambda L: _sched(L).SequentialLR(_sgd(L), [object()], []),
    "SequentialLR-plateau": lambda L: _seq_plateau(L, "SequentialLR"),
    "SequentialLR-milestones": lambda L: _seq_milestones(L),
    "ChainedScheduler-empty": lambda L: _sched(L).ChainedScheduler([]),
    "ChainedScheduler-no-optimizer-attr": lambda L: _sched(L).ChainedScheduler([object()]),
    "ChainedScheduler-plateau": lambda L: _seq_plateau(L, "ChainedScheduler"),
    "ReduceLROnPlateau-factor": lambda L: _sched(L).ReduceLROnPlateau(_sgd(L), factor=1.0),
    "ReduceLROnPlateau-not-optimizer": lambda L: _sched(L).ReduceLROnPlateau(None),
    "ReduceLROnPlateau-min_lr-count": lambda L: _sched(L).ReduceLROnPlateau(
        _sgd(L, 2), min_lr=[0.0]
    ),
    "ReduceLROnPlateau-mode": lambda L: _sched(L).ReduceLROnPlateau(_sgd(L), mode="maxx"),
    "ReduceLROnPlateau-threshold_mode": lambda L: _sched(L).ReduceLROnPlateau(
        _sgd(L), threshold_mode="relative"
    ),
    "CyclicLR-not-optimizer": lambda L: _sched(L).CyclicLR(None, 0.01, 0.1),
    "CyclicLR-base_lr-count": lambda L: _sched(L).CyclicLR(_sgd(L, 2), [0.01], 0.1),
    "CyclicLR-max_lr-count": lambda L: _sched(L).CyclicLR(_sgd(L, 2), 0.01, [0.1, 0.2, 0.3]),
    "CyclicLR-mode": lambda L: _sched(L).CyclicLR(_sgd(L), 0.01, 0.1, mode="bogus"),
    "CyclicLR-no-momentum": lambda L: _sched(L).CyclicLR(_rprop(L), 0.01, 0.1),
    "CyclicLR-base_momentum-count": lambda L: _sched(L).CyclicLR(
        _sgd(L, 2), 0.01, 0.1, base_momentum=[0.8]
    ),
    "CosineAnnealingWarmRestarts-T_0-zero": lambda L: _sched(L).CosineAnnealingWarmRestarts(
        _sgd(L), 0
    ),
    "CosineAnnealingWarmRestarts-T_0-float": lambda L: _sched(L).CosineAnnealingWarmRestarts(
        _sgd(L), 2.0
    ),
    "CosineAnnealingWarmRestarts-T_mult": lambda L: _sched(L).CosineAnnealingWarmRestarts(
        _sgd(L), 2, T_mult=0
    ),
    "CosineAnnealingWarmRestarts-T_mult-float": lambda L: _sched(L).CosineAnnealingWarmRestarts(
        _sgd(L), 2, T_mult=1.5
    ),
    "CosineAnnealingWarmRestarts-eta_min": lambda L: _sched(L).CosineAnnealingWarmRestarts(
        _sgd(L), 2, eta_min="0"
    ),
    "OneCycleLR-not-optimizer": lambda L: _sched(L).OneCycleLR(None, 0.1, total_steps=10),
    "OneCycleLR-total_steps": lambda L: _sched(L).OneCycleLR(_sgd(L), 0.1, total_steps=0),
    "OneCycleLR-total_steps-float": lambda L: _sched(L).OneCycleLR(_sgd(L), 0.1, total_steps=10.0),
    "OneCycleLR-epochs": lambda L: _sched(L).OneCycleLR(_sgd(L), 0.1, epochs=0, steps_per_epoch=3),
    "OneCycleLR-steps_per_epoch": lambda L: _sched(L).OneCycleLR(
        _sgd(L), 0.1, epochs=2, steps_per_epoch=-1
    ),
    "OneCycleLR-no-steps": lambda L: _sched(L).OneCycleLR(_sgd(L), 0.1, epochs=2),
    "OneCycleLR-pct_start": lambda L: _sched(L).OneCycleLR(
        _sgd(L), 0.1, total_steps=10, pct_start=1.5
    ),
    "OneCycleLR-pct_start-int": lambda L: _sched(L).OneCycleLR(
        _sgd(L), 0.1, total_steps=10, pct_start=0
    ),
    "OneCycleLR-anneal": lambda L: _sched(L).OneCycleLR(
        _sgd(L), 0.1, total_steps=10, anneal_strategy="exp"
    ),
    "OneCycleLR-max_lr-count": lambda L: _sched(L).OneCycleLR(_sgd(L, 2), [0.1], total_steps=10),
    "OneCycleLR-no-momentum": lambda L: _sched(L).OneCycleLR(_rprop(L), 0.1, total_steps=10),
    "OneCycleLR-max_momentum-count": lambda L: _sched(L).OneCycleLR(
        _sgd(L, 2), 0.1, total_steps=10, max_momentum=[0.9]
    ),
    "swa-ema-decay-high": lambda L: L.optim.swa_utils.get_ema_avg_fn(1.5),
    "swa-ema-decay-negative": lambda L: L.optim.swa_utils.get_ema_multi_avg_fn(-0.1),
    "SWALR-anneal_strategy": lambda L: L.optim.swa_utils.SWALR(
        _sgd(L), 0.05, anneal_strategy="exp"
    ),
    "SWALR-anneal_epochs": lambda L: L.optim.swa_utils.SWALR(_sgd(L), 0.05, anneal_epochs=-1),
    "SWALR-anneal_epochs-float": lambda L: L.optim.swa_utils.SWALR(
        _sgd(L), 0.05, anneal_epochs=2.0
    ),
    "SWALR-swa_lr-count": lambda L: L.optim.swa_utils.SWALR(_sgd(L, 2), [0.05]),
    "AveragedModel-two-avg-fns": lambda L: L.optim.swa_utils.AveragedModel(
        L.nn.Linear(2, 2), avg_fn=lambda *a: a[0], multi_avg_fn=lambda *a: None
    ),
}


def _seq_plateau(lib, kind):
    opt = _sgd(lib)
    scheds = [_sched(lib).StepLR(opt, 2), _sched(lib).ReduceLROnPlateau(opt)]
    if kind == "SequentialLR":
        return _sched(lib).SequentialLR(opt, scheds, [1])
    return _sched(lib).ChainedScheduler(scheds)


def _seq_milestones(lib):
    opt = _sgd(lib)
    scheds = [_sched(lib).StepLR(opt, 2), _sched(lib).ExponentialLR(opt, 0.9)]
    return _sched(lib).SequentialLR(opt, scheds, [1, 2])


@pytest.mark.parametrize("case", list(SCHED_CASES))
def test_scheduler_argument_error_matches_torch(case):
    _compare(SCHED_CASES[case])


def test_lambdalr_not_an_optimizer_fails_on_param_groups_as_torch():
    """torch's LambdaLR reads ``optimizer.param_groups`` (AttributeError) before its base
    class's check (session 43 mirrors it; session 42 raised the check's TypeError)."""
    text = "^'object' object has no attribute 'param_groups'$"
    for lib in (torch, cr):
        with pytest.raises(AttributeError, match=text):
            lib.optim.lr_scheduler.LambdaLR(object(), lambda e: 1.0)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: cr.optim.lr_scheduler.StepLR(_sgd(cr), 0), "StepLR: step_size"),
        (lambda: cr.optim.lr_scheduler.LinearLR(_sgd(cr), total_iters=0), "LinearLR: total_iters"),
        (lambda: cr.optim.lr_scheduler.CosineAnnealingLR(_sgd(cr), 0), "CosineAnnealingLR: T_max"),
    ],
)
def test_scheduler_checks_torch_lacks_name_the_scheduler(build, match):
    """Values torch takes and later fails on (or divides by zero with) are refused up
    front, naming the scheduler (rule case 2)."""
    with pytest.raises(ValueError, match=match):
        build()
