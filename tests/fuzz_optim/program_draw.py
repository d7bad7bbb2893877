"""Drawing a random optimizer program: its parameters, options, parameter groups (some
added mid-run), scheduler and actions."""

from __future__ import annotations

import numpy as np

from .program_data import FUSED_OK, OPTIMIZERS, SPARSE_OK, Program
from .program_options import INVALID, OPTION_KEYS, _draw_sched, _items, _pick, draw_options


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
            _group_flags(rng, opt, own)
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
            reload = ("wreload",) if rng.random() < 0.3 else ("reload",)
            actions.append(("cstep",) if k < 0.75 else reload if k < 0.9 else ("sd",))
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
            if rng.random() < 0.15:  # gradient clipping between backward and step
                actions.append(_draw_clip(rng))
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
        elif k < 0.82:
            # a state-dict round trip: of the optimizer alone, or (the resume pattern) of
            # the optimizer and its scheduler, both made afresh and loaded
            # (or through ``save``/``load(weights_only=True)``)
            if sched is None and rng.random() < 0.35:
                actions.append(("wreload",))
            else:
                actions.append(("reload",) if sched is None else ("resume",))
        elif k < 0.84:
            actions.append(("sd",))
        elif k < 0.86:
            actions.append(("hooks", _pick(rng, (0.5, 2.0, 0.0))))
        elif k < 0.89 or sched is None:
            # the lrs set by hand (``group["lr"] = group["lr"] * factor``), under a
            # scheduler too (the chainable ones build on the group's lr)
            actions.append(("setlr", _pick(rng, (0.5, 2.0, 0.1))))
        elif sched is not None:
            if rng.random() < 0.15:
                actions.append(("sreload",))
            elif rng.random() < 0.12:
                actions.append(("sepoch", int(rng.integers(0, 12))))
            else:
                actions.append(("sched", _pick(rng, (1.0, 0.5, 2.0, 1.0))))
    if sched is not None:
        for _ in range(int(rng.integers(1, 4))):
            actions.insert(int(rng.integers(0, len(actions) + 1)), ("sched", 1.0))
    return Program(
        opt, dtype, params, _items(defaults), groups, extra, tuple(actions), sched,
        int(rng.integers(0, 2**16)),
    )  # fmt: skip


def _draw_clip(rng: np.random.Generator) -> tuple:
    """A clipping action: ``("clip", "norm", max_norm, norm_type, foreach)``
    (``clip_grad_norm_``, its total norm recorded) or ``("clip", "value", clip_value, None,
    foreach)`` (``clip_grad_value_``); ``norm_type`` ``"inf"`` is the max norm."""
    how = _pick(rng, ("norm", "norm", "value"))
    val = _pick(rng, (0.5, 1.0, 1e-3, 10.0))
    norm_type = _pick(rng, (2.0, 2.0, 1.0, "inf", 3.0)) if how == "norm" else None
    return ("clip", how, val, norm_type, _pick(rng, (None, None, True, False)))


def _group_flags(rng: np.random.Generator, opt: str, own: dict) -> None:
    """Implementation flags set on one parameter group: ``foreach`` (also drawn with the
    options), ``fused`` where the class has it, and rarely ``capturable``/``differentiable``
    (chainrule refuses them at that group's step; see :func:`.program_compare.check`)."""
    if rng.random() < 0.1:
        own["foreach"] = _pick(rng, (True, False, None))
    if opt in FUSED_OK and rng.random() < 0.06:
        own["fused"] = False
    if rng.random() < 0.02 and opt not in ("LBFGS", "SparseAdam", "Adafactor", "Muon"):
        own[_pick(rng, ("capturable", "differentiable"))] = True
