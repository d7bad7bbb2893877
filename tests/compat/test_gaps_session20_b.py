"""Gaps found by the session-20 drop-in programs (``transformer_xl_relpos``,
``bayes_by_backprop``, ``pointer_network``, ``ncf_recommender``, ``ddim_unet_sampler``) and by
probing the calls next to their idioms, each checked against PyTorch.

- ``torch.cat`` refused Transformer-XL's first memory: ``init_mems`` makes ``torch.empty(0)``
  and ``torch.cat([mems, w], 0)`` joins it to a ``(qlen, bsz, d)`` segment. PyTorch's legacy
  rule lets a 1-D empty tensor join any shape (its dtype still promotes, it gets a ``tensor([])``
  gradient), and with only such tensors any ``dim`` is accepted.
- An empty tensor printed as ``tensor([], size=(0,))`` and hid an int64 / bool dtype; PyTorch
  prints ``tensor([])``, ``tensor([], dtype=torch.int64)``, ``tensor([], size=(0, 3),
  dtype=torch.int64)`` (size before dtype, ``(0,)`` left out).
- Floats printed with NumPy's column rule: ``tensor([-inf, 1.])`` (the pointer network's
  ``_inf`` parameter) came out as ``tensor([-inf,   1.])``, ``-0.`` widened its neighbours,
  integral values in scientific notation lost their digits (``1.e+10`` for PyTorch's
  ``1.0000e+10``), and a summarised row had one space before ``...`` where PyTorch has two
  (``tensor([   0,    1,    2,  ..., 1997, 1998, 1999])``). PyTorch sizes columns from the
  finite non-zero values only and pads every element to that width.
- The loss functions' shape-mismatch UserWarning (``mse_loss``, ``l1_loss``,
  ``smooth_l1_loss``, ``huber_loss``) and ``binary_cross_entropy``'s error printed the sizes
  as tuples ``((2,))``; PyTorch prints ``torch.Size([2])``. ``binary_cross_entropy_with_logits``
  (NCF's ``BCEWithLogitsLoss``) with a mismatched target now says PyTorch's "Target size
  (torch.Size([3])) must be the same as input size (torch.Size([2]))".
- ``index_copy_`` with a 0-d index and a 0-d source into a vector (Transformer-XL's
  ``AdaptiveEmbedding``-style ``emb_flat.index_copy_(0, indices_i, emb_i)`` with one row left)
  failed with a raw NumPy ``ValueError``; ``index_add_`` and ``index_reduce_`` accepted a 0-d
  source for a vector, which PyTorch refuses (RuntimeError).
- ``nn.init.kaiming_uniform_`` / ``kaiming_normal_`` on a zero-element tensor gave no warning;
  PyTorch warns "Initializing zero-element tensors is a no-op" (so ``nn.Linear(8, 0)`` and
  ``nn.AdaptiveLogSoftmaxWithLoss`` with a zero-size tail warn).
- ``nn.Bilinear(0, ...)`` failed with ``ZeroDivisionError``; PyTorch raises ValueError
  "in1_features must be > 0".
- A reduction over an empty ``dim`` list (``dim=()`` / ``dim=[]``) returned the tensor
  unreduced; PyTorch's ``sum``, ``mean``, ``amax``, ``amin``, ``var``, ``std``, ``var_mean``,
  ``std_mean``, ``nansum``, ``nanmean``, ``norm``, ``count_nonzero`` and (with ``keepdim``)
  ``logsumexp`` reduce every dim, which the diffusion codebases' ``mean_flat(tensor) =
  tensor.mean(dim=list(range(1, len(tensor.shape))))`` relies on for a 1-d loss; ``all`` and
  ``any`` still reduce nothing, as in PyTorch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _norm(text: str) -> str:
    """A repr with chainrule's dtype spelling (``dtype=float64``) read as torch's."""
    return text.replace("dtype=torch.", "dtype=")


# ------------------------------------------------------------------ cat's legacy empty


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_skips_legacy_empty(dim: int) -> None:
    w = np.arange(6.0).reshape(2, 3)
    got = [lib.cat([lib.empty(0), lib.tensor(w), lib.empty(0)], dim) for lib in (torch, chainrule)]
    assert tuple(got[0].shape) == tuple(got[1].shape)
    assert str(got[0].dtype) == str(got[1].dtype)
    np.testing.assert_array_equal(got[1].numpy(), got[0].numpy())


def test_cat_legacy_empty_promotes_and_gets_a_gradient() -> None:
    for lib in LIBS:
        e = lib.empty(0, requires_grad=True)
        w = lib.ones(2, 3, dtype=lib.float64, requires_grad=True)
        out = lib.cat([w, e, w], 1)
        assert tuple(out.shape) == (2, 6) and out.dtype == lib.float64
        out.sum().backward()
        assert tuple(e.grad.shape) == (0,)
        np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 2.0))
        assert lib.cat([lib.empty(0, dtype=lib.int64), lib.ones(2, 3)]).dtype == lib.float32


@pytest.mark.parametrize("dim", [0, 1, 5, -3])
def test_cat_of_only_legacy_empties_takes_any_dim(dim: int) -> None:
    for lib in LIBS:
        assert tuple(lib.cat([lib.empty(0), lib.empty(0)], dim).shape) == (0,)


def test_cat_with_legacy_empty_still_checks_the_rest() -> None:
    for lib in LIBS:
        with pytest.raises(IndexError):
            lib.cat([lib.empty(0), lib.ones(2, 3)], 5)
        with pytest.raises(RuntimeError):
            lib.cat([lib.empty(0, 3), lib.ones(2, 4)])


def test_transformer_xl_first_memory() -> None:
    """``_update_mems``: ``torch.cat([mems[i], hids[i]], dim=0)[beg:end].detach()``."""
    for lib in LIBS:
        mems = lib.empty(0, dtype=lib.float64)
        hid = lib.ones(4, 3, 8, dtype=lib.float64, requires_grad=True)
        new = lib.cat([mems, hid], dim=0)[0:4].detach()
        assert tuple(new.shape) == (4, 3, 8) and not new.requires_grad


# ------------------------------------------------------------------ printing

EMPTY_REPRS = [
    lambda t: t.empty(0),
    lambda t: t.empty(0, 3),
    lambda t: t.empty(0, dtype=t.float64),
    lambda t: t.empty(0, dtype=t.int64),
    lambda t: t.empty(0, 3, dtype=t.int64),
    lambda t: t.empty(2, 0, dtype=t.uint8),
    lambda t: t.empty(0, dtype=t.bool),
    lambda t: t.empty(0, requires_grad=True),
    lambda t: t.empty(0, requires_grad=True) * 2,
    lambda t: t.ones(4)[4:],
]


@pytest.mark.parametrize("build", EMPTY_REPRS)
def test_empty_tensor_repr(build: Any) -> None:
    assert _norm(repr(build(chainrule))) == _norm(repr(build(torch)))


NAN, INF = float("nan"), float("inf")
FLOAT_VALUES = [
    [-INF, 1.0],
    [[-INF, 1.0], [2.0, 3.0]],
    [0.0, NAN],
    [-0.0, 1.0],
    [1e10, 1.0],
    [1e10],
    [0.0, 1e10],
    [1e8, 2.0],
    [1e10, -INF],
    [1.0, NAN, 100.0],
    [-INF, 1.5],
    [1.5, NAN, -INF],
    [2e-5, NAN],
    [1e-5, 1.0],
    [0.1, NAN, -2.5],
    [12345.678, 1.0],
    [0.5, 0.25, -0.125],
    [NAN, INF],
    3.5,
    -0.0,
    -INF,
    1e-20,
]


@pytest.mark.parametrize("values", FLOAT_VALUES, ids=str)
def test_float_repr_columns(values: Any) -> None:
    assert repr(chainrule.tensor(values)) == repr(torch.tensor(values))


SUMMARISED = [
    lambda t: t.arange(2000),
    lambda t: t.arange(2000.0) / 7,
    lambda t: t.arange(2000.0),
    lambda t: t.linspace(-3, 3, 1500).view(30, 50),
    lambda t: t.arange(4000.0).view(2000, 2) / 3,
]


@pytest.mark.parametrize("build", SUMMARISED)
def test_summarised_repr(build: Any) -> None:
    assert repr(build(chainrule)) == repr(build(torch))


def test_float_repr_with_print_options() -> None:
    values = [-INF, 1.0, 2.5]
    try:
        for lib in LIBS:
            lib.set_printoptions(precision=2)
        assert repr(chainrule.tensor(values)) == repr(torch.tensor(values))
    finally:
        for lib in LIBS:
            lib.set_printoptions(profile="default")


# ------------------------------------------------------------------ loss messages


def _warning(lib: Any, fn: str) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(lib.nn.functional, fn)(lib.ones(2, 1), lib.ones(2))
    return str(caught[0].message)


@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_loss_size_warning_prints_sizes(fn: str) -> None:
    assert _warning(chainrule, fn) == _warning(torch, fn)


def test_bce_size_errors_name_sizes_as_torch() -> None:
    for fn, want in [
        ("binary_cross_entropy", "Using a target size (torch.Size([2])) that is different"),
        ("binary_cross_entropy_with_logits", "Target size (torch.Size([3])) must be the same"),
    ]:
        n = 2 if fn == "binary_cross_entropy" else 3
        for lib in LIBS:
            with pytest.raises(ValueError) as info:
                getattr(lib.nn.functional, fn)(lib.ones(2, 1) * 0.5, lib.ones(n))
            assert want in str(info.value)
            if fn.endswith("logits"):
                with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[3\]\)\)"):
                    lib.nn.BCEWithLogitsLoss()(lib.zeros(2), lib.zeros(3))


# ------------------------------------------------------------------ 0-d index/source


INDEX_CASES = [
    lambda t: t.zeros(4).index_copy_(0, t.tensor(2), t.tensor(5.0)),
    lambda t: t.zeros(4).index_copy_(0, t.tensor([2]), t.tensor(5.0)),
    lambda t: t.index_copy(t.zeros(4), 0, t.tensor(2), t.tensor(5.0)),
    lambda t: t.zeros(()).index_copy_(0, t.tensor([0]), t.tensor([5.0])),
    lambda t: t.zeros(()).index_add_(0, t.tensor(0), t.tensor(5.0)),
    lambda t: t.zeros(4).index_add_(0, t.tensor(2), t.tensor([5.0])),
]


@pytest.mark.parametrize("build", INDEX_CASES)
def test_zero_d_index_and_source(build: Any) -> None:
    np.testing.assert_array_equal(build(chainrule).numpy(), build(torch).numpy())


REFUSED = [
    lambda t: t.zeros(4).index_add_(0, t.tensor(2), t.tensor(5.0)),
    lambda t: t.zeros(()).index_add_(0, t.tensor([0]), t.tensor([5.0])),
    lambda t: t.zeros(4).index_reduce_(0, t.tensor([2]), t.tensor(5.0), "amax"),
    lambda t: t.zeros(()).index_reduce_(0, t.tensor([0]), t.tensor([5.0]), "prod"),
]


@pytest.mark.parametrize("build", REFUSED)
@pytest.mark.filterwarnings("ignore:index_reduce")
def test_zero_d_source_refused(build: Any) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="source"):
            build(lib)


def test_index_copy_zero_d_source_gradient() -> None:
    grads = []
    for lib in LIBS:
        s = lib.tensor(5.0, requires_grad=True)
        lib.zeros(4).index_copy(0, lib.tensor(2), s * 2).sum().backward()
        grads.append(s.grad.item())
    assert grads[0] == grads[1] == 2.0


# ------------------------------------------------------------------ init and layers


def _count(lib: Any, build: Any) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(lib)
    return sum("zero-element" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "build",
    [
        lambda t: t.nn.init.kaiming_uniform_(t.empty(0, 3)),
        lambda t: t.nn.init.kaiming_normal_(t.empty(3, 0)),
        lambda t: t.nn.init.kaiming_uniform_(t.empty(0, 3), a=1, nonlinearity="sigmoid"),
        lambda t: t.nn.Linear(8, 0),
        lambda t: t.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 10]),
        lambda t: t.nn.init.kaiming_uniform_(t.empty(2, 3)),
    ],
)
def test_zero_element_init_warns(build: Any) -> None:
    assert _count(chainrule, build) == _count(torch, build)


def test_bilinear_zero_in1_features() -> None:
    for lib in LIBS:
        with pytest.raises(ValueError, match=r"in1_features must be > 0, but got"):
            lib.nn.Bilinear(0, 2, 3)
        assert lib.nn.Bilinear(2, 0, 3).weight.shape == (3, 2, 0)


# ------------------------------------------------------------------ empty dim lists

EMPTY_DIM_OPS = [
    "sum",
    "mean",
    "amax",
    "amin",
    "var",
    "std",
    "nansum",
    "nanmean",
    "norm",
    "var_mean",
    "std_mean",
    "all",
    "any",
]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [(), []], ids=["tuple", "list"])
@pytest.mark.parametrize("op", EMPTY_DIM_OPS)
def test_empty_dim_list_reductions(op: str, dim: Any, keepdim: bool) -> None:
    got = []
    for lib in LIBS:
        out = getattr(lib, op)(lib.arange(6.0).view(2, 3), dim=dim, keepdim=keepdim)
        got.append([o.tolist() for o in out] if isinstance(out, tuple) else out.tolist())
    np.testing.assert_allclose(np.array(got[1], dtype=float), np.array(got[0], dtype=float))


def test_empty_dim_list_count_logsumexp_and_grad() -> None:
    for lib in LIBS:
        x = lib.arange(6.0).view(2, 3)
        assert lib.count_nonzero(x, dim=()).item() == 5
        assert lib.logsumexp(x, dim=[], keepdim=True).shape == (1, 1)
        y = x.clone().requires_grad_()
        out = y.mean(dim=list(range(1, 1)))  # mean_flat of a 1-d-like request: every dim
        assert out.grad_fn.name() == "MeanBackward1"
        out.backward()
        np.testing.assert_allclose(y.grad.numpy(), np.full((2, 3), 1 / 6), rtol=1e-6)
        with pytest.raises(RuntimeError, match="Expected reduction dim"):
            lib.ones(2, 0).amax(dim=())
