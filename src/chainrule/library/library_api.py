"""``Library``: PyTorch's older operator-registration API (``define`` a schema, ``impl`` kernels).

``lib = Library("mylib", "DEF")`` owns the namespace ``mylib`` (``"FRAGMENT"`` adds to a
namespace, ``"IMPL"`` only registers kernels); ``lib.define("op(Tensor x, int n=2) ->
Tensor")`` declares ``cr.ops.mylib.op`` from a schema string and ``lib.impl("op", fn,
dispatch_key)`` gives it a kernel. The dispatch keys that mean something without PyTorch's
dispatcher:

- ``"CompositeImplicitAutograd"`` (the default): ``fn`` is written with differentiable ops and
  runs as it is; autograd records its ops.
- ``"CPU"`` / ``"CompositeExplicitAutograd"``: the kernel. With a formula from
  ``register_autograd`` the op is differentiated by it; without one the kernel's own ops are
  recorded and reaching them in backward warns, as PyTorch's deprecated fallback does.
- ``"Autograd"`` / ``"AutogradCPU"``: ``fn`` handles autograd itself (typically calling a
  ``cr.autograd.Function``).
- ``"Meta"``: the fake function (see ``register_fake``).

Other devices' keys raise NotImplementedError. Registrations last as long as the process
(PyTorch removes a ``Library``'s registrations when the object is deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .custom_op import define_entry, entry_of
from .registry import lookup
from .schema import parse_schema, split_qualname

__all__ = ["Library", "define", "impl"]

_KINDS = ("DEF", "IMPL", "FRAGMENT")
_DEF_NAMESPACES: set[str] = set()  # namespaces a "DEF" Library owns
_OTHER_DEVICE_KEYS = frozenset(
    {"CUDA", "HIP", "XLA", "MPS", "XPU", "IPU", "HPU", "Lazy", "PrivateUse1", "MTIA", "MAIA"}
)


class Library:
    """A set of operator registrations in namespace ``ns`` (PyTorch's ``torch.library.Library``).

    Args:
        ns: the namespace (``cr.ops.<ns>``).
        kind: ``"DEF"`` (owns the namespace: one per namespace), ``"FRAGMENT"`` (defines more
            ops in it) or ``"IMPL"`` (only kernels).
        dispatch_key: the default key of :meth:`impl`.
    """

    def __init__(self, ns: str, kind: str, dispatch_key: str = "") -> None:
        if kind not in _KINDS:
            raise ValueError(f"Unsupported kind: {kind}")
        if kind == "DEF":
            if ns in _DEF_NAMESPACES:
                raise RuntimeError(
                    f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; "
                    "please put all of your definitions in a single TORCH_LIBRARY block. If you "
                    "were trying to specify implementations, consider using TORCH_LIBRARY_IMPL "
                    "(which can be duplicated). If you really intended to define operators for "
                    "a single namespace in a distributed way, you can use "
                    "TORCH_LIBRARY_FRAGMENT to explicitly indicate this."
                )
            _DEF_NAMESPACES.add(ns)
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema: str, alias_analysis: str = "", *, tags: Any = ()) -> str:
        """Declare an operator from its schema (``"op(Tensor x) -> Tensor"``, the name
        optionally qualified by this library's namespace); returns the name as given."""
        if alias_analysis not in ("", "FROM_SCHEMA", "CONSERVATIVE"):
            raise RuntimeError(f"Invalid alias_analysis type {alias_analysis}")
        if tags:
            raise NotImplementedError(f"Library.define: tags={tags!r} are not supported")
        head = schema.split("(", 1)[0].strip()
        if self.kind == "IMPL":
            raise RuntimeError(
                f'def("{head}"): Cannot define an operator inside of a TORCH_LIBRARY_IMPL block. '
                "All def()s should be placed in the (unique) TORCH_LIBRARY block for their "
                "namespace."
            )
        ns, sep, name = head.rpartition("::")
        if sep and ns != self.ns:
            raise RuntimeError(
                f"Explicitly provided namespace ({ns}) in schema string does not match namespace "
                f"of enclosing TORCH_LIBRARY block ({self.ns})."
            )
        parsed = parse_schema(schema[schema.index(name) :] if sep else schema)
        if parsed.overload_name:
            raise NotImplementedError(
                f"Library.define: overload names ({head!r}) are not supported; chainrule's "
                "operators have only the 'default' overload"
            )
        qualname = f"{self.ns}::{parsed.name}"
        if lookup(qualname) is not None:
            raise RuntimeError(
                f"Tried to register an operator ({qualname}{str(parsed)[len(parsed.name) :]}) "
                "with the same name and overload name multiple times. Each overload's schema "
                "should only be registered with a single call to def()."
            )
        define_entry(qualname, parsed, None, None, False)
        return head

    def impl(
        self,
        op_name: Any,
        fn: Callable,
        dispatch_key: str = "",
        *,
        with_keyset: bool = False,
        allow_override: bool = True,
    ) -> None:
        """Register ``fn`` for ``op_name`` (a name in this namespace, ``"ns::name"``, or an
        op object) under ``dispatch_key`` (see the module docstring)."""
        if with_keyset:
            raise NotImplementedError("Library.impl: with_keyset=True is not supported")
        if isinstance(op_name, str) and "::" not in op_name:
            op_name = f"{self.ns}::{op_name}"
        if isinstance(op_name, str) and lookup(op_name) is None:
            raise RuntimeError(
                f"Library.impl: operator {op_name} is not defined; define it first with "
                "Library.define (or custom_op)"
            )
        entry = entry_of(op_name, "Library.impl")
        key = dispatch_key or self.dispatch_key or "CompositeImplicitAutograd"
        if key == "CompositeImplicitAutograd":
            entry.composite_fn = fn
        elif key in ("CPU", "CompositeExplicitAutograd"):
            entry.kernels["cpu" if key == "CPU" else None] = fn
        elif key in ("Autograd", "AutogradCPU"):
            entry.autograd_kernel = fn
        elif key == "Meta":
            entry.fake_fn = fn
        elif key in _OTHER_DEVICE_KEYS or key.removeprefix("Autograd") in _OTHER_DEVICE_KEYS:
            raise NotImplementedError(
                f"Library.impl: dispatch key {key!r} is not supported; chainrule runs operators "
                "on the CPU (use 'CPU', 'CompositeImplicitAutograd', "
                "'CompositeExplicitAutograd', 'Autograd' or 'Meta')"
            )
        else:
            raise RuntimeError(f"could not parse dispatch key: {key}")


def _no_lib(lib: Any, where: str) -> None:
    if lib is not None:
        raise NotImplementedError(
            f"{where}: lib= is not supported; registrations live as long as the process"
        )


def define(qualname: str, schema: str, *, lib: Any = None, tags: Any = ()) -> None:
    """Declare the operator ``"ns::name"`` with ``schema`` written without its name
    (``"(Tensor x) -> Tensor"``), as PyTorch's ``torch.library.define``; give it kernels
    with :func:`impl` or ``register_kernel``."""
    _no_lib(lib, "define")
    ns, name = split_qualname(qualname, "define")
    Library(ns, "FRAGMENT").define(f"{name}{schema.strip()}", tags=tags)


# torch.library.impl's device types and their dispatch keys
_DEVICE_KEYS = {"cpu": "CPU", "default": "CompositeExplicitAutograd"}


def impl(
    qualname: str, types: str | Sequence[str], func: Callable | None = None, *, lib: Any = None
) -> Any:
    """Register ``func`` as the kernel of ``"ns::name"`` for ``types`` (PyTorch's
    ``torch.library.impl``): device types (``"cpu"``; ``"default"`` for every device) or
    dispatch keys (see :class:`Library`); a decorator when ``func`` is omitted."""
    _no_lib(lib, "impl")
    ns, _ = split_qualname(qualname, "impl")
    keys = [types] if isinstance(types, str) else list(types)
    for key in keys:
        if key.lower() == key and key not in _DEVICE_KEYS:
            raise NotImplementedError(
                f"impl: device type {key!r} is not supported; chainrule runs custom operators "
                "on the CPU ('cpu', or 'default' for every device)"
            )

    def register(fn: Callable) -> Callable:
        for key in keys:
            Library(ns, "IMPL").impl(qualname, fn, _DEVICE_KEYS.get(key, key))
        return fn

    return register if func is None else register(func)
