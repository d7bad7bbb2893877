"""``cr.compiler``, ``cr.cpu`` and ``cr.utils._pytree`` against PyTorch's modules.

Pytree structures hold plain Python leaves, so the very same objects go through both
libraries and leaves, specs (their printed form), errors and serialized text must match.
"""

from __future__ import annotations

import collections
import importlib
import inspect
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
tpt = importlib.import_module("torch.utils._pytree")
pt = importlib.import_module("chainrule.utils._pytree")

NT = collections.namedtuple("NT", "a b")


# ---- compiler -----------------------------------------------------------------------------


def test_compiler_markers_return_the_function() -> None:
    def f(x: int) -> int:
        return x + 1

    assert cr.compiler.disable(f) is f
    assert cr.compiler.disable()(f) is f
    assert cr.compiler.disable(recursive=False, reason="data-dependent")(f) is f
    assert cr.compiler.disable(f)(1) == 2
    assert cr.compiler.allow_in_graph(f) is f
    assert cr.compiler.assume_constant_result(f) is f
    for name in ("is_compiling", "is_dynamo_compiling", "is_exporting"):
        assert getattr(cr.compiler, name)() == getattr(torch.compiler, name)(), name
    assert cr.compiler.reset() is None  # (PyTorch's reset imports Dynamo: not called here)
    # PyTorch's call on a CPU build returns None too (not called here: it imports Inductor)
    assert cr.compiler.cudagraph_mark_step_begin() is None
    assert cr.compiler.compile is cr.compile
    with pytest.warns(UserWarning, match="no graph compiler"):
        assert cr.compiler.compile(f)(1) == 2
    assert not [n for n in cr.compiler.__all__ if not hasattr(torch.compiler, n)]


# ---- cpu ----------------------------------------------------------------------------------


def test_cpu_device_queries_match_torch() -> None:
    for name in ("is_available", "is_initialized", "device_count", "current_device"):
        assert getattr(cr.cpu, name)() == getattr(torch.cpu, name)(), name
    for device in (None, "cpu", 0, cr.device("cpu")):
        assert cr.cpu.synchronize(device) is None
        assert cr.cpu.set_device(device) is None
        assert cr.cpu.current_stream(device) is cr.cpu.current_stream()
    # PyTorch ignores the device here; chainrule refuses to treat a GPU as the CPU
    with pytest.raises(ValueError, match="cuda"):
        cr.cpu.synchronize("cuda:0")
    assert not [n for n in cr.cpu.__all__ if not hasattr(torch.cpu, n)]


def test_cpu_streams_and_events_behave_like_torch() -> None:
    for lib in (torch, cr):
        default = lib.cpu.current_stream()
        s = lib.cpu.Stream(priority=0)
        with lib.cpu.stream(s):
            assert lib.cpu.current_stream() is s
            with lib.cpu.stream(None):
                assert lib.cpu.current_stream() is s
        assert lib.cpu.current_stream() is default
        ctx = lib.cpu.StreamContext(s)
        assert ctx.stream is s
        event = lib.cpu.Event()
        assert event.record() is None and event.query() is True
        assert event.synchronize() is None and event.wait() is None
        assert s.wait_stream(default) is None and s.wait_event(event) is None
        assert s.record_event() is None


def test_cpu_amp_spellings_warn_and_autocast_like_torch() -> None:
    a = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    with pytest.warns(FutureWarning, match="cr.amp.autocast\\('cpu'"):
        ctx = cr.cpu.amp.autocast()
    with ctx:
        got = cr.tensor(a) @ cr.tensor(a.T)
    with pytest.warns(FutureWarning):
        tctx = torch.cpu.amp.autocast()
    with tctx:
        want = torch.tensor(a) @ torch.tensor(a.T)
    assert str(got.dtype) == str(want.dtype) == "torch.bfloat16"
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=1e-2)
    with pytest.warns(FutureWarning, match="cr.amp.GradScaler\\('cpu'"):
        scaler = cr.cpu.amp.GradScaler(init_scale=8.0)
    assert scaler.get_scale() == 8.0


# ---- pytree -------------------------------------------------------------------------------


def _trees() -> list[Any]:
    dd = collections.defaultdict(list, b=1, a=[2, 3])
    return [
        1,
        None,
        [],
        (),
        {},
        [1, (2, 3), {"b": 4, "a": 5}],
        {"x": [1, (2, 3)], "y": None, 3: "leaf"},
        NT(a=1, b=[2, NT(3, 4)]),
        collections.OrderedDict(z=1, y=(2,)),
        dd,
        collections.deque([1, [2]], maxlen=4),
        [{1, 2}, "ab", b"x", 1.5],
        ((((1,),),),),
    ]


@pytest.mark.parametrize("index", range(len(_trees())))
def test_flatten_and_unflatten_match_torch(index: int) -> None:
    tree = _trees()[index]
    leaves, spec = pt.tree_flatten(tree)
    t_leaves, t_spec = tpt.tree_flatten(tree)
    assert leaves == t_leaves
    assert repr(spec) == repr(t_spec)
    assert (spec.num_leaves, spec.num_nodes, spec.num_children) == (
        t_spec.num_leaves,
        t_spec.num_nodes,
        t_spec.num_children,
    )
    rebuilt = pt.tree_unflatten(leaves, spec)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert pt.tree_leaves(tree) == list(pt.tree_iter(tree)) == t_leaves
    assert pt.treespec_pprint(spec) == tpt.treespec_pprint(t_spec)


def test_size_and_return_types_are_nodes() -> None:
    leaves, spec = pt.tree_flatten(cr.Size([2, 3]))
    assert leaves == tpt.tree_flatten(torch.Size([2, 3]))[0] == [2, 3]
    assert repr(spec) == repr(tpt.tree_structure(torch.Size([2, 3])))
    assert type(pt.tree_unflatten([4, 5], spec)) is cr.Size
    values, _ = pt.tree_flatten(cr.max(cr.ones(2, 2), dim=0))
    assert len(values) == 2


def test_spec_equality_matches_torch() -> None:
    pairs = [
        ({"a": 1, "b": 2}, {"b": 1, "a": 2}),  # key order matters
        ({"a": 1, "b": 2}, {"a": [1], "b": 2}),
        ([1, (2, 3)], [5, (6, 7)]),
        ([1], (1,)),
        (NT(1, 2), (1, 2)),
        ({"a": 1}, collections.OrderedDict(a=1)),
        (collections.deque([1], maxlen=2), collections.deque([1])),
        (1, None),
        (1, "leaf"),
    ]
    for a, b in pairs:
        want = tpt.tree_structure(a) == tpt.tree_structure(b)
        assert (pt.tree_structure(a) == pt.tree_structure(b)) == want, (a, b)
        if want:
            assert hash(pt.tree_structure(a)) == hash(pt.tree_structure(b))
    assert pt.tree_structure([1]) != 3
    assert pt.LeafSpec() == pt.tree_structure(1) and repr(pt.LeafSpec()) == "*"
    built = pt.TreeSpec(list, None, [pt.LeafSpec(), pt.LeafSpec()])
    assert built == pt.tree_structure([1, 2])


def test_unflatten_errors_match_torch() -> None:
    spec, t_spec = pt.tree_structure([1, (2, 3)]), tpt.tree_structure([1, (2, 3)])
    for leaves in ([1, 2], [1, 2, 3, 4]):
        with pytest.raises(ValueError) as want:
            tpt.tree_unflatten(leaves, t_spec)
        with pytest.raises(ValueError) as got:
            pt.tree_unflatten(leaves, spec)
        assert str(got.value) == str(want.value)
    with pytest.raises(TypeError, match="PyTreeSpec"):
        pt.tree_unflatten([1], [1])


def test_tree_map_matches_torch() -> None:
    tree = {"a": [1, 2], "b": (3, None)}
    square = lambda x: None if x is None else x * x  # noqa: E731
    assert pt.tree_map(square, tree) == tpt.tree_map(square, tree)
    add = lambda x, y: (x, y)  # noqa: E731
    for rest in ([10, (20, 30)], [[1, 2], (3, 4)]):
        assert pt.tree_map(add, [1, (2, 3)], rest) == tpt.tree_map(add, [1, (2, 3)], rest)
    od, od2 = collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=10, a=20)
    assert pt.tree_map(add, od, od2) == tpt.tree_map(add, od, od2)
    for rest_a, rest_b in [
        ([1, (2, 3)], [10, [20, 30]]),
        ([1], [1, 2]),
        ([1, 2], 3),
        ({"a": 1}, {"b": 1}),
        (NT(1, 2), collections.namedtuple("NU", "a b")(1, 2)),
    ]:
        with pytest.raises(ValueError) as want:
            tpt.tree_map(add, rest_a, rest_b)
        with pytest.raises(ValueError) as got:
            pt.tree_map(add, rest_a, rest_b)
        assert str(got.value) == str(want.value)
    is_tuple = lambda x: isinstance(x, tuple)  # noqa: E731
    assert pt.tree_leaves([1, (2, 3)], is_leaf=is_tuple) == [1, (2, 3)]
    assert pt.tree_map(str, [[1], (2, 3)], is_leaf=is_tuple) == [["1"], "(2, 3)"]


def test_map_only_all_any_match_torch() -> None:
    tree = [1, 2.0, "a", {"k": (3, "b")}]
    double = lambda x: x * 2  # noqa: E731
    for kinds in (int, (int, str), int | str, lambda x: isinstance(x, float)):
        assert pt.tree_map_only(kinds, double, tree) == tpt.tree_map_only(kinds, double, tree)
    seen: list = []
    assert pt.tree_map_only_(str, seen.append, tree) is tree and seen == ["a", "b"]
    positive = lambda x: x > 0  # noqa: E731
    for nums in ([1, (2, 3)], [1, (-2, 3)], []):
        assert pt.tree_all(positive, nums) == tpt.tree_all(positive, nums)
        assert pt.tree_any(positive, nums) == tpt.tree_any(positive, nums)
    assert pt.tree_all_only(int, positive, [1, "a", -1.0]) is True
    assert pt.tree_any_only(str, lambda s: s == "a", [1, "a"]) is True
    assert [pt.tree_is_leaf(x) for x in (1, [1], None, [])] == [
        tpt.tree_is_leaf(x) for x in (1, [1], None, [])
    ]


def test_register_pytree_node_matches_torch() -> None:
    class Point:
        def __init__(self, x: Any, y: Any) -> None:
            self.x, self.y = x, y

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    for lib in (pt, tpt):
        lib.register_pytree_node(
            Point,
            lambda p: ([p.x, p.y], None),
            lambda values, _: Point(*values),
            serialized_type_name="tests.Point",
        )
    tree = [Point(1, (2, 3))]
    assert pt.tree_leaves(tree) == tpt.tree_leaves(tree) == [1, 2, 3]
    assert repr(pt.tree_structure(tree)) == repr(tpt.tree_structure(tree))
    assert pt.tree_map(lambda v: v * 2, tree) == [Point(2, (4, 6))]
    assert pt.treespec_dumps(pt.tree_structure(tree)) == tpt.treespec_dumps(
        tpt.tree_structure(tree)
    )
    with pytest.raises(ValueError, match="already registered"):
        pt.register_pytree_node(Point, lambda p: ([], None), lambda v, c: Point(0, 0))
    with pytest.raises(ValueError, match="must be None or registered"):
        pt.register_pytree_node(set, lambda s: (list(s), None), set, to_dumpable_context=str)


@pytest.mark.parametrize("index", [0, 2, 5, 6, 8, 9, 10])
def test_treespec_dumps_is_torchs_format(index: int) -> None:
    tree = _trees()[index]
    text = pt.treespec_dumps(pt.tree_structure(tree))
    assert text == tpt.treespec_dumps(tpt.tree_structure(tree))
    assert pt.treespec_loads(text) == pt.tree_structure(tree)
    assert tpt.treespec_loads(text) == tpt.tree_structure(tree)


def test_treespec_serialization_errors() -> None:
    with pytest.raises(NotImplementedError, match="namedtuple"):
        pt.treespec_dumps(pt.tree_structure(NT(1, 2)))
    with pytest.raises(ValueError, match="Unknown protocol 2"):
        pt.treespec_dumps(pt.tree_structure([1]), protocol=2)
    with pytest.raises(NotImplementedError, match="foo.Bar"):
        pt.treespec_loads('[1, {"type": "foo.Bar", "context": "null", "children_spec": []}]')


def test_children_accessors() -> None:
    spec, t_spec = pt.tree_structure([1, (2, 3)]), tpt.tree_structure([1, (2, 3)])
    assert repr(spec.children()) == repr(t_spec.children())
    assert repr(spec.child(1)) == repr(t_spec.child(1))
    assert spec.flatten_up_to([[1], ([2], 3)]) == t_spec.flatten_up_to([[1], ([2], 3)])
    assert (spec.is_leaf(), spec.child(0).is_leaf()) == (False, True)
    with pytest.warns(FutureWarning, match="children_specs"):
        assert spec.children_specs == spec.children()


@pytest.mark.parametrize(
    ("ours", "theirs"), [(cr.compiler, torch.compiler), (cr.cpu, torch.cpu), (pt, tpt)]
)
def test_functions_take_torchs_keywords(ours: Any, theirs: Any) -> None:
    def keywords(fn: Any) -> set[str]:
        params = inspect.signature(fn).parameters.values()
        return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    for name in ours.__all__:
        fn = getattr(ours, name)
        if inspect.isfunction(fn) and hasattr(theirs, name):
            want = keywords(getattr(theirs, name))
            assert want <= keywords(fn), (name, want - keywords(fn))
