"""Gaps found by the session-20 "Dive into Deep Learning" drop-in programs
(``d2l_linreg_softmax_scratch``, ``d2l_builders_guide``, ``d2l_rnn_scratch``,
``d2l_attention``, ``d2l_optim_and_bn_scratch``) and by probing the calls next to their
idioms, each checked against PyTorch.

- ``cr.device('cuda')`` (d2l's GPU section prints ``torch.device('cpu'),
  torch.device('cuda'), torch.device('cuda:1')``) took index 0: its repr showed ``index=0``,
  ``str`` gave ``'cuda:0'`` and it compared equal to ``device('cuda:0')``. PyTorch keeps the
  index None for a bare ``'cuda'`` (repr ``device(type='cuda')``, ``str`` ``'cuda'``, unequal to
  ``'cuda:0'``), and ``device('cpu:0')`` keeps its index 0 (repr with ``index=0``, ``str``
  ``'cpu:0'``, unequal to ``device('cpu')``).
- ``UninitializedParameter`` (a lazy layer's weight before its first call): ``numel()``
  raised RuntimeError and ``dim()``, ``len()``, ``tolist()`` answered for the empty placeholder
  (1, 0, ``[]``); PyTorch raises ValueError ("Attempted to use an uninitialized parameter in
  ...") from those, as from ``nelement``, ``stride`` and ``element_size``. The shape error's
  text now is PyTorch's, and ``cls_to_become`` (``Parameter``; ``Tensor`` for
  ``UninitializedBuffer``) exists.
- ``F.one_hot`` accepted any integer index (int32, uint8, int16); PyTorch takes int64 only
  ("one_hot is only applicable to index tensor of type LongTensor.", RuntimeError).
- ``torch.normal``'s overloads: two numbers without ``size`` (``normal(0, 1)``, ``normal()``)
  returned a 0-d draw and a tensor ``mean``/``std`` with a ``size`` was accepted; PyTorch
  raises TypeError for both ("received an invalid combination of arguments"). Tensor
  ``mean``/``std`` whose shapes do not broadcast raised NumPy's raw ValueError; PyTorch raises
  RuntimeError.
- ``cr.set_grad_enabled(False)`` echoed as ``<... object at 0x...>``; PyTorch's repr is
  ``torch.autograd.grad_mode.set_grad_enabled(mode=False)`` (what a notebook shows for the
  plain call).
- ``Module.add_module`` (d2l's ``MySequential`` registers with ``self.add_module(str(idx),
  module)``): a name already used by another attribute was silently replaced, where PyTorch
  raises ``KeyError("attribute 'x' already exists")``; the other errors now carry PyTorch's
  texts (``int is not a Module subclass``, ``module name can't contain ".", got: a.b``,
  ``module name can't be empty string ""``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _outcome(fn: Any) -> tuple[str, str]:
    try:
        return "ok", repr(fn())
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc).__name__, str(exc)


# --------------------------------------------------------------------------- devices


@pytest.mark.parametrize("spec", ["cpu", "cuda", "cuda:0", "cuda:1", "cpu:0"])
def test_device_repr_str_and_index(spec: str) -> None:
    want, got = torch.device(spec), chainrule.device(spec)
    assert repr(got) == repr(want)
    assert str(got) == str(want)
    assert got.index == want.index and got.type == want.type


def test_device_with_index_argument() -> None:
    for lib in (torch, chainrule):
        dev = lib.device("cuda", 0)
        assert (repr(dev), str(dev)) == ("device(type='cuda', index=0)", "cuda:0")


@pytest.mark.parametrize(
    ("a", "b"),
    [("cuda", "cuda:0"), ("cuda", "cuda"), ("cuda:0", "cuda:0"), ("cpu", "cpu:0"), ("cpu", "cpu")],
)
def test_device_equality_and_hash(a: str, b: str) -> None:
    want = torch.device(a) == torch.device(b)
    assert (chainrule.device(a) == chainrule.device(b)) == want
    want_hash = hash(torch.device(a)) == hash(torch.device(b))
    assert (hash(chainrule.device(a)) == hash(chainrule.device(b))) == want_hash


def test_device_list_prints_like_torch() -> None:
    def devices(lib: Any) -> str:
        return str([lib.device("cpu"), lib.device("cuda"), lib.device("cuda:1")])

    assert devices(chainrule) == devices(torch)


# ------------------------------------------------------------- uninitialized parameters


@pytest.mark.parametrize(
    "use",
    [
        lambda w: w.numel(),
        lambda w: w.nelement(),
        lambda w: w.dim(),
        lambda w: len(w),
        lambda w: w.tolist(),
        lambda w: w.stride(),
        lambda w: w.element_size(),
    ],
)
def test_uninitialized_parameter_refuses_use(use: Any) -> None:
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        use(torch.nn.parameter.UninitializedParameter())
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        use(chainrule.nn.parameter.UninitializedParameter())


def test_uninitialized_parameter_shape_error_text() -> None:
    want = _outcome(lambda: torch.nn.LazyLinear(3).weight.shape)
    got = _outcome(lambda: chainrule.nn.LazyLinear(3).weight.shape)
    assert got == want and want[0] == "RuntimeError"


def test_uninitialized_cls_to_become() -> None:
    for lib in (torch, chainrule):
        nn = lib.nn
        assert nn.parameter.UninitializedParameter.cls_to_become is nn.Parameter
        assert nn.parameter.UninitializedParameter().cls_to_become is nn.Parameter
        assert nn.parameter.UninitializedBuffer.cls_to_become is lib.Tensor


def test_materialized_lazy_layer_still_works() -> None:
    layer = chainrule.nn.LazyLinear(3)
    out = layer(chainrule.ones(2, 4))
    assert tuple(out.shape) == (2, 3) and layer.weight.numel() == 12 and layer.weight.dim() == 2


# --------------------------------------------------------------------------- one_hot


@pytest.mark.parametrize("dtype", ["int32", "int16", "uint8", "bool", "float32"])
def test_one_hot_takes_int64_only(dtype: str) -> None:
    for lib in (torch, chainrule):
        index = lib.tensor([0, 1]).to(getattr(lib, dtype))
        with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor"):
            lib.nn.functional.one_hot(index, 3)


def test_one_hot_int64_unchanged() -> None:
    want = torch.nn.functional.one_hot(torch.arange(6).reshape(2, 3).T, 7)
    got = chainrule.nn.functional.one_hot(chainrule.arange(6).reshape(2, 3).T, 7)
    assert got.tolist() == want.tolist() and got.dtype == chainrule.int64


# --------------------------------------------------------------------------- normal


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.normal(0.0, 1.0),
        lambda lib: lib.normal(0, 1),
        lambda lib: lib.normal(),
        lambda lib: lib.normal(mean=0.0, std=1.0),
        lambda lib: lib.normal(lib.zeros(2), 1.0, (2,)),
        lambda lib: lib.normal(lib.zeros(2), 1.0, size=(2,)),
        lambda lib: lib.normal(0.0, lib.ones(2), size=(2,)),
        lambda lib: lib.normal(0.0, 1.0, out=lib.empty(3)),
    ],
)
def test_normal_invalid_overload_is_type_error(call: Any) -> None:
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        call(torch)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        call(chainrule)


def test_normal_tensors_that_do_not_broadcast() -> None:
    for lib in (torch, chainrule):
        with pytest.raises(RuntimeError):
            lib.normal(lib.zeros(2), lib.ones(3))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.normal(0, 0.01, size=(2, 1), requires_grad=True),
        lambda lib: lib.normal(mean=0.0, std=0.01, size=(3, 1)),
        lambda lib: lib.normal(0, 1, (4, 2)),
        lambda lib: lib.normal(lib.zeros(2, 1), lib.ones(3)),
        lambda lib: lib.normal(lib.zeros(2)),
        lambda lib: lib.normal(0.0, lib.ones(2)),
        lambda lib: lib.normal(0.0, 1.0, (3,), out=lib.empty(3)),
    ],
)
def test_normal_valid_overloads(call: Any) -> None:
    want, got = call(torch), call(chainrule)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.requires_grad == want.requires_grad


# --------------------------------------------------------------------------- grad mode


def test_set_grad_enabled_repr() -> None:
    try:
        want = repr(torch.set_grad_enabled(False))
        got = repr(chainrule.set_grad_enabled(False))
    finally:
        torch.set_grad_enabled(True)
        chainrule.set_grad_enabled(True)
    assert got.replace("chainrule.", "torch.") == want
    assert chainrule.is_grad_enabled()


# --------------------------------------------------------------------------- add_module


@pytest.mark.parametrize(
    "args",
    [
        ("x", "relu"),
        (1, "relu"),
        ("a.b", None),
        ("", None),
        ("y", 3),
        ("p", None),
        ("b", None),
        ("training", None),
        ("forward", None),
        ("c", "tanh"),
        ("new", "relu"),
    ],
)
def test_add_module_errors_match_torch(args: tuple) -> None:
    def attempt(lib: Any) -> tuple[str, str]:
        nn = lib.nn
        m = nn.Module()
        m.x = 1
        m.register_parameter("p", None)
        m.register_buffer("b", lib.ones(1))
        m.c = nn.ReLU()
        name, value = args
        module = {"relu": nn.ReLU(), "tanh": nn.Tanh()}.get(value, value)
        outcome = _outcome(lambda: m.add_module(name, module))
        return outcome[0], outcome[1].replace("chainrule", "torch")

    assert attempt(chainrule) == attempt(torch)


def test_my_sequential_with_add_module() -> None:
    """d2l's ``MySequential``: ``add_module(str(idx), module)`` and ``self.children()``."""

    def build(lib: Any) -> Any:
        nn = lib.nn

        class MySequential(nn.Module):
            def __init__(self, *args: Any) -> None:
                super().__init__()
                for idx, module in enumerate(args):
                    self.add_module(str(idx), module)

            def forward(self, X: Any) -> Any:
                for module in self.children():
                    X = module(X)
                return X

        return MySequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    want, got = build(torch), build(chainrule)
    assert repr(got) == repr(want)
    got.load_state_dict(
        {k: chainrule.tensor(v.detach().numpy()) for k, v in want.state_dict().items()}
    )
    x = [[0.5, -1.0, 2.0]]
    out_want = want(torch.tensor(x)).detach().numpy()
    out_got = got(chainrule.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out_got, out_want, rtol=1e-6)
