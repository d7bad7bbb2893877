"""``Node``: a recorded op application, which is both the graph node and the ``ctx`` of its
rules (as in PyTorch).

``ctx.needs_input_grad`` says which inputs want a gradient (known before ``forward`` runs,
so an op saves only what its backward will read), ``ctx.save_for_backward`` stores those
values, and ``ctx.saved_tensors`` gives them back as Tensors connected to the graph (so a
backward written with Tensor ops is itself differentiable), after checking that none was
modified in place since. ``Function.apply`` (``function.py``) creates one per op call.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as _np

from .._type_names import type_name
from .accumulate_grad import AccumulateGrad, accumulate_grad_node
from .saved import SavedConstant, SavedInput, SavedOutput, SavedPacked, memory_root, raw_value
from .saved_fields import (
    _ENGINE_SAVED,
    _is_tensor_spec,
    _raw_field,
    _tensor_field,
    saved_attribute_names,
    saved_fields,
)
from .saved_view import SavedTensor, saved_index
from .state import LOCAL
from .tensor import Tensor
from .tensor_backward import _RemovableHandle

__all__ = ["AccumulateGrad", "Node", "is_builtin", "name_node_type", "public_view"]

# Set by function.py (which imports this module): ``(leaf, array) -> Tensor``, the array
# recorded as an identity of ``leaf``, so that an unpacked saved leaf still sends its
# gradient to the leaf under ``create_graph``.
rebind_leaf: Callable | None = None


class Node:
    """A recorded op application: the graph node and the ``ctx`` of its rules.

    Public attributes (read by :mod:`chainrule.autograd.graph` and its users):
        _forward_cls: the Function subclass (PyTorch's name for it on a custom Function's
            node; a user's ``ctx.fn`` is theirs).
        next_edges: per positional input: None (no gradient), ``(Node, output_nr)`` for an
            op result, or the leaf Tensor itself.
        input_meta: per positional input: ``(shape, dtype)`` or None.
        needs_input_grad: per positional input: whether it wants a gradient (set before
            ``forward`` runs).
        create_graph: True while the engine records the backward pass (set by the engine
            before each backward rule runs), unless the Function's own ``forward`` set
            ``ctx.create_graph`` itself (PyTorch's ctx has no such attribute, so a user's
            value is theirs and is kept).
    """

    # Class-level defaults keep construction cheap; instances set only what they use.
    _forward_cls: type = None  # the Function subclass (PyTorch's name for it)
    next_edges: tuple = ()
    input_meta: tuple = ()
    needs_input_grad: tuple = ()
    _create_graph = False  # written by the engine (rules.call_rule)
    _user_create_graph: Any = None  # a Function's own ``ctx.create_graph`` (a 1-tuple)
    _complex = False  # a complex tensor met this op (engine: conjugate convention)
    _saved: tuple | None = None  # what forward passed to save_for_backward
    _saved_values: tuple | None = None  # the same, as SavedInput/SavedOutput/SavedConstant
    _saved_fw: tuple | None = None  # what a user Function's forward passed to save_for_forward
    _in_jvp = False  # True while a user Function's jvp runs (saved_tensors = _saved_fw)
    _freed = False
    _tensor_hooks: dict | None = None
    _pre_hooks: list | None = None  # register_prehook: fn(grad_outputs)
    _post_hooks: list | None = None  # register_hook: fn(grad_inputs, grad_outputs)
    _retain: dict | None = None
    _out_meta: tuple | None = None
    _passed_outputs: frozenset = frozenset()  # a user Function's non-Tensor outputs
    _out_tangents: tuple | None = None  # the outputs' (level, tangent, ...) entries
    _trace: list | None = None
    _non_diff: set | None = None
    _dirty: tuple | None = None  # mark_dirty: inputs modified in place and returned
    _non_tensor_args: tuple = ()  # a user Function's forward arguments that are not Tensors
    copy_saved_inputs: tuple = ()  # input positions saved as private copies (see below)
    materialize_grads = True  # outputs without a gradient get zeros (set_materialize_grads)
    primals: tuple = ()
    out: Any = None
    _metadata: dict | None = None

    @property
    def create_graph(self) -> Any:
        """True while the engine records the backward pass (``create_graph=True``, or forward
        mode over reverse), so a fused rule takes its differentiable path."""
        own = self._user_create_graph
        return self._create_graph if own is None else own[0]

    @create_graph.setter
    def create_graph(self, value: Any) -> None:
        self._user_create_graph = (value,)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node (empty at first), as
        PyTorch's ``Node.metadata``."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def save_for_backward(self, *values: Any) -> None:
        """Keep inputs/outputs (arrays or Tensors) for the backward rule. Everything a
        backward reads that may be an input or output (or a view of one) must go through
        here, so that modifying it in place afterwards is detected.

        An op whose PyTorch counterpart keeps its own copies of some inputs (so that PyTorch
        allows modifying them in place after forward) sets ``ctx.copy_saved_inputs`` to
        those input positions: they are then saved as private copies that keep the inputs'
        history (a recorded copy), so a later in-place change neither raises nor alters the
        gradient."""
        self._saved = values

    def save_for_forward(self, *values: Any) -> None:
        """Keep tensors for a user Function's ``jvp`` rule (PyTorch's ``save_for_forward``):
        inside ``jvp``, ``ctx.saved_tensors`` returns these."""
        self._saved_fw = values

    @property
    def saved_tensors(self) -> tuple:
        """The saved values as Tensors, checked for in-place modification since forward
        (inside a user Function's ``jvp``: what ``save_for_forward`` kept)."""
        if self._in_jvp:
            return tuple(_as_tensor(v) for v in (self._saved_fw or ()))
        if self._freed:
            self._raise_freed()
        entries = self._saved_values
        if entries is None:
            return tuple(_as_tensor(v) for v in (self._saved or ()))
        return tuple(self._unpack(e) for e in entries)

    @property
    def saved_variables(self) -> tuple:
        """PyTorch's deprecated name of :attr:`saved_tensors` (older custom Functions, e.g.
        EfficientNet's ``SwishImplementation``, read ``ctx.saved_variables[0]``): the same
        values, with PyTorch's ``DeprecationWarning``."""
        warnings.warn(
            "'saved_variables' is deprecated; use 'saved_tensors'", DeprecationWarning, stacklevel=2
        )
        return self.saved_tensors

    def saved_tensor(self, i: int) -> Any:
        """Saved value ``i`` alone, checked like :attr:`saved_tensors` (a rule that reads only
        some of what it saved still has the rest checked this way, one by one)."""
        if self._freed or self._saved_values is None:
            return self.saved_tensors[i]
        return self._unpack(self._saved_values[i])

    @property
    def saved_arrays(self) -> tuple:
        """The saved values as raw arrays (for jvp rules and non-differentiable helpers)."""
        if self._freed:
            self._raise_freed()
        if self._saved is None and self._saved_values is not None:  # packed by hooks
            return tuple(
                self._unpack(e)._data if type(e) is SavedPacked else raw_value(e)
                for e in self._saved_values
            )
        return tuple(v._data if isinstance(v, Tensor) else v for v in (self._saved or ()))

    @property
    def saved_values(self) -> tuple:
        """What this node saved for backward, as :class:`SavedInput` / :class:`SavedOutput` /
        :class:`SavedConstant` entries (None where None was saved); empty once freed."""
        return self._saved_values or ()

    @property
    def is_freed(self) -> bool:
        """True once a backward without ``retain_graph`` released the saved values."""
        return self._freed

    @property
    def num_outputs(self) -> int:
        """How many outputs the op produced."""
        return len(self._out_meta) if self._out_meta is not None else 1

    def output_meta(self, nr: int) -> tuple | None:
        """``(shape, dtype)`` of output ``nr`` where recorded (multi-output ops), else None."""
        return self._out_meta[nr] if self._out_meta is not None else None

    def __getattr__(self, name: str) -> Any:
        """``_saved_<name>`` / ``_raw_saved_<name>``: one saved value by PyTorch's name (see
        :func:`saved_fields` and :mod:`.saved_view`); only called for names the node does
        not have, so recording an op pays nothing for this view."""
        raw = name.startswith("_raw_saved_")
        if raw or name.startswith("_saved_"):
            key = name[11:] if raw else name[7:]
            fields = saved_fields(self)
            if fields is not None:
                if key in fields:
                    spec = fields[key]
                    if _is_tensor_spec(spec):  # freed: checked there (an empty slot is None)
                        if raw:
                            return _raw_field(self, spec)
                        return _tensor_field(self, spec)
                    if not raw:
                        return spec(self)
            else:
                if self._freed:
                    self._raise_freed()
                i = saved_index(self, key)
                if i is not None:
                    return SavedTensor(self, i) if raw else self.saved_tensor(i)
                if not raw and key in getattr(self._forward_cls, "saved_input_names", ()):
                    return None  # a slot the op declares but did not fill (mm's, as PyTorch)
        raise AttributeError(f"'{self.name()}' object has no attribute '{name}'")

    def __dir__(self) -> list:
        """The node's attributes with PyTorch's ``_saved_<name>`` / ``_raw_saved_<name>`` (what
        torchviz's ``make_dot(show_saved=True)`` walks), without the engine's own
        ``_saved_values`` / ``_saved_fw`` stores."""
        names = {n for n in super().__dir__() if n not in _ENGINE_SAVED}
        names.update(saved_attribute_names(self))
        return sorted(names)

    def _unpack(self, entry: Any) -> Any:
        kind = type(entry)
        if kind is SavedInput:
            tensor = entry.tensor
            if tensor._vc[0] != entry.version:
                node = tensor.grad_fn  # (PyTorch names the op that made it as it is now)
                producer = None if node is None else (node, tensor._output_nr)
                self._raise_modified(tensor._data, tensor._vc[0], entry.version, producer)
            return tensor
        if kind is SavedOutput:  # rebuilt, so no reference cycle
            vc = entry.version_counter
            if vc[0] != entry.version:
                self._raise_modified(entry.array, vc[0], entry.version, (self, entry.index))
            return self._output_tensor(entry.array, entry.index)
        if kind is SavedConstant:
            vc = entry.version_counter
            if vc is not None and vc[0] != entry.version:
                self._raise_modified(entry.value, vc[0], entry.version)
            return _as_tensor(entry.value)
        if kind is SavedPacked:
            return self._unpack_packed(entry)
        return entry

    def _unpack_packed(self, entry: SavedPacked) -> Tensor:
        """Call the ``saved_tensors_hooks`` unpack hook and reconnect its tensor to the graph
        where the saved value was: an output of this node, an input's producer or leaf, or
        nowhere (a constant)."""
        state = LOCAL.state
        hooks, state.saved_hooks = state.saved_hooks, None  # what it saves is not packed
        try:
            t = entry.unpack_hook(entry.packed)
        finally:
            state.saved_hooks = hooks
        if not isinstance(t, Tensor):
            raise TypeError(
                "Output of saved tensor unpack_hook expected to be a Tensor but got result of "
                f"type {type(t).__name__}"
            )
        data = t._data
        if data.shape != entry.shape or data.dtype != entry.dtype:
            raise RuntimeError(
                f"{self.name()}: the saved_tensors_hooks unpack_hook returned a tensor of shape "
                f"{tuple(data.shape)} and dtype {data.dtype}, but the saved tensor had shape "
                f"{tuple(entry.shape)} and dtype {entry.dtype}; unpack_hook(pack_hook(t)) must "
                "give back t's size, dtype and values"
            )
        vc = entry.version_counter
        if vc is not None and vc[0] != entry.version and entry.memory is not None:
            if entry.memory() is memory_root(data):  # it still reads the modified memory
                link = entry.link if entry.role == "input" and type(entry.link) is tuple else None
                link = (self, entry.link) if entry.role == "output" else link
                self._raise_modified(data, vc[0], entry.version, link)
        role, link = entry.role, entry.link
        if role == "output":
            return self._output_tensor(data, link)
        if role == "input" and link is not None:
            if type(link) is tuple:  # a non-leaf input: its producer's output
                return Tensor._make(data, True, link[0], link[1])
            return link if data is link._data else rebind_leaf(link, data)
        return Tensor._make(data, False, None, 0)

    def _output_tensor(self, array: Any, index: int) -> Tensor:
        """Output ``index`` of this node rebuilt around ``array`` (so no reference cycle),
        with its forward-mode tangent where one is alive (forward over reverse)."""
        t = Tensor._make(array, True, self, index)
        if self._out_tangents is not None:
            fw = self._out_tangents[index]
            if fw is not None and fw[0].alive:
                t._fw = fw
        return t

    def _raise_freed(self) -> None:
        raise RuntimeError(
            "Trying to backward through the graph a second time (or directly access saved "
            "tensors after they have already been freed). Saved intermediate values of the "
            "graph are freed when you call .backward() or autograd.grad(). Specify "
            "retain_graph=True if you need to backward through the graph a second time or if "
            "you need to access saved tensors after calling backward."
        )

    def _raise_modified(
        self, value: Any, now: int, expected: int, producer: tuple | None = None
    ) -> None:
        """PyTorch's error for a saved value modified in place since it was saved, word for
        word: its type and size, the op that produced it (``which is output 0 of Mul``, the
        node's name without ``Backward0``) and the hint that suits the anomaly mode."""
        from .anomaly import is_anomaly_enabled  # noqa: PLC0415 - only on this error path

        data = getattr(value, "_data", value)
        try:
            kind = type_name(data.dtype)
        except TypeError:  # no legacy type name (complex32...): the dtype itself
            kind = str(data.dtype)
        what = f"[{kind} {list(data.shape)}]"
        if producer is not None:
            node, index = producer
            name = re.sub(r"Backward\d*$", "", node.name().rsplit("::", 1)[-1])
            what += f", which is output {index} of {name},"
        hint = (
            "the backtrace further above shows the operation that failed to compute its "
            "gradient. The variable in question was changed in there or anywhere later. Good "
            "luck!"
            if is_anomaly_enabled() or getattr(self, "_trace", None)  # (the rule runs with it off)
            else "enable anomaly detection to find the operation that failed to compute its "
            "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
        )
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: {what} is at version {now}; expected version {expected} "
            f"instead. Hint: {hint}"
        )

    def set_materialize_grads(self, value: bool) -> None:
        """Whether the outputs that received no gradient reach ``backward`` as zeros (the
        default) or as None (``False``: the rule handles None itself), as in PyTorch."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *args: Any) -> None:
        """Declare inputs that ``forward`` modified in place (PyTorch's ``ctx.mark_dirty``):
        each must also be returned; the output is then that input, rebased onto this node
        (see :mod:`.mark_dirty`)."""
        self._dirty = args

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Declare outputs (e.g. indices) that never carry a gradient."""
        self._non_diff = {id(o._data if isinstance(o, Tensor) else o) for o in outputs}

    def name(self) -> str:
        """PyTorch's name for this node (``'MulBackward0'``; a user Function ``MyFn`` gives
        ``'MyFnBackward'``): see :func:`public_view`."""
        return public_view(self)[0]

    def _register_tensor_hook(self, nr: int, hook: Callable) -> list:
        """A hook of output ``nr`` (``Tensor.register_hook``); returns its hook list."""
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
        hooks = self._tensor_hooks.setdefault(nr, [])
        hooks.append(hook)
        return hooks

    def register_hook(self, hook: Callable) -> _RemovableHandle:
        """Call ``hook(grad_inputs, grad_outputs)`` after this node's backward rule; a
        returned tuple (one Tensor or None per input, shapes kept) replaces ``grad_inputs``
        (PyTorch's ``Node.register_hook``)."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _RemovableHandle(self._post_hooks, hook)

    def register_prehook(self, hook: Callable) -> _RemovableHandle:
        """Call ``hook(grad_outputs)`` before this node's backward rule; a returned tuple
        (shapes kept) replaces ``grad_outputs`` (PyTorch's ``Node.register_prehook``)."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(hook)
        return _RemovableHandle(self._pre_hooks, hook)

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of the graph edges: one ``(node, output_nr)`` pair per tensor input
        of PyTorch's node (see :func:`public_view`), where ``node`` is the producing op's
        node, the leaf's :class:`AccumulateGrad` node, or None (no gradient flows there).
        The engine reads ``next_edges``; this view is for people walking the graph. A
        Function with ``public_edges(node)`` lists what that returns (``CopySlices``)."""
        fn = self._forward_cls
        if fn is not None and getattr(fn, "public_edges", None) is not None:
            return fn.public_edges(self)
        edges = self.next_edges
        slots = public_view(self)[1]
        meta = self.input_meta if slots is None else ()
        out = []
        for i in range(len(edges)) if slots is None else slots:
            e = edges[i] if i < len(edges) else None
            if e is None:
                # PyTorch lists this input, without a gradient: one its node always lists,
                # or one that required grad without an edge (a view made under no_grad)
                if slots is not None or (i < len(meta) and meta[i] is not None):
                    out.append((None, 0))
            elif type(e) is tuple:
                out.append(e)
            else:
                out.append((accumulate_grad_node(e), 0))
        return tuple(out)

    def __repr__(self) -> str:
        fn = self._forward_cls
        where = "" if fn is None or is_builtin(fn) else "chainrule.autograd.function."
        name = self.name().rpartition("::")[2]  # 'torch::autograd::CopySlices' -> CopySlices
        return f"<{where}{name} object at {hex(id(self))}>"


def public_view(node: Node) -> tuple[str, tuple[int, ...] | None]:
    """What ``name()`` and ``next_functions`` show for ``node``: PyTorch's node name and which
    positional inputs PyTorch's node lists, in its order (None: the inputs that receive a
    gradient, in argument order).

    An op states both through its Function's ``node_name`` class attribute, one of:

    * a string, PyTorch's name (``"ExpandBackward0"``); the listed inputs are then those
      that receive a gradient (an op's shape, dim and flag arguments are not listed);
    * a pair ``(name, inputs)``: ``inputs`` gives the positions PyTorch lists, those
      without a gradient shown as ``(None, 0)`` (``x * 2`` lists the scalar: PyTorch wraps
      it in a tensor), in PyTorch's order (``F.linear``'s ``AddmmBackward0`` lists bias,
      input, weight);
    * a function of the node returning either form, where PyTorch's name depends on the
      arguments (``SumBackward0`` for a full sum, ``SumBackward1`` with ``dim``); it reads
      what the op's ``forward`` kept on ``ctx`` and ``next_edges`` / ``input_meta``.

    Without one, a chainrule op is ``"<ClassName>Backward0"`` and a user's Function
    ``"<ClassName>Backward"``, as PyTorch names its own and users' nodes.
    """
    fn = node._forward_cls
    if fn is None:
        return "Backward0", None
    spec = getattr(fn, "node_name", None)
    if callable(spec):
        spec = spec(node)
    if spec is None:
        return f"{fn.__name__}Backward0" if is_builtin(fn) else f"{fn.__name__}Backward", None
    if type(spec) is str:
        return spec, None
    return spec[0], tuple(spec[1])


def is_builtin(fn: type) -> bool:
    """Whether ``fn`` is one of chainrule's own Functions (not a user's)."""
    return fn.__module__.startswith("chainrule.")


def _as_tensor(v: Any) -> Any:
    if isinstance(v, _np.generic):  # a NumPy scalar (ufuncs on 0-d arrays return these)
        v = _np.asarray(v)
    elif v is None or isinstance(v, (int, float, bool, complex)):
        return v  # Python scalars stay scalars (weak dtype promotion)
    if isinstance(v, Tensor):
        return v
    return Tensor._make(v, False, None, 0)


# ``type(t.grad_fn).__name__`` is PyTorch's node class name ('MulBackward0', a user Function
# ``MyFn`` gives 'MyFnBackward'; torchviz and user code read it): a recorded node's class is
# swapped, after its op's forward, for a Node subclass of that name (one per name, cached).
_TYPE_BY_NAME: dict[str, type] = {}


def _node_type(name: str) -> type:
    node_type = _TYPE_BY_NAME.get(name)
    if node_type is None:
        short = name.rpartition("::")[2]  # 'torch::autograd::CopySlices' -> CopySlices
        node_type = type(short, (Node,), {"__module__": Node.__module__, "__doc__": Node.__doc__})
        _TYPE_BY_NAME[name] = node_type
    return node_type


def name_node_type(node: Node) -> None:
    """Give a freshly recorded ``node`` the class named as PyTorch's node (see above); a
    Function whose ``node_name`` depends on the call is looked up per node."""
    fn = node._forward_cls
    node_type = fn.__dict__.get("_node_type", False)  # kept on the Function class itself
    if node_type is False:  # (not inherited: a subclass has its own name)
        dynamic = callable(getattr(fn, "node_name", None))
        node_type = None if dynamic else _node_type(public_view(node)[0])
        fn._node_type = node_type  # None: the name depends on the call
    node.__class__ = node_type if node_type is not None else _node_type(public_view(node)[0])
