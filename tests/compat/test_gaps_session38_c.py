"""Gaps found in session 38 by drop-in helper c (books and popular repositories): each test
pins one fix against the installed PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.attention.bias import causal_lower_right, causal_upper_left

torch = pytest.importorskip("torch")
from torch.nn.attention import bias as torch_bias  # noqa: E402

_OPS = {
    "add0": lambda b, lib: b + 0,
    "to": lambda b, lib: b.to(lib.float64),
    "index": lambda b, lib: b[0],
    "mul": lambda b, lib: b * 2,
    "clone": lambda b, lib: b.clone(),
    "detach": lambda b, lib: b.detach(),
    "float": lambda b, lib: b.float(),
    "torch_add": lambda b, lib: lib.add(b, 1),
    "sum": lambda b, lib: b.sum(),
    "dense_plus_bias": lambda b, lib: lib.ones(4) + b[0, 0],
}


@pytest.mark.parametrize("op", sorted(_OPS))
def test_causal_bias_results_keep_the_causal_bias_type(op: str) -> None:
    """PyTorch's ``CausalBias.__torch_function__`` falls back to ``Tensor.__torch_function__``
    for every op but SDPA: results are CausalBias instances (of the placeholder data's shape
    and dtype), as chainrule's now."""
    ours = _OPS[op](causal_upper_left(3, 4), cr)
    theirs = _OPS[op](torch_bias.causal_upper_left(3, 4), torch)
    assert type(ours).__name__ == type(theirs).__name__ == "CausalBias"
    assert isinstance(ours, cr.nn.attention.bias.CausalBias)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)


def test_causal_bias_results_lack_its_attributes() -> None:
    """A CausalBias made by an op has no ``variant``/``seq_len_q``: printing it and using it
    as an SDPA mask raise PyTorch's AttributeErrors; SDPA with the bias itself returns a plain
    Tensor."""
    q, k = np.random.default_rng(0).standard_normal((2, 1, 3, 2)), np.ones((1, 4, 2))
    for lib, make in ((cr, causal_upper_left), (torch, torch_bias.causal_upper_left)):
        bias = make(3, 4)
        derived = bias + 0
        with pytest.raises(AttributeError, match="'CausalBias' object has no attribute 'variant'"):
            repr(derived)
        args = [lib.tensor(q[0]), lib.tensor(k), lib.tensor(k)]
        with pytest.raises(
            AttributeError, match="'CausalBias' object has no attribute 'seq_len_q'"
        ):
            lib.nn.functional.scaled_dot_product_attention(*args, attn_mask=derived)
        out = lib.nn.functional.scaled_dot_product_attention(*args, attn_mask=bias)
        assert type(out) is lib.Tensor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = cr.nn.functional.scaled_dot_product_attention(
            cr.tensor(q[1]), cr.tensor(k), cr.tensor(k), attn_mask=causal_lower_right(3, 4)
        )
        want = torch.nn.functional.scaled_dot_product_attention(
            torch.tensor(q[1]),
            torch.tensor(k),
            torch.tensor(k),
            attn_mask=torch_bias.causal_lower_right(3, 4),
        )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def _sparse_fuzzer_draws(lib) -> list:
    bench = lib.utils.benchmark
    fuzzer = bench.Fuzzer(
        parameters=[
            bench.FuzzedParameter("k0", 4, 32, "loguniform"),
            bench.FuzzedParameter("k1", 4, 32, "loguniform"),
            bench.FuzzedParameter("k2", 2, 8, "uniform"),
            bench.FuzzedParameter("sparse_dim", 1, 3, "uniform"),
            bench.FuzzedParameter("density", 0.05, 0.5, "uniform"),
            bench.FuzzedParameter("coalesced", 0, 1, "uniform"),
        ],
        tensors=[
            bench.FuzzedSparseTensor(
                "x",
                size=("k0", "k1", "k2"),
                min_elements=16,
                max_elements=4096,
                sparse_dim="sparse_dim",
                density="density",
                coalesced="coalesced",
                dtype=lib.float64,
            )
        ],
        seed=0,
    )
    out = []
    for tensors, props, params in fuzzer.take(5):
        x = tensors["x"]
        props = {k: str(v) for k, v in props["x"].items()}
        out.append((params, props, x._indices().numpy(), x._values().numpy()))
    return out


def test_fuzzed_sparse_tensor_draws_equal_torchs() -> None:
    """``torch.utils.benchmark.FuzzedSparseTensor`` (the sparse input fuzzer): a seeded fuzzer
    gives torch's parameters, properties (hybrid, coalesced or not), indices and values."""
    import torch.utils.benchmark  # noqa: F401, PLC0415 - torch loads it lazily

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "sparse invariant checks" warning
        theirs = _sparse_fuzzer_draws(torch)
    ours = _sparse_fuzzer_draws(cr)
    assert {p["is_coalesced"] for _, p, _, _ in theirs} == {"True", "False"}
    for (p1, q1, i1, v1), (p2, q2, i2, v2) in zip(ours, theirs, strict=True):
        assert p1 == p2 and q1 == q2
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(v1, v2)


def test_fuzzed_sparse_tensor_constructor_int_dtype_and_bad_size() -> None:
    """The static constructor: int dtypes draw ``randint(1, 127)`` values; a number size is
    repeated over the sparse dims; all sparse sizes <= 0 with nnz > 0 is an AssertionError."""
    import torch.utils.benchmark  # noqa: F401, PLC0415

    ours_cls = cr.utils.benchmark.FuzzedSparseTensor
    theirs_cls = torch.utils.benchmark.FuzzedSparseTensor
    cr.manual_seed(3)
    torch.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = theirs_cls.sparse_tensor_constructor(5, torch.int32, 2, 6, True)
    got = ours_cls.sparse_tensor_constructor(5, cr.int32, 2, 6, True)
    assert tuple(got.shape) == tuple(want.shape) == (5, 5)
    np.testing.assert_array_equal(got.to_dense().numpy(), want.to_dense().numpy())
    for cls, dtype in ((ours_cls, cr.float32), (theirs_cls, torch.float32)):
        with pytest.raises(AssertionError, match="invalid arguments"):
            cls.sparse_tensor_constructor([0, 0], dtype, 2, 3, True)


def _nested_sdpa(lib, case: str):
    gen = np.random.default_rng(1)
    comps = [[gen.standard_normal((2, n, 4)) for n in (3, 5, 4)] for _ in range(3)]
    q, k, v = (lib.nested.nested_tensor([lib.tensor(c) for c in cs]) for cs in comps)
    if case == "value_transposed":
        v = v.transpose(1, 2)
    elif case == "narrowed":
        q, k, v = (t.narrow(0, 1, 2) for t in (q, k, v))
    elif case == "query_transposed":
        q = q.transpose(-1, -2)
    elif case == "key_transposed_back":
        k = k.transpose(1, 2).transpose(1, 2)
    return lib.nn.functional.scaled_dot_product_attention(q, k, v)


@pytest.mark.parametrize("case", ["value_transposed", "narrowed", "query_transposed"])
def test_sdpa_refuses_non_contiguous_strided_nested_inputs(case: str) -> None:
    """PyTorch's CPU SDPA on strided nested tensors needs contiguous inputs, checked before
    the shapes (a transposed query of the wrong shape gets this error too)."""
    msg = "scaled_dot_product_attention: If inputs are nested tensors they must be contiguous"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=msg):
            _nested_sdpa(torch, case)
    with pytest.raises(RuntimeError, match=msg):
        _nested_sdpa(cr, case)


def test_sdpa_on_contiguous_strided_nested_inputs_still_runs() -> None:
    """Transposed back (contiguous again), the inputs are accepted and agree with torch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _nested_sdpa(torch, "key_transposed_back").unbind()
    got = _nested_sdpa(cr, "key_transposed_back").unbind()
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


@pytest.mark.parametrize("how", ["view", "reshape", "flatten"])
def test_reshaping_a_convolution_result_keeps_pytorchs_row_major_layout(how: str) -> None:
    """labml's ``EstimatedBatchNorm`` views a convolution's result as ``(b, c, -1)``, computes
    on it and views it back; ``ChannelNorm`` then views that as ``(b, groups, -1)``. PyTorch's
    conv result is row-major, so every step is contiguous; chainrule's channel-major conv
    memory is laid out row-major before the first reshape, so the strides match and the
    later ``view`` is accepted."""
    gen = np.random.default_rng(0)
    x, w = gen.standard_normal((4, 3, 4, 4)), gen.standard_normal((4, 3, 3, 3))
    results = {}
    for lib in (torch, cr):
        y = lib.nn.functional.conv2d(lib.tensor(x), lib.tensor(w), None, 1, 1)
        if how == "view":
            z = y.view(4, 4, -1)
        elif how == "reshape":
            z = y.reshape(4, 4, -1)
        else:
            z = y.flatten(2)
        t = (z - z.mean(dim=[0, 2]).view(1, -1, 1)) * 2.0
        back = t.view(y.shape)
        grouped = back.view(4, 2, -1)
        results[lib.__name__] = (z.stride(), t.stride(), back.stride(), grouped.stride(), grouped)
    ours, theirs = results["chainrule"], results["torch"]
    assert ours[:4] == theirs[:4]
    np.testing.assert_allclose(ours[4].numpy(), theirs[4].numpy(), rtol=1e-12)


def test_reshaping_a_convolution_result_with_a_view_of_it_keeps_its_memory() -> None:
    """Once a view of the conv result exists (its memory is shared), it is not re-laid: the
    earlier view still aliases the result (writes show through)."""
    gen = np.random.default_rng(0)
    y = cr.nn.functional.conv2d(
        cr.tensor(gen.standard_normal((2, 3, 4, 4))), cr.tensor(gen.standard_normal((4, 3, 3, 3)))
    )
    first = y[0]
    z = y.reshape(2, 4, -1)
    first.zero_()
    assert float(y[0].abs().sum()) == 0.0
    assert float(z[0].abs().sum()) == 0.0
