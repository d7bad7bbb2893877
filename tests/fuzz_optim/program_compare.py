"""Comparing torch's and chainrule's traces of an optimizer program (tolerances justified
per optimizer); :func:`check` runs both and compares."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

import chainrule as cr

from .program_data import Program
from .program_run import observe


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
        # ulp of float32 apart (eta), ~1e-6 relative in the parameters; an element that
        # cancels to near zero keeps its terms' error in absolute terms (2e-7 in a
        # parameter of 5e-3 whose neighbours are ~90, seed 612)
        return (1e-5, 1e-6)
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
    """Whether the defaults, a group or a group added by an ``("add", k)`` action ask for
    ``capturable``/``differentiable`` (an extra group never added asks for nothing)."""
    added = {a[1] for a in prog.actions if a[0] == "add"}
    extra = tuple(g for k, g in enumerate(prog.extra) if k in added)
    opts = [dict(prog.defaults)] + [dict(o) for _, o in prog.groups + extra]
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
        if ref[-1][0] == got[-1][0] == "error" and not compare(prog, ref, got):
            return []  # both stopped at the same place with the same error type (an
            # earlier check, as a sparse gradient with weight decay, came first)
        if ref[-1][0] == got[-1][0] == "error" and ref[-1][1:3] == got[-1][1:3] == (
            "ctor",
            "RuntimeError",
        ):
            return []  # fused=True with differentiable=True: both refuse it
        if got and got[-1][0] == "error" and got[-1][2] in ("NotImplementedError", "ValueError"):
            return []
        foreach_assert = ref[-1][0] == "error" and "_foreach ops don't support" in ref[-1][-1]
        if foreach_assert and got[-1][0] != "error":
            # torch 2.13's Adamax, Adagrad and Adadelta with foreach=True and
            # differentiable=True assert ("_foreach ops don't support autograd") at a step
            # even when no parameter has a gradient (their other optimizers return first);
            # chainrule refuses the flag only at a step that updates a parameter (seed 7107)
            return []
        if ref[-1][0] != "error" and got[-1][0] != "error":
            # a group's flag that no step reached (no parameter of the group had a
            # gradient at a step): both ran through, and must agree
            return compare(prog, ref, got)
        return [f"capturable/differentiable: chainrule did not refuse: {got[-1][:3]!r}"]
    return compare(prog, ref, got)
