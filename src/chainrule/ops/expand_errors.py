"""PyTorch's errors for ``expand`` and ``broadcast_to`` sizes a tensor cannot take, in the
order its ``inferExpandGeometry`` checks them: too few sizes (its message prints the
tensor as ``expand(torch.FloatTensor{[3, 4]}, size=[1])``), then each size from the last
dim to the first: a -1 in a leading, new dim, a size that differs from a non-singleton
dim's (the sizes printed as given, -1 included); a size below -1 elsewhere is its
``numel`` overflow. Only the ops' failing paths call here. Under ``cr.func.vmap`` the
sizes are the physical ones PyTorch's batch rule expands (session 47).
"""

from __future__ import annotations

from collections.abc import Sequence

from .._layout import is_vmap_batched
from ..autograd.tensor import Tensor
from ._util import ShapeError, torch_words

__all__ = ["expand_error", "torch_text", "torch_type_string"]


def torch_text(err: ShapeError) -> ShapeError:
    """``err``, whose message is PyTorch's own text, marked so that a composite op's
    :func:`~chainrule.ops._util.lead_with` leaves it unprefixed (``ger`` over ``outer``
    says "outer: Expected 1-D argument self, but got 2-D", as PyTorch)."""
    return torch_words(err)  # type: ignore[return-value]


# the dtypes whose type PyTorch's messages print by its legacy name (``torch.FloatTensor``);
# the others as ``CPUBoolType``
_LEGACY = frozenset({"Byte", "Char", "Short", "Int", "Long", "Half", "Float", "Double"})


def torch_type_string(x: Tensor) -> str:
    """How PyTorch's C++ messages print a tensor's type: ``torch.FloatTensor``,
    ``torch.cuda.LongTensor``, ``CPUBoolType``, ``CPUComplexFloatType``."""
    name = x.type()  # torch.FloatTensor, torch.cuda.BoolTensor
    scalar = name.rsplit(".", 1)[-1].removesuffix("Tensor")
    if scalar in _LEGACY:
        return name
    return f"{'CUDA' if '.cuda.' in name else 'CPU'}{scalar}Type"


def expand_error(x: Tensor, sizes: Sequence[int]) -> ShapeError:
    """The error PyTorch raises for ``x.expand(*sizes)`` (``sizes`` as given); a generic
    one where its checks pass (a caller's own refusal)."""
    shape, sizes = list(x.shape), list(sizes)
    batched = is_vmap_batched(x._data)
    if len(sizes) < len(shape) and batched:  # PyTorch's batch rule checks first, in its words
        return torch_text(
            ShapeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                f"to the number of dimensions in the tensor ({len(shape)})"
            )
        )
    if batched:  # the rule views x as [batch..., 1 per new dim, *shape], expands that to
        # [batch..., *sizes]: PyTorch's words name these physical sizes (each vmap level
        # batching x adds its batch size, outermost first)
        level = x._data.level
        batch = [lv.size for lv in getattr(level, "levels", (level,))]
        shape = batch + [1] * (len(sizes) - len(shape)) + shape
        sizes = batch + sizes
    if len(sizes) < len(shape):
        return torch_text(
            ShapeError(
                f"expand({torch_type_string(x)}{{{shape}}}, size={sizes}): the number of sizes "
                f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
                f"the tensor ({len(shape)})"
            )
        )
    lead = len(sizes) - len(shape)
    for i in range(len(sizes) - 1, -1, -1):
        target = sizes[i]
        if i < lead:
            if target == -1:
                return torch_text(
                    ShapeError(
                        f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                        f"non-existing dimension {i}"
                    )
                )
            continue
        size = shape[i - lead]
        if target != -1 and size != target and size != 1:
            return torch_text(
                ShapeError(
                    f"The expanded size of the tensor ({target}) must match the existing size "
                    f"({size}) at non-singleton dimension {i}.  Target sizes: {sizes}.  Tensor "
                    f"sizes: {shape}"
                )
            )
    if any(s < -1 for s in sizes):
        return torch_text(ShapeError("numel: integer multiplication overflow"))
    return ShapeError(f"expand: cannot expand a tensor of shape {shape} to {sizes}")
