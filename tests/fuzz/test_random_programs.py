"""Differential fuzzing: random small programs give the same answers on torch and chainrule.

Each example is a random program of 3-8 steps (:mod:`tests.fuzz.programs`) over a few
float64 tensors: elementwise ops, broadcasting binary ops, reductions, views of views,
in-place ops on non-leaves and on views, ``detach``/``clone``/``retain_grad``, matmul,
cat/stack, and the indexing, masking, scan, softmax, clamp and rearranging steps of
:mod:`tests.fuzz.more_steps` (and the steps of ``extra_steps``, ``nn_steps``,
``linalg_steps``: linalg, fft and complex, ``math_steps``: special functions, NaN
reductions, searching, float16 and small integer dtypes; and the rounds' tables ``r9_steps``,
``r10_steps``, ``r11_steps``: sparse, masked, low-precision casts, ``func`` transforms, more
``nn.functional``). Every intermediate value, every
error, the final values, and the gradients (or a double backward) must agree with torch.

The committed default is small and fast. To hunt for bugs, run many examples::

    CR_FUZZ_EXAMPLES=2000 python -m pytest tests/fuzz/test_random_programs.py \
        -p no:cacheprovider --hypothesis-seed=1
"""

from __future__ import annotations

import os
import warnings

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

from .forward import assert_same_forward, forward_checked, run_forward
from .programs import KINDS, Program, Step, assert_same, run

__all__ = ["programs"]

EXAMPLES = int(os.environ.get("CR_FUZZ_EXAMPLES", "60"))

_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
_leaf = st.tuples(_shapes, st.booleans() | st.just(True), st.integers(0, 4).map(lambda i: i == 0))


@st.composite
def _typed_leaves(draw: st.DrawFn) -> tuple:
    """1-3 leaves: all float64 (most programs), all float32, or of mixed dtypes (float64,
    float32, int64, bool)."""
    leaves = draw(st.lists(_leaf, min_size=1, max_size=3))
    mode = draw(st.sampled_from(["float64", "float64", "float32", "mixed"]))
    if mode == "mixed":
        dtypes = ["float64", "float32", "int64", "bool"]
        return tuple((*leaf, draw(st.sampled_from(dtypes))) for leaf in leaves)
    return tuple((*leaf, mode) for leaf in leaves)


_steps = st.builds(
    Step,
    st.sampled_from(KINDS),
    st.tuples(*[st.integers(0, 11)] * 5),
    st.sampled_from([0.5, -1.5, 2.0, 0.25]),
)
programs = st.builds(
    Program,
    _typed_leaves(),
    st.lists(_steps, min_size=3, max_size=8).map(tuple),
    st.integers(0, 2**16),
    st.booleans(),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(programs)
def test_random_program_matches_torch(prog: Program) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecations and such of either library
        reference = run(torch, prog)
        assert_same(reference, run(cr, prog, skip=reference.skipped))
        if forward_checked(prog):
            assert_same_forward(run_forward(torch, prog), run_forward(cr, prog))
