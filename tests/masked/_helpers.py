"""Building the same MaskedTensor in torch and chainrule, and comparing two of them."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr


def arrays(seed: int, shape=None, dtype=np.float64, p: float = 0.6):
    """Seeded random data of ``shape`` (random 1-3 dims when None) and a mask with a fully
    masked-out slice along dim 0."""
    rng = np.random.default_rng(seed)
    if shape is None:
        shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4)))
    x = rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if np.issubdtype(dtype, np.integer):
        x = rng.integers(-5, 6, size=shape)
    mask = rng.random(shape) < p
    if len(shape) and shape[0] > 1:
        mask[0] = False
    return x.astype(dtype), mask


def pair(seed: int, shape=None, dtype=np.float64, requires_grad: bool = False):
    """(torch's MaskedTensor, chainrule's) of the same data and mask."""
    x, mask = arrays(seed, shape, dtype)
    theirs = torch.masked.masked_tensor(torch.tensor(x), torch.tensor(mask), requires_grad)
    ours = cr.masked.masked_tensor(cr.tensor(x), cr.tensor(mask), requires_grad)
    return theirs, ours


def same(ours, theirs, rtol: float = 1e-7) -> None:
    """Both MaskedTensors, of one shape and dtype, equal masks, equal data in the mask."""
    assert isinstance(ours, cr.masked.MaskedTensor), type(ours)
    assert isinstance(theirs, torch.masked.MaskedTensor), type(theirs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    mask = theirs.get_mask().numpy()
    np.testing.assert_array_equal(ours.get_mask().numpy(), mask)
    a = ours.get_data().detach().numpy()[mask]
    b = theirs.get_data().detach().numpy()[mask]
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)


def error_type(fn):
    """The type of the exception ``fn()`` raises (None when it returns)."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc)
    return None
