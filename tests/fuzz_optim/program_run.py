"""Running an optimizer program with one library (``torch`` or ``chainrule``) and recording
its trace: parameters after every step, gradients after ``zero_grad``, learning rates after
every scheduler step, state dicts, and the error that stopped the run."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np

from .program_data import Program, _lambda


def _value(lib: Any, v: Any) -> Any:
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "T":
        return lib.tensor(v[1])
    return v


def _opts(lib: Any, items: tuple) -> dict:
    return {k: _value(lib, v) for k, v in items}


def _np_dtype(prog: Program, cplx: bool) -> Any:
    if cplx:
        return np.complex128 if prog.dtype == "float64" else np.complex64
    return np.dtype(prog.dtype)


def _make_params(lib: Any, prog: Program) -> list:
    rng = np.random.default_rng(prog.seed)
    out = []
    for shape, cplx in prog.params:
        a = rng.standard_normal(shape)
        if cplx:
            a = a + 1j * rng.standard_normal(shape)
        out.append(lib.tensor(a.astype(_np_dtype(prog, cplx)), requires_grad=True))
    return out


def _grad(lib: Any, prog: Program, i: int, rng: np.random.Generator, sparse: bool, scale: float):
    shape, cplx = prog.params[i]
    dtype = _np_dtype(prog, cplx)
    if sparse and len(shape) > 0:
        numel = int(np.prod(shape))
        nnz = int(rng.integers(0, 5)) if numel else 0
        flat = rng.integers(0, max(numel, 1), nnz)
        idx = np.array(np.unravel_index(flat, shape), dtype=np.int64).reshape(len(shape), nnz)
        vals = rng.standard_normal(nnz) * scale
        if cplx:
            vals = vals + 1j * rng.standard_normal(nnz) * scale
        return lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals.astype(dtype)), shape)
    a = rng.standard_normal(shape) * scale
    if cplx:
        a = a + 1j * rng.standard_normal(shape) * scale
    return lib.tensor(np.asarray(a).astype(dtype))


def _closure(lib: Any, prog: Program, opt_ref: list, params: list):
    rng = np.random.default_rng(prog.seed + 1)
    consts = []
    for shape, _ in prog.params:
        consts.append((rng.uniform(0.5, 2.0, shape), rng.standard_normal(shape)))

    def closure():
        opt = opt_ref[0]
        opt.zero_grad()
        loss = None
        for group in opt.param_groups:
            for p in group["params"]:
                i = next(k for k, q in enumerate(params) if q is p)
                c, t = consts[i]
                c = lib.tensor(c.astype(prog.dtype))
                t = lib.tensor(t.astype(prog.dtype))
                if prog.params[i][1]:
                    d = p - t
                    term = (c * (d * d.conj()).real).sum()
                else:
                    term = (c * (p - t) ** 2).sum() + 0.05 * (p**4).sum()
                loss = term if loss is None else loss + term
        loss.backward()
        return loss

    return closure


def _arr(t: Any) -> np.ndarray:
    t = t.detach()
    if t.is_sparse:
        t = t.to_dense()
    if hasattr(t, "resolve_conj"):
        t = t.resolve_conj()
    return np.array(t.numpy(), copy=True)


def _desc(lib: Any, v: Any) -> Any:
    """A library-independent description of a state-dict value."""
    if isinstance(v, lib.Tensor):
        kind = "sparse" if v.is_sparse else "tensor"
        return (kind, str(v.dtype), tuple(v.shape), _arr(v))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_desc(lib, x) for x in v])
    if isinstance(v, dict):
        return ("dict", {k: _desc(lib, x) for k, x in v.items()})
    if isinstance(v, (bool, int, float, str)) or v is None:
        return (type(v).__name__, v)
    return ("other", type(v).__name__)


def _state_dict(lib: Any, opt: Any) -> tuple:
    sd = opt.state_dict()
    if type(opt).__name__ == "LBFGS":
        # LBFGS's step size ``t``: torch keeps whatever its line search last produced
        # (a 0-d tensor, a float, or the int 0 of a failed search); chainrule mirrors the
        # tensor of the first step only: compared by value
        state = {k: dict(s) for k, s in sd["state"].items()}  # (torch's are the live dicts)
        for s in state.values():
            if "t" in s:
                s["t"] = float(s["t"])
            if "al" in s:
                # the two-loop recursion's scratch (rewritten at each iteration before it is
                # read): near convergence an entry is ro * (s . q) with ro = 1 / (y . s) ~1e9
                # and s . q a difference at float64 rounding level, noise (-5e-7 vs 1e-9,
                # seed 612); its length is compared, the directions, ro and params by value
                s["al"] = len(s["al"]) if s["al"] is not None else None
        sd = {"state": state, "param_groups": sd["param_groups"]}
    groups = [
        {k: _desc(lib, v) for k, v in g.items() if k not in ("params",)} | {"params": g["params"]}
        for g in sd["param_groups"]
    ]
    state = {k: {n: _desc(lib, x) for n, x in s.items()} for k, s in sd["state"].items()}
    return ("sd", state, groups)


def _sched_state(lib: Any, sched: Any) -> Any:
    """A scheduler's ``state_dict()`` (its documented attributes; functions dropped)."""
    sd = sched.state_dict()
    return {k: _desc(lib, v) for k, v in sd.items() if k not in _SCHED_SKIP}


# ``_scale_fn_ref``/``_scale_fn_custom`` (CyclicLR): a bound method or function, not data
_SCHED_SKIP = ("_scale_fn_ref", "_scale_fn_custom", "scale_fn")


def _make_sched(lib: Any, opt: Any, spec: tuple) -> Any:
    name, items = spec
    kw = dict(items)
    mod = lib.optim.lr_scheduler
    if name in ("SequentialLR", "ChainedScheduler"):
        kw["schedulers"] = [_make_sched(lib, opt, s) for s in kw["schedulers"]]
        if name == "ChainedScheduler":
            return mod.ChainedScheduler(kw["schedulers"], optimizer=opt)
        kw["milestones"] = list(kw["milestones"])
    if name == "MultiStepLR":
        kw["milestones"] = list(kw["milestones"])
    if name == "CyclicLR" and isinstance(kw["base_lr"], tuple):
        kw["base_lr"] = list(kw["base_lr"])
    if "lr_lambda" in kw:
        lam = kw["lr_lambda"]
        kw["lr_lambda"] = [_lambda(x) for x in lam] if isinstance(lam, tuple) else _lambda(lam)
    return getattr(mod, name)(opt, **kw)


def _make_opt(lib: Any, prog: Program, params: list, n_added: int) -> Any:
    cls = getattr(lib.optim, prog.opt)
    kw = _opts(lib, prog.defaults)
    if prog.groups:
        groups = [{"params": [params[i] for i in idx], **_opts(lib, o)} for idx, o in prog.groups]
        opt = cls(groups, **kw)
    else:
        held = {i for idx, _ in prog.extra for i in idx}
        opt = cls([p for i, p in enumerate(params) if i not in held], **kw)
    for idx, o in prog.extra[:n_added]:
        opt.add_param_group({"params": [params[i] for i in idx], **_opts(lib, o)})
    return opt


def _hooks(lib: Any, opt: Any, trace: list, factor: float) -> None:
    """Register a step pre-hook scaling the gradients by ``factor`` and a post-hook recording
    the group lrs and the step count of the state (removed again after two steps)."""
    calls = [0]
    handles: list = []

    def pre(o: Any, args: tuple, kwargs: dict) -> None:
        with lib.no_grad():
            for g in o.param_groups:
                for q in g["params"]:
                    if q.grad is not None and not q.grad.is_sparse:
                        q.grad.mul_(factor)

    def post(o: Any, args: tuple, kwargs: dict) -> None:
        trace.append(("hook", [_desc(lib, g["lr"]) for g in o.param_groups], len(o.state)))
        calls[0] += 1
        if calls[0] >= 2:
            for h in handles:
                h.remove()

    handles.append(opt.register_step_pre_hook(pre))
    handles.append(opt.register_step_post_hook(post))


def _clip(lib: Any, params: list, trace: list, act: tuple) -> None:
    """Clip the gradients as a training loop does between backward and step (see
    :func:`.program_draw._draw_clip`); the total norm and the clipped gradients are traced."""
    _, how, val, norm_type, foreach = act
    utils = lib.nn.utils
    if how == "norm":
        nt = float(norm_type)
        total = utils.clip_grad_norm_(params, val, norm_type=nt, foreach=foreach)
        trace.append(("total_norm", _arr(total)))
    elif any(p.grad is not None for p in params):
        # with no gradient at all torch 2.13's clip_grad_value_ fails an internal check
        # (RuntimeError "Expected !nested_tensorlist[0].empty()", for every foreach, an
        # empty parameter list too) where clip_grad_norm_ returns 0 and chainrule does
        # nothing: a torch bug, steered around (no call without a gradient)
        utils.clip_grad_value_(params, val, foreach=foreach)
    trace.append(("grads", [None if p.grad is None else _arr(p.grad) for p in params]))


def observe(lib: Any, prog: Program) -> list:
    """Run ``prog`` with ``lib``; the trace of everything observable (it ends with
    ``("error", phase, type name)`` if something raised)."""
    trace: list = []
    phase = "params"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            params = _make_params(lib, prog)
            phase = "ctor"
            opt_ref = [_make_opt(lib, prog, params, 0)]
            n_added = 0
            sched = None
            if prog.sched is not None:
                phase = "sched_ctor"
                sched = _make_sched(lib, opt_ref[0], prog.sched)
                trace.append(("lr", [_desc(lib, x) for x in sched.get_last_lr()]))
            closure = _closure(lib, prog, opt_ref, params)
            for n, act in enumerate(prog.actions):
                phase = f"{n}:{act[0]}"
                opt = opt_ref[0]
                kind = act[0]
                if kind == "grad":
                    _, seed, mask, sparse, scale = act
                    rng = np.random.default_rng(seed)
                    for i, p in enumerate(params):
                        p.grad = _grad(lib, prog, i, rng, sparse, scale) if mask >> i & 1 else None
                elif kind == "clip":
                    _clip(lib, params, trace, act)
                elif kind == "step":
                    opt.step()
                    trace.append(("params", [_arr(p) for p in params]))
                elif kind == "cstep":
                    loss = opt.step(closure)
                    trace.append(("loss", None if loss is None else float(loss)))
                    trace.append(("params", [_arr(p) for p in params]))
                elif kind == "zero":
                    opt.zero_grad(set_to_none=act[1])
                    trace.append(
                        ("grads", [None if p.grad is None else _arr(p.grad) for p in params])
                    )
                elif kind == "add":
                    idx, o = prog.extra[act[1]]
                    opt.add_param_group({"params": [params[i] for i in idx], **_opts(lib, o)})
                    n_added += 1
                elif kind == "reload":
                    before = _state_dict(lib, opt)
                    trace.append(before)
                    fresh = _make_opt(lib, prog, params, n_added)
                    fresh.load_state_dict(opt.state_dict())
                    opt_ref[0] = fresh
                    trace.append(_state_dict(lib, fresh))
                elif kind == "wreload":
                    # the state dict through a file: ``save`` then ``load(weights_only=True)``
                    # (torch's restricted unpickler; chainrule's must accept the same
                    # tensors, numbers, tuples and strings), loaded into a fresh optimizer
                    buf = io.BytesIO()
                    lib.save(opt.state_dict(), buf)
                    buf.seek(0)
                    loaded = lib.load(buf, weights_only=True)
                    fresh = _make_opt(lib, prog, params, n_added)
                    fresh.load_state_dict(loaded)
                    opt_ref[0] = fresh
                    trace.append(_state_dict(lib, fresh))
                elif kind == "resume":
                    # a new optimizer over the same groups and a new scheduler on it, each
                    # loaded with the saved state (the scheduler's constructor steps first)
                    saved = opt.state_dict()
                    trace.append(_state_dict(lib, opt))
                    fresh = _make_opt(lib, prog, params, n_added)
                    fresh.load_state_dict(saved)
                    opt_ref[0] = fresh
                    if sched is not None:
                        ssaved = sched.state_dict()
                        sched = _make_sched(lib, fresh, prog.sched)
                        sched.load_state_dict(ssaved)
                        trace.append(("sched_sd", _sched_state(lib, sched)))
                    trace.append(_state_dict(lib, fresh))
                    trace.append(("group_lr", [_desc(lib, g["lr"]) for g in fresh.param_groups]))
                elif kind == "setlr":
                    for g in opt.param_groups:
                        g["lr"] = g["lr"] * act[1]
                    trace.append(("group_lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
                elif kind == "sd":
                    trace.append(_state_dict(lib, opt))
                elif kind == "sreload" and sched is not None:
                    # the resume pattern: a new scheduler on the same optimizer (its first
                    # step sets the lrs again), then the saved scheduler state loaded
                    saved = sched.state_dict()
                    sched = _make_sched(lib, opt, prog.sched)
                    sched.load_state_dict(saved)
                    trace.append(("sched_sd", _sched_state(lib, sched)))
                    trace.append(("group_lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
                elif kind == "hooks":
                    # step pre/post hooks: the pre hook scales every gradient in place (a
                    # gradient clipping pattern), the post hook records the group lrs
                    _hooks(lib, opt, trace, act[1])
                elif kind == "sepoch" and sched is not None:
                    # the deprecated explicit epoch (the closed form where the class has one)
                    if prog.sched[0] == "ReduceLROnPlateau":
                        sched.step(1.0, act[1])
                    else:
                        sched.step(act[1])
                    trace.append(("lr", [_desc(lib, x) for x in sched.get_last_lr()]))
                    trace.append(("group_lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
                elif kind == "sched":
                    if sched is None:
                        continue
                    if prog.sched[0] == "ReduceLROnPlateau":
                        sched.step(act[1])
                    else:
                        sched.step()
                    trace.append(("lr", [_desc(lib, x) for x in sched.get_last_lr()]))
                    trace.append(("group_lr", [_desc(lib, g["lr"]) for g in opt.param_groups]))
            phase = "end"
            trace.append(_state_dict(lib, opt_ref[0]))
            if sched is not None:
                trace.append(("sched_sd", _sched_state(lib, sched)))
        except Exception as e:  # noqa: BLE001 - every error is part of the observation
            trace.append(("error", phase, type(e).__name__, str(e)[:200]))
    return trace
