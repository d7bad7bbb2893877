"""A registered operator: its state (``OpEntry``), how a call runs, and the objects that name it.

``OpEntry`` holds what the registration functions attach to an operator: the schema, the
kernels (one for every device, or one for ``"cpu"``), the fake function, the autograd formula
(``setup_context`` + ``backward``) and, for the ``Library`` API, a composite or autograd
kernel. A call (:meth:`OpEntry.call`):

1. checks the arguments against the schema (:mod:`.binding`);
2. runs a ``CompositeImplicitAutograd`` kernel as it is (its own ops are recorded) or an
   ``Autograd`` kernel (it handles autograd itself) if the ``Library`` API gave one;
3. otherwise runs the device kernel with grad off, through the operator's autograd Function
   when an input requires grad (:mod:`.autograd_function`), and checks the returns;
4. bumps the version counter of every tensor the schema declares mutated, as PyTorch does
   (a saved tensor modified this way then fails the backward's version check).

``OpOverloadPacket`` (``cr.ops.ns.name``) and ``OpOverload`` (``cr.ops.ns.name.default``) are
PyTorch's names for the operator; both call it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from .autograd_function import apply_autograd, make_autograd_function
from .binding import bind_arguments, check_outputs, tensors_of
from .registry import lookup
from .schema import FunctionSchema

__all__ = ["OpEntry", "OpOverload", "OpOverloadPacket"]


class OpEntry:
    """Everything registered for one operator ``ns::name``."""

    def __init__(
        self,
        ns: str,
        name: str,
        schema: FunctionSchema,
        func: Callable | None,
        device_types: tuple[str, ...] | None,
        check_alias: bool,
    ) -> None:
        self.ns, self.name, self.schema = ns, name, schema
        self.qualname = f"{ns}::{name}"
        self.func = func  # the function custom_op decorated (None for Library.define)
        self.kernels: dict[str | None, Callable] = {}
        if func is not None:
            for dev in device_types or (None,):
                self.kernels[dev] = func
        self.fake_fn: Callable | None = None
        self.backward_fn: Callable | None = None
        self.setup_context_fn: Callable | None = None
        self.composite_fn: Callable | None = None  # Library: CompositeImplicitAutograd
        self.autograd_kernel: Callable | None = None  # Library: Autograd
        self.check_alias = check_alias
        # Library ops with a backend kernel and no formula: recorded through the kernel's own
        # ops, with PyTorch's warning when the backward reaches them (its deprecated fallback)
        self.traced_fallback = not check_alias
        self.autograd_function = make_autograd_function(self)
        self.mutated = [i for i, a in enumerate(schema.arguments) if a.mutable]
        self.has_tensor_returns = any(r.base == "Tensor" for r in schema.returns)

    def _kernel(self, values: list) -> Callable:
        devices = {t.device.type for v in values for t in tensors_of(v)}
        device = devices.pop() if len(devices) == 1 else "cpu"
        kernel = self.kernels.get(device, self.kernels.get(None))
        if kernel is None:
            have = ", ".join(str(k).upper() for k in self.kernels if k is not None)
            raise NotImplementedError(
                f"Could not run '{self.qualname}' with arguments from the '{device.upper()}' "
                f"backend. '{self.qualname}' has no kernel for it; it is only available for "
                f"these backends: [{have}]. Register one with register_kernel or Library.impl."
            )
        return kernel

    def _split(self, values: list) -> tuple[list, dict]:
        pos = [v for v, a in zip(values, self.schema.arguments) if not a.kwarg_only]
        kw = {a.name: v for v, a in zip(values, self.schema.arguments) if a.kwarg_only}
        return pos, kw

    def _run_kernel(self, values: list, grad: bool = False) -> tuple:
        kernel = self._kernel(values)
        # PyTorch runs the kernel below autograd with grad mode off, where ``x.numpy()`` works
        # on an input that requires grad; the kernel gets detached aliases (same memory and
        # version counter) so that it does here too
        pos, kw = self._split(values if grad else [_detached(v) for v in values])
        with grad_mode.set_grad_enabled(grad):
            out = kernel(*pos, **kw)
        where = f"<module {getattr(kernel, '__module__', None)!r}>"
        return check_outputs(self.schema, self.name, where, out, values, self.check_alias)

    def call(self, args: tuple, kwargs: dict) -> Any:
        values = bind_arguments(self.schema, self.qualname, args, kwargs)
        if self.composite_fn is not None or self.autograd_kernel is not None:
            fn = self.composite_fn or self.autograd_kernel
            pos, kw = self._split(values)
            return fn(*pos, **kw)
        record = self.has_tensor_returns and (
            bool(LOCAL.state.vmap)  # inside cr.func.vmap: the Function runs once per sample
            or (
                grad_mode.is_grad_enabled()
                and any(t.requires_grad for v in values for t in tensors_of(v))
            )
        )
        if record and self.backward_fn is None and self.traced_fallback:
            outs = self._run_kernel(values, grad=True)
            _warn_on_backward(self.qualname, outs)
        elif record:
            outs = apply_autograd(self, values, self._run_kernel)
        else:
            outs = self._run_kernel(values)
        for i in self.mutated:
            for t in tensors_of(values[i]):
                t._vc[0] += 1  # the op wrote into it: saved copies of it are now stale
        if not outs:
            return None
        return outs[0] if len(outs) == 1 else tuple(outs)


def _detached(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach() if value.requires_grad else value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
        return type(value)(_detached(v) for v in value)
    return value


def _warn_on_backward(qualname: str, outs: tuple) -> None:
    message = (
        f"{qualname}: an autograd kernel was not registered to the Autograd key(s) but we are "
        "trying to backprop through it. This may lead to silently incorrect behavior. This "
        "behavior is deprecated and will be removed in a future version of PyTorch. If your "
        "operator is differentiable, please ensure you have registered an autograd kernel to "
        "the correct Autograd key (e.g. DispatchKey::Autograd, "
        "DispatchKey::CompositeImplicitAutograd)."
    )

    def hook(grad_outputs: Any) -> None:
        warnings.warn(message, UserWarning, stacklevel=2)

    nodes = {id(t.grad_fn): t.grad_fn for v in outs for t in tensors_of(v) if t.grad_fn}
    for node in nodes.values():
        node.register_prehook(hook)


class OpOverload:
    """``cr.ops.ns.name.default``: the operator's one overload (PyTorch's ``OpOverload``)."""

    def __init__(self, entry: OpEntry) -> None:
        self._entry = entry
        self._schema = entry.schema
        self.__name__ = f"{entry.name}.default"
        self.__qualname__ = self.__name__
        self._overloadname = "default"

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self._entry.call(args, kwargs)

    def name(self) -> str:
        return self._entry.qualname

    @property
    def overloadpacket(self) -> OpOverloadPacket:
        return lookup(self._entry.qualname)

    def __repr__(self) -> str:
        return f"<OpOverload(op='{self._entry.ns}.{self._entry.name}', overload='default')>"

    def __str__(self) -> str:
        return f"{self._entry.ns}.{self._entry.name}.default"


class OpOverloadPacket:
    """``cr.ops.ns.name``: the operator with its overloads (PyTorch's ``OpOverloadPacket``)."""

    def __init__(self, entry: OpEntry) -> None:
        self._entry = entry
        self.default = OpOverload(entry)
        self._qualified_op_name = entry.qualname
        self.__name__ = entry.name

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self._entry.call(args, kwargs)

    def overloads(self) -> list[str]:
        return ["default"]

    @property
    def _schema(self) -> FunctionSchema:
        return self._entry.schema

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='{self._entry.ns}.{self._entry.name}')>"

    def __str__(self) -> str:
        return f"{self._entry.ns}.{self._entry.name}"
