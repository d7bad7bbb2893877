"""``parametrizations.orthogonal``: keep a weight (or batch of them) orthogonal / unitary.

The unconstrained original X is mapped to an orthogonal Q by one of three maps (PyTorch's):
``matrix_exp`` (Q = exp(A), A = tril(X) - tril(X)^H skew-Hermitian), ``cayley``
(Q = (I - A/2)^{-1}(I + A/2)) or ``householder`` (Q = product of reflections from the
strictly lower part of X). With ``use_trivialization`` (the default) the result is further
multiplied by a buffer ``base`` set on assignment, so that assigning any orthogonal matrix
is exact and training moves around it (Lezcano-Casado, 2019).
"""

from __future__ import annotations

import numpy as np

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...creation import eye, zeros_like
from ...creation_random import randn
from ...linalg.solve import solve
from ...ops.joining import cat
from ...ops.linalg_lowrank_householder import geqrf
from ..module import Module
from .parametrize import register_parametrization

__all__ = ["orthogonal"]

_MAPS = ("matrix_exp", "cayley", "householder")


def _householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """``linalg.householder_product``: the first k columns of H_1 ... H_k, with
    H_i = I - tau_i v_i v_i^H and v_i the i-th column of the unit lower-triangular part of
    ``a`` (n x k). Composed of differentiable ops."""
    n, k = a.shape[-2], a.shape[-1]
    v = a.tril(-1) + eye(n, k, dtype=a.dtype)
    q = eye(n, dtype=a.dtype) + zeros_like(a[..., :1, :1])  # broadcast over the batch
    for i in range(k):
        vi = v[..., :, i : i + 1]
        q = q - (q @ vi) @ (vi.mH * tau[..., i : i + 1, None])
    return q[..., :k]


def _make_orthogonal(a: np.ndarray) -> np.ndarray:
    """Q of A = QR (A tall) with diag(R) >= 0, as PyTorch's ``_make_orthogonal``."""
    q, r = np.linalg.qr(a)
    d = np.diagonal(r, axis1=-2, axis2=-1)
    sign = np.where(d == 0, 1, d / np.where(d == 0, 1, np.abs(d)))
    return q * sign[..., None, :]


def _householder_original(q: Tensor) -> Tensor:
    """The original that the householder map (without trivialization) sends to the
    orthogonal factor of ``q`` with a non-negative R diagonal: geqrf's reflectors below the
    diagonal (R, which the map ignores, above it) and on the diagonal the column signs, +-1:
    R's sign, flipped where LAPACK stored no reflection (tau = 0), since the map's
    tau = 2 / (1 + |v|^2) reflects there."""
    x = q.detach()
    transposed = x.shape[-2] < x.shape[-1]
    if transposed:
        x = x.mT
    a, tau = geqrf(x)
    arr = np.array(a._data)
    idx = np.arange(arr.shape[-1])
    r_sign = np.where(arr[..., idx, idx] < 0, -1.0, 1.0)
    arr[..., idx, idx] = r_sign * np.where(np.asarray(tau._data) == 0, -1.0, 1.0)
    if transposed:
        arr = np.ascontiguousarray(np.swapaxes(arr, -1, -2))
    return Tensor._make(arr, False, None, 0)


def _is_orthogonal(q: np.ndarray) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    atol = 10.0 * n * np.finfo(q.dtype).eps
    return bool(np.allclose(np.conj(np.swapaxes(q, -1, -2)) @ q, np.eye(k), rtol=1e-5, atol=atol))


class _Orthogonal(Module):
    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype.kind == "V":  # bfloat16: PyTorch's QR, LU and orgqr have no such kernel
            raise NotImplementedError(
                f"orthogonal ({self.orthogonal_map}): not implemented for 'BFloat16' (its "
                "factorizations have no bfloat16 kernel, in PyTorch either); convert the "
                "module with .float() first"
            )
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            x = x.tril()
            if n != k:
                pad = zeros_like(x[..., :, :1]).expand(*x.shape[:-1], n - k)
                x = cat([x, pad], dim=-1)
            a = x - x.mH
            if self.orthogonal_map == "matrix_exp":
                q = a.matrix_exp()
            else:
                ident = eye(n, dtype=a.dtype)
                q = solve(ident - 0.5 * a, ident + 0.5 * a)
            if n != k:
                q = q[..., :k]
        else:
            a = x.tril(-1)
            tau = 2.0 / (1.0 + (a * a).sum(-2))
            q = _householder_product(a, tau)
            q = q * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if "base" in self._buffers:
            q = self.base @ q
        return q.mT if transposed else q

    def right_inverse(self, q: Tensor) -> Tensor:
        with no_grad():
            if tuple(q.shape) != self.shape:
                raise ValueError(
                    f"Expected a matrix or batch of matrices of shape {tuple(self.shape)}. "
                    f"Got a tensor of shape {tuple(q.shape)}."
                )
            if "base" not in self._buffers:  # use_trivialization=False
                if self.orthogonal_map != "householder":
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley "
                        "parametrizations when use_trivialization=False."
                    )
                return _householder_original(q)
            q_init = q
            if q.dtype.kind == "V":  # bfloat16: as PyTorch, whose QR/LU lack the kernel
                raise NotImplementedError(
                    "orthogonal: not implemented for 'BFloat16' (the QR factorization it "
                    "needs has no bfloat16 kernel, in PyTorch either); use a float32 weight"
                )
            arr = np.asarray(q.detach())
            n, k = arr.shape[-2], arr.shape[-1]
            transpose = n < k
            if transpose:
                arr = np.swapaxes(arr, -1, -2)
                n, k = k, n
            if n == k:
                arr = arr.copy() if _is_orthogonal(arr) else _make_orthogonal(arr)
            else:
                # in the weight's dtype, as PyTorch's randn: same seed, same base
                noise = np.asarray(randn(*arr.shape[:-2], n, n - k, dtype=arr.dtype)._data)
                arr = _make_orthogonal(np.concatenate([arr, noise], axis=-1))
            self.base = Tensor._make(arr, False, None, 0)
            neg_id = np.zeros(q_init.shape, dtype=arr.dtype)
            idx = np.arange(min(q_init.shape[-2:]))
            neg_id[..., idx, idx] = -1.0
            return Tensor._make(neg_id, False, None, 0)


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Constrain ``module.<name>`` to be orthogonal (or unitary, for complex weights): the
    rows or the columns, whichever are fewer, are orthonormal (``torch.nn.utils.
    parametrizations.orthogonal``).

    Args:
        module: the module to change (in place).
        name: the weight to constrain (a matrix or a batch of matrices).
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; default
            ``matrix_exp`` for square or complex weights, else ``householder``.
        use_trivialization: keep a ``base`` buffer (see the module docstring). With False
            the original is the map's own argument: registering keeps the weight as it is
            for ``matrix_exp`` / ``cayley`` (whose assignment then raises
            NotImplementedError, as PyTorch's) and stores geqrf's reflectors of the weight
            for ``householder``.

    Raises:
        ValueError: no tensor called ``name``, fewer than 2 dims, or an unknown map.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions."
        )
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    register_parametrization(module, name, orth, unsafe=True)
    return module
