"""Preprocessing with PCA and whitening, fitted on training data only.

PCA rotates centred data onto the eigenvectors of its covariance, sorted by variance;
keeping the first k axes is the best rank-k linear summary. Whitening also divides each
axis by its standard deviation, so the covariance becomes the identity. We check both
facts numerically, then train a linear classifier on 10 of MNIST-1D's 40 dimensions.

Run: ``python examples/pca_whitening.py`` (``--quick`` for fewer epochs).
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import MNIST1D, PCA, Standardize, ZCAWhitening
from chainrule.train import fit
from chainrule.utils.data import DataLoader, TensorDataset

QUICK = "--quick" in sys.argv
cr.manual_seed(0)
x, y = MNIST1D(train=True).as_arrays()
x_test, y_test = MNIST1D(train=False).as_arrays()

# 1. PCA: how much variance do the first components hold?
pca = PCA(n_components=10).fit(x)
ratio = pca.explained_variance_ratio_
print("variance explained by the first 10 components:", np.round(ratio, 3))
print(f"together: {100 * ratio.sum():.1f}% of the total")

# 2. whitening: the covariance of whitened training data is the identity
white = PCA(n_components=10, whiten=True).fit(x)
z = white.transform(x)
print(
    "max |cov(z) - I| after PCA whitening:",
    f"{np.abs(np.cov(z, rowvar=False, bias=True) - np.eye(10)).max():.2e}",
)
zca = ZCAWhitening().fit(x)
zz = zca.transform(x)
print(
    "max |cov - I| after ZCA whitening (all 40 dims):",
    f"{np.abs(np.cov(zz, rowvar=False, bias=True) - np.eye(40)).max():.2e}",
)

# 3. a linear classifier on raw (standardized) features vs. on 10 whitened components
for label, prep in (
    ("40 standardized features", Standardize()),
    ("10 PCA-whitened comps ", PCA(n_components=10, whiten=True)),
):
    a = prep.fit(x).transform(x).astype(np.float32)
    b = prep.transform(x_test).astype(np.float32)
    model = nn.Linear(a.shape[1], 10)
    loader = DataLoader(TensorDataset(cr.tensor(a), cr.tensor(y)), batch_size=100, shuffle=True)
    test = DataLoader(TensorDataset(cr.tensor(b), cr.tensor(y_test)), batch_size=500)
    hist = fit(
        model,
        loader,
        nn.CrossEntropyLoss(),
        cr.optim.Adam(model.parameters(), 1e-2),
        epochs=2 if QUICK else 20,
        val_loader=test,
        verbose=False,
    )
    print(f"linear classifier on {label}: test accuracy {100 * hist.history['val_acc'][-1]:.1f}%")
