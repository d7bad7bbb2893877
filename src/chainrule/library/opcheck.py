"""``opcheck``: tests that a custom operator was registered correctly (PyTorch's
``torch.library.opcheck``), as far as they mean something without a compiler.

Each test runs the operator on fresh copies of the given arguments (a test that mutates them
cannot spoil the next) and either passes (``"SUCCESS"``) or raises (:class:`OpCheckError`,
or the exception itself in the returned dict with ``raise_exception=False``). The tests keep
PyTorch's names:

- ``test_schema``: every tensor the schema does not declare mutated is unchanged by the call
  (and the call's arguments and returns fit the schema, which every call checks).
- ``test_autograd_registration``: with an input that requires grad, every floating output is
  recorded in the graph; when a formula is registered and the inputs that require grad are
  float64 (or complex128) direct tensor arguments of an op that mutates nothing, its backward
  is compared with finite differences (:func:`chainrule.autograd.gradcheck` in fast mode: a
  random projection of the Jacobian, so large inputs stay cheap). PyTorch does
  not compare gradients here: a wrong ``backward`` that passes PyTorch's opcheck fails this.
- ``test_faketensor``: a fake function is registered, and called on ``empty_like`` inputs it
  returns outputs of the shapes and dtypes the real kernel returns (PyTorch compares strides
  too; chainrule does not, its layouts of views and copies are NumPy's).
- ``test_aot_dispatch_dynamic`` / ``test_aot_dispatch_static``: PyTorch compiles the op's
  forward and backward and compares them with eager mode. chainrule has no compiler; this
  test runs the forward (and, with an input that requires grad, the backward) twice and
  compares the results, so a nondeterministic kernel or a missing autograd formula fails it
  (as the latter fails PyTorch's); like PyTorch's it needs the fake function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd import grad as _autograd_grad
from ..autograd import grad_mode
from ..autograd.gradcheck import gradcheck
from ..autograd.tensor import Tensor
from ..creation_like import empty_like, ones_like
from .binding import bind_arguments, tensors_of
from .custom_op import CustomOpDef
from .operator import OpEntry, OpOverload, OpOverloadPacket

__all__ = ["OpCheckError", "opcheck"]

DEFAULT_TEST_UTILS = (
    "test_schema",
    "test_autograd_registration",
    "test_faketensor",
    "test_aot_dispatch_dynamic",
)
_ALL_TEST_UTILS = (
    "test_schema",
    "test_autograd_registration",
    "test_faketensor",
    "test_aot_dispatch_static",
    "test_aot_dispatch_dynamic",
)


class OpCheckError(Exception):
    """A test of :func:`opcheck` failed (PyTorch's ``OpCheckError``); ``__cause__`` is the
    error the test raised."""


def _fresh(value: Any) -> Any:
    """A copy of an argument that shares nothing with it (requires_grad kept)."""
    if isinstance(value, Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    return value


def _values(entry: OpEntry, args: tuple, kwargs: dict) -> list:
    return [_fresh(v) for v in bind_arguments(entry.schema, entry.qualname, args, kwargs)]


def _call(entry: OpEntry, values: list) -> tuple:
    """Call the operator on ``values`` (schema order); its returns as a tuple."""
    pos = [v for v, a in zip(values, entry.schema.arguments) if not a.kwarg_only]
    kw = {a.name: v for v, a in zip(values, entry.schema.arguments) if a.kwarg_only}
    out = entry.call(tuple(pos), kw)
    return _as_returns(entry, out)


def _as_returns(entry: OpEntry, out: Any) -> tuple:
    n = len(entry.schema.returns)
    if n == 0:
        return ()
    return (out,) if n == 1 else tuple(out)


def _test_schema(entry: OpEntry, args: tuple, kwargs: dict, tol: dict) -> None:
    values = _values(entry, args, kwargs)
    before = [
        [t._data.copy() for t in tensors_of(v)] if not a.mutable else None
        for v, a in zip(values, entry.schema.arguments)
    ]
    _call(entry, values)
    for v, a, old in zip(values, entry.schema.arguments, before):
        if old is None:
            continue
        for t, o in zip(tensors_of(v), old):
            same = t._data.shape == o.shape and np.array_equal(
                t._data, o, equal_nan=o.dtype.kind in "fc"
            )
            if not same:
                raise RuntimeError(f"Argument {a.name} is not defined as mutable but was mutated")


def _grad_inputs(values: list) -> list[Tensor]:
    return [t for v in values for t in tensors_of(v) if t.requires_grad]


def _test_autograd_registration(entry: OpEntry, args: tuple, kwargs: dict, tol: dict) -> None:
    values = _values(entry, args, kwargs)
    if not _grad_inputs(values) or not grad_mode.is_grad_enabled():
        return
    outs = _call(entry, values)
    for t in (t for v in outs for t in tensors_of(v)):
        if t.dtype.kind in "fc" and t.grad_fn is None:
            raise RuntimeError(
                f"{entry.qualname}: an input requires grad but an output is not recorded in the "
                "autograd graph; register a formula with register_autograd"
            )
    direct = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]
    double = all(values[i].dtype.name in ("float64", "complex128") for i in direct)
    nested = len(direct) != len(_grad_inputs(values))
    if entry.backward_fn is None or entry.mutated or not double or nested:
        return

    def fn(*ts: Tensor) -> Any:
        vals = list(values)
        for i, t in zip(direct, ts):
            vals[i] = t
        outs = [t for v in _call(entry, vals) for t in tensors_of(v) if t.dtype.kind in "fc"]
        return outs[0] if len(outs) == 1 else tuple(outs)

    extra = {k: v for k, v in tol.items() if v is not None}
    # fast mode (one random projection uᵀ J v per input): cost independent of the sizes
    gradcheck(fn, tuple(values[i] for i in direct), fast_mode=True, **extra)


def _no_fake_error(entry: OpEntry) -> RuntimeError:
    return RuntimeError(
        f"There was no fake impl registered for <CustomOpDef({entry.qualname})>. This is "
        "necessary for torch.compile/export/fx tracing to work (and for opcheck's check of the "
        f"output shapes and dtypes). Please use `{entry.name}.register_fake` to add an fake impl."
    )


def _test_faketensor(entry: OpEntry, args: tuple, kwargs: dict, tol: dict) -> None:
    if entry.fake_fn is None:
        raise _no_fake_error(entry)
    values = _values(entry, args, kwargs)
    fakes = [_fake(v) for v in values]
    with grad_mode.no_grad():
        real = _call(entry, values)
        pos = [v for v, a in zip(fakes, entry.schema.arguments) if not a.kwarg_only]
        kw = {a.name: v for v, a in zip(fakes, entry.schema.arguments) if a.kwarg_only}
        fake = _as_returns(entry, entry.fake_fn(*pos, **kw))
    where = f"When comparing the output of {entry.ns}.{entry.name}.default on FakeTensor and "
    for r, f in zip(real, fake):
        rs, fs = tensors_of(r), tensors_of(f)
        if len(rs) != len(fs) or (isinstance(r, Tensor) and not isinstance(f, Tensor)):
            raise RuntimeError(f"{where}concrete Tensors, found mismatched output structure")
        for rt, ft in zip(rs, fs):
            if rt.shape != ft.shape:
                raise RuntimeError(
                    f"{where}concrete Tensors, found mismatched tensor metadata: Shapes "
                    f"{rt.shape} and {ft.shape} are not equal!"
                )
            if rt.dtype != ft.dtype:
                raise RuntimeError(
                    f"{where}concrete Tensors, found mismatched tensor metadata: Dtypes "
                    f"{rt.dtype} and {ft.dtype} are not equal!"
                )


def _fake(value: Any) -> Any:
    if isinstance(value, Tensor):
        return empty_like(value.detach())
    if isinstance(value, (list, tuple)):
        return type(value)(_fake(v) for v in value)
    return value


def _run_once(entry: OpEntry, args: tuple, kwargs: dict) -> list[np.ndarray]:
    values = _values(entry, args, kwargs)
    ins = _grad_inputs(values) if grad_mode.is_grad_enabled() else []
    outs = [t for v in _call(entry, values) for t in tensors_of(v)]
    result = [t._data.copy() for t in outs]
    diff = [t for t in outs if t.requires_grad]
    if ins and diff:
        grads = _autograd_grad(
            diff, ins, grad_outputs=[ones_like(t) for t in diff], allow_unused=True
        )
        result += [g._data.copy() for g in grads if g is not None]
    return result


def _test_aot_dispatch(entry: OpEntry, args: tuple, kwargs: dict, tol: dict) -> None:
    if entry.fake_fn is None:
        raise _no_fake_error(entry)
    first = _run_once(entry, args, kwargs)
    second = _run_once(entry, args, kwargs)
    rtol = 1e-7 if tol["rtol"] is None else tol["rtol"]
    atol = 0.0 if tol["atol"] is None else tol["atol"]
    for a, b in zip(first, second):
        if a.shape != b.shape or not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            raise RuntimeError(
                f"{entry.qualname}: two runs of the op's forward/backward on the same inputs "
                "gave different results (chainrule's stand-in for comparing a compiled run "
                "with eager mode)"
            )


_TESTS: dict[str, Callable] = {
    "test_schema": _test_schema,
    "test_autograd_registration": _test_autograd_registration,
    "test_faketensor": _test_faketensor,
    "test_aot_dispatch_static": _test_aot_dispatch,
    "test_aot_dispatch_dynamic": _test_aot_dispatch,
}


def opcheck(
    op: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    *,
    test_utils: str | Sequence[str] = DEFAULT_TEST_UTILS,
    raise_exception: bool = True,
    atol: float | None = None,
    rtol: float | None = None,
) -> dict[str, Any]:
    """Test a custom operator's registrations on sample arguments (see the module docstring
    for what each test checks here and how that differs from PyTorch).

    Returns:
        ``{test name: "SUCCESS"}`` for the tests run, in ``test_utils`` order; with
        ``raise_exception=False`` a failed test maps to its exception instead of raising
        :class:`OpCheckError`.
    """
    if not isinstance(op, (CustomOpDef, OpOverload, OpOverloadPacket)):
        raise ValueError(
            "opcheck(op, ...): op must be a custom operator (a CustomOpDef, or "
            f"cr.ops.<namespace>.<name> or its .default), got {type(op)}"
        )
    tests = (test_utils,) if isinstance(test_utils, str) else tuple(test_utils)
    if not set(tests) <= set(_ALL_TEST_UTILS):
        raise ValueError(
            f"opcheck(op, ..., test_utils={test_utils}), expected test_utils to be subset of "
            f"{_ALL_TEST_UTILS} but it was not"
        )
    entry = op._entry
    args = tuple(args)
    kwargs = {} if kwargs is None else dict(kwargs)
    tol = {"atol": atol, "rtol": rtol}
    results: dict[str, Any] = {}
    for name in tests:
        try:
            _TESTS[name](entry, args, kwargs, tol)
        except Exception as exc:
            if raise_exception:
                raise OpCheckError(
                    f"opcheck(op, ...): {name} failed with {exc} (scroll up for stack trace)"
                ) from exc
            results[name] = exc
        else:
            results[name] = "SUCCESS"
    return results
