"""Session 43 (b): calls PyTorch refuses that chainrule accepted silently (the argument
sweep's new families): ``to_sparse(None)``/``(True)``, ``sparse_coo_tensor(i, v, None)``,
``nn.init.constant_(x, None)``, ``random_split`` with float lengths, ``normal`` with a tuple
std, ``bernoulli(x, None)``. Each now raises PyTorch's TypeError with its whole message
(compared with torch live); the defaults (no argument) still work as before."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import chainrule as cr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from argument_sweep import compare  # noqa: E402 - the tool, beside the tests

# each evaluated with L the library, x = L.arange(12.0).reshape(3, 4)
REFUSED = [
    "x.to_sparse(True)",
    "x.to_sparse(None)",
    "x.to_sparse(1.5)",
    "x.to_sparse(sparse_dim=None)",
    "L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), None)",
    "L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), size=None)",
    "L.nn.init.constant_(x.clone(), None)",
    "L.nn.init.constant_(x.clone(), 'a')",
    "L.nn.init.constant_(x.clone(), (1.0, 2.0))",
    "L.utils.data.random_split(x, (1.0, 2.0))",
    "L.utils.data.random_split(x, (1.5, 1.5))",
    "L.normal(0.0, (1.0, 2.0), (2,))",
    "L.normal((1.0, 2.0), 1.0, (2,))",
    "L.normal(0.0, None, (2,))",
    "L.bernoulli(x.sigmoid(), None)",
    "L.bernoulli(x.sigmoid(), 'a')",
]


def _error(lib, src: str) -> BaseException:
    x = lib.arange(12.0).reshape(3, 4)
    with pytest.raises(Exception) as info:
        eval(src, {"L": lib, "x": x})  # noqa: S307 - the test's own call texts
    return info.value


@pytest.mark.parametrize("src", REFUSED)
def test_refused_with_torchs_whole_message(src):
    expected, got = _error(torch, src), _error(cr, src)
    assert type(got) is type(expected) is TypeError
    assert str(got) == str(expected)


@pytest.mark.parametrize("src", REFUSED)
def test_sweep_counts_them_same(src):
    d = compare(src)
    assert d.kind == "same", d


def test_to_sparse_defaults_and_ints_still_work():
    x = cr.arange(12.0).reshape(3, 4)
    t = torch.arange(12.0).reshape(3, 4)
    for args in [(), (1,), (2,), (cr.tensor(1),)]:
        targs = tuple(torch.tensor(int(a)) if isinstance(a, cr.Tensor) else a for a in args)
        got, want = x.to_sparse(*args), t.to_sparse(*targs)
        assert got.sparse_dim() == want.sparse_dim()
        assert got.to_dense().tolist() == want.to_dense().tolist()
    assert x.to_sparse(dense_dim=1).dense_dim() == t.to_sparse(dense_dim=1).dense_dim()


def test_sparse_coo_tensor_without_size_and_with_size():
    i, v = [[0, 2]], [1.0, 2.0]
    a = cr.sparse_coo_tensor(i, v)
    b = cr.sparse_coo_tensor(i, v, (4,))
    assert tuple(a.shape) == tuple(torch.sparse_coo_tensor(i, v).shape) == (3,)
    assert tuple(b.shape) == (4,)
    assert b.to_dense().tolist() == [1.0, 0.0, 2.0, 0.0]


def test_bernoulli_forms_still_work():
    cr.manual_seed(0)
    probs = cr.full((50,), 0.5)
    d = cr.bernoulli(probs)
    assert set(d.tolist()) <= {0.0, 1.0}
    assert cr.bernoulli(probs, 1.0).tolist() == [1.0] * 50
    assert cr.bernoulli(probs, 0).tolist() == [0.0] * 50
    assert probs.bernoulli().shape == probs.shape
    assert probs.bernoulli(1.0).tolist() == [1.0] * 50
    out = cr.empty(50)
    assert cr.bernoulli(cr.ones(50), out=out) is out
    assert out.tolist() == [1.0] * 50


def test_vmap_bernoulli_without_p():
    probs = cr.tensor([[0.0, 1.0], [1.0, 0.0]])
    got = cr.vmap(lambda p: cr.bernoulli(p), randomness="different")(probs)
    assert got.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_constant_numbers_and_tensor_still_fill():
    x = cr.empty(2, 3)
    assert cr.nn.init.constant_(x, 2.5).tolist() == [[2.5] * 3] * 2
    assert cr.nn.init.constant_(x, cr.tensor(1.0)).tolist() == [[1.0] * 3] * 2


def test_random_split_int_and_fraction_lengths_still_work():
    parts = cr.utils.data.random_split(range(10), (3, 7))
    assert [len(p) for p in parts] == [3, 7]
    parts = cr.utils.data.random_split(range(10), (0.3, 0.7))
    assert [len(p) for p in parts] == [3, 7]
    with pytest.raises(ValueError):  # the float sum not the length: not randperm's error
        cr.utils.data.random_split(range(10), (1.0, 2.0))


def test_normal_number_forms_still_work():
    assert tuple(cr.normal(0.0, 1.0, (2, 3)).shape) == (2, 3)
    assert tuple(cr.normal(cr.zeros(4), 1.0).shape) == (4,)
    assert tuple(cr.normal(0, cr.ones(4)).shape) == (4,)
    assert cr.normal(1, 0, (2,)).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("mode", [True, 1.5, None, "a", (1.0, 2.0)])
def test_kaiming_mode_errors_as_torch(mode):
    src = f"L.nn.init.kaiming_normal_(x.clone(), mode={mode!r})"
    expected, got = _error(torch, src), _error(cr, src)
    assert type(got) is type(expected)
    assert str(got) == str(expected)


def test_kaiming_mode_is_lowered_as_torch():
    torch.nn.init.kaiming_uniform_(torch.empty(4, 3), mode="FAN_OUT")  # accepted by torch
    cr.manual_seed(0)
    upper = cr.nn.init.kaiming_uniform_(cr.empty(4, 3), mode="FAN_OUT")
    cr.manual_seed(0)
    lower = cr.nn.init.kaiming_uniform_(cr.empty(4, 3), mode="fan_out")
    cr.manual_seed(0)
    fan_in = cr.nn.init.kaiming_uniform_(cr.empty(4, 3), mode="fan_in")
    assert upper.tolist() == lower.tolist() != fan_in.tolist()
