"""Modify an op's output or input in place after forward, then backward (issue 9 §2).

For every spec in ``op_specs.SPECS`` (tensor and ``nn.functional`` ops alike): run the op on
non-leaf inputs (``leaf * 1``, so they may be modified in place), then ``mul_(2)`` one
output or one input, then backward. PyTorch is the reference:

* where PyTorch raises (the op saved the modified tensor), chainrule must raise too;
* where PyTorch allows it, chainrule must give PyTorch's gradients (an op that read a
  modified tensor without a version check would give a wrong one).

Views included: modifying a view output rebases its base (``CopySlices``), and modifying an
input after a view of it was taken replays the view, as in PyTorch
(:mod:`chainrule.autograd.view_replay`).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

from .known_inplace_differences import CR_RAISES, KNOWN_DIFFERENCES, TORCH_RAISES
from .op_specs import SPECS, OpSpec, make_inputs

# Where chainrule and PyTorch save different things, the outcome may differ -- but never by a
# silently wrong gradient (outcome() asserts that). The exact table, with the reason for each
# entry, is tests/ops/known_inplace_differences.py.

ALL_SPECS = [(s, s.shapes[0], s.id) for s in SPECS]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _float_outputs(outs) -> list[int]:
    return (
        [i for i, o in enumerate(outs) if o.dtype.is_floating_point and o.requires_grad]
        if isinstance(outs[0], torch.Tensor)
        else [i for i, o in enumerate(outs) if o.dtype.kind == "f" and o.requires_grad]
    )


def _run(lib, fn, arrays, target, clone=False):
    """Forward on non-leaf inputs, ``mul_(2)`` the target in place, backward.

    With ``clone`` the target is cloned first, so nothing the op saved is touched: the
    gradient is then the mathematically right answer for the same computation.
    Returns ("raise", message) if any step raised, else ("ok", gradients of the leaves).
    """
    leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
    try:
        xs = [leaf * 1.0 for leaf in leaves]
        outs = list(_as_tuple(fn(*xs)))
        kind, i = target
        seq = outs if kind == "out" else xs
        if clone:
            seq[i] = seq[i].clone()
        seq[i].mul_(2.0)
        rng = np.random.default_rng(7)
        loss = None
        for k in _float_outputs(outs):
            term = (outs[k] * lib.tensor(rng.standard_normal(tuple(outs[k].shape)))).sum()
            loss = term if loss is None else loss + term
        if loss is None:
            return "ok", [None] * len(leaves)
        grads = lib.autograd.grad(loss, leaves, allow_unused=True)
    except (RuntimeError, ValueError) as err:
        return "raise", str(err)
    return "ok", [None if g is None else np.array(g.detach().numpy()) for g in grads]


def _targets(spec: OpSpec, shapes: tuple) -> list:
    arrays = make_inputs(spec, shapes)
    with torch.no_grad():
        touts = _as_tuple(spec.th_fn(*[torch.tensor(a) for a in arrays]))
    outs = [("out", i) for i, o in enumerate(touts) if o.dtype.is_floating_point]
    return outs + [("in", i) for i in range(len(arrays))]


def _assert_same_grads(c_res, t_res, where):
    for k, (c, t) in enumerate(zip(c_res, t_res)):
        if t is None or c is None:
            assert (t is None or not t.any()) and (c is None or not c.any()), (
                f"{where}: gradient presence differs for input {k}"
            )
            continue
        np.testing.assert_allclose(
            c, t, rtol=1e-7, atol=1e-9, err_msg=f"{where}: gradient of input {k}"
        )


def outcome(spec: OpSpec, shapes: tuple, target) -> str:
    """How chainrule compares with PyTorch for one in-place target (asserting safety).

    Returns "same" (both raise, or both give the same gradient), TORCH_RAISES (PyTorch saved
    the modified tensor, chainrule's rule never reads it and its gradient is the right one)
    or CR_RAISES (chainrule's rule reads the modified tensor and raises where PyTorch's reads
    something else). Any silently wrong gradient fails.
    """
    arrays = make_inputs(spec, shapes)
    where = f"{spec.id}: mul_ on {target[0]}put {target[1]}"
    t_kind, t_res = _run(torch, spec.th_fn, arrays, target)
    c_kind, c_res = _run(cr, spec.cr_fn, arrays, target)
    if t_kind == "raise" and c_kind == "raise":
        return "same"
    if c_kind == "raise":
        assert "inplace operation" in c_res, (
            f"{where}: PyTorch allows it but chainrule raised: {c_res}"
        )
        return CR_RAISES
    if t_kind == "raise":  # compare with the right answer: the same run on a clone
        t_kind, t_res = _run(torch, spec.th_fn, arrays, target, clone=True)
        assert t_kind == "ok", f"{where}: reference run failed: {t_res}"
        _assert_same_grads(c_res, t_res, where + " (vs. the cloned reference)")
        return TORCH_RAISES
    _assert_same_grads(c_res, t_res, where)
    return "same"


@pytest.mark.parametrize("spec,shapes", [c[:2] for c in ALL_SPECS], ids=[c[2] for c in ALL_SPECS])
def test_inplace_after_forward_raises_or_matches_torch(spec, shapes):
    got = {}
    for target in _targets(spec, shapes):
        res = outcome(spec, shapes, target)
        if res != "same":
            got[f"{target[0]}{target[1]}"] = res
    known = KNOWN_DIFFERENCES.get(spec.id, {})
    want = {target: kind for target, (kind, _reason) in known.items()}
    assert got == want, (
        f"{spec.id}: in-place-after-forward differs from PyTorch in {got}, expected {want}. "
        "If the op now saves what PyTorch saves, remove it from KNOWN_DIFFERENCES; if it "
        "raises where PyTorch runs, save only what backward reads (ctx.needs_input_grad)"
    )


def test_issue_reproducers_raise_like_torch():
    x = cr.randn(3, 5, requires_grad=True)
    y = F.layer_norm(x, (5,))  # saves x and the statistics, as PyTorch: in place is fine
    y.mul_(2.0)
    y.sum().backward()
    assert x.grad is not None
    x.grad = None
    y = x.amax(1)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_mul_by_constant_mask_in_place_runs_as_in_torch():
    # x*2 needs only the constant; the in-place mul by a constant mask needs only the mask:
    # nothing saved is modified, so PyTorch runs and so must chainrule.
    x = cr.randn(4, requires_grad=True)
    mask = cr.tensor([1.0, 0.0, 1.0, 0.0])
    h = x * 2
    h.mul_(mask)
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 2.0, 0.0])


def test_needs_input_grad_is_known_inside_forward():
    seen = []

    class Probe(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    a = cr.ones(2, requires_grad=True)
    Probe.apply(a, cr.ones(2))
    with cr.no_grad():
        Probe.apply(a, cr.ones(2))
    assert seen == [(True, False), (False, False)]


def test_saved_view_of_output_is_version_checked():
    class SavesView(cr.autograd.Function):
        raw = True

        @staticmethod
        def forward(ctx, x):
            y = x * 3.0
            ctx.save_for_backward(y.reshape(-1))  # a view of the output, not the output
            return y

        @staticmethod
        def backward(ctx, g):
            (flat,) = ctx.saved_tensors
            return g * flat.reshape(g.shape)

    x = cr.ones(2, 2, requires_grad=True)
    y = SavesView.apply(x)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_every_known_difference_has_a_reason():
    for name, targets in KNOWN_DIFFERENCES.items():
        for target, (kind, reason) in targets.items():
            assert kind in (TORCH_RAISES, CR_RAISES) and len(reason) > 20, (name, target)
