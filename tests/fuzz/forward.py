"""Forward-mode AD over a random program of :mod:`tests.fuzz.programs` (one without
in-place steps): every floating leaf gets a random tangent, through ``autograd.forward_ad``
or ``func.jvp``, and torch's tangents are compared with chainrule's."""

from __future__ import annotations

from typing import Any

import numpy as np

from .extra_steps import no_forward_rule
from .programs import INPLACE, Program, _execute, _leaf, _np
from .traces import Trace, _close, _Err

__all__ = ["forward_checked", "run_forward", "assert_same_forward"]


def forward_checked(prog: Program) -> bool:
    """Whether ``prog`` gets a forward-mode check: no in-place steps, a differentiable leaf."""
    return not any(st.kind in INPLACE for st in prog.steps) and any(
        len(spec) < 4 or spec[3] in ("float64", "float32") for spec in prog.leaves
    )


def run_forward(lib: Any, prog: Program) -> Trace:
    """Forward-mode AD over ``prog`` (no in-place steps): every floating leaf gets a random
    tangent; with an even seed through ``autograd.forward_ad`` (every step's value and
    tangent recorded), with an odd one through ``func.jvp`` (the values and tangents of the
    floating slots at the end; the steps only by whether they raise)."""
    tr = Trace()
    rng = np.random.default_rng(prog.seed)
    leaves = [_leaf(lib, spec, rng) for spec in prog.leaves]
    trng = np.random.default_rng(prog.seed + 1)
    tangents = [
        lib.tensor(trng.standard_normal(tuple(x.shape)), dtype=x.dtype)
        if x.is_floating_point()
        else None
        for x in leaves
    ]
    skip = {
        k
        for k, st in enumerate(prog.steps)
        if st.kind == "retain_grad" or no_forward_rule(st.kind, st.ints)
    }
    if prog.seed % 2 == 0:
        fwad = lib.autograd.forward_ad

        def observe(t: Any) -> Any:
            primal, tangent = fwad.unpack_dual(t)
            return (_np(primal), None if tangent is None else _np(tangent))

        with fwad.dual_level():
            slots = [x if t is None else fwad.make_dual(x, t) for x, t in zip(leaves, tangents)]
            _execute(lib, prog, slots, tr, skip, observe)
            tr.final = [observe(s) for s in slots]
        return tr
    diff = [i for i, t in enumerate(tangents) if t is not None]

    def f(*primals: Any) -> tuple:
        slots = list(leaves)
        for i, p in zip(diff, primals):
            slots[i] = p
        _execute(lib, prog, slots, tr, skip, lambda t: None)
        return tuple(s for s in slots if s.is_floating_point())

    try:
        out, tan = lib.func.jvp(f, tuple(leaves[i] for i in diff), tuple(tangents[i] for i in diff))
        # the tangents in the primal's dtype: torch.func.jvp gives x * 2.0 of a float32 x a
        # float64 tangent (a torch bug; forward_ad gives float32)
        tr.final = [(_np(o), _np(t).astype(_np(o).dtype)) for o, t in zip(out, tan)]
    except Exception as exc:  # noqa: BLE001
        tr.backward_error = _Err(exc)
    return tr


def assert_same_forward(t: Trace, c: Trace) -> list[str]:
    """Assert that chainrule's forward-mode trace ``c`` matches torch's ``t``."""
    notes = []
    loose = any(
        isinstance(v, tuple) and v[0].dtype == np.float32
        for v in [e[2] for e in t.events] + t.final
    )
    for (k, kind, a), (_, _, b) in zip(t.events, c.events):
        if isinstance(a, _Err) and not isinstance(b, _Err):
            # torch has no forward rule for some ops; chainrule doing more is fine
            notes.append(f"forward step {k} ({kind}): torch {a!r}, chainrule runs")
            return notes
        _forward_close(a, b, f"forward step {k} ({kind})", loose)
    if t.backward_error is not None and c.backward_error is None:
        notes.append(f"forward: torch {t.backward_error!r}, chainrule runs")
        return notes
    _close(t.backward_error, c.backward_error, "jvp")
    assert len(t.final) == len(c.final), "number of slots differs"
    for i, (a, b) in enumerate(zip(t.final, c.final)):
        _forward_close(a, b, f"forward: slot {i}", loose)
    return notes


def _forward_close(a: Any, b: Any, where: str, loose: bool) -> None:
    if isinstance(a, tuple) and isinstance(b, tuple):
        _close(a[0], b[0], where + " value", 1e-4 if loose else False)
        ta = a[1]
        if ta is not None and b[1] is not None and ta.dtype != a[0].dtype == b[1].dtype:
            # torch's tangent in another dtype than its primal: x.prod(dtype=torch.float32) of
            # a float64 x has a float64 tangent (a torch bug; its other ops with dtype=, and
            # chainrule, give the primal's dtype), compared in the primal's dtype
            ta = ta.astype(a[0].dtype)
        _close(ta, b[1], where + " tangent", 1e-4 if loose else 1e-7)
        return
    _close(a, b, where)
