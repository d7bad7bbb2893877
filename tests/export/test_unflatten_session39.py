"""Session 39: ``cr.export.unflatten`` of a module called several times with different
computations (a flag, other constants), against torch 2.13 (live): torch gives each call
with a graph of its own a module of its own (``sub@1``) sharing the first one's state and
children, and sends a call equal to an earlier one to that call's module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from . import _models as M
from .test_unflatten_session38 import _graph, _leaves


def flagged(lib):
    class Sub(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 4)
            self.scale = lib.nn.Parameter(lib.ones(4))

        def forward(self, x, flag=False):
            if flag:
                return self.lin(x) * 2
            return self.lin(x) * self.scale + 1

    class Flagged(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.sub = Sub()

        def forward(self, x):
            return self.sub(x) + self.sub(x, True)

    return Flagged()


def constants(lib):
    class Inner(lib.nn.Module):
        def forward(self, x, k):
            return x * k

    class Outer(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.lin = lib.nn.Linear(4, 4)

        def forward(self, x):
            return self.inner(self.lin(x), 2) + self.inner(x, 3)

    return Outer()


def alternating(lib):
    class Inner(lib.nn.Module):
        def forward(self, x, k):
            return x * k

    class Alternating(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()

        def forward(self, x):
            return self.inner(x, 2) + self.inner(x, 3) + self.inner(x, 2) + self.inner(x, 3)

    return Alternating()


def grandchild_differs(lib):
    class Leaf(lib.nn.Module):
        def forward(self, x, k):
            return x + k

    class Mid(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.leaf = Leaf()
            self.lin = lib.nn.Linear(4, 4)

        def forward(self, x, k):
            return self.leaf(self.lin(x), k)

    class Top(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.mid = Mid()

        def forward(self, x):
            return self.mid(x, 1.0) * self.mid(x, 2.0)

    return Top()


BUILDERS = {
    "flagged": flagged,
    "constants": constants,
    "alternating": alternating,
}


def _tree(u):
    return [(name, type(m).__name__) for name, m in u.named_modules(remove_duplicate=False)]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch's unflatten on its TreeSpec
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_calls_with_other_computations_as_torchs(name):
    theirs, ours = M.pair(BUILDERS[name])
    t, o = M.inputs(3, 4)
    te, oe = torch.export.export(theirs, (t,)), cr.export.export(ours, (o,))
    tu, ou = torch.export.unflatten(te), cr.export.unflatten(oe)
    assert _tree(ou) == _tree(tu)
    assert [n for n, _ in ou.named_parameters()] == [n for n, _ in tu.named_parameters()]
    assert list(ou.state_dict()) == list(tu.state_dict())
    for path, theirs_m in tu.named_modules():
        ours_m = ou.get_submodule(path)
        assert _graph(ours_m.graph) == _graph(theirs_m.graph), path
    # which modules are one object (sub@1.lin is sub.lin where lin's calls are equal)
    t_ids = {n: id(m) for n, m in tu.named_modules(remove_duplicate=False)}
    o_ids = {n: id(m) for n, m in ou.named_modules(remove_duplicate=False)}
    assert {(a, b) for a in t_ids for b in t_ids if t_ids[a] == t_ids[b]} == {
        (a, b) for a in o_ids for b in o_ids if o_ids[a] == o_ids[b]
    }
    t, o = M.inputs(3, 4, seed=4)
    got, want = ou(o), tu(t)
    np.testing.assert_allclose(_leaves(got)[0], want.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_leaves(got)[0], _leaves(ours(o))[0], rtol=1e-6, atol=1e-6)


def test_grandchild_differing_runs_as_eager():
    """Two calls of ``mid`` whose graphs differ only in the ``leaf`` call they make
    (``leaf`` vs ``leaf@1``): torch 2.13 merges them (its graph comparison leaves the
    called module's name out) and computes ``leaf``'s first call twice, giving other
    values than the module; chainrule keeps ``mid@1`` and matches the module."""
    ours = grandchild_differs(cr)
    o = M.inputs(3, 4)[1]
    u = cr.export.unflatten(cr.export.export(ours, (o,)))
    names = ["", "mid", "mid.leaf", "mid.lin", "mid@1", "mid@1.leaf@1"]
    assert [n for n, _ in u.named_modules()] == names
    assert u.get_submodule("mid@1").lin is u.mid.lin
    o = M.inputs(3, 4, seed=1)[1]
    np.testing.assert_allclose(
        u(o).detach().numpy(), ours(o).detach().numpy(), rtol=1e-6, atol=1e-6
    )


def test_copy_shares_the_first_calls_state():
    """The copy's parameters are the first module's (one object): a change to one is seen
    by both calls, as in the original module."""
    ours = flagged(cr)
    o = M.inputs(3, 4)[1]
    u = cr.export.unflatten(cr.export.export(ours, (o,)))
    copy = u.get_submodule("sub@1")
    assert copy.scale is u.sub.scale
    assert copy.lin is u.sub.lin
    with cr.no_grad():
        u.sub.lin.weight.mul_(2)
        ours.sub.lin.weight.mul_(2)
    np.testing.assert_allclose(
        u(o).detach().numpy(), ours(o).detach().numpy(), rtol=1e-6, atol=1e-6
    )
