"""Session 38: derived dims against torch.export 2.13 (live): a root whose value or a
place's size is 0 or 1 reports every place of that root (``Constraints violated (d, d +
1)``), a root used only through derived dims gets torch's range (``[2, int_oo]``),
``isinstance(2 * dx, Dim)``, and the range checks when several dynamic sizes vary."""

from __future__ import annotations

import re

import pytest
import torch

import chainrule as cr


def _module(lib, n):
    class Two(lib.nn.Module):
        def forward(self, a, b):
            return a.sum() + b.sum()

    class Three(lib.nn.Module):
        def forward(self, a, b, c):
            return a.sum() + b.sum() + c.sum()

    class One(lib.nn.Module):
        def forward(self, a):
            return a * 2

    return {1: One, 2: Two, 3: Three}[n]()


def _export(lib, shapes, dims):
    gen = torch.Generator().manual_seed(0)
    arrays = [torch.randn(*s, generator=gen).numpy() for s in shapes]
    inputs = tuple(lib.tensor(a) for a in arrays)
    return lib.export.export(_module(lib, len(shapes)), inputs, dynamic_shapes=dims(lib))


def _error(lib, shapes, dims):
    try:
        _export(lib, shapes, dims)
    except Exception as exc:  # noqa: BLE001 - compared with torch's
        return type(exc).__name__, str(exc)
    return None


def _ranges(ep):
    return sorted(
        (re.sub(r"s\d+", "s", str(k)), int(v.lower), str(v.upper).replace("inf", "int_oo"))
        for k, v in ep.range_constraints.items()
    )


SPECIALIZED = {
    "root_first": ([(1,), (2,)], lambda d: ({0: d}, {0: d + 1})),
    "derived_first": ([(2,), (1,)], lambda d: ({0: d + 1}, {0: d})),
    "root_one_only_derived": ([(2,), (2,)], lambda d: ({0: 2 * d}, {0: d + 1})),
    "three_places": ([(3,), (1,), (2,)], lambda d: ({0: 2 * d + 1}, {0: d}, {0: d + 1})),
    "root_single": ([(1, 3)], lambda d: ({0: d},)),
}


@pytest.mark.parametrize("case", sorted(SPECIALIZED))
def test_specialized_root_reports_every_place(case):
    shapes, spec = SPECIALIZED[case]

    def dims(lib):
        return spec(lib.export.Dim("d"))

    theirs, ours = _error(torch, shapes, dims), _error(cr, shapes, dims)
    assert theirs is not None and ours == theirs


def test_derived_size_of_one_specializes_its_root():
    def dims(lib):
        d = lib.export.Dim("d", min=1)
        return ({0: d - 1}, {0: d})

    theirs, ours = _error(torch, [(1,), (2,)], dims), _error(cr, [(1,), (2,)], dims)
    assert theirs is not None and ours == theirs


ONLY_DERIVED = {
    "2d": ([(4, 3)], lambda lib: ({0: 2 * lib.export.Dim("d")},)),
    "d+1": ([(4, 3)], lambda lib: ({0: lib.export.Dim("d") + 1},)),
    "2d_min3": ([(8, 3)], lambda lib: ({0: 2 * lib.export.Dim("d", min=3)},)),
    "two_derived_bounded": (
        [(4, 3), (3, 3)],
        lambda lib: (lambda d: ({0: 2 * d}, {0: d + 1}))(lib.export.Dim("d", min=0, max=10)),
    ),
    "direct": ([(4, 3)], lambda lib: ({0: lib.export.Dim("d")},)),
}


@pytest.mark.parametrize("case", sorted(ONLY_DERIVED))
def test_root_used_only_through_derived_dims_has_torchs_range(case):
    shapes, dims = ONLY_DERIVED[case]
    assert _ranges(_export(cr, shapes, dims)) == _ranges(_export(torch, shapes, dims))


def test_derived_dim_is_a_dim():
    for lib in (torch, cr):
        dx = lib.export.Dim("dx")
        assert isinstance(2 * dx, lib.export.Dim)
        assert isinstance(dx + 1, lib.export.Dim)
        assert isinstance(2 * dx - 1, lib.export.Dim)
    ours = 2 * cr.export.Dim("dx", max=8) + 1
    theirs = 2 * torch.export.Dim("dx", max=8) + 1
    assert (ours.__name__, ours.min, ours.max) == (theirs.__name__, theirs.min, theirs.max)


def _matmul(lib):
    class MM(lib.nn.Module):
        def forward(self, x, y):
            return x @ y

    return MM()


VARYING = {
    "first_out_of_range": lambda lib: (
        {0: lib.export.Dim("a", max=2), 1: lib.export.Dim("k")},
        {0: lib.export.Dim("k"), 1: lib.export.Dim("c")},
    ),
    "below_min": lambda lib: (
        {0: lib.export.Dim("a", min=5), 1: lib.export.Dim("k")},
        {0: lib.export.Dim("k"), 1: lib.export.Dim("c", max=3)},
    ),
    "last_out_of_range": lambda lib: (
        {0: lib.export.Dim("a"), 1: lib.export.Dim("k")},
        {0: lib.export.Dim("k"), 1: lib.export.Dim("c", max=3)},
    ),
    "all_fit": lambda lib: (
        {0: lib.export.Dim("a", max=9), 1: lib.export.Dim("k", min=3)},
        {0: lib.export.Dim("k", min=3), 1: lib.export.Dim("c", max=9)},
    ),
}


@pytest.mark.parametrize("case", sorted(VARYING))
def test_range_checks_with_several_dynamic_sizes(case):
    def run(lib):
        gen = torch.Generator().manual_seed(1)
        x, y = torch.randn(3, 4, generator=gen), torch.randn(4, 5, generator=gen)
        args = (lib.tensor(x.numpy()), lib.tensor(y.numpy()))
        try:
            ep = lib.export.export(_matmul(lib), args, dynamic_shapes=VARYING[case](lib))
        except Exception as exc:  # noqa: BLE001 - compared with torch's
            return type(exc).__name__, str(exc)
        return _ranges(ep)

    assert run(cr) == run(torch)


OUT_OF_RANGE = {
    "derived_over_max": (
        [(8,), (4,)],
        lambda lib: (lambda a: ({0: 2 * a}, {0: a}))(lib.export.Dim("a", max=3)),
    ),
    "derived_first_over_max": (
        [(8,), (3,)],
        lambda lib: (lambda a, b: ({0: 2 * a}, {0: b}))(
            lib.export.Dim("a", max=3), lib.export.Dim("b", max=2)
        ),
    ),
    "two_roots_both_out": (
        [(5,), (6,)],
        lambda lib: ({0: lib.export.Dim("a", max=3)}, {0: lib.export.Dim("b", max=4)}),
    ),
    "second_derived_over_max": (
        [(5,), (6,)],
        lambda lib: ({0: lib.export.Dim("a", min=7) - 2}, {0: lib.export.Dim("b", max=4) + 1}),
    ),
    "derived_mismatch": (
        [(3,), (8,)],
        lambda lib: (lambda a: ({0: a}, {0: 2 * a}))(lib.export.Dim("a")),
    ),
}


@pytest.mark.parametrize("case", sorted(OUT_OF_RANGE))
def test_example_outside_a_derived_range(case):
    """The range a derived place is checked against is printed from 2, as torch's."""
    shapes, dims = OUT_OF_RANGE[case]
    theirs, ours = _error(torch, shapes, dims), _error(cr, shapes, dims)
    assert theirs is not None and ours == theirs
