"""PyTorch's argument-parser TypeErrors for ops that accepted a wrong argument silently
until session 43 (``x.to_sparse(None)``, ``bernoulli(x, None)``, ``sparse_coo_tensor(i, v, None)``,
``nn.init.constant_(x, None)``, ``random_split`` with float lengths): PyTorch's parser's
"invalid combination of arguments" TypeError, word for word. The ops test a sentinel
default with ``is`` (as cheap as ``is None``); everything else here runs on the error path
only."""

from __future__ import annotations

from typing import Any

from ._tensor_args import torch_type_name
from .invalid_arguments import combination_error, format_invalid_args
from .number_arguments import parser_number
from .unset_arguments import _Unset

__all__ = [
    "BERNOULLI_P_UNSET",
    "COO_SIZE_UNSET",
    "SPARSE_DIM_UNSET",
    "bernoulli_p_error",
    "fill_value_error",
    "normal_number_error",
    "quantize_per_tensor_error",
    "randperm_error",
    "sparse_coo_size_error",
    "aten_number",
    "linalg_norm_ord_error",
    "tensor_argument_error",
    "to_sparse_dim_error",
]

SPARSE_DIM_UNSET = _Unset("None")
BERNOULLI_P_UNSET = _Unset("None")
COO_SIZE_UNSET = _Unset("None")

_TO_SPARSE_FORMS = (
    "(*, torch.layout layout = None, tuple of ints blocksize = None, int dense_dim = None)",
    "(int sparse_dim)",
)
_BERNOULLI_FORMS = (
    "(Tensor input, *, torch.Generator generator = None, Tensor out = None)",
    "(Tensor input, float p, *, torch.Generator generator = None)",
)
_COO_TAIL = (
    "*, torch.dtype dtype = None, torch.device device = None, bool pin_memory = False, "
    "bool requires_grad = False, bool check_invariants = None, bool is_coalesced = None)"
)
_SPARSE_COO_FORMS = (
    "(object indices, object values, " + _COO_TAIL,
    "(object indices, object values, tuple of ints size, " + _COO_TAIL,
    "(tuple of ints size, *, torch.dtype dtype = None, torch.device device = None, "
    "bool requires_grad = False, bool check_invariants = None)",
)
_FILL_FORMS = ("(Tensor value)", "(Number value)")
_RANDPERM_TAIL = (
    "Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False)"
)
_RANDPERM_FORMS = (
    "(int n, *, torch.Generator generator, " + _RANDPERM_TAIL,
    "(int n, *, " + _RANDPERM_TAIL,
)


def to_sparse_dim_error(self: Any, sparse_dim: Any) -> TypeError:
    """PyTorch's TypeError for ``to_sparse``'s ``sparse_dim`` given and no int (None, a
    bool, a float)."""
    return combination_error(
        "to_sparse", [("self", self), ("sparse_dim", sparse_dim)], _TO_SPARSE_FORMS
    )


def bernoulli_p_error(input: Any, p: Any) -> TypeError:  # noqa: A002 - PyTorch's name
    """PyTorch's TypeError for ``bernoulli``'s ``p`` given and no number (None, a str)."""
    return combination_error("bernoulli", [("input", input), ("p", p)], _BERNOULLI_FORMS)


def sparse_coo_size_error(indices: Any, values: Any, size: Any) -> TypeError:
    """PyTorch's TypeError for ``sparse_coo_tensor``'s ``size`` passed as None."""
    params = [("indices", indices), ("values", values), ("size", size)]
    return combination_error("sparse_coo_tensor", params, _SPARSE_COO_FORMS)


def fill_value_error(value: Any) -> TypeError:
    """PyTorch's TypeError for ``fill_`` (``nn.init.constant_``) given no number or tensor."""
    return TypeError(format_invalid_args("fill_", [value], [], _FILL_FORMS))


def randperm_error(total: Any, generator: Any) -> TypeError:
    """PyTorch's TypeError of ``random_split``'s ``randperm(sum(lengths), generator=...)``
    where the lengths sum to the dataset's length as a float (``(1.0, 2.0)``)."""
    return TypeError(
        format_invalid_args("randperm", [total], [("generator", generator)], _RANDPERM_FORMS)
    )


_NORMAL_OUT = "torch.Generator generator = None, Tensor out = None"
_NORMAL_FORMS = (
    f"(Tensor mean, Tensor std, *, {_NORMAL_OUT})",
    f"(Tensor mean, float std = 1, *, {_NORMAL_OUT})",
    f"(float mean, Tensor std, *, {_NORMAL_OUT})",
    f"(float mean, float std, tuple of ints size, *, {_NORMAL_OUT}, torch.dtype dtype = None, "
    "torch.layout layout = None, torch.device device = None, bool pin_memory = False, "
    "bool requires_grad = False)",
)


def normal_number_error(mean: Any, std: Any, size: Any) -> TypeError:
    """PyTorch's TypeError for ``normal`` with a ``mean`` or ``std`` that is neither a
    number nor a tensor (a tuple, None)."""
    params = [("mean", mean), ("std", std), ("size", size)]
    return combination_error("normal", params, _NORMAL_FORMS, defaults={"size": None})


def tensor_argument_error(op: str, name: str, position: int, value: Any) -> TypeError:
    """PyTorch's parser's TypeError for a ``Tensor`` argument given something else
    (``linalg.inv(1.5)``: "linalg_inv(): argument 'A' (position 1) must be Tensor, not
    float"), ``op`` as PyTorch's parser names it (its ATen name)."""
    return TypeError(
        f"{op}(): argument '{name}' (position {position}) must be Tensor, not "
        f"{torch_type_name(value)}"
    )


def _aten_named(err: TypeError, aten: str) -> TypeError:
    """``err`` (a parser TypeError naming the function as the user called it) naming the op
    as PyTorch's parser names it, its ATen name (``linalg_matrix_norm()``)."""
    text = err.args[0]
    return TypeError(aten + text[len(text.split("(", 1)[0]) :])


_NORM_TAIL = "bool keepdim = False, *, torch.dtype dtype = None, Tensor out = None)"
_LINALG_NORM_FORMS = (
    f"(Tensor input, Number ord = None, tuple of ints dim = None, {_NORM_TAIL}",
    f"(Tensor input, str ord, tuple of ints dim = None, {_NORM_TAIL}",
)
_MATRIX_NORM_FORMS = (
    f"(Tensor input, Number ord, tuple of ints dim = {{-2,-1}}, {_NORM_TAIL}",
    f'(Tensor input, str ord = "fro", tuple of ints dim = {{-2,-1}}, {_NORM_TAIL}',
)


def linalg_norm_ord_error(op: str, input: Any, ord: Any, dim: Any, keepdim: Any) -> TypeError:  # noqa: A002
    """PyTorch's parser's TypeError for ``linalg.norm``/``linalg.matrix_norm`` (``op``) with
    an ``ord`` that is neither a number nor a string (a tuple; None for matrix_norm)."""
    forms = _LINALG_NORM_FORMS if op == "norm" else _MATRIX_NORM_FORMS
    params = [("input", input), ("ord", ord), ("dim", dim), ("keepdim", keepdim)]
    defaults = {"dim": None if op == "norm" else (-2, -1), "keepdim": False}
    err = combination_error(op, params, forms, defaults=defaults)
    return _aten_named(err, f"linalg_{op}")


def aten_number(aten: str, called: str, arg: str, position: int, value: Any) -> Any:
    """``value`` of ``called``'s (the name the user calls: ``vector_norm``) ``Number``
    argument ``arg``, read as PyTorch's parser reads it (a 0-d tensor's or NumPy number's
    item), or its TypeError naming the op by its ATen name ``aten``
    (``linalg_vector_norm(): argument 'ord' (position 2) must be Number, not NoneType``)."""
    try:
        return parser_number(called, arg, position, value)
    except TypeError as err:
        raise _aten_named(err, aten) from None


_QUANTIZE_FORMS = (
    "(Tensor input, Tensor scale, Tensor zero_point, torch.dtype dtype)",
    "(Tensor input, float scale, int zero_point, torch.dtype dtype)",
    "(tuple of Tensors tensors, Tensor scales, Tensor zero_points, torch.dtype dtype)",
)


def quantize_per_tensor_error(input: Any, scale: Any, zero_point: Any, dtype: Any) -> TypeError:  # noqa: A002
    """PyTorch's parser's TypeError for ``quantize_per_tensor`` with arguments fitting none
    of its forms (a dtype that is no dtype, a float 0-d tensor zero point beside a number
    scale)."""
    args = [input, scale, zero_point, dtype]
    return TypeError(format_invalid_args("quantize_per_tensor", args, [], _QUANTIZE_FORMS))
