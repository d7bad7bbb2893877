"""``cr.library``: operators written in Python (PyTorch's ``torch.library``).

``custom_op`` turns an annotated function into an operator (``cr.ops.<ns>.<name>``) whose
arguments are checked against a schema, whose returns never alias its inputs and whose
declared in-place writes bump version counters; ``register_autograd`` gives it a derivative
(an ordinary ``cr.autograd.Function`` underneath, so saved-tensor checks, hooks and double
backward work as for built-in ops), ``register_fake`` a shape function, ``register_kernel`` a
kernel per device; ``opcheck`` tests the registrations. ``Library`` (with the module-level
``define`` and ``impl``) is the older API that declares an operator from a schema string.

What differs from PyTorch, because chainrule has no dispatcher, fake tensors or compiler: only
the CPU runs kernels (other device types raise NotImplementedError); the fake function is used
by ``opcheck`` only, to check the real kernel's output shapes and dtypes; ``opcheck``'s
``test_aot_dispatch_*`` runs the op's forward and backward twice in eager mode and compares
them, and its ``test_autograd_registration`` also compares a registered backward with finite
differences (float64 inputs), which PyTorch's does not. A namespace named like a chainrule
op or module (``t``, ``abs``, ``linalg``) is not reachable as ``cr.ops.<ns>``: the op wins.
A kernel receives tensors that do not require grad (detached aliases: same memory and version
counter), where PyTorch passes the caller's tensors with grad mode off; either way
``x.numpy()`` works inside it.
"""

from __future__ import annotations

from .custom_op import CustomOpDef, custom_op, register_autograd, register_fake, register_kernel
from .infer import infer_schema
from .library_api import Library, define, impl
from .opcheck import OpCheckError, opcheck

__all__ = [
    "CustomOpDef",
    "Library",
    "OpCheckError",
    "custom_op",
    "define",
    "impl",
    "infer_schema",
    "opcheck",
    "register_autograd",
    "register_fake",
    "register_kernel",
]
