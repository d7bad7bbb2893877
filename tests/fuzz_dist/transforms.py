"""The transforms part of the distribution fuzzer: a random transform (``biject_to`` or
``transform_to`` of a random constraint, or a ``ComposeTransform`` of scalar transforms,
maybe inverted or wrapped in ``IndependentTransform``) built in torch and chainrule from the
same seed, then compared: ``T(x)``, ``T.inv(T(x))``, ``log_abs_det_jacobian``, the event
dims, ``bijective``/``sign``, ``forward_shape``/``inverse_shape``, ``codomain.check``, the
gradients of a weighted sum of the output and the log-Jacobian, and a
``TransformedDistribution`` of a Normal through it (``log_prob``, ``rsample`` under the same
seed, its gradients, ``expand``). Not a test itself; run by hand::

    python -m tests.fuzz_dist.transforms [COUNT] [SEED]

CI: ``test_fuzz_transforms.py``.
"""

from __future__ import annotations

import re
import sys
import warnings
from typing import Any

import numpy as np
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd

from .compare import RTOL, attempt, close, compare_results, grads, to_np

BATCHES = ((), (3,), (2, 3), (2, 1))
# (name, the unconstrained event shape of n): constraints biject_to/transform_to take
CONSTRAINTS = (
    ("real", lambda n: ()), ("positive", lambda n: ()), ("nonnegative", lambda n: ()),
    ("unit_interval", lambda n: ()), ("interval", lambda n: ()),
    ("greater_than", lambda n: ()), ("greater_than_eq", lambda n: ()),
    ("less_than", lambda n: ()), ("half_open_interval", lambda n: ()),
    ("simplex", lambda n: (n,)), ("real_vector", lambda n: (n,)),
    ("independent_positive", lambda n: (n,)), ("lower_cholesky", lambda n: (n, n)),
    ("corr_cholesky", lambda n: (n * (n - 1) // 2,)), ("positive_definite", lambda n: (n, n)),
    ("cat", lambda n: (n + 2,)), ("stack", lambda n: (2,)),
)  # fmt: skip
SCALAR = ("exp", "affine", "sigmoid", "tanh", "power", "softplus", "affine1")


def _constraint(lib: Any, name: str, p: dict) -> Any:
    c = lib.constraints
    if name == "interval":
        return c.interval(p["lo"], p["lo"] + p["w"])
    if name == "half_open_interval":
        return c.half_open_interval(p["lo"], p["lo"] + p["w"])
    if name in ("greater_than", "greater_than_eq", "less_than"):
        return getattr(c, name)(p["lo"])
    if name == "independent_positive":
        return c.independent(c.positive, 1)
    if name == "cat":  # the last dim: two reals, then n positives
        return c.cat([c.real, c.positive], dim=-1, lengths=[2, p["n"]])
    if name == "stack":  # two entries of the last dim: one real, one in (0, 1)
        return c.stack([c.real, c.unit_interval], dim=-1)
    return getattr(c, name)


def _scalar(lib: Any, name: str, p: dict, k: int) -> Any:
    if name == "exp":
        return lib.transforms.ExpTransform()
    if name == "affine":
        return lib.transforms.AffineTransform(p[f"a{k}"], p[f"s{k}"])
    if name == "affine1":  # an affine map of whole vectors (event_dim 1)
        return lib.transforms.AffineTransform(p[f"a{k}"], p[f"s{k}"], event_dim=1)
    if name == "power":
        return lib.transforms.PowerTransform(p[f"s{k}"])
    return getattr(lib.transforms, {"sigmoid": "Sigmoid", "tanh": "Tanh",
                                    "softplus": "Softplus"}[name] + "Transform")()  # fmt: skip


def draw(rng: np.random.Generator) -> dict:
    """A plain description of one case (the same in both libraries)."""
    batch = BATCHES[int(rng.integers(len(BATCHES)))]
    n = int(rng.integers(1, 4))
    spec: dict = {"batch": batch, "n": n, "seed": int(rng.integers(2**31))}
    spec["dtype"] = "float64" if rng.random() < 0.7 else "float32"
    if rng.random() < 0.55:
        spec["kind"] = "biject_to" if rng.random() < 0.75 else "transform_to"
        spec["constraint"] = CONSTRAINTS[int(rng.integers(len(CONSTRAINTS)))][0]
        if spec["constraint"] == "corr_cholesky":
            # torch quirk: its CorrCholeskyTransform's log_abs_det_jacobian of a 1x1 factor
            # (an empty input) raises ValueError "diag (-2) provided is outside [-1, 0]";
            # chainrule returns the true 0. Steered: factors of 2x2 and up
            spec["n"] = max(n, 2)
    else:
        spec["kind"] = "compose"
        spec["chain"] = tuple(
            SCALAR[int(rng.integers(len(SCALAR)))] for _ in range(int(rng.integers(1, 4)))
        )
        spec["inv"] = bool(rng.random() < 0.25)
        spec["indep"] = int(rng.integers(0, 2)) if batch else 0
    return spec


def _params(spec: dict) -> tuple[dict, np.ndarray]:
    """Parameter arrays (leaf tensors with gradients in both libraries) and the input x."""
    rng = np.random.default_rng(spec["seed"])
    batch, n, dt = spec["batch"], spec["n"], spec["dtype"]
    p: dict = {"lo": rng.normal(0, 2, batch), "w": np.exp(rng.uniform(-1, 1.5, batch))}
    vec = "affine1" in spec.get("chain", ())
    for k, name in enumerate(spec.get("chain", ())):
        # (scalar parameters of a chain on vectors: a trailing 1 that broadcasts)
        shape = batch + (n,) if name == "affine1" else batch + (1,) if vec else batch
        p[f"a{k}"] = rng.normal(0, 1, shape)
        s = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        p[f"s{k}"] = np.abs(s) if name == "power" else s
    if spec["kind"] == "compose":
        ev = (n,) if "affine1" in spec["chain"] else ()
    else:
        ev = dict(CONSTRAINTS)[spec["constraint"]](n)
    x = rng.normal(0, 1.0, batch + ev)
    if spec["kind"] == "compose" and spec["inv"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = _forward_np(spec, p, x)  # a point of the inverse's domain
    return {k: v.astype(dt) for k, v in p.items()}, x.astype(dt)


def _forward_np(spec: dict, p: dict, x: np.ndarray) -> np.ndarray:
    """The chain's forward map in torch (float64): where its inverse is evaluated."""
    tp = {k: torch.tensor(v) for k, v in p.items()}
    t = td.ComposeTransform([_scalar(td, nm, tp, k) for k, nm in enumerate(spec["chain"])])
    return t(torch.tensor(x)).numpy()


def _build(lib: Any, spec: dict, p: dict) -> Any:
    if spec["kind"] != "compose":
        fn = getattr(lib, spec["kind"])
        return fn(_constraint(lib, spec["constraint"], p | {"n": spec["n"]}))
    t = lib.transforms.ComposeTransform(
        [_scalar(lib, nm, p, k) for k, nm in enumerate(spec["chain"])]
    )
    if spec["inv"]:
        t = t.inv
    if spec["indep"]:
        t = lib.transforms.IndependentTransform(t, spec["indep"])
    return t


def _dims(t: Any) -> tuple:
    return (t.domain.event_dim, t.codomain.event_dim, bool(t.bijective))


def check(spec: dict) -> list[str]:
    """The differences between torch and chainrule on ``spec`` (empty: agree)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _check(spec)


def _check(spec: dict) -> list[str]:
    out: list[str] = []
    p, x = _params(spec)
    rtol = RTOL[spec["dtype"]] * 10
    atol = rtol * 1e-2
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    cp = {k: cr.tensor(v, requires_grad=True) for k, v in p.items()}
    tt, ct = attempt(lambda: _build(td, spec, tp)), attempt(lambda: _build(crd, spec, cp))
    if tt[0] == "err" or ct[0] == "err":
        compare_results("build", tt, ct, rtol, atol, out)
        return out
    tt, ct = tt[1], ct[1]
    if _dims(tt) != _dims(ct):
        out.append(f"event dims/bijective: torch {_dims(tt)} chainrule {_dims(ct)}")
    # (sign: a number, or an error where the parameters' shapes do not broadcast)
    sign_t, sign_c = attempt(lambda: tt.sign), attempt(lambda: ct.sign)
    compare_results("sign", sign_t, sign_c, 0.0, 0.0, out)
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt, yc = attempt(lambda: tt(xt)), attempt(lambda: ct(xc))
    compare_results("forward", yt, yc, rtol, atol, out)
    if yt[0] == "err" or yc[0] == "err":
        return out
    yt, yc = yt[1], yc[1]
    for what, ft, fc in (
        ("forward_shape", lambda: tuple(tt.forward_shape(x.shape)),
         lambda: tuple(ct.forward_shape(x.shape))),
        ("inverse_shape", lambda: tuple(tt.inverse_shape(yt.shape)),
         lambda: tuple(ct.inverse_shape(yc.shape))),
        ("codomain.check", lambda: tt.codomain.check(yt.detach()),
         lambda: ct.codomain.check(yc.detach())),
    ):  # fmt: skip
        a, b = attempt(ft), attempt(fc)
        if a[0] == b[0] == "ok" and what.endswith("shape") and a[1] != b[1]:
            out.append(f"{what}: torch {a[1]} chainrule {b[1]}")
        elif not what.endswith("shape") or a[0] != b[0]:
            compare_results(what, a, b, 0.0, 0.0, out)
    lt, lc = (
        attempt(lambda: tt.log_abs_det_jacobian(xt, yt)),
        attempt(lambda: ct.log_abs_det_jacobian(xc, yc)),
    )
    compare_results("log_abs_det_jacobian", lt, lc, rtol, atol, out)
    if tt.bijective:
        it, ic = attempt(lambda: tt.inv(yt.detach())), attempt(lambda: ct.inv(yc.detach()))
        compare_results("inv", it, ic, rtol, atol, out)
    _grads(spec, xt, xc, yt, yc, lt, lc, tp, cp, rtol, atol, out)
    if tt.bijective and tt.domain.event_dim == 0 or spec["kind"] != "compose":
        _transformed(spec, p, x, rtol, atol, out)
    return out


def _grads(spec, xt, xc, yt, yc, lt, lc, tp, cp, rtol, atol, out) -> None:
    rng = np.random.default_rng(spec["seed"] + 1)
    w = rng.normal(size=tuple(yt.shape)).astype(spec["dtype"])
    ok = lt[0] == lc[0] == "ok" and bool(torch.isfinite(lt[1]).all())
    wl = rng.normal(size=tuple(lt[1].shape)).astype(spec["dtype"]) if ok else None
    fin = np.isfinite(to_np(yt))

    def loss(lib, y, lad):
        s = (lib.where(lib.tensor(fin), y, 0.0) * lib.tensor(np.where(fin, w, 0))).sum()
        return s + (lad * lib.tensor(wl)).sum() if ok else s

    rt = attempt(lambda: loss(torch, yt, lt[1] if ok else None).backward())
    rc = attempt(lambda: loss(cr, yc, lc[1] if ok else None).backward())
    compare_results("backward", rt, rc, rtol, atol, out)
    if rt[0] == rc[0] == "ok":
        gt, gc = grads({"x": xt, **tp}), grads({"x": xc, **cp})
        for k in gt:
            scale = float(np.abs(gt[k][np.isfinite(gt[k])]).max(initial=0.0))
            d = close(gt[k], gc[k], rtol * 10, atol * 10 + rtol * 10 * scale)
            if d:
                out.append(f"grad {k}: {d}")


def _transformed(spec, p, x, rtol, atol, out) -> None:
    """A Normal (Independent over the input's event dims) through the transform."""
    loc = np.random.default_rng(spec["seed"] + 2).normal(size=x.shape).astype(spec["dtype"])

    def make(lib, lp):
        base = lib.Normal(lp["loc"], lib.ones_like(lp["loc"]))
        nd = x.ndim - len(spec["batch"])
        base = lib.Independent(base, nd) if nd else base
        return lib.TransformedDistribution(base, [_build(lib, spec, lp)])

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in (p | {"loc": loc}).items()}
    cp = {k: cr.tensor(v, requires_grad=True) for k, v in (p | {"loc": loc}).items()}
    dt, dc = attempt(lambda: make(td, tp)), attempt(lambda: make(crd, cp))
    compare_results("TransformedDistribution", dt, dc, rtol, atol, out)
    if dt[0] == "err" or dc[0] == "err":
        return
    dt, dc = dt[1], dc[1]
    shapes = [(tuple(d.batch_shape), tuple(d.event_shape)) for d in (dt, dc)]
    if shapes[0] != shapes[1]:
        out.append(f"TransformedDistribution shapes: torch {shapes[0]} chainrule {shapes[1]}")
        return
    torch.manual_seed(spec["seed"] % 1000)
    cr.manual_seed(spec["seed"] % 1000)
    st, sc = attempt(lambda: dt.rsample((2,))), attempt(lambda: dc.rsample((2,)))
    compare_results("rsample", st, sc, rtol * 10, atol * 10, out)
    if st[0] == "err" or sc[0] == "err":
        return
    v = st[1].detach()
    lt, lc = attempt(lambda: dt.log_prob(v)), attempt(lambda: dc.log_prob(cr.tensor(to_np(v))))
    compare_results("log_prob", lt, lc, rtol * 10, atol * 10, out)
    if lt[0] == lc[0] == "ok" and bool(torch.isfinite(lt[1]).all()):
        lt[1].sum().backward()
        lc[1].sum().backward()
        gt, gc = grads(tp), grads(cp)
        for k in gt:
            scale = float(np.abs(gt[k][np.isfinite(gt[k])]).max(initial=0.0))
            d = close(gt[k], gc[k], rtol * 10, atol * 10 + rtol * 10 * scale)
            if d:
                out.append(f"log_prob grad {k}: {d}")
    shape = (2,) + tuple(dt.batch_shape)
    et, ec = attempt(lambda: dt.expand(shape)), attempt(lambda: dc.expand(shape))
    compare_results("expand", et, ec, rtol, atol, out)
    if et[0] == ec[0] == "ok" and tuple(et[1].batch_shape) != tuple(ec[1].batch_shape):
        out.append(f"expand: torch {et[1].batch_shape} chainrule {ec[1].batch_shape}")


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 500
    rng = np.random.default_rng(int(argv[1]) if len(argv) > 1 else 0)
    groups: dict[str, list] = {}
    for _ in range(count):
        spec = draw(rng)
        try:
            diffs = check(spec)
        except Exception as exc:  # noqa: BLE001 - a crash of the harness is a finding too
            diffs = [f"harness crash: {type(exc).__name__}: {str(exc)[:200]}"]
        if diffs:
            label = spec.get("constraint") or "+".join(spec["chain"])
            sig = re.sub(r"[-+]?\d[\d.e+-]*", "#", re.sub(r"\([^()]*\)", "()", diffs[0]))
            groups.setdefault(f"{label}: {sig[:120]}", []).append((spec, diffs))
    print(f"{count} cases, {sum(len(v) for v in groups.values())} disagreements")
    for sig, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"\n[{len(found)}x] {sig}\n  {found[0][0]!r}")
        for d in found[0][1][:3]:
            print(f"    {d[:300]}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
