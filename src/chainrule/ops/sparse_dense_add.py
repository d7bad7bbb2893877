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

Session 46, torch's refusals: a dense operand with a forward-mode tangent beside a sparse one
without (torch's formula asks for the sparse operand's zero tangent: its dispatcher error for
``aten::_efficientzerotensor``); a dense operand batched by ``cr.func.vmap`` (torch's size
check sees the batched size); and the meta device (:func:`_on_meta`: a COO ``sub``, torch's
dispatcher error; an ``add`` of a COO tensor with entries, torch's kernel errors; a compressed
operand on another device than the dense one, torch's words). A meta dense tensor plus a CPU
COO one is a meta result, as torch's.
"""

from __future__ import annotations

from typing import Any

from .._layout import is_vmap_batched
from ..autograd.grad_mode import no_grad
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..meta.array import MetaArray
from .sparse_csr import SparseCsrTensor
from .sparse_nodense import dispatcher_error
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
    shape = _physical_shape(dense)
    on_meta = _on_meta(op, dense, sparse, compressed)
    if shape != list(sparse.shape):  # PyTorch's words (its "add" for sub too)
        kind = "op2" if compressed else "dense"
        raise RuntimeError(
            f"add: expected 'self' and 'other' to have same size, but self has size {shape} "
            f"while other has size {list(sparse.shape)} (FYI: {kind}-sparse addition does not "
            "currently support broadcasting)"
        )
    if on_meta:
        return _meta_stand_in(dense, sparse, compressed)
    _refuse_forward_mode(dense, sparse, compressed)
    return _stand_in(sparse)


def _physical_shape(dense: Any) -> list[int]:
    """``dense``'s size as torch's kernel sees it: under ``cr.func.vmap``, the physical
    tensor's (every batch dim first), which no sparse operand matches (torch refuses)."""
    if not isinstance(dense, Tensor):
        return []
    if is_vmap_batched(dense._data):
        while getattr(dense, "_value", None) is not None:  # (a BatchedTensor: its physical)
            dense = dense._value
    return list(dense.shape)


def _is_meta(t: Any) -> bool:
    values = getattr(t, "_sp_values", t)
    return isinstance(values, Tensor) and type(values._data) is MetaArray


def _on_meta(op: str, dense: Any, sparse: SparseTensor, compressed: bool) -> bool:
    """Whether either operand is on meta, after torch's refusals there: a COO ``sub`` (its
    dispatcher, ``sub.Tensor``, before the size check) and a compressed operand on another
    device than the dense one (its words)."""
    dense_meta, sparse_meta = _is_meta(dense), _is_meta(sparse)
    if not (dense_meta or sparse_meta):
        return False
    if not compressed and op == "sub":
        raise dispatcher_error("sub.Tensor", "SparseMeta")
    if compressed and dense_meta != sparse_meta:
        raise RuntimeError(
            "add: expected 'src' to match dense tensor, but got tensor on device: "
            + ("meta" if sparse_meta else sparse.device.type)
        )
    return True


def _meta_stand_in(dense: Any, sparse: SparseTensor, compressed: bool) -> Tensor:
    """The sparse operand as a dense tensor on ``dense``'s device when one of them is on meta
    (after the size check): torch computes a meta dense one plus a CPU COO one, and an empty
    COO meta one; it fails for the rest."""
    if compressed:  # torch: "dense.device() == kCPU INTERNAL ASSERT FAILED"
        raise RuntimeError(
            f"add: a dense tensor plus a sparse {_COMPRESSED_NAMES[sparse.layout]} tensor on "
            "the meta device is not supported (PyTorch fails an internal assert: "
            "dense.device() == kCPU); compute on CPU, or give a COO tensor"
        )
    device = dense.device
    if not _is_meta(sparse):
        return _stand_in(sparse).to(device)
    if sparse._nnz():
        if _is_meta(dense) and not sparse.is_coalesced():
            raise dispatcher_error("_coalesce", "SparseMeta")
        raise RuntimeError(
            "The tensor has a non-zero number of elements, but its data is not allocated yet."
        )
    return _zeros(sparse, device)


def _zeros(sparse: SparseTensor, device: Any) -> Tensor:
    """A sparse operand without entries: zeros of its size and dtype on ``device``."""
    return sparse._sp_values.new_zeros(tuple(sparse.shape), device=device)


def _refuse_forward_mode(dense: Any, sparse: SparseTensor, compressed: bool) -> None:
    """torch's forward-mode formula of ``dense + sparse`` reads the sparse operand's tangent,
    a zero one when it has none, which torch cannot make for a sparse layout: a dual dense
    operand beside a sparse one without a tangent is refused in its words. (A sparse operand
    whose values carry a tangent is chainrule's: torch refuses to build one.)"""
    if getattr(dense, "_fw_tangent", None) is None:
        return
    source = sparse._sp_source
    if sparse._sp_values._fw_tangent is not None or (
        source is not None and source._fw_tangent is not None
    ):
        return
    raise dispatcher_error("_efficientzerotensor", "SparseCsrCPU" if compressed else "SparseCPU")


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
