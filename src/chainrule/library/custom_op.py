"""``custom_op`` and ``CustomOpDef``: a Python function made an operator (PyTorch 2.4+'s API).

``@cr.library.custom_op("mylib::numpy_sin", mutates_args=())`` turns an annotated function
into an operator that checks its arguments against the schema inferred from the annotations,
refuses returns that alias an input, bumps the version of tensors it declares mutated, and
is reachable as ``cr.ops.mylib.numpy_sin``. ``register_autograd`` gives it a derivative,
``register_fake`` a shape function (used by :func:`opcheck`), ``register_kernel`` a
device-specific kernel; each is also a module-level function taking the op or its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .infer import check_mutates_args, infer_function_schema
from .operator import OpEntry, OpOverload, OpOverloadPacket
from .registry import lookup, namespace, register
from .schema import FunctionSchema, parse_schema, split_qualname

__all__ = [
    "CustomOpDef",
    "custom_op",
    "register_autograd",
    "register_fake",
    "register_kernel",
    "define_entry",
    "entry_of",
]

# torch's device types: "cpu" runs here; the others are known names chainrule cannot run.
_DEVICE_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, "
    "vulkan, mps, meta, hpu, mtia, privateuseone"
).split(", ")


def check_device_types(device_types: str | Sequence[str] | None, where: str) -> tuple | None:
    """``None`` (every device) or a tuple of device types, each of which must be ``"cpu"``:
    chainrule's custom operators run on NumPy arrays."""
    if device_types is None:
        return None
    types = (device_types,) if isinstance(device_types, str) else tuple(device_types)
    for dev in types:
        if dev not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
                f"string: {dev}"
            )
        if dev != "cpu":
            raise NotImplementedError(
                f"{where}: device type {dev!r} is not supported; chainrule runs custom operators "
                "on the CPU ('cpu', or None for every device)"
            )
    return types


class CustomOpDef:
    """A custom operator made by :func:`custom_op` (PyTorch's ``CustomOpDef``): call it like
    the function it wraps; attach its derivative, fake function and kernels with the
    ``register_*`` methods."""

    def __init__(self, entry: OpEntry) -> None:
        self._entry = entry
        self._namespace, self._name = entry.ns, entry.name
        self._qualname = entry.qualname
        self._init_fn = entry.func
        self.__doc__ = getattr(entry.func, "__doc__", None)

    @property
    def _schema(self) -> FunctionSchema:
        return self._entry.schema

    @property
    def _opoverload(self) -> OpOverload:
        return lookup(self._qualname).default

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self._entry.call(args, kwargs)

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    def register_kernel(
        self, device_types: str | Sequence[str] | None, fn: Callable | None = None, /
    ) -> Callable:
        """Use ``fn`` as the kernel for ``device_types`` (``"cpu"``, or None: every device
        without a kernel of its own); a decorator when ``fn`` is omitted."""
        types = check_device_types(device_types, f"{self._name}.register_kernel")

        def inner(func: Callable) -> Callable:
            for dev in types or (None,):
                self._entry.kernels[dev] = func
            return func

        return inner if fn is None else inner(fn)

    def register_fake(self, fn: Callable, /) -> Callable:
        """Register the fake function: given inputs of the real ones' shapes and dtypes, it
        returns empty tensors of the outputs' shapes and dtypes. chainrule has no fake
        tensors or tracing compiler; :func:`opcheck` calls it (on ``empty_like`` inputs) to
        check that the real kernel's outputs have the shapes and dtypes it promises."""
        self._entry.fake_fn = fn
        return fn

    def register_autograd(
        self, backward: Callable, /, *, setup_context: Callable | None = None
    ) -> None:
        """Give the operator a derivative: ``setup_context(ctx, inputs, output)`` runs after
        the forward (``inputs``: every argument, in schema order) and saves what
        ``backward(ctx, *grads)`` needs with ``ctx.save_for_backward``; ``backward`` returns
        one gradient per input (None for non-tensors). Written with differentiable tensor
        ops, the backward is itself differentiable (double backward)."""
        self._entry.backward_fn = backward
        self._entry.setup_context_fn = setup_context


def define_entry(
    qualname: str, schema: FunctionSchema, func: Callable | None, device_types: Any, check: bool
) -> OpEntry:
    """Make and register the operator ``qualname`` (replacing an earlier one of that name,
    as PyTorch's ``custom_op`` does)."""
    ns, name = split_qualname(qualname, "custom_op")
    schema.name = qualname  # printed as PyTorch prints an OpOverload's schema
    entry = OpEntry(ns, name, schema, func, device_types, check)
    register(entry.qualname, OpOverloadPacket(entry))
    return entry


def custom_op(
    name: str,
    fn: Callable | None = None,
    /,
    *,
    mutates_args: str | Iterable[str],
    device_types: str | Sequence[str] | None = None,
    schema: str | None = None,
    tags: Any = None,
) -> Any:
    """Make ``fn`` an operator ``"namespace::name"`` (PyTorch's ``torch.library.custom_op``);
    a decorator when ``fn`` is omitted.

    Args:
        name: ``"namespace::name"``; the op is also ``cr.ops.namespace.name``.
        fn: the implementation, every parameter and the return annotated (the schema is
            inferred from the annotations; see :func:`infer_schema`). It must return new
            tensors: a return that is, or shares memory with, an input raises.
        mutates_args: the names of the tensor arguments ``fn`` writes into (their version
            counters are bumped after each call), ``()`` for none, or ``"unknown"``.
        device_types: ``"cpu"`` or None (every device).
        schema: the schema written out (``"(Tensor x) -> Tensor"``) instead of inferred.
        tags: not supported (NotImplementedError unless None).

    >>> import chainrule as cr
    >>> @cr.library.custom_op("doc_example::scale", mutates_args=())
    ... def scale(x: cr.Tensor, factor: float) -> cr.Tensor:
    ...     return x * factor
    >>> cr.ops.doc_example.scale(cr.tensor([1.0, 2.0]), 3.0)
    tensor([3., 6.])
    """
    if tags is not None:
        raise NotImplementedError(f"custom_op: tags={tags!r} is not supported (use None)")
    mutates = check_mutates_args(mutates_args)

    def inner(func: Callable) -> CustomOpDef:
        split_qualname(name, "custom_op")
        types = check_device_types(device_types, "custom_op")
        if schema is None:
            parsed = infer_function_schema(func, mutates, "")
        else:
            parsed = parse_schema(schema, name="")
        return CustomOpDef(define_entry(name, parsed, func, types, True))

    return inner if fn is None else inner(fn)


def entry_of(op: Any, where: str) -> OpEntry:
    """The OpEntry behind a CustomOpDef, ``cr.ops.ns.name[.default]`` or ``"ns::name"``."""
    if isinstance(op, (CustomOpDef, OpOverload, OpOverloadPacket)):
        return op._entry
    if isinstance(op, str):
        ns, name = split_qualname(op, where)
        getattr(namespace(ns), name)  # AttributeError naming what is missing
        return lookup(op)._entry
    raise TypeError(
        f"{where}: expected a custom op (a CustomOpDef, cr.ops.<ns>.<name>[.default] or "
        f"'ns::name'), got {type(op).__name__}"
    )


def _check_lib(lib: Any, where: str) -> None:
    if lib is not None:
        raise NotImplementedError(
            f"{where}: lib= is not supported; registrations live as long as the process"
        )


def register_fake(
    op: Any,
    func: Callable | None = None,
    /,
    *,
    lib: Any = None,
    _stacklevel: int = 1,
    allow_override: bool = True,
) -> Any:
    """``op``'s fake function (see :meth:`CustomOpDef.register_fake`); a decorator when
    ``func`` is omitted."""
    _check_lib(lib, "register_fake")
    if isinstance(op, str) and lookup(op) is None:
        raise RuntimeError(f"operator {op} does not exist")
    entry = entry_of(op, "register_fake")
    if not allow_override and entry.fake_fn is not None:
        raise RuntimeError(f"register_fake: {entry.qualname} already has a fake function")

    def inner(fn: Callable) -> Callable:
        entry.fake_fn = fn
        return fn

    return inner if func is None else inner(func)


def register_autograd(
    op: Any, backward: Callable, /, *, setup_context: Callable | None = None, lib: Any = None
) -> None:
    """``op``'s derivative (see :meth:`CustomOpDef.register_autograd`)."""
    _check_lib(lib, "register_autograd")
    entry = entry_of(op, "register_autograd")
    entry.backward_fn = backward
    entry.setup_context_fn = setup_context


def register_kernel(
    op: Any,
    device_types: str | Sequence[str] | None,
    func: Callable | None = None,
    /,
    *,
    lib: Any = None,
) -> Any:
    """``op``'s kernel for ``device_types`` (see :meth:`CustomOpDef.register_kernel`)."""
    _check_lib(lib, "register_kernel")
    entry = entry_of(op, "register_kernel")
    types = check_device_types(device_types, "register_kernel")

    def inner(fn: Callable) -> Callable:
        for dev in types or (None,):
            entry.kernels[dev] = fn
        return fn

    return inner if func is None else inner(func)
