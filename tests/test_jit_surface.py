"""``cr.jit`` behaves as PyTorch's ``torch.jit`` with the JIT off (``PYTORCH_JIT=0``).

One probe, written against a ``torch_like`` module, records what ``script``/``trace``/
``fork``/``freeze``/... return, raise and warn; it is run under chainrule here and under
PyTorch in a subprocess with ``PYTORCH_JIT=0`` (the mode PyTorch documents for running
TorchScript code as Python), and the records must agree. The rest compares with PyTorch in
this process, where the functions tested behave the same with the JIT on or off.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import threading
import typing
from pathlib import Path
from typing import Any

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_PROBE = """
import warnings
from typing import Any


def probe(torch: Any) -> dict:
    out: dict = {}

    def f(x):
        return x * 2

    class M(torch.nn.Module):
        def forward(self, x):
            return x + 1

    with warnings.catch_warnings():  # script_method warns as the class is defined
        warnings.simplefilter("ignore", DeprecationWarning)

        class SM(torch.jit.ScriptModule):
            def __init__(self):
                super().__init__()
                self.scale = 3.0

            @torch.jit.script_method
            def forward(self, x):
                return x * self.scale

    class Iface(torch.nn.Module):
        def forward(self, x: int) -> int:
            pass

    def warned(fn):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                result = fn()
            except Exception as e:
                result = [type(e).__name__, str(e)]
        return result, sorted({x.category.__name__ for x in w})

    m = M()
    checks = {
        "script_fn": lambda: torch.jit.script(f) is f,
        "script_module": lambda: torch.jit.script(m) is m,
        "script_class": lambda: torch.jit.script(M) is M,
        "script_kwargs": lambda: torch.jit.script(f, optimize=None, example_inputs=[(1,)]) is f,
        "script_int": lambda: torch.jit.script(3),
        "trace_fn": lambda: torch.jit.trace(f, torch.ones(2)) is f,
        "trace_module": lambda: torch.jit.trace(m, (torch.ones(2),)) is m,
        "trace_kwargs": lambda: torch.jit.trace(
            f, example_kwarg_inputs={"x": torch.ones(1)}, check_trace=False, strict=False
        ) is f,
        "trace_module_fn": lambda: torch.jit.trace_module(m, {"forward": torch.ones(2)}) is m,
        "script_method": lambda: torch.jit.script_method(f) is f,
        "scripted_is_script_module": lambda: isinstance(
            torch.jit.script(m), torch.jit.ScriptModule
        ),
        "scripted_is_recursive": lambda: isinstance(
            torch.jit.script(m), torch.jit.RecursiveScriptModule
        ),
        "scripted_is_script_function": lambda: isinstance(
            torch.jit.script(f), torch.jit.ScriptFunction
        ),
        "script_module_subclass": lambda: SM()(torch.ones(2)).tolist(),
        "script_module_is_module": lambda: isinstance(SM(), torch.nn.Module),
        "script_if_tracing": lambda: torch.jit.script_if_tracing(f)(torch.ones(1)).tolist(),
        "interface": lambda: torch.jit.interface(Iface) is Iface,
        "attribute": lambda: torch.jit.Attribute([1], list),
        "fork_wait": lambda: torch.jit.wait(
            torch.jit.fork(lambda x, y=1: x + y, torch.ones(1), y=3)
        ).tolist(),
        "fork_done": lambda: torch.jit.fork(f, torch.ones(1)).done(),
        "fork_raises": lambda: torch.jit.fork(lambda: 1 / 0),
        "freeze": lambda: torch.jit.freeze(M().eval()),
        "freeze_training_script_module": lambda: torch.jit.freeze(SM()),
        "optimize_for_inference": lambda: torch.jit.optimize_for_inference(M()),
        "is_scripting": lambda: torch.jit.is_scripting(),
        "is_tracing": lambda: torch.jit.is_tracing(),
        "annotate": lambda: torch.jit.annotate(list, [1]),
        "error_is_exception": lambda: issubclass(torch.jit.Error, Exception),
        "tracer_warning": lambda: issubclass(torch.jit.TracerWarning, Warning),
    }
    for name, check in checks.items():
        out[name] = warned(check)
    return out
"""


def _probe_chainrule() -> dict:
    namespace: dict = {}
    exec(compile(_PROBE, "<probe>", "exec"), namespace)
    return json.loads(json.dumps(namespace["probe"](cr)))


def _probe_torch_without_jit(tmp_path: Path) -> dict:
    script = tmp_path / "probe.py"
    script.write_text(
        _PROBE + "\nimport json, torch\nprint(json.dumps(probe(torch)))\n", encoding="utf-8"
    )
    env = {**os.environ, "PYTORCH_JIT": "0"}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_probe_matches_torch_with_jit_off(tmp_path: Path) -> None:
    want = _probe_torch_without_jit(tmp_path)
    got = _probe_chainrule()
    assert got.keys() == want.keys()
    for name in want:
        (w_result, w_warns), (g_result, g_warns) = want[name], got[name]
        assert g_warns == w_warns, name
        if isinstance(w_result, list) and w_result and w_result[0] in ("RuntimeError",):
            # the same error; chainrule's message adds what to do instead
            assert g_result[0] == w_result[0] and g_result[1].startswith(w_result[1]), name
        elif isinstance(w_result, list) and w_result and w_result[0] == "AttributeError":
            # PyTorch fails inside freeze on an eager ScriptModule; chainrule says why
            assert g_result[0] == "NotImplementedError", name
        else:
            assert g_result == w_result, name


def test_script_and_trace_keep_autograd_working() -> None:
    # the function returned runs eagerly, so gradients flow as without the decorator
    def bias_gelu(bias: Any, y: Any) -> Any:
        x = bias + y
        return x * 0.5 * (1.0 + cr.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))

    with pytest.warns(DeprecationWarning, match="cr.jit.script. is deprecated"):
        assert cr.jit.script(bias_gelu) is bias_gelu

    b = cr.tensor([0.1, -0.2], dtype=cr.float64, requires_grad=True)
    tb = torch.tensor([0.1, -0.2], dtype=torch.float64, requires_grad=True)
    y = cr.tensor([[0.5, 1.0], [2.0, -1.0]], dtype=cr.float64)
    ty = torch.tensor([[0.5, 1.0], [2.0, -1.0]], dtype=torch.float64)
    bias_gelu(b, y).sum().backward()
    torch.nn.functional.gelu(tb + ty, approximate="tanh").sum().backward()
    assert cr.allclose(b.grad, cr.tensor(tb.grad.numpy()), rtol=1e-7)


_ISINSTANCE_TYPES = [
    int,
    float,
    list[int],
    typing.List[int],  # noqa: UP006 - PyTorch accepts both spellings
    list[float],
    dict[str, int],
    tuple[int, str],
    typing.Optional[int],  # noqa: UP045
    "tensor",
    "list_tensor",
    "dict_str_tensor",
]
_ISINSTANCE_VALUES = [1, 1.0, True, [1], [1.0], [], {"a": 1}, {1: 1}, (1, "a"), (1, 2), None]


def _resolve(target: Any, lib: Any) -> Any:
    return (
        {
            "tensor": lib.Tensor,
            "list_tensor": list[lib.Tensor],
            "dict_str_tensor": dict[str, lib.Tensor],
        }.get(target, target)
        if isinstance(target, str)
        else target
    )


@pytest.mark.parametrize("target", _ISINSTANCE_TYPES, ids=str)
def test_isinstance_checks_element_types_like_torch(target: Any) -> None:
    values = [*_ISINSTANCE_VALUES, "tensor", ["tensor"], {"k": "tensor"}]

    def make(v: Any, lib: Any) -> Any:
        if v == "tensor":
            return lib.ones(1)
        if isinstance(v, list) and v == ["tensor"]:
            return [lib.ones(1)]
        if isinstance(v, dict) and v == {"k": "tensor"}:
            return {"k": lib.ones(1)}
        return v

    for v in values:
        want = torch.jit.isinstance(make(v, torch), _resolve(target, torch))
        got = cr.jit.isinstance(make(v, cr), _resolve(target, cr))
        assert got == want, (v, target)


def test_isinstance_variadic_tuple_and_union() -> None:
    # PyTorch's eager isinstance fails on tuple[int, ...] and says None is a Union[int, str];
    # chainrule follows the types
    assert cr.jit.isinstance((1, 2, 3), tuple[int, ...])
    assert not cr.jit.isinstance((1, "a"), tuple[int, ...])
    assert cr.jit.isinstance("a", typing.Union[int, str])  # noqa: UP007
    assert not cr.jit.isinstance(None, int | str)
    assert cr.jit.isinstance((), tuple[()])


@pytest.mark.parametrize(
    "bare",
    [list, dict, tuple, typing.List, typing.Dict, typing.Tuple, typing.Optional],  # noqa: UP006
    ids=str,
)
def test_isinstance_of_bare_container_raises_like_torch(bare: Any) -> None:
    with pytest.raises(RuntimeError) as want:
        torch.jit.isinstance([1], bare)
    with pytest.raises(RuntimeError, match="Attempted to use") as got:
        cr.jit.isinstance([1], bare)
    assert str(got.value) == str(want.value)


def test_decorators_return_their_function() -> None:
    def f(x: int) -> int:
        return x

    for lib in (torch, cr):
        assert lib.jit.ignore(f) is f
        assert lib.jit.ignore(False)(f) is f
        assert lib.jit.unused(f) is f
        assert lib.jit.export(f) is f
        assert lib.jit.annotate(list[int], [3]) == [3]
        assert lib.jit.Final[int] == typing.Final[int]
    with pytest.warns(FutureWarning, match="ignore\\(True\\) has been deprecated"):
        assert cr.jit.ignore(True)(f) is f
    with pytest.warns(FutureWarning, match="ignore\\(drop_on_export=True\\) has been"):
        assert cr.jit.ignore(drop_on_export=True)(f) is f
    with pytest.raises(RuntimeError) as want:
        torch.jit.ignore(3)
    with pytest.raises(RuntimeError) as got:
        cr.jit.ignore(3)
    assert str(got.value) == str(want.value)


def test_future_api_matches_torch() -> None:
    for lib_future in (torch.futures.Future, cr.jit.Future):
        fut = lib_future()
        assert not fut.done()
        with pytest.raises(RuntimeError):
            fut.value()
        child = fut.then(lambda x: x.wait() + 1)
        seen: list = []
        fut.add_done_callback(lambda x, seen=seen: seen.append(x.value()))
        fut.set_result(1)
        assert (fut.done(), fut.wait(), child.wait(), seen) == (True, 1, 2, [1])
        with pytest.raises(RuntimeError, match="marked completed once"):
            fut.set_result(2)
        failing = lib_future()
        failing.set_exception(ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            failing.wait()
        broken = fut.then(lambda x: 1 / 0)
        with pytest.raises(RuntimeError, match="ZeroDivisionError: division by zero"):
            broken.wait()


def test_future_wait_blocks_until_another_thread_sets_it() -> None:
    fut = cr.jit.Future()
    worker = threading.Timer(0.01, fut.set_result, args=(7,))
    worker.start()
    assert fut.wait() == 7
    worker.join()
    with pytest.raises(NotImplementedError, match="devices"):
        cr.jit.Future(devices=["cuda:0"])
    with pytest.raises(TypeError, match="cr.jit.Future"):
        with pytest.warns(DeprecationWarning):
            cr.jit.wait(3)


def test_save_and_load_point_to_state_dicts(tmp_path: Path) -> None:
    model = cr.nn.Linear(2, 2)
    with pytest.raises(NotImplementedError, match="state_dict"):
        cr.jit.save(model, tmp_path / "m.pt")
    with pytest.raises(NotImplementedError, match="state_dict"):
        cr.jit.load(tmp_path / "m.pt")
    with pytest.raises(TypeError, match="No constructor"):
        cr.jit.ScriptFunction()


def test_execution_contexts() -> None:
    with cr.jit.optimized_execution(False), cr.jit.fuser("fuser1"):
        assert cr.ones(1).item() == 1.0
    with pytest.raises(ValueError, match="unrecognized fuser option"):
        with cr.jit.fuser("bogus"):
            pass


def test_public_names_exist_in_torch_jit() -> None:
    missing = [n for n in cr.jit.__all__ if not hasattr(torch.jit, n)]
    assert not missing


def _keywords(fn: Any) -> set[str]:
    return {
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def test_functions_take_torchs_keywords() -> None:
    for name in cr.jit.__all__:
        ours, theirs = getattr(cr.jit, name), getattr(torch.jit, name)
        if inspect.isfunction(ours) and callable(theirs) and not inspect.isclass(ours):
            try:
                want = _keywords(theirs)
            except (TypeError, ValueError):  # a C function without a signature
                continue
            assert want <= _keywords(ours), (name, want - _keywords(ours))
