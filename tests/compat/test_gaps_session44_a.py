"""Session 44 (drop-in helper a): gaps found by the scientific-ML, graph and flow programs,
each against torch.

``ReduceLROnPlateau``'s private hooks as PyTorch 2.13 names them: ``_is_better(a, best)``
(``is_better`` before 2.x) and ``_reduce_lr(epoch)``, which a subclass with its own ``step``
(BNAF's early-stopping scheduler) calls; ``randn(dtype=torch.cfloat)`` drawn as PyTorch's
``normal_(0, std / sqrt(2))`` of the pairs (the GRF sampler of neuraloperator's data
generator); ``Transform``'s one-entry cache under PyTorch's attribute name ``_cached_x_y``
(Pyro's transforms read it).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

LIBS = (torch, cr)


def _plateau_subclass(lib):  # noqa: ANN001, ANN202
    class Plateau(lib.optim.lr_scheduler.ReduceLROnPlateau):
        """BNAF's scheduler: the base class's step written out with a callback."""

        def step(self, metrics, epoch=None, callback_best=None):  # noqa: ANN001, ANN201
            current = metrics
            if epoch is None:
                epoch = self.last_epoch = self.last_epoch + 1
            self.last_epoch = epoch
            if self._is_better(current, self.best):
                self.best = current
                self.num_bad_epochs = 0
                if callback_best is not None:
                    callback_best()
            else:
                self.num_bad_epochs += 1
            if self.in_cooldown:
                self.cooldown_counter -= 1
                self.num_bad_epochs = 0
            if self.num_bad_epochs > self.patience:
                self._reduce_lr(epoch)
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0

    return Plateau


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("min", "abs"), ("max", "rel")])
def test_plateau_subclass_private_hooks(mode: str, threshold_mode: str) -> None:
    metrics = [1.0, 0.9, 0.95, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9, 0.4]
    if mode == "max":
        metrics = [-m for m in metrics]
    got = []
    for lib in LIBS:
        p = lib.nn.Parameter(lib.zeros(2))
        opt = lib.optim.SGD([p], lr=1.0)
        best_calls: list[int] = []
        sched = _plateau_subclass(lib)(
            opt, mode=mode, factor=0.5, patience=1, cooldown=1, threshold_mode=threshold_mode,
            min_lr=0.1,
        )  # fmt: skip
        lrs = []
        for i, m in enumerate(metrics):
            sched.step(m, callback_best=lambda i=i: best_calls.append(i))  # noqa: B023
            lrs.append(opt.param_groups[0]["lr"])
        flags = [sched._is_better(0.1, 0.2), sched._is_better(0.2, 0.1)]
        got.append((lrs, best_calls, flags, sched.best, sched.last_epoch))
    assert got[0] == got[1]


def test_plateau_public_names_match_torch() -> None:
    """``is_better`` is gone from PyTorch 2.13 (``_is_better`` replaced it); the base step
    still cuts the lr through ``_reduce_lr``."""
    for name in ("is_better", "_is_better", "_reduce_lr", "in_cooldown"):
        assert hasattr(torch.optim.lr_scheduler.ReduceLROnPlateau, name) == hasattr(
            cr.optim.lr_scheduler.ReduceLROnPlateau, name
        ), name
    got = []
    for lib in LIBS:
        p = lib.nn.Parameter(lib.zeros(1))
        opt = lib.optim.SGD([p], lr=1.0)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        for m in (1.0, 2.0, 3.0, 0.5, 0.6):
            sched.step(m)
        got.append((opt.param_groups[0]["lr"], sched.get_last_lr()))
    assert got[0] == got[1]


@pytest.mark.parametrize("n", [1, 3, 7])
@pytest.mark.parametrize("like", [False, True])
def test_complex64_randn_scalar_path_bit_equal(n: int, like: bool) -> None:
    """``randn(dtype=cfloat)`` below 16 reals is PyTorch's ``normal_(0, std / sqrt(2))`` on
    the pairs: the float64 Box-Muller value times 0.7071067811865475, rounded once to float32
    (it was a float32 normal times float32(1/sqrt(2)): two roundings, 1 ulp off in ~40 %)."""
    got = []
    for lib in LIBS:
        lib.manual_seed(3)
        if like:
            z = lib.randn_like(lib.zeros(n, dtype=lib.cfloat))
        else:
            z = lib.randn(n, dtype=lib.cfloat)
        after = lib.randn(2, dtype=lib.float64)  # the generator's cached normal, as torch's
        got.append((z.numpy(), after.numpy()))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])


@pytest.mark.parametrize("dtype", ["cfloat", "cdouble"])
def test_complex_randn_is_scaled_real_normal(dtype: str) -> None:
    """Both frameworks' complex normals are the real ``normal_(0, 0.7071067811865475)`` of the
    pairs (in float64 bit for bit; in float32 the vectorised path of 16 or more reals has
    chainrule's last-bit differences of the real draws, so compare each with its own)."""
    for lib in LIBS:
        real = getattr(lib, "float32" if dtype == "cfloat" else "float64")
        lib.manual_seed(5)
        z = lib.randn(20, dtype=getattr(lib, dtype))
        lib.manual_seed(5)
        pairs = lib.empty(40, dtype=real).normal_(0, 1.0 / np.sqrt(2.0))
        np.testing.assert_array_equal(lib.view_as_real(z).reshape(-1).numpy(), pairs.numpy())
    torch.manual_seed(5)
    cr.manual_seed(5)
    want, have = torch.randn(20, dtype=torch.cdouble), cr.randn(20, dtype=cr.cdouble)
    np.testing.assert_array_equal(want.numpy(), have.numpy())


def _pair_transform(lib):  # noqa: ANN001, ANN202
    class Scale(lib.distributions.Transform):
        """A Pyro-style transform that reads the base class's one-entry cache."""

        bijective = True
        domain = lib.distributions.constraints.real
        codomain = lib.distributions.constraints.real

        def __init__(self, cache_size=1):  # noqa: ANN001
            super().__init__(cache_size=cache_size)
            self.calls = 0

        def _call(self, x):  # noqa: ANN001, ANN202
            self.calls += 1
            return 3 * x

        def _inverse(self, y):  # noqa: ANN001, ANN202
            self.calls += 1
            return y / 3

        def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
            x_old, y_old = self._cached_x_y
            cached = x is x_old and y is y_old
            return lib.full_like(x, float(cached))

    return Scale


def test_transform_cached_x_y_attribute() -> None:
    """``Transform(cache_size=1)`` keeps its last pair in ``_cached_x_y`` as PyTorch does
    (``(None, None)`` at first, ``(x, y)`` after a call or an inverse call); ``cache_size=0``
    has no such attribute. Pyro's ``AffineCoupling.log_abs_det_jacobian`` reads it."""
    got = []
    for lib in LIBS:
        t = _pair_transform(lib)()
        first = t._cached_x_y
        x = lib.tensor([1.0, 2.0])
        y = t(x)
        after_call = t._cached_x_y[0] is x and t._cached_x_y[1] is y
        again = t(x) is y and t.inv(y) is x
        y2 = lib.tensor([6.0])
        x2 = t.inv(y2)
        after_inv = t._cached_x_y[0] is x2 and t._cached_x_y[1] is y2
        hit = t.log_abs_det_jacobian(x2, y2).tolist()
        miss = t.log_abs_det_jacobian(x, y).tolist()
        t._cached_x_y = None, None  # Pyro's clear_cache
        t(x)
        no_cache = _pair_transform(lib)(cache_size=0)
        got.append(
            (
                first,
                after_call,
                again,
                after_inv,
                hit,
                miss,
                t.calls,
                hasattr(no_cache, "_cached_x_y"),
            )  # fmt: skip
        )
    assert got[0] == got[1]
    assert got[1][4] == [1.0] and got[1][5] == [0.0, 0.0]
