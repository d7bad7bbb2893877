"""Random compositions of ``torch.func`` transforms over small random functions, run the same
way on torch and on chainrule (``cr.func``) and compared.

A :class:`Program` is plain data (a failure prints as a program to paste into
``test_found_cases.py``): the logical shape ``s`` of the two arguments ``x`` and ``y``, the
dtype, the body (steps of :mod:`.bodies`), whether the body ends in a tensor, a scalar, a
pair ``(h, sum(h y))`` or a dict ``{"b": cos h, "a": (3 h, y h)}``,
whether it also returns an auxiliary value, and the transform layers, outermost first:

``("vmap", in_dims, out_dims, chunk_size, randomness, B)`` (``in_dims``: an int, ``None``, a
pair, or ``("dict", dx, dy)``: the arguments passed as one dict ``{"x": x, "y": y}`` with
in_dims ``({"x": dx, "y": dy},)``; negative dims allowed; ``B`` the batch size),
``("grad", argnums, has_aux)``, ``("gv", argnums, has_aux)`` (``grad_and_value``),
``("vjp", has_aux)`` (the result, then the pullback of the result's cosine), ``("jvp",
has_aux)`` (tangents ``0.5`` and ``sin(y)``), ``("jacrev", argnums, has_aux, chunk_size)``,
``("jacfwd", argnums, has_aux)``, ``("hessian", argnums)`` and ``("linearize",)``
(outermost only; torch's reference is its ``jvp``, see :func:`_wrap`). Layers that need a
scalar (``grad``, ``gv``, ``hessian``) see the sum of the sines of their inner function's
results; a body step ``("rand", 0)`` draws under vmap's randomness (first in the body).
``has_aux`` is drawn on the innermost layer only (the body then also returns ``2 h``).

:func:`draw` makes a program from a seeded generator, :func:`observe` runs it with one
library and returns its results (flattened, as NumPy) or the error, :func:`check` runs both
and lists the differences.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

from .bodies import apply_step, constants, draw_body, steer

__all__ = ["Program", "check", "draw", "observe"]

LAYERS = ("vmap", "grad", "gv", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize")
WEIGHTS = (6, 3, 2, 2, 2, 2, 2, 1, 1)
AUX_OK = ("grad", "gv", "vjp", "jvp", "jacrev", "jacfwd")
SCALAR = ("grad", "gv", "hessian")


@dataclass(frozen=True)
class Program:
    s: tuple
    body: tuple
    layers: tuple
    dtype: str = "float64"
    out: str = "tensor"
    aux: bool = False
    seed: int = 0


def _leaves(tree: Any) -> list:
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _leaves(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k])]
    return [tree]


def _map(fn: Any, tree: Any) -> Any:
    if isinstance(tree, (tuple, list)):
        return type(tree)(_map(fn, t) for t in tree)
    if isinstance(tree, dict):
        return {k: _map(fn, v) for k, v in tree.items()}
    return fn(tree)


def _scalar(out: Any) -> Any:
    """The sum of the sines of every tensor in ``out`` (a 0-d tensor)."""
    total = None
    for leaf in _leaves(out):
        v = leaf.sin().sum()
        total = v if total is None else total + v
    return total


def _scalarized(g: Any, has_aux: bool) -> Any:
    if has_aux:

        def sg(*a: Any) -> Any:
            o, aux = g(*a)
            return _scalar(o), aux

        return sg
    return lambda *a: _scalar(g(*a))


def _wrap(lib: Any, layer: tuple, g: Any) -> Any:
    """``g`` under one transform layer."""
    func = lib.func
    kind = layer[0]
    if kind == "vmap":
        _, in_dims, out_dims, chunk, rnd, _b = layer
        if isinstance(in_dims, tuple) and in_dims[:1] == ("dict",):
            # the arguments as one dict, in_dims a dict of the same keys
            mapped_dict = _wrap(lib, ("vmap", ({"x": in_dims[1], "y": in_dims[2]},)) + layer[2:],
                                lambda d: g(d["x"], d["y"]))  # fmt: skip
            return lambda x, y: mapped_dict({"x": x, "y": y})
        if lib is torch and out_dims != 0:
            # torch 2.13 expands an output that is not batched to the batch wrongly when
            # out_dims is not 0 (vmap(lambda x, y: x, in_dims=(None, 1), out_dims=1) gives
            # x broadcast as if out_dims were 0; out_dims=-1 asks for 2**35 + 1 elements):
            # the reference maps to dim 0 and moves the batch dim, which out_dims means
            mapped = func.vmap(g, in_dims=in_dims, out_dims=0, chunk_size=chunk, randomness=rnd)
            return lambda *a: _map(lambda o: torch.movedim(o, 0, out_dims), mapped(*a))
        return func.vmap(g, in_dims=in_dims, out_dims=out_dims, chunk_size=chunk, randomness=rnd)
    if kind == "grad":
        return func.grad(_scalarized(g, layer[2]), argnums=layer[1], has_aux=layer[2])
    if kind == "gv":
        return func.grad_and_value(_scalarized(g, layer[2]), argnums=layer[1], has_aux=layer[2])
    argnums = layer[1] if len(layer) > 1 else None
    if lib is torch and kind in ("jacfwd", "hessian"):
        # torch 2.13's jacfwd gives zeros for a negative argnums (jacfwd(lambda x, y:
        # x.sin() * y, argnums=-1) is 0, with argnums=1 diag(sin x)); hessian is
        # jacfwd(jacrev): the reference takes the same argument by its non-negative number
        argnums = argnums % 2 if isinstance(argnums, int) else tuple(a % 2 for a in argnums)
    if kind == "hessian":
        return func.hessian(_scalarized(g, False), argnums=argnums)
    if kind == "jacrev":
        return func.jacrev(g, argnums=argnums, has_aux=layer[2], chunk_size=layer[3])
    if kind == "jacfwd":
        return func.jacfwd(g, argnums=argnums, has_aux=layer[2])
    if kind == "vjp":

        def vjp_layer(x: Any, y: Any) -> Any:
            res = func.vjp(g, x, y, has_aux=layer[1])
            ct = _map(lambda o: o.detach().cos(), res[0])
            return (res[0], res[1](ct)) + tuple(res[2:])

        return vjp_layer
    if kind == "jvp":

        def jvp_layer(x: Any, y: Any) -> Any:
            tangents = (lib.ones_like(x) * 0.5, y.detach().sin())
            return func.jvp(g, (x, y), tangents, has_aux=layer[1])

        return jvp_layer
    if kind == "linearize":

        def linearize_layer(x: Any, y: Any) -> Any:
            tangents = (lib.ones_like(x) * 0.5, y.detach().sin())
            if lib is torch:
                # the reference is torch's jvp (the same values): torch.func.linearize traces
                # f with make_fx, which gives zero tangents through a jacrev (linearize of
                # jacrev(lambda x, y: (x + y).log_softmax(-1)), where its jvp does not) and
                # refuses forward-mode transforms inside (jacfwd, jvp, hessian)
                return func.jvp(g, (x, y), tangents)
            out, fn = func.linearize(g, x, y)
            return out, fn(*tangents)

        return linearize_layer
    raise ValueError(f"unknown layer {kind!r}")


def _insert(shape: tuple, d: Any, b: int) -> tuple:
    if d is None:
        return shape
    p = d if d >= 0 else len(shape) + 1 + d
    if not 0 <= p <= len(shape):
        return shape  # an out-of-range in_dim: the transforms must raise
    return shape[:p] + (b,) + shape[p:]


def input_shapes(prog: Program) -> list:
    """The physical shapes of ``x`` and ``y``: ``s`` with each vmap's batch dim inserted."""
    shapes = [prog.s, prog.s]
    for layer in reversed(prog.layers):
        if layer[0] == "vmap":
            dims = layer[1] if isinstance(layer[1], tuple) else (layer[1], layer[1])
            dims = dims[1:] if dims[:1] == ("dict",) else dims
            shapes = [_insert(sh, d, layer[5]) for sh, d in zip(shapes, dims)]
    return shapes


def _build(lib: Any, prog: Program) -> Any:
    dt = getattr(lib, prog.dtype)
    consts = {k: lib.tensor(v) for k, v in constants(prog.seed, prog.s).items()}
    consts = {k: v.to(dt) if v.is_floating_point() else v for k, v in consts.items()}

    def body(x: Any, y: Any) -> Any:
        h = x
        for step in prog.body:
            h = apply_step(lib, consts, step, h, y)
        if prog.out == "scalar":
            out = (h * h).sum() + h.sum()
        elif prog.out == "pair":
            out = (h, (h * y).sum())
        elif prog.out == "dict":
            out = {"b": h.cos(), "a": (h * 3.0, y * h)}
        else:
            out = h
        return (out, h * 2.0) if prog.aux else out

    g = body
    for layer in reversed(prog.layers):
        g = _wrap(lib, layer, g)
    return g


def observe(prog: Program, lib: Any) -> Any:
    """Run ``prog`` with ``lib``: ``(structure, [arrays])`` or the exception raised."""
    rng = np.random.default_rng(prog.seed)
    args = [rng.normal(size=sh) for sh in input_shapes(prog)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = _build(lib, prog)
            lib.manual_seed(prog.seed)
            xs = [lib.tensor(a, dtype=getattr(lib, prog.dtype)) for a in args]
            out = g(*xs)
        struct = _map(lambda t: (tuple(t.shape), str(t.dtype).split(".")[-1]), out)
        # (clone: torch's jacobians may be ZeroTensors, which have no storage to read)
        arrays = [np.array(t.detach().clone().tolist(), dtype=np.float64) for t in _leaves(out)]
        return struct, arrays
    except Exception as exc:  # noqa: BLE001 - raising is part of what is compared
        return exc


def _desc(r: Any) -> str:
    """A short description of a result: the error's type and message, or ``ok``."""
    if isinstance(r, Exception):
        return f"{type(r).__name__}: {str(r)[:200]}"
    return "ok"


def same_error(t: Exception, c: Exception) -> list:
    """A difference where chainrule's error is not of torch's error's type (a subclass of
    it is fine: chainrule's ShapeError is a RuntimeError)."""
    if isinstance(c, type(t)):
        return []
    return [f"error type: torch {_desc(t)} | chainrule {_desc(c)}"]


# torch's errors on inputs with no elements where chainrule answers (empty Jacobians): jacrev
# with a chunk_size asserts on a zero-element output, jacfwd (and hessian, jacfwd of
# jacrev) reads the output and aux from the first column of a vmap over zero basis columns;
# its jvp of hessian of jacrev on an empty input fails an internal assert ("please report a
# bug to PyTorch", !this_view_meta->has_fw_view()); an rfft over a dim of zero elements
# under vmap of vjp fails inside oneMKL ("Inconsistent configuration parameters", seed 3620)
# where chainrule raises its own out_dim error; jacfwd of jacrev of cummax on an empty
# input has no batching rule for cummaxmin_backward over a dim of size 0 (seed 3623)
EMPTY_LIMITS = re.compile(
    r"expected t.size\(0\) to be|out of bounds for dimension 0 with size 0|"
    r"index 0 out of range for tensor of size \[[\d, ]*\]|INTERNAL ASSERT FAILED|"
    r"MKL FFT error|does not support vmap over dims of size 0"
)


def scale(a: np.ndarray) -> float:
    """1 plus the largest magnitude in ``a`` (the scale of float32 rounding in a result)."""
    finite = np.abs(a[np.isfinite(a)])
    return 1.0 + (float(finite.max()) if finite.size else 0.0)


def check(prog: Program) -> list:
    """The differences between torch's and chainrule's results of ``prog``."""
    t, c = observe(prog, torch), observe(prog, cr)
    if isinstance(t, Exception) or isinstance(c, Exception):
        if 0 in prog.s and isinstance(t, Exception) and EMPTY_LIMITS.search(str(t)):
            return []  # (whatever chainrule does: torch's error is an internal one)
        if isinstance(t, Exception) and isinstance(c, Exception):
            return same_error(t, c)
        return [f"torch {_desc(t)} | chainrule {_desc(c)}"]
    if t[0] != c[0]:
        return [f"structure: torch {t[0]} | chainrule {c[0]}"]
    return compare_values(prog, t[1], c[1], lambda: observe(_as_float64(prog), torch))


def _as_float64(prog: Any) -> Any:
    return dataclasses.replace(prog, dtype="float64")


def compare_values(prog: Any, t: list, c: list, reference: Any) -> list:
    """The value differences between torch's arrays ``t`` and chainrule's ``c`` (float64:
    1e-10; float32: 1e-5, widened by ``reference()``, torch's float64 run, see below)."""
    tol = 1e-10 if prog.dtype == "float64" else 1e-5
    diffs = []
    for i, (a, b) in enumerate(zip(t, c)):
        if not np.allclose(b, a, rtol=tol, atol=tol, equal_nan=True):
            err = np.nanmax(np.abs(a - b)) if a.size else 0.0
            diffs.append((i, f"value {i}: max abs diff {err:.3g}"))
    if diffs and prog.dtype == "float32":
        # float32 higher-order derivatives at small inputs cancel (x sin x's third
        # derivative at x = 0.004 is off by 0.5% in torch too), a LayerNorm of two features
        # amplifies rounding (chainrule's float32 layer_norm is the closer one to float64
        # on 1000 rows of two close features, 1.7e-5 against torch's 3.6e-5, but on one
        # row either may be): chainrule's float32 results may be off torch's by 4 times
        # torch's own float32 error, and by float32 rounding of the result's largest entry
        # (a sin of 155 in a third derivative moves the small entries by 1e-5 of it)
        ref = reference()
        if not isinstance(ref, Exception):
            slack = [4 * np.abs(a - r) for a, r in zip(t, ref[1])]
            diffs = [
                (i, d)
                for i, d in diffs
                if not np.all(np.abs(c[i] - t[i]) <= tol * scale(t[i]) + slack[i])
            ]
    return [d for _, d in diffs]


def _argnums(rng: np.random.Generator) -> Any:
    return [0, 1, (0, 1), (1,), (1, 0), -1, (-2,)][int(rng.integers(0, 7))]


def _layer(rng: np.random.Generator, kind: str, innermost: bool) -> tuple:
    aux = bool(innermost and kind in AUX_OK and rng.random() < 0.3)
    if kind == "vmap":
        opts = [0, 1, -1, None, -2]
        in_dims: Any = (opts[int(rng.integers(0, 5))], opts[int(rng.integers(0, 5))])
        if in_dims == (None, None) or rng.random() < 0.2:
            in_dims = int(rng.choice([0, -1]))
        elif rng.random() < 0.2:
            in_dims = ("dict", *in_dims)
        out_dims = [0, 0, 1, -1][int(rng.integers(0, 4))]
        chunk = [None, None, 1, 2][int(rng.integers(0, 4))]
        rnd = ["error", "same", "different"][int(rng.integers(0, 3))]
        return ("vmap", in_dims, out_dims, chunk, rnd, int(rng.integers(1, 4)))
    if kind in ("grad", "gv"):
        return (kind, _argnums(rng), aux)
    if kind in ("vjp", "jvp"):
        return (kind, aux)
    if kind == "jacrev":
        return (kind, _argnums(rng), aux, [None, None, 1, 2][int(rng.integers(0, 4))])
    if kind == "jacfwd":
        return (kind, _argnums(rng), aux)
    if kind == "hessian":
        return (kind, _argnums(rng))
    return ("linearize",)


def _batch_first(layers: tuple) -> bool:
    """Whether there is a vmap layer and every vmap maps dim 0 (or nothing) of its inputs."""
    dims = [la[1] if isinstance(la[1], tuple) else (la[1],) for la in layers if la[0] == "vmap"]
    return bool(dims) and all(d in (0, None, "dict") for ds in dims for d in ds)


def draw(rng: np.random.Generator, kinds: tuple = LAYERS) -> Program:
    """A random program whose layers are drawn from ``kinds``."""
    u = rng.random()
    s = (int(rng.integers(1, 4)),) if u < 0.45 else tuple(rng.integers(1, 4, size=2))
    s = tuple(int(v) for v in s) if u < 0.9 else [(), (0,), (2, 0)][int(rng.integers(0, 3))]
    depth = int(rng.choice([1, 2, 2, 3]))
    p = np.array([w for k, w in zip(LAYERS, WEIGHTS) if k in kinds], dtype=float)
    names = [k for k in LAYERS if k in kinds]
    kinds_drawn = [str(rng.choice(names, p=p / p.sum())) for _ in range(depth)]
    kinds_drawn = [k for i, k in enumerate(kinds_drawn) if k != "linearize" or i == 0] or ["vmap"]
    if sum(k in ("hessian", "jacfwd", "jacrev") for k in kinds_drawn) > 2:
        kinds_drawn = kinds_drawn[:2]
    layers = tuple(_layer(rng, k, i == len(kinds_drawn) - 1) for i, k in enumerate(kinds_drawn))
    inner = layers[-1]
    aux = inner[0] in AUX_OK and inner[2 if inner[0] in ("grad", "gv", "jacrev", "jacfwd") else 1]
    body = steer(draw_body(rng, s, int(rng.integers(1, 5))), layers)
    # (dropout of an empty tensor draws nothing in torch, which then does not raise)
    error_mode = any(la[0] == "vmap" and la[4] == "error" for la in layers)
    if error_mode and 0 not in s and rng.random() < 0.15:
        k = int(rng.integers(0, len(body) + 1))
        body = body[:k] + (("dropout", 0),) + body[k:]
    elif rng.random() < 0.1 and _batch_first(layers) and layers[0][0] != "linearize" and 0 not in s:
        # a draw under vmap(randomness='same'/'different') (chainrule's generator gives
        # torch's numbers; a jacfwd or hessian around refuses the draw in both). First and
        # with every batch dim first: torch's rand_like fills a strided (transposed) tensor
        # in memory order, chainrule's in logical order (a known difference). Not under
        # linearize: its jvp_fn runs f again, drawing again (torch's too, after a draw of
        # its own while tracing). Not on empty inputs: a random op that draws nothing
        # raises in torch's jacfwd (randomness='error'), chainrule's sees no draw
        body = (("rand", 0),) + body
    return Program(
        s=s,
        body=body,
        layers=layers,
        # (float64 for 0-d inputs: torch.func.jvp gives a float64 tangent for a 0-d float32
        # tensor plus a Python float, jvp(lambda y: y + 0.125, (y,), (t,)), where its
        # forward_ad gives float32)
        dtype="float64" if rng.random() < 0.8 or s == () else "float32",
        out=["tensor", "tensor", "tensor", "scalar", "pair", "dict"][int(rng.integers(0, 6))],
        aux=bool(aux),
        seed=int(rng.integers(0, 2**16)),
    )
