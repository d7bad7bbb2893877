"""DataPipes (``chainrule.utils.data.datapipes``) against PyTorch's on the same inputs: the
same items in the same order where deterministic, the same multiset (and reproducibility
under a seed) for shuffles, the same errors, and the DataLoader's shuffle and worker
sharding."""

from __future__ import annotations

import pickle
import types
from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.utils.data as tud
import torch.utils.data.datapipes.iter as titer
import torch.utils.data.datapipes.map as tmap
from torch.utils.data import graph_settings as tgraph
from torch.utils.data.datapipes.iter.sharding import SHARDING_PRIORITIES as TPRIO

import chainrule as cr
import chainrule.utils.data as cud
import chainrule.utils.data.datapipes.iter as citer
import chainrule.utils.data.datapipes.map as cmap
from chainrule.utils.data.datapipes import graph_settings as cgraph
from chainrule.utils.data.datapipes.iter.sharding import SHARDING_PRIORITIES as CPRIO

TORCH = types.SimpleNamespace(
    lib=tud, it=titer, mp=tmap, graph=tgraph, prio=TPRIO, seed=torch.manual_seed
)
CR = types.SimpleNamespace(
    lib=cud, it=citer, mp=cmap, graph=cgraph, prio=CPRIO, seed=cr.manual_seed
)
BOTH = pytest.mark.parametrize("ns", [TORCH, CR], ids=["torch", "chainrule"])


def double(x):
    return 2 * x


def is_odd(x):
    return x % 2 == 1


def parity(x):
    return x % 2


def add(x, y):
    return x + y


def negate(x):
    return -x


def plain(value):
    """Tensors (either library) to nested lists, so both results compare with ==."""
    if isinstance(value, (torch.Tensor, cr.Tensor)):
        return np.asarray(value.tolist()).tolist()
    if isinstance(value, (list, tuple)):
        return (
            type(value)(plain(v) for v in value)
            if isinstance(value, tuple)
            else [plain(v) for v in value]
        )
    return value


def same(build):
    """``build(ns)`` for both libraries; their items (as plain values) must be equal."""
    ours, theirs = plain(list(build(CR))), plain(list(build(TORCH)))
    assert ours == theirs
    return ours


PIPELINES = {
    "map": lambda ns: ns.it.IterableWrapper(range(7)).map(double),
    "filter": lambda ns: ns.it.IterableWrapper(range(7)).filter(is_odd),
    "batch": lambda ns: ns.it.IterableWrapper(range(7)).batch(3),
    "batch_drop_last": lambda ns: ns.it.IterableWrapper(range(7)).batch(3, drop_last=True),
    "unbatch": lambda ns: ns.it.IterableWrapper(range(7)).batch(3).batch(2).unbatch(2),
    "unbatch_all": lambda ns: ns.it.IterableWrapper([[1, [2, [3]]], [4], 5]).unbatch(-1),
    "unbatch_tuple_item": lambda ns: ns.it.IterableWrapper([[(1, 2)], [(3,)]]).unbatch(),
    "zip": lambda ns: ns.it.IterableWrapper(range(7)).zip(ns.it.IterableWrapper("abc")),
    "concat": lambda ns: ns.it.IterableWrapper(range(3)).concat(ns.it.IterableWrapper("ab")),
    "mux": lambda ns: ns.it.IterableWrapper(range(5)).mux(
        ns.it.IterableWrapper("ab"), ns.it.IterableWrapper("xyz")
    ),
    "collate": lambda ns: ns.it.IterableWrapper(range(7)).batch(3).collate(),
    "collate_pairs": lambda ns: (
        ns.it.IterableWrapper([(i, 0.5 * i) for i in range(4)]).batch(2).collate()
    ),
    "collate_fn": lambda ns: ns.it.IterableWrapper(range(5)).batch(2).collate(collate_fn=sum),
    "sampler": lambda ns: ns.it.Sampler(ns.it.IterableWrapper(range(5))),
    "map_col": lambda ns: ns.it.IterableWrapper([(1, 2, 3), (4, 5, 6)]).map(negate, input_col=1),
    "map_col_append": lambda ns: ns.it.IterableWrapper([[1, 2], [3, 4]]).map(
        negate, input_col=0, output_col=-1
    ),
    "map_cols": lambda ns: ns.it.IterableWrapper([(1, 2, 3)]).map(add, input_col=(2, 0)),
    "map_cols_out": lambda ns: ns.it.IterableWrapper([(1, 2, 3)]).map(
        add, input_col=[0, 2], output_col=[1]
    ),
    "map_dict": lambda ns: ns.it.IterableWrapper([{"a": 1}]).map(
        negate, input_col="a", output_col="b"
    ),
    "filter_cols": lambda ns: ns.it.IterableWrapper([(1, 2), (3, 4)]).filter(is_odd, input_col=0),
    "sharding_unsharded": lambda ns: ns.it.IterableWrapper(range(5)).sharding_filter(),
    "shuffle_off": lambda ns: ns.it.IterableWrapper(range(9)).shuffle().set_shuffle(False),
    "seq_map": lambda ns: ns.mp.SequenceWrapper(range(5)).map(double),
    "seq_zip": lambda ns: ns.mp.SequenceWrapper(range(5)).zip(ns.mp.SequenceWrapper("abc")),
    "seq_concat": lambda ns: ns.mp.SequenceWrapper(range(3)).concat(ns.mp.SequenceWrapper("ab")),
    "seq_batch": lambda ns: ns.mp.SequenceWrapper(range(7)).batch(3),
    "seq_shuffle_off": lambda ns: ns.mp.SequenceWrapper(range(6)).shuffle().set_shuffle(False),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_pipeline_items_match_torch(name):
    same(PIPELINES[name])
    try:
        expected = len(PIPELINES[name](TORCH))
    except TypeError:
        with pytest.raises(TypeError):
            len(PIPELINES[name](CR))
    else:
        assert len(PIPELINES[name](CR)) == expected


def test_types_bases_and_module_names():
    dp = citer.IterableWrapper(range(4))
    assert isinstance(dp, cud.IterDataPipe) and isinstance(dp, cud.IterableDataset)
    assert isinstance(cmap.SequenceWrapper([1]), cud.MapDataPipe)
    assert issubclass(cud.DFIterDataPipe, cud.IterDataPipe)
    assert isinstance(next(iter(dp.batch(2))), cud.DataChunk)
    for ns in (TORCH, CR):
        names = [type(p).__name__ for p in (ns.it.IterableWrapper([1]).map(double),)]
        assert names == ["MapperIterDataPipe"] and repr(ns.it.IterableWrapper([1])) == (
            "IterableWrapperIterDataPipe"
        )
    assert sorted(cud.IterDataPipe.functions) == sorted(
        n for n in tud.IterDataPipe.functions if not n.startswith("_") and n in _CORE_ITER
    )
    assert sorted(cud.MapDataPipe.functions) == sorted(tud.MapDataPipe.functions)
    assert isinstance(cmap.SequenceWrapper(range(3)).shuffle(), cud.IterDataPipe)


_CORE_ITER = {
    "batch", "collate", "concat", "demux", "filter", "fork", "map", "mux",
    "sharding_filter", "shuffle", "unbatch", "zip",
}  # fmt: skip


def test_data_chunk():
    for chunk in (tud.DataChunk([1, 2, 3]), cud.DataChunk([1, 2, 3])):
        assert chunk.as_str() == "[1, 2, 3]" and chunk.as_str("  ") == "  [1, 2, 3]"
        assert list(chunk.raw_iterator()) == [1, 2, 3] and chunk == [1, 2, 3]
        assert isinstance(chunk, list)


ERRORS = {
    "batch_zero": (lambda ns: ns.it.IterableWrapper([1]).batch(0), AssertionError),
    "map_batch_zero": (lambda ns: ns.mp.SequenceWrapper([1]).batch(0), AssertionError),
    "shuffle_buffer": (
        lambda ns: ns.it.IterableWrapper([1]).shuffle(buffer_size=0),
        AssertionError,
    ),
    "filter_not_bool": (lambda ns: list(ns.it.IterableWrapper([1]).filter(parity)), ValueError),
    "map_arity": (lambda ns: ns.it.IterableWrapper([1]).map(add), ValueError),
    "map_arity_cols": (
        lambda ns: ns.it.IterableWrapper([1]).map(negate, input_col=(0, 1)),
        ValueError,
    ),
    "map_not_callable": (lambda ns: ns.it.IterableWrapper([1]).map(5), TypeError),
    "output_without_input": (
        lambda ns: ns.it.IterableWrapper([1]).map(negate, output_col=1),
        ValueError,
    ),
    "output_two_cols": (
        lambda ns: ns.it.IterableWrapper([(1, 2)]).map(add, input_col=(0, 1), output_col=(0, 1)),
        ValueError,
    ),
    "concat_not_pipe": (lambda ns: ns.it.IterableWrapper([1]).concat([1]), TypeError),
    "zip_not_pipe": (lambda ns: ns.it.IterableWrapper([1]).zip([1]), TypeError),
    "map_zip_not_pipe": (lambda ns: ns.mp.SequenceWrapper([1]).zip([1]), TypeError),
    "unbatch_too_deep": (lambda ns: list(ns.it.IterableWrapper([[1], 2]).unbatch()), IndexError),
    "unbatch_level": (lambda ns: list(ns.it.IterableWrapper([[1]]).unbatch(-2)), ValueError),
    "len_filter": (lambda ns: len(ns.it.IterableWrapper([1]).filter(is_odd)), TypeError),
    "len_generator": (lambda ns: len(ns.it.IterableWrapper(iter([1]))), TypeError),
    "seq_batch_index": (lambda ns: ns.mp.SequenceWrapper(range(7)).batch(3)[3], IndexError),
    "seq_batch_drop": (lambda ns: ns.mp.SequenceWrapper(range(7)).batch(3, True)[2], IndexError),
    "seq_zip_index": (
        lambda ns: ns.mp.SequenceWrapper(range(5)).zip(ns.mp.SequenceWrapper("ab"))[3],
        IndexError,
    ),
    "seq_concat_index": (
        lambda ns: ns.mp.SequenceWrapper("ab").concat(ns.mp.SequenceWrapper("c"))[3],
        IndexError,
    ),
    "shard_id": (
        lambda ns: ns.it.IterableWrapper([1]).sharding_filter().apply_sharding(2, 2),
        ValueError,
    ),
    "fork_zero": (lambda ns: ns.it.IterableWrapper([1]).fork(0), ValueError),
    "fork_copy": (lambda ns: ns.it.IterableWrapper([1]).fork(2, copy="x"), ValueError),
    "demux_range": (lambda ns: list(ns.it.IterableWrapper([0, 1, 2]).demux(2, int)[0]), ValueError),
    "sampler_len": (
        lambda ns: ns.it.Sampler(ns.it.IterableWrapper([1]).filter(is_odd)),
        AssertionError,
    ),
    "getattr": (lambda ns: ns.it.IterableWrapper([1]).no_such_step, AttributeError),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    build, error = ERRORS[name]
    for ns in (TORCH, CR):
        with pytest.raises(error):
            build(ns)


def test_dataframe_collation_is_refused():
    with pytest.raises(NotImplementedError, match="conversion=None"):
        citer.IterableWrapper([[1]]).collate(conversion=None)


def test_map_shuffle_is_not_indexable():
    # PyTorch raises NotImplementedError (its IterableDataset's __getitem__); chainrule's
    # IterableDataset raises TypeError, which the shuffle inherits.
    with pytest.raises(TypeError, match="iterate over it"):
        cmap.SequenceWrapper("ab").shuffle()[0]


@BOTH
def test_lambda_and_local_functions_warn(ns):
    with pytest.warns(UserWarning, match="Lambda function is not supported by pickle"):
        ns.it.IterableWrapper([1]).map(_LAMBDA)

    def local(x):
        return x

    with pytest.warns(UserWarning, match="Local function is not supported by pickle"):
        ns.it.IterableWrapper([1]).filter(local)


_LAMBDA = lambda x: x  # noqa: E731 - a module-level lambda is what the warning names


def test_deepcopy_semantics_match_torch():
    for ns in (TORCH, CR):
        source = [1, 2]
        it_pipe, map_pipe = ns.it.IterableWrapper(source), ns.mp.SequenceWrapper(source)
        source.append(3)  # the iterable copy is taken when iteration starts, the map one now
        assert (list(it_pipe), len(map_pipe)) == ([1, 2, 3], 2)
        with pytest.warns(UserWarning, match="can not be deepcopied"):
            assert list(ns.it.IterableWrapper(x for x in range(3))) == [0, 1, 2]


def test_shuffle_multiset_and_seeding():
    for ns in (TORCH, CR):
        dp = ns.it.IterableWrapper(range(50)).shuffle(buffer_size=7)
        ns.seed(3)
        first = list(dp)
        ns.seed(3)
        assert list(dp) == first and sorted(first) == list(range(50))
        assert first != list(range(50)) and list(dp) != first  # fresh order per pass
        assert list(dp.set_seed(11)) == list(dp.set_seed(11))
        m = ns.mp.SequenceWrapper(range(20)).shuffle()
        assert sorted(m) == list(range(20)) and len(m) == 20
        assert list(m.set_seed(2)) == list(m.set_seed(2))
        batches = list(ns.it.IterableWrapper([[1, 2], [3]]).shuffle(unbatch_level=1))
        assert sorted(batches) == [1, 2, 3]


def test_sharding_matches_torch():
    def shares(ns, n):
        out = []
        for i in range(n):
            dp = ns.it.IterableWrapper(range(11)).sharding_filter()
            dp.apply_sharding(n, i)
            out.append((list(dp), len(dp)))
        return out

    assert shares(CR, 3) == shares(TORCH, 3)

    def grouped(ns):
        prio = ns.prio
        out = []
        for rank in range(2):
            for worker in range(3):
                dp = ns.it.IterableWrapper(range(20)).sharding_filter()
                ns.graph.apply_sharding(dp, 2, rank, prio.DISTRIBUTED)
                ns.graph.apply_sharding(dp, 3, worker, prio.MULTIPROCESSING)
                out.append(list(dp))
        return out

    assert grouped(CR) == grouped(TORCH)
    for ns in (TORCH, CR):
        twice = ns.it.IterableWrapper(range(4)).sharding_filter().map(double).sharding_filter()
        with pytest.raises(RuntimeError, match="Sharding twice"):
            ns.graph.apply_sharding(twice, 2, 0)
        mixed = ns.it.IterableWrapper(range(4)).sharding_filter()
        ns.graph.apply_sharding(mixed, 2, 0, ns.prio.DISTRIBUTED)
        with pytest.raises(RuntimeError):
            ns.graph.apply_sharding(mixed, 2, 0)


def test_fork_demux_match_torch():
    def run(ns):
        a, b = ns.it.IterableWrapper(range(5)).fork(2)
        evens, odds = ns.it.IterableWrapper(range(7)).demux(2, parity)
        drop = ns.it.IterableWrapper([0, 1, None, 3]).demux(2, _parity_or_none, drop_none=True)
        one = ns.it.IterableWrapper(range(2)).fork(1)
        return (list(zip(a, b)), list(a), list(b), len(a), list(evens), list(odds),
                [list(d) for d in drop], type(one).__name__)  # fmt: skip

    assert run(CR) == run(TORCH)
    for ns in (TORCH, CR):
        a, _ = ns.it.IterableWrapper(range(10)).fork(2, buffer_size=2)
        with pytest.raises(BufferError):
            list(a)
        _, odd = ns.it.IterableWrapper(range(10)).demux(2, parity, buffer_size=2)
        with pytest.raises(BufferError):
            list(odd)
        a, b = ns.it.IterableWrapper(range(5)).fork(2)
        ia, ib = iter(a), iter(b)
        next(ia), next(ib)
        restart = iter(a)
        next(restart)
        with pytest.raises(RuntimeError):
            next(ib)


def _parity_or_none(x):
    return None if x is None else x % 2


@BOTH
def test_single_iterator_per_pipe(ns):
    dp = ns.it.IterableWrapper(range(5))
    first = iter(dp)
    next(first)
    second = iter(dp)
    assert next(second) == 0
    with pytest.raises(RuntimeError, match="invalidated"):
        next(first)


@BOTH
def test_functional_datapipe_registers_and_refuses_duplicates(ns):
    name = f"add_k_{ns.lib.__name__.split('.')[0]}"

    @ns.lib.functional_datapipe(name)
    class AddK(ns.lib.IterDataPipe):
        def __init__(self, dp, k=1):
            self.dp, self.k = dp, k

        def __iter__(self):
            for x in self.dp:
                yield x + self.k

    assert AddK.__name__ == "AddK" and name in ns.lib.IterDataPipe.functions
    assert list(getattr(ns.it.IterableWrapper([1, 2]), name)(5)) == [6, 7]
    assert not hasattr(ns.mp.SequenceWrapper([1]), name)
    with pytest.raises(Exception, match="already taken"):
        ns.lib.functional_datapipe(name)(AddK)
    with pytest.raises(Exception, match="already taken"):

        @ns.lib.functional_datapipe("map")
        class Again(ns.lib.MapDataPipe):
            pass

    with pytest.raises(TypeError):
        ns.lib.functional_datapipe("not_a_class")(double)
    ns.lib.IterDataPipe.functions.pop(name)


def test_pipelines_pickle():
    dp = citer.IterableWrapper(range(8)).map(double).filter(is_odd).batch(3).shuffle()
    dp = dp.sharding_filter().zip(citer.IterableWrapper(range(3)))
    a, b = citer.IterableWrapper(range(4)).fork(2)
    for pipe in (dp, a, cmap.SequenceWrapper(range(4)).map(double).batch(2)):
        assert sorted(map(repr, pickle.loads(pickle.dumps(pipe)))) == sorted(map(repr, pipe))


def _nd_init(self, dp):
    self.dp = dp


def _nd_iter(self):
    yield from self.dp


_ND = {"__init__": _nd_init, "__iter__": _nd_iter}


def _random_arg(arg):
    return arg == "random"


@BOTH
def test_non_deterministic_and_guarantee(ns):
    cls = ns.lib.non_deterministic(type("Always", (ns.lib.IterDataPipe,), dict(_ND)))
    dp = ns.it.IterableWrapper([1])
    assert list(cls(dp)) == [1]
    with ns.lib.guaranteed_datapipes_determinism():
        with pytest.raises(TypeError, match="non-deterministic"):
            cls(dp)
    assert list(cls(dp)) == [1]  # the flag is restored on exit
    some = ns.lib.non_deterministic(_random_arg)(type("Some", (ns.lib.IterDataPipe,), dict(_ND)))
    with ns.lib.guaranteed_datapipes_determinism():
        assert type(some([2])).__name__ == "Some"
        with pytest.raises(TypeError, match="non-deterministic with the inputs"):
            some("random")
    with pytest.raises(TypeError):
        ns.lib.non_deterministic(5)
    with pytest.raises(TypeError):
        ns.lib.non_deterministic(type("NotAPipe", (), dict(_ND)))
    with pytest.raises(TypeError, match="boolean"):
        ns.lib.non_deterministic(parity)(type("P", (ns.lib.IterDataPipe,), dict(_ND)))(1)


@BOTH
def test_argument_validation(ns):
    def build(dp, n, s="a"):
        return dp, n

    build.__annotations__ = {"dp": ns.lib.IterDataPipe, "n": int, "s": str}
    checked = ns.lib.argument_validation(build)
    with pytest.raises(TypeError, match="Expected argument 'dp' as a IterDataPipe"):
        checked([1], 3)

    def default(dp=None):
        return dp

    default.__annotations__ = {"dp": ns.lib.IterDataPipe}
    assert ns.lib.argument_validation(default)() is None  # defaults are not checked
    with pytest.raises(TypeError):
        ns.lib.argument_validation(default)(None)


def test_argument_validation_narrow_annotations():
    # PyTorch 2.13 fails on valid DataPipes with AttributeError (its DataPipe typing is
    # gone); chainrule applies the annotation as an isinstance check.
    def build(dp: cud.IterDataPipe, m: cud.MapDataPipe, w: citer.IterableWrapper, n: int):
        return dp

    checked = cud.argument_validation(build)
    source, table = citer.IterableWrapper([1]), cmap.SequenceWrapper([1])
    assert checked(source, table, source, "not an int") is source  # ints are not checked
    with pytest.raises(TypeError, match="'m' as a MapDataPipe"):
        checked(source, source, source, 1)
    with pytest.raises(TypeError, match="'w' as a IterableWrapperIterDataPipe"):
        checked(source, table, source.map(double), 1)


@BOTH
def test_runtime_validation_decorator(ns):
    class Ints(ns.lib.IterDataPipe):
        def __init__(self, items):
            self.items = items

        @ns.lib.runtime_validation
        def __iter__(self) -> Iterator[int]:
            yield from self.items

    with ns.lib.runtime_validation_disabled():
        assert list(Ints([1, "a"])) == [1, "a"]
    with pytest.raises(TypeError, match="runtime_validation"):
        ns.lib.runtime_validation(double)


def test_runtime_validation_checks_yields_in_chainrule():
    # PyTorch 2.13's check fails with AttributeError (its typing machinery is gone); ours
    # checks the declared Iterator[int] as PyTorch documents.
    class Ints(cud.IterDataPipe):
        def __init__(self, items):
            self.items = items

        @cud.runtime_validation
        def __iter__(self) -> Iterator[int | None]:
            yield from self.items

    assert list(Ints([1, None, 3])) == [1, None, 3]
    with pytest.raises(RuntimeError, match="Expected an instance as subtype"):
        list(Ints([1, "a"]))


def _loader_items(ns, dp, **kwargs):
    return [plain(batch) for batch in ns.lib.DataLoader(dp, **kwargs)]


def test_dataloader_with_datapipes():
    def pipe(ns):
        return ns.it.IterableWrapper(range(10)).shuffle().sharding_filter().map(double)

    for kwargs in ({"batch_size": 4, "shuffle": False}, {"batch_size": None, "shuffle": False}):
        assert _loader_items(CR, pipe(CR), **kwargs) == _loader_items(TORCH, pipe(TORCH), **kwargs)
    ours = _loader_items(CR, pipe(CR), batch_size=3)  # shuffle unspecified: the pipe shuffles
    assert sorted(sum(ours, [])) == list(range(0, 20, 2)) and sum(ours, []) != sorted(sum(ours, []))
    dp = pipe(CR)
    cr.manual_seed(4)
    first = _loader_items(CR, dp, batch_size=None, shuffle=True)
    cr.manual_seed(4)
    assert _loader_items(CR, dp, batch_size=None, shuffle=True) == first
    cud.DataLoader(dp, shuffle=False)
    assert list(dp) == list(range(0, 20, 2))  # shuffle=False switched the pipe off, in place
    seq = (cmap.SequenceWrapper(range(6)), tmap.SequenceWrapper(range(6)))
    assert _loader_items(CR, seq[0], batch_size=4) == _loader_items(TORCH, seq[1], batch_size=4)
    for ns in (TORCH, CR):
        with pytest.warns(UserWarning, match="does not contain a `Shuffler`"):
            loader = ns.lib.DataLoader(ns.it.IterableWrapper(range(3)), shuffle=True)
        assert [int(x) for x in loader] == [0, 1, 2]  # PyTorch warns but does not shuffle


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_workers_shard_a_datapipe(shuffle):
    def pipe(ns):
        return ns.it.IterableWrapper(range(10)).shuffle().sharding_filter().map(double)

    kwargs = {"batch_size": 2, "num_workers": 2, "shuffle": shuffle}
    ours = _loader_items(CR, pipe(CR), **kwargs)
    theirs = _loader_items(TORCH, pipe(TORCH), **kwargs)
    assert sorted(sum(ours, [])) == sorted(sum(theirs, [])) == list(range(0, 20, 2))
    assert [len(b) for b in ours] == [len(b) for b in theirs]
    if not shuffle:
        assert ours == theirs
    kwargs["shuffle"] = None
    unsharded = _loader_items(CR, citer.IterableWrapper(range(4)), **kwargs)
    assert sorted(sum(unsharded, [])) == [0, 0, 1, 1, 2, 2, 3, 3]  # as PyTorch: no sharding


def test_dataloader_persistent_workers_reshuffle_and_seed():
    dp = citer.IterableWrapper(range(10)).shuffle().sharding_filter()
    loader = cud.DataLoader(dp, batch_size=None, num_workers=2, persistent_workers=True)
    epochs = [[int(x) for x in loader] for _ in range(2)]
    assert all(sorted(e) == list(range(10)) for e in epochs) and epochs[0] != epochs[1]
    runs = []
    for _ in range(2):
        cr.manual_seed(0)
        runs.append([int(x) for x in cud.DataLoader(dp, batch_size=None, num_workers=2)])
    assert runs[0] == runs[1]


def test_generic_subclass_and_dir():
    class Ints(cud.IterDataPipe[int]):
        def __iter__(self):
            yield from (1, 2)

    dp = Ints()
    assert list(dp.map(double)) == [2, 4] and {"map", "batch"} <= set(dir(dp))
    assert {"map", "batch"} <= set(dir(titer.IterableWrapper([1])))  # as in PyTorch
