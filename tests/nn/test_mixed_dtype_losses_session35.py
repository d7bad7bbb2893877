"""binary_cross_entropy_with_logits with logits and targets of two floating dtypes, against
torch live: PyTorch composes the loss (``log_sigmoid``, ``(1 - t).mul_(x).sub_(...)``) and its
backward of in-place steps, each in its result dtype under PyTorch's promotion rules (a 0-d
``weight`` / ``pos_weight`` does not promote a tensor with dimensions; a 0-d float64 with a
float16 tensor enters at float32 precision, the CPU scalar path).

Where the logits are float64 every value is compared bit for bit (the reduced loss within one
ulp of the target's dtype: PyTorch's vectorised float32 summation adds in another order than
chainrule's sums, for one dtype as for two). Narrower logits compute ``log_sigmoid`` in their
own dtype; PyTorch's vectorised float32 kernel and chainrule's differ in the last bit there
(the same for one dtype), so the loss and the target's gradient are compared within one ulp of
that ``log_sigmoid``, the logits' gradient bit for bit.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPES = ("float64", "float32", "float16", "bfloat16")
PAIRS = [(a, b) for a, b in itertools.product(DTYPES, DTYPES) if a != b]
X = np.random.default_rng(0).standard_normal(6) * 2
T = np.random.default_rng(1).random(6)


def _run(m: Any, xd: str, td: str, pshape: Any, wshape: Any, wd: str, red: str) -> tuple:
    """Loss and both gradients (float64 NumPy arrays) and their dtypes' names."""
    x = m.tensor(X, dtype=getattr(m, xd), requires_grad=True)
    t = m.tensor(T, dtype=getattr(m, td), requires_grad=True)
    kw = {}
    if pshape is not None:
        kw["pos_weight"] = m.full(pshape, 1.7, dtype=getattr(m, wd))
    if wshape is not None:
        kw["weight"] = m.full(wshape, 0.6, dtype=getattr(m, wd))
    loss = m.nn.functional.binary_cross_entropy_with_logits(x, t, reduction=red, **kw)
    gx, gt = m.autograd.grad(loss.sum(), (x, t))
    names = tuple(str(a.dtype).split(".")[-1] for a in (loss, gx, gt))
    return names, tuple(a.detach().double().numpy() for a in (loss, gx, gt))


def _ulp(a: np.ndarray, dtype: str) -> np.ndarray:
    """One unit in the last place of ``a``'s values in ``dtype`` (float32 for bfloat16)."""
    d = {"float64": np.float64, "float16": np.float16}.get(dtype, np.float32)
    return np.spacing(np.abs(a).astype(d)).astype(np.float64)


@pytest.mark.parametrize(("xd", "td"), PAIRS)
def test_bce_with_logits_two_dtypes(xd: str, td: str) -> None:
    shapes = ((), (6,), (1,), None)
    for pshape, wshape, wd, red in itertools.product(
        shapes, shapes[:2] + (None,), DTYPES, ("none", "mean", "sum")
    ):
        case = (xd, td, pshape, wshape, wd, red)
        (tn, (tl, tgx, tgt)), (cn, (cl, cgx, cgt)) = (
            _run(m, xd, td, pshape, wshape, wd, red) for m in (torch, cr)
        )
        assert cn == tn, case
        np.testing.assert_array_equal(cgx, tgx, err_msg=str(case))
        # the loss's error: a reduction's order (1 ulp of the target's dtype per term)
        tol = 0.0 if red == "none" else 6 * _ulp(tl, td)
        if xd == "float64":
            np.testing.assert_allclose(cl, tl, rtol=0, atol=tol, err_msg=str(case))
            np.testing.assert_array_equal(cgt, tgt, err_msg=str(case))
        else:  # log_sigmoid in the logits' dtype: 1 ulp there (times pos_weight)
            ls = np.minimum(X, 0) - np.log1p(np.exp(-np.abs(X)))
            lsu = 2 * _ulp(ls, xd) * (1.7 if pshape is not None else 1.0)
            np.testing.assert_allclose(cgt, tgt, rtol=0, atol=lsu.max() + 1e-300)
            np.testing.assert_allclose(
                cl, tl, rtol=0, atol=tol + lsu.max() * (6 if red != "none" else 1)
            )
