"""``dense + sparse`` and ``dense - sparse``: a dense (strided) result, as PyTorch's.

``torch.add(dense, sparse, alpha=...)``, ``dense.add_(sparse)``, ``dense + sparse``,
``dense - sparse``, ``dense.sub_(sparse)``: PyTorch's ``add_out_dense_sparse`` (COO) and
``add_out_dense_sparse_compressed`` (CSR/CSC; no ``sub``) kernels. ``binary.add``/``sub``
hand a sparse ``other`` to :func:`dense_operand`, which checks what PyTorch refuses and
returns a dense tensor of the sparse one's value; the dense op then runs as for two dense
tensors (type promotion, ``alpha``, the in-place write and its version counter, the node
``AddBackward0``/``SubBackward0``).

Autograd: the dense stand-in is linked to the sparse tensor's own node (PyTorch lists the
sparse operand's ``grad_fn``, e.g. ``SparseCooTensorWithDimsAndTensorsBackward0``, under the
add's node, no ``ToDenseBackward0``): the values get the gradient at their entries' positions
(each duplicate entry of an uncoalesced tensor gets it whole, a hybrid entry its dense row).
A sparse tensor converted from a dense one that requires grad (``x.to_sparse()``) gives ``x``
the whole gradient, unmasked, as PyTorch's ``ToSparseBackward``; a tensor whose values carry
a forward-mode tangent is converted by the recorded ``to_dense`` (which carries it).
"""

from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from .sparse_csr import SparseCsrTensor
from .sparse_tensor import SparseTensor
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr

__all__ = ["dense_operand"]

_COMPRESSED_NAMES = {sparse_csr: "SparseCsr", sparse_csc: "SparseCsc"}


def dense_operand(op: str, dense: Any, sparse: SparseTensor) -> Tensor:
    """A dense tensor of ``sparse``'s value, to be added to (``op`` "add") or subtracted from
    (``op`` "sub") ``dense``, after PyTorch's checks: the same size (no broadcasting), no
    ``sub`` of a compressed layout, no BSR/BSC (PyTorch fails an internal assert)."""
    layout = sparse.layout
    if layout is sparse_bsr or layout is sparse_bsc:
        name = "SparseBsr" if layout is sparse_bsr else "SparseBsc"
        raise RuntimeError(
            f"{op}: a dense tensor and a sparse {name} tensor are not supported (PyTorch fails "
            "an internal assert); convert with .to_dense() first"
        )
    compressed = type(sparse) is not SparseTensor
    if compressed and op == "sub":
        raise RuntimeError(f"unsupported tensor layout: {_COMPRESSED_NAMES[layout]}")
    shape = list(dense.shape) if isinstance(dense, Tensor) else []
    if shape != list(sparse.shape):  # PyTorch's words (its "add" for sub too)
        kind = "op2" if compressed else "dense"
        raise RuntimeError(
            f"add: expected 'self' and 'other' to have same size, but self has size {shape} "
            f"while other has size {list(sparse.shape)} (FYI: {kind}-sparse addition does not "
            "currently support broadcasting)"
        )
    return _stand_in(sparse)


def _stand_in(sparse: SparseTensor) -> Tensor:
    """``sparse.to_dense()``, linked to ``sparse``'s own node when its values require grad."""
    values = sparse._sp_values
    if sparse._sp_source is not None:  # x.to_sparse(): x's whole gradient (PyTorch's)
        return sparse.to_dense(masked_grad=False)
    if not (values.requires_grad and is_grad_enabled()):
        return sparse.to_dense()  # (nothing recorded)
    linkable = type(sparse) is SparseTensor or type(sparse) is SparseCsrTensor
    if not linkable or values._fw_tangent is not None:
        return sparse.to_dense()  # recorded (ToDenseBackward0), carrying a tangent
    with no_grad():
        data = sparse.to_dense()._data
    # the sparse tensor's input edge (sparse_autograd): its node's name, the gradient of the
    # full size taken to the values at the entries' positions
    return Tensor._make(data, True, sparse._grad_fn, 0)
