"""``torch.torch_version``: a version string that compares as a version.

Real programs branch on ``torch.__version__``: ``padding = 1 if torch.__version__ >=
'1.5.0' else 2`` (Informer, the Time-Series-Library family), ``torch.__version__ < (2, 0)``,
``parse(torch.__version__) >= parse('1.10')``. PyTorch's ``__version__`` is a ``TorchVersion``,
a ``str`` whose comparisons with strings, tuples and other versions are version comparisons
(so ``'1.10' > '1.5'``, not the string order); this is the same, with PEP 440's ordering of
releases, pre-releases (``a``/``b``/``rc``), post- and dev-releases, written here so that it
needs no dependency. A local label (``+cpu``, ``+chainrule.0.1.0``) makes a version differ
from the same release without one, as in PEP 440 (``'2.13.0+cpu' != '2.13.0'``).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["TorchVersion", "Version", "__version__"]  # noqa: F822 - __version__: lazy

_PATTERN = re.compile(
    r"^\s*v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|alpha|b|beta|rc|c|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>\d*))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev>\d*))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$",
    re.IGNORECASE,
)
_PRE_PHASE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "rc": 2, "c": 2, "pre": 2, "preview": 2}
_INF = float("inf")


class Version:
    """A parsed PEP 440 version: ``Version('2.13.0+cpu').release == (2, 13, 0)``."""

    __slots__ = ("_key", "local", "release", "text")

    def __init__(self, text: str):
        m = _PATTERN.match(str(text))
        if m is None:
            raise ValueError(f"Invalid version: {text!r}")
        self.text = str(text)
        self.release = tuple(int(p) for p in m["release"].split("."))
        self.local = m["local"]
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:  # 1.10.0 == 1.10
            release.pop()
        dev = None if m["dev"] is None else int(m["dev"] or 0)
        if m["pre_l"] is not None:
            pre: tuple = (_PRE_PHASE[m["pre_l"].lower()], int(m["pre_n"] or 0))
        elif dev is not None and m["post"] is None:
            pre = (-1, 0)  # 1.0.dev0 sorts before 1.0a0
        else:
            pre = (_INF, 0)  # a final release sorts after its pre-releases
        post = -1 if m["post"] is None else int(m["post"] or 0)
        local = (
            ()
            if self.local is None
            else tuple(
                (1, int(p), "") if p.isdigit() else (0, 0, p.lower())
                for p in re.split(r"[-_.]", self.local)
            )
        )
        self._key = (tuple(release), pre, post, _INF if dev is None else dev, local)

    def __repr__(self) -> str:
        return f"<Version({self.text!r})>"

    def __str__(self) -> str:
        return self.text

    def __hash__(self) -> int:
        return hash(self._key)

    def _cmp(self, other: Any) -> tuple | None:
        other = _as_version(other)
        return None if other is None else (self._key, other._key)

    def __eq__(self, other: Any) -> bool:
        keys = self._cmp(other)
        return NotImplemented if keys is None else keys[0] == keys[1]

    def __lt__(self, other: Any) -> bool:
        keys = self._cmp(other)
        return NotImplemented if keys is None else keys[0] < keys[1]

    def __le__(self, other: Any) -> bool:
        keys = self._cmp(other)
        return NotImplemented if keys is None else keys[0] <= keys[1]

    def __gt__(self, other: Any) -> bool:
        keys = self._cmp(other)
        return NotImplemented if keys is None else keys[0] > keys[1]

    def __ge__(self, other: Any) -> bool:
        keys = self._cmp(other)
        return NotImplemented if keys is None else keys[0] >= keys[1]


def _as_version(other: Any) -> Version | None:
    """``other`` as a :class:`Version`: a version, a string, or a tuple/list of ints
    (``(2, 0)`` is ``'2.0'``, as PyTorch reads it); None for anything else."""
    if isinstance(other, Version):
        return other
    if isinstance(other, (tuple, list)):
        return Version(".".join(str(int(p)) for p in other))
    if isinstance(other, str):
        return Version(other)
    return None


class TorchVersion(str):
    """A ``str`` (prints, splits and formats as one) whose comparisons are version
    comparisons with strings, tuples of ints and :class:`Version` objects, as PyTorch's
    ``torch.torch_version.TorchVersion``. As there, ``!=`` stays ``str``'s (PyTorch's class
    defines no ``__ne__``): ``'1.5.0' == '1.5'`` and ``'1.5.0' != '1.5'`` are both true."""

    def _key(self, other: Any) -> tuple:
        theirs = _as_version(other)
        if theirs is None:
            raise TypeError(
                f"'{type(other).__name__}' cannot be compared with a version; compare with a "
                "string ('1.10'), a tuple of ints ((1, 10)) or a Version"
            )
        return Version(str(self))._key, theirs._key

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, (str, tuple, list, Version)):
            return NotImplemented
        try:
            mine, theirs = self._key(other)
        except ValueError:  # not a version: the string comparison
            return str.__eq__(self, other) if isinstance(other, str) else False
        return mine == theirs

    def __hash__(self) -> int:
        return str.__hash__(self)

    def __lt__(self, other: Any) -> bool:
        mine, theirs = self._key(other)
        return mine < theirs

    def __le__(self, other: Any) -> bool:
        mine, theirs = self._key(other)
        return mine <= theirs

    def __gt__(self, other: Any) -> bool:
        mine, theirs = self._key(other)
        return mine > theirs

    def __ge__(self, other: Any) -> bool:
        mine, theirs = self._key(other)
        return mine >= theirs


def __getattr__(name: str) -> Any:
    if name == "__version__":  # torch.torch_version.__version__
        from .version import __version__  # noqa: PLC0415 - version.py imports this module

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
