"""Random training loops, run the same way on torch and on chainrule and compared.

A :class:`Program` is plain data (a failure prints as a program to paste into
``test_found_cases.py``): the optimizer class and its constructor options, the parameters
(shapes, complex or not; their values and every gradient come from seeds), the parameter
groups with per-group options, groups added mid-run, a scheduler spec and a list of actions.
:func:`draw` makes one from a seeded generator, :func:`observe` runs it with one library
(``torch`` or ``chainrule``) and returns a trace (parameters after every step, gradients
after ``zero_grad``, learning rates after every scheduler step, state dicts, the error that
stopped the run), :func:`compare` lists the differences between two traces and
:func:`check` does both.

Option values: a plain number, or ``("T", x)`` for a 0-d tensor (``lr`` as a tensor).

Actions:

``("grad", seed, mask, sparse, scale)`` a fresh gradient for each parameter whose bit is
set in ``mask`` (``None`` for the others; sparse COO with repeated indices if ``sparse``);
``("step",)`` ``opt.step()``; ``("cstep",)`` ``opt.step(closure)`` (a smooth loss of the
parameters); ``("zero", set_to_none)``; ``("add", k)`` ``add_param_group(extra[k])``;
``("reload",)`` ``state_dict()`` loaded into a fresh optimizer over the same groups, which
replaces the old one; ``("sreload",)`` the scheduler's ``state_dict()`` loaded into a new
scheduler on the same optimizer; ``("sched", metric)`` the scheduler's ``step``
(``step(metric)`` for ``ReduceLROnPlateau``) and its ``get_last_lr()``; ``("sd",)`` record
``state_dict()``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

__all__ = ["Program", "draw", "observe", "compare", "check", "OPTIMIZERS"]

OPTIMIZERS = (
    "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta", "RMSprop",
    "Rprop", "ASGD", "SparseAdam", "LBFGS", "Adafactor", "Muon",
)  # fmt: skip
SCHEDULERS = (
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "OneCycleLR", "CyclicLR", "LinearLR", "ConstantLR", "PolynomialLR", "ReduceLROnPlateau",
    "SequentialLR", "ChainedScheduler", "LambdaLR", "MultiplicativeLR",
)  # fmt: skip
# optimizers whose sparse-gradient rule torch has (SparseAdam takes sparse gradients only)
SPARSE_OK = ("SGD", "Adagrad", "SparseAdam")
# torch's fused CPU kernels
FUSED_OK = ("SGD", "Adam", "AdamW", "Adagrad")
LAMBDAS = {
    "exp": lambda e: 0.9**e,
    "inv": lambda e: 1.0 / (e + 1),
    "const": lambda e: 0.5,
    "saw": lambda e: 1.0 + (e % 3),
    "obj": None,  # a callable object (below), made fresh for each scheduler
}


class _Decay:
    """An lr_lambda that is an object: its attributes are in the scheduler's state dict
    (``last``: the latest epoch it was asked about) and restored into it on load."""

    def __init__(self) -> None:
        self.rate = 0.8
        self.last = -1

    def __call__(self, epoch: int) -> float:
        self.last = max(self.last, epoch)
        return self.rate**epoch


def _lambda(name: str) -> Any:
    return _Decay() if name == "obj" else LAMBDAS[name]


@dataclass(frozen=True)
class Program:
    opt: str
    dtype: str = "float64"
    params: tuple = ()  # ((shape, complex), ...)
    defaults: tuple = ()  # ((key, value), ...): the constructor's keyword options
    groups: tuple = ()  # ((param indices, ((key, value), ...)), ...); () = one list of all
    extra: tuple = ()  # groups added mid-run, same form
    actions: tuple = ()
    sched: tuple | None = None  # (name, ((key, value), ...)); nested for Sequential/Chained
    seed: int = 0

    def __repr__(self) -> str:
        fields = [f"{self.opt!r}"]
        for name, default in (
            ("dtype", "float64"), ("params", ()), ("defaults", ()), ("groups", ()),
            ("extra", ()), ("actions", ()), ("sched", None), ("seed", 0),
        ):  # fmt: skip
            v = getattr(self, name)
            if v != default:
                fields.append(f"{name}={v!r}")
        return f"Program({', '.join(fields)})"


# ---------------------------------------------------------------------------------------
# drawing


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
    names = SCHEDULERS if depth == 0 else SCHEDULERS[:11] + SCHEDULERS[13:]
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
        subs = tuple(_draw_sched(rng, 1) for _ in range(int(rng.integers(2, 4))))
        ms = sorted(int(m) for m in rng.choice(np.arange(1, 8), len(subs) - 1, replace=False))
        o = {"schedulers": subs, "milestones": tuple(ms)}
    elif name == "ChainedScheduler":
        o = {"schedulers": tuple(_draw_sched(rng, 1) for _ in range(int(rng.integers(1, 4))))}
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


def _draw_params(rng: np.random.Generator, opt: str) -> tuple:
    params = []
    cplx_ok = opt not in ("LBFGS", "SparseAdam", "Muon")
    for _ in range(int(rng.integers(1, 4))):
        if opt == "Muon":
            shape = tuple(int(s) for s in rng.integers(1, 5, 2))
        else:
            ndim = int(rng.integers(0, 4))
            shape = tuple(int(s) for s in rng.integers(0 if rng.random() < 0.15 else 1, 4, ndim))
        params.append((shape, bool(cplx_ok and rng.random() < 0.15)))
    return tuple(params)


def draw(rng: np.random.Generator, opts: tuple = OPTIMIZERS) -> Program:
    opt = str(_pick(rng, opts))
    dtype = _pick(rng, ("float64", "float64", "float32"))
    if opt == "LBFGS":
        # float32 LBFGS: the iteration's decisions (tolerance_change, the line search's
        # brackets) flip on float32 rounding and the runs part ways: float64 only
        dtype = "float64"
    params = _draw_params(rng, opt)
    n = len(params)
    defaults = draw_options(rng, opt)
    if opt in FUSED_OK and rng.random() < 0.15:
        defaults["fused"] = _pick(rng, (True, False, None))
        if defaults["fused"]:
            # torch checks fused=True's parameter dtypes on the first parameter only (a
            # complex one later reaches the kernel: NotImplementedError "fused_sgd_kernel
            # not implemented for 'ComplexFloat'"); chainrule checks each (RuntimeError):
            # a torch quirk, steered around (real parameters only under fused=True)
            params = tuple((shape, False) for shape, _ in params)
            # eps=0 lets a zero gradient make 0/0 = NaN; torch's fused amsgrad then keeps
            # max(max_exp_avg_sq, NaN) = the old value (its kernel's max drops a NaN) where
            # torch.maximum (the loop) and chainrule propagate it: a fused-kernel quirk,
            # steered around
            if defaults.get("eps") == 0.0:
                defaults["eps"] = 1e-8
    if rng.random() < 0.04 and opt not in ("LBFGS", "SparseAdam", "Adafactor", "Muon"):
        defaults[_pick(rng, ("capturable", "differentiable"))] = True
    elif rng.random() < 0.08:  # spelled out as False: kept in the groups (or a TypeError)
        defaults[_pick(rng, ("capturable", "differentiable"))] = False
    if rng.random() < 0.12:
        key = _pick(rng, OPTION_KEYS[opt])
        if INVALID.get(key):
            defaults[key] = _pick(rng, INVALID[key])
    # groups: a random split of the params, the last few perhaps held back for add_param_group
    groups: tuple = ()
    extra: tuple = ()
    order = [int(i) for i in rng.permutation(n)]
    if opt != "LBFGS" and n > 1 and rng.random() < 0.6:
        cut = sorted({int(c) for c in rng.integers(1, n, int(rng.integers(1, n)))})
        parts = [order[a:b] for a, b in zip([0, *cut], [*cut, n])]
        held = int(rng.integers(0, len(parts)))  # groups added mid-run
        held = min(held, len(parts) - 1)
        made = []
        for part in parts:
            own = draw_options(rng, opt) if rng.random() < 0.5 else {}
            own = {k: v for k, v in own.items() if rng.random() < 0.5}
            if rng.random() < 0.05 and OPTION_KEYS[opt]:
                key = _pick(rng, OPTION_KEYS[opt])
                # torch checks options in the constructor only; a group's beta1 = 1 divides
                # by 1 - beta1**t = 0 (Adagrad's lr_decay = -1 by 1 + (t - 1) lr_decay):
                # ZeroDivisionError with a float lr (chainrule too), NaN with a tensor lr
                # (float32 tensor arithmetic): steered around
                if INVALID.get(key) and key not in ("betas", "lr_decay"):
                    own[key] = _pick(rng, INVALID[key])
            made.append((tuple(part), _items(own)))
        groups, extra = tuple(made[: len(made) - held]), tuple(made[len(made) - held :])
    sched = None
    if opt not in ("LBFGS",) and rng.random() < 0.35:
        sched = _draw_sched(rng)
    actions: list = []
    added = 0
    sparse = opt == "SparseAdam"
    for _ in range(int(rng.integers(2, 9))):
        k = rng.random()
        if opt == "LBFGS":
            actions.append(("cstep",) if k < 0.75 else ("reload",) if k < 0.9 else ("sd",))
            continue
        if k < 0.55:
            mask = int(rng.integers(0, 2**n)) if rng.random() < 0.4 else 2**n - 1
            if opt == "SGD" and defaults.get("fused"):
                # torch's fused SGD with momentum fails (TypeError, "expected Tensor as
                # element 2 in argument 2, but got NoneType") when a parameter first gets a
                # gradient after others in its group have momentum buffers: a torch bug,
                # steered around (every parameter gets a gradient)
                mask = 2**n - 1
            sp = sparse or (opt in SPARSE_OK and rng.random() < 0.1)
            scale = _pick(rng, (1.0, 1.0, 1.0, 1e-3, 10.0))
            actions.append(("grad", int(rng.integers(0, 2**16)), mask, sp, scale))
            actions.append(("step",))
        elif k < 0.62 and not sparse:
            actions.append(("cstep",))
        elif k < 0.7:
            actions.append(("zero", bool(rng.integers(0, 2))))
            if rng.random() < 0.5:
                actions.append(("step",))
        elif k < 0.76 and added < len(extra):
            actions.append(("add", added))
            added += 1
        elif k < 0.82 and sched is None:
            actions.append(("reload",))
        elif k < 0.85:
            actions.append(("sd",))
        elif sched is not None:
            if rng.random() < 0.15:
                actions.append(("sreload",))
            else:
                actions.append(("sched", _pick(rng, (1.0, 0.5, 2.0, 1.0))))
    if sched is not None:
        for _ in range(int(rng.integers(1, 4))):
            actions.insert(int(rng.integers(0, len(actions) + 1)), ("sched", 1.0))
    return Program(
        opt, dtype, params, _items(defaults), groups, extra, tuple(actions), sched,
        int(rng.integers(0, 2**16)),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# running one program with one library


def _value(lib: Any, v: Any) -> Any:
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "T":
        return lib.tensor(v[1])
    return v


def _opts(lib: Any, items: tuple) -> dict:
    return {k: _value(lib, v) for k, v in items}


def _np_dtype(prog: Program, cplx: bool) -> Any:
    if cplx:
        return np.complex128 if prog.dtype == "float64" else np.complex64
    return np.dtype(prog.dtype)


def _make_params(lib: Any, prog: Program) -> list:
    rng = np.random.default_rng(prog.seed)
    out = []
    for shape, cplx in prog.params:
        a = rng.standard_normal(shape)
        if cplx:
            a = a + 1j * rng.standard_normal(shape)
        out.append(lib.tensor(a.astype(_np_dtype(prog, cplx)), requires_grad=True))
    return out


def _grad(lib: Any, prog: Program, i: int, rng: np.random.Generator, sparse: bool, scale: float):
    shape, cplx = prog.params[i]
    dtype = _np_dtype(prog, cplx)
    if sparse and len(shape) > 0:
        numel = int(np.prod(shape))
        nnz = int(rng.integers(0, 5)) if numel else 0
        flat = rng.integers(0, max(numel, 1), nnz)
        idx = np.array(np.unravel_index(flat, shape), dtype=np.int64).reshape(len(shape), nnz)
        vals = rng.standard_normal(nnz) * scale
        if cplx:
            vals = vals + 1j * rng.standard_normal(nnz) * scale
        return lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals.astype(dtype)), shape)
    a = rng.standard_normal(shape) * scale
    if cplx:
        a = a + 1j * rng.standard_normal(shape) * scale
    return lib.tensor(np.asarray(a).astype(dtype))


def _closure(lib: Any, prog: Program, opt_ref: list, params: list):
    rng = np.random.default_rng(prog.seed + 1)
    consts = []
    for shape, _ in prog.params:
        consts.append((rng.uniform(0.5, 2.0, shape), rng.standard_normal(shape)))

    def closure():
        opt = opt_ref[0]
        opt.zero_grad()
        loss = None
        for group in opt.param_groups:
            for p in group["params"]:
                i = next(k for k, q in enumerate(params) if q is p)
                c, t = consts[i]
                c = lib.tensor(c.astype(prog.dtype))
                t = lib.tensor(t.astype(prog.dtype))
                if prog.params[i][1]:
                    d = p - t
                    term = (c * (d * d.conj()).real).sum()
                else:
                    term = (c * (p - t) ** 2).sum() + 0.05 * (p**4).sum()
                loss = term if loss is None else loss + term
        loss.backward()
        return loss

    return closure


def _arr(t: Any) -> np.ndarray:
    t = t.detach()
    if t.is_sparse:
        t = t.to_dense()
    if hasattr(t, "resolve_conj"):
        t = t.resolve_conj()
    return np.array(t.numpy(), copy=True)


def _desc(lib: Any, v: Any) -> Any:
    """A library-independent description of a state-dict value."""
    if isinstance(v, lib.Tensor):
        kind = "sparse" if v.is_sparse else "tensor"
        return (kind, str(v.dtype), tuple(v.shape), _arr(v))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_desc(lib, x) for x in v])
    if isinstance(v, dict):
        return ("dict", {k: _desc(lib, x) for k, x in v.items()})
    if isinstance(v, (bool, int, float, str)) or v is None:
        return (type(v).__name__, v)
    return ("other", type(v).__name__)


def _state_dict(lib: Any, opt: Any) -> tuple:
    sd = opt.state_dict()
    if type(opt).__name__ == "LBFGS":
        # LBFGS's step size ``t``: torch keeps whatever its line search last produced
        # (a 0-d tensor, a float, or the int 0 of a failed search); chainrule mirrors the
        # tensor of the first step only: compared by value
        state = {k: dict(s) for k, s in sd["state"].items()}  # (torch's are the live dicts)
        for s in state.values():
            if "t" in s:
                s["t"] = float(s["t"])
        sd = {"state": state, "param_groups": sd["param_groups"]}
    groups = [
        {k: _desc(lib, v) for k, v in g.items() if k not in ("params",)} | {"params": g["params"]}
        for g in sd["param_groups"]
    ]
    state = {k: {n: _desc(lib, x) for n, x in s.items()} for k, s in sd["state"].items()}
    return ("sd", state, groups)


def _sched_state(lib: Any, sched: Any) -> Any:
    """A scheduler's ``state_dict()`` (its documented attributes; functions dropped)."""
    sd = sched.state_dict()
    return {k: _desc(lib, v) for k, v in sd.items() if k not in _SCHED_SKIP}


# ``_scale_fn_ref``/``_scale_fn_custom`` (CyclicLR): a bound method or function, not data
_SCHED_SKIP = ("_scale_fn_ref", "_scale_fn_custom", "scale_fn")


def _make_sched(lib: Any, opt: Any, spec: tuple) -> Any:
    name, items = spec
    kw = dict(items)
    mod = lib.optim.lr_scheduler
    if name in ("SequentialLR", "ChainedScheduler"):
        kw["schedulers"] = [_make_sched(lib, opt, s) for s in kw["schedulers"]]
        if name == "ChainedScheduler":
            return mod.ChainedScheduler(kw["schedulers"], optimizer=opt)
        kw["milestones"] = list(kw["milestones"])
    if name == "MultiStepLR":
        kw["milestones"] = list(kw["milestones"])
    if name == "CyclicLR" and isinstance(kw["base_lr"], tuple):
        kw["base_lr"] = list(kw["base_lr"])
    if "lr_lambda" in kw:
        lam = kw["lr_lambda"]
        kw["lr_lambda"] = [_lambda(x) for x in lam] if isinstance(lam, tuple) else _lambda(lam)
    return getattr(mod, name)(opt, **kw)


def _make_opt(lib: Any, prog: Program, params: list, n_added: int) -> Any:
    cls = getattr(lib.optim, prog.opt)
    kw = _opts(lib, prog.defaults)
    if prog.groups:
        groups = [{"params": [params[i] for i in idx], **_opts(lib, o)} for idx, o in prog.groups]
        opt = cls(groups, **kw)
    else:
        held = {i for idx, _ in prog.extra for i in idx}
        opt = cls([p for i, p in enumerate(params) if i not in held], **kw)
    for idx, o in prog.extra[:n_added]:
        opt.add_param_group({"params": [params[i] for i in idx], **_opts(lib, o)})
    return opt


def observe(lib: Any, prog: Program) -> list:
    """Run ``prog`` with ``lib``; the trace of everything observable (it ends with
    ``("error", phase, type name)`` if something raised)."""
    trace: list = []
    phase = "params"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            params = _make_params(lib, prog)
            phase = "ctor"
            opt_ref = [_make_opt(lib, prog, params, 0)]
            n_added = 0
            sched = None
            if prog.sched is not None:
                phase = "sched_ctor"
                sched = _make_sched(lib, opt_ref[0], prog.sched)
                trace.append(("lr", [_desc(lib, x) for x in sched.get_last_lr()]))
            closure = _closure(lib, prog, opt_ref, params)
            for n, act in enumerate(prog.actions):
                phase = f"{n}:{act[0]}"
                opt = opt_ref[0]
                kind = act[0]
                if kind == "grad":
                    _, seed, mask, sparse, scale = act
                    rng = np.random.default_rng(seed)
                    for i, p in enumerate(params):
                        p.grad = _grad(lib, prog, i, rng, sparse, scale) if mask >> i & 1 else None
                elif kind == "step":
                    opt.step()
                    trace.append(("params", [_arr(p) for p in params]))
                elif kind == "cstep":
                    loss = opt.step(closure)
                    trace.append(("loss", None if loss is None else float(loss)))
                    trace.append(("params", [_arr(p) for p in params]))
                elif kind == "zero":
                    opt.zero_grad(set_to_none=act[1])
                    trace.append(
                        ("grads", [None if p.grad is None else _arr(p.grad) for p in params])
                    )
                elif kind == "add":
                    idx, o = prog.extra[act[1]]
                    opt.add_param_group({"params": [params[i] for i in idx], **_opts(lib, o)})
                    n_added += 1
                elif kind == "reload":
                    before = _state_dict(lib, opt)
                    trace.append(before)
                    fresh = _make_opt(lib, prog, params, n_added)
                    fresh.load_state_dict(opt.state_dict())
                    opt_ref[0] = fresh
                    trace.append(_state_dict(lib, fresh))
                elif kind == "sd":
                    trace.append(_state_dict(lib, opt))
                elif kind == "sreload" and sched is not None:
                    # the resume pattern: a new scheduler on the same optimizer (its first
                    # step sets the lrs again), then the saved scheduler state loaded
                    saved = sched.state_dict()
                    sched = _make_sched(lib, opt, prog.sched)
                    sched.load_state_dict(saved)
                    trace.append(("sched_sd", _sched_state(lib, sched)))
                    trace.append(("group_lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
                elif kind == "sched":
                    if sched is None:
                        continue
                    if prog.sched[0] == "ReduceLROnPlateau":
                        sched.step(act[1])
                    else:
                        sched.step()
                    trace.append(("lr", [_desc(lib, x) for x in sched.get_last_lr()]))
                    trace.append(("group_lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
            phase = "end"
            trace.append(_state_dict(lib, opt_ref[0]))
            if sched is not None:
                trace.append(("sched_sd", _sched_state(lib, sched)))
        except Exception as e:  # noqa: BLE001 - every error is part of the observation
            trace.append(("error", phase, type(e).__name__, str(e)[:200]))
    return trace


# ---------------------------------------------------------------------------------------
# comparing


def _tensor_lr(prog: Program) -> bool:
    opts = [prog.defaults] + [o for _, o in prog.groups + prog.extra]
    return any(isinstance(v, tuple) and v[:1] == ("T",) for o in opts for _, v in o)


def _tol(prog: Program) -> tuple[float, float]:
    if prog.opt == "Muon":
        # torch runs Muon's Newton-Schulz iteration in bfloat16 (~3 digits); chainrule in
        # the gradient's dtype (a documented, deliberate difference): steered to a loose
        # tolerance
        return (5e-2, 5e-2)
    if prog.dtype == "float32":
        return (1e-4, 1e-5)
    if prog.opt == "LBFGS":
        # near convergence the two-loop recursion's alphas and directions are differences
        # of nearly equal numbers: float64 rounding shows at ~1e-7 relative (1e-8 absolute)
        return (1e-5, 1e-7)
    if _tensor_lr(prog):
        # a float32 0-d tensor lr: torch computes the lr-derived factors (Adam's
        # lr / bias_correction1, Adagrad's lr / (1 + (step - 1) lr_decay), ...) as float32
        # tensor arithmetic, chainrule in Python floats from float(lr): float32 rounding
        # (~1e-8 relative) in a float64 run, steered to a float32-sized tolerance; ASGD's
        # eta then differs by a float32 ulp, ~1e-7 absolute in the parameters (seed 601);
        # AdamW's (and decoupled weight decay's) factor 1 - lr * weight_decay is a float32
        # tensor too, an error of up to 3e-8 |p| per step that an element which later
        # cancels to near zero keeps in absolute terms (seed 606)
        return (1e-5, 1e-7)
    if prog.opt == "ASGD" and any(
        dict(o).get("foreach") for o in [prog.defaults] + [o for _, o in prog.groups + prog.extra]
    ):
        # torch's multi-tensor ASGD computes eta/mu with float32 tensor ops and multiplies
        # by those tensors, where the per-parameter loop (and chainrule) use numbers: an
        # ulp of float32 apart (eta), ~1e-6 relative in the parameters
        return (1e-5, 1e-7)
    if prog.opt == "NAdam":
        # mu_product is a float32 0-d tensor (the scalar dtype): torch multiplies it by mu
        # in float32, chainrule multiplies in float64 and rounds once; after a reload it is
        # float64 and the two carry the ~1e-8 difference into float64 parameters
        return (1e-6, 1e-9)
    return (1e-9, 1e-12)


def _array_tol(a: np.ndarray, tol: tuple) -> tuple:
    """A float32 state tensor (a counter kept in the scalar dtype, a float32 tensor lr) is
    compared at float32's tolerance whatever the program's dtype."""
    if a.dtype in (np.float32, np.complex64):
        return (max(tol[0], 1e-4), max(tol[1], 1e-5))
    return tol


def _cmp_desc(a: Any, b: Any, where: str, tol: tuple, out: list) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        _cmp_arr(a, b, where, tol, out)
        return
    if type(a) is not type(b):
        out.append(f"{where}: {a!r} vs {b!r}")
        return
    if isinstance(a, dict):
        if set(a) != set(b):
            out.append(f"{where}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}")
            return
        for k in a:
            _cmp_desc(a[k], b[k], f"{where}.{k}", tol, out)
        return
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            out.append(f"{where}: length {len(a)} vs {len(b)}: {a!r} vs {b!r}")
            return
        for k, (x, y) in enumerate(zip(a, b)):
            _cmp_desc(x, y, f"{where}[{k}]", tol, out)
        return
    if isinstance(a, float):
        if not (a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=tol[0])):
            out.append(f"{where}: {a!r} vs {b!r}")
        return
    if a != b:
        out.append(f"{where}: {a!r} vs {b!r}")


def _cmp_arr(a: Any, b: Any, where: str, tol: tuple, out: list) -> None:
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        out.append(f"{where}: {type(a).__name__} vs {type(b).__name__}")
        return
    if a.shape != b.shape or a.dtype != b.dtype:
        out.append(f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
        return
    tol = _array_tol(a, tol)
    if not np.allclose(a, b, rtol=tol[0], atol=tol[1], equal_nan=True):
        bad = ~np.isclose(a, b, rtol=tol[0], atol=tol[1], equal_nan=True)
        out.append(f"{where}: values differ at {int(bad.sum())} of {a.size}: "
                   f"{a[bad][:3]} vs {b[bad][:3]}")  # fmt: skip


def compare(prog: Program, ref: list, got: list) -> list[str]:
    """The differences between torch's trace ``ref`` and chainrule's ``got``."""
    out: list[str] = []
    tol = _tol(prog)
    for n, (a, b) in enumerate(zip(ref, got)):
        if a[0] != b[0]:
            out.append(f"entry {n}: torch {a[0]} {a[1:] if a[0] == 'error' else ''} vs "
                       f"chainrule {b[0]} {b[1:] if b[0] == 'error' else ''}")  # fmt: skip
            return out
        if a[0] == "error":
            if a[2] != b[2] or a[1] != b[1]:
                out.append(
                    f"error: torch {a[1]} {a[2]} {a[3]!r} vs chainrule {b[1]} {b[2]} {b[3]!r}"
                )
            return out
        _cmp_desc(a[1:], b[1:], f"entry {n} ({a[0]})", tol, out)
        if out:
            return out
    if len(ref) != len(got):
        out.append(f"trace length {len(ref)} vs {len(got)}: last torch {ref[-1][:3]!r}, "
                   f"chainrule {got[-1][:3]!r}")  # fmt: skip
    return out


def _uses_flags(prog: Program) -> bool:
    opts = [dict(prog.defaults)] + [dict(o) for _, o in prog.groups + prog.extra]
    return any(o.get("capturable") or o.get("differentiable") for o in opts)


def check(prog: Program) -> list[str]:
    """[] if torch and chainrule agree on ``prog``, else the differences."""
    ref = observe(torch, prog)
    got = observe(cr, prog)
    if _uses_flags(prog):
        # capturable=True / differentiable=True: chainrule refuses them (NotImplementedError,
        # at construction or at the group's step: chainrule has no CUDA graphs and no
        # autograd through step); torch on CPU fails at step (capturable: AssertionError
        # "params must be on supported devices"; differentiable: in-place on a leaf), or
        # raises TypeError for a keyword the class lacks. Steered: only chainrule's refusal
        # is checked, and torch's TypeError.
        if ref and ref[-1][0] == "error" and ref[-1][2] == "TypeError":
            return compare(prog, ref, got)
        if ref[-1][0] == got[-1][0] == "error" and ref[-1][1:3] == got[-1][1:3] == (
            "ctor",
            "RuntimeError",
        ):
            return []  # fused=True with differentiable=True: both refuse it
        if got and got[-1][0] == "error" and got[-1][2] in ("NotImplementedError", "ValueError"):
            return []
        return [f"capturable/differentiable: chainrule did not refuse: {got[-1][:3]!r}"]
    return compare(prog, ref, got)
