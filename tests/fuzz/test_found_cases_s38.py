"""Session 38 of the random-program fuzzer (seeds 924-933; the new kinds of
:mod:`tests.fuzz.s38_steps`: ``torch.autograd.functional``, dtype-conversion methods,
``linalg.norm``/``torch.norm``, the general eigenproblem, in-place promotion refusals and
in-place math methods): every variant of every new kind is pinned as a one-step program on a
float64 leaf and on an int64 leaf (first and second order), checked against torch by
:func:`tests.fuzz.hunt.check`; the differences found are torch quirks, steered around by the
steps and pinned here ``xfail(strict=True)``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from .hunt import check
from .programs import Program, Step
from .s38_steps import S38

__all__: list[str] = []

_VARIANTS = {"autograd_fn": 8, "dtype_method": 12, "linalg_norm": 7, "eig_general": 6,
             "inplace_promo": 8, "inplace_math": 12}  # fmt: skip

_CASES = [(kind, f, j) for kind in S38 for f in range(_VARIANTS[kind]) for j in range(2)]


@pytest.mark.parametrize(("kind", "variant", "j"), _CASES)
def test_s38_kind_agrees_with_torch(kind, variant, j):
    leaves = (((2, 3), True, j == 1, "float64"), ((3,), False, False, "int64"))
    steps = (Step(kind, (j, 1 + j, 1, variant + j, variant), -1.5), Step("sum", (0, 0, 0, 0, 0)))
    prog = Program(leaves, steps, seed=7 + variant, double=bool(j))
    assert check(prog) is None
    int_prog = Program(leaves, (Step(kind, (1, 0, 2, j, variant), 0.5),), seed=3)
    assert check(int_prog) is None


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's linalg.norm(float32 x, dtype=float64) backward casts the gradient to "
    "float32 before x / norm (rounded twice), chainrule computes it in float64 and rounds "
    "once: 1 float32 ulp apart (s38_steps._linalg_norm detaches the input)",
)
def test_norm_dtype_backward_rounding():
    x0 = np.random.default_rng(1).standard_normal((2, 3))
    grads = []
    for L in (torch, cr):
        x = L.tensor(x0, requires_grad=True)
        L.linalg.norm(x.float() * 2, dtype=L.float64).backward()
        grads.append(np.array(x.grad.tolist()))
    assert np.array_equal(grads[0], grads[1])


# --- known differences found by seeds 933-934, steered around --------------------------


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's sparse addmm of bool operands has no kernel but returns beta * bias "
    "when the sparse operand stores no element; chainrule refuses bool operands always "
    "(r11_steps._sparse_coo converts bool operands to float64)",
)
def test_sparse_addmm_bool_with_no_stored_element():
    outs = []
    for L in (torch, cr):
        m = L.zeros(3, 1, dtype=L.bool)
        b, d = L.ones(3, 2, dtype=L.bool), L.ones(1, 2, dtype=L.bool)
        outs.append(L.sparse.addmm(b, m.to_sparse(), d, beta=2.0, alpha=0.5).tolist())
    assert outs[0] == outs[1]


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's conv1d with padding='valid' casts a complex bias of a real input to "
    "the input's dtype, dropping the imaginary part (a UserWarning); chainrule refuses the "
    "bias (nn_step_parts._conv passes its real part)",
)
def test_conv1d_complex_bias_of_a_real_input():
    x0 = np.random.default_rng(2).standard_normal((1, 2, 3))
    w0 = np.random.default_rng(3).standard_normal((2, 2, 1))
    outs = []
    for L in (torch, cr):
        b = L.tensor([1 + 2j, 3 - 1j], dtype=L.complex128)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = L.nn.functional.conv1d(L.tensor(x0), L.tensor(w0), b, padding="valid")
        outs.append(np.array(y.tolist()))
    np.testing.assert_allclose(outs[1], outs[0])


@pytest.mark.parametrize(
    "prog",
    [
        Program((((3,), False, False, "bool"),), (Step("sparse_coo", (0, 0, 1, 0, 6), 2.0),),
                44126),
        Program((((), False, False, "float64"),), (
            Step("batch_norm", (0, 0, 0, 0, 1), 2.0), Step("fft", (0, 0, 0, 0, 4), 2.0),
            Step("conv", (7, 2, 2, 9, 5), 0.25)), 49977),
        # seed 934: a -1e-16 residue (torch's exact 0) changed a sparse pattern; r11_steps._mat
        Program((((), False, False, "float64"), ((), False, False, "float64")), (
            Step("tile", (0, 0, 0, 0, 0), 2.0), Step("vmap_ops", (0, 0, 0, 0, 0), 2.0),
            Step("reduce_tuple", (0, 0, 0, 0, 0), 0.25), Step("complex_read", (0,) * 5, 2.0),
            Step("complex_ad", (0, 0, 0, 7, 3), -1.5), Step("sparse_more", (6, 0, 0, 0, 2), 0.25),
        ), 63395),
        Program((((), True, False, "float64"),), (
            Step("autograd_fn", (0, 0, 1, 9, 0), 0.5), Step("out_into", (9, 1, 0, 0, 0), -1.5)),
            43661),
    ],
)  # fmt: skip
def test_seed_933_934_programs_agree_after_steering(prog):
    assert check(prog) is None


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's autograd.functional.jacobian(strategy='forward-mode', "
    "vectorize=True) of an input requiring grad returns a Jacobian attached to the graph "
    "(requires_grad, a grad_fn) although create_graph=False; chainrule's is detached, as "
    "both libraries' reverse-mode one (seed 934; s38_steps._autograd_fn detaches the input)",
)
def test_forward_mode_jacobian_requires_grad():
    flags = []
    for L in (torch, cr):
        x = L.tensor([0.5, 1.0, -1.0], dtype=L.float64, requires_grad=True)
        jac = L.autograd.functional.jacobian(
            lambda t: t.sin() * t, x * 1, vectorize=True, strategy="forward-mode"
        )
        flags.append(jac.requires_grad)
    assert flags[0] == flags[1]
