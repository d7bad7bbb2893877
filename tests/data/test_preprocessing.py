"""Preprocessing: math against direct NumPy formulas, inverse round trips, state round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.preprocessing import PCA, MeanSubtraction, Standardize, ZCAWhitening


def _correlated(n=400, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.normal(0, 3, d)


def test_standardize_features_matches_formula_and_applies_train_stats():
    x = _correlated()
    test = _correlated(seed=1)
    s = Standardize().fit(x)
    np.testing.assert_allclose(s.transform(x), (x - x.mean(0)) / x.std(0), rtol=1e-12)
    np.testing.assert_allclose(s.transform(test), (test - x.mean(0)) / x.std(0), rtol=1e-12)
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-12)


def test_standardize_per_channel_images_and_tensor_in_tensor_out():
    rng = np.random.default_rng(0)
    x = (rng.random((8, 3, 5, 5)) * [[[10]], [[20]], [[30]]]).astype(np.float32)
    s = Standardize(per_channel=True)
    out = s.fit_transform(cr.tensor(x))
    assert isinstance(out, cr.Tensor) and out.dtype == np.float32 and out.shape == x.shape
    mean = x.astype(np.float64).mean(axis=(0, 2, 3), keepdims=True)
    std = x.astype(np.float64).std(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out.numpy(), (x - mean) / std, rtol=1e-5, atol=1e-5)
    assert s.mean.shape == (3, 1, 1)
    with pytest.raises(ValueError, match="per_channel"):
        Standardize(per_channel=True).fit(np.zeros((4, 3)))


def test_standardize_zero_std_is_guarded():
    x = np.column_stack([np.arange(5.0), np.full(5, 7.0)])
    z = Standardize().fit_transform(x)
    assert np.all(np.isfinite(z))
    np.testing.assert_array_equal(z[:, 1], 0.0)


def test_mean_subtraction_image_and_channel():
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 4, 4))
    m = MeanSubtraction().fit(x)
    np.testing.assert_allclose(m.transform(x), x - x.mean(0), atol=1e-14)
    c = MeanSubtraction(per_channel=True).fit(x)
    np.testing.assert_allclose(
        c.transform(x), x - x.mean(axis=(0, 2, 3), keepdims=True), atol=1e-14
    )
    assert c.mean.size == 3
    u8 = (x * 255).astype(np.uint8)
    out = MeanSubtraction().fit_transform(u8)
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "make",
    [
        lambda: Standardize(),
        lambda: MeanSubtraction(),
        lambda: PCA(),
        lambda: ZCAWhitening(epsilon=1e-9),
        lambda: PCA(whiten=True),
    ],
)
def test_inverse_round_trip(make):
    x = _correlated()
    p = make().fit(x)
    np.testing.assert_allclose(p.inverse_transform(p.transform(x)), x, rtol=1e-9, atol=1e-9)


def test_pca_against_svd_reference():
    x = _correlated()
    xc = x - x.mean(0)
    _, sv, vt = np.linalg.svd(xc, full_matrices=False)
    p = PCA(n_components=3).fit(x)
    var = sv**2 / (len(x) - 1)
    np.testing.assert_allclose(p.explained_variance_, var[:3], rtol=1e-9)
    np.testing.assert_allclose(p.explained_variance_ratio_, var[:3] / var.sum(), rtol=1e-9)
    # same subspace and axes up to sign
    np.testing.assert_allclose(np.abs(p.components_ @ vt[:3].T), np.eye(3), atol=1e-8)
    z = p.transform(x)
    assert z.shape == (400, 3)
    np.testing.assert_allclose(np.cov(z.T), np.diag(var[:3]), atol=1e-8)  # decorrelated
    # rank-3 reconstruction error equals the discarded variance
    rec = p.inverse_transform(z)
    np.testing.assert_allclose(((x - rec) ** 2).sum() / (len(x) - 1), var[3:].sum(), rtol=1e-8)


def test_pca_variance_fraction_and_images():
    x = _correlated()
    p = PCA(n_components=0.95).fit(x)
    cum = np.cumsum(PCA().fit(x).explained_variance_ratio_)
    k = p.n_components_
    assert cum[k - 1] >= 0.95 and (k == 1 or cum[k - 2] < 0.95)
    imgs = np.random.default_rng(0).random((30, 1, 4, 4))
    q = PCA(5).fit(imgs)
    assert q.transform(imgs).shape == (30, 5)
    assert q.inverse_transform(q.transform(imgs)).shape == (30, 1, 4, 4)
    with pytest.raises(ValueError, match="variance fraction"):
        PCA(1.5)
    with pytest.raises(ValueError, match="exceeds"):
        PCA(10).fit(np.zeros((20, 4)))


def test_pca_whiten_unit_variance():
    x = _correlated()
    z = PCA(whiten=True, eps=0).fit_transform(x)
    np.testing.assert_allclose(np.cov(z.T), np.eye(6), atol=1e-8)


def test_zca_identity_covariance_and_symmetric_matrix():
    x = _correlated(n=2000)
    zca = ZCAWhitening(epsilon=1e-10).fit(x)
    z = zca.transform(x)
    np.testing.assert_allclose(np.cov(z.T), np.eye(6), atol=1e-6)
    np.testing.assert_allclose(zca.matrix_, zca.matrix_.T, atol=1e-12)
    # ZCA stays close to the data: it is the whitening closest to identity rotation
    pca_z = PCA(whiten=True, eps=1e-10).fit_transform(x)
    assert (
        np.linalg.norm(z - (x - x.mean(0)) / x.std())
        <= np.linalg.norm(pca_z - (x - x.mean(0)) / x.std()) + 1e-9
    )


def test_transform_before_fit_and_shape_mismatch():
    with pytest.raises(RuntimeError, match="fit"):
        Standardize().transform(np.zeros((2, 3)))
    s = Standardize().fit(np.random.rand(5, 3))
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        s.transform(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="Tensor or numpy"):
        s.transform([[1.0, 2.0, 3.0]])


@pytest.mark.parametrize(
    "make",
    [
        lambda: Standardize(per_channel=True),
        lambda: MeanSubtraction(per_channel=True),
        lambda: PCA(0.9, whiten=True),
        lambda: ZCAWhitening(0.1),
    ],
)
def test_state_dict_round_trip_through_safetensors_and_json(make, tmp_path):
    from safetensors.numpy import load_file, save_file

    x = np.random.default_rng(0).random((40, 2, 3, 3))
    p = make().fit(x)
    state = p.state_dict()
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    numbers = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    assert all(isinstance(v, (int, float)) for v in numbers.values())
    save_file(arrays, str(tmp_path / "pre.safetensors"))
    (tmp_path / "pre.json").write_text(json.dumps(numbers))
    q = type(p)()
    q.load_state_dict(
        {
            **load_file(str(tmp_path / "pre.safetensors")),
            **json.loads((tmp_path / "pre.json").read_text()),
        }
    )
    test = np.random.default_rng(1).random((5, 2, 3, 3))
    np.testing.assert_allclose(q.transform(test), p.transform(test), rtol=1e-12)
    with pytest.raises(KeyError, match="missing"):
        type(p)().load_state_dict({})
