"""Build a :class:`~tests.fuzz_repr.cases.Case` in torch and chainrule, print it every way a
program does, and compare the texts character for character.

The ways (:func:`render`): ``repr``, ``str``, ``format(x, '')``, ``f"{x}"``, ``"%s"``,
``"%r"``, the tensor in a list, a tuple and a dict, ``x.tolist()``, its shape, dtype and
device; for a 0-d tensor also ``format`` with specs (``.3f``, ``e``, ``>12``, ...),
``"%.3f"``, ``"%d"`` and ``x.item()``; for others a spec, which must raise. A sparse tensor
(``to_sparse()``, ``to_sparse_csr()``) is compared by its printings only. The print options
and the default dtype are set identically in both before building and
restored after (:func:`printing`).
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

import chainrule as cr
from tests.fuzz_common.driver import drop_numbers

from .cases import Case

__all__ = ["SPECS_0D", "build", "check", "printing", "render", "signature", "simpler"]

SPECS_0D = (".3f", "e", ".2e", ">12", "+.1f", ".2%", "g", "d", "x", "^9")


@contextlib.contextmanager
def printing(case: Case) -> Iterator[None]:
    """Both libraries' print options and default dtype as ``case`` wants them, then the
    defaults again (``profile='default'``, ``sci_mode=None``, float32)."""
    try:
        for lib in (torch, cr):
            lib.set_default_dtype(getattr(lib, case.default_dtype))
            lib.set_printoptions(**case.options)
        yield
    finally:
        for lib in (torch, cr):
            lib.set_printoptions(profile="default", sci_mode=None)
            lib.set_default_dtype(lib.float32)


def _view(x: Any, view: tuple) -> Any:
    name, args = view[0], view[1:]
    if name == "none":
        return x
    if name == "flip":
        return x.flip(args[0])
    if name == "transpose":
        return x.transpose(-2, -1)
    if name == "permute":
        return x.permute(*args[0])
    if name == "step":
        return x[(slice(None),) * args[0] + (slice(None, None, 2),)]
    if name == "expand":
        return x.unsqueeze(0).expand(args[0], *x.shape)
    if name == "diagonal":
        return x.diagonal()
    if name == "select":
        return x.select(args[0], -1)
    if name == "real":
        return x.real
    if name == "conj":
        return x.conj()
    raise ValueError(f"unknown view {view}")


class _TorchMine(torch.Tensor):
    """A user's tensor subclass (prints its class name: ``Mine([1.])``)."""


class _CrMine(cr.Tensor):
    """chainrule's :class:`_TorchMine`."""


_TorchMine.__name__ = _CrMine.__name__ = "Mine"
_SUBCLASS = {"torch": _TorchMine, "chainrule": _CrMine}


def build(case: Case, lib: Any) -> Any:
    """The tensor of ``case`` in ``lib`` (``torch`` or ``chainrule``)."""
    x = lib.tensor(case.data, dtype=getattr(lib, case.dtype))
    if case.suffix == "grad_view":
        leaf = x.requires_grad_()
        return _view(leaf, case.view) if case.view != ("none",) else leaf.clone()
    y = _view(x, case.view)
    if case.suffix == "requires_grad":
        return y.detach().requires_grad_()
    if case.suffix == "grad_fn":
        return y.detach().requires_grad_() * 2
    if case.suffix == "parameter":
        return lib.nn.Parameter(y)
    if case.suffix == "parameter_nograd":
        return lib.nn.Parameter(y, requires_grad=False)
    if case.suffix == "subclass":
        return y.as_subclass(_SUBCLASS[lib.__name__])
    if case.suffix == "sparse_coo":
        return y.to_sparse()
    if case.suffix == "sparse_csr":
        return y.to_sparse_csr()
    if case.suffix == "buffer":
        return lib.nn.Buffer(y)
    if case.suffix == "dual":  # inside check's dual_level: the tangent, y reversed
        tangent = y.flip(tuple(range(y.dim()))) if y.dim() else -y
        return lib.autograd.forward_ad.make_dual(y, tangent.contiguous())
    return y


def _safe(fn: Any, *args: Any) -> str:
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - an error is an outcome to compare
        return f"!{type(e).__name__}: {e}"


def render(x: Any) -> dict[str, str]:
    """Every printing of ``x`` the fuzzer compares, by name (warnings silenced: ``"%.3f" %
    x`` of a tensor that requires grad warns in both)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _render(x)


def _render(x: Any) -> dict[str, str]:
    out = {
        "repr": _safe(repr, x),
        "str": _safe(str, x),
        "format": _safe(format, x, ""),
        "fstr": _safe(lambda v: f"{v}", x),
        "list": _safe(str, [x]),
        "tuple": _safe(repr, (x, 1)),
        "dict": _safe(str, {"w": x}),
        "%s": _safe(lambda v: "%s" % v, x),  # noqa: UP031 - %-printing is what is compared
        "%r": _safe(lambda v: "%r" % (v,), x),  # noqa: UP031
    }
    if x.layout != torch.strided and x.layout != cr.strided:  # sparse: printed, no values
        return out
    out |= {
        "shape": _safe(lambda v: f"{v.shape!r} {v.shape} {v.size()} {v.dtype!r} {v.dtype}", x),
        "device": _safe(lambda v: f"{v.device!r} {v.device} {v.requires_grad} {v.is_leaf}", x),
    }
    if x.dim() == 0:
        out["%.3f"] = _safe(lambda v: "%.3f" % v, x)  # noqa: UP031
        out["%d"] = _safe(lambda v: "%d" % v, x)  # noqa: UP031
        for spec in SPECS_0D:
            out[f"format{spec}"] = _safe(format, x, spec)
        out["item"] = _safe(lambda v: repr(v.item()), x)
    else:
        out["format.3f"] = _safe(format, x, ".3f")
    if x.numel() <= 300:
        out["tolist"] = _safe(lambda v: repr(v.tolist()), x)
    return out


# what a rendering is when it is only repr(x) put somewhere (then a difference in it is the
# repr's and is reported once, as the repr's)
_FROM_REPR = {
    "str": lambda r: r,
    "format": lambda r: r,
    "fstr": lambda r: r,
    "list": lambda r: f"[{r}]",
    "tuple": lambda r: f"({r}, 1)",
    "dict": lambda r: f"{{'w': {r}}}",
    "%s": lambda r: r,
    "%r": lambda r: r,
}


def _first_line_diff(a: str, b: str) -> tuple[int, str, str]:
    la, lb = a.split("\n"), b.split("\n")
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "<none>"
        y = lb[i] if i < len(lb) else "<none>"
        if x != y:
            return i, x, y
    return -1, "", ""


def _dual_level(lib: Any, dual: bool) -> Any:
    return lib.autograd.forward_ad.dual_level() if dual else contextlib.nullcontext()


def check(case: Case) -> list[str]:
    """The differences between torch's and chainrule's printing of ``case`` (a case torch
    cannot build is no case: empty)."""
    dual = case.suffix == "dual"
    with printing(case), _dual_level(torch, dual), _dual_level(cr, dual), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # to_sparse_csr's beta warning (both warn)
        try:
            t = build(case, torch)
        except Exception:  # noqa: BLE001 - torch refuses the case: nothing to compare
            return []
        try:
            c = build(case, cr)
        except Exception as e:  # noqa: BLE001
            return [f"build: chainrule raised {type(e).__name__}: {e}"]
        want, got = render(t), render(c)
    diffs = []
    for key, w in want.items():
        g = got.get(key, "<missing>")
        if w == g:
            continue
        if key in _FROM_REPR and want["repr"] != got["repr"]:
            if w == _FROM_REPR[key](want["repr"]) and g == _FROM_REPR[key](got["repr"]):
                continue
        line, wl, gl = _first_line_diff(w, g)
        diffs.append(f"{key}: line {line}: torch {wl!r} != cr {gl!r}\n  torch:\n{w}\n  cr:\n{g}")
    return diffs


def _norm(line: str) -> str:
    s = drop_numbers(line)
    s = re.sub(r"#(, +#)+", "#..", s)
    return s[:60]


def signature(case: Case, diffs: list[str]) -> str:
    """The group of a disagreement: the rendering, the dtype and the first differing lines
    with their numbers dropped."""
    head = diffs[0].split("\n")[0]
    m = re.match(r"(\S+): line (-?\d+): torch (.*) != cr (.*)$", head)
    if not m:
        return f"{case.dtype} {drop_numbers(head)[:120]}"
    key, _, wl, gl = m.groups()
    return f"{key} {case.dtype}: torch {_norm(wl)} | cr {_norm(gl)}"


def _smaller_data(data: np.ndarray) -> Iterator[np.ndarray]:
    for d, n in enumerate(data.shape):
        if n > 1:
            yield data.take(range(1), d)
            yield data.take(range((n + 1) // 2), d)
            if n > 2:
                yield data.take(range(n - 1), d)
    for d, n in enumerate(data.shape):
        if n >= 1:
            yield data.take(0, d)  # one dimension fewer
    if 0 < data.size <= 16 and data.dtype.kind in "fc":
        for k in range(data.size):
            for v in (0.0, 1.0):
                if data.flat[k] != v or np.isnan(data.flat[k]):
                    new = data.copy()
                    new.flat[k] = v
                    yield new


def simpler(case: Case) -> Iterator[Case]:
    """Cases one step simpler than ``case``: no suffix, no view, default dtype float32, an
    option fewer, a smaller or lower-dimensional array, an element set to 0 or 1."""
    rep = dict(
        dtype=case.dtype,
        data=case.data,
        options=case.options,
        default_dtype=case.default_dtype,
        view=case.view,
        suffix=case.suffix,
    )
    if case.suffix != "none":
        yield Case(**{**rep, "suffix": "none"})
    if case.view != ("none",):
        yield Case(**{**rep, "view": ("none",)})
    if case.default_dtype != "float32":
        yield Case(**{**rep, "default_dtype": "float32"})
    for k in case.options:
        yield Case(**{**rep, "options": {n: v for n, v in case.options.items() if n != k}})
    for data in _smaller_data(case.data):
        yield Case(**{**rep, "data": data})
