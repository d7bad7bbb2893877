"""Views without a ``grad_fn`` (made under ``no_grad``, or of a base that did not require
grad then) and in-place writes on dual tensors, each case run on chainrule and on torch.

Covers: ``is_leaf`` of a stale no_grad view raises torch's error; ``next_functions`` lists
such a view as ``(None, 0)``; a view follows its base's later ``requires_grad_()``; an
in-place op on a dual tensor writes into the tangent ``make_dual`` was given.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwad

import chainrule as cr
import chainrule.autograd.forward_ad as cfwad

LIBS = [(cr, cfwad), (torch, tfwad)]


def _outcome(fn, lib, fwad):
    """What ``fn`` returns, or ``("raise", type, message)``."""
    try:
        return fn(lib, fwad)
    except Exception as e:  # noqa: BLE001 - the error itself is compared
        return ("raise", type(e).__name__, str(e))


def _same(fn):
    got, want = (_outcome(fn, lib, fwad) for lib, fwad in LIBS)
    assert got == want


def _stale(lib, base_mod, view_of_view=False, where="base"):
    x = lib.arange(4.0).requires_grad_()
    if base_mod == "clone":
        x = x.clone()
    with lib.no_grad():
        v = x[:3]
    w = v[:2] if view_of_view else v
    with lib.no_grad():
        (x if where == "base" else x[1:]).mul_(2)
    return w


@pytest.mark.parametrize("base_mod", ["leaf", "clone"])
@pytest.mark.parametrize("view_of_view", [False, True])
@pytest.mark.parametrize("where", ["base", "sibling"])
def test_is_leaf_of_stale_no_grad_view_raises(base_mod, view_of_view, where):
    _same(lambda lib, _: _stale(lib, base_mod, view_of_view, where).is_leaf)
    _same(lambda lib, _: _stale(lib, base_mod, view_of_view, where).requires_grad)


def test_is_leaf_raises_when_the_view_itself_was_modified():
    def run(lib, _):
        x = lib.arange(4.0, requires_grad=True).clone()
        with lib.no_grad():
            v = x[:2]
            v.mul_(2)
        return v.is_leaf

    _same(run)


def test_stale_view_of_a_base_without_grad_is_fine_until_the_base_requires_grad():
    def run(lib, _):
        x = lib.arange(4.0)
        with lib.no_grad():
            v = x[:2]
        x.mul_(2)
        before = (v.is_leaf, v.requires_grad)
        x.requires_grad_()
        return before, _outcome(lambda *_: v.is_leaf, None, None), v.requires_grad

    _same(run)


def _edges(node):
    """``next_functions`` as names (None where no node)."""
    return tuple((None if n is None else n.name(), i) for n, i in node.next_functions)


@pytest.mark.parametrize(
    "op",
    [
        lambda v, z: v.sum(),
        lambda v, z: v.exp(),
        lambda v, z: v.sum(0),
        lambda v, z: v * 2,
        lambda v, z: v + z,
        lambda v, z: v[:1],
    ],
)
def test_next_functions_list_a_no_grad_view_as_none(op):
    def run(lib, _):
        x = lib.arange(4.0, requires_grad=True)
        z = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            v = x[:3]
        y = op(v, z)
        return y.requires_grad, _edges(y.grad_fn)

    _same(run)


@pytest.mark.parametrize("made", ["no_grad", "grad_on"])
def test_view_follows_its_base_requires_grad(made):
    def run(lib, _):
        x = lib.arange(4.0)
        if made == "no_grad":
            with lib.no_grad():
                v = x[:2]
        else:
            v = x[:2]
        out = [(v.requires_grad, v.grad_fn is None, v.is_leaf)]
        x.requires_grad_()
        out.append((v.requires_grad, v.grad_fn is None, v.is_leaf))
        y = (v * 2).sum()
        out.append(_edges(y.grad_fn.next_functions[0][0]))
        y.backward()
        out.append((x.grad, v.grad))
        out.append(_outcome(lambda *_: v.mul_(2) and None, None, None)[:2])
        v.requires_grad_(False)  # the view's own flag: it still follows its base
        out.append(v.requires_grad)
        w = v[:1]
        out.append((w.requires_grad, w.grad_fn.name()))
        x.requires_grad_(False)
        out.append((v.requires_grad, w.requires_grad))
        return out

    _same(run)


@pytest.mark.parametrize("made", ["no_grad", "grad_on", "no_grad_rg_base"])
def test_a_view_given_requires_grad_is_its_own_leaf(made):
    def run(lib, _):
        x = lib.arange(4.0, requires_grad=made == "no_grad_rg_base")
        if made == "grad_on":
            v = x[:2]
        else:
            with lib.no_grad():
                v = x[:2]
        v.requires_grad_()
        x.requires_grad_()
        y = (v * 2).sum()
        edges = _edges(y.grad_fn.next_functions[0][0])
        y.backward()
        return edges, v.grad.tolist(), x.grad

    _same(run)


def test_numpy_of_a_view_following_its_base_refuses_under_grad_mode():
    def run(lib, _):
        x = lib.arange(4.0)
        with lib.no_grad():
            v = x[:2]
        x.requires_grad_()
        with lib.no_grad():
            ok = np.asarray(v).tolist()
        return ok, _outcome(lambda *_: np.asarray(v), None, None)[:2]

    _same(run)


# ------------------------------------------------------------- forward mode, in place


def _dual_inplace(write):
    def run(lib, fwad):
        x = lib.arange(1.0, 4.0)
        t = lib.ones(3)
        with fwad.dual_level():
            d = fwad.make_dual(x, t)
            write(lib, d)
            tan = fwad.unpack_dual(d).tangent
            return tan is t, tan.tolist(), t.tolist(), t._version

    return run


@pytest.mark.parametrize(
    "write",
    [
        lambda lib, d: d.mul_(2),
        lambda lib, d: d.add_(lib.ones(3)),
        lambda lib, d: d.neg_(),
        lambda lib, d: d[0].mul_(3),
        lambda lib, d: d[1:].zero_(),
        lambda lib, d: d.zero_(),
        lambda lib, d: d.fill_(2.0),
        lambda lib, d: d.copy_(lib.zeros(3)),
        lambda lib, d: d.mul_(2).add_(1),
    ],
)
def test_inplace_on_a_dual_writes_into_the_given_tangent(write):
    _same(_dual_inplace(write))


def test_inplace_with_a_dual_argument_writes_into_the_given_tangent():
    def run(lib, fwad):
        t = lib.ones(3)
        with fwad.dual_level():
            d = fwad.make_dual(lib.arange(1.0, 4.0), t)
            e = fwad.make_dual(lib.arange(3.0), lib.full((3,), 2.0))
            d.mul_(e)
            tan = fwad.unpack_dual(d).tangent
            return tan is t, t.tolist()

    _same(run)


def test_results_of_a_dual_keep_their_tangent_when_the_dual_changes_in_place():
    def run(lib, fwad):
        t = lib.ones(3)
        with fwad.dual_level():
            d = fwad.make_dual(lib.arange(1.0, 4.0), t)
            y = d + lib.ones(3)
            z = d.clone()
            v = d[:2]  # a view: its tangent is a view of d's
            d.mul_(5)
            return [fwad.unpack_dual(a).tangent.tolist() for a in (y, z, v)], t.tolist()

    _same(run)


def test_a_tangent_laid_out_unlike_its_primal_is_copied():
    def run(lib, fwad):
        x = lib.zeros(3, 2)
        t = lib.ones(2, 3).t()
        with fwad.dual_level():
            d = fwad.make_dual(x, t)
            same = fwad.unpack_dual(d).tangent is t
            d.mul_(2)
            return same, fwad.unpack_dual(d).tangent.tolist(), t.tolist()

    _same(run)
