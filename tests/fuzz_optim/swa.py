"""Random stochastic-weight-averaging loops (``optim.swa_utils``), run on torch and on
chainrule and compared: a small model (Linear, maybe BatchNorm1d) trained by SGD or Adam,
an :class:`AveragedModel` (SWA or EMA, ``avg_fn`` or ``multi_avg_fn``, with or without
buffers) updated at random steps, :class:`SWALR` alone or after another scheduler (by hand
at ``swa_start``, or as the last of a ``SequentialLR``), ``update_bn``, evaluations of the
averaged model and state-dict round trips of the averaged model and the scheduler.

Hunt: ``python -m tests.fuzz_optim.swa COUNT SEED``; CI: ``test_fuzz_swa.py``.

Actions: ``("train", seed)`` one forward/backward/``step`` on a seeded batch;
``("avg",)`` ``update_parameters``; ``("sched",)`` the active scheduler's step (the
pre-scheduler before ``swa_start`` steps, SWALR after); ``("sreload",)`` the SWALR's
state dict into a new SWALR on the same optimizer; ``("bn", seed)`` ``update_bn`` over
seeded batches; ``("eval", seed)`` the averaged model's output in eval mode; ``("load",)``
the averaged model's state dict loaded into a fresh one, which replaces it.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

from .programs import _cmp_desc, _desc


@dataclass(frozen=True)
class SwaProgram:
    opt: tuple = ("SGD", ())  # (name, ((key, value), ...)); an lr ("T", x) is a 0-d tensor
    dtype: str = "float64"
    bn: bool = False  # Linear(3, 4, bias=False), BatchNorm1d(4), Linear(4, 1) (else Linear(3, 1))
    two_groups: bool = False  # the first layer's parameters in a group of their own
    avg: tuple = ("swa",)  # ("swa"|"swa_multi"|"ema"|"ema_multi"[, decay] | "custom")
    use_buffers: bool = False
    swalr: tuple | None = None  # ((key, value), ...)
    pre: tuple | None = None  # ("cos", T_max) | ("step", step_size) | ("seq", milestone)
    swa_start: int = 0  # scheduler steps (of "sched") before SWALR takes over
    actions: tuple = ()
    seed: int = 0


def _pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(0, len(seq)))]


def draw(rng: np.random.Generator) -> SwaProgram:
    name = _pick(rng, ("SGD", "SGD", "Adam"))
    # (small steps: larger ones blow the scale-invariant weights before the batch norm up
    # to 1e10 and beyond in float32, where the rounding of the two libraries parts ways)
    lr = _pick(rng, (0.05, 0.02, 0.01))
    opts: dict = {"lr": ("T", lr) if rng.random() < 0.15 else lr}
    if name == "SGD" and rng.random() < 0.5:
        opts["momentum"] = 0.9
    if rng.random() < 0.3:
        opts["foreach"] = _pick(rng, (True, False))
    two = bool(rng.random() < 0.4)
    avg = _pick(
        rng,
        (("swa",), ("swa_multi",), ("ema", 0.9), ("ema_multi", 0.5), ("ema", 0.99), ("custom",)),
    )
    swalr: tuple | None = None
    pre = None
    if rng.random() < 0.8:
        kw: dict = {"swa_lr": _pick(rng, (0.05, 0.01, 0.1))}
        if two and rng.random() < 0.4:
            kw["swa_lr"] = (0.02, 0.05)
        if rng.random() < 0.7:
            kw["anneal_epochs"] = int(rng.integers(0, 5))
        if rng.random() < 0.5:
            kw["anneal_strategy"] = _pick(rng, ("cos", "linear"))
        swalr = tuple(kw.items())
        if rng.random() < 0.5:
            pre = _pick(rng, (("cos", int(rng.integers(1, 6))), ("step", 2),
                              ("seq", int(rng.integers(1, 4)))))  # fmt: skip
    actions: list = []
    for _ in range(int(rng.integers(3, 14))):
        k = rng.random()
        if k < 0.4:
            actions.append(("train", int(rng.integers(0, 2**16))))
        elif k < 0.6:
            actions.append(("avg",))
        elif k < 0.8:
            actions.append(("sched",))
        elif k < 0.85:
            actions.append(("sreload",))
        elif k < 0.9:
            actions.append(("bn", int(rng.integers(0, 2**16))))
        elif k < 0.95:
            actions.append(("eval", int(rng.integers(0, 2**16))))
        else:
            actions.append(("load",))
    bn = bool(rng.random() < 0.6)
    # (float32 with the batch norm: a small batch's variance rounds differently and the
    # weights in front of it, free to grow, carry that into steps that part ways)
    dtype = "float64" if bn else _pick(rng, ("float64", "float32"))
    return SwaProgram(
        (name, tuple(opts.items())), dtype, bn, two, avg, bool(rng.random() < 0.4), swalr, pre,
        int(rng.integers(0, 4)), tuple(actions), int(rng.integers(0, 2**16)),
    )  # fmt: skip


def _model(lib: Any, prog: SwaProgram) -> Any:
    dt = getattr(lib, prog.dtype)
    nn = lib.nn
    if prog.bn:
        # (no bias before the batch norm: its gradient is rounding noise, which Adam's
        # normalization blows up into different steps in torch and chainrule)
        m = nn.Sequential(nn.Linear(3, 4, bias=False, dtype=dt), nn.BatchNorm1d(4, dtype=dt),
                          nn.Linear(4, 1, dtype=dt))  # fmt: skip
    else:
        m = nn.Sequential(nn.Linear(3, 1, dtype=dt))
    rng = np.random.default_rng(prog.seed)
    sd = {}
    for k, v in m.state_dict().items():
        shape = tuple(v.shape)
        if k.endswith("num_batches_tracked"):
            sd[k] = lib.tensor(0)
        elif k.endswith("running_var"):
            sd[k] = lib.tensor(rng.uniform(0.5, 2.0, shape).astype(prog.dtype))
        else:
            sd[k] = lib.tensor(rng.standard_normal(shape).astype(prog.dtype))
    m.load_state_dict(sd)
    return m


def _batch(lib: Any, prog: SwaProgram, seed: int) -> Any:
    x = np.random.default_rng(seed).standard_normal((4, 3)).astype(prog.dtype)
    return lib.tensor(x)


def _averaged(lib: Any, prog: SwaProgram, model: Any) -> Any:
    swa = lib.optim.swa_utils
    kind = prog.avg[0]
    kw: dict = {"use_buffers": prog.use_buffers}
    if kind == "swa_multi":
        kw["multi_avg_fn"] = swa.get_swa_multi_avg_fn()
    elif kind == "ema":
        kw["avg_fn"] = swa.get_ema_avg_fn(prog.avg[1])
    elif kind == "ema_multi":
        kw["multi_avg_fn"] = swa.get_ema_multi_avg_fn(prog.avg[1])
    elif kind == "custom":  # a user's avg_fn, reading the count (a 0-d int64 tensor)
        kw["avg_fn"] = lambda a, m, n: a + (m - a) * (0.5 / (n + 1) + 0.1 * (n.dim() == 0))
    return swa.AveragedModel(model, **kw)


def _scheds(lib: Any, prog: SwaProgram, opt: Any) -> tuple:
    """(the scheduler stepped before swa_start, the one after); either may be None."""
    mod = lib.optim.lr_scheduler
    swalr = None
    if prog.swalr is not None:
        kw = dict(prog.swalr)
        if isinstance(kw["swa_lr"], tuple):
            kw["swa_lr"] = list(kw["swa_lr"])
        swalr = lib.optim.swa_utils.SWALR(opt, **kw)
    if prog.pre is None or swalr is None:
        return None, swalr
    if prog.pre[0] == "seq":
        first = mod.ConstantLR(opt, factor=0.5, total_iters=2)
        seq = mod.SequentialLR(opt, [first, swalr], milestones=[prog.pre[1]])
        return seq, seq
    if prog.pre[0] == "cos":
        return mod.CosineAnnealingLR(opt, T_max=prog.pre[1]), swalr
    return mod.StepLR(opt, step_size=prog.pre[1], gamma=0.5), swalr


def _params(model: Any) -> list:
    return [np.array(p.detach().numpy(), copy=True) for p in model.parameters()]


def _sd(lib: Any, module: Any) -> tuple:
    return ("avg_sd", {k: _desc(lib, v) for k, v in module.state_dict().items()})


def observe(lib: Any, prog: SwaProgram) -> list:
    trace: list = []
    phase = "setup"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = _model(lib, prog)
            avg = _averaged(lib, prog, model)
            name, items = prog.opt
            kw = {k: lib.tensor(v[1]) if isinstance(v, tuple) else v for k, v in items}
            if prog.two_groups:
                first = list(model[0].parameters())
                rest = [p for m in list(model)[1:] for p in m.parameters()]
                groups = [{"params": first}] + ([{"params": rest, "lr": 0.03}] if rest else [])
                opt = getattr(lib.optim, name)(groups, **kw)
            else:
                opt = getattr(lib.optim, name)(model.parameters(), **kw)
            phase = "sched_ctor"
            pre, swalr = _scheds(lib, prog, opt)
            trace.append(("lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
            n_sched = 0
            for n, act in enumerate(prog.actions):
                phase = f"{n}:{act[0]}"
                kind = act[0]
                if kind == "train":
                    model.train()
                    opt.zero_grad()
                    out = model(_batch(lib, prog, act[1]))
                    (out * out).mean().backward()
                    opt.step()
                    trace.append(("params", _params(model)))
                elif kind == "avg":
                    avg.update_parameters(model)
                    trace.append(_sd(lib, avg))
                elif kind == "sched":
                    s = pre if (pre is not None and n_sched < prog.swa_start) else swalr
                    n_sched += 1
                    if s is None:
                        continue
                    s.step()
                    trace.append(("last_lr", [_desc(lib, x) for x in s.get_last_lr()]))
                    trace.append(("lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
                elif kind == "sreload" and swalr is not None and prog.pre is None:
                    saved = swalr.state_dict()
                    swalr = _scheds(lib, prog, opt)[1]
                    swalr.load_state_dict(saved)
                    sd = {k: _desc(lib, v) for k, v in swalr.state_dict().items()}
                    trace.append(("sched_sd", sd))
                elif kind == "bn":
                    rng = np.random.default_rng(act[1])
                    loader = [
                        lib.tensor(rng.standard_normal((3, 3)).astype(prog.dtype))
                        for _ in range(int(rng.integers(1, 4)))
                    ]
                    lib.optim.swa_utils.update_bn(loader, avg)
                    trace.append(("training", avg.training, avg.module.training))
                    trace.append(_sd(lib, avg))
                elif kind == "eval":
                    avg.eval()
                    out = avg(_batch(lib, prog, act[1]))
                    trace.append(("eval", np.array(out.detach().numpy(), copy=True)))
                    avg.train()
                elif kind == "load":
                    fresh = _averaged(lib, prog, model)
                    fresh.load_state_dict(avg.state_dict())
                    avg = fresh
                    trace.append(_sd(lib, avg))
            phase = "end"
            trace.append(_sd(lib, avg))
            trace.append(("opt_groups", [
                {k: _desc(lib, v) for k, v in g.items() if k != "params"}
                for g in opt.state_dict()["param_groups"]
            ]))  # fmt: skip
            if swalr is not None:
                sd = {k: _desc(lib, v) for k, v in swalr.state_dict().items()}
                trace.append(("sched_sd", {k: v for k, v in sd.items() if k != "_schedulers"}))
        except Exception as e:  # noqa: BLE001 - every error is part of the observation
            trace.append(("error", phase, type(e).__name__, str(e)[:200]))
    return trace


def compare(prog: SwaProgram, ref: list, got: list) -> list[str]:
    tol = (1e-4, 1e-5) if prog.dtype == "float32" else (1e-9, 1e-12)
    if any(isinstance(v, tuple) for _, v in prog.opt[1]):
        tol = (max(tol[0], 1e-5), max(tol[1], 1e-8))  # a float32 tensor lr
    out: list[str] = []
    for n, (a, b) in enumerate(zip(ref, got)):
        if a[0] != b[0]:
            out.append(f"entry {n}: torch {a} vs chainrule {b}"[:600])
            return out
        if a[0] == "error":
            if a[1:3] != b[1:3]:
                out.append(f"error: torch {a[1:]} vs chainrule {b[1:]}")
            return out
        _cmp_desc(a[1:], b[1:], f"entry {n} ({a[0]})", tol, out)
        if out:
            return out
    if len(ref) != len(got):
        out.append(f"trace length {len(ref)} vs {len(got)}: {ref[-1]!r:.200} / {got[-1]!r:.200}")
    return out


def check(prog: SwaProgram) -> list[str]:
    return compare(prog, observe(torch, prog), observe(cr, prog))


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 300
    seed = int(argv[1]) if len(argv) > 1 else 0
    rng = np.random.default_rng(seed)
    bad = 0
    for _ in range(count):
        prog = draw(rng)
        diffs = check(prog)
        if diffs:
            bad += 1
            print(f"{prog!r}\n    " + "\n    ".join(d[:400] for d in diffs[:3]), flush=True)
    print(f"{count} programs, {bad} disagreements")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
