"""All ops, and the one place where they become ``Tensor`` methods and operators.

An op is a function in the op module of its family (``unary.py``, ``binary.py``, ...; see
CONTRIBUTING.md, "Where things go"), listed in that module's ``__all__``. Two things follow
from that, with no line here:

- it is public: every function in the ``__all__`` of a module in :data:`_OP_MODULES` is
  ``chainrule.<name>`` (through this package's ``__all__``);
- if the op is marked ``@tensor_method`` (``ops/binding.py``) it is also ``Tensor.<name>``,
  with ``inplace=True`` also ``Tensor.<name>_``, and with ``keywords=True`` the function and
  the method accept NumPy's ``axis=``/``keepdims=`` and ``out=`` (``ops/keywords.py``).

What the marks cannot say is written out below, each table with its reason: methods that
PyTorch has only on ``Tensor`` (:data:`_TENSOR_ONLY`), methods whose call differs from the
function's and the Python operators (both in ``tensor_operators.py``: :func:`.bind_special`,
:func:`.bind_operators`).
"""

from __future__ import annotations

import builtins
import numbers
import sys
from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import Any

import numpy as np

from .. import creation, tensor_numpy
from .._user_warnings import warn_once
from ..autograd.post_accumulate import register_post_accumulate_grad_hook
from ..autograd.swap import module_load
from ..autograd.tensor import Tensor
from ..multiprocessing import sharing as mp_sharing  # share_memory_ (torch.multiprocessing)
from ..storage import tensor_methods as storage_methods  # untyped_storage, storage, set_
from . import _misc_more_methods as misc_methods

# Modules used by name below (an op named like its module, ``cast`` or ``softmax``, would
# be shadowed by the star imports: those are reached through ``_OP_MODULES`` only).
from . import (
    binary,
    complex_ops,
    complex_support,
    indexing,
    inplace,
    keywords,
    layout,
    linalg_more,
    logical,
    permutations,
    pointwise_extra,
    pointwise_more,
    raw_misc,
    reduction,
    sampling,
    sparse_construction,
    sparse_convert,
    sparse_csr,
    special,
    structural,
    tensor_flags,
    tensor_queries,
    triangles,
    views,
)
from . import cumulative as cumulative_ops
from . import inplace_views as iv

# The star imports make every op visible to type checkers and editors as
# ``chainrule.ops.<name>``; which names are public is decided by ``__all__`` below.
from .aliases import *  # noqa: F403
from .aten_namespace import aten  # cr.ops.aten.mm.default: ATen op handles (aten_namespace.py)
from .binary import *  # noqa: F403
from .binding import method_spec
from .broadcasting import *  # noqa: F403
from .cast import *  # noqa: F403
from .cast import type_as
from .clamping import *  # noqa: F403
from .complex_ops import *  # noqa: F403
from .counting import *  # noqa: F403
from .covariance import *  # noqa: F403
from .cumulative import *  # noqa: F403
from .cumulative_extremes import *  # noqa: F403
from .deprecated_overloads import install_deprecated_overloads
from .distance import *  # noqa: F403
from .einsum import *  # noqa: F403
from .extremes import *  # noqa: F403
from .gather_scatter import *  # noqa: F403
from .grids import *  # noqa: F403
from .index_ops import *  # noqa: F403
from .indexing import *  # noqa: F403
from .joining import *  # noqa: F403
from .keyword_aliases import with_aliases
from .layout import *  # noqa: F403
from .legacy_dunders import bind_legacy_dunders
from .linalg import *  # noqa: F403
from .linalg import _matmul
from .linalg_aliases import *  # noqa: F403
from .linalg_lowrank import *  # noqa: F403
from .linalg_more import *  # noqa: F403
from .linear_interpolation import *  # noqa: F403
from .logarithms import *  # noqa: F403
from .logical import *  # noqa: F403
from .misc_more import *  # noqa: F403
from .nan_reductions import *  # noqa: F403
from .numpy_style import *  # noqa: F403
from .order_statistics import *  # noqa: F403
from .overload_errors import no_argument_method
from .padding import *  # noqa: F403
from .pairwise_extremes import *  # noqa: F403
from .permutations import *  # noqa: F403
from .pointwise_extra import *  # noqa: F403
from .pointwise_more import *  # noqa: F403
from .power import *  # noqa: F403
from .products import *  # noqa: F403
from .python_method_names import name_python_methods
from .raw_functional import *  # noqa: F403
from .rearranging import *  # noqa: F403
from .reduction import *  # noqa: F403
from .rounded_division import *  # noqa: F403
from .rounding import *  # noqa: F403
from .sampling import *  # noqa: F403
from .scaled_products import *  # noqa: F403
from .scatter_reduce import *  # noqa: F403
from .search import *  # noqa: F403
from .segment_reduce import *  # noqa: F403
from .softmax import *  # noqa: F403
from .special import *  # noqa: F403
from .spectral import *  # noqa: F403
from .splitting import *  # noqa: F403
from .stacking import *  # noqa: F403
from .statistics import *  # noqa: F403
from .structural import *  # noqa: F403
from .tensor_flags import *  # noqa: F403
from .tensor_operators import bind_operators, bind_special
from .triangles import *  # noqa: F403
from .trig import *  # noqa: F403
from .unary import *  # noqa: F403
from .unary_activations import *  # noqa: F403
from .view_copies import *  # noqa: F403
from .view_inverses import *  # noqa: F403
from .views import *  # noqa: F403

# The modules whose ``__all__`` functions are the public ops. A new op module is added here
# and to the star imports above; a new op in an existing module needs nothing here.
_OP_MODULES: tuple[ModuleType, ...] = tuple(
    import_module(f"{__name__}.{name}")
    for name in (
        "unary",
        "unary_activations",
        "logarithms",
        "clamping",
        "trig",
        "binary",
        "pairwise_extremes",
        "power",
        "linear_interpolation",
        "rounded_division",
        "logical",
        "rounding",
        "reduction",
        "extremes",
        "statistics",
        "cumulative",
        "softmax",
        "linalg",
        "einsum",
        "scaled_products",
        "views",
        "broadcasting",
        "permutations",
        "joining",
        "rearranging",
        "padding",
        "layout",
        "indexing",
        "gather_scatter",
        "structural",
        "grids",
        "triangles",
        "search",
        "sampling",
        "cast",
        "distance",
        "nan_reductions",
        "order_statistics",
        "cumulative_extremes",
        "counting",
        "covariance",
        "index_ops",
        "scatter_reduce",
        "segment_reduce",
        "products",
        "splitting",
        "linalg_aliases",
        "aliases",
        "pointwise_extra",
        "special",
        "stacking",
        "numpy_style",
        "pointwise_more",
        "linalg_more",
        "misc_more",
        "raw_functional",
        "linalg_lowrank",
        "spectral",
        "complex_ops",
        "view_inverses",
        "view_copies",
        "tensor_flags",
    )
)

# Methods PyTorch has only on Tensor (there is no torch.new_zeros or torch.stride): bound
# here, and kept out of ``__all__`` so that they never become ``chainrule.*`` functions.
_TENSOR_ONLY: dict[str, Callable[..., Any]] = dict(
    new_zeros=creation.new_zeros,
    new_ones=creation.new_ones,
    new_empty=creation.new_empty,
    new_full=creation.new_full,
    new_tensor=creation.new_tensor,
    type_as=type_as,
    is_floating_point=layout.is_floating_point,
    is_contiguous=layout.is_contiguous,
    stride=layout.stride,
    data_ptr=layout.data_ptr,
    uniform_=sampling.uniform_,
    normal_=sampling.normal_,
    **{name: getattr(sampling, name) for name in sampling.RANDOM_FILLS},  # bernoulli_, ...
    apply_=sampling.apply_,
    resize=raw_misc.resize,  # PyTorch's deprecated out-of-place forms of resize_
    resize_as=raw_misc.resize_as,
    index_put_=indexing.index_put_,
    expand_as=views.expand_as,
    view_as=views.view_as,
    unfold=structural.unfold,
    zero_=no_argument_method(inplace.zero_),  # x.zero_(1): TensorBase's own error
    fill_=inplace.fill_,
    copy_=inplace.copy_,
    t_=iv.t_,
    detach_=iv.detach_,
    transpose_=iv.transpose_,
    swapdims_=iv.swapdims_,
    swapaxes_=iv.swapaxes_,
    squeeze_=iv.squeeze_,
    unsqueeze_=iv.unsqueeze_,
    tril_=triangles.tril_,
    triu_=triangles.triu_,
    fill_diagonal_=structural.fill_diagonal_,
    nelement=layout.nelement,
    ndimension=layout.ndimension,
    reshape_as=views.reshape_as,
    sum_to_size=views.sum_to_size,
    float_power_=pointwise_extra.float_power_,
    hardshrink=pointwise_more.hardshrink_method,
    log10_=pointwise_more.log10_method_,
    log2_=pointwise_more.log2_method_,
    **logical.COMPARISONS_INPLACE,  # eq_ ... ge_: stay in the graph, as in PyTorch
    storage_offset=tensor_queries.storage_offset,
    is_signed=tensor_queries.is_signed,
    is_nonzero=tensor_queries.is_nonzero,
    is_same_size=tensor_queries.is_same_size,
    register_post_accumulate_grad_hook=register_post_accumulate_grad_hook,
    module_load=module_load,  # how load_state_dict remaps a value it swaps in
    byte=misc_methods.byte,
    char=misc_methods.char,
    short=misc_methods.short,
    new=misc_methods.new,
    new_empty_strided=misc_methods.new_empty_strided,
    bernoulli=misc_methods.bernoulli_method,
    prelu=misc_methods.prelu_method,
    is_pinned=misc_methods.is_pinned,
    share_memory_=mp_sharing.share_memory_,
    is_shared=mp_sharing.is_shared,
    pin_memory=misc_methods.pin_memory,
    resize_=misc_methods.resize_,
    flip=misc_methods.flip_method,  # ints as dims too; cr.flip takes a tuple or list
    __reversed__=misc_methods.reversed_method,  # reversed(x): x.flip(0)
    map_=misc_methods.map_,
    map2_=misc_methods.map2_,
    as_subclass=misc_methods.as_subclass,
    as_strided_=misc_methods.as_strided_method_,  # cr.as_strided_ is the root function
    to_sparse=sparse_construction.to_sparse,  # a sparse tensor's class has its own
    to_sparse_coo=sparse_construction.to_sparse_coo,
    to_sparse_csr=sparse_csr.to_sparse_csr,
    to_sparse_csc=sparse_convert.to_sparse_csc,
    to_sparse_bsr=sparse_convert.to_sparse_bsr,
    to_sparse_bsc=sparse_convert.to_sparse_bsc,
    to_dense=sparse_construction.to_dense,
    dense_dim=sparse_construction.dense_dim,
    sparse_dim=sparse_construction.sparse_dim,
    untyped_storage=storage_methods.untyped_storage,
    storage=storage_methods.storage,
    set_=storage_methods.set_,
    const_data_ptr=tensor_flags.const_data_ptr,
    dim_order=tensor_flags.dim_order,
    **sparse_csr.DENSE_ACCESSORS,  # dense tensors refuse them, as PyTorch's
)

# In an op module's ``__all__`` for the package's own use, but no PyTorch function.
_INTERNAL = frozenset({"to_device_op"})  # Tensor.to(device)'s differentiable move


def _collect_public_ops() -> dict[str, Callable[..., Any]]:
    """Every public op by name, wrapped for NumPy keywords where its mark asks for them."""
    ops: dict[str, Callable[..., Any]] = {}
    for module in _OP_MODULES:
        for name in module.__all__:
            fn = getattr(module, name)
            if isinstance(fn, type) or _TENSOR_ONLY.get(name) is fn or name in _INTERNAL:
                continue  # Function classes, Tensor-only methods, helpers
            if (
                name in ops
                and ops[name] is not fn
                and getattr(ops[name], "__wrapped__", None) is not fn
            ):
                raise ImportError(
                    f"chainrule.ops: two different ops are named {name!r} "
                    f"({module.__name__} and another op module)"
                )
            spec = method_spec(fn)
            if spec and spec.keywords:  # (these take NumPy's aliases too)
                ops[name] = keywords.accepts_torch_keywords(fn, name)
            else:  # PyTorch's parser: x=/a=/x1=, x2=, axis=, keepdims= and its binding texts
                ops[name] = with_aliases(fn, name)
    return ops


def _bind_marked(T: Any, ops: dict[str, Callable[..., Any]]) -> None:
    """``Tensor.<name>`` (and ``<name>_``) for every op marked ``@tensor_method``."""
    for name, fn in ops.items():
        spec = method_spec(fn)  # functools.wraps copies the mark onto a keyword wrapper
        if spec is None or not spec.method:
            continue
        method = keywords.method_form(fn, name)  # methods take no out=, as in PyTorch
        if method is fn and hasattr(fn, "keyword_aliases"):  # x.select(0, 1) is hot: no
            method = fn.__wrapped__  # wrapper of its own (aliases where method_form wraps)
        setattr(T, name, method)
        if spec.inplace:
            setattr(T, name + "_", inplace.make_inplace(name + "_", method))


def _bind(ops: dict[str, Callable[..., Any]]) -> None:
    """Make the ops ``Tensor`` methods and operators (once, when ``chainrule`` is imported)."""
    _bind_marked(Tensor, ops)
    for name, fn in _TENSOR_ONLY.items():
        setattr(Tensor, name, fn)
    bind_special(Tensor)
    bind_operators(Tensor)
    tensor_numpy.defer_operators_to_ndarray(Tensor)  # t + ndarray: NumPy's, as in PyTorch
    bind_legacy_dunders(Tensor)  # __div__, __nonzero__, __long__, ...: the operators above
    name_python_methods(Tensor)  # x.norm(out=o): "Tensor.norm() got an unexpected ..."


_PUBLIC_OPS = _collect_public_ops()
globals().update(_PUBLIC_OPS)  # chainrule.ops.sum is the keyword-accepting sum
_bind(_PUBLIC_OPS)
# add/sub/addcmul/addcdiv and addmm/addmv/addr/addbmm/baddbmm (functions and methods) also
# take PyTorch's deprecated scale-first overloads (``p.data.add_(-lr, d_p)``, ``x.addmm(beta,
# m1, m2)``); the operators bound above keep the direct methods
install_deprecated_overloads(Tensor, _PUBLIC_OPS)
globals().update(_PUBLIC_OPS)

# The public ops: functions only, so that ``from chainrule.ops import *`` never leaks this
# package's modules (``shape``, ``unary``, ``linalg`` ...) into ``chainrule``'s namespace
# (``cr.linalg`` is the ``torch.linalg`` counterpart in ``chainrule/linalg/``).
__all__ = sorted(_PUBLIC_OPS)


def __getattr__(name: str) -> Any:
    """``cr.ops.<namespace>``: the operators registered under a namespace with
    ``cr.library.custom_op`` / ``Library.define`` (PyTorch's ``torch.ops.<namespace>``). Only
    names that are no op or module of this package get here, so real ops win; the registry is
    read only if ``chainrule.library`` was loaded (before that nothing is registered)."""
    registry = sys.modules.get("chainrule.library.registry")  # looked up, never imported here
    if registry is None or name.startswith("__"):
        raise AttributeError(f"module 'chainrule.ops' has no attribute {name!r}")
    return registry.namespace(name)
