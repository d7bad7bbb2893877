"""Round 10 of the random-program fuzzer (seeds 846 on, with the steps of ``r10_steps.py``
and ``r10_nn_steps.py``: the *_ex linalg functions, lu, matrix_rank, cond, tensorinv/solve,
householder_product, ldl, 2-d/n-d and Hermitian FFTs, complex chains, ranks with ties,
unique along a dim, windows, pooling/convolution/padding/interpolation variants,
embedding_bag and more losses): the discrepancies with torch 2.13 found and fixed, as plain
regression tests in the style of ``test_found_cases_r9.py``."""

from __future__ import annotations

import numpy as np
import pytest

from ._compare import same

__all__: list[str] = []


# --- fixed: ops/indexing.py masked_fill of a real tensor with a complex value that requires
# grad (seed 847) ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1 + 2j, 1.5 + 0j])
@pytest.mark.parametrize("x_grad", [False, True])
@pytest.mark.parametrize("shape", [(), (2,)])
def test_masked_fill_complex_value_requiring_grad_into_real(value, x_grad, shape):
    # torch casts the value to x's dtype (a nonzero imaginary part raises "value cannot be
    # converted to type float without overflow"): the result stays real and the value's
    # gradient is complex (its real part's); chainrule's result was complex
    def prog(L):
        x = L.full(shape, 0.5, dtype=L.float32, requires_grad=x_grad)
        v = L.tensor(value, requires_grad=True)
        y = x.masked_fill(L.tensor(True) if not shape else L.tensor([True, False]), v)
        (y * 3).sum().backward()
        return [y, str(y.dtype), L.view_as_real(v.grad), x.grad if x_grad else None]

    same(prog)


def test_masked_fill_complex_value_requiring_grad_into_complex_stays_complex():
    def prog(L):
        x = L.tensor([0.5 + 1j, 1.0], requires_grad=True)
        v = L.tensor(1 + 2j, requires_grad=True)
        y = x.masked_fill(L.tensor([True, False]), v)
        y.abs().sum().backward()
        return [L.view_as_real(y), L.view_as_real(x.grad), L.view_as_real(v.grad)]

    same(prog)


# --- fixed: nn/functional/conv3d.py bool input (round 10 smoke run of conv_more) ----------


@pytest.mark.parametrize("fn", ["conv3d", "conv_transpose3d"])
@pytest.mark.parametrize("dtype", ["bool", "int64"])
def test_conv3d_refuses_bool_computes_int(fn, dtype):
    # torch has no bool kernel ("compute_columns3d" / "slow_conv_transpose3d_out_cpu" not
    # implemented for 'Bool'); integers it computes. chainrule computed bool as well
    x = np.arange(18).reshape(1, 1, 2, 3, 3) % 3
    w = np.ones((1, 1, 2, 2, 2), dtype=np.int64)

    def prog(L):
        dt = getattr(L, dtype)
        return [getattr(L.nn.functional, fn)(L.tensor(x).to(dt), L.tensor(w).to(dt)).long()]

    same(prog)


# --- fixed: ops/conv.py, nn/functional/conv3d.py transposed convolution of integers other
# than int64 (seed 877) ---------------------------------------------------------------------


@pytest.mark.parametrize("fn", ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
                                "conv_transpose3d"])  # fmt: skip
@pytest.mark.parametrize("dtype", ["int32", "int16", "int8", "uint8", "int64"])
def test_transposed_conv_takes_int64_only(fn, dtype):
    # torch's CPU transposed convolutions have no integer kernel but int64's
    # ("slow_conv_transpose2d_out_cpu" not implemented for 'Int'); the direct ones take all
    nd = 3 if fn.endswith("3d") else 2 if fn.endswith("2d") else 1
    x = np.arange(3**nd).reshape((1, 1) + (3,) * nd) % 3
    w = np.ones((1, 1) + (2,) * nd, dtype=np.int64)

    def prog(L):
        dt = getattr(L, dtype)
        return [getattr(L.nn.functional, fn)(L.tensor(x).to(dt), L.tensor(w).to(dt)).long()]

    same(prog)


# --- fixed: ops/linalg_more.py cholesky_inverse exactly symmetric (seed 853) ---------------


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_cholesky_inverse_is_exactly_symmetric(upper, batch):
    # torch's (LAPACK potri: one triangle, mirrored) is exactly symmetric; chainrule's two
    # triangular solves left mirrored elements an ulp apart, which a sort or a search of the
    # result told apart (searchsorted of its own elements: indices 0 vs 1)
    rng = np.random.default_rng(5)
    a = rng.standard_normal((*batch, 4, 4))
    a = a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(4)

    def prog(L):
        f = L.linalg.cholesky(L.tensor(a), upper=upper)
        y = L.cholesky_inverse(f, upper=upper)
        flat = y.reshape(-1)
        return [bool((y == y.mT).all()), L.searchsorted(flat.sort()[0], flat)]

    same(prog)


def test_cholesky_inverse_symmetric_keeps_its_gradient():
    a = np.array([[0.15481322, -0.02273323], [-0.02273323, 0.06507186]]) * 3 + 0.1 * np.eye(2)

    def prog(L):
        x = L.tensor(a, requires_grad=True)
        y = L.cholesky_inverse(L.linalg.cholesky(x))
        (y * L.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=L.float64)).sum().backward()
        return [y, x.grad]

    same(prog)


# --- fixed: complex adaptive average pooling to one element: PyTorch's mean (seed 862) -----
# (ops/adaptive_pooling.py, nn/functional/pooling3d.py, nn/functional/interpolate.py)


@pytest.mark.parametrize(
    "call",
    [
        "area3", "area4", "area5", "area4_12", "pool1d", "pool2d", "pool2d_12", "pool3d",
        "pool3d_112", "pool2d_int",
    ],
)  # fmt: skip
def test_complex_adaptive_avg_pool_to_one_element_is_a_mean(call):
    # torch computes a 1x1 (1x1x1) adaptive average pool, and interpolate(mode='area') to
    # that size, as a mean over the spatial dims (MeanBackward1), which takes complex input;
    # any other size refuses complex ("adaptive_avg_pool2d" not implemented for
    # 'ComplexDouble'). chainrule refused complex input at every size
    z = np.array([1 + 2j, 3 - 1j, 2 + 0j, 1j])

    def prog(L):
        F = L.nn.functional
        x = L.tensor(z, requires_grad=True)
        z3, z4, z5 = x.reshape(1, 1, 4), x.reshape(1, 1, 2, 2), x.reshape(1, 1, 1, 2, 2)
        y = {
            "area3": lambda: F.interpolate(z3, size=1, mode="area"),
            "area4": lambda: F.interpolate(z4, size=(1, 1), mode="area"),
            "area5": lambda: F.interpolate(z5, size=(1, 1, 1), mode="area"),
            "area4_12": lambda: F.interpolate(z4, size=(1, 2), mode="area"),
            "pool1d": lambda: F.adaptive_avg_pool1d(z3, 1),
            "pool2d": lambda: F.adaptive_avg_pool2d(z4[0], 1),
            "pool2d_12": lambda: F.adaptive_avg_pool2d(z4, (1, 2)),
            "pool3d": lambda: F.adaptive_avg_pool3d(z5, 1),
            "pool3d_112": lambda: F.adaptive_avg_pool3d(z5, (1, 1, 2)),
            "pool2d_int": lambda: F.adaptive_avg_pool2d(L.ones(1, 1, 2, 2, dtype=L.int64), 1),
        }[call]()
        (g,) = L.autograd.grad(y.abs().sum(), x)
        return [L.view_as_real(y), L.view_as_real(g), type(y.grad_fn).__name__]

    same(prog)


# --- fixed: ops/rounding.py round(decimals=0) of an integer tensor (seed 865) --------------


@pytest.mark.parametrize("decimals", [None, 0, 1, -1])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float64"])
@pytest.mark.parametrize("inplace", [False, True])
def test_round_with_decimals_refuses_integers(decimals, dtype, inplace):
    # torch's round() copies an integer tensor, but its overload taking decimals (even 0)
    # has no integer kernel ("round_vml_cpu" not implemented for 'Long'); chainrule took
    # decimals=0 as no decimals
    def prog(L):
        x = L.tensor([-2.5, 3.0, 1.25]).to(getattr(L, dtype))
        kw = {} if decimals is None else {"decimals": decimals}
        y = x.round_(**kw) if inplace else L.round(x, **kw)
        return [y.double(), str(y.dtype)]

    same(prog)


# --- fixed: ops/rearranging.py flip of a 0-d complex tensor that requires grad (seed 869) ---


@pytest.mark.parametrize("dims", [(0,), (), (-1,)])
@pytest.mark.parametrize("dtype", ["complex128", "float64"])
def test_flip_of_0d_is_flip_backward_and_takes_complex(dims, dtype):
    # torch: a copy under FlipBackward0, complex too; chainrule's 0-d flip was a Copy node
    # without complex rules ("autograd through complex tensors is not supported")
    def prog(L):
        z = L.tensor(1 + 2j if dtype == "complex128" else 1.5, requires_grad=True)
        y = L.flip(z, dims)
        loss = (y * (1 - 1j)).real if y.is_complex() else y * 3
        (g,) = L.autograd.grad(loss, z)
        g = L.view_as_real(g) if g.is_complex() else g
        return [g, type(y.grad_fn).__name__, y.grad_fn._saved_dims, y.data_ptr() != z.data_ptr()]

    same(prog)


# --- fixed: nn/functional/activation.py threshold of integers, numbers fitted to the dtype
# (seed 870) --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64"])
@pytest.mark.parametrize(
    "numbers", [(0.5, -0.5), (1, 300), (300, 1), (-1, 2), (1.5, 2.5), (0.5, -1), (-1.5, 7.9)]
)
@pytest.mark.parametrize("inplace", [False, True])
def test_threshold_of_integers_fits_its_numbers_to_the_dtype(dtype, numbers, inplace):
    # torch converts threshold and value to the dtype with its overflow check (-0.5 or 300
    # into uint8 raises; an int -1 wraps to 255 there); chainrule truncated and wrapped all
    def prog(L):
        x = L.tensor([1, 3, 200 if dtype == "uint8" else -2], dtype=getattr(L, dtype))
        F = L.nn.functional
        y = F.threshold_(x, *numbers) if inplace else F.threshold(x, *numbers)
        return [y.long(), str(y.dtype)]

    same(prog)


# --- fixed: ops/einsum.py bool operands with a contracted subscript of size 1 (seed 872) ----


@pytest.mark.parametrize(
    "spec, sa, sb",
    [
        ("bij,jk->bik", (2, 1, 1), (1, 3)), ("bij,jk->bik", (2, 1, 1), (2, 3)),
        ("bij,jk->bik", (2, 1, 2), (1, 3)), ("ij,jk->ik", (2, 1), (1, 3)),
        ("bii,ik->bk", (2, 1, 1), (1, 3)), ("i,i->", (1,), (1,)), ("ij,j->", (2, 1), (1,)),
        ("ij,k->ik", (2, 1), (3,)), ("ij,ij->i", (2, 1), (2, 1)), ("ij,kj->ik", (2, 1), (3, 2)),
        ("bij,bjk->bik", (1, 2, 1), (2, 1, 3)), ("ij,jk->ik", (2, 2), (2, 3)),
    ],
)  # fmt: skip
def test_bool_einsum_with_size_one_contraction(spec, sa, sb):
    # torch squeezes a subscript of size 1 and multiplies (bool stays bool; a subscript
    # then summed within one operand makes it int64); chainrule counted it as a contraction
    # across operands, "bmm" not implemented for 'Bool'
    rng = np.random.default_rng(len(spec) + sum(sa))
    a, b = rng.standard_normal(sa) > 0, rng.standard_normal(sb) > 0

    def prog(L):
        y = L.einsum(spec, L.tensor(a), L.tensor(b))
        return [y.long(), str(y.dtype)]

    same(prog)
