"""``dense + sparse`` / ``dense - sparse`` against torch 2.13 (session 45): the dense
(strided) result of ``+``, ``-``, ``torch.add``/``sub`` with ``alpha``, ``add_``/``sub_``,
``+=``/``-=`` for COO (uncoalesced, hybrid, dtype promotion) and CSR/CSC; the errors torch
raises (no broadcasting, sparse + dense, ``sub`` of a compressed layout, in-place casts); the
version counter; and autograd (gradients to the dense operand and to the sparse operand's
values, torch's node names, gradcheck in float64)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]

LIBS = [torch, cr]


def _coo(m: Any, dtype: Any = None, values: Any = None) -> Any:
    """An uncoalesced (3, 2) COO tensor: the entry (0, 1) twice."""
    idx = m.tensor([[0, 2, 0], [1, 0, 1]])
    vals = m.tensor([1.0, 2.0, 3.0], dtype=dtype) if values is None else values
    return m.sparse_coo_tensor(idx, vals, (3, 2))


def _hybrid(m: Any, values: Any = None) -> Any:
    """An uncoalesced hybrid (3, 2) COO tensor (one sparse dim, rows of 2), float64."""
    vals = m.tensor([[1.0, -2.0], [0.5, 3.0], [1.0, 1.0]], dtype=m.float64)
    return m.sparse_coo_tensor(m.tensor([[0, 2, 0]]), vals if values is None else values, (3, 2))


def _csr(m: Any, values: Any = None) -> Any:
    vals = m.tensor([1.0, 2.0]) if values is None else values
    return m.sparse_csr_tensor(m.tensor([0, 1, 1, 2]), m.tensor([1, 0]), vals, (3, 2))


def _inplace(x: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    getattr(x, method)(*args, **kwargs)
    return x


def _iadd(m: Any) -> Any:
    x = m.ones(3, 2)
    x += _coo(m)
    return x


def _isub(m: Any) -> Any:
    x = m.ones(3, 2)
    x -= _coo(m)
    return x


VALUES: dict[str, Callable[[Any], Any]] = {
    "plus": lambda m: m.ones(3, 2) + _coo(m),
    "minus": lambda m: m.ones(3, 2) - _coo(m),
    "add_alpha": lambda m: m.add(m.ones(3, 2), _coo(m), alpha=2),
    "sub_alpha": lambda m: m.sub(m.ones(3, 2), _coo(m), alpha=2),
    "method_add_alpha": lambda m: m.ones(3, 2).add(_coo(m), alpha=0.5),
    "coalesced": lambda m: m.ones(3, 2) + _coo(m).coalesce(),
    "hybrid_promotes": lambda m: m.ones(3, 2) + _hybrid(m),  # float32 + float64: float64
    "add_inplace_keeps_dtype": lambda m: _inplace(m.ones(3, 2), "add_", _hybrid(m), alpha=0.5),
    "sub_inplace": lambda m: _inplace(m.ones(3, 2), "sub_", _coo(m), alpha=3),
    "iadd": _iadd,
    "isub": _isub,
    "int_plus_float": lambda m: m.ones(3, 2, dtype=m.long) + _coo(m),
    "float_plus_int": lambda m: m.ones(3, 2) + _coo(m).long(),
    "int_alpha": lambda m: m.add(m.ones(3, 2, dtype=m.long), _coo(m).long(), alpha=3),
    "half_plus_float": lambda m: m.ones(3, 2, dtype=m.float16) + _coo(m),
    "bool_plus_bool": lambda m: m.zeros(3, 2, dtype=m.bool) + _coo(m).bool(),
    "complex": lambda m: m.ones(3, 2) + _coo(m, values=m.tensor([1j, 2.0, 1.0])),
    "empty": lambda m: (
        m.ones(3, 2) + m.sparse_coo_tensor(m.zeros(2, 0, dtype=m.long), m.zeros(0), (3, 2))
    ),
    "transposed_dense": lambda m: m.ones(2, 3).t() + _coo(m),
    "transposed_dense_add_": lambda m: _inplace(m.ones(2, 3).t(), "add_", _coo(m)),
    "out": lambda m: m.add(m.ones(3, 2), _coo(m), out=m.empty(3, 2)),
    "csr": lambda m: m.ones(3, 2) + _csr(m),
    "csr_add_alpha": lambda m: m.add(m.ones(3, 2), _csr(m), alpha=2),
    "csr_add_inplace": lambda m: _inplace(m.ones(3, 2), "add_", _csr(m), alpha=2),
    "csr_first": lambda m: _csr(m) + m.ones(3, 2),
    "csc": lambda m: m.ones(3, 2) + _coo(m).coalesce().to_sparse_csc(),
    "csr_float64": lambda m: m.ones(3, 2) + _csr(m, m.tensor([0.5, 2.0], dtype=m.float64)),
}


@pytest.mark.parametrize("case", sorted(VALUES))
def test_dense_sparse_values_match_torch(case: str) -> None:
    want, got = (VALUES[case](m) for m in LIBS)
    assert got.layout is cr.strided and not got.is_sparse
    assert str(got.dtype) == str(want.dtype)
    assert list(got.shape) == list(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


ERRORS: dict[str, Callable[[Any], Any]] = {
    "broadcast_leading": lambda m: m.ones(2, 3, 2) + _coo(m),
    "broadcast_size_one": lambda m: m.ones(3, 1) + _coo(m),
    "mismatch": lambda m: m.ones(2, 2) + _coo(m),
    "zero_dim": lambda m: m.tensor(1.0) + _coo(m),
    "sub_mismatch": lambda m: m.ones(2, 2) - _coo(m),
    "add_inplace_mismatch": lambda m: m.ones(2, 2).add_(_coo(m)),
    "sub_inplace_mismatch": lambda m: m.ones(2, 2).sub_(_coo(m)),
    "csr_mismatch": lambda m: m.ones(2, 2) + _csr(m),
    "sparse_plus_dense": lambda m: _coo(m) + m.ones(3, 2),
    "sparse_minus_dense": lambda m: _coo(m) - m.ones(3, 2),
    "torch_add_sparse_dense": lambda m: m.add(_coo(m), m.ones(3, 2)),
    "torch_sub_sparse_dense": lambda m: m.sub(_coo(m), m.ones(3, 2)),
    "sparse_add_inplace_dense": lambda m: _coo(m).add_(m.ones(3, 2)),
    "csr_minus": lambda m: m.ones(3, 2) - _csr(m),
    "csr_sub_alpha": lambda m: m.ones(3, 2).sub(_csr(m), alpha=2),
    "csr_sub_inplace": lambda m: m.ones(3, 2).sub_(_csr(m)),
    "csc_minus": lambda m: m.ones(3, 2) - _coo(m).coalesce().to_sparse_csc(),
    "bool_alpha": lambda m: m.ones(3, 2).add(_coo(m), alpha=True),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_dense_sparse_errors_match_torch(case: str) -> None:
    with pytest.raises(RuntimeError) as want:
        ERRORS[case](torch)
    with pytest.raises(RuntimeError) as got:
        ERRORS[case](cr)
    assert str(got.value).splitlines()[0] == str(want.value).splitlines()[0]


@pytest.mark.parametrize(
    "case",
    [
        lambda m: m.ones(3, 2, dtype=m.long).add_(_coo(m)),  # Float result into Long
        lambda m: m.ones(3, 2, dtype=m.long).add_(_csr(m)),
        lambda m: m.ones(3, 2) - _coo(m).bool(),  # bool operand of -
        lambda m: m.ones(4, 2) + m.ones(4, 2).to_sparse_bsr((2, 2)),  # torch: internal assert
    ],
    ids=["inplace_cast", "csr_inplace_cast", "bool_minus", "bsr"],
)
def test_dense_sparse_refusals_raise_runtime_error_as_torch(case: Callable[[Any], Any]) -> None:
    # torch's words differ here (its in-place cast text names the op, its bool text and
    # its BSR internal assert are its own); the error type is checked
    with pytest.raises(RuntimeError):
        case(torch)
    with pytest.raises(RuntimeError):
        case(cr)


def test_dense_sparse_float_alpha_on_ints_refused_as_torch() -> None:
    # chainrule's text for dense operands too: torch's words, lower-cased after the op name
    with pytest.raises(RuntimeError, match="argument alpha must not be a floating point"):
        torch.ones(3, 2, dtype=torch.long).add(_coo(torch).long(), alpha=0.5)
    with pytest.raises(RuntimeError, match="argument alpha must not be a floating point"):
        cr.ones(3, 2, dtype=cr.long).add(_coo(cr).long(), alpha=0.5)


@pytest.mark.parametrize("method", ["add_", "sub_", "iadd", "isub"])
def test_dense_sparse_inplace_bumps_version(method: str) -> None:
    x = cr.ones(3, 2)
    view = x[0]
    before = x._version
    s = _coo(cr)
    if method == "iadd":
        x += s
    elif method == "isub":
        x -= s
    else:
        getattr(x, method)(s)
    assert x._version == before + 1
    assert view._version == x._version
    sign = -1 if "sub" in method else 1
    np.testing.assert_array_equal(view.numpy(), [1.0, 1.0 + sign * 4.0])


def _weights(m: Any) -> Any:
    return m.arange(6.0, dtype=m.float64).reshape(3, 2)


def _grads(m: Any, op: Callable[[Any, Any, Any], Any], hybrid: bool = False) -> tuple:
    dense = m.ones(3, 2, dtype=m.float64, requires_grad=True)
    if hybrid:
        values = m.tensor(
            [[1.0, -2.0], [0.5, 3.0], [1.0, 1.0]], dtype=m.float64, requires_grad=True
        )
        sparse = _hybrid(m, values)
    else:
        values = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        sparse = _coo(m, values=values)
    out = op(m, dense, sparse)
    names = [out.grad_fn.name()] + [
        None if f is None else f.name() for f, _ in out.grad_fn.next_functions
    ]
    (out * _weights(m)).pow(2).sum().backward()
    return names, dense.grad.numpy(), values.grad.numpy()


def _inplace_grad(m: Any, method: str, **kwargs: Any) -> Callable:
    def op(m: Any, dense: Any, sparse: Any) -> Any:
        y = dense * 1
        getattr(y, method)(sparse, **kwargs)
        return y

    return op


GRADS: dict[str, Callable] = {
    "plus": lambda m, d, s: d + s,
    "minus": lambda m, d, s: d - s,
    "add_alpha": lambda m, d, s: m.add(d, s, alpha=2.5),
    "sub_alpha": lambda m, d, s: m.sub(d, s, alpha=-0.5),
    "add_inplace": lambda m, d, s: _inplace_grad(m, "add_", alpha=3)(m, d, s),
    "sub_inplace": lambda m, d, s: _inplace_grad(m, "sub_", alpha=2)(m, d, s),
}


@pytest.mark.parametrize("hybrid", [False, True], ids=["scalar_values", "hybrid"])
@pytest.mark.parametrize("case", sorted(GRADS))
def test_dense_sparse_gradients_and_nodes_match_torch(case: str, hybrid: bool) -> None:
    (tn, td, tv), (cn, cd, cv) = (_grads(m, GRADS[case], hybrid) for m in LIBS)
    assert cn == tn
    np.testing.assert_allclose(cd, td, rtol=1e-12)
    np.testing.assert_allclose(cv, tv, rtol=1e-12)


def test_dense_sparse_saved_alpha_matches_torch() -> None:
    for m in LIBS:
        values = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = m.ones(3, 2, dtype=m.float64)
        y.sub_(_coo(m, values=values), alpha=3)
        assert y.grad_fn.name() == "SubBackward0"
        assert y.grad_fn._saved_alpha == 3


@pytest.mark.parametrize("dense_grad", [True, False])
def test_dense_sparse_one_side_requires_grad_nodes_match_torch(dense_grad: bool) -> None:
    links = []
    for m in LIBS:
        dense = m.ones(3, 2, dtype=m.float64, requires_grad=dense_grad)
        values = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=not dense_grad)
        out = dense + _coo(m, values=values)
        links.append([None if f is None else f.name() for f, _ in out.grad_fn.next_functions])
    assert links[1] == links[0]


def test_dense_plus_csr_values_gradient_matches_torch() -> None:
    grads = []
    for m in LIBS:
        values = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        out = m.ones(3, 2, dtype=m.float64) + _csr(m, values)
        assert out.grad_fn.name() == "AddBackward0"
        (out * _weights(m)).pow(2).sum().backward()
        grads.append(values.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


def test_dense_plus_to_sparse_gives_the_whole_gradient_as_torch() -> None:
    grads = []
    for m in LIBS:
        x = m.tensor([[0.0, 2.0], [3.0, 0.0]], dtype=m.float64, requires_grad=True)
        out = m.ones(2, 2, dtype=m.float64) + x.to_sparse()
        (out * m.arange(4.0, dtype=m.float64).reshape(2, 2)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])  # unmasked: the zeros get it too


def test_dense_sparse_gradcheck() -> None:
    dense = cr.randn(3, 2, dtype=cr.float64, requires_grad=True)
    values = cr.randn(3, dtype=cr.float64, requires_grad=True)
    hybrid = cr.randn(3, 2, dtype=cr.float64, requires_grad=True)

    def fn(d: Any, v: Any, h: Any) -> Any:
        y = cr.add(d, _coo(cr, values=v), alpha=0.5)
        return cr.sub(y, _hybrid(cr, h), alpha=2) * d

    assert cr.autograd.gradcheck(fn, (dense, values, hybrid))


def test_dense_sparse_no_grad_records_nothing() -> None:
    values = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with cr.no_grad():
        out = cr.ones(3, 2) + _coo(cr, values=values)
    assert out.grad_fn is None and not out.requires_grad


def test_csr_plus_dense_alpha_scales_the_dense_operand() -> None:
    # torch.add(csr, dense, alpha=2): torch 2.13's kernel computes dense + 2 * csr (its
    # operands swapped), while its autograd differentiates csr + 2 * dense (the dense operand
    # gets 2 * grad); chainrule computes what the signature says, csr + 2 * dense, and
    # matches torch's gradients
    grads = []
    for m in LIBS:
        values = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        dense = m.ones(3, 2, dtype=m.float64, requires_grad=True)
        out = m.add(_csr(m, values), dense, alpha=2)
        if m is cr:
            want = _csr(m, values).to_dense() + 2 * dense
            np.testing.assert_array_equal(out.detach().numpy(), want.detach().numpy())
        (out * _weights(m)).sum().backward()
        grads.append((values.grad.numpy(), dense.grad.numpy()))
    np.testing.assert_array_equal(grads[1][0], grads[0][0])
    np.testing.assert_array_equal(grads[1][1], grads[0][1])
