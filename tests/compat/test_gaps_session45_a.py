"""Gaps found by drop-in round 28 (session 45, helper a), each compared with torch.

``torch._chunk_cat`` (FSDP2's gradient flattening): values for padded and unpadded chunks,
non-contiguous inputs, inputs of different ranks after ``dim``, negative ``dim``, ``out=``;
PyTorch's error texts for each bad input; and its lack of a derivative (the result is in the
graph, backward and forward AD raise PyTorch's errors).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(45)

# (shapes, dim, num_chunks, transpose-first): torch._chunk_cat cases
_CASES = {
    "pad_dim1": ([(2, 3), (2, 2)], 1, 2, False),
    "pad_dim0": ([(2, 3), (3, 2)], 0, 2, False),
    "neg_dim": ([(2, 3), (2, 2)], -1, 2, False),
    "more_chunks_than_rows": ([(2, 3), (2, 2)], 1, 4, False),
    "one_tensor": ([(5, 4)], 0, 3, False),
    "ranks_differ": ([(2, 5), (2, 3, 4)], 1, 3, False),
    "rank_1_after_dim0": ([(5, 4), (3,)], 0, 3, False),
    "non_contiguous": ([(2, 4, 3)], 1, 2, True),
    "one_chunk": ([(3, 2), (1, 2)], 0, 1, False),
}


def _inputs(lib: Any, shapes: list, transpose: bool, arrays: list) -> list:
    out = [lib.tensor(a) for a in arrays]
    if transpose:
        out = [t.transpose(-1, -2) for t in out]
    return out


@pytest.mark.parametrize("case", sorted(_CASES))
def test_chunk_cat_values_match_torch(case: str) -> None:
    shapes, dim, num_chunks, transpose = _CASES[case]
    arrays = [_RNG.standard_normal(s[:-2] + s[:-3:-1] if transpose else s) for s in shapes]
    want = torch._chunk_cat(_inputs(torch, shapes, transpose, arrays), dim, num_chunks)
    got = cr._chunk_cat(_inputs(cr, shapes, transpose, arrays), dim, num_chunks)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.dtype == cr.float64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_chunk_cat_integer_bool_complex_keep_dtype() -> None:
    for make in (
        lambda lib: lib.arange(5).reshape(5, 1),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.tensor([[1 + 2j, 3j]]),
    ):
        want = torch._chunk_cat([make(torch)], 0, 3)
        got = cr._chunk_cat([make(cr)], 0, 3)
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_chunk_cat_keywords_tuple_and_out() -> None:
    a, b = _RNG.standard_normal((2, 3)), _RNG.standard_normal((2, 2))
    want = torch._chunk_cat((torch.tensor(a), torch.tensor(b)), dim=1, num_chunks=2)
    got = cr._chunk_cat((cr.tensor(a), cr.tensor(b)), dim=1, num_chunks=2)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    out_t, out_c = torch.empty(0), cr.empty(0)
    torch._chunk_cat([torch.tensor(a)], 1, 2, out=out_t)
    returned = cr._chunk_cat([cr.tensor(a)], 1, 2, out=out_c)
    assert returned is out_c
    assert out_c.dtype == cr.float32 and tuple(out_c.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(out_c.numpy(), out_t.numpy(), rtol=1e-6)


def test_chunk_cat_has_no_derivative_like_torch() -> None:
    """PyTorch records the result (requires_grad, a NotImplemented node) and raises on
    backward; under no_grad or without grad inputs the result is a plain constant."""
    a, b = _RNG.standard_normal((2, 3)), _RNG.standard_normal((2, 2))
    results = {}
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        y = lib.tensor(b)
        out = lib._chunk_cat([x, y], 1, 2)
        with lib.no_grad():
            quiet = lib._chunk_cat([x, y], 1, 2)
        plain = lib._chunk_cat([x.detach(), y], 1, 2)
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
        flags = (out.requires_grad, quiet.requires_grad, plain.requires_grad)
        results[lib] = (*flags, str(info.value))
    assert results[cr] == results[torch]
    assert results[cr][:3] == (True, False, False)
    assert results[cr][3] == "derivative for aten::_chunk_cat is not implemented"


def test_chunk_cat_forward_ad_raises_like_torch() -> None:
    messages = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            dual = fwad.make_dual(lib.ones(2, 3, dtype=lib.float64), lib.ones(2, 3))
            with pytest.raises(NotImplementedError) as info:
                lib._chunk_cat([dual], 1, 2)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


_BAD = {
    "empty_list": lambda lib: lib._chunk_cat([], 0, 2),
    "zero_chunks": lambda lib: lib._chunk_cat([lib.ones(2, 3)], 0, 0),
    "negative_chunks": lambda lib: lib._chunk_cat([lib.ones(2, 3)], 1, -1),
    "dim_high": lambda lib: lib._chunk_cat([lib.ones(2, 3)], 2, 2),
    "dim_low": lambda lib: lib._chunk_cat([lib.ones(2, 3)], -3, 2),
    "dtypes": lambda lib: lib._chunk_cat([lib.ones(2, 3), lib.ones(2, 2, dtype=lib.float64)], 1, 2),
    "leading": lambda lib: lib._chunk_cat([lib.ones(2, 3), lib.ones(3, 2)], 1, 2),
    "empty_tensor": lambda lib: lib._chunk_cat([lib.ones(2, 3), lib.ones(0, 3)], 0, 2),
    "dim_past_second": lambda lib: lib._chunk_cat([lib.ones(5, 4), lib.ones(3)], 1, 3),
    "tensor_not_list": lambda lib: lib._chunk_cat(lib.ones(2, 3), 1, 2),
    "float_dim": lambda lib: lib._chunk_cat([lib.ones(2, 3)], 1.0, 2),
    "float_chunks": lambda lib: lib._chunk_cat([lib.ones(2, 3)], 1, 2.0),
}


@pytest.mark.parametrize("case", sorted(_BAD))
def test_chunk_cat_bad_inputs_match_torch(case: str) -> None:
    with pytest.raises(Exception) as want:
        _BAD[case](torch)
    with pytest.raises(Exception) as got:
        _BAD[case](cr)
    assert isinstance(got.value, type(want.value))
    assert str(got.value).splitlines()[0] == str(want.value).splitlines()[0]


def _counter_optimizer(lib: Any) -> type:
    class Counting(lib.optim.Optimizer):
        """MADGRAD's pattern: a step counter in ``self.state`` under a string key."""

        def __init__(self, params: Any) -> None:
            super().__init__(params, dict(lr=0.1))

        def step(self, closure: Any = None) -> None:
            if "k" not in self.state:
                self.state["k"] = lib.tensor([0], dtype=lib.long)
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p].setdefault("sum", lib.zeros_like(p)).add_(p.grad)
                    p.data.add_(p.grad, alpha=-group["lr"] * (self.state["k"].item() + 1))
            self.state["k"] += 1

    return Counting


def test_optimizer_state_dict_keeps_non_parameter_keys_like_torch() -> None:
    """A state entry whose key is no parameter (MADGRAD's ``self.state['k']``) is saved under
    its own key and restored by ``load_state_dict``, as PyTorch packs and unpacks it."""
    seen = []
    for lib in (torch, cr):
        w = lib.nn.Parameter(lib.tensor([1.0, 2.0], dtype=lib.float64))
        opt = _counter_optimizer(lib)([w])
        for _ in range(2):
            w.grad = lib.tensor([0.5, -1.0], dtype=lib.float64)
            opt.step()
        saved = opt.state_dict()
        fresh = _counter_optimizer(lib)([w])
        fresh.load_state_dict(saved)
        w.grad = lib.tensor([0.5, -1.0], dtype=lib.float64)
        fresh.step()
        seen.append(
            (
                sorted(map(str, saved["state"])),
                int(saved["state"]["k"].item()),
                int(fresh.state["k"].item()),
                w.detach().numpy().tolist(),
                fresh.state[w]["sum"].numpy().tolist(),
            )
        )
    assert seen[1] == seen[0]
    # the saved counter is the live tensor, which the resumed step's in-place += advances
    assert seen[0][:3] == (["0", "k"], 3, 3)


def test_dense_plus_sparse_coo_add_matches_torch() -> None:
    results = []
    for lib in (torch, cr):
        values = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64)
        sparse = lib.sparse_coo_tensor(lib.tensor([[0, 2]]), values, (3, 2))
        dense = lib.ones(3, 2, dtype=lib.float64)
        dense.add_(sparse, alpha=0.5)
        results.append(lib.add(dense, sparse, alpha=-1).numpy())
    np.testing.assert_array_equal(results[1], results[0])
