"""``torch.utils.benchmark``'s sparse input fuzzer: :class:`FuzzedSparseTensor` builds COO
sparse tensors (optionally hybrid, optionally uncoalesced) whose size comes from a
:class:`~chainrule.utils.benchmark.Fuzzer`'s parameters and whose number of stored values
from its ``density`` parameter, so that sparse ops can be benchmarked over many inputs.

The values and indices come from the global generator in PyTorch's order (``rand`` values,
then ``rand`` indices scaled to the size, then ``randn_like`` duplicates when uncoalesced),
so a seeded fuzzer yields torch's tensors.
"""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

from ... import dtype_objects as dtypes
from ...creation_from_data import tensor as _tensor
from ...creation_random import rand, randint, randn_like
from ...ops.joining import cat
from ...ops.sparse_construction import sparse_coo_tensor
from ...size import Size
from .fuzzer import FuzzedTensor

__all__ = ["FuzzedSparseTensor"]


class FuzzedSparseTensor(FuzzedTensor):
    """Specification of one sparse COO tensor built by a :class:`Fuzzer`: ``size`` (ints or
    parameter names), element bounds, ``dim_parameter`` (as :class:`FuzzedTensor`), and the
    sparse layout read from the draw's parameters named ``sparse_dim``, ``density`` and
    ``coalesced`` (PyTorch reads these names, whatever the arguments say; ``sparse_dim``
    only when the argument is given, else every dim is sparse)."""

    def __init__(
        self,
        name: str,
        size: tuple[str | int, ...],
        min_elements: int | None = None,
        max_elements: int | None = None,
        dim_parameter: str | None = None,
        sparse_dim: str | None = None,
        nnz: str | None = None,
        density: str | None = None,
        coalesced: str | None = None,
        dtype: Any = dtypes.float32,
        cuda: bool = False,
    ) -> None:
        super().__init__(
            name=name,
            size=size,
            min_elements=min_elements,
            max_elements=max_elements,
            dim_parameter=dim_parameter,
            dtype=dtype,
            cuda=cuda,
        )
        self._density = density
        self._coalesced = coalesced
        self._sparse_dim = sparse_dim

    @staticmethod
    def sparse_tensor_constructor(
        size: Any, dtype: Any, sparse_dim: int, nnz: int, is_coalesced: bool
    ) -> Any:
        """A COO tensor of ``size`` with ``nnz`` random indices over its first ``sparse_dim``
        dims. Uncoalesced, each index appears twice (the second time with ``randn`` values),
        so the tensor has ``2 * nnz`` stored values; coalesced, duplicates drawn by chance
        are summed.

        Raises:
            AssertionError: every sparse size is <= 0 while ``nnz`` is not 0.
        """
        if isinstance(size, Number):
            size = [size] * sparse_dim
        if all(size[d] <= 0 for d in range(sparse_dim)) and nnz != 0:
            raise AssertionError("invalid arguments")
        v_size = [nnz] + list(size[sparse_dim:])
        if dtype.is_floating_point:
            v = rand(size=v_size, dtype=dtype, device="cpu")
        else:
            v = randint(1, 127, size=v_size, dtype=dtype, device="cpu")
        i = rand(sparse_dim, nnz, device="cpu")
        i.mul_(_tensor(size[:sparse_dim]).unsqueeze(1).to(i))
        i = i.to(dtypes.long)
        if not is_coalesced:
            v = cat([v, randn_like(v)], 0)
            i = cat([i, i], 1)
        x = sparse_coo_tensor(i, v, Size(size))
        if is_coalesced:
            x = x.coalesce()
        return x

    def _make_tensor(self, params: dict, state: Any) -> tuple[Any, dict]:
        size, _, _ = self._get_size_and_steps(params)
        density = params["density"]
        nnz = math.ceil(sum(size) * density)
        if nnz > sum(size):
            raise AssertionError("nnz cannot exceed total number of elements")
        is_coalesced = params["coalesced"]
        sparse_dim = params["sparse_dim"] if self._sparse_dim else len(size)
        sparse_dim = min(sparse_dim, len(size))
        tensor = self.sparse_tensor_constructor(size, self._dtype, sparse_dim, nnz, is_coalesced)
        sparse_dim = tensor.sparse_dim()
        dense_dim = tensor.dense_dim()
        is_hybrid = len(size[sparse_dim:]) > 0
        properties = {
            "numel": int(tensor.numel()),
            "shape": tensor.size(),
            "is_coalesced": tensor.is_coalesced(),
            "density": density,
            "sparsity": 1.0 - density,
            "sparse_dim": sparse_dim,
            "dense_dim": dense_dim,
            "is_hybrid": is_hybrid,
            "dtype": str(self._dtype),
        }
        return tensor, properties
