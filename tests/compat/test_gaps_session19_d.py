"""Gaps found by the session-19 drop-in programs (``pointnet2_sampling``, ``neural_ode_rk4``,
``performer_linear_attention``, ``mel_spectrogram_cnn``, ``pix2pix_gan``) and by probing the
modules next to their idioms, each checked against PyTorch.

- ``scalar / x`` with the scalar 1 (PointNet++'s ``dist_recip = 1.0 / (dists + 1e-8)``,
  Performer's ``D_inv = 1. / ...``) returned the output of ``reciprocal`` itself, which its
  backward saves; writing into that result in place (``w.clamp_(...)``, ``w.add_(...)``) then
  failed backward with "modified by an inplace operation". PyTorch's operator multiplies the
  reciprocal by the scalar (``MulBackward0`` over ``ReciprocalBackward0``), a new tensor, so
  the in-place write is fine; every ``scalar / x`` now does the same.
- The learning-rate schedulers had no ``_get_lr_called_within_step`` attribute (so it was
  missing from ``state_dict()``, and a custom scheduler copying PyTorch's ``if not
  self._get_lr_called_within_step: warnings.warn(...)`` raised AttributeError), and their
  ``get_lr()`` called by user code (old scripts log ``scheduler.get_lr()[0]``) gave no warning;
  PyTorch warns "To get the last learning rate computed by the scheduler, please use
  `get_last_lr()`." from every built-in schedule's ``get_lr`` outside ``step()``.
- ``einsum`` refused operands of mixed dtypes in every equation; PyTorch computes an equation
  with no subscript summed across operands (``'i,j->ij'``, as rotary embeddings' ``freqs =
  torch.einsum('i,j->ij', t, inv_freq)`` with a float32 ``inv_freq`` next to float64 ``t``;
  ``'bi,bj->bij'``; ``'i,i->i'``) with ``mul`` and promotes, and refuses (RuntimeError) only
  a contraction across operands (``'ij,jk->ik'``, ``'i,i->'``).
- ``nn.utils.rnn.pad_sequence`` (the Speech Commands tutorial's collate) given a 0-dimensional
  tensor failed with a raw ``IndexError: tuple index out of range`` from inside the function;
  PyTorch raises RuntimeError when the first sequence is 0-d and IndexError ("Dimension
  specified as 0 but tensor has no dimensions") when a later one is.
- ``nn.ConvTranspose1d`` / ``nn.ConvTranspose2d`` had no ``output_size`` argument in ``forward``
  (U-Net/autoencoder decoders' ``self.up(x, output_size=skip.size())``): TypeError. PyTorch
  picks the ``output_padding`` that reaches it (spatial sizes, optionally after the batch and
  channel sizes) and raises ValueError for a size out of range or a wrong length
  (``ConvTranspose3d`` had it already; the lazy forms, whose first call goes through
  ``_LazyConvNd.forward``, refused it too).
- ``F.conv_transpose1d`` (and ``nn.ConvTranspose1d``) on an unbatched ``(C, L)`` input returned
  a wrong ``(C_out, L, k)``-shaped result: the height axis was inserted after ``L`` so the 2-D
  op read the input as an unbatched image ``(C, L, 1)``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

X = np.random.default_rng(19).standard_normal((3, 4))


def _grad_after_inplace(lib: Any, build: Any) -> np.ndarray:
    a = lib.tensor(X, requires_grad=True)
    out = build(lib, a)
    out.add_(1.0)
    out.sum().backward()
    return a.grad.numpy()


@pytest.mark.parametrize(
    "build",
    [
        lambda lib, a: 1 / a,
        lambda lib, a: 1.0 / a,
        lambda lib, a: 2.5 / a,
        lambda lib, a: lib.div(1, a),
        lambda lib, a: lib.true_divide(1.0, a),
    ],
)
def test_scalar_over_tensor_result_can_be_written_in_place(build: Any) -> None:
    want = _grad_after_inplace(torch, build)
    got = _grad_after_inplace(chainrule, build)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_one_over_tensor_graph_is_mul_over_reciprocal() -> None:
    for lib in (torch, chainrule):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        node = (1 / a).grad_fn
        assert node.name() == "MulBackward0"
        assert node.next_functions[0][0].name() == "ReciprocalBackward0"


def test_reciprocal_result_written_in_place_still_raises() -> None:
    for lib in (torch, chainrule):
        a = lib.tensor(X, requires_grad=True)
        out = a.reciprocal()
        out.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            out.sum().backward()


def _schedulers(lib: Any) -> dict[str, Any]:
    sched = lib.optim.lr_scheduler
    return {
        "LambdaLR": lambda o: sched.LambdaLR(o, lambda e: 0.9**e),
        "MultiplicativeLR": lambda o: sched.MultiplicativeLR(o, lambda e: 0.9),
        "StepLR": lambda o: sched.StepLR(o, 2),
        "MultiStepLR": lambda o: sched.MultiStepLR(o, [1, 3]),
        "ConstantLR": lambda o: sched.ConstantLR(o),
        "LinearLR": lambda o: sched.LinearLR(o),
        "ExponentialLR": lambda o: sched.ExponentialLR(o, 0.9),
        "PolynomialLR": lambda o: sched.PolynomialLR(o),
        "CosineAnnealingLR": lambda o: sched.CosineAnnealingLR(o, 3),
        "CyclicLR": lambda o: sched.CyclicLR(o, 0.1, 1.0),
        "CosineAnnealingWarmRestarts": lambda o: sched.CosineAnnealingWarmRestarts(o, 2),
        "OneCycleLR": lambda o: sched.OneCycleLR(o, 1.0, total_steps=10),
        "SWALR": lambda o: lib.optim.swa_utils.SWALR(o, swa_lr=0.1, anneal_epochs=2),
    }


def _run_schedule(lib: Any, name: str) -> tuple[list[float], int, int, bool, bool]:
    """Steps taken inside warnings capture: (lrs, warnings during steps, warnings from one
    user ``get_lr()`` call, the flag after steps, the flag in the state dict)."""
    param = lib.nn.Parameter(lib.ones(1))
    opt = lib.optim.SGD([param], lr=1.0, momentum=0.9)
    lrs = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler = _schedulers(lib)[name](opt)
        for _ in range(4):
            opt.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
        during = len(caught)
        user_lrs = scheduler.get_lr()
        after = len(caught) - during
        messages = [str(w.message) for w in caught[during:]]
    assert isinstance(user_lrs, list)
    if after:
        assert "please use `get_last_lr()`" in messages[0]
    state = scheduler.state_dict()
    return (
        lrs,
        during,
        after,
        scheduler._get_lr_called_within_step,
        "_get_lr_called_within_step" in state,
    )


@pytest.mark.parametrize("name", sorted(_schedulers(torch)))
def test_scheduler_get_lr_outside_step_warns(name: str) -> None:
    want = _run_schedule(torch, name)
    got = _run_schedule(chainrule, name)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1:] == want[1:]
    assert got[2] == 1  # the user's get_lr() warned once


def test_custom_scheduler_reading_the_flag() -> None:
    """A user schedule written like PyTorch's own (warn in get_lr unless inside step)."""

    def run(lib: Any) -> tuple[list[float], int]:
        class WarmupLR(lib.optim.lr_scheduler.LRScheduler):
            def __init__(self, optimizer: Any, warmup: int) -> None:
                self.warmup = warmup
                super().__init__(optimizer)

            def get_lr(self) -> list[float]:
                if not self._get_lr_called_within_step:
                    warnings.warn("use get_last_lr()", UserWarning, stacklevel=2)
                scale = min(1.0, (self.last_epoch + 1) / self.warmup)
                return [base * scale for base in self.base_lrs]

        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scheduler = WarmupLR(opt, 3)
            lrs = []
            for _ in range(4):
                opt.step()
                scheduler.step()
                lrs.append(opt.param_groups[0]["lr"])
            scheduler.get_lr()
        return lrs, len(caught)

    got, want = run(chainrule), run(torch)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1] == want[1] == 1


def test_scheduler_state_dict_round_trip_keeps_flag() -> None:
    for lib in (torch, chainrule):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=1.0)
        scheduler = lib.optim.lr_scheduler.StepLR(opt, 2)
        keys = list(scheduler.state_dict())
        assert keys[-3:] == ["_is_initial", "_get_lr_called_within_step", "_last_lr"]
        other = lib.optim.lr_scheduler.StepLR(opt, 2)
        other.load_state_dict(scheduler.state_dict())
        assert other._get_lr_called_within_step is False


_F32 = np.arange(1.0, 4.0)
_F64 = np.linspace(-1.0, 1.0, 3)


@pytest.mark.parametrize(
    ("equation", "dtypes"),
    [
        ("i,j->ij", ("float32", "float64")),
        ("i,j->ij", ("int64", "float32")),
        ("i,j->ij", ("int64", "bool")),
        ("i,j->ij", ("float32", "complex64")),
        ("i,i->i", ("float64", "float32")),
        ("i,j->", ("float32", "float64")),
        ("i,j,k->ijk", ("float32", "float64", "int64")),
    ],
)
def test_einsum_products_promote(equation: str, dtypes: tuple[str, ...]) -> None:
    def run(lib: Any) -> tuple[Any, list]:
        ops = [
            lib.tensor(_F32 if i % 2 == 0 else _F64).to(getattr(lib, d))
            for i, d in enumerate(dtypes)
        ]
        out = lib.einsum(equation, *ops)
        return out, [str(o.dtype).split(".")[-1] for o in ops]

    got, want = run(chainrule), run(torch)
    assert str(got[0].dtype).split(".")[-1] == str(want[0].dtype).split(".")[-1]
    np.testing.assert_allclose(got[0].numpy(), want[0].numpy(), rtol=1e-6)


def test_einsum_mixed_product_gradients_keep_input_dtypes() -> None:
    def run(lib: Any) -> list:
        t = lib.tensor(_F64, requires_grad=True)
        inv = lib.tensor(_F32, dtype=lib.float32, requires_grad=True)
        freqs = lib.einsum("i,j->ij", t, inv)
        (freqs.sin() * 2).sum().backward()
        return [str(freqs.dtype), t.grad, inv.grad]

    got, want = run(chainrule), run(torch)
    assert got[0].split(".")[-1] == want[0].split(".")[-1] == "float64"
    for g, w in zip(got[1:], want[1:], strict=True):
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("equation", "shapes"), [("ij,jk->ik", ((1, 3), (3, 1))), ("i,i->", ((3,), (3,)))]
)
def test_einsum_mixed_contraction_still_raises(equation: str, shapes: tuple) -> None:
    for lib in (torch, chainrule):
        a = lib.ones(*shapes[0], dtype=lib.float32)
        b = lib.ones(*shapes[1], dtype=lib.float64)
        with pytest.raises(RuntimeError):
            lib.einsum(equation, a, b)


@pytest.mark.parametrize(("first_scalar", "error"), [(True, RuntimeError), (False, IndexError)])
def test_pad_sequence_refuses_zero_dim_sequences(first_scalar: bool, error: type) -> None:
    for lib in (torch, chainrule):
        seqs = [lib.tensor(1.0), lib.ones(2)]
        if not first_scalar:
            seqs.reverse()
        with pytest.raises(error):
            lib.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
        if not first_scalar:
            with pytest.raises(error, match="Dimension specified as 0"):
                lib.nn.utils.rnn.pad_sequence(seqs)


_W = np.random.default_rng(5).standard_normal(400)


def _conv_transpose(lib: Any, nd: int, in_shape: tuple, kw: dict, output_size: Any) -> Any:
    cls = getattr(lib.nn, f"ConvTranspose{nd}d")
    m = cls(2, 3, **kw).double()
    with lib.no_grad():
        m.weight.copy_(lib.tensor(_W[: m.weight.numel()]).view(m.weight.shape))
        m.bias.copy_(lib.tensor(_W[100:103]))
    x = lib.tensor(_W[200 : 200 + int(np.prod(in_shape))]).view(*in_shape).requires_grad_()
    y = m(x) if output_size == "none" else m(x, output_size=output_size)
    y.pow(2).sum().backward()
    return y.detach().numpy(), x.grad.numpy(), m.weight.grad.numpy()


@pytest.mark.parametrize(
    ("nd", "in_shape", "kw", "output_size"),
    [
        (2, (1, 2, 3, 3), {"kernel_size": 3, "stride": 2, "padding": 1}, [6, 6]),
        (2, (1, 2, 3, 3), {"kernel_size": 3, "stride": 2, "padding": 1}, [5, 6]),
        (2, (1, 2, 3, 3), {"kernel_size": 3, "stride": 2, "padding": 1}, [1, 3, 6, 5]),
        (2, (2, 3, 3), {"kernel_size": 3, "stride": 2, "padding": 1}, [3, 6, 6]),
        (2, (1, 2, 3, 3), {"kernel_size": 4, "stride": 3, "padding": 1, "dilation": 2}, [13, 12]),
        (2, (1, 2, 3, 3), {"kernel_size": 3, "stride": 2, "padding": 1}, None),
        (1, (1, 2, 5), {"kernel_size": 3, "stride": 2}, [12]),
        (1, (1, 2, 5), {"kernel_size": 3, "stride": 2}, [1, 3, 11]),
        (1, (2, 5), {"kernel_size": 3, "stride": 2}, [3, 12]),
        (1, (2, 5), {"kernel_size": 3, "stride": 2, "padding": 1}, "none"),
        (1, (1, 2, 5), {"kernel_size": 3, "stride": 2, "output_padding": 1}, "none"),
    ],
)
def test_conv_transpose_output_size(nd: int, in_shape: tuple, kw: dict, output_size: Any) -> None:
    got = _conv_transpose(chainrule, nd, in_shape, kw, output_size)
    want = _conv_transpose(torch, nd, in_shape, kw, output_size)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_conv_transpose1d_functional_unbatched() -> None:
    def run(lib: Any) -> list:
        w = lib.tensor(_W[:18]).view(2, 3, 3).requires_grad_()
        x = lib.tensor(_W[50:60]).view(2, 5).requires_grad_()
        y = lib.nn.functional.conv_transpose1d(x, w, lib.tensor(_W[90:93]), 2, 1, 1)
        y.pow(2).sum().backward()
        return [y.detach().numpy(), x.grad.numpy(), w.grad.numpy()]

    for g, w in zip(run(chainrule), run(torch), strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("nd", "in_shape", "output_size"),
    [
        (2, (1, 2, 3, 3), [7, 6]),
        (2, (1, 2, 3, 3), [6]),
        (2, (1, 2, 3, 3), [1, 6, 6]),
        (1, (1, 2, 5), [13]),
        (1, (1, 2, 5), [10]),
    ],
)
def test_conv_transpose_output_size_out_of_range(
    nd: int, in_shape: tuple, output_size: list
) -> None:
    kw = (
        {"kernel_size": 3, "stride": 2}
        if nd == 1
        else {"kernel_size": 3, "stride": 2, "padding": 1}
    )
    for lib in (torch, chainrule):
        with pytest.raises(ValueError):
            _conv_transpose(lib, nd, in_shape, kw, output_size)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_lazy_conv_transpose_takes_output_size(nd: int) -> None:
    shapes = []
    for lib in (torch, chainrule):
        m = getattr(lib.nn, f"LazyConvTranspose{nd}d")(3, 3, stride=2, padding=1)
        x = lib.ones(1, 2, *([3] * nd))
        out = m(input=x, output_size=[6] * nd)
        shapes.append((tuple(out.shape), type(m).__name__))
    assert shapes[0] == shapes[1] == ((1, 3, *([6] * nd)), f"ConvTranspose{nd}d")
