"""torch.func details (session 34) against torch live: jacfwd runs ``f`` once (one vjp-free
vmapped jvp over the basis), ``one_hot`` of vmap-batched labels, ``requires_grad_`` on a
batched tensor."""

import numpy as np
import pytest
import torch

import chainrule as cr

LIBS = (cr, torch)


def _np(x):
    return np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x.numpy())


def _close(a, b, atol=1e-5):
    np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=1e-5)


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the error is the compared result
        return type(e).__name__, str(e).splitlines()[0].split(" (got")[0].rstrip(".")
    return None


def test_jacfwd_runs_func_once_like_torch():
    calls = {}
    for lib in LIBS:
        n = [0]

        def f(x, n=n, lib=lib):
            n[0] += 1
            return lib.sin(x) * 2

        lib.func.jacfwd(f)(lib.ones(4))
        calls[lib] = n[0]
    assert calls[cr] == calls[torch] == 1


@pytest.mark.parametrize("seed", range(3))
def test_jacfwd_values_argnums_aux_like_torch(seed):
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal(s).astype(np.float32) for s in ((3,), (2, 3), ())]
    out = {}
    for lib in LIBS:
        x, w, s = (lib.tensor(a) for a in arrs)

        def f(x, w, s, lib=lib):
            y = lib.tanh(w @ x) * s + x.sum()
            return (y, {"q": (x * x).sum() * s}), {"aux": y.sum(), "x": x * 2}

        out[lib] = lib.func.jacfwd(f, argnums=(0, 2), has_aux=True)(x, w, s)
    leaves = [torch.utils._pytree.tree_leaves(out[torch]), cr.utils._pytree.tree_leaves(out[cr])]
    assert len(leaves[0]) == len(leaves[1]) == 6
    for t, c in zip(*leaves):
        assert tuple(t.shape) == tuple(c.shape)
        _close(c, t)


def test_jacfwd_randomness_like_torch():
    for mode in ("same", "different"):
        res = {}
        for lib in LIBS:
            lib.manual_seed(0)

            def g(x, lib=lib):
                r = lib.rand(())
                return x * lib.rand(3) + r, r

            j, a = lib.func.jacfwd(g, has_aux=True, randomness=mode)(lib.ones(3))
            res[lib] = (j, a, lib.rand(2))
        for c, t in zip(res[cr], res[torch]):
            _close(c, t)
    errs = {
        lib: _err(lambda lib=lib: lib.func.jacfwd(lambda x, lib=lib: x * lib.rand(()))(lib.ones(2)))
        for lib in LIBS
    }
    assert errs[cr] == errs[torch] and errs[torch] is not None


def test_jacfwd_aux_non_tensor_error_like_torch():
    errs = {
        lib: _err(lambda lib=lib: lib.func.jacfwd(lambda x: (x, 5), has_aux=True)(lib.ones(2)))
        for lib in LIBS
    }
    assert errs[cr] == errs[torch] and errs[torch] is not None


def test_hessian_and_jacrev_chunk_size_like_torch():
    a = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    res = {}
    for lib in LIBS:
        x = lib.tensor(a)

        def f(x, lib=lib):
            return (lib.tanh(x) * x.exp()).sum()

        res[lib] = (
            lib.func.hessian(f)(x),
            lib.func.jacfwd(lib.func.jacrev(f, chunk_size=2))(x),
        )
    for c, t in zip(res[cr], res[torch]):
        _close(c, t)


def test_one_hot_batched_labels_like_torch():
    labels = np.array([[0, 2], [1, 1], [3, 0]], dtype=np.int64)
    for n, dim in ((4, 0), (4, 1), (2, 0)):
        res = {
            lib: lib.func.vmap(
                lambda t, lib=lib, n=n: lib.nn.functional.one_hot(t, n), in_dims=dim
            )(lib.tensor(labels))
            for lib in LIBS
        }
        assert res[cr].dtype == cr.int64
        np.testing.assert_array_equal(_np(res[cr]), _np(res[torch]))
    errs = {
        lib: _err(lambda lib=lib: lib.func.vmap(lib.nn.functional.one_hot)(lib.tensor(labels)))
        for lib in LIBS
    }
    assert errs[cr] == errs[torch] and errs[torch] is not None


@pytest.mark.parametrize("flag", [True, False])
def test_batched_requires_grad_error_like_torch(flag):
    errs = {
        lib: _err(lambda lib=lib: lib.func.vmap(lambda t: t.requires_grad_(flag))(lib.zeros(3, 2)))
        for lib in LIBS
    }
    assert errs[cr] == errs[torch] and errs[torch] is not None


def test_one_hot_nested_vmap_and_out_of_range_like_torch():
    nested = np.array([[0, 2], [1, 1], [3, 0]], dtype=np.int64)
    extreme = np.array([[-(2**63), 2**63 - 1, 5, -1, 2]], dtype=np.int64)
    for lib_fn in (
        lambda lib: lib.func.vmap(lib.func.vmap(lambda t: lib.nn.functional.one_hot(t, 4)))(
            lib.tensor(nested)
        ),
        lambda lib: lib.func.vmap(lambda t: lib.nn.functional.one_hot(t, 4))(lib.tensor(extreme)),
    ):
        np.testing.assert_array_equal(_np(lib_fn(cr)), _np(lib_fn(torch)))


def test_jacfwd_inside_vmap_like_torch():
    xs = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)
    res = {
        lib: lib.func.vmap(lib.func.jacfwd(lambda x, lib=lib: lib.tanh(x) * x.sum()))(
            lib.tensor(xs)
        )
        for lib in LIBS
    }
    _close(res[cr], res[torch])


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lambda x: x.sin() if x.sum() > 0 else x.cos(),  # control flow on values
        lambda lib: lambda x: x * x[0].item(),  # a value read with .item()
        lambda lib: lambda x: x.sin() * x.clone().mul_(2.0),
    ],
)
def test_jacfwd_of_functions_reading_their_values_like_torch(make):
    # PyTorch batches only the tangents, so func sees its real inputs; chainrule's batched
    # jvp cannot, and falls back to one jvp per element (as before session 34)
    x = np.array([0.5, -1.25, 2.0])
    got = cr.func.jacfwd(make(cr))(cr.tensor(x))
    want = torch.func.jacfwd(make(torch))(torch.tensor(x))
    _close(got, want)
