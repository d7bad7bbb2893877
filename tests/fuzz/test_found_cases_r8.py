"""Round 8 of the random-program fuzzer (seeds 610-700, with the linalg/fft/complex steps of
``linalg_steps.py`` and the math steps of ``math_steps.py``): the discrepancies with torch
2.13 found and fixed, as plain regression tests in the style of ``test_found_cases_r7.py``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ._compare import same

__all__: list[str] = []


def _dual(lib: Any, primal: Any, tangent: Any, f: Any) -> list:
    """``f`` of a dual tensor: the primal result and its tangent (zeros where None)."""
    fa = lib.autograd.forward_ad
    with fa.dual_level():
        out = f(fa.make_dual(lib.tensor(primal), lib.tensor(tangent)))
        p, t = fa.unpack_dual(out)
        return [p, lib.zeros_like(p) if t is None else t, t is None]


# --- fixed: ops/linalg.py tensordot (seeds 620, 621, 658) ---------------------------------


@pytest.mark.parametrize("dims", [(1, 0), [1, 2], ([1, 2], 0), ([1], [0]), ((1, 2), (1, 0))])
def test_tensordot_dims_a_pair_of_ints_is_a_type_error(dims):
    # PyTorch takes a pair of dim lists, never a pair of ints: (1, 0) is its TypeError
    a = np.arange(18.0).reshape(2, 3, 3)
    b = np.arange(18.0).reshape(3, 3, 2) * 0.5
    same(lambda L: [L.tensordot(L.tensor(a), L.tensor(b), dims=dims)])


@pytest.mark.parametrize("dims", [([1], [0]), ([0], [1]), ([1, 2], [0, 2])])
def test_tensordot_contracts_a_size_one_dim_with_a_longer_one(dims):
    # a size-1 dim against a longer one broadcasts (torch sums the longer side first)
    def prog(L):
        a = L.tensor(np.linspace(-1, 1, 6).reshape(2, 1, 3), requires_grad=True)
        b = L.tensor(np.linspace(0.5, 2, 24).reshape(3, 4, 2), requires_grad=True)
        y = L.tensordot(a, b, dims=dims)
        y.pow(2).sum().backward()
        return [y, a.grad, b.grad]

    same(prog)


# --- fixed: ops/linalg.py trace (seed 648) ------------------------------------------------


@pytest.mark.parametrize("dtype", ["bool", "int32", "int64", "float64"])
def test_trace_refuses_bool(dtype):
    same(lambda L: [L.ones(2, 3, dtype=getattr(L, dtype)).trace()])


# --- fixed: linalg/solve.py matrix_power(A, 0) (seed 647) ---------------------------------


@pytest.mark.parametrize("n", [0, 1, -1, 2])
def test_matrix_power_zero_has_a_zero_tangent(n):
    a = np.array([[2.0, 0.5], [0.25, 3.0]])
    t = np.array([[1.0, -1.0], [0.5, 2.0]])
    same(lambda L: _dual(L, a, t, lambda x: L.linalg.matrix_power(x, n)))


# --- fixed: linalg/norms.py lstsq forward mode (seed 654) ---------------------------------


@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gels"])
def test_lstsq_solution_has_a_tangent(driver):
    a = np.array([[2.0, 1.0], [1.0, 3.0], [0.5, 0.2]])
    t = np.array([[1.0, 0.5], [0.2, -1.0], [0.3, 0.1]])
    same(lambda L: _dual(L, a, t, lambda x: L.linalg.lstsq(x, x.sum(-1), driver=driver)[0]))


# --- fixed: ops/unary.py, ops/fused_grads.py float16 sigmoid/tanh (seed 701) -------------


@pytest.mark.parametrize("fn", ["sigmoid", "tanh"])
def test_float16_sigmoid_tanh_round_as_torch(fn):
    # torch: float16 sigmoid in float32, rounded once; its backward (g (1 - y)) y in float16;
    # tanh's backward g (1 - y^2) in float32, rounded once (chainrule rounded every op)
    x = np.random.default_rng(3).standard_normal(400) * 3
    g = np.cos(np.arange(400) * 0.7)

    def prog(L):
        leaf = L.tensor(x, requires_grad=True)
        y = getattr(leaf.half(), fn)()
        (y.double() * L.tensor(g)).sum().backward()
        return [y, leaf.grad]

    same(prog)


# --- fixed: complex inputs refused as torch's CPU kernels refuse them (seeds 648, 700) ----

_COMPLEX_REFUSED = {
    "layer_norm": lambda L, z: L.nn.functional.layer_norm(z, (3,)),
    "group_norm": lambda L, z: L.nn.functional.group_norm(z, 1),
    "batch_norm": lambda L, z: L.nn.functional.batch_norm(z, None, None, training=True),
    "instance_norm": lambda L, z: L.nn.functional.instance_norm(z[None]),
    "erf": lambda L, z: L.erf(z),
    "nll_loss": lambda L, z: L.nn.functional.nll_loss(z, L.tensor([0, 1])),
    "unique": lambda L, z: L.unique(z),
    "unique_consecutive": lambda L, z: L.unique_consecutive(z),
    "nansum": lambda L, z: L.nansum(z),
    "nanmean": lambda L, z: L.nanmean(z),
    "interpolate_nearest": lambda L, z: L.nn.functional.interpolate(z[None], scale_factor=2),
    "layer_norm_real_ok": lambda L, z: L.nn.functional.layer_norm(z.real, (3,)),
}


@pytest.mark.parametrize("op", sorted(_COMPLEX_REFUSED))
def test_complex_input_refused(op):
    z = np.array([[1 + 2j, -0.5 + 0.3j, 2 - 1j], [0.2 - 0.1j, 1.5 + 0.5j, -1 + 1j]])
    same(lambda L: [_COMPLEX_REFUSED[op](L, L.tensor(z))])


# --- fixed: ops/search.py searchsorted of bool in bool (seed 660) -------------------------


@pytest.mark.parametrize("seq", ["bool", "int64"])
@pytest.mark.parametrize("vals", ["bool", "int64"])
def test_searchsorted_bool_in_bool_refused(seq, vals):
    def prog(L):
        s = L.tensor([0, 1, 1]).to(getattr(L, seq))
        v = L.tensor([1, 0]).to(getattr(L, vals))
        return [L.searchsorted(s, v), L.bucketize(v, s, right=True)]

    same(prog)


# --- fixed: nn/functional/normalization.py rms_norm of complex input (seed 689) -----------


@pytest.mark.parametrize("weight", [None, "real", "complex"])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_of_complex_input(weight, eps):
    # torch's composite as written: x * rsqrt(mean(x * x) + eps) (x * x, not |x|^2)
    z = np.array([[1 + 2j, -0.5 + 0.3j, 2 - 1j], [0.1 - 1j, 2 + 0.1j, -1 - 1j]])

    def prog(L):
        x = L.tensor(z, requires_grad=True)
        w = {
            None: None,
            "real": L.tensor([1.0, 2.0, 3.0], dtype=L.float64),
            "complex": L.tensor([1 + 1j, 2.0, 3.0], dtype=L.complex128),
        }[weight]
        y = L.nn.functional.rms_norm(x, (3,), w, eps=eps)
        (y.real * 2 + y.imag).sum().backward()
        return [L.view_as_real(y), L.view_as_real(x.grad)]

    same(prog)


# --- fixed: linalg/triangular.py solve_triangular of an integer B (seeds 719, 740) --------


@pytest.mark.parametrize(
    ("da", "db"),
    [("float32", "int64"), ("float64", "bool"), ("int64", "float32"), ("int64", "int64")],
)
def test_solve_triangular_solves_an_integer_b_in_a_dtype(da, db):
    # torch solves an integer or bool B in A's floating dtype; an integer A it refuses
    def prog(L):
        a = L.tensor([[2.0, 1.0], [0.0, 4.0]], dtype=getattr(L, da))
        b = L.tensor([[1, 0], [1, 1]]).to(getattr(L, db))
        x = L.linalg.solve_triangular(a, b, upper=True)
        return [x, str(x.dtype).split(".")[-1]]

    same(prog)


# --- fixed: ops/einsum.py bool operands (seed 757) -----------------------------------------


@pytest.mark.parametrize(
    "eq",
    ["bij,jk->bik", "bij,jk->", "bij,jk->bj", "ij,jk->ik", "i,i->", "ij->j", "ij,ij->ij",
     "i,j->ij", "ii->i", "ii->", "bij,bij->b"],
)  # fmt: skip
def test_einsum_of_bool_operands(eq):
    # torch: sums within one operand count (int64), a contraction across operands is a
    # bmm (no bool kernel), products alone stay bool
    a = np.array([[[True, False], [True, True]], [[False, True], [True, True]]])
    b = np.array([[True, False, True], [True, True, False]])
    ops = {"bij": a, "jk": b, "ij": b[:, :2], "i": b[0], "j": b[1], "ii": a[0]}

    def prog(L):
        subs = eq.split("->")[0].split(",")
        operands = [L.tensor(ops[s]) for s in subs]
        if eq == "ij,jk->ik":
            operands = [L.tensor(a[0]), L.tensor(b)]
        if eq == "i,i->":
            operands = [L.tensor(b[0]), L.tensor(b[1])]
        y = L.einsum(eq, *operands)
        return [y, str(y.dtype).split(".")[-1]]

    same(prog)


# --- fixed: linalg/solve.py matrix_power of a bool matrix (seeds 801-810) ------------------


@pytest.mark.parametrize("n", [0, 1, 2, -1])
def test_matrix_power_of_bool(n):
    # torch: powers 0 and 1 of a bool matrix need no product (bool results); 2+ refuse
    same(lambda L: [L.linalg.matrix_power(L.tensor([[True, False], [True, True]]), n)])
