"""The registry of user-defined operators, and ``cr.ops.<namespace>.<name>``.

Every operator defined through :func:`custom_op` or ``Library.define`` is kept here under its
qualified name ``"ns::name"``. PyTorch exposes such an operator as ``torch.ops.ns.name`` (an
``OpOverloadPacket``) and ``torch.ops.ns.name.default`` (an ``OpOverload``); chainrule's
``cr.ops`` resolves a registered namespace the same way (``ops/__init__.py``'s module
``__getattr__`` asks :func:`namespace`), so code that calls ``torch.ops.ns.name(...)`` ports.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OpNamespace", "register", "lookup", "namespace", "has_namespace"]

# "ns::name" -> OpOverloadPacket (see operator.py); insertion order kept for listing.
_OPS: dict[str, Any] = {}


def register(qualname: str, packet: Any) -> None:
    """Add (or replace: PyTorch lets ``custom_op`` redefine a name) an operator."""
    _OPS[qualname] = packet


def lookup(qualname: str) -> Any | None:
    """The OpOverloadPacket registered under ``"ns::name"``, or None."""
    return _OPS.get(qualname)


def has_namespace(ns: str) -> bool:
    prefix = f"{ns}::"
    return any(q.startswith(prefix) for q in _OPS)


class OpNamespace:
    """``cr.ops.<ns>``: its registered operators as attributes (PyTorch's ``_OpNamespace``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, op: str) -> Any:
        if op.startswith("__"):
            raise AttributeError(op)
        packet = _OPS.get(f"{self.name}::{op}")
        if packet is None:
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute '{op}'")
        return packet

    def __dir__(self) -> list[str]:
        prefix = f"{self.name}::"
        return sorted(q[len(prefix) :] for q in _OPS if q.startswith(prefix))

    def __repr__(self) -> str:
        return f"<module 'chainrule.ops.{self.name}' from 'chainrule.ops'>"


def namespace(ns: str) -> OpNamespace:
    """``cr.ops.<ns>`` for a namespace with registered operators; AttributeError otherwise."""
    if not has_namespace(ns):
        raise AttributeError(f"module 'chainrule.ops' has no attribute {ns!r}")
    return OpNamespace(ns)
