"""Gaps found by the session-21 (c) drop-in programs (``mae_random_masking``, ``vicreg_lars``,
``sae_topk``, ``temperature_scaling_ece``, ``text_sampling_utils``) and by probing the calls
next to their idioms, each checked against PyTorch.

- ``torch.div(..., rounding_mode=...)`` with an unknown mode raised ValueError; PyTorch raises
  RuntimeError ("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found
  'round'"). The error is now both (code catching the old ValueError still works); a mode
  that is not a string is a TypeError, as PyTorch's argument parser says.
- ``torch.Generator().manual_seed(seed)`` accepted anything ``int()`` takes; PyTorch's method
  takes a Python int only: RuntimeError ("manual_seed expected a long, but got float") for a
  float, bool, str or tensor, TypeError for a NumPy integer (``torch.manual_seed`` itself
  still converts with ``int()``, in both).
- ``torch.Generator`` had no ``device`` attribute (``g.device`` is ``device(type='cpu')``,
  read-only), and ``Generator(device=...)`` ignored its argument: an invalid device string is
  now refused, and a CUDA one without CuPy raises RuntimeError, as PyTorch without CUDA.
- ``generator=`` given something that is not a Generator (``multinomial(p, 1, generator=5)``)
  failed with a raw ``AttributeError: 'int' object has no attribute 'np'``; PyTorch raises
  TypeError ("argument 'generator' must be torch.Generator, not int").
- ``scatter(dim, index, src, reduce=...)``, the legacy accumulating form (old
  ``RepetitionPenaltyLogitsProcessor`` copies, GNN code): ``reduce='multiply'`` was refused
  (ValueError), a number as ``src``/``value`` with ``reduce='add'`` failed, an unknown mode
  raised ValueError instead of RuntimeError ("reduce argument must be either add or
  multiply"), and PyTorch's once-per-process deprecation warning for a tensor ``src`` ("The
  reduce argument of torch.scatter with Tensor src is deprecated ...") was missing. A number
  is cast to the tensor's dtype (``2.5`` adds 2 to a long tensor), as PyTorch.
- ``torch.tensor([t1, t2])`` of tensors stacked them whatever their size; PyTorch reads a
  tensor inside a list as one number: a one-element tensor of any shape counts as its value
  (``torch.tensor([torch.ones(1, 1)])`` has shape ``[1]``), a larger one raises ValueError
  ("only one element tensors can be converted to Python scalars", the idiom's common mistake
  for ``torch.stack``), and one that requires grad gives the once-per-process warning of
  ``float(t)`` ("Converting a tensor with requires_grad=True to a scalar ...").
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import _user_warnings
from chainrule.autograd import tensor_conversions

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _error(fn: Any) -> type[BaseException] | None:
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the type is what is compared
        return type(err)
    return None


# ------------------------------------------------------------------ div rounding_mode


@pytest.mark.parametrize("call", ["div", "divide", "div_", "method"])
def test_div_unknown_rounding_mode_is_a_runtime_error(call: str) -> None:
    calls = {
        "div": lambda lib, x: lib.div(x, 2, rounding_mode="round"),
        "divide": lambda lib, x: lib.divide(x, 2, rounding_mode="round"),
        "div_": lambda lib, x: x.div_(2, rounding_mode="round"),
        "method": lambda lib, x: x.div(lib.tensor(2.0), rounding_mode="round"),
    }
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or"):
            calls[call](lib, lib.tensor([7.0, -7.0]))
    with pytest.raises(ValueError):  # chainrule's earlier type still catches it
        chainrule.div(chainrule.ones(2), 2, rounding_mode="round")


def test_div_rounding_mode_not_a_string_is_a_type_error() -> None:
    for lib in LIBS:
        with pytest.raises(TypeError):
            lib.div(lib.ones(2), 2, rounding_mode=3)


# ------------------------------------------------------------------ Generator


@pytest.mark.parametrize("seed", [1.5, True, "3", "tensor"])
def test_generator_manual_seed_wants_a_python_int(seed: Any) -> None:
    for lib in LIBS:
        value = lib.tensor(4) if seed == "tensor" else seed
        with pytest.raises(RuntimeError, match="manual_seed expected a long, but got"):
            lib.Generator().manual_seed(value)


def test_generator_manual_seed_refuses_numpy_integers_but_the_module_function_converts() -> None:
    for lib in LIBS:
        with pytest.raises(TypeError, match="an integer is required"):
            lib.Generator().manual_seed(np.int64(4))
        assert lib.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    prev = chainrule.initial_seed()
    try:
        for lib in LIBS:  # torch.manual_seed takes anything int() takes
            assert lib.manual_seed(np.int64(4)).initial_seed() == 4
            assert lib.manual_seed(3.0).initial_seed() == 3
    finally:
        chainrule.manual_seed(prev)
        torch.manual_seed(0)


def test_generator_device() -> None:
    for lib in LIBS:
        g = lib.Generator()
        assert g.device == lib.device("cpu") and str(g.device) == "cpu"
        assert lib.Generator(device="cpu").device.type == "cpu"
        assert lib.Generator(device=lib.device("cpu")).device.type == "cpu"
        with pytest.raises(AttributeError):
            g.device = lib.device("cpu")
        with pytest.raises(RuntimeError):
            lib.Generator(device="xyz")
    if not chainrule.cuda.is_available() and not torch.cuda.is_available():
        for lib in LIBS:
            with pytest.raises(RuntimeError):
                lib.Generator(device="cuda")


@pytest.mark.parametrize(
    "draw",
    [
        lambda lib, g: lib.multinomial(lib.ones(3), 1, generator=g),
        lambda lib, g: lib.rand(2, generator=g),
        lambda lib, g: lib.randperm(3, generator=g),
        lambda lib, g: lib.ones(3).normal_(generator=g),
    ],
)
def test_generator_of_the_wrong_type_is_a_type_error(draw: Any) -> None:
    for lib in LIBS:
        with pytest.raises(TypeError):
            draw(lib, 5)
        assert draw(lib, lib.Generator().manual_seed(1)).shape == draw(lib, None).shape


# ------------------------------------------------------------------ scatter(reduce=)

SCATTER_CASES = {
    "multiply_tensor": lambda lib: lib.ones(3).scatter(
        0, lib.tensor([0, 0, 2]), lib.tensor([2.0, 3.0, 4.0]), reduce="multiply"
    ),
    "multiply_scalar": lambda lib: lib.ones(3).scatter(
        0, lib.tensor([0, 0, 2]), 2.5, reduce="multiply"
    ),
    "add_scalar": lambda lib: lib.ones(3).scatter(0, lib.tensor([0, 0, 2]), 2.5, reduce="add"),
    "add_value_kw": lambda lib: lib.ones(3).scatter(
        0, lib.tensor([0, 0, 2]), value=2.5, reduce="add"
    ),
    "long_multiply": lambda lib: lib.ones(3, dtype=lib.long).scatter(
        0, lib.tensor([0, 0, 2]), 2, reduce="multiply"
    ),
    "long_add_float_value": lambda lib: lib.ones(3, dtype=lib.long).scatter(
        0, lib.tensor([0, 0, 2]), 2.5, reduce="add"
    ),
    "inplace_2d_multiply": lambda lib: lib.ones(2, 3).scatter_(
        1, lib.tensor([[0, 0], [1, 2]]), lib.tensor([[2.0, 3.0], [4.0, 5.0]]), reduce="multiply"
    ),
    "function_form": lambda lib: lib.scatter(
        lib.ones(3), 0, lib.tensor([0, 2]), lib.tensor([2.0, 3.0, 9.0]), reduce="multiply"
    ),
    "zero_dim": lambda lib: lib.tensor(1.5).scatter(0, lib.tensor([0, 0]), 2.0, reduce="multiply"),
}


@pytest.mark.parametrize("name", sorted(SCATTER_CASES))
def test_scatter_reduce_argument_matches_torch(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = SCATTER_CASES[name](torch)
        got = SCATTER_CASES[name](chainrule)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("src", ["tensor", "number"])
def test_scatter_unknown_reduce_is_a_runtime_error(src: str) -> None:
    for lib in LIBS:
        s = lib.tensor([1.0, 2.0]) if src == "tensor" else 2.0
        with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
            lib.zeros(3).scatter(0, lib.tensor([0, 1]), s, reduce="sum")


def test_scatter_reduce_with_tensor_src_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())  # as in a fresh process
    idx, src = chainrule.tensor([0, 0]), chainrule.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter with Tensor src is"):
        chainrule.zeros(3).scatter_(0, idx, src, reduce="add")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chainrule.zeros(3).scatter(0, idx, src, reduce="multiply")  # once per process
        chainrule.zeros(3).scatter(0, idx, 2.0, reduce="add")  # a number never warns
    # the dtype check comes first, as PyTorch's (no warning for a refused call)
    monkeypatch.setattr(_user_warnings, "_issued", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match=r"scatter\(\): Expected self.dtype"):
            chainrule.zeros(3).scatter(0, idx, src.double(), reduce="add")


# ------------------------------------------------------------------ tensor([t, ...])


def test_tensor_of_a_list_of_multi_element_tensors_raises() -> None:
    for lib in LIBS:
        for data in (
            [lib.tensor([1.0, 2.0])],
            [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
            [[lib.ones(2)], [lib.ones(2)]],
        ):
            with pytest.raises(ValueError, match="only one element tensors can be converted"):
                lib.tensor(data)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: [lib.tensor(1.5), lib.tensor(2.5)],
        lambda lib: [lib.tensor(1.0), 2, 3.5],
        lambda lib: [[lib.tensor(1.0)]],
        lambda lib: [lib.ones(1, 1)],
        lambda lib: [lib.tensor([[2.0]]), lib.tensor([3.0])],
        lambda lib: (lib.tensor(1, dtype=lib.int32), lib.tensor(2, dtype=lib.int32)),
        lambda lib: [lib.tensor(1, dtype=lib.int32), 2.5],
        lambda lib: [[lib.tensor(1.0), 2.0], [3.0, lib.tensor([4.0])]],
    ],
)
def test_tensor_reads_one_element_tensors_in_a_list_as_numbers(make: Any) -> None:
    want = torch.tensor(make(torch))
    got = chainrule.tensor(make(chainrule))
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert chainrule.as_tensor(make(chainrule)).tolist() == torch.as_tensor(make(torch)).tolist()


def test_tensor_of_a_list_holding_a_grad_tensor_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tensor_conversions, "_WARNED", [])  # as in a fresh process
    t = chainrule.tensor(1.5, requires_grad=True)
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True") as rec:
        out = chainrule.tensor([t, 2.0])
    assert rec[0].filename == __file__  # at the caller's line
    assert out.tolist() == [1.5, 2.0] and not out.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chainrule.tensor([t])  # once per process
        float(t)
