"""``func.grad`` with pytree arguments (a dict/tuple of tensors), compared with ``torch.func``.

The per-sample-gradient recipe passes ``dict(model.named_parameters())`` to ``func.grad``; the
gradient must come back as a dict with the same keys (and a tuple as a tuple), as in PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _loss(lib, params, x):
    h = lib.tanh(x @ params["w"] + params["b"])
    return (h * params["pair"][0]).sum() + params["pair"][1].pow(2).sum()


def _arrays():
    rng = np.random.default_rng(0)
    return (
        {
            "w": rng.standard_normal((3, 2)),
            "b": rng.standard_normal(2),
            "pair": (rng.standard_normal(2), rng.standard_normal(1)),
        },
        rng.standard_normal((4, 3)),
    )


def _to(lib, tree):
    if isinstance(tree, dict):
        return {k: _to(lib, v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(_to(lib, v) for v in tree)
    return lib.tensor(tree, dtype=lib.float64)


def test_grad_of_dict_argument_matches_torch() -> None:
    params, x = _arrays()
    got = cr.func.grad(lambda p, x: _loss(cr, p, x))(_to(cr, params), _to(cr, x))
    want = torch.func.grad(lambda p, x: _loss(torch, p, x))(_to(torch, params), _to(torch, x))
    assert set(got) == set(want) and isinstance(got["pair"], tuple)
    for k in ("w", "b"):
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-12)
    for g, w in zip(got["pair"], want["pair"]):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12)


def test_grad_with_argnums_tuple_over_tree_and_tensor() -> None:
    params, x = _arrays()
    g_params, g_x = cr.func.grad(lambda p, x: _loss(cr, p, x), argnums=(0, 1))(
        _to(cr, params), _to(cr, x)
    )
    t_params, t_x = torch.func.grad(lambda p, x: _loss(torch, p, x), argnums=(0, 1))(
        _to(torch, params), _to(torch, x)
    )
    np.testing.assert_allclose(g_x.numpy(), t_x.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_params["w"].numpy(), t_params["w"].numpy(), rtol=1e-12)


def test_grad_of_grad_through_a_dict() -> None:
    """Nested transforms stay connected through a dict argument (second derivative of x^3)."""
    inner = cr.func.grad(lambda p: (p["x"] ** 3).sum())
    second = cr.func.grad(lambda p: inner(p)["x"].sum())({"x": cr.tensor([2.0, -1.0])})
    np.testing.assert_allclose(second["x"].numpy(), [12.0, -6.0])
