"""Gaps found by the session-41 drop-in programs (helper a), each pinned against the installed
PyTorch:

- ``nn.Parameter(t)`` for ``t`` an instance of a user's Tensor subclass: PyTorch returns a
  detached instance of the same class flagged ``_is_param`` (``isinstance(p, Parameter)`` is
  True through ``_ParameterMeta``), its ``__torch_function__`` still runs, a module registers
  it, and it prints as ``Parameter(MyT([...], requires_grad=True))``;
- ``nn.parallel.scatter``/``gather``/``scatter_kwargs``: their walks over nests of non-tensor
  objects, and ``gather``'s refusal of CPU tensors (the tensor step needs CUDA devices);
- ``torch.tensordot`` with negative dims in its dim lists (DeepCTR-Torch's ``dims=([-1],
  [0])``) and its errors for bad dim lists;
- a slice whose bounds are 0-d tensors (``x[begin:begin + n]``) reads them when indexing, so a
  later in-place ``begin += n`` does not move the slice the backward re-applies.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _subclasses(lib: Any) -> tuple[type, type]:
    """A plain subclass and one with its own ``__torch_function__`` (counting its calls)."""

    class MyT(lib.Tensor):
        pass

    class Logged(lib.Tensor):
        calls: list = []  # noqa: RUF012 - the class-level log the test reads

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.calls.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    return MyT, Logged


def _parameter_facts(lib: Any) -> list:
    nn = lib.nn
    MyT, Logged = _subclasses(lib)
    t = lib.tensor([1.0, 2.0, 3.0]).as_subclass(MyT)
    p = nn.Parameter(t)
    facts = [
        type(p).__name__,
        isinstance(p, nn.Parameter),
        isinstance(p, MyT),
        isinstance(p, lib.Tensor),
        p is t,
        p.requires_grad,
        t.requires_grad,
        p.is_leaf,
        repr(p),
        str(p),
        f"{p}",
        type(p * 2).__name__,
        isinstance(p * 2, nn.Parameter),  # the flag is the object's, not the class's
        isinstance(t, nn.Parameter),
        isinstance(lib.ones(2), nn.Parameter),
        isinstance(3, nn.Parameter),
    ]
    q = nn.Parameter(lib.ones(2).as_subclass(MyT), requires_grad=False)
    facts += [type(q).__name__, q.requires_grad, isinstance(q, nn.Parameter), repr(q)]
    m = nn.Linear(3, 2)
    m.extra = p
    facts.append([(n, type(v).__name__) for n, v in m.named_parameters()])
    (m.extra * m.extra).sum().backward()
    facts.append(p.grad.tolist())
    logged = nn.Parameter(lib.ones(2).as_subclass(Logged))
    Logged.calls.clear()
    out = logged + 1
    facts += [type(logged).__name__, type(out).__name__, "__add__" in Logged.calls]
    return facts


def test_parameter_of_a_subclass_instance_matches_torch() -> None:
    assert _parameter_facts(cr) == _parameter_facts(torch)


def test_parameter_subclass_repr_matches_torch() -> None:
    """A user's Parameter subclass prints wrapped in ``Parameter(...)`` under the header."""

    def text(lib: Any) -> str:
        class P2(lib.nn.Parameter):
            pass

        return repr(P2(lib.ones(2)))

    assert text(cr) == text(torch)


def test_parameter_of_a_parameter_subclass_refuses_as_torch() -> None:
    """The custom path needs ``detach()`` to keep the class; a Parameter subclass's does not."""

    def error(lib: Any) -> tuple[str, str]:
        class P2(lib.nn.Parameter):
            pass

        with pytest.raises(RuntimeError) as info:
            lib.nn.Parameter(P2(lib.ones(2)))
        return type(info.value).__name__, str(info.value)

    assert error(cr) == error(torch)


@pytest.mark.parametrize("kind", ["plain", "buffer", "parameter"])
def test_parameter_of_plain_tensors_stays_a_parameter(kind: str) -> None:
    """Tensors that are plain ``torch.Tensor`` in PyTorch (a Buffer, a Parameter) still give a
    ``Parameter`` object."""

    def facts(lib: Any) -> tuple:
        base = lib.ones(2)
        data = {"plain": base, "buffer": lib.nn.Buffer(base), "parameter": lib.nn.Parameter(base)}
        p = lib.nn.Parameter(data[kind])
        return type(p).__name__, isinstance(p, lib.nn.Parameter), repr(p)

    assert facts(cr) == facts(torch)


Pair = collections.namedtuple("Pair", "a b")


@pytest.mark.parametrize(
    "inputs",
    ["a", (), [], {}, ("a", 3), {"k": "v"}, ["x", "y"], Pair("p", "q"), (["a"], {"k": (1,)})],
    ids=repr,
)
def test_scatter_walks_non_tensors_as_torch(inputs: Any) -> None:
    got = cr.nn.parallel.scatter(inputs, [0, 1])
    assert got == torch.nn.parallel.scatter(inputs, [0, 1])


def test_scatter_kwargs_pads_as_torch() -> None:
    for args, kwargs in [(("a",), {"k": 1}), ((), {"k": 1}), (("a", "b"), None)]:
        got = cr.nn.parallel.scatter_gather.scatter_kwargs(args, kwargs, [0, 1])
        assert got == torch.nn.parallel.scatter_gather.scatter_kwargs(args, kwargs, [0, 1])


def test_scatter_of_a_tensor_names_what_is_missing() -> None:
    with pytest.raises(NotImplementedError, match="nn.parallel.scatter: .*CUDA devices"):
        cr.nn.parallel.scatter((cr.ones(4, 2),), [0, 1])


@pytest.mark.parametrize("target", ["cpu", 0, -1])
def test_gather_refuses_cpu_tensors_as_torch(target: Any) -> None:
    def error(lib: Any) -> tuple[str, str]:
        x = lib.ones(2, 3)
        with pytest.raises(AssertionError) as info:
            lib.nn.parallel.gather([{"out": x}, {"out": x}], target)
        return type(info.value).__name__, str(info.value)

    assert error(cr) == error(torch)


def test_gather_walks_non_tensors_as_torch() -> None:
    for lib in (cr, torch):
        assert lib.nn.parallel.gather([None, None], "cpu") is None
        assert lib.nn.parallel.gather([Pair(None, None), Pair(None, None)], "cpu") == Pair(
            None, None
        )
        with pytest.raises(ValueError, match="All dicts must have the same number of keys"):
            lib.nn.parallel.gather([{"a": None}, {}], "cpu")


# ---------------------------------------------------------------- tensordot's dim lists
def _tensordot_outcome(lib: Any, dims: Any, b_shape: tuple = (4, 5)) -> Any:
    a = lib.arange(24.0).reshape(2, 3, 4).requires_grad_()
    b = lib.arange(float(np.prod(b_shape))).reshape(b_shape).requires_grad_()
    try:
        out = lib.tensordot(a, b, dims=dims)
    except (IndexError, RuntimeError) as err:
        return type(err).__name__, str(err)
    out.sum().backward()
    return tuple(out.shape), out.tolist(), a.grad.tolist(), b.grad.tolist()


@pytest.mark.parametrize(
    "dims",
    [([-1], [0]), ([2], [-2]), ([-1], [-2]), [[-1], [0]]],
    ids=str,
)
def test_tensordot_negative_dims_match_torch(dims: Any) -> None:
    """DeepCTR-Torch's ``torch.tensordot(inputs, self.W_Query, dims=([-1], [0]))``."""
    assert _tensordot_outcome(cr, dims) == _tensordot_outcome(torch, dims)


@pytest.mark.parametrize(
    ("dims", "b_shape", "kind"),
    [
        (([-4], [0]), (4, 5), IndexError),
        (([3], [0]), (4, 5), IndexError),
        (([2], [-3]), (4, 5), IndexError),
        (([2, -1], [0, 0]), (4, 5), RuntimeError),
        (([1, 2], [0, -3]), (3, 4, 6), RuntimeError),
        (([-1], [0, 1]), (4, 5), RuntimeError),
    ],
    ids=str,
)
def test_tensordot_bad_dims_raise_as_torch(dims: Any, b_shape: tuple, kind: type) -> None:
    """Out-of-range dims, a dim listed twice, sizes that differ (checked pair by pair, before a
    later bad dim) and lists of different lengths: PyTorch's errors and texts, word for
    word."""

    def error(lib: Any) -> BaseException:
        a = lib.ones(2, 3, 4)
        with pytest.raises(kind) as info:
            lib.tensordot(a, lib.ones(*b_shape), dims=dims)
        return info.value

    want, got = error(torch), error(cr)
    assert str(got) == str(want)  # PyTorch's words (CONTRIBUTING.md's "Error messages")


# ------------------------------------------------------------ slices with tensor bounds
def _slice_grads(lib: Any) -> list:
    """DeepCTR-Torch's ``DynamicGRU``: ``outputs[begin:begin + batch] = new_hx`` in a loop
    over ``batch_sizes`` with ``begin += batch``, which makes ``begin`` a 0-d tensor changed
    in place after it bounded earlier slices (read and written)."""
    w = lib.ones(4, dtype=lib.float64, requires_grad=True)
    outputs = lib.zeros(6, 4, dtype=lib.float64)
    hx = lib.zeros(3, 4, dtype=lib.float64)
    begin = 0
    for batch in lib.tensor([3, 2, 1]):
        new_hx = hx[0:batch] * 0.5 + w
        outputs[begin : begin + batch] = new_hx
        hx = new_hx
        begin += batch
    (outputs * lib.arange(24.0, dtype=lib.float64).reshape(6, 4)).sum().backward()
    read = lib.arange(12.0, dtype=lib.float64).reshape(6, 2).requires_grad_()
    start = lib.tensor(1)
    part = read[start : start + 2, : lib.tensor(1)]
    start += 3
    part.sum().backward()
    return [outputs.tolist(), w.grad.tolist(), read.grad.tolist(), int(start)]


def test_slices_with_tensor_bounds_read_them_when_indexing() -> None:
    assert _slice_grads(cr) == _slice_grads(torch)


def test_slice_with_a_float_tensor_bound_refuses_as_torch() -> None:
    def error(lib: Any) -> tuple[str, str]:
        with pytest.raises(TypeError) as info:
            lib.arange(6.0)[lib.tensor(1.0) : 3]
        return type(info.value).__name__, str(info.value)

    assert error(cr) == error(torch)
