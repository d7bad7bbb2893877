"""``Function``: the one pattern every op follows, built-in or user-written.

An op is a class with ``forward(ctx, *inputs)`` and ``backward(ctx, *grads)``
(and, for primitives, ``jvp(ctx, *tangents)`` for forward mode). ``Function.apply``
runs ``forward``, wraps the result in a :class:`Tensor`, and, when any input
requires grad and recording is on, links a :class:`Node` into the graph.

The node *is* the ``ctx`` the rules receive (as in PyTorch): ``ctx.needs_input_grad``
says which inputs want a gradient (known before ``forward`` runs, so an op saves only
what its backward will read), ``ctx.save_for_backward`` stores those values, and
``ctx.saved_tensors`` gives them back as Tensors connected to the graph (so a backward
written with Tensor ops is itself differentiable), after checking that none was modified
in place since. ``ctx.create_graph`` tells a backward rule whether the engine is recording
the backward pass (``create_graph=True``), so a fused rule can fall back to a
differentiable composition.

Built-in ops set ``raw = True``: their ``forward`` receives raw arrays (NumPy or CuPy)
and returns arrays, which keeps per-op overhead low. User functions get Tensors, like
PyTorch's ``torch.autograd.Function``.
"""

from __future__ import annotations

import functools
import inspect
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as _np

from .._layout import like_layout
from .._layout_carry import carry_input_marks
from .._layout_marks import LAYOUT_MARKS
from ..backend import CUPY_IMPORTED, arrays_to_device
from ..dtypes import _BFLOAT16
from ..meta.array import ACTIVE as _META
from ..meta.forward import has_meta, meta_forward
from . import node as _node
from .anomaly import check_forward_outputs
from .forward_tangents import forward_tangents
from .function_ctx import FunctionCtx
from .function_links import check_complex, link_inputs, share_view_versions
from .ieee import rerun_quietly
from .inference import check_saved_values
from .lower_precision import AUTOCAST, run_in_float32
from .mark_dirty import adopt_dirty
from .node import Node, name_node_type
from .saved import SavedConstant, SavedInput, SavedOutput, SavedPacked, classify, pack
from .state import LOCAL, current
from .tensor import Tensor
from .user_function_outputs import check_user_saved, pass_non_tensors
from .view_base import outside_graph

__all__ = [
    "Function",
    "FunctionCtx",
    "Node",
    "keep_private_copies",
    "once_differentiable",
    "SavedInput",
    "SavedOutput",
    "SavedConstant",
]

_ndarray = _np.ndarray

# Set by chainrule.func._dispatch: ``(cls, args, kwargs) -> result | NotImplemented``. Only
# called while a vmap is active in the thread (``state.vmap`` non-empty).
vmap_dispatch: Callable | None = None


def _has_bfloat16(arrays: list) -> bool:
    """Whether an op's raw arguments hold a bfloat16 or float8 array (ml_dtypes: dtype kind
    'V'; float8_e5m2's is 'f', with an itemsize of 1)."""
    for a in arrays:
        d = getattr(a, "dtype", None)
        kind = getattr(d, "kind", None)
        if kind == "V" or (kind == "f" and d.itemsize == 1):
            return True
    return False


class Function:
    """Base class for differentiable operations (PyTorch's ``torch.autograd.Function``).

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``MyOp.apply(*args)``. ``backward`` returns one gradient (or None) per positional
    argument of ``forward``. Write ``backward`` with Tensor ops and ``create_graph=True``
    gives higher-order gradients for free. Optional ``jvp(ctx, *tangents)`` gives the
    forward-mode rule: it receives one tangent Tensor (None for a non-Tensor argument) per
    positional argument, may read ``ctx.primals`` (the inputs) and ``ctx.out`` (the output),
    Tensors outside the graph, and returns the output tangent. A ``forward`` that stores
    its own ``ctx.primals``, ``ctx.out`` or ``ctx.create_graph`` keeps them (PyTorch's ctx
    has no such attributes).

    Class attributes:
        raw: forward receives raw arrays instead of Tensors (built-in ops).
        is_view: the output shares memory with the first input (shares its version counter).
        differentiable_backward: False if backward cannot itself be differentiated; double
            backward through it then raises a clear error. Set by ``@once_differentiable``
            (on the class or on its ``backward``).
        complex_grad: how the op meets complex tensors in autograd. ``False`` (the default
            for chainrule's own ops): a complex input that requires grad, or a complex
            output while recording, raises NotImplementedError, because a rule written for
            real numbers would give a wrong gradient. ``"holomorphic"``: the op is complex
            differentiable and its rules are written as for real numbers (``g * f'(x)``,
            ``g @ b.T``); the engine turns them into PyTorch's conjugate convention by
            calling ``backward`` on ``conj(g)`` and conjugating the result. ``True``: the
            op's ``backward`` already returns PyTorch's convention (the gradient of a real
            loss with respect to ``z = x + iy`` is ``dL/dx + i dL/dy``). User-defined
            Functions default to ``True``, as in PyTorch.
        tie_saved: the rule multiplies by a mask read from what the node saved (relu,
            leaky_relu, hardtanh, ...): under ``create_graph`` each gradient is tied to those
            saved tensors with a zero derivative, as PyTorch's recorded formulas are, so a
            second derivative through the op is zeros, not "not used in the graph"
            (``autograd/zero_link.py``).
    """

    raw = False
    is_view = False
    differentiable_backward = True
    tie_saved = False
    _separate_ctx = False  # forward(*args) + setup_context(ctx, inputs, output) style
    _user = False  # subclassed outside chainrule (set by __init_subclass__)
    generate_vmap_rule = False  # PyTorch's flag; cr.func.vmap batches user Functions anyway
    complex_grad: bool | str = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__module__.startswith("chainrule."):
            cls._user = True  # a user's Function: PyTorch's checks of what it saves
            if "complex_grad" not in cls.__dict__:
                cls.complex_grad = True  # a user's Function owns its complex rule, as in torch
            if "vjp" in cls.__dict__ and "backward" not in cls.__dict__:
                cls.backward = cls.__dict__["vjp"]  # PyTorch's alias: vjp is backward
        if getattr(cls.backward, "_once_differentiable", False):  # @once_differentiable
            cls.differentiable_backward = False
        if cls.setup_context is not Function.setup_context:
            cls._separate_ctx = True
            cls.apply = classmethod(_apply_with_bound_args)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """PyTorch's warning: a Function's methods are static, so it is used through the
        class (``MyFn.apply(x)``); an instance still has ``apply``."""
        warnings.warn(
            f"{self.__class__} should not be instantiated. Methods on autograd functions "
            "are all static, so you should invoke them on the class itself. Instantiating "
            "an autograd function will raise an error in a future version of PyTorch.",
            DeprecationWarning,
            stacklevel=2,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calling an instance (the pre-0.4 "legacy" Function style) is refused, as PyTorch."""
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. "
            "Please use new-style autograd function with static forward method. "
            "(Example: https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @staticmethod
    def forward(ctx: Node, *args: Any, **kwargs: Any):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def setup_context(ctx: Node, inputs: tuple, output: Any) -> None:
        """PyTorch 2's second way to write a Function: ``forward(*args)`` without ``ctx``
        and ``setup_context(ctx, inputs, output)`` to save what ``backward``/``jvp`` need
        (``inputs`` holds every argument of ``forward``, defaults filled in). Overriding it
        selects that style."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Node, *grads: Any):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement backward(ctx, ...)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any):
        # The per-op hot path: one pass over the arguments, no imports, no extra lists
        # unless needed. Profile with benchmarks/bench_ops.py --profile before changing.
        ctx = Node()
        ctx._forward_cls = cls
        state = LOCAL.state  # this thread's switches (one thread-local read per op)
        if state.vmap:  # inside cr.func.vmap: batched inputs go to their batching rule
            out = vmap_dispatch(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        if AUTOCAST[0]:  # an autocast block is on somewhere: it may cast the arguments
            args = AUTOCAST[1](cls, args)
        grad_on = state.grad_enabled
        fwd_on = state.forward_ad > 0
        record = forward_ad = False
        raw_args = []
        for a in args:
            if isinstance(a, Tensor):
                view = a._view
                if view is not None and view.version != a._vc[0] and (grad_on or fwd_on):
                    a._refresh_view()  # its base changed in place: replay the view
                if grad_on and (a._rg or (view is not None and outside_graph(a))):
                    record = True  # (a view without grad_fn requires grad as its base does)
                if fwd_on and a._fw_tangent is not None:
                    forward_ad = True
                raw_args.append(a._data)
            else:
                raw_args.append(a)
        if CUPY_IMPORTED and len(raw_args) > 1:  # host constants beside GPU arrays
            raw_args = arrays_to_device(raw_args)
        if _BFLOAT16 and not cls.is_view and _has_bfloat16(raw_args):
            # bfloat16 (once cr.bfloat16 was first used, dtypes.py): computed in float32
            out = run_in_float32(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        if record:
            link_inputs(ctx, args)
            if cls._user:
                ctx._non_tensor_args = tuple(
                    i for i, a in enumerate(args) if not isinstance(a, Tensor)
                )
        else:
            ctx.needs_input_grad = (False,) * len(args)
        passed = None  # a user Function's outputs that are not Tensors (returned as they are)
        if cls.raw:
            try:
                if _META and has_meta(raw_args):  # once any meta tensor exists (meta/)
                    out = meta_forward(cls, ctx, args, raw_args, kwargs)
                else:
                    out = cls.forward(ctx, *raw_args, **kwargs)
            except RuntimeWarning as w:  # NumPy's FP warning as an error: see autograd/ieee.py
                out = rerun_quietly(w, cls.forward, ctx, *raw_args, **kwargs)
        else:
            state.grad_enabled = False
            try:  # composed of ops: each op quiets its own NumPy warnings (see ieee.py)
                if cls._separate_ctx:  # forward(*args), then setup_context(ctx, args, out)
                    out = cls.forward(*args)
                    cls.setup_context(ctx, args, out)
                else:
                    out = cls.forward(ctx, *args, **kwargs)
            finally:
                state.grad_enabled = grad_on
            if cls._user:
                if ctx._saved:
                    check_user_saved(ctx._saved)
                if type(out) is tuple:
                    out, passed = pass_non_tensors(out)
                elif not isinstance(out, Tensor):
                    return out  # PyTorch returns a lone non-Tensor output as it is
        if type(out) is tuple:
            multi = True
            raw_outs = out
            outs = tuple(_array(o) for o in out)
        else:
            multi = False
            raw_outs = (out,)
            outs = (out if type(out) is _ndarray else _array(out),)
        if state.anomaly:
            check_forward_outputs(cls, outs)
        if LAYOUT_MARKS:  # relu(conv(x)), y[:, 1:]: the mark goes on (_layout_marks.py)
            carry_input_marks(outs, raw_args, cls, kwargs)
        non_diff = ctx._non_diff
        if not multi and non_diff is None:
            o = outs[0]
            kind = o.dtype.kind
            req = record and (kind in "fV" or (kind == "c" and check_complex(ctx, cls)))
            results = [Tensor._make(o, req, ctx if req else None, 0)]
        else:
            results = []
            for i, o in enumerate(outs):
                kind = o.dtype.kind
                req = (
                    record
                    and (kind in "fV" or (kind == "c" and check_complex(ctx, cls)))
                    and (non_diff is None or id(o) not in non_diff)
                )
                results.append(Tensor._make(o, req, ctx if req else None, i))
        if ctx._dirty is not None:  # a user Function's mark_dirty: the output is the input
            adopt_dirty(ctx, raw_outs, results, record)
        if cls.is_view or multi or outs[0].base is not None:
            share_view_versions(ctx, args, outs, results, grad_on)
        if record:
            _link_outputs(ctx, args, outs, results, multi, raw_outs, state)
        if forward_ad:
            forward_tangents(ctx, cls, args, outs, results, kwargs)
        if passed is not None:
            ctx._passed_outputs = frozenset(passed)  # their gradient stays None (engine)
            for i, o in passed.items():
                results[i] = o
        return tuple(results) if multi else results[0]


def _apply_with_bound_args(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``apply`` of a setup_context-style Function: the arguments bound to ``forward``'s
    signature with defaults filled in (all positional, as PyTorch passes them to
    ``setup_context``), then the ordinary ``Function.apply``."""
    bound = inspect.signature(cls.forward).bind(*args, **kwargs)
    bound.apply_defaults()
    return Function.apply.__func__(cls, *bound.args)


def _array(o: Any) -> Any:
    """Op outputs are arrays: unwrap Tensors, turn NumPy scalars into 0-d arrays."""
    if isinstance(o, Tensor):
        return o._data
    if isinstance(o, (_np.generic, int, float, bool)):
        return _np.asarray(o)
    return o


def _link_outputs(
    ctx: Node, args: tuple, outs: tuple, results: list, multi: bool, raw_outs: tuple, state: Any
) -> None:
    """After forward: the node's PyTorch class name, output metadata, saved values with
    their versions (handed to the thread's ``saved_tensors_hooks`` pack hook, if one is
    set), anomaly trace."""
    node_type = ctx._forward_cls.__dict__.get("_node_type")  # a fixed name's class, once
    if node_type is not None:  # known: set here, one call less (-0.05 us)
        ctx.__class__ = node_type
    else:
        name_node_type(ctx)
    if multi:
        ctx._out_meta = tuple((o.shape, o.dtype) for o in outs)
    saved = ctx._saved
    if saved:  # (a list, not a generator: -0.08 us)
        ctx._saved_values = tuple([classify(s, args, outs, results, raw_outs) for s in saved])
        if Tensor._inference_seen:  # False until some thread enters inference_mode
            check_saved_values(ctx._forward_cls.__name__, ctx._saved_values)
        if ctx.copy_saved_inputs:
            wanted = {id(args[i]) for i in ctx.copy_saved_inputs if isinstance(args[i], Tensor)}
            keep_private_copies(ctx, lambda t: id(t) in wanted)
        if state.saved_hooks is not None:
            pack_saved_values(ctx, results, state)
    if state.anomaly:
        ctx._trace = traceback.extract_stack()[:-3]


class _SavedCopy(Function):
    """The recorded copy behind ``ctx.copy_saved_inputs``: new memory, gradient passed
    through (so a double backward reaches the original input, leaf or not)."""

    raw = True
    node_name = "CloneBackward0"
    complex_grad = True  # the identity is right for complex gradients too

    @staticmethod
    def forward(ctx, x):
        if type(x) is _np.ndarray and not x.flags.c_contiguous:
            return like_layout(x, x, copy=True)  # PyTorch's clone keeps x's strides (session 47)
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return t


def keep_private_copies(node: Node, wanted: Callable[[Tensor], bool]) -> None:
    """Replace the saved inputs of ``node`` for which ``wanted(tensor)`` holds by private
    recorded copies taken now, so that modifying those tensors in place later neither raises
    nor changes the gradient (``ctx.copy_saved_inputs``; the old value of a tensor an in-place
    op overwrites, PyTorch's ``original_self``)."""
    node._saved_values = tuple(
        SavedInput(_SavedCopy.apply(e.tensor), 0, e.position)
        if type(e) is SavedInput and wanted(e.tensor)
        else e
        for e in node._saved_values
    )


def pack_saved_values(node: Node, results: list, state: Any) -> None:
    """Hand each saved array of ``node`` to the thread's ``saved_tensors_hooks`` pack hook
    and keep only what it returns (:class:`SavedPacked`, see :func:`.saved.pack`)."""
    pack_hook, unpack_hook = state.saved_hooks
    node._saved_values = tuple(
        pack(e, pack_hook, unpack_hook, node, results) for e in node._saved_values
    )
    node._saved = None  # the raw values are the hooks' business now


def repack_private_copy(node: Node, entry: SavedPacked) -> SavedPacked:
    """A packed saved value whose memory an in-place op is about to overwrite: unpack it,
    copy it (recorded for an input, as ``keep_private_copies`` does) and pack the copy with
    the thread's hooks (PyTorch packs the in-place op's ``original_self``, a copy)."""
    t = node._unpack(entry)
    if entry.role == "input":
        copy = _SavedCopy.apply(t)
        fresh = SavedInput(copy, copy._vc[0], entry.position)
    else:
        fresh = SavedConstant(t._data.copy())
    hooks = LOCAL.state.saved_hooks  # the in-place op runs inside the hooks that packed entry
    return fresh if hooks is None else pack(fresh, hooks[0], hooks[1], node, [])


class _UnpackedLeaf(Function):
    """An unpacked saved leaf whose array is not the leaf's own (a pack hook copied or
    moved it): the array, recorded as an identity of the leaf, so that a backward written
    with Tensor ops still sends its gradient to the leaf under ``create_graph``."""

    raw = True
    node_name = "AliasBackward0"
    complex_grad = True

    @staticmethod
    def forward(ctx, leaf, array):
        return array

    @staticmethod
    def backward(ctx, grad):
        return grad, None

    @staticmethod
    def jvp(ctx, t, _):
        return t


_node.rebind_leaf = _UnpackedLeaf.apply


def once_differentiable(fn: Any) -> Any:
    """Mark a backward that cannot be differentiated again (PyTorch's decorator).

    Use it on the ``backward`` staticmethod, as in PyTorch::

        @staticmethod
        @once_differentiable
        def backward(ctx, grad): ...

    (or on the whole Function class). The backward then runs with graph recording off, and
    a double backward (``create_graph=True`` through it, then backward again) raises a clear
    error instead of silently returning zero.
    """
    if isinstance(fn, type) and issubclass(fn, Function):
        fn.differentiable_backward = False
        return fn
    if isinstance(fn, staticmethod):
        raise TypeError(
            "once_differentiable: put @staticmethod above @once_differentiable "
            "(decorate the plain backward function)"
        )
    if not callable(fn):
        raise TypeError(
            f"once_differentiable: expected a backward function or a Function "
            f"class, got {type(fn).__name__}"
        )

    @functools.wraps(fn)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        state = current()
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            return fn(ctx, *grads)
        finally:
            state.grad_enabled = prev

    wrapper._once_differentiable = True
    return wrapper
