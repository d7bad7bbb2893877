"""``vmap``'s interface against ``torch.func.vmap``: in_dims/out_dims forms (ints, None,
negative dims, nested tuples/lists/dicts), keyword arguments, nesting, chunk_size, and the
errors PyTorch raises for inputs and outputs vmap cannot map."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr

from ._helpers import assert_tree_close, compare, rand, to_lib, to_numpy, torch


def test_in_dims_forms():
    x, y = rand(3, 4), rand(4, 3)
    compare(lambda lib: lambda a, b: a * b, (x, y), in_dims=(0, 1))
    compare(lambda lib: lambda a, b: a * b, (x, y), in_dims=(-2, -1))
    compare(lambda lib: lambda a, b: a + b, (x, y[:, 0]), in_dims=(0, None))
    compare(lambda lib: lambda a: a.sum(0), (rand(2, 5, 3),), in_dims=2)


def test_pytree_inputs_and_outputs():
    tree = {"w": rand(3, 4), "pair": (rand(4, 3), rand(2))}

    def body(lib):
        return lambda t, s: {"a": t["w"] * t["pair"][0] + s, "b": (t["pair"][1] * 2,)}

    compare(body, (tree, rand(4)), in_dims=({"w": 0, "pair": (1, None)}, None))
    compare(
        body,
        (tree, rand(3, 4)),
        in_dims=({"w": 0, "pair": (1, None)}, 0),
        out_dims={"a": 1, "b": (None,)},
    )
    # a list where the input has a tuple is a different structure, for both libraries
    for lib in (cr, torch):
        with pytest.raises(ValueError, match="in_dims"):
            lib.func.vmap(body(lib), in_dims=({"w": 0, "pair": [1, None]}, 0))(
                *to_lib(lib, (tree, rand(3, 4)))
            )


def test_pytree_container_types_follow_torch_utils_pytree():
    """An OrderedDict output stays an OrderedDict (keys in insertion order); a dict subclass
    is a leaf, so mapping over it fails as in torch (vmap flattens with the pytree rules)."""
    for lib in (cr, torch):
        out = lib.func.vmap(lambda x: OrderedDict(b=x.sum(), a=x * 2))(lib.ones(3, 2))
        assert type(out) is OrderedDict and list(out) == ["b", "a"]

        class Box(dict):
            pass

        with pytest.raises(ValueError, match="in_dim=0"):
            lib.func.vmap(lambda d: d["a"] * 2)(Box(a=lib.ones(3, 2)))


def test_out_dims_forms():
    x = rand(3, 4, 5)
    compare(lambda lib: lambda a: a * 2, (x,), out_dims=1)
    compare(lambda lib: lambda a: a * 2, (x,), out_dims=-1)
    compare(lambda lib: lambda a: (a, a.sum(0)), (x,), out_dims=(2, 0))
    # an output that does not depend on the batch is expanded along out_dim
    compare(
        lambda lib: lambda a, b: (a.sum(), b * 1), (x, rand(2)), in_dims=(0, None), out_dims=(0, 0)
    )
    got = cr.func.vmap(lambda a, b: b * 1, in_dims=(0, None), out_dims=-1)(
        cr.tensor(x), cr.tensor(rand(2))
    )
    np.testing.assert_array_equal(got.numpy(), np.repeat(rand(2)[:, None], 3, axis=1))
    compare(
        lambda lib: lambda a, b: (a.sum(), b * 1),
        (x, rand(2)),
        in_dims=(0, None),
        out_dims=(0, None),
    )


def test_keyword_arguments_are_not_mapped():
    def body(lib):
        return lambda a, *, scale: a * scale

    got = cr.func.vmap(body(cr))(cr.tensor(rand(3, 4)), scale=cr.tensor(rand(4)))
    want = torch.func.vmap(body(torch))(torch.tensor(rand(3, 4)), scale=torch.tensor(rand(4)))
    assert_tree_close(to_numpy(got), to_numpy(want))


def test_nested_vmap():
    x, y = rand(3, 4, 5), rand(4, 5)

    def inner(lib):
        return lambda a, b: (a * b).sum(-1) + a.amax()

    compare(lambda lib: lib.func.vmap(inner(lib)), (x, y), in_dims=(0, None))
    compare(
        lambda lib: lib.func.vmap(inner(lib), in_dims=(1, 1)), (x, y), in_dims=(0, None), out_dims=1
    )

    def mm(lib):
        return lib.func.vmap(lib.func.vmap(lib.matmul, in_dims=(None, 0)), in_dims=(0, None))

    compare(mm, (rand(2, 3, 4), rand(5, 4, 2)), in_dims=(0, None))

    def three(lib):
        return lib.func.vmap(lib.func.vmap(lambda a: a.softmax(-1) @ a.transpose(0, 1)))

    compare(three, (rand(2, 3, 4, 5, 6),))


def test_nested_vmap_falls_back_correctly_for_ops_without_rules():
    """roll without dims has no batched form: the per-sample fallback, run at the inner
    level while the outer level batches the slices, still gives torch's values."""

    def body(lib):
        return lib.func.vmap(lambda a, b: lib.einsum("ij,jk->ik", a.roll(3), b), in_dims=(0, None))

    compare(body, (rand(2, 3, 4, 5), rand(5, 2)), in_dims=(0, None), batched_only=False)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 10])
def test_chunk_size(chunk_size):
    compare(
        lambda lib: lambda a, b: (a @ b, a.sum()),
        (rand(5, 3, 4), rand(4, 2)),
        in_dims=(0, None),
        out_dims=(1, 0),
        chunk_size=chunk_size,
    )


def test_chunk_size_must_be_positive():
    for bad in (0, -1):
        with pytest.raises(ValueError, match="chunk_size"):
            cr.func.vmap(lambda a: a, chunk_size=bad)
        with pytest.raises(ValueError, match="chunk_size"):
            torch.func.vmap(lambda a: a, chunk_size=bad)


def _both_raise(exc, fn_builder, args, match=None, **vmap_kwargs):
    for lib in (cr, torch):
        with pytest.raises(exc, match=match):
            fn_builder(lib)(*to_lib(lib, args))


def test_error_mismatched_batch_sizes():
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda a, b: a + b),
        (rand(3, 4), rand(2, 4)),
        match="same size in the mapped dimension",
    )


def test_error_in_dims_structure():
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda a, b: a + b, in_dims=(0,)),
        (rand(3, 4), rand(3, 4)),
        match="in_dims",
    )
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda a: a, in_dims=[0]),
        (rand(3, 4),),
        match="in_dims",
    )
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda t: t[0], in_dims=((0, 0),)),
        ((rand(3), rand(3), rand(3)),),
    )


def test_error_in_dim_out_of_range_or_not_a_tensor():
    _both_raise(
        ValueError, lambda lib: lib.func.vmap(lambda a: a, in_dims=2), (rand(3, 4),), match="in_dim"
    )
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda a, b: a * b),
        (rand(3), 2.0),
        match="non-Tensor",
    )


def test_error_output_not_a_tensor():
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda a: 1.0),
        (rand(3),),
        match="must only return Tensors",
    )
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda a: (a, "x")),
        (rand(3),),
        match="must only return Tensors",
    )
    # out_dims=None: a non-tensor output passes through unchanged, as in torch
    got = cr.func.vmap(lambda a: (a * 2, 7), out_dims=(0, None))(cr.tensor(rand(3)))
    assert got[1] == 7


def test_error_out_dims_structure():
    _both_raise(
        ValueError,
        lambda lib: lib.func.vmap(lambda a: (a, a), out_dims=(0, 0, 0)),
        (rand(3, 2),),
        match="out_dims",
    )


def test_error_data_dependent_python():
    with pytest.raises(RuntimeError, match="vmap"):
        cr.func.vmap(lambda a: a * 2 if a.sum() > 0 else a)(cr.tensor(rand(3, 2)))
    with pytest.raises(RuntimeError, match="vmap"):
        cr.func.vmap(lambda a: a.sum().item())(cr.tensor(rand(3, 2)))


def test_batched_tensor_reports_logical_shape():
    seen = {}

    def f(a):
        seen.update(shape=a.shape, ndim=a.ndim, size=a.size(-1), numel=a.numel(), len=len(a))
        return a

    cr.func.vmap(f, in_dims=1)(cr.tensor(rand(4, 3, 5)))
    assert seen == {"shape": (4, 5), "ndim": 2, "size": 5, "numel": 20, "len": 4}


def test_results_are_plain_tensors_and_differentiable():
    x = cr.tensor(rand(3, 4), requires_grad=True)
    w = cr.tensor(rand(4), requires_grad=True)
    y = cr.func.vmap(lambda a, b: (a * b).tanh().sum(), in_dims=(0, None))(x, w)
    assert type(y) is cr.Tensor and y.shape == (3,)
    y.sum().backward()
    xt = torch.tensor(rand(3, 4), requires_grad=True)
    wt = torch.tensor(rand(4), requires_grad=True)
    torch.func.vmap(lambda a, b: (a * b).tanh().sum(), in_dims=(0, None))(xt, wt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10)


def test_top_level_alias_and_signature():
    import inspect

    assert cr.vmap is cr.func.vmap
    ours, theirs = inspect.signature(cr.func.vmap), inspect.signature(torch.func.vmap)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in theirs.parameters.values()
    ]
