"""The top-level forms of nn functions whose torch root signature differs from ``F``'s.

``torch.dropout(input, p, train)`` is not ``F.dropout(input, p, training, inplace)``; these
wrappers give chainrule's root the torch root forms, resolved lazily by ``chainrule.__getattr__``.
"""

from __future__ import annotations

__all__: list[str] = []
