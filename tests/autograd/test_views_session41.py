"""Views and in-place ops as PyTorch's, fifth pass (session 41): ``copy_`` from another dtype
casts inside its CopyBackwards node (no ToCopyBackward0 under it, the gradient cast back to
the source's dtype), and the in-place ops PyTorch's autograd does not see (``logical_and_``,
``logical_or_``, ``logical_xor_``, ``logical_not_``) leave a forward-mode tangent as it was,
while the comparisons (``lt_``, ``eq_``, ...) zero it, as PyTorch's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .test_views_session40 import _copy_slices_tree

COPY_OTHER_DTYPE = {
    "view": "b=t.zeros(6, dtype=t.float32); v=b[1:3]; v.copy_(w[:2]); r=b",
    "whole": "b=t.zeros(2, dtype=t.float32); b.copy_(w[:2]); r=b",
    "broadcast": "b=t.zeros(2, 3, dtype=t.float32); b.copy_(w[:3]); r=b",
    "view_broadcast": "b=t.zeros(2, 3, dtype=t.float32); b[1].copy_(w[:3]); r=b",
    "to_float64": "b=t.zeros(2, dtype=t.float64); b.copy_(w[:2].float()); r=b",
    "requires_grad_target": "b=x[:4].float()*1; b[1:3].copy_(w[:2]); r=b",
}


@pytest.mark.parametrize("case", list(COPY_OTHER_DTYPE))
def test_copy_from_another_dtype_next_functions_as_torch(case):
    code = COPY_OTHER_DTYPE[case]
    assert _copy_slices_tree(cr, code) == _copy_slices_tree(torch, code)


@pytest.mark.parametrize("case", list(COPY_OTHER_DTYPE))
def test_copy_from_another_dtype_values_and_gradients_as_torch(case):
    def run(lib):
        x = lib.tensor(np.linspace(0.1, 0.6, 6), requires_grad=True)
        w = lib.tensor(np.linspace(1, 2, 6), requires_grad=True)
        ns = {"x": x, "w": w, "t": lib}
        exec(COPY_OTHER_DTYPE[case], ns)  # noqa: S102 - fixed test strings
        r = ns["r"]
        (r * r).sum().backward()
        grads = [
            None if g is None else (str(g.dtype), np.round(g.numpy(), 6).tolist())
            for g in (x.grad, w.grad)
        ]
        return str(r.dtype).split(".")[-1], np.round(r.detach().numpy(), 6).tolist(), grads

    assert run(cr) == run(torch)


def test_copy_from_another_dtype_tangent_as_torch():
    def run(lib):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            src = fw.make_dual(
                lib.tensor([1.0, 2.0], dtype=lib.float64),
                lib.tensor([0.5, -1.0], dtype=lib.float64),
            )
            b = lib.zeros(3, dtype=lib.float32)
            b[1:].copy_(src)
            tangent = fw.unpack_dual(b).tangent
            return str(tangent.dtype).split(".")[-1], tangent.tolist()

    assert run(cr) == run(torch)


FORWARD_INPLACE = {
    "lt_": "x.lt_(y)",
    "le_": "x.le_(y)",
    "gt_": "x.gt_(y)",
    "ge_": "x.ge_(y)",
    "eq_": "x.eq_(y)",
    "ne_": "x.ne_(y)",
    "lt_scalar": "x.lt_(2.0)",
    "greater_": "x.greater_(y)",
    "logical_and_": "x.logical_and_(y)",
    "logical_or_": "x.logical_or_(y)",
    "logical_xor_": "x.logical_xor_(y)",
    "logical_not_": "x.logical_not_()",
    "sign_": "x.sign_()",
    "floor_": "x.floor_()",
    "floor_divide_": "x.floor_divide_(y)",
    "heaviside_": "x.heaviside_(y)",
}


def _forward_inplace(lib, code: str, dual: str, view: bool):
    fw = lib.autograd.forward_ad
    try:
        with fw.dual_level():
            x = lib.tensor([1.0, 2.0, 3.0, 0.0])
            y = lib.tensor([2.0, 2.0, 2.0, 1.0])
            if dual in ("x", "both"):
                x = fw.make_dual(x.clone(), lib.tensor([1.0, 1.5, 2.0, 2.5]))
            if dual in ("y", "both"):
                y = fw.make_dual(y.clone(), lib.tensor([3.0, 4.0, 5.0, 6.0]))
            base = x
            if view:
                x, y = x[1:], y[1:]
            r = eval(code, {"x": x, "y": y})  # noqa: S307 - fixed test strings
            out = []
            for o in (r, base):
                tangent = fw.unpack_dual(o).tangent
                out.append((o.tolist(), None if tangent is None else tangent.tolist()))
            return out, r._version
    except NotImplementedError as err:
        return "NotImplementedError", str(err)


_FORWARD_CASES = [
    (case, dual)
    for case, code in FORWARD_INPLACE.items()
    for dual in (("x", "y", "both") if "y" in code else ("x",))
]


@pytest.mark.parametrize("view", [False, True])
@pytest.mark.parametrize(("case", "dual"), _FORWARD_CASES)
def test_forward_mode_inplace_comparisons_and_logical_ops_as_torch(case, dual, view):
    code = FORWARD_INPLACE[case]
    assert _forward_inplace(cr, code, dual, view) == _forward_inplace(torch, code, dual, view)
