"""Checking a call against an operator's schema, and a kernel's result against its returns.

An operator is called like a Python function, but its schema decides what it accepts: the
number of arguments, which are keyword-only, and each value's type (an ``int`` where the
schema says ``float`` is fine, a ``float`` where it says ``SymInt`` is not). Errors are
RuntimeErrors worded as PyTorch's dispatcher words them (``ns::op() Expected a value of type
'Tensor' for argument 'x' but instead found type 'int'.``), naming the declaration.
"""

from __future__ import annotations

from typing import Any

from ..autograd.saved import memory_root
from ..autograd.tensor import Tensor
from ..backend import Device
from ..dtype_rules import dtype as _dtype
from .schema import Argument, FunctionSchema

__all__ = ["bind_arguments", "check_outputs", "tensors_of"]


def _matches_base(value: Any, base: str) -> bool:
    if base == "Tensor":
        return isinstance(value, Tensor)
    if base in ("SymInt", "int"):
        return isinstance(value, int)
    if base == "float":
        return isinstance(value, (int, float))
    if base == "bool":
        return isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    if base == "Scalar":
        return isinstance(value, (int, float, complex))
    if base == "ScalarType":
        return isinstance(value, _dtype)
    if base == "Device":
        return isinstance(value, (Device, str))
    return False


def _matches(value: Any, arg: Argument) -> bool:
    if value is None:
        return arg.optional
    if not arg.is_list:
        return _matches_base(value, arg.base)
    if isinstance(value, (list, tuple)):
        return all((v is None and arg.elem_optional) or _matches_base(v, arg.base) for v in value)
    # ``int[2] stride=1``-style: one number where PyTorch expands it (not for tensors)
    return arg.base != "Tensor" and _matches_base(value, arg.base)


def _type_name(arg: Argument) -> str:
    name = {"SymInt": "int"}.get(arg.base, arg.base)
    if arg.is_list:
        name = f"List[{'Optional[' + name + ']' if arg.elem_optional else name}]"
    return f"Optional[{name}]" if arg.optional else name


def bind_arguments(schema: FunctionSchema, qualname: str, args: tuple, kwargs: dict) -> list:
    """The call's values in schema order (defaults filled in), checked against the schema."""
    decl = f"Declaration: {qualname}{str(schema)[len(schema.name) :]}"
    positional = [a for a in schema.arguments if not a.kwarg_only]
    if len(args) > len(positional):
        raise RuntimeError(
            f"{qualname}() expected at most {len(positional)} argument(s) but received "
            f"{len(args)} argument(s). {decl}"
        )
    known = {a.name for a in schema.arguments}
    for key in kwargs:
        if key not in known:
            raise RuntimeError(f"{qualname}() got an unexpected keyword argument '{key}'. {decl}")
    values = []
    for i, arg in enumerate(schema.arguments):
        if i < len(args) and not arg.kwarg_only:
            if arg.name in kwargs:
                raise RuntimeError(
                    f"{qualname}() got multiple values for argument '{arg.name}'. {decl}"
                )
            value = args[i]
        elif arg.name in kwargs:
            value = kwargs[arg.name]
        elif arg.has_default:
            value = arg.default
        else:
            raise RuntimeError(f"{qualname}() is missing value for argument '{arg.name}'. {decl}")
        if not _matches(value, arg):
            raise RuntimeError(
                f"{qualname}() Expected a value of type '{_type_name(arg)}' for argument "
                f"'{arg.name}' but instead found type '{type(value).__name__}'.\n"
                f"Position: {i}\nValue: {value!r}\n{decl}"
            )
        values.append(value)
    return values


def tensors_of(value: Any) -> list[Tensor]:
    """The tensors in an argument or return value (a tensor, or a list of them)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Tensor)]
    return []


def _check_return(value: Any, ret: Argument) -> None:
    if ret.base == "Tensor" and ret.is_list:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value)
    else:
        ok = _matches_base(value, ret.base)
    if not ok:
        raise RuntimeError(f"Unable to cast {value!r} to {ret.type_str()}")


def check_outputs(
    schema: FunctionSchema, opname: str, where: str, out: Any, inputs: list, check_alias: bool
) -> tuple:
    """A kernel's result as a tuple with one value per schema return, after checking its
    types and (``check_alias``) that no returned tensor is, or shares memory with, an input
    or another return (PyTorch's rule for custom ops: a return is fresh memory)."""
    returns = schema.returns
    if not returns:
        if out is not None:
            raise RuntimeError(
                f"{opname}: the op's schema returns nothing, but its kernel returned "
                f"{type(out).__name__}"
            )
        outs: tuple = ()
    elif len(returns) == 1:
        outs = (out,)
    else:
        if not isinstance(out, (tuple, list)):
            raise TypeError(
                f"Object of type '{type(out).__name__}' is not an instance of 'sequence'"
            )
        if len(out) != len(returns):
            raise RuntimeError(
                f"{opname}: expected the kernel to return {len(returns)} values, got {len(out)}"
            )
        outs = tuple(out)
    for value, ret in zip(outs, returns):
        _check_return(value, ret)
    if check_alias:
        seen = {id(memory_root(t._data)) for v in inputs for t in tensors_of(v)}
        for value in outs:
            for t in tensors_of(value):
                root = id(memory_root(t._data))
                if root in seen:
                    raise RuntimeError(
                        f"{opname} (with implementation in {where}): The output of this custom "
                        "operator (1) must not also be an input to this custom operator and (2) "
                        "may not alias any inputs to this custom operator or other returns. The "
                        "most common way to trigger this error is if we have y = custom_op(x) "
                        "and y and x are the same Tensor. Please instead return a clone of the "
                        "offending output tensor(s) (e.g. return x.clone()) or refactor the "
                        "custom operator to not return y."
                    )
                seen.add(root)
    return outs
