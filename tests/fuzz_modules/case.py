"""One fuzzed module construction (:class:`Case`), run with one library and compared.

Constructor values are plain data; ``("T", values)`` is a float64 tensor of ``values`` (a
loss's ``weight``/``pos_weight``), made in the library that runs the case.

Input specs (each one positional forward argument, drawn from ``numpy`` with the case's
seed so both libraries see the same values):

``("f", shape)`` standard normal, requires grad; ``("c", shape)`` the same, no grad;
``("p", shape, rg)`` uniform in (0.05, 0.95); ``("pos", shape, rg)`` uniform in (0.2, 2);
``("sign", shape)`` +-1 floats; ``("k", shape, value)`` a constant, requiring grad;
``("logp", shape)`` log-probabilities over the last dim, requiring grad;
``("i", shape, low, high)`` int64 in [low, high);
``("ints", values)`` an int64 tensor of ``values``; ``("none",)`` ``None``;
``("mll", shape)`` a MultiLabelMarginLoss target (labels then -1 padding);
``("tuple", specs)`` a tuple of inputs (an LSTM's ``(h0, c0)``); ``("unpool", shape, k,
stride)`` MaxUnpool indices; ``("bmask", shape, p)`` / ``("fmask", shape, p)`` an attention
mask (bool, or float with -inf); ``("cmask", n, "bool" | "float")`` the causal mask;
``("val", v)`` the plain value ``v`` (a flag); ``("packed", shape, lengths, batch_first,
enforce_sorted)`` a PackedSequence (:func:`_packed`). Constructor values ``("layer", d, heads,
batch_first, norm_first)`` and ``("norm", d)`` are a TransformerEncoderLayer and a LayerNorm.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Case", "observe", "compare", "RANDOM_IN_TRAIN"]

# modules whose train-mode output is random (only shapes and dtypes are compared there)
RANDOM_IN_TRAIN = (
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "RReLU",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    """A module class name, its constructor arguments, the forward's inputs and the mode."""

    name: str
    args: tuple = ()
    kwargs: tuple = ()
    inputs: tuple = ()
    train: bool = True
    seed: int = 0
    life: bool = False  # the life-cycle check of lifecycle.py instead of one forward
    utils: bool = False  # the nn.utils check of utils_s38.py instead of one forward


def _value(lib: Any, v: Any) -> Any:
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "T":
        return lib.tensor(np.asarray(v[1], dtype=np.float64))
    if isinstance(v, tuple) and v[:1] == ("layer",):  # (d_model, nhead, batch_first, norm_first)
        return lib.nn.TransformerEncoderLayer(
            v[1], v[2], dim_feedforward=4, dropout=0.0, batch_first=v[3], norm_first=v[4]
        )
    if isinstance(v, tuple) and v[:1] == ("norm",):
        return lib.nn.LayerNorm(v[1])
    return v


def _unpool_indices(spec: tuple, rng: np.random.Generator) -> np.ndarray:
    """MaxUnpool indices: each element's flat position inside its own output window."""
    shape, k, stride = spec[1], spec[2], spec[3]
    sizes = shape[2:]
    out = [(s - 1) * stride + k for s in sizes]
    idx = np.zeros(shape, dtype=np.int64)
    for pos in np.ndindex(*shape):
        coords = [p * stride + int(rng.integers(0, min(k, stride))) for p in pos[2:]]
        idx[pos] = int(np.ravel_multi_index(coords, out))
    return idx


def _mask(lib: Any, spec: tuple, rng: np.random.Generator) -> Any:
    """An attention mask of ``spec[1]``'s shape: ``("bmask", shape, p)`` bool, True (masked)
    with probability ``p``; ``("fmask", shape, p)`` float64, -inf there and small values
    elsewhere. The first key (last dim) is never masked: no row is masked whole."""
    if spec[0] == "cmask":  # ("cmask", n, "bool" | "float"): the (n, n) causal mask
        upper = np.triu(np.ones((spec[1], spec[1]), dtype=bool), 1)
        return lib.tensor(upper if spec[2] == "bool" else np.where(upper, -np.inf, 0.0))
    shape, p = spec[1], spec[2]
    masked = rng.random(shape) < p
    if masked.ndim:
        masked[..., 0] = False
    if spec[0] == "bmask":
        return lib.tensor(masked)
    a = np.where(masked, -np.inf, rng.standard_normal(shape) * 0.5)
    return lib.tensor(np.asarray(a, dtype=np.float64))


def _packed(lib: Any, spec: tuple, rng: np.random.Generator) -> Any:
    """``("packed", shape, lengths, batch_first, enforce_sorted)``: a PackedSequence of a
    standard normal padded batch, its data a leaf requiring grad (so its gradient is
    compared; the padded tensor's would be the packing's)."""
    shape, lengths, bf, enforce = spec[1:]
    x = lib.tensor(rng.standard_normal(shape))
    rnn = lib.nn.utils.rnn
    p = rnn.pack_padded_sequence(x, lib.tensor(lengths), batch_first=bf, enforce_sorted=enforce)
    data = p.data.detach().requires_grad_(True)
    return rnn.PackedSequence(data, p.batch_sizes, p.sorted_indices, p.unsorted_indices)


def _random_output(case: Case) -> bool:
    """Whether the forward in this mode draws random numbers (dropout in training)."""
    if not case.train:
        return False
    if case.name in RANDOM_IN_TRAIN:
        p = dict(case.kwargs).get("p", case.args[0] if case.args else 0.5)
        return not (isinstance(p, (int, float)) and p in (0, 0.0))
    kw = dict(case.kwargs)
    drop = kw.get("dropout", 0.1 if "Transformer" in case.name else 0.0)
    return isinstance(drop, (int, float)) and drop > 0


def _make_input(lib: Any, spec: tuple, rng: np.random.Generator) -> Any:
    kind = spec[0]
    if kind == "none":
        return None
    if kind == "val":  # a plain Python value (a flag such as need_weights)
        return spec[1]
    if kind in ("bmask", "fmask", "cmask"):
        return _mask(lib, spec, rng)
    if kind == "unpool":
        return lib.tensor(_unpool_indices(spec, rng))
    if kind == "tuple":
        return tuple(_make_input(lib, s, rng) for s in spec[1])
    if kind == "packed":
        return _packed(lib, spec, rng)
    if kind == "ints":
        return lib.tensor(np.asarray(spec[1], dtype=np.int64))
    if kind == "i":
        return lib.tensor(rng.integers(spec[2], spec[3], spec[1]).astype(np.int64))
    if kind == "mll":
        n = spec[1][-1]
        a = np.full(spec[1], -1, dtype=np.int64)
        for idx in np.ndindex(*spec[1][:-1]):
            k = int(rng.integers(0, n + 1))
            a[idx][:k] = rng.permutation(n)[:k]
        return lib.tensor(a)
    shape = spec[1]
    if kind in ("f", "c"):
        a, rg = rng.standard_normal(shape), kind == "f"
    elif kind == "p":
        a, rg = rng.uniform(0.05, 0.95, shape), spec[2]
    elif kind == "pos":
        a, rg = rng.uniform(0.2, 2.0, shape), spec[2]
    elif kind == "logp":  # log-probabilities over the last dim (CTCLoss's input)
        a = rng.standard_normal(shape)
        a, rg = a - np.log(np.exp(a).sum(-1, keepdims=True)), True
    elif kind == "sign":
        a, rg = np.where(rng.random(shape) < 0.5, -1.0, 1.0), False
    elif kind == "k":  # a constant (a variance of 0), requiring grad
        a, rg = np.full(shape, float(spec[2])), True
    else:
        raise ValueError(f"unknown input spec {spec!r}")
    return lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def _arr(t: Any) -> Any:
    if t is None:
        return None
    return np.array(t.detach().tolist(), dtype=np.float64)


def _dt(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _err(stage: str, exc: BaseException) -> tuple:
    """An error entry: the stage, the type's name, the message and the names of the type's
    bases (chainrule's ShapeError is a ValueError and a RuntimeError: either matches)."""
    names = tuple(c.__name__ for c in type(exc).__mro__)
    return ("error", stage, type(exc).__name__, str(exc)[:200], names)


def _uninitialized(t: Any) -> bool:
    """A lazy module's parameter or buffer before its first call."""
    return type(t).__name__ in ("UninitializedParameter", "UninitializedBuffer")


def _describe(m: Any) -> list:
    """Names, shapes, dtypes, requires_grad, exact zeros/ones of the parameters/buffers (a
    lazy module's uninitialized ones: their names and kinds)."""
    out = []
    for n, p in m.named_parameters():
        if _uninitialized(p):
            out.append(("param", n, type(p).__name__))
            continue
        a = np.array(p.detach().tolist(), dtype=np.float64)
        out.append(("param", n, tuple(p.shape), _dt(p.dtype), bool(p.requires_grad),
                    int((a == 0).sum()), int((a == 1).sum())))  # fmt: skip
    for n, b in m.named_buffers():
        if _uninitialized(b):
            out.append(("buffer", n, type(b).__name__))
            continue
        out.append(("buffer", n, tuple(b.shape), _dt(b.dtype)))
    return out


def observe(lib: Any, case: Case, values: dict | None = None) -> tuple[list, dict]:
    """Run ``case`` with ``lib``: its trace, and the state (name -> array) after
    construction. ``values``: torch's state, copied into the module before the forward."""
    trace: list = []
    lib.manual_seed(case.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            args = tuple(_value(lib, v) for v in case.args)
            kwargs = {k: _value(lib, v) for k, v in case.kwargs}
            m = getattr(lib.nn, case.name)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raising is part of what is compared
            return [_err("ctor", exc)], {}
        try:
            trace.append(("state", _describe(m)))
            trace.append(("repr", repr(m), m.extra_repr()))
            trace.append(("keys", list(m.state_dict().keys())))
            state = {
                k: np.array(v.tolist())
                for k, v in m.state_dict().items()
                if v is not None and not _uninitialized(v)
            }
        except Exception as exc:  # noqa: BLE001
            trace.append(_err("describe", exc))
            return trace, {}
        if values is not None:
            with lib.no_grad():
                for n, t in list(m.named_parameters()) + list(m.named_buffers()):
                    if n in values and tuple(values[n].shape) == tuple(t.shape):
                        t.copy_(lib.tensor(values[n]).to(t.dtype))
        trace.extend(_run_forward(lib, case, m))
    return trace, state


def _run_forward(lib: Any, case: Case, m: Any) -> list:
    trace: list = []
    try:
        m.double()
        m.train(case.train)
        rng = np.random.default_rng(case.seed)
        inputs = [_make_input(lib, s, rng) for s in case.inputs]
        out = _flat(m(*inputs))
    except Exception as exc:  # noqa: BLE001
        return [_err("forward", exc)]
    if case.name.startswith("Lazy"):  # materialised by the call: its class, repr and state
        trace.append(("materialized", type(m).__name__, repr(m), _describe(m)))
    rand = _random_output(case)
    outs = [o for o in out if hasattr(o, "shape")]
    trace.append(("out", [(tuple(o.shape), _dt(o.dtype)) for o in outs]))
    if not rand:
        trace.append(("values", [_arr(o) for o in outs]))
    wrng = np.random.default_rng(case.seed + 1)
    loss = None
    for o in outs:
        if o.requires_grad and o.dtype == lib.float64:
            w = lib.tensor(wrng.standard_normal(tuple(o.shape)))
            term = (o * w).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        try:
            loss.backward()
        except Exception as exc:  # noqa: BLE001
            trace.append(_err("backward", exc))
            return trace
        if not rand and not _torch_grad_undefined(case, inputs, outs):
            leaves = _flat(inputs)
            leaves = [x for x in leaves if getattr(x, "requires_grad", False)]
            grads = [_arr(x.grad) for x in leaves]
            grads += [(n, _arr(p.grad)) for n, p in m.named_parameters()]
            trace.append(("grads", grads))
    if not rand:
        trace.append(("after", [(n, _arr(b)) for n, b in m.named_buffers()]))
    return trace


def _torch_grad_undefined(case: Case, inputs: list, outs: list) -> bool:
    """Known differences: where PyTorch's gradient is not the gradient of its forward, the
    gradients are not compared (the outputs are).

    * ``EmbeddingBag(scale_grad_by_freq=True)``: PyTorch 2.13's CPU backward divides an
      index's gradient by a running maximum of the sorted indices' counts, not by the index's
      own count (indices [0, 0, 0, 1]: weight 1's gradient is 1/3); chainrule divides by
      the index's own frequency, as documented.
    * ``Upsample(mode='nearest', scale_factor=...)`` on a 3-D or 5-D input: PyTorch's
      forward indexes with the scale (src = floor(dst / scale)) but its backward copies when
      an output size equals the input's and halves when it doubles (the 4-D kernel does
      both in both directions, and so does chainrule); chainrule's gradient is the adjoint
      of the forward both share.
    """
    kw = dict(case.kwargs)
    if case.name == "EmbeddingBag" and kw.get("scale_grad_by_freq"):
        return True
    if case.name == "Upsample" and kw.get("mode", "nearest") == "nearest" and outs:
        x = inputs[0]
        if x.ndim in (3, 5) and kw.get("scale_factor") is not None:
            pairs = zip(tuple(x.shape[2:]), tuple(outs[0].shape[2:]))
            return any(o in (i, 2 * i) for i, o in pairs)
    return False


def _cmp(a: Any, b: Any, where: str, out: list) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            out.append(f"{where}: {type(a).__name__} vs {type(b).__name__}")
        elif a.shape != b.shape:
            out.append(f"{where}: shape {a.shape} vs {b.shape}")
        elif not np.allclose(a, b, rtol=1e-10, atol=1e-10, equal_nan=True):
            bad = ~np.isclose(a, b, rtol=1e-10, atol=1e-10, equal_nan=True)
            out.append(f"{where}: values differ at {int(bad.sum())} of {a.size}: "
                       f"{a[bad][:3]} vs {b[bad][:3]}")  # fmt: skip
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            out.append(f"{where}: length {len(a)} vs {len(b)}: {a!r:.300} vs {b!r:.300}")
            return
        for k, (x, y) in enumerate(zip(a, b)):
            _cmp(x, y, f"{where}[{k}]", out)
        return
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    if a != b:
        out.append(f"{where}: {a!r} vs {b!r}")


def compare(ref: list, got: list) -> list[str]:
    """The differences between torch's trace ``ref`` and chainrule's ``got``."""
    out: list[str] = []
    for a, b in zip(ref, got):
        if a[0] == "error" or b[0] == "error":
            if a[0] != b[0]:
                out.append(f"torch {a[0]} {a[1]!r:.200} vs chainrule {b[:4]!r:.300}")
            elif a[1] != b[1] or a[2] not in b[4]:
                out.append(f"error: torch {a[1:4]!r} vs chainrule {b[1:4]!r}")
            return out
        _cmp(a[1:], b[1:], a[0], out)
        if out:
            return out
    if len(ref) != len(got):
        out.append(f"trace length {len(ref)} vs {len(got)}: torch {ref[-1]!r:.200}, "
                   f"chainrule {got[-1]!r:.200}")  # fmt: skip
    return out
