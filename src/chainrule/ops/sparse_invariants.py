"""The switch of ``cr.sparse.check_sparse_tensor_invariants`` and PyTorch's warning about
leaving it implicit.

PyTorch's sparse constructors (``torch.sparse_coo_tensor``, ``sparse_csr_tensor``,
``sparse_csc_tensor``, ``sparse_bsr_tensor``, ``sparse_bsc_tensor``,
``sparse_compressed_tensor``) warn once per process, a UserWarning at the caller's line,
"Sparse invariant checks are implicitly disabled...", when called without
``check_invariants=`` while the switch was never set explicitly (``enable()``,
``disable()`` or the context manager, even after it exits). Its conversions
(``to_sparse()``), legacy constructors and internal uses never warn. chainrule warns in the
same cases, with PyTorch's first sentence (so ``warnings.filterwarnings`` with its message
silences both), and says that chainrule checks the indices anyway: they always are.
"""

from __future__ import annotations

import os
import sys

from .. import _user_warnings

__all__ = ["STATE", "warn_implicit_checks"]

# ``enabled``: what is_enabled() reports; ``explicit``: the switch was set by the user
STATE = {"enabled": False, "explicit": False}

MESSAGE = (
    "Sparse invariant checks are implicitly disabled. PyTorch warns here because its "
    "unchecked sparse tensors can crash the process; chainrule checks every sparse tensor's "
    "indices anyway. To silence this warning, explicitly opt in or out: pass "
    "check_invariants=True/False, or call chainrule.sparse.check_sparse_tensor_invariants"
    ".enable()/.disable(). See `chainrule.sparse.check_sparse_tensor_invariants.__doc__`."
)

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# the dispatching wrapper cr.overrides may put around a public function: not a caller
_WRAPPERS = (os.path.join("autograd", "torch_function.py"), "overrides.py")


def warn_implicit_checks(check_invariants: bool | None) -> None:
    """Called first by each public sparse constructor: PyTorch's once-per-process warning
    when ``check_invariants`` is None, the switch was never set and the constructor was
    called by the user (not by chainrule itself)."""
    if check_invariants is not None or STATE["explicit"]:
        return
    frame = sys._getframe(2)  # the constructor's caller
    while frame is not None and frame.f_code.co_filename.endswith(_WRAPPERS):
        frame = frame.f_back
    if frame is None or frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        return
    _user_warnings.warn_once("sparse_invariants_implicit", MESSAGE)
