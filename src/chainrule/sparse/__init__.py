"""``chainrule.sparse``: PyTorch's ``torch.sparse`` namespace for sparse COO tensors.

Sparse COO tensors themselves (``cr.sparse_coo_tensor``, ``Tensor.to_sparse()``, the
``SparseTensor`` class; test ``x.is_sparse`` or ``x.layout == cr.sparse_coo``) live in
``chainrule/ops/sparse_*.py``; this package gathers the functions PyTorch puts under
``torch.sparse``: the products ``mm``, ``addmm`` and ``sampled_addmm``, ``sum``,
``softmax`` / ``log_softmax``, ``spdiags``, ``as_sparse_gradcheck``, ``spsolve`` (refused
on CPU, as PyTorch's), the deprecated legacy constructors (``FloatTensor``, ...) and
``check_sparse_tensor_invariants``. The elementwise ops that keep a tensor sparse
(``s.sin()``, ``cr.abs(s)``, ``s * dense``, ``dense.sparse_mask(s)``) are in
``chainrule/ops/sparse_pointwise.py``.

>>> import chainrule as cr
>>> a = cr.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
>>> cr.sparse.sum(a, dim=0).to_dense()
tensor([4., 0., 8.])
"""

from __future__ import annotations

from typing import Any

# torch.sparse imports torch, so ``torch.sparse.torch`` is torch itself, and code calls it
# so: gram-ai's CapsNet one-hot encodes with ``torch.sparse.torch.eye(n).index_select(...)``
import chainrule as torch  # noqa: F401 - the package, already in sys.modules at this point

from .. import dtypes as _dt
from ..ops import sparse_copy as _copy  # noqa: F401 - copy_ of sparse tensors
from ..ops import sparse_inplace as _inplace  # noqa: F401 - installs the in-place forms
from ..ops import sparse_pointwise as _pointwise  # noqa: F401 - installs the sparse forms
from ..ops import sparse_resize as _resize  # noqa: F401 - sparse_resize_(_and_clear_)
from ..ops import sparse_structural as _structural  # noqa: F401 - index_select, cat, ...
from ..ops.sparse_construction import legacy_sparse_type
from ..ops.sparse_invariants import STATE as _INVARIANTS
from ..ops.sparse_more import as_sparse_gradcheck, sampled_addmm, spdiags, spsolve
from ..ops.sparse_products import addmm, mm, sum  # noqa: A004 - mirrors torch.sparse.sum
from ..ops.sparse_softmax import log_softmax, softmax

__all__ = [
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "addmm",
    "as_sparse_gradcheck",
    "check_sparse_tensor_invariants",
    "log_softmax",
    "mm",
    "sampled_addmm",
    "softmax",
    "spdiags",
    "spsolve",
    "sum",
]

FloatTensor = legacy_sparse_type("FloatTensor", _dt.float32)
DoubleTensor = legacy_sparse_type("DoubleTensor", _dt.float64)
HalfTensor = legacy_sparse_type("HalfTensor", _dt.float16)
LongTensor = legacy_sparse_type("LongTensor", _dt.int64)
IntTensor = legacy_sparse_type("IntTensor", _dt.int32)
ShortTensor = legacy_sparse_type("ShortTensor", _dt.int16)
CharTensor = legacy_sparse_type("CharTensor", _dt.int8)
ByteTensor = legacy_sparse_type("ByteTensor", _dt.uint8)


class check_sparse_tensor_invariants:  # noqa: N801 - PyTorch's name
    """PyTorch's switch for checking sparse tensors' indices on construction (a context
    manager and decorator, with ``enable``/``disable``/``is_enabled``).

    chainrule checks the indices of every sparse tensor it constructs, whatever this says
    (the check is one pass over the indices; unchecked NumPy indexing would wrap negative
    indices silently): ``is_enabled()`` reports the switch for code that reads it, and
    ``disable()`` never turns the checks off. Setting it (``enable()``, ``disable()``, the
    context manager) silences PyTorch's once-per-process warning of constructors called
    without ``check_invariants=`` (``chainrule/ops/sparse_invariants.py``)."""

    def __init__(self, enable: bool = True) -> None:
        self.state = bool(enable)
        self.saved_state: bool | None = None

    @staticmethod
    def is_enabled() -> bool:
        """Whether the switch is on (off until set)."""
        return _INVARIANTS["enabled"]

    @staticmethod
    def enable() -> None:
        """Turn the switch on (an explicit choice: constructors no longer warn)."""
        _INVARIANTS.update(enabled=True, explicit=True)

    @staticmethod
    def disable() -> None:
        """Turn the switch off (an explicit choice: constructors no longer warn)."""
        _INVARIANTS.update(enabled=False, explicit=True)

    def __enter__(self) -> check_sparse_tensor_invariants:
        self.saved_state = _INVARIANTS["enabled"]
        _INVARIANTS.update(enabled=self.state, explicit=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        _INVARIANTS["enabled"] = bool(self.saved_state)

    def __call__(self, func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper
