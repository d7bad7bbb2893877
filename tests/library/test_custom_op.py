"""``cr.library.custom_op`` against ``torch.library.custom_op``: names, schemas inferred from
annotations, argument checks, returns that alias inputs, declared mutation."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import pytest

import chainrule as cr

from ._annotations import typed

torch = pytest.importorskip("torch")

_ids = itertools.count()


def _ns(tag: str) -> str:
    """A namespace no other test uses (both registries are process-wide)."""
    return f"crlib_{tag}_{next(_ids)}"


def _error(fn: Any, *args: Any, **kwargs: Any) -> tuple[type, str]:
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the test compares whatever was raised
        return type(exc), str(exc)
    raise AssertionError("expected an error")


def _prototypes(T: Any, dtype: Any, device: Any) -> list[Any]:
    """Functions covering the annotation kinds, written once for either framework."""

    def many(
        x: list[T],
        y: Optional[T],  # noqa: UP045 - PyTorch's spelling is what is being tested
        a: Sequence[int],
        b: float,
        c: bool,
        d: str,
        e: Optional[int] = None,  # noqa: UP045
        f: float = 1.5,
        g: int = 2,
        h: bool = True,
        i: str = "hi",
    ) -> list[T]: ...

    def kw(x: T, y: T, *, s: float = 2.0) -> tuple[T, T]: ...

    def mut(n: int, x: T, y: T) -> None: ...

    def scal(x: T, z: int | float | bool, dt: dtype, dev: device, q: Sequence[int] | None) -> T: ...

    def lists(x: Sequence[T], y: list[Optional[T]], f: Sequence[float], b: list[bool]) -> T: ...  # noqa: UP045

    def rets(x: T) -> tuple[T, int]: ...

    names = {"T": T, "dtype": dtype, "device": device}
    return [typed(f, **names) for f in (many, kw, mut, scal, lists, rets)]


@pytest.mark.parametrize("mutates", [(), "unknown"])
def test_inferred_schemas_match_torch(mutates: Any) -> None:
    ours = _prototypes(cr.Tensor, cr.dtype, cr.device)
    theirs = _prototypes(torch.Tensor, torch.dtype, torch.device)
    for f, g in zip(ours, theirs):
        want = torch.library.infer_schema(g, mutates_args=mutates)
        assert cr.library.infer_schema(f, mutates_args=mutates) == want, f.__name__
    assert cr.library.infer_schema(ours[2], mutates_args=("y",)) == (
        torch.library.infer_schema(theirs[2], mutates_args=("y",))
    )
    assert cr.library.infer_schema(ours[1], mutates_args=(), op_name="foo").startswith("foo(")


def _bad_functions(T: Any) -> dict[str, Any]:
    def no_annotation(x): ...  # noqa: ANN001, ANN202

    def no_return(x: T): ...  # noqa: ANN202

    def dict_param(x: dict) -> T: ...

    def varargs(x: T, *args: T) -> T: ...

    def optional_return(x: T) -> Optional[T]: ...  # noqa: UP045

    def tuple_default(x: T, f: float = (1.0,)) -> T: ...  # type: ignore[assignment]

    fns = (no_annotation, no_return, dict_param, varargs, optional_return, tuple_default)
    return {f.__name__: typed(f, T=T) for f in fns}


def test_unsupported_annotations_raise_value_error_like_torch() -> None:
    ours, theirs = _bad_functions(cr.Tensor), _bad_functions(torch.Tensor)
    for name in ours:
        t_type, t_msg = _error(
            torch.library.custom_op, f"{_ns('bad')}::f", theirs[name], mutates_args=()
        )
        c_type, c_msg = _error(
            cr.library.custom_op, f"{_ns('bad')}::f", ours[name], mutates_args=()
        )
        assert c_type is t_type is ValueError, name
        assert c_msg.split(". ")[0].split(" has ")[0] == t_msg.split(". ")[0].split(" has ")[0]


def test_mutates_args_errors_match_torch() -> None:
    def make(T: Any) -> tuple[Any, Any]:
        def f(x: T) -> None: ...

        def g(x: T, n: int) -> T: ...

        return typed(f, T=T), typed(g, T=T)

    cases = [("f", ("y",)), ("f", "x"), ("g", ("n",))]
    (cf, cg), (tf, tg) = make(cr.Tensor), make(torch.Tensor)
    for which, mutates in cases:
        ours, theirs = (cf, tf) if which == "f" else (cg, tg)
        t = _error(torch.library.custom_op, f"{_ns('m')}::f", theirs, mutates_args=mutates)
        c = _error(cr.library.custom_op, f"{_ns('m')}::f", ours, mutates_args=mutates)
        assert c[0] is t[0] is ValueError
        assert c[1].split(" Got func")[0] == t[1].split(" Got func")[0]
    with pytest.raises(TypeError, match="mutates_args"):
        cr.library.custom_op(f"{_ns('m')}::f", cf)


@pytest.mark.parametrize("name", ["noops", "a::b::c", "ns::badname.default", 3])
def test_bad_names_raise_torchs_error_types(name: Any) -> None:
    def cf(x: cr.Tensor) -> cr.Tensor: ...

    def tf(x: torch.Tensor) -> torch.Tensor: ...

    t_type, _ = _error(lambda: torch.library.custom_op(name, tf, mutates_args=()))
    c_type, _ = _error(lambda: cr.library.custom_op(name, cf, mutates_args=()))
    assert c_type is t_type


@pytest.mark.parametrize("name", ["::badname", "my-lib::badname", "mylib::1op"])
def test_invalid_identifiers_raise_runtime_error(name: str) -> None:
    # torch raises RuntimeError too (checked by hand), but its failed registration of such a
    # name breaks its later compile-based opcheck runs in this process: not called here
    def cf(x: cr.Tensor) -> cr.Tensor: ...

    with pytest.raises(RuntimeError, match="not a valid identifier"):
        cr.library.custom_op(name, cf, mutates_args=())


def test_call_through_def_packet_and_overload() -> None:
    ns = _ns("call")

    @cr.library.custom_op(f"{ns}::scale", mutates_args=())
    def scale(x: cr.Tensor, n: int, *, s: float = 2.0) -> cr.Tensor:
        return x * n * s

    assert repr(scale) == f"<CustomOpDef({ns}::scale)>"
    x = cr.tensor([1.0, 2.0])
    packet = getattr(cr.ops, ns).scale
    assert str(packet) == f"{ns}.scale" and str(packet.default) == f"{ns}.scale.default"
    assert packet.overloads() == ["default"] and packet.default.name() == f"{ns}::scale"
    for fn in (scale, packet, packet.default):
        assert fn(x, 3, s=0.5).tolist() == [1.5, 3.0]
        assert fn(x, True).tolist() == [2.0, 4.0]  # a bool is an int, as in torch
    with pytest.raises(AttributeError, match="has no attribute 'nosuch'"):
        packet = getattr(cr.ops, ns).nosuch
    with pytest.raises(AttributeError):
        cr.ops.crlib_never_registered  # noqa: B018
    assert cr.ops.sum is cr.sum  # real ops win


def test_argument_errors_match_torch() -> None:
    ns = _ns("args")
    ops = {}
    for lib, T in ((cr, cr.Tensor), (torch, torch.Tensor)):

        def f1(x: T, n: int, s: float = 2.0) -> T:  # noqa: B023
            return x * n * s

        ops[lib] = lib.library.custom_op(f"{ns}::f1", typed(f1, T=T), mutates_args=())
    calls = [
        lambda lib: ops[lib](lib.ones(2), 2.5),
        lambda lib: ops[lib](lib.ones(2), 2, "a"),
        lambda lib: ops[lib](3, 2),
        lambda lib: ops[lib](lib.ones(2), 2, 1.0, 4),
        lambda lib: ops[lib](),
    ]
    for call in calls:
        t_type, t_msg = _error(lambda: call(torch))  # noqa: B023
        c_type, c_msg = _error(lambda: call(cr))  # noqa: B023
        assert c_type is t_type is RuntimeError
        # first line and declaration agree (torch adds pybind11's cast details)
        assert c_msg.splitlines()[0] == t_msg.splitlines()[0]
        assert t_msg.split("Declaration: ")[1].startswith(c_msg.split("Declaration: ")[1][:14])


def test_returning_an_input_or_a_view_of_one_raises() -> None:
    ns = _ns("alias")
    bodies = {
        "same": lambda x: x,
        "view": lambda x: x.view(-1),
        "slice": lambda x: x[1:],
    }
    for name, body in bodies.items():

        def cf(x: cr.Tensor) -> cr.Tensor:
            return body(x)  # noqa: B023

        def tf(x: torch.Tensor) -> torch.Tensor:
            return body(x)  # noqa: B023

        c_op = cr.library.custom_op(f"{ns}::{name}", cf, mutates_args=())
        t_op = torch.library.custom_op(f"{ns}::{name}", tf, mutates_args=())
        t_msg = _error(lambda: t_op(torch.ones(3)))[1]  # noqa: B023
        for req in (False, True):
            c_type, c_msg = _error(lambda: c_op(cr.ones(3, requires_grad=req)))  # noqa: B023
            assert c_type is RuntimeError
            assert c_msg.split("): ")[1] == t_msg.split("): ")[1]

    @cr.library.custom_op(f"{ns}::pair", mutates_args=())
    def pair(x: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
        y = x.clone()
        return y, y

    with pytest.raises(RuntimeError, match="may not alias any inputs"):
        pair(cr.ones(2))

    @cr.library.custom_op(f"{ns}::fresh", mutates_args=())
    def fresh(x: cr.Tensor) -> cr.Tensor:
        return cr.from_numpy(np.sin(x.numpy()))

    assert fresh(cr.zeros(2)).tolist() == [0.0, 0.0]


def test_wrong_return_types_raise_like_torch() -> None:
    ns = _ns("ret")
    kinds = {
        "int_for_tensor": (lambda x: 3, False),
        "one_for_two": (lambda x: x.clone(), True),
        "two_for_one": (lambda x: (x.clone(), x.clone()), False),
    }
    for name, (body, two) in kinds.items():
        res = {}
        for lib in (cr, torch):
            T = lib.Tensor

            def f(x: T) -> T:
                return body(x)  # noqa: B023

            def g(x: T) -> tuple[T, T]:
                return body(x)  # noqa: B023

            fn = typed(g, T=T) if two else typed(f, T=T)
            op = lib.library.custom_op(f"{ns}::{name}", fn, mutates_args=())
            res[lib] = _error(lambda: op(lib.ones(2)))  # noqa: B023
        assert res[cr][0] is res[torch][0], name
        if name == "int_for_tensor":
            assert res[cr][1] == res[torch][1]


def test_declared_mutation_bumps_the_version_like_torch() -> None:
    ns = _ns("mut")
    versions = {}
    for lib in (cr, torch):
        T = lib.Tensor

        def add_np(x: T) -> None:
            x.numpy()[...] += 1

        def add_op(x: T) -> None:
            x.add_(1)

        def add_list(xs: list[T]) -> None:
            for t in xs:
                t.add_(1)

        add_np, add_op, add_list = (typed(f, T=T) for f in (add_np, add_op, add_list))
        a = lib.library.custom_op(f"{ns}::np", add_np, mutates_args=("x",))
        b = lib.library.custom_op(f"{ns}::op", add_op, mutates_args="unknown")
        c = lib.library.custom_op(f"{ns}::lst", add_list, mutates_args=("xs",))
        x, y, zs = lib.zeros(3), lib.zeros(3), [lib.zeros(2), lib.zeros(2)]
        assert a(x) is None
        b(y)
        c(zs)
        versions[lib] = (x._version, y._version, [z._version for z in zs], x.tolist())
    assert versions[cr] == versions[torch] == (1, 2, [2, 2], [1.0, 1.0, 1.0])


def test_mutating_a_tensor_saved_for_backward_fails_the_backward() -> None:
    @cr.library.custom_op(f"{_ns('saved')}::bump", mutates_args=("x",))
    def bump(x: cr.Tensor) -> None:
        x.numpy()[...] += 1

    w = cr.ones(3, requires_grad=True)
    x = cr.zeros(3)
    out = (w * x).sum()
    bump(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation|version"):
        out.backward()


def test_kernels_and_device_types() -> None:
    ns = _ns("kern")

    @cr.library.custom_op(f"{ns}::k", mutates_args=(), device_types="cpu")
    def k(x: cr.Tensor) -> cr.Tensor:
        return x + 1

    assert k(cr.zeros(1)).tolist() == [1.0]
    assert k.register_kernel("cpu", lambda x: x + 10)(cr.zeros(1)) == 10  # returns the function
    assert k(cr.zeros(1)).tolist() == [10.0]
    cr.library.register_kernel(f"{ns}::k", ("cpu",), lambda x: x + 20)
    assert k(cr.zeros(1)).tolist() == [20.0]
    k.register_kernel(None, lambda x: x + 30)  # a device-specific kernel wins, as in torch
    assert k(cr.zeros(1)).tolist() == [20.0]
    with pytest.raises(NotImplementedError, match="'cuda'"):
        k.register_kernel("cuda", lambda x: x)
    with pytest.raises(RuntimeError, match="device string: tpu"):
        k.register_kernel("tpu", lambda x: x)
    with pytest.raises(NotImplementedError, match="'cuda'"):
        cr.library.custom_op(f"{ns}::c", lambda x: x, mutates_args=(), device_types="cuda")


def test_redefining_a_name_replaces_it_as_in_torch() -> None:
    ns = _ns("redef")

    def one(x: cr.Tensor) -> cr.Tensor:
        return x + 1

    def two(x: cr.Tensor) -> cr.Tensor:
        return x + 2

    cr.library.custom_op(f"{ns}::f", one, mutates_args=())
    cr.library.custom_op(f"{ns}::f", two, mutates_args=())
    assert getattr(cr.ops, ns).f(cr.zeros(1)).tolist() == [2.0]


def test_explicit_schema_and_kernel_without_grad() -> None:
    ns = _ns("schema")

    def f(x, n):  # noqa: ANN001, ANN202 - the schema is given, annotations are not needed
        return x * n

    op = cr.library.custom_op(f"{ns}::f", f, mutates_args=(), schema="(Tensor x, int n) -> Tensor")
    t_op = torch.library.custom_op(
        f"{ns}::f", f, mutates_args=(), schema="(Tensor x, int n) -> Tensor"
    )
    assert str(op._opoverload._schema) == str(t_op._opoverload._schema)
    y = op(cr.ones(2), 3)
    assert y.tolist() == [3.0, 3.0] and not y.requires_grad
    with cr.no_grad():
        assert not op(cr.ones(2, requires_grad=True), 2).requires_grad
