"""What a run of a random program (:mod:`tests.fuzz.programs`) shows, and the comparison of
two runs: a :class:`Trace` of torch's against chainrule's, values at a tolerance (float32
looser), errors by presence, and the known torch backward failures that chainrule need not
copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Trace", "assert_same"]


@dataclass
class Trace:
    """What one run of a program showed."""

    events: list = field(default_factory=list)  # (step index, kind, value | error)
    final: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    grads: list = field(default_factory=list)
    backward_error: Any = None
    skipped: set = field(default_factory=set)  # steps left out (decided on the torch run)
    double: bool = False  # grads: the first-order ones, then the second-order ones
    # a float16/bfloat16 step: second-order gradients through it are rounded in half
    # precision by formulas the libraries order differently (an ulp there is 1e-3)
    half: bool = False


class _Err:
    """An exception seen while running (compared by presence; the type is reported)."""

    def __init__(self, exc: BaseException):
        self.type = type(exc).__name__
        self.msg = str(exc).splitlines()[0][:200] if str(exc) else ""

    def __repr__(self) -> str:
        return f"<{self.type}: {self.msg}>"


def _close(a: Any, b: Any, where: str, loose: bool | float = False, scaled: bool = False) -> None:
    if isinstance(a, _Err) or isinstance(b, _Err):
        assert isinstance(a, _Err) and isinstance(b, _Err), f"{where}: torch {a!r} vs cr {b!r}"
        return
    if a is None or b is None:
        assert a is None and b is None, f"{where}: torch {type(a)} vs chainrule {type(b)}"
        return
    if isinstance(a, tuple):
        _close(a[0], b[0], where, loose)
        assert a[1] == b[1], f"{where}: requires_grad torch {a[1]} vs chainrule {b[1]}"
        return
    assert a.shape == b.shape, f"{where}: shape torch {a.shape} vs chainrule {b.shape}"
    assert a.dtype == b.dtype, f"{where}: dtype torch {a.dtype} vs chainrule {b.dtype}"
    if a.dtype.kind not in "fc":  # integers and bools: exactly
        np.testing.assert_array_equal(b, a, err_msg=where)
        return
    # complex64 as float32: its parts are float32 (torch's FFT of an int64 tensor in complex64
    # has 0.99999994j where chainrule's has 1j)
    single = a.dtype in (np.float32, np.complex64)
    tol = loose if isinstance(loose, float) else 1e-5 if loose or single else 1e-9
    atol = tol
    if scaled and single and a.size:
        # a float32 gradient element is a sum of terms as large as the largest element, each
        # rounded at that size: an element that cancels to a small value is off by ulps of
        # the large ones (seed 948: a batched float32 eigh's gradient, elements of 12 and one
        # of 0.45 that torch gets 2.3e-5 and chainrule 1e-5 off the float64 value), so the
        # absolute tolerance is taken relative to the array's largest finite element
        big = np.abs(a[np.isfinite(a)])
        atol = tol * max(1.0, float(big.max()) if big.size else 1.0)
    np.testing.assert_allclose(b, a, rtol=tol, atol=atol, equal_nan=True, err_msg=where)


_TORCH_BACKWARD_BUGS = (
    "modified by an inplace operation",
    # addcmul(float, int, int): the int operands' gradient formula is cast into Long
    "can't be cast to the desired output type",
    # pow(float, bool exponent): the formula computes exponent - 1 on the bool tensor
    "with a bool tensor is not supported",
    # lerp(bool, bool, weight that requires grad): the weight's formula is end - start
    "with two bool tensors is not supported",
    # the backward of a complex -> real cast (x.float() of a complex x) fails its own check
    "input_is_complex == grad_is_complex",
    # transpose_ of a view (x.real) then written in place: torch replays the view with the
    # old shape and its engine rejects the gradient's (a torch bug; chainrule's is right)
    "returned an invalid gradient at index",
    # a derivative torch does not have (cdist's double backward), chainrule computes
    "is not implemented",
    # the double backward of a nested tensor's pointwise op (an internal error of torch's)
    "NestedTensorImpl doesn't support sizes",
    "is not differentiable with respect to argument 'min_seqlen'",
    # backward formulas of sparse tensors that torch's own kernels refuse (sin's needs a
    # sparse cos, sqrt's a sparse division by a tensor, sampled_addmm's double backward
    # a COO-only check on a CSR tensor)
    "with arguments from the 'SparseCPU' backend",
    "Sparse division requires a scalar or zero-dim dense tensor divisor",
    "is_coalesced expected sparse coordinate tensor layout",
)


def assert_same(t: Trace, c: Trace) -> list[str]:
    """Assert that the chainrule trace ``c`` matches the torch trace ``t``; return notes on
    errors both raised with different exception types."""
    notes = []
    # float32 (and complex64) steps round the float64 ones
    loose = any(f[2] in ("float32", "complex64") for f in t.flags)
    for (k, kind, a), (_, _, b) in zip(t.events, c.events):
        _close(a, b, f"step {k} ({kind})", loose)
        if isinstance(a, _Err) and a.type != b.type:
            notes.append(f"step {k} ({kind}): torch {a!r} vs chainrule {b!r}")
    assert len(t.final) == len(c.final), "number of slots differs"
    for i, (a, b) in enumerate(zip(t.final, c.final)):
        _close(a, b, f"final value of slot {i}", loose)
    assert t.flags == c.flags, f"(requires_grad, is_leaf, dtype): torch {t.flags} vs {c.flags}"
    te, ce = t.backward_error, c.backward_error
    if te is not None and ce is None and any(m in te.msg for m in _TORCH_BACKWARD_BUGS):
        # PyTorch saved a tensor that chainrule's rule does not read (the accepted kind of
        # difference of tests/ops/known_inplace_differences.py, TORCH_RAISES), or its
        # backward formula fails on an integer or bool operand that needs no gradient
        notes.append(f"backward: torch raises {te!r}, chainrule runs")
        return notes
    if ce is not None and te is None and "not implemented in chainrule" in ce.msg:
        notes.append(f"backward: chainrule's documented limitation {ce!r}")
        return notes
    if te is not None or ce is not None:
        _close(t.backward_error, c.backward_error, "backward")
        if t.backward_error.type != c.backward_error.type:
            notes.append(f"backward: torch {t.backward_error!r} vs cr {c.backward_error!r}")
        return notes
    assert len(t.grads) == len(c.grads)
    for i, (a, b) in enumerate(zip(t.grads, c.grads)):
        # float32 gradients of gradients cancel: both libraries are off by ~1e-5 there; so
        # do float64 ones, by less: a second derivative that is exactly 0 (batch_norm's of a
        # per-channel shift of its input) comes out as rounding residues of ~1e-9 in each
        second = t.double and i >= len(t.grads) // 2
        tol = (5e-3 if loose or t.half else 1e-8) if second else loose
        _close(a, b, f"gradient {i}", tol, scaled=not second)
    return notes
