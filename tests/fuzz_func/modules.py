"""Module programs of the ``torch.func`` fuzzer: ``functional_call`` on a small two-layer
module (optionally a third layer whose weight is tied to the second's, a buffer, a LayerNorm)
with random parameter dicts, and ``stack_module_state`` ensembles under ``vmap``.

A :class:`ModProgram` is plain data: ``kind`` (``call``, ``grad``, ``vmapx``, ``jacrev``,
``jacfwd``, ``ensemble``, ``ens_grad``), the sizes, ``tie``/``buf``/``norm`` (the module's
shape), ``variant``
(which dict reaches ``functional_call``: ``full``, ``partial`` (one name left out),
``extra`` (an unknown name), ``tuple`` (a ``(params, buffers)`` pair), ``tied_one`` (only the
tied copy's name), ``tied_both`` (both tied names, different values)), ``strict``,
``tie_weights``, the batch size, the models of an ensemble, the in_dim of its input, the
dtype and the seed. :func:`check` runs one on torch and chainrule and lists differences.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

from .programs import _as_float64, _desc, _leaves, _map, compare_values, same_error

__all__ = ["ModProgram", "check", "draw", "observe", "simpler"]

KINDS = ("call", "grad", "vmapx", "jacrev", "jacfwd", "ensemble", "ens_grad")
VARIANTS = ("full", "partial", "extra", "tuple", "tied_one", "tied_both")


@dataclass(frozen=True)
class ModProgram:
    kind: str
    n: int = 2
    k: int = 3
    tie: bool = False
    buf: bool = False
    norm: bool = False
    variant: str = "full"
    strict: bool = False
    tie_weights: bool = True
    batch: int = 2
    models: int = 2
    x_dim: Any = None
    dtype: str = "float64"
    seed: int = 0


def _model_class(lib: Any, prog: ModProgram) -> type:
    """The module class of ``prog`` in ``lib`` (one class for every model of an ensemble)."""
    nn = lib.nn

    class Small(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1 = nn.Linear(prog.n, prog.k)
            self.l2 = nn.Linear(prog.k, prog.n)
            if prog.tie:
                self.l3 = nn.Linear(prog.k, prog.n, bias=False)
                self.l3.weight = self.l2.weight
            if prog.buf:
                self.register_buffer("scale", lib.ones(prog.n))
            if prog.norm:
                self.ln = nn.LayerNorm(prog.k)

        def forward(self, x: Any) -> Any:
            h = lib.tanh(self.l1(x))
            if prog.norm:
                h = self.ln(h)
            out = self.l2(h)
            if prog.tie:
                out = out + 0.5 * self.l3(h)
            if prog.buf:
                out = out * self.scale
            return out

    return Small


def _model(lib: Any, prog: ModProgram, seed: int, cls: Any = None) -> Any:
    """A model of ``prog`` in ``lib`` whose parameters and buffers come from ``seed``."""
    m = (cls or _model_class(lib, prog))().to(getattr(lib, prog.dtype))
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for _, t in list(m.named_parameters()) + list(m.named_buffers()):
            t.copy_(lib.tensor(rng.normal(size=tuple(t.shape))))
    return m


def _dicts(lib: Any, prog: ModProgram, m: Any) -> Any:
    rng = np.random.default_rng(prog.seed + 1)
    dt = getattr(lib, prog.dtype)

    def fresh(t: Any) -> Any:
        return lib.tensor(rng.normal(size=tuple(t.shape)), dtype=dt)

    params = {name: fresh(p) for name, p in m.named_parameters()}
    bufs = {name: fresh(b) for name, b in m.named_buffers()}
    if prog.variant == "partial":
        params.pop(sorted(params)[0])
    elif prog.variant == "extra":
        params["l9.weight"] = lib.ones(2, dtype=dt)
    elif prog.variant == "tuple":
        return (params, bufs)
    elif prog.variant in ("tied_one", "tied_both") and prog.tie:
        params["l3.weight"] = fresh(m.l2.weight)
        if prog.variant == "tied_one":
            params.pop("l2.weight")
    return params


def _run(lib: Any, prog: ModProgram) -> Any:
    func = lib.func
    dt = getattr(lib, prog.dtype)
    m = _model(lib, prog, prog.seed)
    rng = np.random.default_rng(prog.seed + 2)
    opts = {"strict": prog.strict, "tie_weights": prog.tie_weights}
    if prog.kind in ("ensemble", "ens_grad"):
        cls = _model_class(lib, prog)
        models = [_model(lib, prog, prog.seed + i, cls) for i in range(prog.models)]
        params, bufs = func.stack_module_state(models)
        xs = (prog.models, prog.n) if prog.x_dim == 0 else (prog.n,)
        x = lib.tensor(rng.normal(size=xs), dtype=dt)
        flags = tuple(params[k].requires_grad for k in sorted(params))

        def fmodel(p: Any, b: Any, x: Any) -> Any:
            return func.functional_call(models[0], (p, b), (x,), **opts)

        def loss(p: Any, b: Any, x: Any) -> Any:
            return fmodel(p, b, x).sin().sum()

        per_model = func.grad(loss) if prog.kind == "ens_grad" else fmodel
        out = func.vmap(per_model, in_dims=(0, 0, prog.x_dim))(params, bufs, x)
        return flags, (params, bufs, out)
    pd = _dicts(lib, prog, m)
    x = lib.tensor(rng.normal(size=(prog.n,)), dtype=dt)
    if prog.kind == "call":
        return (), func.functional_call(m, pd, (x,), **opts)
    if prog.kind == "grad":

        def loss(p: Any, x: Any) -> Any:
            return func.functional_call(m, p, (x,), **opts).sin().sum()

        return (), func.grad(loss)(pd, x)
    if prog.kind in ("jacrev", "jacfwd"):
        jac = getattr(func, prog.kind)
        return (), jac(lambda p: func.functional_call(m, p, (x,), **opts))(pd)
    xb = lib.tensor(rng.normal(size=(prog.batch, prog.n)), dtype=dt)
    return (), func.vmap(lambda x: func.functional_call(m, pd, (x,), **opts))(xb)


def observe(prog: ModProgram, lib: Any) -> Any:
    """Run ``prog`` with ``lib``: ``(structure, [arrays])`` or the exception raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            extra, out = _run(lib, prog)
        struct = _map(lambda t: (tuple(t.shape), str(t.dtype).split(".")[-1]), out)
        arrays = [np.array(t.detach().clone().tolist(), dtype=np.float64) for t in _leaves(out)]
        return (extra, struct), arrays
    except Exception as exc:  # noqa: BLE001 - raising is part of what is compared
        return exc


def check(prog: ModProgram) -> list:
    """The differences between torch's and chainrule's results of ``prog``."""
    t, c = observe(prog, torch), observe(prog, cr)
    if isinstance(t, Exception) or isinstance(c, Exception):
        if isinstance(t, Exception) and isinstance(c, Exception):
            return same_error(t, c)
        return [f"torch {_desc(t)} | chainrule {_desc(c)}"]
    if t[0] != c[0]:
        return [f"structure: torch {t[0]} | chainrule {c[0]}"]
    return compare_values(prog, t[1], c[1], lambda: observe(_as_float64(prog), torch))


def draw(rng: np.random.Generator) -> ModProgram:
    """A random module program."""
    pick = lambda xs: xs[int(rng.integers(0, len(xs)))]  # noqa: E731
    return ModProgram(
        kind=pick(KINDS),
        n=int(rng.integers(1, 4)),
        k=int(rng.integers(1, 4)),
        tie=bool(rng.random() < 0.4),
        buf=bool(rng.random() < 0.4),
        norm=bool(rng.random() < 0.3),
        variant=pick(("full", "full") + VARIANTS),
        strict=bool(rng.random() < 0.4),
        tie_weights=bool(rng.random() < 0.7),
        batch=int(rng.integers(1, 4)),
        models=int(rng.integers(1, 4)),
        x_dim=pick((None, 0)),
        dtype="float64" if rng.random() < 0.8 else "float32",
        seed=int(rng.integers(0, 2**16)),
    )


def simpler(prog: ModProgram):
    """Programs one step simpler than ``prog``."""
    rep = dataclasses.replace
    for field, value in (("variant", "full"), ("strict", False), ("tie_weights", True),
                         ("tie", False), ("buf", False), ("norm", False), ("dtype", "float64"),
                         ("x_dim", None), ("models", 1), ("batch", 1), ("n", 1), ("k", 1),
                         ("seed", 0)):  # fmt: skip
        if getattr(prog, field) != value:
            yield rep(prog, **{field: value})
