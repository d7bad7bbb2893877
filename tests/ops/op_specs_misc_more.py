"""Op specs for ``ops/misc_more.py`` (``fill``, ``put``, ``index_reduce``, ``gradient``,
``igamma``/``igammac``, ``as_strided``, ``as_strided_scatter``); appended to the central
table in tests/ops/op_specs.py. tests/test_misc_more.py covers the non-differentiable
functions, the Tensor-only methods, the in-place forms (``put_``, ``index_reduce_``: an
in-place spec would meet the engine's refusal of in-place writes into empty tensors in the
systematic bad inputs), dtype queries and errors.

``as_strided`` reads the input's *storage*, so its specs take ``x.contiguous()`` (the
non-contiguous layouts of test_ops.py are laid out differently from torch's inputs). The
``as_strided_scatter`` spec differentiates ``src`` only: PyTorch 2.13's gradient for
``input`` is wrong (it keeps the written positions and zeroes the others, the inverse of
what its forward computes); tests/test_misc_more.py checks chainrule's with gradcheck.
"""

from __future__ import annotations

import warnings

import numpy as np

from .op_specs import NO_GG, OpSpec, bad_call, const, lib

__all__ = ["SPECS"]

X = (3, 4)
_PUT_IDX = np.array([0, 5, -1])  # distinct flat positions of a (3, 4)
_PUT_REP = np.array([0, 5, 0, 11, 5])
_ROWS = np.array([0, 2, 0, 1])  # index_reduce rows into a (3, 4), row 0 repeated
_A = np.array([[0.5, 1.0, 2.0, 3.0], [1.5, 0.7, 4.0, 2.5], [1.2, 2.2, 0.9, 1.1]])


def _cat_grads(x, **kw):
    """``gradient``'s tuple as one flat tensor (one output to compare)."""
    return lib(x).cat([g.reshape(-1) for g in lib(x).gradient(x, **kw)])


def _reduce(reduce, include_self=True):
    def call(x, s):
        idx = const(x, _ROWS)
        with warnings.catch_warnings():  # torch's "index_reduce() is in beta" (chainrule: none)
            warnings.simplefilter("ignore", UserWarning)
            return lib(x).index_reduce(x, 0, idx, s, reduce, include_self=include_self)

    return call


SPECS: list = [
    OpSpec(
        "fill_tensor_value",
        lambda x, v: lib(x).fill(x, v.sum()),
        ((X, (2,)), ((), ())),
        bad=(bad_call("vector_value", lambda x, v: lib(x).fill(x, v.reshape(-1))),),
    ),
    OpSpec("fill_number", lambda x: lib(x).fill(x, 2.5) * x.sum(), ((X,),)),
    OpSpec(
        "put",
        lambda x, s: lib(x).put(x, const(x, _PUT_IDX), s),
        ((X, (3,)), (X, (1, 3))),
        bad=(
            bad_call("oob", lambda x, s: lib(x).put(x, const(x, [0, 12, 1]), s)),
            bad_call("numel", lambda x, s: lib(x).put(x, const(x, [0, 1]), s)),
        ),
    ),
    OpSpec("put_acc", lambda x, s: lib(x).put(x, const(x, _PUT_REP), s, True), ((X, (5,)),)),
    OpSpec("index_reduce_prod", _reduce("prod"), ((X, (4, 4)),)),
    OpSpec("index_reduce_prod_noself", _reduce("prod", False), ((X, (4, 4)),)),
    OpSpec(
        "index_reduce_mean",
        _reduce("mean"),
        ((X, (4, 4)),),
        bad=(bad_call("bad_reduce", lambda x, s: _reduce("sum")(x, s)),),
    ),
    OpSpec("index_reduce_mean_noself", _reduce("mean", False), ((X, (4, 4)),)),
    OpSpec("index_reduce_amax", _reduce("amax"), ((X, (4, 4)),), domain="distinct"),
    OpSpec("index_reduce_amin_noself", _reduce("amin", False), ((X, (4, 4)),), domain="distinct"),
    OpSpec("gradient", _cat_grads, ((X,), ((5,),), ((3, 4, 3),))),
    OpSpec("gradient_edge2", lambda x: _cat_grads(x, edge_order=2, spacing=0.5), ((X,),)),
    OpSpec("gradient_dim", lambda x: _cat_grads(x, dim=1, spacing=[2.0]), ((X,),)),
    OpSpec(
        "gradient_coords",
        lambda x: _cat_grads(x, spacing=(const(x, [0.0, 0.5, 1.7, 2.0]),), dim=-1, edge_order=2),
        ((X,),),
    ),
    OpSpec(
        "gradient_coords1",
        lambda x: _cat_grads(x, spacing=(const(x, [0.0, 1.0, 3.0]), const(x, [0, 1, 2, 4.0]))),
        ((X,),),
    ),
    OpSpec(
        "igamma",
        lambda x: lib(x).igamma(const(x, _A), x),
        ((X,),),
        domain="positive",
        checks=NO_GG,
    ),
    OpSpec(
        "igammac",
        lambda x: const(x, _A).igammac(x),
        ((X,),),
        domain="positive",
        checks=NO_GG,
    ),
    OpSpec(
        "as_strided",
        lambda x: lib(x).as_strided(x.contiguous(), (2, 3), (1, 2), 1),
        ((X,),),
        bad=(bad_call("too_far", lambda x: lib(x).as_strided(x, (4, 4), (4, 1))),),
    ),
    OpSpec("as_strided_overlap", lambda x: x.contiguous().as_strided((3, 3), (1, 1)), ((X,),)),
    OpSpec(
        "as_strided_expanded",
        lambda x: lib(x).as_strided(
            x.contiguous().unsqueeze(0).expand(3, *x.shape), (2, 2), (1, 1)
        ),
        (((4,),),),
    ),
    OpSpec(
        "as_strided_scatter_src",
        lambda s: lib(s).as_strided_scatter(const(s, _A), s, (2, 2), (4, 2), 1),
        (((2, 2),),),
        bad=(
            bad_call(
                "too_far", lambda s: lib(s).as_strided_scatter(const(s, _A), s, (2, 2), (9, 1))
            ),
        ),
    ),
]
