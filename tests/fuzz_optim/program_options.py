"""Drawing an optimizer's constructor options (valid-looking ones, and one invalid value
per option) and an LR scheduler spec (nested for ``SequentialLR``/``ChainedScheduler``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .program_data import LAMBDAS, SCHEDULERS


def _pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(0, len(seq)))]


def _lr(rng: np.random.Generator, values: tuple) -> Any:
    lr = _pick(rng, values)
    return ("T", lr) if rng.random() < 0.15 else lr


def _betas(rng: np.random.Generator) -> tuple:
    return (_pick(rng, (0.9, 0.5, 0.0, 0.99)), _pick(rng, (0.999, 0.9, 0.0, 0.5)))


def _common(rng: np.random.Generator, opts: dict, foreach: bool = True) -> dict:
    if rng.random() < 0.3:
        opts["maximize"] = bool(rng.integers(0, 2))
    if foreach and rng.random() < 0.4:
        opts["foreach"] = _pick(rng, (True, False, None))
    return opts


def _wd(rng: np.random.Generator, opts: dict, values: tuple = (0, 0.0, 0.1, 0.01)) -> dict:
    if rng.random() < 0.5:
        opts["weight_decay"] = _pick(rng, values)
    return opts


def draw_options(rng: np.random.Generator, opt: str) -> dict:
    """Valid-looking options for ``opt`` (combinations torch may still refuse)."""
    o: dict = {}
    r = rng.random
    if opt == "SGD":
        o["lr"] = _lr(rng, (0.1, 0.01, 0.5))
        if r() < 0.7:
            o["momentum"] = _pick(rng, (0.0, 0.5, 0.9))
        if r() < 0.3:
            o["dampening"] = _pick(rng, (0.0, 0.1, 0.5))
        if r() < 0.4:
            o["nesterov"] = bool(rng.integers(0, 2))
        _wd(rng, o)
        _common(rng, o)
    elif opt in ("Adam", "AdamW"):
        o["lr"] = _lr(rng, (0.1, 0.01, 0.001))
        if r() < 0.5:
            o["betas"] = _betas(rng)
        if r() < 0.3:
            o["eps"] = _pick(rng, (1e-8, 1e-3, 0.0))
        if r() < 0.4:
            o["amsgrad"] = bool(rng.integers(0, 2))
        if opt == "Adam" and r() < 0.3:
            o["decoupled_weight_decay"] = bool(rng.integers(0, 2))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "Adamax":
        o["lr"] = _lr(rng, (0.1, 0.002, 0.01))
        if r() < 0.5:
            o["betas"] = _betas(rng)
        if r() < 0.3:
            o["eps"] = _pick(rng, (1e-8, 1e-3))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "NAdam":
        o["lr"] = _lr(rng, (0.1, 0.002, 0.01))
        if r() < 0.5:
            o["betas"] = _betas(rng)
        if r() < 0.4:
            o["momentum_decay"] = _pick(rng, (0.004, 0.0, 0.1))
        if r() < 0.4:
            o["decoupled_weight_decay"] = bool(rng.integers(0, 2))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "RAdam":
        o["lr"] = _lr(rng, (0.1, 0.001, 0.01))
        if r() < 0.5:
            o["betas"] = _betas(rng)
        if r() < 0.4:
            o["decoupled_weight_decay"] = bool(rng.integers(0, 2))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "Adagrad":
        o["lr"] = _lr(rng, (0.1, 0.01, 1.0))
        if r() < 0.4:
            o["lr_decay"] = _pick(rng, (0.0, 0.1, 0.01))
        if r() < 0.4:
            o["initial_accumulator_value"] = _pick(rng, (0.0, 0.1, 1.0))
        if r() < 0.3:
            o["eps"] = _pick(rng, (1e-10, 1e-3))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "Adadelta":
        o["lr"] = _lr(rng, (1.0, 0.1, 0.5))
        if r() < 0.5:
            o["rho"] = _pick(rng, (0.9, 0.0, 0.5, 1.0))
        if r() < 0.3:
            o["eps"] = _pick(rng, (1e-6, 1e-3))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "RMSprop":
        o["lr"] = _lr(rng, (0.01, 0.1, 0.001))
        if r() < 0.5:
            # alpha=0 with centered=True: the variance g*g - g*g is 0 exactly, and torch's
            # addcmul rounds it (fused multiply-add) to tiny negatives, so sqrt gives NaN
            # where chainrule gives 0: a torch rounding quirk, steered around
            # (a group may set centered on its own: alpha=0 is never drawn)
            o["alpha"] = _pick(rng, (0.99, 0.5, 0.1))
        if r() < 0.5:
            o["momentum"] = _pick(rng, (0.0, 0.9, 0.5))
        if r() < 0.5:
            o["centered"] = bool(rng.integers(0, 2))
        if r() < 0.3:
            o["eps"] = _pick(rng, (1e-8, 1e-3))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "Rprop":
        o["lr"] = _lr(rng, (0.01, 0.1, 0.001))
        if r() < 0.5:
            o["etas"] = _pick(rng, ((0.5, 1.2), (0.3, 2.0), (0.9, 1.1)))
        if r() < 0.5:
            o["step_sizes"] = _pick(rng, ((1e-6, 50), (1e-3, 0.05), (0.0, 1.0)))
        _common(rng, o)
    elif opt == "ASGD":
        o["lr"] = _lr(rng, (0.01, 0.1, 0.5))
        if r() < 0.4:
            o["lambd"] = _pick(rng, (1e-4, 0.1, 0.0))
        if r() < 0.4:
            o["alpha"] = _pick(rng, (0.75, 0.5, 1.0))
        if r() < 0.5:
            o["t0"] = _pick(rng, (1e6, 0.0, 2.0, 3))
        _wd(rng, o)
        _common(rng, o)
    elif opt == "SparseAdam":
        o["lr"] = _lr(rng, (0.1, 0.001, 0.01))
        if r() < 0.5:
            o["betas"] = _betas(rng)
        if r() < 0.3:
            o["eps"] = _pick(rng, (1e-8, 1e-3))
        if r() < 0.3:
            o["maximize"] = bool(rng.integers(0, 2))
    elif opt == "LBFGS":
        o["lr"] = _pick(rng, (1, 0.5, 0.1))
        if r() < 0.6:
            o["max_iter"] = _pick(rng, (1, 2, 5, 20))
        if r() < 0.3:
            o["max_eval"] = _pick(rng, (None, 3, 10))
        if r() < 0.3:
            o["history_size"] = _pick(rng, (1, 3, 100))
        if r() < 0.3:
            o["tolerance_grad"] = _pick(rng, (1e-7, 1e-3, 0.0))
        if r() < 0.3:
            # (not 0: the line search then iterates on differences of equal numbers and
            # float64 rounding picks its steps)
            o["tolerance_change"] = _pick(rng, (1e-9, 1e-3, 1e-6))
        if r() < 0.5:
            o["line_search_fn"] = _pick(rng, (None, "strong_wolfe"))
    elif opt == "Adafactor":
        o["lr"] = _lr(rng, (0.01, 0.1, 0.001))
        if r() < 0.4:
            o["beta2_decay"] = _pick(rng, (-0.8, -0.5, -1.0, 0.0))
        if r() < 0.4:
            o["eps"] = _pick(rng, ((None, 1e-3), (1e-30, 1e-3), (None, 0.1), (1e-3, 1e-3)))
        if r() < 0.3:
            o["d"] = _pick(rng, (1.0, 0.5, 2.0))
        _wd(rng, o, (0.0, 0.1))
        _common(rng, o)
    elif opt == "Muon":
        o["lr"] = _pick(rng, (0.001, 0.02, 0.1))
        if r() < 0.4:
            o["momentum"] = _pick(rng, (0.95, 0.0, 0.5))
        if r() < 0.4:
            o["nesterov"] = bool(rng.integers(0, 2))
        if r() < 0.3:
            o["ns_steps"] = _pick(rng, (5, 1, 3))
        if r() < 0.4:
            o["adjust_lr_fn"] = _pick(rng, (None, "original", "match_rms_adamw"))
        _wd(rng, o, (0.0, 0.1))
    return o


# one invalid value per option, per optimizer (torch raises at construction, mostly
# ValueError)
INVALID = {
    "lr": (-0.1, float("nan")),
    "eps": (-1e-8,),
    "weight_decay": (-0.1,),
    "betas": ((1.0, 0.999), (0.9, -0.1), (-0.1, 0.9), (0.9, 1.0)),
    "momentum": (-0.5,),
    "dampening": (),
    "rho": (1.5, -0.1),
    "alpha": (-0.1,),
    "etas": ((1.5, 0.5), (0.5, 0.9), (-0.1, 1.2)),
    "lr_decay": (-1.0,),
    "initial_accumulator_value": (-1.0,),
    "momentum_decay": (-1.0,),
    "max_iter": (0,),
    "history_size": (0,),
    "line_search_fn": ("bogus",),
    "beta2_decay": (0.5,),
    "d": (-1.0,),
    "adjust_lr_fn": ("bogus",),
    "ns_steps": (0, 101),
}
OPTION_KEYS = {
    "SGD": ("lr", "momentum", "weight_decay"),
    "Adam": ("lr", "eps", "betas", "weight_decay"),
    "AdamW": ("lr", "eps", "betas", "weight_decay"),
    "Adamax": ("lr", "eps", "betas", "weight_decay"),
    "NAdam": ("lr", "eps", "betas", "weight_decay", "momentum_decay"),
    "RAdam": ("lr", "eps", "betas", "weight_decay"),
    "Adagrad": ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    "Adadelta": ("lr", "rho", "eps", "weight_decay"),
    "RMSprop": ("lr", "alpha", "eps", "weight_decay", "momentum"),
    "Rprop": ("lr", "etas"),
    "ASGD": ("lr", "weight_decay"),
    "SparseAdam": ("lr", "eps", "betas"),
    "LBFGS": ("line_search_fn",),
    "Adafactor": ("lr", "beta2_decay", "d", "weight_decay"),
    "Muon": ("lr", "momentum", "weight_decay", "adjust_lr_fn", "ns_steps"),
}


def _items(d: dict) -> tuple:
    return tuple(d.items())


def _draw_sched(rng: np.random.Generator, depth: int = 0) -> tuple:
    # composites nest one level (session 46: a SequentialLR inside a ChainedScheduler and
    # the reverse); their own members are plain schedulers
    names = SCHEDULERS if depth < 2 else SCHEDULERS[:11] + SCHEDULERS[13:]
    name = _pick(rng, names)
    o: dict = {}
    if name == "StepLR":
        o = {"step_size": int(rng.integers(1, 4)), "gamma": _pick(rng, (0.1, 0.5, 2.0))}
    elif name == "MultiStepLR":
        ms = sorted(int(m) for m in rng.integers(1, 6, int(rng.integers(1, 4))))
        o = {"milestones": tuple(ms), "gamma": _pick(rng, (0.1, 0.5))}
    elif name == "ExponentialLR":
        o = {"gamma": _pick(rng, (0.9, 0.5, 1.0))}
    elif name == "CosineAnnealingLR":
        o = {"T_max": int(rng.integers(1, 6)), "eta_min": _pick(rng, (0.0, 1e-3))}
    elif name == "CosineAnnealingWarmRestarts":
        o = {"T_0": int(rng.integers(1, 4)), "T_mult": int(rng.integers(1, 3))}
        if rng.random() < 0.5:
            o["eta_min"] = _pick(rng, (0.0, 1e-3))
    elif name == "OneCycleLR":
        o = {"max_lr": _pick(rng, (0.1, 1.0)), "total_steps": int(rng.integers(5, 20))}
        if rng.random() < 0.5:
            o["anneal_strategy"] = _pick(rng, ("cos", "linear"))
        if rng.random() < 0.4:
            o["cycle_momentum"] = bool(rng.integers(0, 2))
        if rng.random() < 0.3:
            o["three_phase"] = True
        if rng.random() < 0.3:
            o["pct_start"] = _pick(rng, (0.3, 0.5, 0.1))
    elif name == "CyclicLR":
        o = {"base_lr": 0.01, "max_lr": _pick(rng, (0.1, 1.0))}
        o["step_size_up"] = int(rng.integers(1, 4))
        if rng.random() < 0.4:
            o["step_size_down"] = int(rng.integers(1, 4))
        o["mode"] = _pick(rng, ("triangular", "triangular2", "exp_range"))
        if o["mode"] == "exp_range":
            o["gamma"] = 0.9
        o["cycle_momentum"] = bool(rng.random() < 0.3)
    elif name == "LinearLR":
        o = {"start_factor": _pick(rng, (0.25, 1 / 3, 0.5)), "total_iters": int(rng.integers(1, 6))}
        if rng.random() < 0.3:
            o["end_factor"] = _pick(rng, (1.0, 0.5))
    elif name == "ConstantLR":
        o = {"factor": _pick(rng, (1 / 3, 0.5)), "total_iters": int(rng.integers(1, 6))}
    elif name == "PolynomialLR":
        o = {"total_iters": int(rng.integers(1, 6)), "power": _pick(rng, (1.0, 2.0, 0.5))}
    elif name == "ReduceLROnPlateau":
        o = {"patience": int(rng.integers(0, 3)), "factor": _pick(rng, (0.1, 0.5))}
        if rng.random() < 0.4:
            o["mode"] = _pick(rng, ("min", "max"))
        if rng.random() < 0.4:
            o["threshold_mode"] = _pick(rng, ("rel", "abs"))
        if rng.random() < 0.4:
            o["cooldown"] = int(rng.integers(0, 3))
        if rng.random() < 0.4:
            o["min_lr"] = _pick(rng, (0.0, 1e-3))
    elif name in ("LambdaLR", "MultiplicativeLR"):
        o = {"lr_lambda": _pick(rng, tuple(LAMBDAS))}
        if rng.random() < 0.3:  # one per group (a wrong count raises ValueError)
            o["lr_lambda"] = tuple(_pick(rng, tuple(LAMBDAS)) for _ in range(rng.integers(1, 3)))
    elif name == "SequentialLR":
        subs = tuple(_draw_sched(rng, depth + 1) for _ in range(int(rng.integers(2, 4))))
        ms = sorted(int(m) for m in rng.choice(np.arange(1, 8), len(subs) - 1, replace=False))
        o = {"schedulers": subs, "milestones": tuple(ms)}
    elif name == "ChainedScheduler":
        n = int(rng.integers(1, 4))
        o = {"schedulers": tuple(_draw_sched(rng, depth + 1) for _ in range(n))}
    if rng.random() < 0.08 and name in SCHED_INVALID:  # an invalid option
        key, values = _pick(rng, SCHED_INVALID[name])
        o[key] = _pick(rng, values)
    return (name, _items(o))


# StepLR's step_size < 1 is left out: chainrule refuses it (ValueError, pinned by
# tests/optim/test_lr_scheduler.py) where torch takes it (0: ZeroDivisionError in the
# constructor's first step; -1: a decay at every step)
SCHED_INVALID = {
    "CosineAnnealingWarmRestarts": (("T_0", (0, -1)), ("T_mult", (0,))),
    "OneCycleLR": (("total_steps", (0, -1, 2)), ("pct_start", (1.5, -0.1)),
                   ("anneal_strategy", ("bogus",))),
    "CyclicLR": (("mode", ("bogus",)), ("base_lr", ((0.01, 0.02, 0.03),))),
    "LinearLR": (("start_factor", (0.0, 1.5)), ("end_factor", (1.5,))),
    "ConstantLR": (("factor", (1.5, -0.1)),),
    "ReduceLROnPlateau": (("factor", (1.0, 2.0)), ("mode", ("bogus",)),
                          ("threshold_mode", ("bogus",))),
    "SequentialLR": (("milestones", ((), (1, 2, 3, 4))),),
}  # fmt: skip
