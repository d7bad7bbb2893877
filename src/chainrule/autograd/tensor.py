"""``Tensor``: an array, an optional gradient, and the node that created it.

The class holds state and the autograd entry points (``backward``, hooks, ``detach``);
every mathematical method is an op from :mod:`chainrule.ops`, bound onto the class when
the package is imported, so this file stays about *what a tensor is*. The members of one
concern each are mixins beside it: ``tensor_properties.py`` (shape, dtype, device, view
and version queries), ``tensor_conversions.py``, ``tensor_requires_grad.py``,
``tensor_backward.py`` and ``tensor_legacy_init.py`` (the legacy ``Tensor(...)`` forms).
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

from .. import autograd as _autograd  # the package (for its engine), bound at import time
from .. import printing as _printing
from .._layout_marks import LAYOUT_MARKS
from .._layout_relay import before_alias
from ..backend import to_device
from .state import LOCAL, InferenceMark, data_counter
from .tensor_backward import TensorBackward
from .tensor_conversions import TensorConversions
from .tensor_data import check_requires_grad_flag, to_array
from .tensor_legacy_init import TensorLegacyInit
from .tensor_pickle import reduce_tensor, shallow_copy
from .tensor_properties import TensorProperties
from .tensor_requires_grad import TensorRequiresGrad
from .torch_function import default_torch_function, overrides_new


class Tensor(
    TensorProperties, TensorBackward, TensorConversions, TensorRequiresGrad, TensorLegacyInit
):
    """A multi-dimensional array that can record the ops applied to it.

    Attributes:
        _data: the underlying NumPy (or CuPy) array (ops read and write it directly).
        data: PyTorch's ``.data``: a detached Tensor sharing the storage (a property).
        grad: the accumulated gradient (a Tensor) after ``backward``, or None.
        requires_grad: whether ops on this tensor are recorded for backward.
        grad_fn: the graph node that produced this tensor (None for leaves).
    """

    __slots__ = (
        "_data",
        "_grad",
        "_rg",  # requires_grad's value (the property checks what user code assigns)
        "_grad_fn",  # grad_fn's value (the property re-takes a stale view's on a read)
        "_output_nr",
        "_vc",
        "_hooks",
        "_fw",
        "_view",
        "__weakref__",
        "__dict__",  # user attributes (``t.name = ...``), allowed on PyTorch's tensors too
    )
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators
    _inference_seen = False  # set for good once any thread enters inference_mode (inference.py)
    _subclass_callbacks = []  # noqa: RUF012 - called with each new subclass (multiprocessing)
    # PyTorch's protocol for subclasses (autograd/torch_function.py): ops on a subclass
    # return the subclass; a subclass's own classmethod of this name sees every call.
    __torch_function__ = classmethod(default_torch_function)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Tell the registered callbacks about a new Tensor subclass (``nn.Parameter``, a
        user's class): ``multiprocessing.reduction.ForkingPickler`` looks reducers up by
        exact type, so :mod:`chainrule.multiprocessing` registers each class as it appears."""
        super().__init_subclass__(**kwargs)
        for callback in Tensor._subclass_callbacks:
            callback(cls)

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        """A new instance; built here already when a subclass's own ``__new__`` calls
        ``super().__new__(cls, data)`` (PyTorch's subclass pattern, whose ``__init__`` then
        only adds attributes), otherwise by ``__init__`` as usual."""
        self = object.__new__(cls)
        if cls is not Tensor and args and overrides_new(cls):
            self._legacy_init(*args, **kwargs)
        return self

    @staticmethod
    def _make_subclass(cls: type, data: Tensor, require_grad: bool = False) -> Tensor:
        """``torch.Tensor._make_subclass``: a leaf of the subclass ``cls`` sharing
        ``data``'s memory (how ``Parameter``-like subclasses build themselves in
        ``__new__``)."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError(f"_make_subclass: cls must be a subclass of Tensor, got {cls!r}")
        if not isinstance(data, Tensor):
            raise TypeError(f"_make_subclass: data must be a Tensor, got {type(data).__name__}")
        self = object.__new__(cls)
        self._init_leaf(data._data, require_grad)
        return self

    def __init__(self, *args: Any, device: Any = None, **kwargs: Any):
        """PyTorch's legacy constructor: ``cr.Tensor(data)`` makes a tensor of the *default*
        dtype (float32) whatever the data's type, ``cr.Tensor(2, 3)`` / ``cr.Tensor(3)`` an
        uninitialised one of that size, and ``cr.Tensor(t)`` an alias of tensor ``t`` (same
        storage and dtype, a view on the autograd graph: ``AliasBackward0``). Only ``device=``
        is accepted by keyword (``dtype=`` / ``requires_grad=`` raise TypeError, as in
        PyTorch). ``cr.tensor(data)`` infers the dtype instead; inside the framework
        :meth:`_new` does that. For a subclass with its own ``__new__`` (which built the
        instance) it does nothing, as PyTorch's."""
        if type(self) is not Tensor and overrides_new(type(self)):
            return
        self._legacy_init(*args, device=device, **kwargs)

    @classmethod
    def _new(
        cls, data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
    ) -> Tensor:
        """A leaf from ``data`` with ``cr.tensor``'s dtype inference (integers stay int64,
        NumPy arrays keep their dtype): the framework's own constructor."""
        arr = to_array(data, dtype)
        if device is not None:
            arr = to_device(arr, device)
        t = object.__new__(cls)
        t._init_leaf(arr, requires_grad)
        return t

    def _init_leaf(self, arr: Any, requires_grad: bool) -> None:
        """Set up a user-created (leaf) tensor around ``arr``; subclasses reuse it."""
        self._data = arr
        self._grad = None
        self._grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._hooks = None
        self._fw = None
        self._view = None
        self._rg = False
        if requires_grad is not False:
            check_requires_grad_flag(requires_grad)
            self._requires_grad_(True)

    @classmethod
    def _make(cls, data: Any, requires_grad: bool, grad_fn: Any, output_nr: int) -> "Tensor":
        """Fast constructor for op results (no conversion, no checks)."""
        t = object.__new__(Tensor)
        t._data = data
        t._grad = None
        t._rg = requires_grad
        t._grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = [0]
        t._hooks = None
        t._fw = None
        t._view = None
        return t

    @property
    def _fw_tangent(self) -> Any:
        """The forward-mode tangent (an array) of this tensor in the active level, or None.

        Stored with the :class:`~.state.ForwardLevel` it was set in (``_fw`` is
        ``(level, array, tensor_or_None)``); a tangent whose level has ended reads as None and
        is dropped, so tensors that outlive a ``jvp`` or ``dual_level`` carry nothing into the
        next one. The third entry is the Tensor ``make_dual`` was given, which ``unpack_dual``
        returns as is (PyTorch's ``unpack_dual(make_dual(x, t)).tangent is t``)."""
        fw = self._fw
        if fw is None:
            return None
        if fw[0].alive:
            return fw[1]
        self._fw = None
        return None

    @_fw_tangent.setter
    def _fw_tangent(self, value: Any) -> None:
        if value is None:
            self._fw = None
            return
        level = LOCAL.state.fw_level
        if level is None:
            raise RuntimeError(
                "internal error: a forward-mode tangent was set outside any forward AD level "
                "(cr.func.jvp or autograd.forward_ad.dual_level)"
            )
        self._fw = (level, value, None)

    @property
    def data(self) -> Tensor:
        """This tensor's values as a new leaf Tensor that shares its storage (PyTorch's
        ``.data``): detached, ``requires_grad=False``, with its own version counter, so in-place
        writes through it change this tensor's values without autograd noticing them
        (``p.data.add_(g, alpha=-lr)``, ``m.weight.data.normal_()``). Assigning a Tensor to it
        (``p.data = t``) replaces this tensor's storage; shape and dtype may change. Inside the
        framework the array itself is ``_data``; ``.numpy()`` is the public way to get it.
        Its array is a new NumPy view of the same memory, as ``detach()``'s is (saved arrays
        are matched to an op's inputs by identity: ``x * x.data`` must not take one for the
        other)."""
        if LAYOUT_MARKS:  # a convolution's result: row-major before it is aliased
            before_alias(self)  # (_layout_relay.py: else a relayout would part the two)
        t = Tensor._make(self._data.view(), False, None, 0)
        if type(self._vc) is not list or type(t._vc) is not list:
            t._vc = data_counter(self._vc, t._vc)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(
                f"Tensor.data: can only assign a Tensor, got "
                f"{type(value).__name__} (wrap arrays with cr.as_tensor)"
            )
        if self.requires_grad and value._data.dtype.kind not in "fcV":  # V: bfloat16
            raise RuntimeError(
                "data set to a tensor that requires gradients must be floating point or "
                f"complex dtype (Tensor.data: got {value.dtype})"
            )
        self._data = value._data

    @property
    def grad_fn(self) -> Any:
        """The node that made this tensor (None: a leaf). A view changed in place since its
        history was taken gets it re-taken on this read, as in PyTorch
        (:func:`.view_replay.stale_view_grad_fn`); hot paths read the slot ``_grad_fn``."""
        view = self._view
        if view is not None and view.version != self._vc[0]:
            return _autograd.view_replay.stale_view_grad_fn(self)
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node: Any) -> None:
        self._grad_fn = node

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (a Tensor of this tensor's shape and dtype), or None.

        Reading it on a non-leaf that does not retain its gradient warns, as PyTorch does:
        backward never fills it, which is a common silent mistake."""
        node = self._grad_fn  # (the slot, as PyTorch's C++ is_leaf: no re-take here)
        if node is not None and self._grad is None and not self.retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(); to have "
                "it filled for a non-leaf Tensor, call .retain_grad() on it, or read the "
                "gradient of a leaf instead",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad "
                    f"of type {type(value).__name__}"
                )
            if value is self:
                raise RuntimeError("can't assign Variable as its own grad")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: the tensor "
                    f"has shape {tuple(self._data.shape)}, the grad "
                    f"{tuple(value._data.shape)}"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"assigned grad has data of a different type: the tensor is "
                    f"{self._data.dtype}, the grad {value._data.dtype}"
                )
        self._grad = value

    # ------------------------------------------------------------------ autograd
    def detach(self) -> "Tensor":
        """A tensor sharing this data, cut from the graph.

        Its array is a new NumPy view of the same memory, never the same array object: a
        raw op's saved arrays are matched to its inputs by identity (``autograd/saved.py``),
        and ``x * x.detach()`` must not take the detached operand for ``x``."""
        if LAYOUT_MARKS:  # a convolution's result: row-major before it is aliased
            before_alias(self)  # (_layout_relay.py: else a relayout would part the two)
        t = Tensor._make(self._data.view(), False, None, 0)
        vc = self._vc
        t._vc = vc if type(vc) is list or LOCAL.state.inference else InferenceMark((0,))
        return t

    def is_inference(self) -> bool:
        """Whether this is an inference tensor: made inside ``inference_mode()``, or a view or
        ``detach()`` of one (:mod:`chainrule.autograd.inference`)."""
        return isinstance(self._vc, InferenceMark)

    # ------------------------------------------------------------------ python
    def __repr__(self, *, tensor_contents: str | None = None) -> str:
        """PyTorch's ``repr``: ``tensor([...], dtype=..., grad_fn=<...>)``, laid out as
        ``cr.set_printoptions`` says; ``tensor_contents`` (a subclass's ``__repr__`` passes
        it) is printed in place of the values, the suffixes kept."""
        tangent = self._fw_tangent  # a dual tensor (forward AD) shows its tangent, as torch:
        # f"{tangent}", so a 0-d one is its Python number (``tangent=0.5``)
        shown = None if tangent is None else format(Tensor._make(tangent, False, None, 0))
        return _printing.tensor_repr(self, shown, tensor_contents)

    __hash__ = object.__hash__

    def __reduce__(self) -> tuple:
        """``pickle``: the values, class, requires_grad and device, as PyTorch pickles a
        tensor (``autograd/tensor_pickle.py``); files go through ``cr.save``."""
        return reduce_tensor(self)

    def __copy__(self) -> "Tensor":
        """``copy.copy``: a new tensor sharing this one's memory, as PyTorch's."""
        return shallow_copy(self)

    def __deepcopy__(self, memo: dict) -> "Tensor":
        """``copy.deepcopy``: a leaf with its own copy of the data (and of ``grad``), keeping
        the class (a Parameter stays a Parameter). Graph outputs refuse, as in PyTorch."""
        if id(self) in memo:
            return memo[id(self)]
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) "
                "support the deepcopy protocol; call .detach() first"
            )
        new = object.__new__(type(self))
        new._init_leaf(self._data.copy(), self.requires_grad)
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = copy.deepcopy(self.grad, memo)
        extra = getattr(self, "__dict__", None)
        if extra:
            new.__dict__.update(copy.deepcopy(extra, memo))
        return new
