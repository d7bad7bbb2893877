"""Indexing results laid out as torch 2.13 lays them out, size-1 dims included (a later
``.view()`` or an in-place write through one reads their strides), the uint8-mask paths of
torch 2.13 (which raise where older versions warned), and the strides ``cr.tensor`` gives
a copy of a NumPy array."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

_BASE = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
_LAYOUTS = {
    "contiguous": lambda lib: lib.tensor(_BASE),
    "permuted": lambda lib: lib.tensor(_BASE).permute(0, 2, 1, 3),
    "transposed": lambda lib: lib.tensor(_BASE).transpose(0, 3),
    "step": lambda lib: lib.tensor(_BASE)[:, :, ::2],
}
_EXPRS = (
    "[:, None, 0, mask]",
    "[:, 0, None, mask]",
    "[None, :, 0, mask]",
    "[:, None, 0, :, mask5]",
    "[..., None, 0, mask5]",
    "[:, None, 1:3, mask5]",
    "[:, None, None, 0, mask5]",
    "[0, None, :, mask5]",
    "[:, None, idx]",
    "[None, idx]",
    "[idx, None, :, idx2]",
    "[None, 0, None, idx]",
    "[idx, None, 0]",
    "[idx, 0, None]",
    "[None, idx, 0, None]",
    "[:, 0, idx, None]",
    "[True]",
    "[True, None]",
    "[..., True]",
    "[:, True, 0]",
    # basic indexing: a None's stride is taken before the next dim is selected or sliced
    "[None, 1:2]",
    "[:, None, 0]",
    "[..., None, 0]",
    "[None, 0]",
    "[:, None, ::2]",
    "[None, None, 0, None]",
    "[0, None]",
    "[:, :, :, 0, None]",
)


def _env(lib, layout):
    x = _LAYOUTS[layout](lib)
    return {
        "x": x,
        "mask": lib.tensor([True, False, True][: x.shape[2]] + [True] * (x.shape[2] - 3)),
        "mask5": lib.tensor([True, False, True, True, False][: x.shape[3]]),
        "idx": lib.tensor([1, 0, 1]),
        "idx2": lib.tensor([1, 1, 0]),
    }


@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize("expr", _EXPRS)
def test_index_result_strides_match_torch(layout, expr):
    results = []
    for lib in (torch, cr):
        env = _env(lib, layout)
        try:
            out = eval("x" + expr, env)  # noqa: S307 - a fixed table of index expressions
        except IndexError:
            results.append("IndexError")
            continue
        results.append((tuple(out.shape), out.stride(), out.is_contiguous(), out.tolist()))
    assert results[0] == results[1], (layout, expr, results)


def test_basic_none_view_writes_through_view():
    # a view whose size-1 dim carries torch's stride still writes into its base
    for lib in (torch, cr):
        x = lib.zeros(2, 3, 4)
        v = x[:, None, 0]
        assert v.stride() == (12, 12, 1)
        v.view(2, 4).fill_(1.0)
        assert x[:, 0].sum().item() == 8.0 and x.sum().item() == 8.0


def test_index_result_view_matches_torch():
    # x[:, None, 0, mask] on a non-contiguous tensor, then a view that reads its strides
    outs = []
    for lib in (torch, cr):
        env = _env(lib, "permuted")
        out = env["x"][:, None, 0, env["mask"]]
        outs.append((out.stride(), out.transpose(1, 2).is_contiguous()))
    assert outs[0] == outs[1]


# ---------------------------------------------------------------------------------------
# uint8 masks


def _observe(lib, code):
    x = lib.tensor(np.arange(6.0).reshape(2, 3))
    env = {
        "x": x,
        "lib": lib,
        "m": lib.tensor(np.array([[1, 0, 1], [0, 1, 0]], dtype=np.uint8)),
        "m1": lib.tensor(np.array([1, 0], dtype=np.uint8)),
        "m3": lib.tensor(np.array([1, 0, 1], dtype=np.uint8)),
        "m0": lib.tensor(np.array(1, dtype=np.uint8)),
        "v0": lib.tensor(7.0, dtype=lib.float64),
        "v1": lib.tensor([7.0], dtype=lib.float64),
        "v3": lib.tensor([7.0, 8.0, 9.0], dtype=lib.float64),
    }
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            exec(code, env)  # noqa: S102 - a fixed table of statements
            got = ("ok", x.tolist())
        except (IndexError, RuntimeError, TypeError) as err:
            got = ("raised", IndexError if isinstance(err, IndexError) else RuntimeError)
    return got, any("uint8" in str(m.message) for m in w)


_UINT8 = (
    "y = x[m]",
    "y = x[m1]",
    "y = x[m1, 1:]",
    "y = x[m0]",
    "x[m] = 5.0",
    "x[m] = v1",
    "x[m] = v0",
    "x[m1] = v1",
    "x[m1, 0] = 5.0",
    "x[..., m3] = 5.0",
    "x[None, m1] = 5.0",
    "x[m.numpy()] = 5.0",
    "y = x[m.numpy()]",
    "x[m1, lib.tensor([0, 1])] = 5.0",
    "x[m0] = 5.0",
    "x.index_put_((m,), v0)",
    "x.index_put_((m,), v1)",
    "x.index_put_([m], v1)",
    "x.index_put_((m0,), v1)",
    "x.index_put_((m3,), v1)",
    "x.index_put_((m1,), v1)",
    "x.index_put_((m1,), v3)",
    "x.index_put_((m,), v1, accumulate=True)",
    "x.index_put_((m1, lib.tensor([0])), v1)",
    "x.copy_(lib.index_put(x, (m,), v1))",
    "x.copy_(lib.index_put(x, (m,), v3))",
    "x.requires_grad_().index_put_((m3,), v1)",
    "x.masked_fill_(m, 5.0)",
    "x.masked_fill_(m1[:, None], 5.0)",
    "y = lib.masked_select(x, m)",
    "x.copy_(lib.where(m, x, 0.0))",
    "y = lib.where(m)",
)


@pytest.mark.parametrize("code", _UINT8)
def test_uint8_mask_paths_match_torch(code):
    assert _observe(cr, code) == _observe(torch, code), code


def test_uint8_lone_mask_fill_message():
    x = cr.zeros(2, 3)
    m = cr.tensor(np.ones((2, 3), dtype=np.uint8))
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
        x.index_put_((m,), cr.tensor([1.0]))
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
        x[m.numpy()] = 1.0


# ---------------------------------------------------------------------------------------
# cr.tensor / cr.as_tensor / cr.from_numpy of NumPy arrays

_A = np.arange(24.0)
_SOURCES = {
    "c(3,1)": lambda: _A[:3].reshape(3, 1).copy(),
    "c(1,4)": lambda: _A[:4].reshape(1, 4).copy(),
    "T(4,1)": lambda: _A[:4].reshape(4, 1).T,
    "T(1,4)": lambda: _A[:4].reshape(1, 4).T,
    "F(2,1,3)": lambda: np.asfortranarray(_A[:6].reshape(2, 1, 3)),
    "F(2,3)": lambda: np.asfortranarray(_A[:6].reshape(2, 3)),
    "step": lambda: _A[::2].reshape(3, 4),
    "col": lambda: _A.reshape(4, 6)[:, 1:2],
    "None": lambda: _A[:4][None, :, None],
    "broadcast": lambda: np.broadcast_to(_A[:3], (2, 3)),
    "broadcast1": lambda: np.broadcast_to(_A[:3], (1, 3)),
    "ascontiguous(T)": lambda: np.ascontiguousarray(_A[:4].reshape(4, 1).T),
    "perm": lambda: _A.reshape(2, 3, 4).transpose(2, 1, 0)[:, :1],
    "float32 T": lambda: _A[:3].astype(np.float32).reshape(3, 1).T,
}


@pytest.mark.parametrize("source", list(_SOURCES))
@pytest.mark.parametrize(
    "make",
    [
        lambda lib, a: lib.tensor(a),
        lambda lib, a: lib.tensor(a, dtype=lib.float32),
        lambda lib, a: lib.as_tensor(a),
        lambda lib, a: lib.as_tensor(a, dtype=lib.float32),
        lambda lib, a: lib.from_numpy(a),
    ],
    ids=["tensor", "tensor_dtype", "as_tensor", "as_tensor_dtype", "from_numpy"],
)
def test_tensor_from_numpy_strides_match_torch(source, make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a read-only (broadcast) array
        got = make(cr, _SOURCES[source]())
        want = make(torch, _SOURCES[source]())
    assert got.stride() == want.stride(), (source, got.stride(), want.stride())
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_from_numpy_size1_zero_stride_still_shares_memory():
    a = np.arange(4.0)[None]
    t = cr.from_numpy(a)
    t[0, 1] = 9.0
    assert a[0, 1] == 9.0 and t.stride() == torch.from_numpy(a).stride()
