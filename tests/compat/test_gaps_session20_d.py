"""Gaps found by the session-20 drop-in programs (``cs231n_saliency_fooling``,
``stft_denoiser``, ``ft_transformer_tabular``, ``lr_finder``, ``blitz_tensor_autograd``) and by
probing the modules next to their idioms, each checked against PyTorch.

- ``torch.optim.lr_scheduler._LRScheduler`` (PyTorch's pre-2.0 name of ``LRScheduler``, a
  subclass adding nothing, outside ``__all__``) was missing: pytorch-lr-finder's
  ``ExponentialLR(_LRScheduler)`` and many warm-up schedules subclass it (AttributeError).
- ``x.item()`` on a tensor of other than one element raised ValueError; PyTorch raises
  RuntimeError ("a Tensor with 6 elements cannot be converted to Scalar"). It is now both.
- ``requires_grad=True`` / ``requires_grad_()`` on an integer tensor raised TypeError; PyTorch
  raises RuntimeError ("Only Tensors of floating point and complex dtype can require
  gradients"). It is now both.
- ``torch.roll`` took any number as ``shifts``/``dims`` (``roll(x, 1.5, 1)`` rolled by 1);
  PyTorch parses them as int lists and raises TypeError for a float, bool, None, str or a
  non-0-d tensor ("argument 'shifts' (position 2) must be tuple of ints, not float").
- ``repr(optimizer)`` with several parameter groups (rtdl's ``make_parameter_groups`` gives
  two) ran the groups together; PyTorch puts a blank line between them.
- ``torch.Tensor(x.shape)`` (a ``torch.Size``) built a tensor holding the sizes; PyTorch's
  legacy constructor reads a Size as sizes (``Tensor(Size([]))`` is 0-d). ``torch.Tensor(2.5)``
  (one number, None, a generator) made a tensor; PyTorch raises TypeError ("new(): data must
  be a sequence (got float)").
- ``uniform_`` / ``nn.init.uniform_`` with ``from > to`` raised NumPy's ValueError ("high -
  low < 0"), with an infinite or NaN bound NumPy's OverflowError, and filled an integer tensor
  with zeros; PyTorch raises RuntimeError ("uniform_ expects to return a [from, to) range, but
  found from=1 > to=-1", "to is out of bounds for double") and NotImplementedError
  ('"check_uniform_bounds" not implemented for 'Long'').
- ``F.cross_entropy`` / ``F.nll_loss`` took class-index targets of any integer dtype;
  PyTorch takes only int64 and uint8 and raises RuntimeError for int32 (labels from
  ``np.int32`` arrays), int16, int8 and bool ("expected target dtype to be Long or Byte, but
  got Int").
- ``torch.from_numpy`` / ``torch.tensor`` / ``torch.as_tensor`` of a NumPy array in
  non-native byte order (``'>f8'``) gave a tensor whose dtype was ``>f8``, equal to no
  chainrule dtype; PyTorch raises ValueError.
- An integer tensor to a negative Python-int power raised ValueError; PyTorch raises
  RuntimeError ("Integers to negative integer powers are not allowed."). It is now both.
- Instantiating a ``torch.autograd.Function`` subclass (``P3()(x)``, the pre-0.4 style) gave
  no DeprecationWarning and calling the instance a TypeError ("object is not callable");
  PyTorch warns on instantiation and raises RuntimeError ("Legacy autograd function with
  non-static forward method is deprecated...") on the call; ``instance.apply`` still works.
- The typed legacy constructors (``torch.FloatTensor(x.shape)``, ``torch.LongTensor(2.5)``)
  had the same two gaps as ``torch.Tensor``.
- ``repr`` of a complex tensor printed ``dtype=complex64`` under the float32 default (and
  ``dtype=complex128`` under float64); PyTorch leaves the default complex dtype out, as it
  does the default floating dtype. Its elements were NumPy's (``1. +2.j``); PyTorch formats
  the real and the imaginary parts each as it formats floats (``1.0000+2.j``).
- ``Tensor.norm(p='nuc')`` / ``torch.norm(x, 'nuc')`` (the nuclear norm) raised ValueError;
  PyTorch computes ``linalg.matrix_norm(x, 'nuc', dim)`` over ``dim`` (all dims by default,
  which must be two).

Probed and left alone (reported): setting ``y.requires_grad = False`` on a non-leaf (or
``= True`` on an integer tensor) is accepted silently, where PyTorch raises RuntimeError
(``requires_grad`` is a plain slot on the hot path, not a property); ``torch.from_numpy`` of a
read-only array gives no "not writable" UserWarning and of a negatively strided array no
ValueError (chainrule's own tests use it to make such views); a complex tensor's line
wrapping in a summarised print and the ``dtype=`` suffix's own line follow NumPy, not PyTorch;
``torch.cuda.FloatTensor`` is missing.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


# ----------------------------------------------------------------------------- _LRScheduler
def _exponential_finder_lrs(lib: Any) -> list[float]:
    class ExponentialLR(lib.optim.lr_scheduler._LRScheduler):
        def __init__(self, optimizer: Any, end_lr: float, num_iter: int) -> None:
            self.end_lr, self.num_iter = end_lr, num_iter
            super().__init__(optimizer, -1)

        def get_lr(self) -> list[float]:
            r = self.last_epoch / (self.num_iter - 1)
            return [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]

    param = lib.nn.Parameter(lib.ones(2))
    optimizer = lib.optim.SGD([param], lr=1e-3)
    scheduler = ExponentialLR(optimizer, 1.0, 4)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(3):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs + [scheduler.state_dict()["end_lr"], scheduler._step_count]


def test_lr_scheduler_old_name_is_a_subclass() -> None:
    sched = chainrule.optim.lr_scheduler
    assert issubclass(sched._LRScheduler, sched.LRScheduler)
    assert sched._LRScheduler is not sched.LRScheduler
    assert "_LRScheduler" not in sched.__all__
    assert "_LRScheduler" not in torch.optim.lr_scheduler.__all__
    np.testing.assert_allclose(
        _exponential_finder_lrs(chainrule), _exponential_finder_lrs(torch), rtol=1e-12
    )


# ----------------------------------------------------------------------------- error types
@pytest.mark.parametrize("shape", [(2, 3), (0,), (2,)])
def test_item_of_many_elements_is_a_runtime_error(shape: tuple) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
            lib.ones(shape).item()
    with pytest.raises(ValueError):  # what chainrule raised before: still caught
        chainrule.ones(shape).item()


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([1, 2], requires_grad=True),
        lambda lib: lib.zeros(2, dtype=lib.int64, requires_grad=True),
        lambda lib: lib.ones(2, dtype=lib.int32).requires_grad_(),
        lambda lib: lib.tensor([True]).requires_grad_(),
    ],
)
def test_integer_requires_grad_is_a_runtime_error(make: Any) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="floating point"):
            make(lib)
    with pytest.raises(TypeError):
        make(chainrule)


def test_integer_to_negative_power_is_a_runtime_error() -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
            lib.tensor([2, 3]).pow(-1)
        with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
            lib.tensor([2]) ** -2
    with pytest.raises(ValueError):
        chainrule.tensor([2]) ** -1
    for lib in LIBS:  # a tensor exponent is computed (0 for |base| > 1)
        assert lib.tensor([2]).pow(lib.tensor([-1])).tolist() == [0]


# ----------------------------------------------------------------------------- roll
@pytest.mark.parametrize(
    ("shifts", "dims"),
    [
        (1.5, 1),
        ((1.5,), (1,)),
        (1, 1.0),
        (True, 1),
        (None, 1),
        ("a", 1),
    ],
)
def test_roll_refuses_what_is_not_an_int_list(shifts: Any, dims: Any) -> None:
    messages = []
    for lib in LIBS:
        with pytest.raises(TypeError, match="must be tuple of ints") as info:
            lib.roll(lib.arange(6.0).view(2, 3), shifts, dims)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_roll_refuses_none_inside_shifts() -> None:
    for lib in LIBS:  # PyTorch words this one differently ("failed to unpack ... pos 2")
        with pytest.raises(TypeError, match="tuple of ints"):
            lib.roll(lib.arange(6.0).view(2, 3), (1, None), (0, 1))


@pytest.mark.parametrize(
    ("shifts", "dims"),
    [
        (np.int64(1), 1),
        ("tensor", 1),
        ((1, True), (0, 1)),
        ([1, -2], [1, 0]),
        ((np.int32(2),), (np.int64(1),)),
        (4, None),
    ],
)
def test_roll_takes_int_likes_as_torch(shifts: Any, dims: Any) -> None:
    got = []
    for lib in LIBS:
        s = lib.tensor(1) if isinstance(shifts, str) else shifts
        got.append(lib.roll(lib.arange(6.0).view(2, 3), s, dims).tolist())
    assert got[1] == got[0]


def test_roll_tensor_shifts_must_be_0d() -> None:
    for lib in LIBS:
        with pytest.raises(TypeError, match="not Tensor"):
            lib.roll(lib.arange(6.0).view(2, 3), lib.tensor([1, 1]), (0, 1))
        with pytest.raises(TypeError, match="not Tensor"):
            lib.roll(lib.arange(6.0).view(2, 3), lib.tensor(1.0), 1)


# ----------------------------------------------------------------------------- optimizer repr
def test_optimizer_repr_separates_groups_with_a_blank_line() -> None:
    texts = []
    for lib in LIBS:
        groups = [
            {"params": [lib.nn.Parameter(lib.ones(2))]},
            {"params": [lib.nn.Parameter(lib.ones(2))], "weight_decay": 0.0},
            {"params": [lib.nn.Parameter(lib.ones(2))], "lr": 0.5},
        ]
        texts.append(repr(lib.optim.AdamW(groups, lr=1e-2)))
        texts.append(repr(lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)))
    assert texts[2] == texts[0]
    assert texts[3] == texts[1]
    assert "\n\nParameter Group 1\n" in texts[2]


# ----------------------------------------------------------------------------- legacy Tensor()
@pytest.mark.parametrize("sizes", [[2, 3], [], [0, 4], [5]])
def test_legacy_tensor_reads_a_size_as_sizes(sizes: list) -> None:
    shapes = [tuple(lib.Tensor(lib.Size(sizes)).shape) for lib in LIBS]
    assert shapes[1] == shapes[0] == tuple(sizes)
    assert chainrule.Tensor(chainrule.Size(sizes)).dtype == chainrule.float32


@pytest.mark.parametrize(
    "data", [2.5, True, None, np.float64(2.0), (x for x in [1, 2])], ids=lambda d: type(d).__name__
)
def test_legacy_tensor_refuses_one_number(data: Any) -> None:
    messages = []
    for lib in LIBS:
        with pytest.raises(TypeError, match="data must be a sequence") as info:
            lib.Tensor(data)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("data", [np.array(2.0), range(3), [], [[1, 2], [3, 4]], (1.5,)])
def test_legacy_tensor_still_takes_sequences(data: Any) -> None:
    got = [lib.Tensor(data) for lib in LIBS]
    assert tuple(got[1].shape) == tuple(got[0].shape)
    assert got[1].tolist() == got[0].tolist()


# ----------------------------------------------------------------------------- uniform_ bounds
@pytest.mark.parametrize(
    ("dtype", "a", "b", "error", "match"),
    [
        ("float32", 1, -1, RuntimeError, r"from=1 > to=-1"),
        ("float64", 1.5, -1, RuntimeError, r"from=1.5 > to=-1"),
        ("float64", 0, float("inf"), RuntimeError, "to is out of bounds for double"),
        ("float32", float("nan"), 1, RuntimeError, "from is out of bounds for float"),
        ("float32", -1e39, 1, RuntimeError, "from is out of bounds for float"),
        ("float16", 0, 1e5, RuntimeError, r"to is out of bounds for c10::Half"),
        ("complex64", 0, 1e39, RuntimeError, "to is out of bounds for float"),
        ("int64", 0, 1, NotImplementedError, "not implemented for 'Long'"),
        ("bool", 0, 1, NotImplementedError, "not implemented for 'Bool'"),
    ],
)
def test_uniform_bounds_are_checked(dtype: str, a: float, b: float, error: type, match: str):
    for lib in LIBS:
        with pytest.raises(error, match=match):
            lib.empty(3, dtype=getattr(lib, dtype)).uniform_(a, b)
        with pytest.raises(error, match=match):
            lib.nn.init.uniform_(lib.empty(2, dtype=getattr(lib, dtype)), a, b)


def test_uniform_equal_bounds_and_empty_tensor() -> None:
    for lib in LIBS:
        assert lib.empty(3).uniform_(1, 1).tolist() == [1.0, 1.0, 1.0]
        with pytest.raises(RuntimeError, match="from=1 > to=-1"):
            lib.empty(0).uniform_(1, -1)


# ----------------------------------------------------------------------------- class targets
@pytest.mark.parametrize(
    ("dtype", "name"), [("int32", "Int"), ("int16", "Short"), ("int8", "Char"), ("bool", "Bool")]
)
@pytest.mark.parametrize(
    "loss",
    [
        lambda lib, t: lib.nn.functional.cross_entropy(lib.ones(2, 3), t),
        lambda lib, t: lib.nn.functional.nll_loss(lib.ones(2, 3), t),
        lambda lib, t: lib.nn.CrossEntropyLoss()(lib.ones(2, 3), t),
        lambda lib, t: lib.nn.functional.cross_entropy(lib.ones(2, 3, 4), t[:, None].expand(2, 4)),
    ],
)
def test_class_index_target_must_be_long_or_byte(dtype: str, name: str, loss: Any) -> None:
    want = f"expected target dtype to be Long or Byte, but got {name}"
    for lib in LIBS:
        target = lib.tensor([0, 1]).to(getattr(lib, dtype))
        with pytest.raises(RuntimeError, match=want):
            loss(lib, target)


def test_byte_and_long_targets_still_work() -> None:
    for dtype in ("uint8", "int64"):
        got = [
            lib.nn.functional.cross_entropy(
                lib.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3]]),
                lib.tensor([0, 2]).to(getattr(lib, dtype)),
            ).item()
            for lib in LIBS
        ]
        np.testing.assert_allclose(got[1], got[0], rtol=1e-6)


# ----------------------------------------------------------------------------- byte order
@pytest.mark.parametrize("dtype", [">f8", ">i8", ">f4", ">c16"])
@pytest.mark.parametrize("make", ["from_numpy", "tensor", "as_tensor", "asarray", "Tensor"])
def test_non_native_byte_order_is_refused(dtype: str, make: str) -> None:
    arr = np.arange(3).astype(dtype)
    for lib in LIBS:
        with pytest.raises(ValueError, match="byte order different from the native"):
            getattr(lib, make)(arr)


def test_native_byte_order_spelled_out_is_fine() -> None:
    arr = np.arange(3).astype("<f8")  # native on the little-endian hosts tests run on
    got = [lib.from_numpy(arr) for lib in LIBS]
    assert got[1].dtype == chainrule.float64 and got[1].tolist() == got[0].tolist()


# ----------------------------------------------------------------------------- Function()
def _legendre(lib: Any) -> type:
    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x**2 - 1)

    return LegendrePolynomial3


def test_function_instance_warns_and_refuses_a_call() -> None:
    grads = []
    for lib in LIBS:
        fn_class = _legendre(lib)
        with pytest.warns(DeprecationWarning, match="should not be instantiated"):
            instance = fn_class()
        x = lib.tensor([0.5, -1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="Legacy autograd function"):
            instance(x)
        instance.apply(x).sum().backward()  # apply through the instance still works
        grads.append(x.grad.tolist())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_function_class_apply_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = chainrule.tensor([0.5], requires_grad=True)
        _legendre(chainrule).apply(x).sum().backward()
    assert x.grad.tolist() == [1.5 * (5 * 0.25 - 1)]


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor"])
def test_legacy_typed_constructors_read_a_size_and_refuse_a_number(name: str) -> None:
    shapes = [tuple(getattr(lib, name)(lib.Size([2, 3])).shape) for lib in LIBS]
    assert shapes[1] == shapes[0] == (2, 3)
    for lib in LIBS:
        with pytest.raises(TypeError, match=r"data must be a sequence \(got float\)"):
            getattr(lib, name)(2.5)
    assert chainrule.LongTensor(np.array([1, 2])).tolist() == [1, 2]


# ----------------------------------------------------------------------------- repr
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_repr_leaves_out_the_default_complex_dtype(default: str) -> None:
    texts = []
    for lib in LIBS:
        previous = lib.get_default_dtype()
        lib.set_default_dtype(getattr(lib, default))
        try:
            values = [1 + 2j, 0.5 - 1j]
            texts.append(
                [
                    repr(lib.tensor(values)),
                    repr(lib.tensor(values, dtype=lib.complex64)),
                    repr(lib.tensor(values, dtype=lib.complex128)),
                    repr(lib.zeros(0, dtype=lib.complex64)),
                    repr(lib.polar(lib.tensor([1.0, 2.0]), lib.tensor([0.5, 1.0]))),
                ]
            )
        finally:
            lib.set_default_dtype(previous)
    assert texts[0] == texts[1]


# ----------------------------------------------------------------------------- norm('nuc')
@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((3, 4), {}),
        ((2, 3, 4), {"dim": (1, 2)}),
        ((2, 3, 4), {"dim": (1, 2), "keepdim": True}),
        ((4, 3), {"dim": (1, 0)}),
    ],
)
def test_norm_nuc_is_the_nuclear_norm(shape: tuple, kwargs: dict) -> None:
    x = np.random.default_rng(20).standard_normal(shape)
    results = []
    for lib in LIBS:
        t = lib.tensor(x, requires_grad=True)
        out = t.norm(p="nuc", **kwargs)
        out.sum().backward()
        results.append((out.detach().numpy(), t.grad.numpy(), lib.norm(t, "nuc", **kwargs)))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(results[1][2].detach().numpy(), results[0][0], rtol=1e-10)


def test_norm_nuc_needs_two_dims() -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
            lib.ones(2, 3, 4).norm(p="nuc")
        with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
            lib.ones(2, 3, 4).norm(p="nuc", dim=1)
