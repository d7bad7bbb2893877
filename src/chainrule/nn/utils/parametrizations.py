"""``nn.utils.parametrizations``: weight_norm and spectral_norm on the parametrize API.

Both match PyTorch's modern (parametrization-based) versions, including state_dict keys:
weight norm stores ``parametrizations.weight.original0`` (g, the norms) and ``original1``
(v, the direction); spectral norm stores ``parametrizations.weight.original`` and the power
iteration vectors ``parametrizations.weight.0._u`` / ``_v``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...creation_random import randn
from ...ops._util import dim_range_error
from ...ops.number_arguments import parser_int
from ..functional.normalization import normalize
from ..layers.conv import ConvTranspose1d, ConvTranspose2d
from ..layers.conv3d import ConvTranspose3d
from ..module import Module
from ._orthogonal import orthogonal
from .parametrize import register_parametrization

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """2-norm over every dim but ``dim``, kept as size-1 dims; dim=-1 means the whole tensor
    (a 0-d result), as PyTorch's ``norm_except_dim``."""
    if dim == -1:
        return (v * v).sum().sqrt()
    if not -v.ndim <= dim < v.ndim:  # else the modulo below would wrap it silently
        raise dim_range_error(dim, v.ndim)
    d = dim % v.ndim
    axes = tuple(i for i in range(v.ndim) if i != d)
    return (v * v).sum(axes, keepdim=True).sqrt() if axes else v.abs()


class _WeightNorm(Module):
    """w = g * v / ||v|| (Salimans & Kingma 2016), norms taken over all dims but ``dim``."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as g * v / ||v|| (``torch.nn.utils.parametrizations``).

    Args:
        module: the module to change (in place).
        name: the parameter to reparametrize.
        dim: the dim kept by the norm (0: one norm per output unit); None: one norm for the
            whole tensor.

    Returns:
        The module, with ``parametrizations.<name>.original0`` (g) and ``original1`` (v).
    """
    if dim is not None and type(dim) is not int:  # PyTorch's norm_except_dim parser
        dim = parser_int("norm_except_dim", "dim", 3, dim, keywords=False)
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """w / sigma(w), sigma estimated by power iteration with persistent vectors u, v.

    In training each call runs ``n_power_iterations`` steps (without gradient) and updates the
    ``_u``/``_v`` buffers; in eval the stored vectors are used unchanged. The gradient flows
    through sigma = u^T W v with u and v held constant, as in PyTorch.
    """

    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"spectral_norm: dim must be in [-{ndim}, {ndim - 1}], got {dim}")
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            with no_grad():
                mat = self._reshape_weight_to_matrix(weight.detach())
                h, w = mat.shape
                # drawn in the weight's dtype, as PyTorch's normal_: same seed, same u and v
                xp_u = randn(h, dtype=weight.dtype)._data
                xp_v = randn(w, dtype=weight.dtype)._data
                self.register_buffer("_u", normalize(_const(xp_u, weight), dim=0, eps=eps))
                self.register_buffer("_v", normalize(_const(xp_v, weight), dim=0, eps=eps))
                self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, mat: Tensor, n: int) -> None:
        with no_grad():
            m = mat.detach()
            for _ in range(n):
                _assign(self._u, normalize(m @ self._v, dim=0, eps=self.eps))
                _assign(self._v, normalize(m.T @ self._u, dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.detach().clone(), self._v.detach().clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _const(arr: Any, like: Tensor) -> Tensor:
    return Tensor._make(get_array_module(like._data).asarray(np.asarray(arr)), False, None, 0)


def _assign(buf: Tensor, value: Tensor) -> None:
    buf._data[...] = value._data
    buf._vc[0] += 1


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its spectral norm (Miyato et al. 2018), PyTorch's modern API.

    Args:
        module: the module to change (in place).
        name: the weight to normalise.
        n_power_iterations: power-iteration steps per training forward.
        eps: added to norms for numerical stability.
        dim: the output dim (default 0, or 1 for ConvTranspose).

    Returns:
        The module, with ``parametrizations.<name>.original`` and buffers ``0._u``, ``0._v``.

    Raises:
        ValueError: the module has no tensor called ``name``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(
            f"Module '{type(module).__name__}' has no parameter or buffer with name '{name}'"
        )
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
