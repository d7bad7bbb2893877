"""Session 44 of the nn-module fuzzer (seeds 55-; the drawer of :mod:`.kinds_s44` is new:
the padding modules with negative pads): a fixed sample of drawn cases, forward and backward
against torch; then the differences found."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .case import Case
from .kinds_s44 import S44_DRAWERS
from .programs import check, draw

__all__: list[str] = []


@pytest.mark.parametrize("kind", sorted(S44_DRAWERS))
@pytest.mark.parametrize("k", range(16))
def test_s44_family_agrees_with_torch(kind, k):
    case = draw(np.random.default_rng(4400 + k), (kind,), weird=0.0)
    assert check(case) == []


@pytest.mark.parametrize("kind", ["Reflection", "Replication"])
@pytest.mark.parametrize(
    ("pad", "shape"),
    [((-3, 0, -2, -1), (1, 2, 3, 4)), ((0, 0, -3, 0, -2, 0), (1, 1, 2, 3, 4)),
     ((-4, 0, -3, 0), (2, 3, 4))],
)  # fmt: skip
def test_edge_pad_modules_cropped_to_empty(kind, pad, shape):
    # found by the core fuzzer's pad_neg (session 44): torch refuses an empty result only
    # along every padded dim; the modules go through F.pad
    d = len(pad) // 2
    if kind == "Reflection" and d == 3:
        # torch's gradient of an empty 3-d reflect result is memory it never wrote (NaN,
        # 1e280: a torch bug); chainrule's is zeros. The shapes alone are compared
        shapes = [tuple(lib.nn.ReflectionPad3d(pad)(lib.zeros(shape)).shape) for lib in (torch, cr)]
        assert shapes[1] == shapes[0]
        return
    case = Case(f"{kind}Pad{d}d", (pad,), (), (("f", shape),), True, seed=3)
    assert check(case) == []


_SEED_55 = [
    # torch refuses output_ratio=() at construction (IndexError: its check reads
    # output_ratio[0]); chainrule accepted it and refused at the call
    Case("FractionalMaxPool3d", ((2, 2, 2),), (("output_ratio", ()),), (("f", (1, 4, 4, 5)),),
         False, seed=0),
    # an empty adaptive max pooling: torch's backward refuses the empty gradient
    Case("AdaptiveMaxPool3d", (0,), (), (("f", (2, 1, 1, 3)),), False, seed=0, utils=True),
    # steered (utils_s42._orthogonal): a rank-deficient weight, and max_norm=1.0
    Case("RMSNorm", ((2, 2),), (), (("f", (2, 2)),), False, seed=83, utils=True),
    Case("Embedding", (2, 3), (("max_norm", 1.0),), (("i", (3, 3), 0, 2),), False, seed=0,
         utils=True),
]  # fmt: skip


@pytest.mark.parametrize("case", _SEED_55)
def test_seed_55_cases_agree(case):
    assert check(case) == []


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("which", [0, -1])
def test_adaptive_max_pool_to_empty_refuses_the_gradient(nd, batched, which):
    # found by seed 55: torch's AdaptiveMaxPool2D/3DBackward0 refuses an empty grad_output
    # (1-d: the 2-d node on the unsqueezed input), chainrule gave zeros
    shape = (2,) * batched + (1,) + (3,) * nd
    size = [1] * nd
    size[which] = 0
    seen = []
    for lib in (torch, cr):
        x = lib.ones(shape, requires_grad=True)
        pool = getattr(lib.nn, f"AdaptiveMaxPool{nd}d")(tuple(size), return_indices=True)
        y, idx = pool(x)
        try:
            y.sum().backward()
            seen.append((tuple(y.shape), tuple(idx.shape), "ok"))
        except RuntimeError as exc:
            seen.append((tuple(y.shape), tuple(idx.shape), str(exc)))
    assert seen[1] == seen[0]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("k", [0, 1, 2])
def test_seed_57_max_unpool_to_an_empty_plane(d, k):
    # found by seed 57: MaxUnpool with kernel_size 0 unpools into an empty plane; torch's
    # MaxUnpool2DBackward0 then refuses every index ("index 0 is out of bounds for dimension
    # 2 with size 0"), chainrule's composite gave zeros (1-d and 2-d; 3-d already agreed)
    shape = (2, 2) + (1,) * d
    case = Case(f"MaxUnpool{d}d", (k,), (), (("f", shape), ("unpool", shape, 2, 2)), False,
                seed=0, utils=True)  # fmt: skip
    assert check(case) == []
