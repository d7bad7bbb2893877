"""``cr.library.Library`` (``define`` + ``impl``) and schema strings against torch."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import chainrule as cr
from chainrule.library.schema import parse_schema

torch = pytest.importorskip("torch")

_ids = itertools.count()
# torch drops a Library's registrations when the object is collected, and its clean-up of a
# failed definition breaks later torch.ops look-ups: every torch Library made here is kept.
_KEEP: list[Any] = []


def _ns() -> str:
    return f"crlib_lib_{next(_ids)}"


def _error(fn: Any) -> tuple[type, str]:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the test compares whatever was raised
        return type(exc), str(exc)
    raise AssertionError("expected an error")


@pytest.mark.parametrize(
    "schema",
    [
        "f(Tensor x, int n=2, float s=1.5, *, bool flag=False) -> Tensor",
        'g(Tensor(a!) x, Tensor? y=None, int[] dims=[0, 1], str mode="sum") -> (Tensor, Tensor)',
        "h(Tensor[] xs, Scalar alpha=1, ScalarType? dtype=None) -> Tensor[]",
        "k(Tensor x) -> ()",
    ],
)
def test_defined_schemas_print_like_torch(schema: str) -> None:
    ns = _ns()
    cr_lib, t_lib = cr.library.Library(ns, "DEF"), torch.library.Library(ns, "DEF")
    _KEEP.append(t_lib)
    assert cr_lib.define(schema) == t_lib.define(schema)
    name = schema.split("(")[0]
    want = str(getattr(getattr(torch.ops, ns), name).default._schema)
    assert f"{ns}::{parse_schema(schema)}" == want


def test_define_and_impl_patterns() -> None:
    ns = _ns()
    results = {}
    for lib in (cr, torch):
        L = lib.library.Library(ns, "DEF")
        _KEEP.append(L)
        L.define("sq(Tensor x, int n=2) -> Tensor")
        L.impl("sq", lambda x, n=2: x**n)  # default key: CompositeImplicitAutograd
        L.define("cube(Tensor x) -> Tensor")
        L.impl("cube", lambda x: x * x * x, "CPU")
        lib.library.register_autograd(
            f"{ns}::cube",
            lambda ctx, g: g * 3 * ctx.saved_tensors[0] ** 2,
            setup_context=lambda ctx, inputs, output: ctx.save_for_backward(inputs[0]),
        )
        ops = getattr(lib.ops, ns)
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        (ops.sq(x, 3) + ops.cube.default(x)).sum().backward()
        results[lib] = (ops.sq(x).tolist(), x.grad.tolist())
    assert results[cr] == results[torch]


def test_cpu_kernel_without_formula_is_traced_and_warns_at_backward() -> None:
    ns = _ns()
    L = cr.library.Library(ns, "DEF")
    L.define("noag(Tensor x) -> Tensor")
    L.impl("noag", lambda x: x.sin(), "CPU")
    x = cr.ones(2, dtype=cr.float64, requires_grad=True)
    y = getattr(cr.ops, ns).noag(x)
    with pytest.warns(UserWarning, match="an autograd kernel was not registered"):
        y.sum().backward()
    assert x.grad.tolist() == pytest.approx([0.5403023058681398] * 2)


def test_undefined_kernel_and_library_errors_match_torch() -> None:
    ns = _ns()
    pairs = {lib: lib.library.Library(ns, "DEF") for lib in (cr, torch)}
    _KEEP.append(pairs[torch])
    for L in pairs.values():
        L.define("nokernel(Tensor x) -> Tensor")
    cases = [
        lambda lib: getattr(lib.ops, ns).nokernel(lib.ones(1)),
        lambda lib: lib.library.Library(ns, "DEF"),
        lambda lib: lib.library.Library(ns, "BAD"),
        lambda lib: lib.library.Library(ns, "IMPL").define("f(Tensor x) -> Tensor"),
        lambda lib: pairs[lib].define("nokernel(Tensor x) -> Tensor"),
        lambda lib: pairs[lib].define("other::f(Tensor x) -> Tensor"),
        lambda lib: pairs[lib].define("f(Tensor x) -> Tensor", alias_analysis="BAD"),
        lambda lib: pairs[lib].impl("nokernel", lambda x: x, "BadKey"),
        lambda lib: getattr(lib.ops, ns).nokernel(lib.ones(1), 2),
    ]
    for i, case in enumerate(cases):
        t_type, t_msg = _error(lambda: case(torch))  # noqa: B023
        c_type, c_msg = _error(lambda: case(cr))  # noqa: B023
        assert c_type is t_type, i
        assert c_msg.split(".")[0].split(" in ")[0] == t_msg.split(".")[0].split(" in ")[0], i


def test_unsupported_keys_raise_not_implemented() -> None:
    L = cr.library.Library(_ns(), "FRAGMENT")
    L.define("f(Tensor x) -> Tensor")
    with pytest.raises(NotImplementedError, match="'CUDA'"):
        L.impl("f", lambda x: x, "CUDA")
    with pytest.raises(NotImplementedError, match="overload names"):
        L.define("g.out(Tensor x) -> Tensor")


def test_module_level_define_and_impl_match_torch() -> None:
    ns = _ns()
    got = {}
    for lib in (cr, torch):
        assert lib.library.define(f"{ns}::sq", "(Tensor x, int n=2) -> Tensor") is None

        @lib.library.impl(f"{ns}::sq", "cpu")
        def _(x: Any, n: int = 2) -> Any:
            return x**n

        got[lib] = getattr(lib.ops, ns).sq(lib.tensor([3.0]), 3).tolist()
    assert got[cr] == got[torch] == [27.0]
    t_type, _ = _error(lambda: torch.library.define("nonamespace", "(Tensor x) -> Tensor"))
    c_type, _ = _error(lambda: cr.library.define("nonamespace", "(Tensor x) -> Tensor"))
    assert c_type is t_type is ValueError
    with pytest.raises(NotImplementedError, match="'cuda'"):
        cr.library.impl(f"{ns}::sq", "cuda", lambda x, n=2: x)


def test_autograd_key_kernel_handles_autograd_itself() -> None:
    ns = _ns()
    got = {}
    for lib in (cr, torch):

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                return 3 * g * x  # deliberately not 2x: shows this rule is the one used

        L = lib.library.Library(ns, "DEF")
        _KEEP.append(L)
        L.define("sq(Tensor x) -> Tensor")
        L.impl("sq", Square.apply, "Autograd")
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        getattr(lib.ops, ns).sq(x).sum().backward()
        got[lib] = x.grad.tolist()
    assert got[cr] == got[torch] == [3.0, 6.0]


def test_register_fake_by_name_and_unknown_names() -> None:
    ns = _ns()
    L = cr.library.Library(ns, "DEF")
    L.define("f(Tensor x) -> Tensor")
    L.impl("f", lambda x: x * 2, "CPU")
    fake = cr.library.register_fake(f"{ns}::f", lambda x: cr.empty_like(x))
    assert callable(fake)
    x = cr.ones(2)
    assert cr.library.opcheck(getattr(cr.ops, ns).f.default, (x,))["test_faketensor"] == "SUCCESS"
    t_type, t_msg = _error(lambda: torch.library.register_fake(f"{ns}::nosuch", lambda x: x))
    c_type, c_msg = _error(lambda: cr.library.register_fake(f"{ns}::nosuch", lambda x: x))
    assert (c_type, c_msg) == (t_type, t_msg)
    with pytest.raises(NotImplementedError, match="lib="):
        cr.library.register_fake(f"{ns}::f", lambda x: x, lib=L)
