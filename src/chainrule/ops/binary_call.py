"""How every two-input elementwise op applies its node: PyTorch's type promotion of the two
operands, then ``cls.apply``, with NumPy's broadcast error turned into one that names the op.

Split from ``binary.py`` (session 38) so that the op families built on it (arithmetic in
``binary.py``, ``maximum``/``minimum``/``logaddexp`` in ``pairwise_extremes.py``, ``pow``,
the special functions) import it from below rather than from each other. It is on the hot
path of ``x + y``: one function, no wrapper. ``_array_operands.py`` lists this file among the
op's own files (its frame walk skips it to find the user's call).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..size import Size
from ._array_operands import refuse_user_array
from ._util import broadcast_error, promote

__all__: list[str] = []  # ``_call``, a helper of the two-input op modules; the ops are there


# operands PyTorch's add/sub/mul parsers refuse from user code (an array, a list, a tuple)
_REFUSED = frozenset({np.ndarray, list, tuple, Size})  # (torch.Size: a tuple)


def _call(cls: type, op: str, a: Any, b: Any, **params: Any) -> Tensor:
    """Promote ``a`` and ``b`` to PyTorch's common dtype and apply ``cls``, turning NumPy's
    broadcast error into one that names the op."""
    # No promotion (``promote`` would return them as they are) for two tensors of one dtype
    # and array type (a Parameter too), or a float/complex tensor with a Python float or int,
    # which takes the tensor's dtype (session 37: ``x * 2.0`` -0.6 us, ``p + x`` -0.15 us).
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            same = a._data.dtype is b._data.dtype and type(a._data) is type(b._data)
        else:
            same = (type(b) is float or type(b) is int) and a._data.dtype.kind in "fc"
    else:
        same = (
            (type(a) is float or type(a) is int)
            and isinstance(b, Tensor)
            and b._data.dtype.kind in "fc"
        )
    if not same:
        if type(a) in _REFUSED or type(b) in _REFUSED:  # torch.add(x, arr), torch.mul(x,
            refuse_user_array(op, a, b)  # [1.0]): TypeError (user code only)
        a, b = promote(op, a, b)
    try:
        return cls.apply(a, b, **params)
    except ValueError as err:
        if "broadcast" in str(err):
            raise broadcast_error(op, a, b) from None
        raise
