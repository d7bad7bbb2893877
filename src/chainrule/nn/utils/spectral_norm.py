"""The legacy, hook-based ``torch.nn.utils.spectral_norm`` / ``remove_spectral_norm``.

``<name>`` becomes the Parameter ``<name>_orig`` plus buffers ``<name>_u`` and ``<name>_v``
(the power-iteration vectors); a forward pre-hook sets ``module.<name> = W / sigma(W)``
before each forward, with sigma = u^T W v. In training mode each forward first runs
``n_power_iterations`` power-iteration steps (without gradient) that update u and v in
place; in eval mode the stored vectors are used unchanged. Names, state_dict keys and the
order of operations are PyTorch's (Miyato et al., 2018). The modern API is
:func:`chainrule.nn.utils.parametrizations.spectral_norm`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...creation_random import randn
from ..functional.normalization import normalize
from ..layers.conv import ConvTranspose1d, ConvTranspose2d
from ..layers.conv3d import ConvTranspose3d
from ..layers.lazy import UninitializedParameter
from ..module import Module
from ..parameter import Parameter

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]

T_module = TypeVar("T_module", bound=Module)


def _assign(buf: Tensor, value: Tensor) -> None:
    """``out=buf``: write in place and bump the version counter, as PyTorch does."""
    buf._data[...] = value._data
    buf._vc[0] += 1


class SpectralNorm:
    """The forward pre-hook: ``module.<name> = <name>_orig / sigma``.

    Args:
        name: the normalised parameter's name.
        n_power_iterations: power-iteration steps per training forward (> 0).
        dim: the output dim (moved first before the weight is flattened to a matrix).
        eps: added to norms when u and v are normalised.
    """

    _version: int = 1

    def __init__(
        self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """Move ``dim`` first and flatten the rest: an (out, everything-else) matrix."""
        mat = weight
        if self.dim != 0:
            mat = mat.permute(self.dim, *(d for d in range(mat.ndim) if d != self.dim))
        return mat.reshape(mat.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        """W / (u^T W v); u and v first refined in place when ``do_power_iteration``."""
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                m = mat.detach()
                for _ in range(self.n_power_iterations):
                    _assign(v, normalize(m.T @ u, dim=0, eps=self.eps))
                    _assign(u, normalize(m @ v, dim=0, eps=self.eps))
                u, v = u.clone(), v.clone()  # later steps must not change this sigma
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def remove(self, module: Module) -> None:
        """Replace ``<name>_orig``, ``_u``, ``_v`` by the Parameter ``<name>`` = W / sigma."""
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    @staticmethod
    def apply(
        module: Module, name: str, n_power_iterations: int, dim: int, eps: float
    ) -> SpectralNorm:
        """Move ``module.<name>`` to ``<name>_orig``, add random unit u, v, register the hook."""
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        if name not in module._parameters:
            raise KeyError(
                f"spectral_norm: module {type(module).__name__} has no parameter named {name!r}"
            )
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if isinstance(weight, UninitializedParameter):
            raise ValueError(
                "The module passed to `SpectralNorm` can't have uninitialized parameters. "
                "Make sure to run the dummy forward before applying spectral normalization"
            )
        if not -weight.ndim <= dim < weight.ndim:
            raise IndexError(
                f"spectral_norm: dim {dim} is out of range for a parameter with {weight.ndim} dims"
            )
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            xp = get_array_module(weight._data)
            # drawn in the weight's dtype, as PyTorch's normal_: same seed, same u and v
            u0 = xp.asarray(randn(h, dtype=weight.dtype)._data)
            v0 = xp.asarray(randn(w, dtype=weight.dtype)._data)
            u = normalize(Tensor._make(u0, False, None, 0), dim=0, eps=fn.eps)
            v = normalize(Tensor._make(v0, False, None, 0), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(
    module: T_module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> T_module:
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration
    (PyTorch's hook-based ``torch.nn.utils.spectral_norm``).

    Args:
        module: the module to change (in place).
        name: the weight to normalise.
        n_power_iterations: power-iteration steps per training forward.
        eps: added to norms for numerical stability.
        dim: the output dim (default 0, or 1 for ConvTranspose1d/2d/3d).

    Returns:
        The module, with Parameter ``<name>_orig`` and buffers ``<name>_u``, ``<name>_v``.

    Note:
        PyTorch also converts checkpoints written before its version 1 of this hook (which
        held ``<name>`` itself) on ``load_state_dict``; chainrule's Module has no state-dict
        hooks, so such old checkpoints are not converted.
    """
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo :func:`spectral_norm`: ``module.<name>`` becomes the Parameter W / sigma.

    Raises:
        ValueError: ``module`` has no spectral_norm hook for ``name``.
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
