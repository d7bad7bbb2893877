"""Session 38: how a traced method call is recorded where chainrule's function and Tensor
method are one object (``cr.split is Tensor.split``): ``Tensor.split(x, 2)`` and
``buf.reshape(s)`` are ``call_method`` and ``cr.split(x, 2)`` is ``call_function``, as
torch.fx 2.13 records them (live), in a trace and through ``Proxy.__torch_function__``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.fx as tfx

import chainrule as cr
import chainrule.fx as cfx

# (method, arguments after the tensor): about thirty common methods
METHODS = [
    ("relu", ""),
    ("split", "2"),
    ("chunk", "2"),
    ("sum", "1"),
    ("mean", "1"),
    ("view", "-1"),
    ("reshape", "-1"),
    ("permute", "1, 0"),
    ("transpose", "0, 1"),
    ("flatten", ""),
    ("unsqueeze", "0"),
    ("squeeze", ""),
    ("softmax", "-1"),
    ("exp", ""),
    ("abs", ""),
    ("tanh", ""),
    ("sigmoid", ""),
    ("matmul", "y"),
    ("add", "y"),
    ("mul", "y"),
    ("max", ""),
    ("argmax", "-1"),
    ("clamp", "0.0"),
    ("masked_fill", "y > 0, 0.0"),
    ("repeat", "2, 1"),
    ("expand", "2, 4, 4"),
    ("contiguous", ""),
    ("t", ""),
    ("pow", "2"),
    ("norm", ""),
    ("cumsum", "0"),
    ("unbind", "0"),
    ("narrow", "0, 0, 2"),
    ("topk", "2"),
    ("std", ""),
    ("clone", ""),
    ("type_as", "y"),
    ("size", ""),
]
# the method's form through the class: torch's C methods refuse a Proxy there (TypeError);
# its Python-written ones (split, norm) record call_method, as chainrule does for all
PYTHON_METHODS = {"split", "norm"}


def _function(lib, form, method, extra):
    sep = ", " if extra else ""
    call = {
        "method": f"x.{method}({extra})",
        "class": f"{lib}.Tensor.{method}(x{sep}{extra})",
        "function": f"{lib}.{method}(x{sep}{extra})",
    }[form]
    scope = {lib: torch if lib == "torch" else cr}
    exec(f"def f(x, y):\n    return {call}\n", scope)  # noqa: S102 - the traced program
    return scope["f"]


def _calls(gm):
    return [
        (n.op, n.target if isinstance(n.target, str) else n.target.__name__)
        for n in gm.graph.nodes
        if n.op in ("call_function", "call_method")
    ]


def _code(gm):
    """The printed code with the library's prefix removed (both print
    ``<library>.functional.split`` since session 40)."""
    return gm.code.replace("chainrule.", "").replace("torch.", "")


def _cases():
    for method, extra in METHODS:
        yield method, extra, "method"
        if method in PYTHON_METHODS:
            yield method, extra, "class"
        if hasattr(torch, method) and method not in ("reshape", "permute", "numel"):
            yield method, extra, "function"  # torch.reshape(x, -1) is not torch's form


@pytest.mark.parametrize(("method", "extra", "form"), list(_cases()))
def test_symbolic_trace_records_torchs_op(method, extra, form):
    theirs = tfx.symbolic_trace(_function("torch", form, method, extra))
    ours = cfx.symbolic_trace(_function("cr", form, method, extra))
    assert _calls(ours) == _calls(theirs)
    assert _code(ours) == _code(theirs)


@pytest.mark.parametrize("method", ["relu", "chunk", "view", "add", "sum", "new_zeros"])
def test_class_form_of_a_c_method_records_call_method(method):
    """torch's C methods raise TypeError given a Proxy (``Tensor.relu(proxy)``); chainrule
    records what torch's ``Proxy.__torch_function__`` does for a method: call_method."""
    extra = {"chunk": ", 2", "view": ", -1", "add": ", y", "new_zeros": ", 2"}.get(method, "")

    def trace():
        scope = {"torch": torch}
        exec(f"def f(x, y):\n    return torch.Tensor.{method}(x{extra})\n", scope)  # noqa: S102
        return tfx.symbolic_trace(scope["f"])

    with pytest.raises(TypeError, match="doesn't apply to a 'Proxy' object"):
        trace()
    gm = cfx.symbolic_trace(_function("cr", "class", method, extra[2:]))
    assert _calls(gm) == [("call_method", method)]


def _buffer_module(lib, body):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("b", lib.arange(16.0).reshape(4, 4))

    scope = {lib.__name__: lib, "M": M}
    exec(f"def forward(self, x):\n    return {body}\n", scope)  # noqa: S102
    M.forward = scope["forward"]
    return M()


@pytest.mark.parametrize(
    "body",
    [
        "self.b.add(x)",
        "self.b.reshape(x.shape)",
        "{lib}.reshape(self.b, x.shape)",
        "{lib}.Tensor.split(self.b, 2, 1)",
        "self.b.norm(2, 1).add(x)",
        "{lib}.norm(self.b, dim=1).add(x)",
        "self.b.matmul(x).relu()",
    ],
)
def test_real_tensor_receiver_given_a_proxy(body):
    """A real tensor (a buffer) as the receiver, a proxy among the arguments."""
    theirs = tfx.symbolic_trace(_buffer_module(torch, body.format(lib="torch")))
    ours = cfx.symbolic_trace(_buffer_module(cr, body.format(lib="chainrule")))
    assert _calls(ours) == _calls(theirs)
    assert _code(ours) == _code(theirs)
    x = np.linspace(-1.0, 1.0, 16, dtype=np.float32).reshape(4, 4)
    got, want = ours(cr.tensor(x)), theirs(torch.tensor(x))
    if isinstance(want, tuple):
        got, want = got[0], want[0]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_nested_forms_in_one_expression():
    def theirs(x):
        return torch.Tensor.split(torch.split(x, 2)[0], 1)

    def ours(x):
        return cr.Tensor.split(cr.split(x, 2)[0], 1)

    t_gm, c_gm = tfx.symbolic_trace(theirs), cfx.symbolic_trace(ours)
    assert _calls(c_gm) == _calls(t_gm)


@pytest.mark.parametrize("form", ["class", "function"])
def test_proxy_torch_function_outside_a_trace(form):
    """``Proxy(node)`` values given to chainrule's functions outside a trace (torch.fx's
    decomposition idiom) record the form called."""

    def build(lib, fx):
        graph = fx.Graph()
        p = fx.Proxy(graph.placeholder("x"))
        # written out at the call: chainrule reads the form from the call's bytecode (an
        # alias, fn = cr.Tensor.split; fn(p, 2), reads as the function form)
        out = lib.Tensor.split(p, 2) if form == "class" else lib.split(p, 2)
        graph.output(out.node)
        return [
            (n.op, n.target if isinstance(n.target, str) else n.target.__name__)
            for n in graph.nodes
        ]

    assert build(cr, cfx) == build(torch, tfx)


def test_numel_function_form():  # session 39: cr.numel takes part in the protocol
    theirs = _calls(tfx.symbolic_trace(lambda x: torch.numel(x)))
    ours = _calls(cfx.symbolic_trace(lambda x: cr.numel(x)))
    assert ours == theirs == [("call_function", "numel")]
