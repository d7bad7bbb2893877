"""torch.utils.data behaviour checked against PyTorch: default_collate / default_convert on
mixed inputs, DataLoader option validation, dataset classes and random_split lengths."""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
import chainrule.utils.data as cud

NT = collections.namedtuple("NT", "a b")


def _to_torch(x):
    if isinstance(x, cr.Tensor):
        return torch.from_numpy(np.array(x.numpy()))
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(_to_torch(v) for v in x))
    if isinstance(x, collections.abc.Mapping):
        out = (
            type(x)() if not isinstance(x, collections.defaultdict) else type(x)(x.default_factory)
        )
        out.update({k: _to_torch(v) for k, v in x.items()})
        return out
    if isinstance(x, (list, tuple, collections.deque)):
        return type(x)(_to_torch(v) for v in x)
    return x


def _desc(x):
    """A comparable description: container types, tensor dtypes, shapes and values."""
    if isinstance(x, (torch.Tensor, cr.Tensor)):
        arr = x.numpy() if isinstance(x, cr.Tensor) else x.detach().numpy()
        return ("T", str(x.dtype).split(".")[-1], tuple(x.shape), np.asarray(arr).tolist())
    if isinstance(x, collections.abc.Mapping):
        return (type(x).__name__, {k: _desc(v) for k, v in x.items()})
    if isinstance(x, (list, tuple, collections.deque)):
        return (type(x).__name__, [_desc(v) for v in x])
    return (type(x).__name__, x)


def _outcome(fn, arg):
    try:
        return _desc(fn(arg))
    except Exception as err:  # noqa: BLE001 - the error type is what is compared
        return ("ERR", type(err))


COLLATE_CASES = {
    "ints": [1, 2, 3],
    "floats": [1.0, 2.5],
    "bools": [True, False],
    "int_then_float": [1, 2.5],  # was truncated to int64 [1, 2]
    "bool_then_int": [True, 1],
    "bool_then_float": [True, 2.5],
    "float_then_int": [1.5, 2],
    "int_then_str": [1, "a"],
    "strs": ["a", "b"],
    "bytes": [b"a", b"b"],
    "np_f32": [np.ones(2, np.float32), np.zeros(2, np.float32)],
    "np_u8": [np.arange(3, dtype=np.uint8)] * 2,
    "np_bool": [np.array([True, False])] * 2,
    "np_f32_i64": [np.ones(2, np.float32), np.arange(2)],  # promoted to float64 before
    "np_then_int": [np.ones(2), 1],  # AttributeError before
    "np_diff_shape": [np.ones(2), np.ones(3)],
    "np_str": [np.array(["a"]), np.array(["b"])],
    "np_scalar_f32": [np.float32(1), np.float32(2)],
    "np_scalar_bool": [np.bool_(True), np.bool_(False)],
    "np_0d": [np.array(1.0), np.array(2.0)],
    "dict": [{"a": 1, "b": 2.0}, {"a": 3, "b": 4.0}],
    "dict_nested": [{"a": {"x": [1, 2]}}, {"a": {"x": [3, 4]}}],
    "ordered_dict": [collections.OrderedDict(a=1), collections.OrderedDict(a=2)],  # kept type
    "defaultdict": [collections.defaultdict(int, a=1), collections.defaultdict(int, a=2)],
    "tuples": [(1, 2.0), (3, 4.0)],
    "tuple_str": [(1, "a"), (2, "b")],
    "lists": [[1, 2], [3, 4]],
    "list_unequal": [[1, 2], [3]],
    "deque": [collections.deque([1, 2]), collections.deque([3, 4])],  # was a list
    "range": [range(2), range(2)],
    "namedtuple": [NT(1, 2.0), NT(3, 4.0)],
    "namedtuple_nested": [NT((1, 2), "s"), NT((3, 4), "t")],
    "t_f32": [cr.ones(2), cr.zeros(2)],
    "t_bool": [cr.tensor([True]), cr.tensor([False])],
    "t_diff_shape": [cr.ones(2), cr.ones(3)],
    "t_f32_i64": [cr.tensor(1.0), cr.tensor(2)],  # was float64, torch.stack gives float32
    "t_then_np": [cr.ones(2), np.ones(2)],  # AttributeError before
    "none": [None, None],
    "set": [{1}, {2}],
    "complex": [1 + 2j, 3j],
    "empty": [],  # IndexError as torch (was ValueError)
}


@pytest.mark.parametrize("name", list(COLLATE_CASES))
def test_default_collate_matches_torch(name):
    batch = COLLATE_CASES[name]
    expected = _outcome(tud.default_collate, _to_torch(batch))
    got = _outcome(cud.default_collate, batch)
    assert got == expected


def test_default_collate_shape_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"same shape.*\(2,\), \(3,\)"):
        cud.default_collate([cr.ones(2), cr.ones(3)])


def test_default_collate_mixed_dtypes_keep_grad():
    a = cr.ones(2, requires_grad=True)
    out = cud.default_collate([a, cr.tensor([1, 2])])
    assert out.dtype == cr.float32 and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones(2, np.float32))


CONVERT_CASES = {
    "np": np.ones(2, np.float32),
    "np_scalar": np.float32(3),
    "np_str": np.array(["a"]),
    "int": 1,
    "str": "ab",
    "tuple": (np.ones(1), 2),
    "list": [np.ones(1), "a"],
    "dict": {"a": np.int64(3)},
    "ordered_dict": collections.OrderedDict(a=np.ones(1)),
    "namedtuple": NT(np.ones(1), 1),
    "deque": collections.deque([np.ones(1)]),  # was a list
    "tensor": cr.ones(2),
    "none": None,
}


@pytest.mark.parametrize("name", list(CONVERT_CASES))
def test_default_convert_matches_torch(name):
    data = CONVERT_CASES[name]
    assert _outcome(cud.default_convert, data) == _outcome(tud.default_convert, _to_torch(data))


class _TMap(tud.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return i


class _CMap(cud.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return i


class _TIt(tud.IterableDataset):
    def __iter__(self):
        return iter(range(7))


class _CIt(cud.IterableDataset):
    def __iter__(self):
        return iter(range(7))


LOADER_KWARGS = [
    {"batch_size": None},
    {"batch_size": 2},
    {"batch_size": 2, "drop_last": True},
    {"batch_size": None, "drop_last": True},
    {"sampler": [0, 1], "shuffle": True},
    {"batch_sampler": [[0, 1]], "batch_size": 2},
    {"batch_sampler": [[0, 1], [2]]},
    {"batch_sampler": [[0, 1]], "drop_last": True},
    {"prefetch_factor": 2},
    {"persistent_workers": True},
    {"timeout": -1},
    {"num_workers": -1},
    {"batch_size": 0},  # iterable: no error before
    {"batch_size": -1},
    {"batch_size": 2.5},
    {"collate_fn": sum, "batch_size": 2},
    {"sampler": [4, 3], "batch_size": None},
]


def _loader_outcome(mod, ds, kwargs):
    try:
        loader = mod.DataLoader(ds, **kwargs)
        return [_desc(b) for b in loader]
    except Exception as err:  # noqa: BLE001 - the error type is what is compared
        return ("ERR", type(err))


@pytest.mark.parametrize("kind", ["map", "iterable"])
@pytest.mark.parametrize("kwargs", LOADER_KWARGS, ids=str)
def test_dataloader_options_match_torch(kind, kwargs):
    tds, cds = (_TMap(), _CMap()) if kind == "map" else (_TIt(), _CIt())
    assert _loader_outcome(cud, cds, kwargs) == _loader_outcome(tud, tds, kwargs)


def test_len_of_loader_over_iterable_without_len():
    with pytest.raises(TypeError, match="has no len"):
        len(tud.DataLoader(_TIt()))
    with pytest.raises(TypeError, match="_CIt.*has no len"):
        len(cud.DataLoader(_CIt()))


@pytest.mark.parametrize("idx", [0, 4, 7, -1, -8, -9, 8])
def test_concat_dataset_index(idx):
    parts = [list(range(4)), list(range(10, 14))]
    expected = _outcome(lambda i: tud.ConcatDataset(parts)[i], idx)
    assert _outcome(lambda i: cud.ConcatDataset(parts)[i], idx) == expected


def test_concat_dataset_cumulative_sizes_and_iterable():
    parts = [list(range(4)), [], list(range(3))]
    assert cud.ConcatDataset(parts).cumulative_sizes == tud.ConcatDataset(parts).cumulative_sizes
    assert cud.ConcatDataset(parts)[4] == tud.ConcatDataset(parts)[4]
    with pytest.raises(TypeError, match="ConcatDataset does not support IterableDataset"):
        cud.ConcatDataset([_CIt()])


def test_chain_and_subset_and_stack():
    assert list(cud.ChainDataset([_CIt(), _CIt()])) == list(tud.ChainDataset([_TIt(), _TIt()]))
    base = list(range(10, 20))
    assert cud.Subset(base, [3, 5, 7])[-1] == tud.Subset(base, [3, 5, 7])[-1]
    with pytest.raises(TypeError):  # a list index goes to the list itself, as in torch
        cud.Subset(base, [3, 5, 7])[[0, 2]]
    ct = cud.Subset(cud.TensorDataset(cr.arange(10)), [3, 5, 7])[[0, 2]]
    tt = tud.Subset(tud.TensorDataset(torch.arange(10)), [3, 5, 7])[[0, 2]]
    assert _desc(ct) == _desc(tt)
    assert cud.Subset(_CMap(), [3, 1, 2]).__getitems__([0, 2]) == [3, 2]
    t = tud.StackDataset(a=list(range(3)), b=[1.0, 2.0, 3.0])
    c = cud.StackDataset(a=list(range(3)), b=[1.0, 2.0, 3.0])
    assert _desc(list(cud.DataLoader(c, batch_size=2))) == _desc(
        list(tud.DataLoader(t, batch_size=2))
    )


SPLITS = [
    (10, [0.3, 0.3, 0.4]),
    (10, [0.33, 0.33, 0.34]),
    (11, [0.5, 0.5]),
    (7, [0.1, 0.1, 0.8]),
    (5, [0.1] * 10),
    (13, [0.2] * 5),
    (10, [3, 7]),
    (10, [3, 6]),
    (10, [0.5, 0.6]),
    (10, [0, 1]),  # ints summing to 1 are fractions in torch (was a ValueError)
    (10, [1, 0]),
    (3, [1.0]),
]


def _split_outcome(mod, n, lengths):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parts = mod.random_split(list(range(n)), lengths)
        except Exception as err:  # noqa: BLE001 - the error type is what is compared
            return ("ERR", type(err))
    return [len(p) for p in parts], len(caught)


@pytest.mark.parametrize(("n", "lengths"), SPLITS, ids=str)
def test_random_split_lengths_match_torch(n, lengths):
    assert _split_outcome(cud, n, lengths) == _split_outcome(tud, n, lengths)


def test_random_split_generator_matches_torch():
    c = cud.random_split(list(range(10)), [3, 7], generator=cr.Generator().manual_seed(1))
    t = tud.random_split(list(range(10)), [3, 7], generator=torch.Generator().manual_seed(1))
    assert [list(s) for s in c] == [list(s) for s in t]
