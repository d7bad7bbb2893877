"""Running an indexing case with one library and recording everything observable:
values, shapes, dtypes, whether the result is a view sharing the leaf's memory and its
strides, the gradients of a weighted sum, forward-mode tangents, second derivatives, or the
error raised."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import chainrule as cr

from .case_data import Case, _rand, make_index, make_leaf, make_value
from .dim_ops_s38 import DIM_OPS_S38, NO_FORWARD_S38, dim_op_s38
from .dim_ops_s40 import DIM_OPS_S40, dim_op_s40
from .dim_ops_s41 import DIM_OPS_S41, dim_op_s41
from .dim_ops_s42 import DIM_OPS_S42, dim_op_s42
from .dim_ops_s44 import DIM_OPS_S44, dim_op_s44


class Err:
    """An exception raised while running (compared by type)."""

    def __init__(self, exc: BaseException):
        self.type = type(exc).__name__
        # chainrule's errors may subclass two builtins (IndexError and RuntimeError) so
        # that code written for either catches them: torch's type must be one of them
        self.types = {c.__name__ for c in type(exc).__mro__}
        self.msg = " ".join(str(exc).split())[:160]

    def __repr__(self) -> str:
        return f"<{self.type}: {self.msg}>"


def arr(t: Any) -> Any:
    if t is None:
        return None
    if isinstance(t, cr.Tensor):
        # not .numpy(): it marks the memory as shared with the user (tests/fuzz/programs.py)
        return np.array(t._data, copy=True)
    try:
        return np.array(t.detach().numpy(), copy=True)
    except RuntimeError:  # torch's ZeroTensor (a tangent known to be zero) has no array
        return np.zeros(tuple(t.shape), str(t.dtype).split(".")[-1])


def _dname(t: Any) -> str:
    return str(t.dtype).split(".")[-1]


def _base_kind(out: Any, x: Any) -> str:
    base = out._base
    if base is None:
        return "none"
    if base is x:
        return "x"
    if x._base is not None and base is x._base:
        return "x.base"
    return "other"


def _shares(a: Any, b: Any) -> bool:
    if a.numel() == 0 or b.numel() == 0:
        return False  # an empty tensor's storage pointer means nothing
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _meta(out: Any, x: Any) -> tuple:
    view = out._is_view()
    return (tuple(out.shape), _dname(out), view, _base_kind(out, x), _shares(out, x))


def _layout(t: Any, size1: bool = True) -> tuple:
    """Strides and storage offset. The stride of a dim of size 1 counts too: it never
    picks an element, but a later view (``.view()``, ``.transpose().contiguous()``, ...)
    reads it; torch's choice for it depends on the order it applied the index items
    (``x[None, 2]`` gives the new dim ``x.stride(0) * x.size(0)``). ``size1=False`` leaves
    it out (a result of ``clone()``, whose strides for size-1 dims are not this suite's)."""
    if t.numel() <= 1:
        return ()
    return (
        tuple(s if size1 or n != 1 else None for s, n in zip(t.stride(), t.shape)),
        t.storage_offset(),
    )


def _wsum(lib: Any, outs: list, seed: int) -> Any:
    total = None
    for k, o in enumerate(outs):
        # an integer result may require grad in torch: ``y[()] = v`` with an int64 ``y`` and
        # a 0-d float ``v`` that requires grad fills through fill_, which marks ``y`` (with
        # a FillBackward3 node) although integers carry no gradient; chainrule leaves it
        # without one. Steered around: only floating results are differentiated and their
        # requires_grad compared
        if o is None or not o.requires_grad or not o.is_floating_point():
            continue
        term = (o * _rand(lib, tuple(o.shape), o.dtype, seed + 100 + k)).sum()
        total = term if total is None else total + term
    return total


def _grads(lib: Any, obs: dict, outs: list, leaves: dict, seed: int) -> None:
    loss = _wsum(lib, outs, seed)
    if loss is None:
        return
    try:
        loss.backward()
    except Exception as exc:  # noqa: BLE001
        obs["backward"] = Err(exc)
        return
    for name, leaf in leaves.items():
        if leaf is not None and getattr(leaf, "requires_grad", False):
            obs["grad " + name] = arr(leaf.grad)


def _run_forward(lib: Any, case: Case, body: Any) -> Any:
    """``body(x, v)`` with ``x`` (and a tensor value) made dual with seeded tangents; the
    tangents of what it returns."""
    fwad = lib.autograd.forward_ad
    x = make_leaf(lib, case).detach()
    v = make_value(lib, case, grad=False)
    with fwad.dual_level():
        if x.is_floating_point():
            x = fwad.make_dual(x, _rand(lib, tuple(x.shape), x.dtype, case.seed + 1))
        if isinstance(v, lib.Tensor) and v.is_floating_point() and x.is_floating_point():
            const = bool(case.value[3])
            v = fwad.make_dual(v, _rand(lib, tuple(v.shape), v.dtype, case.seed + 2, const))
        outs = body(x, v)
        return [arr(fwad.unpack_dual(o).tangent) for o in outs]


def observe(lib: Any, case: Case, forward: bool = True) -> dict:
    """Everything observable about ``case`` run with ``lib``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _observe(lib, case, forward)


def _observe(lib: Any, case: Case, forward: bool) -> dict:
    obs: dict = {}
    x = make_leaf(lib, case)
    idx = make_index(lib, case.index, case.bare)
    floating = x.is_floating_point()
    mode = case.mode

    if mode == "get":

        def body(x: Any, v: Any) -> list:
            return [x[idx]]

        try:
            out = x[idx]
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["out"] = arr(out)
        obs["meta"] = _meta(out, x)
        obs["layout"] = _layout(out)  # a copy's too: torch lays some out like x
        _grads(lib, obs, [out], {"x": x}, case.seed)

    elif mode in ("set", "put"):
        # (index_put_ of an integer or bool tensor through one bool mask with a one-element
        # value is torch's masked_fill_, with its quirk: see the dim mode's masked_fill_)
        v = make_value(lib, case, grad=floating or mode == "set" or not case.op.endswith("_"))

        def body(x: Any, v: Any) -> list:
            y = x.clone()
            if mode == "set" and case.op == "iadd":
                y[idx] += v  # a read, an in-place add on the copy or view, a write back
                return [y]
            if mode == "set":
                y[idx] = v
                return [y]
            indices = idx if isinstance(idx, tuple) else (idx,)
            acc = case.op.startswith("acc")
            if case.op.endswith("_"):
                return [y.index_put_(indices, v, accumulate=acc)]
            return [lib.index_put(x, indices, v, accumulate=acc)]

        try:
            if case.op == "leaf":  # into the leaf itself: refused while grad is on
                y = x
                y[idx] = v
            elif case.op == "nograd":  # a parameter's initialization
                y = x
                with lib.no_grad():
                    y[idx] = v
                obs["leaf flags"] = (y.is_leaf, y.requires_grad, y.grad_fn is None)
            else:
                (y,) = body(x, v)
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["y"] = arr(y)
        rg = y.requires_grad and y.is_floating_point()  # see _wsum
        obs["y meta"] = (tuple(y.shape), _dname(y), rg, _layout(y, case.op in ("leaf", "nograd")))
        _grads(lib, obs, [y], {"x": x, "v": v}, case.seed)

    elif mode == "chain":
        v = make_value(lib, case)
        idx2 = make_index(lib, case.index2, case.bare2)

        def body(x: Any, v: Any) -> list:
            y = x.clone()
            a = y[idx]
            if case.op == "set":
                a[idx2] = v
            elif case.op == "mul_":
                a[idx2].mul_(2)
            elif case.op == "add_":
                a[idx2].add_(v)
            else:
                a[idx2].zero_()
            return [y, a]

        try:
            y, a = body(x, v)
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["y"], obs["a"] = arr(y), arr(a)
        obs["a meta"] = (_meta(a, y), a.requires_grad and floating, y.requires_grad and floating)
        _grads(lib, obs, [y, a], {"x": x, "v": v}, case.seed)

    else:  # dim

        def body(x: Any, v: Any) -> list:
            return [_dim_op(lib, case, x, idx, v)]

        # torch's masked_fill_ of an integer or bool tensor with a value that requires grad
        # marks the integer result as requiring grad; chainrule refuses, with the error that
        # torch gives for such a result elsewhere ("Autograd not support dtype"). Steered
        # around: the value requires grad only where the tensor filled is floating
        fills = ("masked_fill_", "index_fill_", "masked_fill_fn", "index_fill_fn")
        v = make_value(lib, case, grad=floating or case.op not in fills)
        try:
            (out,) = body(x, v)
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["out"] = arr(out)
        obs["meta"] = (tuple(out.shape), _dname(out), out.requires_grad and floating)
        _grads(lib, obs, [out], {"x": x}, case.seed)
        forward = forward and case.op not in ("masked_select", *NO_FORWARD_S38)

    if forward and floating:
        try:
            for k, t in enumerate(_run_forward(lib, case, body)):
                obs[f"tangent {k}"] = t
        except Exception as exc:  # noqa: BLE001
            obs["forward-mode"] = Err(exc)
    if floating and case.seed % 3 == 0:
        _double(lib, obs, case, body)
    return obs


def _double(lib: Any, obs: dict, case: Case, body: Any) -> None:
    """Second derivatives: the gradient of ``sum(w * out * out)`` taken with
    ``create_graph``, then the backward of a weighted sum of it."""
    x = make_leaf(lib, case)
    v = make_value(lib, case)
    leaves = [t for t in (x, v) if isinstance(t, lib.Tensor) and t.requires_grad]
    try:
        outs = [o for o in body(x, v) if o.requires_grad and o.is_floating_point()]
        if not outs:
            return
        loss = sum(
            (o * o * _rand(lib, tuple(o.shape), o.dtype, case.seed + 200 + k)).sum()
            for k, o in enumerate(outs)
        )
        grads = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        second = [
            (g * _rand(lib, tuple(g.shape), g.dtype, case.seed + 300 + k)).sum()
            for k, g in enumerate(grads)
            if g is not None and g.requires_grad
        ]
        for k, g in enumerate(grads):
            obs[f"first {k}"] = arr(g)
        if second:
            sum(second).backward()
    except Exception as exc:  # noqa: BLE001
        obs["double"] = Err(exc)
        return
    for k, leaf in enumerate(leaves):
        obs[f"second {k}"] = arr(leaf.grad)


def _dim_op(lib: Any, case: Case, x: Any, idx: Any, v: Any) -> Any:
    t = idx[0] if isinstance(idx, tuple) else idx
    op, d = case.op, case.index2[0][1] if case.index2 else 0
    if op in DIM_OPS_S38:
        return dim_op_s38(lib, case, x, t, d, v)
    if op in DIM_OPS_S40:
        return dim_op_s40(lib, case, x, t, d, v)
    if op in DIM_OPS_S41:
        return dim_op_s41(lib, case, x, t, d, v)
    if op in DIM_OPS_S42:
        return dim_op_s42(lib, case, x, t, d, v)
    if op in DIM_OPS_S44:
        return dim_op_s44(lib, case, x, t, d, v)
    if op == "take":
        return lib.take(x, t)
    if op == "gather":
        return lib.gather(x, d, t)
    if op == "index_select":
        return lib.index_select(x, d, t)
    if op == "take_along_dim":
        return lib.take_along_dim(x, t, dim=d)
    if op == "masked_select":
        return lib.masked_select(x, t)
    if op == "masked_fill_":
        return x.clone().masked_fill_(t, v)
    if op == "index_fill_":
        return x.clone().index_fill_(d, t, v)
    if op == "index_add_":
        return x.clone().index_add_(d, t, v, alpha=2 if d % 2 else 1)
    if op == "index_copy_":
        return x.clone().index_copy_(d, t, v)
    if op == "scatter_add_":
        return x.clone().scatter_add_(d, t, v)
    if op == "scatter_reduce_":
        # not "prod": torch 2.13's forward-mode scatter_reduce_(reduce="prod") always fails
        # ("Expected a proper Tensor but got None ... 'src'"; test_found_cases_s37.py, xfail)
        how = ("sum", "mean", "amax", "amin")[case.seed % 4]
        return x.clone().scatter_reduce_(d, t, v, how, include_self=case.seed // 4 % 2 == 0)
    return x.clone().put_(t, v, accumulate=op == "put_acc_")
