"""nn.init: dirac_, eye_, orthogonal_, sparse_ and the deprecated aliases, against torch."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import init


@pytest.mark.parametrize(
    ("shape", "groups"), [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 5, 3, 3, 3), 1), ((4, 2, 2), 2)]
)
def test_dirac_matches_torch(shape, groups):
    c, t = cr.empty(*shape), torch.empty(shape)
    assert init.dirac_(c, groups) is c
    torch.nn.init.dirac_(t, groups)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_eye_matches_torch_and_errors():
    for shape in ((3, 5), (5, 3), (4, 4)):
        c, t = cr.empty(*shape), torch.empty(shape)
        init.eye_(c)
        torch.nn.init.eye_(t)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    with pytest.raises(ValueError, match="2-d"):
        init.eye_(cr.empty(2, 2, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(cr.empty(3, 3, 3), groups=2)


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2, 2)])
def test_orthogonal_is_orthogonal_scaled_and_reproducible(shape):
    gain = 1.7
    cr.manual_seed(5)
    w = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=gain).numpy()
    cr.manual_seed(5)
    again = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=gain).numpy()
    np.testing.assert_array_equal(w, again)
    flat = w.reshape(shape[0], -1) / gain
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    # torch's output has the same property (the draws differ: different generators)
    t = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain)
    tf = t.reshape(shape[0], -1).numpy() / gain
    tg = tf @ tf.T if tf.shape[0] == small else tf.T @ tf
    np.testing.assert_allclose(tg, np.eye(small), atol=1e-12)


def test_orthogonal_uses_the_generator_and_rejects_vectors():
    g1, g2 = cr.Generator().manual_seed(3), cr.Generator().manual_seed(3)
    a = init.orthogonal_(cr.empty(3, 3), generator=g1).numpy()
    b = init.orthogonal_(cr.empty(3, 3), generator=g2).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(cr.empty(3))


@pytest.mark.parametrize(("shape", "sparsity"), [((10, 6), 0.3), ((7, 3), 0.0), ((5, 4), 1.0)])
def test_sparse_zeros_per_column_like_torch(shape, sparsity):
    rows, cols = shape
    c = init.sparse_(cr.empty(*shape, dtype=cr.float64), sparsity, std=0.5).numpy()
    t = torch.nn.init.sparse_(torch.empty(shape, dtype=torch.float64), sparsity, std=0.5).numpy()
    expected = math.ceil(sparsity * rows)
    for arr in (c, t):
        assert ((arr == 0).sum(axis=0) == min(expected, rows)).all()


def test_sparse_statistics_reproducibility_and_errors():
    g = cr.Generator().manual_seed(0)
    big = init.sparse_(cr.empty(400, 300, dtype=cr.float64), 0.5, std=2.0, generator=g).numpy()
    nonzero = big[big != 0]
    assert nonzero.size == 200 * 300
    assert abs(nonzero.std() - 2.0) < 0.05 and abs(nonzero.mean()) < 0.05
    cr.manual_seed(1)
    a = init.sparse_(cr.empty(6, 4), 0.5).numpy()
    cr.manual_seed(1)
    b = init.sparse_(cr.empty(6, 4), 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="2 dimensions"):
        init.sparse_(cr.empty(3, 3, 3), 0.1)
    with pytest.raises(ValueError):
        torch.nn.init.sparse_(torch.empty(3, 3, 3), 0.1)


ALIASES = [
    ("uniform", ()),
    ("normal", ()),
    ("constant", (0.25,)),
    ("xavier_uniform", ()),
    ("xavier_normal", ()),
    ("kaiming_uniform", ()),
    ("kaiming_normal", ()),
    ("orthogonal", ()),
    ("sparse", (0.5,)),
    ("eye", ()),
]


@pytest.mark.parametrize(("name", "args"), ALIASES)
def test_deprecated_aliases_warn_like_torch(name, args):
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        torch_out = getattr(torch.nn.init, name)(torch.empty(4, 5), *args)
    with warnings.catch_warnings(record=True) as cw:
        warnings.simplefilter("always")
        t = cr.empty(4, 5)
        assert getattr(init, name)(t, *args) is t
    assert [(w.category, str(w.message)) for w in cw] == [(w.category, str(w.message)) for w in tw]
    assert cw[0].category is FutureWarning and cw[0].filename == __file__  # the caller's line
    if name in ("constant", "eye"):
        np.testing.assert_array_equal(t.numpy(), torch_out.numpy())
    cr.manual_seed(2)
    with pytest.warns(FutureWarning):
        a = getattr(init, name)(cr.empty(4, 5), *args).numpy()
    cr.manual_seed(2)
    b = getattr(init, name + "_")(cr.empty(4, 5), *args).numpy()
    np.testing.assert_array_equal(a, b)  # the same function underneath


def test_signatures_match_torch():
    for name in ("dirac_", "eye_", "orthogonal_", "sparse_"):
        cs = inspect.signature(getattr(init, name)).parameters
        ts = inspect.signature(getattr(torch.nn.init, name)).parameters
        assert [(p.name, p.kind, p.default) for p in cs.values()] == [
            (p.name, p.kind, p.default) for p in ts.values()
        ], name


def test_deprecated_dirac_alias_warns_like_torch():
    with pytest.warns(FutureWarning, match=r"`nn.init.dirac` is now deprecated"):
        torch.nn.init.dirac(torch.empty(2, 2, 3))
    with pytest.warns(FutureWarning, match=r"`nn.init.dirac` is now deprecated"):
        out = init.dirac(cr.empty(2, 2, 3), 2)
    np.testing.assert_array_equal(out.numpy(), init.dirac_(cr.empty(2, 2, 3), 2).numpy())
