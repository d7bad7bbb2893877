"""The keywords that ``test_signature_parity.py`` asks for, doing what PyTorch does with them.

``out=`` on the matrix products and ``cr.linalg`` (``ops/linalg_out.py``: PyTorch's exact or
castable dtype rule per op, tuples of outputs, resizing, no autograd), the renamed
parameters (``mm(input, mat2)``, ``linalg.diagonal(A)``, ...), ``out_dtype=`` (refused on
the CPU as PyTorch refuses it), and the creation options of ``creation_options.py``:
``out=``, ``layout=``, ``pin_memory=`` and ``memory_format=``. Every case runs the same call
on torch and on chainrule and compares values, dtypes, strides or the exception type.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

_RNG = np.random.default_rng(0)
_A = _RNG.standard_normal((3, 3))
_SPD = _A @ _A.T + 3 * np.eye(3)
_V = _RNG.standard_normal(3)
_B3 = _RNG.standard_normal((2, 3, 3))


def _t(lib: Any, a: np.ndarray) -> Any:
    return lib.tensor(a, dtype=lib.float64)


def _outcome(call: Callable[[], Any]) -> Any:
    """The value of ``call()``, or the type of the exception it raises."""
    try:
        return call()
    except Exception as err:  # noqa: BLE001 - the exception type is what is compared
        return type(err)


def _same_outcome(lib_call: Callable[[Any], Any]) -> tuple[Any, Any]:
    want, got = _outcome(lambda: lib_call(torch)), _outcome(lambda: lib_call(cr))
    if isinstance(want, type) or isinstance(got, type):
        assert got is want or (isinstance(got, type) and issubclass(got, want)), (want, got)
    return want, got


# ------------------------------------------------------------------ out= on the products
# name -> call(lib, out): float64 inputs. "exact": out must be float64; "castable": float32 too
_EXACT: dict[str, Callable[[Any, Any], Any]] = {
    "mm": lambda L, o: L.mm(_t(L, _A), _t(L, _A), out=o),
    "matmul": lambda L, o: L.matmul(_t(L, _A), _t(L, _V), out=o),
    "bmm": lambda L, o: L.bmm(_t(L, _B3), _t(L, _B3), out=o),
    "mv": lambda L, o: L.mv(_t(L, _A), _t(L, _V), out=o),
    "addmm": lambda L, o: L.addmm(_t(L, _A), _t(L, _A), _t(L, _A), beta=0.5, out=o),
    "addmv": lambda L, o: L.addmv(_t(L, _V), _t(L, _A), _t(L, _V), alpha=2.0, out=o),
    "baddbmm": lambda L, o: L.baddbmm(_t(L, _B3), _t(L, _B3), _t(L, _B3), out=o),
    "tensordot": lambda L, o: L.tensordot(_t(L, _B3), _t(L, _A), dims=1, out=o),
    "inverse": lambda L, o: L.inverse(_t(L, _A), out=o),
    "matrix_power": lambda L, o: L.matrix_power(_t(L, _A), 3, out=o),
    "linalg.inv": lambda L, o: L.linalg.inv(_t(L, _A), out=o),
    "linalg.det": lambda L, o: L.linalg.det(_t(L, _B3), out=o),
    "linalg.solve": lambda L, o: L.linalg.solve(_t(L, _A), _t(L, _V), out=o),
    "linalg.norm": lambda L, o: L.linalg.norm(_t(L, _A), out=o),
    "linalg.vector_norm": lambda L, o: L.linalg.vector_norm(_t(L, _A), 3, dim=1, out=o),
    "linalg.svdvals": lambda L, o: L.linalg.svdvals(_t(L, _A), out=o),
    "linalg.cross": lambda L, o: L.linalg.cross(_t(L, _A), _t(L, _A[::-1].copy()), out=o),
    "linalg.vecdot": lambda L, o: L.linalg.vecdot(_t(L, _A), _t(L, _A), out=o),
    "linalg.multi_dot": lambda L, o: L.linalg.multi_dot([_t(L, _A)] * 3, out=o),
    "linalg.eigvalsh": lambda L, o: L.linalg.eigvalsh(_t(L, _SPD), out=o),
    "linalg.cholesky": lambda L, o: L.linalg.cholesky(_t(L, _SPD), out=o),
    "linalg.matmul": lambda L, o: L.linalg.matmul(_t(L, _A), _t(L, _A), out=o),
}
_CASTABLE: dict[str, Callable[[Any, Any], Any]] = {
    "outer": lambda L, o: L.outer(_t(L, _V), _t(L, _V), out=o),
    "kron": lambda L, o: L.kron(_t(L, _A), _t(L, _A[:2, :2].copy()), out=o),
    "cholesky": lambda L, o: L.cholesky(_t(L, _SPD), out=o),  # deprecated in torch (warns)
    "linalg.pinv": lambda L, o: L.linalg.pinv(_t(L, _A), out=o),
    "linalg.cond": lambda L, o: L.linalg.cond(_t(L, _A), out=o),
    "linalg.tensorinv": lambda L, o: L.linalg.tensorinv(_t(L, _A), ind=1, out=o),
    "linalg.householder_product": lambda L, o: L.linalg.householder_product(
        _t(L, _A), _t(L, _V[:2].copy()), out=o
    ),
}


@pytest.mark.parametrize("name", list(_EXACT) + list(_CASTABLE))
@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
def test_out_writes_torchs_values_into_the_given_tensor(name: str) -> None:
    call = {**_EXACT, **_CASTABLE}[name]
    want = call(torch, torch.empty(0, dtype=torch.float64))
    out = cr.empty(0, dtype=cr.float64)
    got = call(cr, out)
    assert got is out and out.dtype == cr.float64
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(_EXACT) + list(_CASTABLE))
@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
def test_out_of_another_dtype_follows_torchs_rule(name: str) -> None:
    call = {**_EXACT, **_CASTABLE}[name]
    want, got = _same_outcome(lambda L: call(L, L.empty(0, dtype=L.float32)))
    assert (name in _EXACT) == (want is RuntimeError)
    if name in _CASTABLE:
        assert got.dtype == cr.float32
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    _same_outcome(lambda L: call(L, L.empty(0, dtype=L.int64)))  # never into an int


def test_tuple_outputs_are_filled_and_returned() -> None:
    def qr(L: Any) -> Any:
        q, r = L.empty(0, dtype=L.float64), L.empty(0, dtype=L.float64)
        res = L.linalg.qr(_t(L, _A), out=(q, r))
        assert res[0] is q and res[1] is r and res.Q is q
        return q.numpy() @ r.numpy(), np.abs(r.numpy())

    (want_a, want_r), (got_a, got_r) = qr(torch), qr(cr)
    np.testing.assert_allclose(got_a, want_a, atol=1e-12)
    np.testing.assert_allclose(got_r, want_r, atol=1e-12)

    def eigh(L: Any) -> Any:
        w, v = L.empty(0, dtype=L.float64), L.empty(5, dtype=L.float64)  # v is resized
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            L.linalg.eigh(_t(L, _SPD), out=[w, v])
        assert any("resized" in str(c.message) for c in caught)
        return w.numpy(), np.abs(v.numpy())

    for want, got in zip(eigh(torch), eigh(cr)):
        np.testing.assert_allclose(got, want, atol=1e-10)
    wrong = (cr.empty(0, dtype=cr.float64), cr.empty(0, dtype=cr.float32))
    _same_outcome(
        lambda L: L.linalg.qr(
            _t(L, _A),
            out=wrong if L is cr else (torch.empty(0, dtype=torch.float64), torch.empty(0)),
        )
    )

    def lu_factor(L: Any, pivots_dtype: Any) -> Any:
        lu, piv = L.empty(0, dtype=L.float64), L.empty(0, dtype=pivots_dtype)
        L.linalg.lu_factor(_t(L, _A), out=(lu, piv))
        return lu.numpy(), piv.numpy()

    for dtype in ("complex64", "float64"):  # eig casts safely: into complex64, not a float
        want, got = _same_outcome(
            lambda L, d=dtype: L.linalg.eig(
                _t(L, _A), out=(L.empty(0, dtype=getattr(L, d)), L.empty(0, dtype=L.complex64))
            )
        )
        if not isinstance(want, type):
            np.testing.assert_allclose(
                np.sort_complex(got[0].numpy()), np.sort_complex(want[0].numpy()), rtol=1e-5
            )
    for want, got in zip(lu_factor(torch, torch.int32), lu_factor(cr, cr.int32)):
        np.testing.assert_allclose(got, want, atol=1e-12)
    _same_outcome(lambda L: lu_factor(L, L.int64))  # pivots are int32 exactly


def test_out_refuses_autograd_and_a_non_tensor() -> None:
    for lib in (torch, cr):
        a = _t(lib, _A).requires_grad_()
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.mm(a, a, out=lib.empty(0, dtype=lib.float64))
        with lib.no_grad():
            assert lib.mm(a, a, out=lib.empty(0, dtype=lib.float64)).shape == (3, 3)
    _same_outcome(lambda L: L.linalg.inv(_t(L, _A), out=np.empty((3, 3))))


def test_out_dtype_is_refused_on_the_cpu_as_by_torch() -> None:
    for op in ("mm", "bmm"):
        x = _B3 if op == "bmm" else _A
        want, _ = _same_outcome(
            lambda L, op=op, x=x: getattr(L, op)(
                _t(L, x).half(), _t(L, x).half(), out_dtype=L.float32
            )
        )
        assert want is NotImplementedError
    _same_outcome(lambda L: L.addmm(_t(L, _A), _t(L, _A), _t(L, _A), out_dtype=L.float64))
    _same_outcome(lambda L: L.baddbmm(_t(L, _B3), _t(L, _B3), _t(L, _B3), out_dtype=L.float64))


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.matmul(input=_t(L, _A), other=_t(L, _V)),
        lambda L: L.mm(input=_t(L, _A), mat2=_t(L, _A)),
        lambda L: _t(L, _A).mm(mat2=_t(L, _A)),
        lambda L: L.bmm(input=_t(L, _B3), mat2=_t(L, _B3)),
        lambda L: L.dot(input=_t(L, _V), tensor=_t(L, _V)),
        lambda L: _t(L, _A).mv(vec=_t(L, _V)),
        lambda L: L.outer(input=_t(L, _V), vec2=_t(L, _V)),
        lambda L: _t(L, _V).outer(vec2=_t(L, _V)),
        lambda L: L.kron(input=_t(L, _A), other=_t(L, _V)),
        lambda L: L.trace(input=_t(L, _A)),
        lambda L: L.linalg.norm(input=_t(L, _A), ord=1),
        lambda L: L.linalg.matmul(input=_t(L, _A), other=_t(L, _A)),
        lambda L: L.linalg.diagonal(_t(L, _B3)),  # the last two dims by default
        lambda L: L.linalg.diagonal(A=_t(L, _B3), offset=1, dim1=0, dim2=2),
        lambda L: L.polygamma(1, _t(L, np.abs(_V) + 0.5), out=L.empty(0)),  # castable
    ],
)
def test_renamed_parameters_give_torchs_results(call: Callable[[Any], Any]) -> None:
    want, got = call(torch), call(cr)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-12)


def test_removed_solve_and_lstsq_take_torchs_argument_names() -> None:
    x = _t(cr, _A)
    for call in (lambda: x.solve(other=x), lambda: cr.solve(x, A=x), lambda: x.lstsq(other=x)):
        with pytest.raises(RuntimeError, match="deprecated"):
            call()
    with pytest.raises(TypeError, match="bogus"):
        cr.solve(x, bogus=1)


# ------------------------------------------------------------------ the creation options
@pytest.mark.parametrize(
    "call",
    [
        lambda L, o: L.zeros(2, 3, out=o),
        lambda L, o: L.ones((2, 2), out=o),
        lambda L, o: L.full((2,), 1.75, out=o),
        lambda L, o: L.arange(1, 7, 2, out=o),
        lambda L, o: L.arange(0.5, 3, out=o),
        lambda L, o: L.linspace(0, 10, 4, out=o),
        lambda L, o: L.logspace(0, 2, 3, out=o),
        lambda L, o: L.eye(2, 3, out=o),
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_factory_out_takes_its_own_dtype(call: Callable[[Any, Any], Any], dtype: str) -> None:
    def run(L: Any) -> Any:
        out = L.empty(5, dtype=getattr(L, dtype))
        assert call(L, out) is out
        return out

    want, got = _same_outcome(run)
    if not isinstance(want, type):
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-15)


def test_factory_out_rules() -> None:
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="does not match dtype of out"):
            lib.zeros(2, dtype=lib.float64, out=lib.empty(0))
        with pytest.raises(RuntimeError, match="automatic differentiation"):
            lib.ones(2, out=lib.empty(0, requires_grad=True))
        out = lib.empty(0)
        assert lib.zeros(2, requires_grad=True, out=out) is out and out.requires_grad
        assert lib.arange(6, out=lib.empty(2, 3)).shape == (2, 3)  # as many: shape kept
        with pytest.warns(UserWarning):
            lib.arange(6, out=lib.empty(4))
        with pytest.raises(NotImplementedError):
            lib.rand(3, out=lib.empty(0, dtype=lib.int64))
        with pytest.raises(NotImplementedError):
            lib.randn(3, dtype=lib.int64)
        drawn = [
            lib.rand(4, out=lib.empty(0, dtype=lib.float64)),
            lib.randn(2, 2, out=lib.empty(9)),
            lib.randint(3, 9, (5,), out=lib.empty(0, dtype=lib.float64)),
            lib.randperm(6, out=lib.empty(0, dtype=lib.int32)),
            lib.normal(0.0, 1.0, (3,), out=lib.empty(0)),
            lib.normal(lib.zeros(3), 1.0, out=lib.empty(3, dtype=lib.float64)),
            lib.bernoulli(lib.full((4,), 0.5, dtype=lib.float64), out=lib.empty(0).long()),
        ]
        shapes = [tuple(d.shape) for d in drawn]
        assert shapes == [(4,), (2, 2), (5,), (6,), (3,), (3,), (4,)]
        assert sorted(drawn[3].tolist()) == list(range(6))
        assert 3 <= drawn[2].min().item() and drawn[2].max().item() < 9
        with pytest.raises(RuntimeError):  # a tensor mean: out must have its shape
            lib.normal(lib.zeros(3), 1.0, out=lib.empty(0))


def test_randn_complex_has_unit_variance() -> None:
    z = cr.randn(20000, dtype=cr.complex128).numpy()
    assert abs(np.mean(np.abs(z) ** 2) - 1.0) < 0.05
    assert abs(np.var(z.real) - 0.5) < 0.05 and abs(np.var(z.imag) - 0.5) < 0.05


def test_layout_and_pin_memory_as_torch_without_an_accelerator() -> None:
    x = cr.ones(2)
    assert cr.zeros(2, layout=cr.strided).layout is cr.strided
    assert x.new_zeros(3, layout=cr.strided, pin_memory=False).shape == (3,)
    with pytest.raises(NotImplementedError, match="layout"):
        cr.zeros(2, layout=cr.sparse_coo)
    with pytest.raises(NotImplementedError, match="layout"):
        cr.hann_window(4, layout=cr.sparse_coo)
    for call in (
        lambda L: L.zeros(2, layout="strided"),
        lambda L: L.empty(2, pin_memory=True),
        lambda L: L.rand(2, pin_memory=True),
        lambda L: L.randperm(3, pin_memory=True),
        lambda L: L.empty_strided((2,), (1,), pin_memory=True),
        lambda L: L.hamming_window(4, pin_memory=True),
        lambda L: L.ones(1).new_zeros(2, pin_memory=True),
    ):
        want, _ = _same_outcome(call)
        assert isinstance(want, type), want


def _strides(t: Any) -> tuple:
    return tuple(t.stride())


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.empty(2, 3, 4, 5, memory_format=L.channels_last),
        lambda L: L.empty(2, 3, 4, 5, 6, memory_format=L.channels_last_3d),
        lambda L: L.empty(2, 3, memory_format=L.contiguous_format),
        lambda L: L.empty(2, 3, memory_format=L.preserve_format),
        lambda L: L.empty(2, 3, 4, memory_format=L.channels_last),
        lambda L: L.zeros_like(L.empty(3, 4).t()),
        lambda L: L.ones_like(L.empty(3, 4).t(), memory_format=L.contiguous_format),
        lambda L: L.empty_like(L.empty(2, 3, 4, 5, memory_format=L.channels_last)),
        lambda L: L.full_like(L.empty(3, 4).t(), 2.0),
        lambda L: L.rand_like(L.empty(2, 3, 4, 5), memory_format=L.channels_last),
        lambda L: L.randn_like(L.empty(4, 3)[:, ::2]),
        lambda L: L.randint_like(L.empty(3, 4).t(), 5),
        lambda L: L.zeros_like(L.empty(2, 3, 4), memory_format=L.channels_last),
        lambda L: L.zeros_like(L.empty(3, 1, 4).expand(3, 5, 4).transpose(0, 2)),
        lambda L: L.ones_like(L.empty(6, 4, 5).permute(2, 0, 1)[:, ::2]),
        lambda L: L.zeros_like(L.empty(2, 3), memory_format="channels_last"),
    ],
)
def test_memory_format_gives_torchs_strides(call: Callable[[Any], Any]) -> None:
    want, got = _same_outcome(call)
    if not isinstance(want, type):
        assert _strides(got) == _strides(want) and tuple(got.shape) == tuple(want.shape)
