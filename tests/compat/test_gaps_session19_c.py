"""Gaps found by the session-19 drop-in programs ``nerf_rendering``, ``sac_continuous``,
``stylegan_modulated_conv``, ``word2vec_sgns`` and ``efficientnet_block`` (and by probing the
APIs next to their idioms), each checked against PyTorch.

- ``optim.Adam`` / ``AdamW`` accepted ``betas=(0, 0.99)`` (an int 0, StyleGAN2's spelling
  before its lazy-regularisation ratio) and mixed float/Tensor betas; PyTorch raises
  ValueError "betas must be either both floats or both Tensors" (after the range checks).
- ``nn.Embedding(sparse=True)`` and ``F.embedding(..., sparse=True)`` raised
  NotImplementedError: chainrule had no sparse gradients. Now the weight's ``.grad`` is, as in
  PyTorch, an uncoalesced hybrid sparse COO tensor (sparse_dim 1, dense_dim 1: one entry per
  looked-up index, padding entries left out) that ``coalesce``s, ``to_dense``s and prints as
  torch's; gradients from two lookups concatenate (sparse + sparse) and a dense gradient of the
  same leaf makes ``.grad`` dense; ``scale_grad_by_freq`` with ``sparse=True`` raises
  RuntimeError at backward, as PyTorch. The module's repr shows ``sparse=True``.
- Sparse COO tensors could not be hybrid (values of more than one dim): ``to_dense``,
  ``dense_dim``, the size and ``zeros_like`` now follow the values' dense rows.
- ``optim.SparseAdam`` raised NotImplementedError; it is now PyTorch's algorithm (only the
  listed rows of the averages and the parameter move), with its argument checks (ValueError)
  and RuntimeError on a dense gradient.
- ``optim.SGD`` could not take a sparse gradient (PyTorch adds it to the listed rows); with
  ``weight_decay`` it raises PyTorch's RuntimeError. Adam/AdamW/RMSprop/NAdam/... given a
  sparse gradient raise PyTorch's RuntimeError "... does not support sparse gradients".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(190)
W = RNG.standard_normal((6, 3))


def _both(fn: Any) -> tuple[Any, Any]:
    """``fn(lib)`` run with chainrule and with torch."""
    return fn(chainrule), fn(torch)


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def _raises_like_torch(fn: Any) -> None:
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(type(want.value)) as got:
        fn(chainrule)
    assert str(want.value).split(":")[-1].strip()[:30] in str(got.value)


# ------------------------------------------------------------------------------ Adam's betas
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("betas", [(0, 0.99), (0.9, 0), (0, 0)])
def test_adam_int_betas_raise_like_torch(name: str, betas: tuple) -> None:
    def make(lib: Any) -> Any:
        return getattr(lib.optim, name)([lib.nn.Parameter(lib.zeros(2))], betas=betas)

    _raises_like_torch(make)


def test_adam_betas_range_checked_before_type() -> None:
    for lib in (chainrule, torch):
        with pytest.raises(ValueError, match="1"):
            lib.optim.Adam([lib.nn.Parameter(lib.zeros(2))], betas=(0.9, 1))


def test_adam_mixed_tensor_betas_raise_and_float_betas_pass() -> None:
    def mixed(lib: Any) -> Any:
        return lib.optim.Adam([lib.nn.Parameter(lib.zeros(2))], betas=(lib.tensor(0.9), 0.99))

    _raises_like_torch(mixed)
    for lib in (chainrule, torch):
        p = lib.nn.Parameter(lib.zeros(2))
        lib.optim.Adam([p], betas=(0.0**0.8, 0.99**0.8))  # StyleGAN2's ratio spelling
        lib.optim.Adam([p], betas=(np.float64(0.5), 0.9))
        lib.optim.Adam([p], betas=(lib.tensor(0.9), lib.tensor(0.99)))


# ------------------------------------------------------------------------- sparse gradients
def _lookup_grad(lib: Any, idx: list, padding_idx: Any = None) -> Any:
    layer = lib.nn.Embedding(6, 3, padding_idx=padding_idx, sparse=True, dtype=lib.float64)
    layer.weight.data.copy_(lib.tensor(W))
    (layer(lib.tensor(idx)) ** 2).sum().backward()
    return layer.weight.grad


@pytest.mark.parametrize(
    ("idx", "padding_idx"), [([4, 1, 4, 0], None), ([[4, 1], [4, 0]], 1), ([2], None)]
)
def test_embedding_sparse_grad_matches_torch(idx: list, padding_idx: Any) -> None:
    got, want = _both(lambda lib: _lookup_grad(lib, idx, padding_idx))
    assert got.is_sparse and want.is_sparse
    assert got.layout == chainrule.sparse_coo
    assert got.is_coalesced() == want.is_coalesced() == (len(idx) == 1)
    assert (got.sparse_dim(), got.dense_dim()) == (want.sparse_dim(), want.dense_dim())
    assert tuple(got.shape) == tuple(want.shape)
    assert got._nnz() == want._nnz()
    np.testing.assert_array_equal(_np(got._indices()), _np(want._indices()))
    np.testing.assert_allclose(_np(got._values()), _np(want._values()), rtol=1e-12)
    gc, wc = got.coalesce(), want.coalesce()
    assert gc.is_coalesced() and wc.is_coalesced()
    np.testing.assert_array_equal(_np(gc.indices()), _np(wc.indices()))
    np.testing.assert_allclose(_np(gc.values()), _np(wc.values()), rtol=1e-12)
    np.testing.assert_allclose(_np(got.to_dense()), _np(want.to_dense()), rtol=1e-12)
    assert repr(got) == repr(want)


def test_embedding_sparse_grads_accumulate_like_torch() -> None:
    def run(lib: Any) -> tuple:
        layer = lib.nn.Embedding(6, 3, sparse=True, dtype=lib.float64)
        layer.weight.data.copy_(lib.tensor(W))
        w = layer.weight
        (layer(lib.tensor([0, 2])).sum() + layer(lib.tensor([2])).pow(2).sum()).backward()
        both_paths = (w.grad.is_sparse, w.grad._nnz(), _np(w.grad.to_dense()))
        layer(lib.tensor([5])).sum().backward()  # a second backward: entries appended
        second = (w.grad.is_sparse, w.grad._nnz(), _np(w.grad.to_dense()))
        w.sum().backward()  # a dense gradient of the same leaf: .grad becomes dense
        mixed = (w.grad.is_sparse, _np(w.grad))
        return both_paths, second, mixed

    got, want = _both(run)
    for g, t in zip(got, want, strict=True):
        assert g[0] == t[0]
        np.testing.assert_allclose(g[-1], t[-1], rtol=1e-12)
    assert got[0][1] == want[0][1] and got[1][1] == want[1][1]


def test_embedding_sparse_through_a_non_leaf_weight() -> None:
    """The sparse gradient of a computed weight reaches the leaf with torch's values (dense in
    chainrule, whose ops other than the leaf's accumulation take dense gradients)."""

    def run(lib: Any) -> Any:
        w = lib.tensor(W, requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor([1, 1, 3]), w * 2, sparse=True)
        out.pow(2).sum().backward()
        return w.grad

    got, want = _both(run)
    np.testing.assert_allclose(_np(got), _np(want.to_dense()), rtol=1e-12)


def test_embedding_sparse_scale_grad_by_freq_raises_like_torch() -> None:
    def run(lib: Any) -> Any:
        layer = lib.nn.Embedding(6, 3, sparse=True, scale_grad_by_freq=True)
        layer(lib.tensor([1, 1])).sum().backward()

    _raises_like_torch(run)


def test_embedding_sparse_repr_like_torch() -> None:
    got, want = _both(lambda lib: repr(lib.nn.Embedding(6, 3, padding_idx=0, sparse=True)))
    assert got == want


def _train(lib: Any, make_opt: Any, steps: int = 3) -> tuple:
    layer = lib.nn.Embedding(6, 3, sparse=True, dtype=lib.float64)
    layer.weight.data.copy_(lib.tensor(W))
    opt = make_opt(lib, layer)
    rng = np.random.default_rng(4)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        idx = lib.tensor(rng.integers(0, 5, 4))  # row 5 never looked up
        loss = (layer(idx) * lib.tensor(rng.standard_normal((4, 3)))).sum().tanh()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, _np(layer.weight), opt


@pytest.mark.parametrize("maximize", [False, True])
def test_sparse_adam_matches_torch(maximize: bool) -> None:
    def make(lib: Any, layer: Any) -> Any:
        return lib.optim.SparseAdam(
            list(layer.parameters()), lr=0.1, betas=(0.8, 0.9), maximize=maximize
        )

    got, want = _both(lambda lib: _train(lib, make))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_array_equal(got[1][5], W[5])  # untouched rows do not move
    (gs,), (ts,) = got[2].state.values(), want[2].state.values()
    assert gs["step"] == ts["step"]
    np.testing.assert_allclose(np.asarray(gs["exp_avg"]), _np(ts["exp_avg"]), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gs["exp_avg_sq"]), _np(ts["exp_avg_sq"]), rtol=1e-12)
    assert got[2].defaults == want[2].defaults


@pytest.mark.parametrize(
    "kwargs",
    [{"lr": 0}, {"lr": -1.0}, {"eps": 0.0}, {"betas": (1.0, 0.9)}, {"betas": (0.9, -0.1)}],
)
def test_sparse_adam_argument_errors_like_torch(kwargs: dict) -> None:
    _raises_like_torch(lambda lib: lib.optim.SparseAdam([lib.nn.Parameter(lib.zeros(2))], **kwargs))


def test_sparse_adam_refuses_dense_gradients_like_torch() -> None:
    def run(lib: Any) -> None:
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SparseAdam([p])
        (p * 2).sum().backward()
        opt.step()

    _raises_like_torch(run)


@pytest.mark.parametrize("maximize", [False, True])
def test_sgd_sparse_gradient_matches_torch(maximize: bool) -> None:
    def make(lib: Any, layer: Any) -> Any:
        return lib.optim.SGD(layer.parameters(), lr=0.3, maximize=maximize)

    got, want = _both(lambda lib: _train(lib, make))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def test_sgd_sparse_weight_decay_raises_like_torch() -> None:
    _raises_like_torch(
        lambda lib: _train(lib, lambda lib, m: lib.optim.SGD(m.parameters(), 0.1, weight_decay=0.1))
    )


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "NAdam", "Adadelta", "Adamax"])
def test_dense_optimizers_refuse_sparse_gradients_like_torch(name: str) -> None:
    _raises_like_torch(
        lambda lib: _train(lib, lambda lib, m: getattr(lib.optim, name)(m.parameters()))
    )
