"""Function transforms (``cr.func``, PyTorch's ``torch.func``): ``vmap``, ``grad``, ``vjp``,
``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``grad_and_value``, ``linearize``,
``functionalize``, ``functional_call`` (a module as a function of its parameters),
``rearrange`` (einops' axis-reordering patterns),
``stack_module_state`` (model ensembles under vmap) and ``debug_unwrap``. The
differentiation transforms compose with ``vmap`` (per-sample gradients:
``vmap(grad(loss), in_dims=(None, 0, 0))``); see :mod:`.vmap` for the design.
"""

from __future__ import annotations

from .._package_dir import package_dir as _package_dir
from ..nn._batch_norm_replace import replace_all_batch_norm_modules_
from ..nn.utils._functional_call import functional_call
from .jacobians import hessian, jacfwd, jacrev
from .rearrange import rearrange
from .transforms import grad, jvp, vjp
from .transforms_more import (
    debug_unwrap,
    functionalize,
    grad_and_value,
    linearize,
    stack_module_state,
)
from .vmap import vmap

__all__ = [
    "debug_unwrap",
    "functional_call",
    "functionalize",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "rearrange",
    "replace_all_batch_norm_modules_",
    "stack_module_state",
    "vjp",
    "vmap",
]

# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(globals())
