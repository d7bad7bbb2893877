"""In-place ops on views of dual tensors (forward-mode AD), against PyTorch.

``make_dual(x, t)`` returns a view of ``x`` whose tangent belongs to the dual, not to ``x``:
a view of the dual has the same view of the dual's tangent as its tangent, and an in-place
op on that view updates the dual's tangent through it, never ``x``'s (``x`` has none).
chainrule wrote such tangents into ``x`` (the root of the view chain) and left the dual's
unchanged: a silent wrong answer. Each case below runs in PyTorch and in chainrule and
compares the primal values, the dual's tangent, the view's tangent, the tangent of a
sibling view taken before the write, and ``x``'s tangent (None).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import chainrule as cr
import chainrule.autograd.forward_ad as fw

SHAPE = (3, 4)

# name -> view of the (3, 4) dual tensor d
VIEWS: dict[str, Callable] = {
    "index": lambda d: d[1],
    "slice": lambda d: d[1:],
    "step_slice": lambda d: d[:, ::2],
    "select": lambda d: d.select(1, 2),
    "view": lambda d: d.view(12),
    "reshape": lambda d: d.reshape(4, 3),
    "transpose": lambda d: d.transpose(0, 1),
    "T": lambda d: d.T,
    "diagonal": lambda d: d.diagonal(),
    "unsqueeze": lambda d: d.unsqueeze(0),
    "narrow": lambda d: d.narrow(1, 1, 2),
    "whole": lambda d: d[...],
    "nested_slice_T_index": lambda d: d[1:].T[1],
    "nested_view_slice_view": lambda d: d.view(12)[2:8].view(2, 3),
    "nested_T_diagonal": lambda d: d.T.diagonal(1),
}


def _mk(lib: object, fwd: object, rng: np.random.Generator, shape: tuple) -> object:
    """A fresh dual tensor of ``shape`` (same numbers for both libraries: same seed)."""
    p = lib.tensor(rng.standard_normal(shape))
    t = lib.tensor(rng.standard_normal(shape))
    return fwd.make_dual(p, t)


def _plain(lib: object, rng: np.random.Generator, shape: tuple) -> object:
    return lib.tensor(rng.standard_normal(shape))


# name -> op(lib, fwd, view, rng): an in-place op on the view
OPS: dict[str, Callable] = {
    "mul_": lambda lib, fwd, v, rng: v.mul_(3),
    "mul_dual": lambda lib, fwd, v, rng: v.mul_(_mk(lib, fwd, rng, tuple(v.shape))),
    "add_dual": lambda lib, fwd, v, rng: v.add_(_mk(lib, fwd, rng, tuple(v.shape))),
    "add_plain": lambda lib, fwd, v, rng: v.add_(_plain(lib, rng, tuple(v.shape))),
    "copy_dual": lambda lib, fwd, v, rng: v.copy_(_mk(lib, fwd, rng, tuple(v.shape))),
    "copy_plain": lambda lib, fwd, v, rng: v.copy_(_plain(lib, rng, tuple(v.shape))),
    "sin_": lambda lib, fwd, v, rng: v.sin_(),
    "zero_": lambda lib, fwd, v, rng: v.zero_(),
    "fill_": lambda lib, fwd, v, rng: v.fill_(2.5),
    "fill_dual": lambda lib, fwd, v, rng: v.fill_(_mk(lib, fwd, rng, ())),
    "setitem_dual": lambda lib, fwd, v, rng: v.__setitem__(
        0, _mk(lib, fwd, rng, tuple(v[0].shape))
    ),
    "setitem_number": lambda lib, fwd, v, rng: v.__setitem__(0, 1.5),
    "masked_fill_": lambda lib, fwd, v, rng: v.masked_fill_(v > 0, 0.5),
    "masked_fill_dual": lambda lib, fwd, v, rng: v.masked_fill_(v > 0, _mk(lib, fwd, rng, ())),
}


def _np(t: object) -> np.ndarray | None:
    return None if t is None else t.detach().numpy().copy()


def _state(fwd: object, **tensors: object) -> dict:
    """Primal values and tangents (None where absent) of the named tensors."""
    out = {}
    for name, t in tensors.items():
        primal, tangent = fwd.unpack_dual(t)
        out[name] = _np(primal)
        out[name + ".tangent"] = _np(tangent)
    return out


def _run_view_op(lib: object, fwd: object, view_fn: Callable, op_fn: Callable) -> dict:
    rng = np.random.default_rng(7)
    x = lib.tensor(rng.standard_normal(SHAPE))
    tangent = lib.tensor(rng.standard_normal(SHAPE))
    with fwd.dual_level():
        d = fwd.make_dual(x, tangent)
        sibling = d[:, 1]  # taken before the write: re-takes its tangent when used
        v = view_fn(d)
        op_fn(lib, fwd, v, rng)
        return _state(fwd, d=d, view=v, sibling=sibling, x=x)


def _compare(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        if w is None:
            assert g is None, f"{key}: expected None (as torch), got {g}"
            continue
        assert g is not None, f"{key}: expected a tangent (as torch), got None"
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_inplace_on_a_view_of_a_dual_matches_torch(view: str, op: str) -> None:
    got = _run_view_op(cr, fw, VIEWS[view], OPS[op])
    want = _run_view_op(torch, tfw, VIEWS[view], OPS[op])
    assert want["x.tangent"] is None  # the premise: the tensor the dual aliases has none
    _compare(got, want)


def test_setitem_on_the_dual_with_a_dual_value() -> None:
    def run(lib: object, fwd: object) -> dict:
        rng = np.random.default_rng(3)
        x = lib.tensor(rng.standard_normal(SHAPE))
        with fwd.dual_level():
            d = fwd.make_dual(x, lib.tensor(rng.standard_normal(SHAPE)))
            row = d[2]
            d[0] = _mk(lib, fwd, rng, (4,))
            d[1, 1:3] = _mk(lib, fwd, rng, (2,))
            return _state(fwd, d=d, row=row, x=x)

    _compare(run(cr, fw), run(torch, tfw))


def _sequence(lib: object, fwd: object) -> dict:
    """Writes through the dual, its views, the aliased tensor and the unpacked primal, in turn."""
    rng = np.random.default_rng(5)
    x = lib.tensor(rng.standard_normal(SHAPE))
    with fwd.dual_level():
        d = fwd.make_dual(x, lib.tensor(rng.standard_normal(SHAPE)))
        s = d[0]
        states = {}
        s.mul_(3)
        states["after view write"] = _state(fwd, d=d, s=s, x=x)
        d.mul_(2)  # the dual itself: its views re-take their tangent from it
        states["after dual write"] = _state(fwd, d=d, s=s, x=x)
        x.mul_(2)  # no tangent: the dual's values change, its tangent does not
        states["after x write"] = _state(fwd, d=d, s=s, x=x)
        p = fwd.unpack_dual(d).primal
        p[1].copy_(_mk(lib, fwd, rng, (4,)))  # the primal owns the tangent it gets
        states["after primal write"] = _state(fwd, d=d, s=s, x=x, p=p)
        d.T[2].sin_()
        states["after T write"] = _state(fwd, d=d, s=s, x=x, p=p)
        return states


def test_writes_through_dual_views_base_and_primal_in_turn() -> None:
    got, want = _sequence(cr, fw), _sequence(torch, tfw)
    for step in want:
        _compare(got[step], want[step])


@pytest.mark.parametrize("layout", ["transposed", "strided", "transposed_tangent"])
@pytest.mark.parametrize("op", ["mul_", "add_dual", "copy_dual", "zero_", "setitem_dual"])
def test_dual_of_a_non_contiguous_tensor(layout: str, op: str) -> None:
    def run(lib: object, fwd: object) -> dict:
        rng = np.random.default_rng(11)
        root = lib.tensor(rng.standard_normal((4, 6)))
        x = root.T[:, :3].T if layout == "strided" else root[:, :3].T
        x = root[:3] if layout == "transposed_tangent" else x  # (3, 6) / (3, 4) / (3, 4)
        tangent = lib.tensor(rng.standard_normal(tuple(reversed(x.shape)))).T
        tangent = tangent if layout == "transposed_tangent" else tangent.contiguous()
        with fwd.dual_level():
            d = fwd.make_dual(x, tangent)
            v = d[1:, 1:]
            OPS[op](lib, fwd, v, rng)
            return _state(fwd, d=d, view=v, x=x, root=root)

    _compare(run(cr, fw), run(torch, tfw))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dual_view_write_recorded_for_reverse_mode(dtype: str) -> None:
    """With grad mode on and a primal that requires grad (a non-leaf), the write is recorded
    (CopySlices on the primal) and the tangent still goes to the dual only."""

    def run(lib: object, fwd: object) -> dict:
        rng = np.random.default_rng(2)
        w = lib.tensor(rng.standard_normal(SHAPE), dtype=getattr(lib, dtype), requires_grad=True)
        x = w * 1
        with fwd.dual_level():
            tangent = lib.tensor(rng.standard_normal(SHAPE), dtype=getattr(lib, dtype))
            d = fwd.make_dual(x, tangent)
            v = d[0]
            v.mul_(3)
            d[1:, 2].add_(_mk(lib, fwd, rng, (2,)).to(getattr(lib, dtype)))
            out = _state(fwd, d=d, v=v, x=x)
            (d * d).sum().backward()
        out["w.grad"] = _np(w.grad)
        return out

    got, want = run(cr, fw), run(torch, tfw)
    for key, w in want.items():
        np.testing.assert_allclose(got[key], w, rtol=1e-6, err_msg=key) if w is not None else None
        assert (got[key] is None) == (w is None), key


def _inplace_fn(lib: object) -> Callable:
    def f(a: object) -> object:
        y = a.clone()
        y[0].mul_(y[1])
        y[:, 1:].sin_()
        y.T[2].add_(a[:, 0])
        y.diagonal().zero_()
        return y * a

    return f


def test_func_jvp_of_inplace_on_views_of_a_clone() -> None:
    rng = np.random.default_rng(4)
    a, t = rng.standard_normal(SHAPE), rng.standard_normal(SHAPE)
    out, tan = cr.func.jvp(_inplace_fn(cr), (cr.tensor(a),), (cr.tensor(t),))
    t_out, t_tan = torch.func.jvp(_inplace_fn(torch), (torch.tensor(a),), (torch.tensor(t),))
    np.testing.assert_allclose(out.numpy(), t_out.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tan.numpy(), t_tan.numpy(), rtol=1e-12, atol=1e-14)
