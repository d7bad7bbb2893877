"""Function transforms (``cr.func``, PyTorch's ``torch.func``): ``vmap``, ``grad``, ``vjp``,
``jvp``, ``jacrev``, ``jacfwd``, ``hessian`` and ``functional_call`` (a module as a function
of its parameters). The differentiation transforms compose with ``vmap`` (per-sample
gradients: ``vmap(grad(loss), in_dims=(None, 0, 0))``); see :mod:`.vmap` for the design.
"""

from __future__ import annotations

from ..nn.utils.stateless import functional_call
from .transforms import grad, hessian, jacfwd, jacrev, jvp, vjp
from .vmap import vmap

__all__ = ["functional_call", "grad", "hessian", "jacfwd", "jacrev", "jvp", "vjp", "vmap"]
