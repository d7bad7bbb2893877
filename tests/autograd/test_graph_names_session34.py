"""Autograd graph names and saved fields as PyTorch's, session 34 (batch 2), compared live.

For each case the whole graph along ``next_functions`` must be PyTorch's: every node's name,
the inputs it lists (None where PyTorch lists a wrapped number or a constant) and its
declared ``_saved_*`` values (tensors by shape and dtype, numbers as they are). The values,
first and second derivatives and forward-mode tangents must agree too. Covered: mvlgamma
(one ``MvlgammaBackward0``), fill_diagonal_ (``CopySlices``), igamma / igammac,
copysign with a number, sgn / angle / ldexp saved fields, ``SpecialErfcxBackward0`` /
``SpecialXlog1PyBackward*`` / ``SpecialZetaBackward*``, the ``NotImplemented`` node,
``complex`` (``ComplexBackward0``), ``sub`` / ``div`` / ``rsub`` with a number, the
``*_copy`` ops (``<view node>_copy``, ``NarrowCopyBackward0``), ``xlogy(x, x)``,
``LogSigmoidBackward0._saved_buffer`` and ``PreluKernelBackward0._saved_weight``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from ._graph_compare import describe
from ._graph_compare import real_part as _real

POS = np.array([[2.3, 1.5, 3.2], [1.7, 2.9, 4.0]])
REAL = np.array([[0.3, -1.5, 2.2], [-0.7, 0.9, -1.1]])


def _w(L, values):
    return L.tensor(values, dtype=L.float64, requires_grad=True)


# name -> (domain of a, fn(L, a, b)); b is always POS reversed, requiring grad
CASES = {
    "mvlgamma": (POS, lambda L, a, b: L.mvlgamma(a * 1 + 2, 2)),
    "mvlgamma_": (POS, lambda L, a, b: (a * 1 + 2).mvlgamma_(2)),
    "multigammaln": (POS, lambda L, a, b: L.special.multigammaln(a + 2, 3)),
    "fill_diagonal_": (POS, lambda L, a, b: (a * 1).fill_diagonal_(0.5)),
    "fill_diagonal_wrap": (POS, lambda L, a, b: (a.t() * 1).fill_diagonal_(0.5, wrap=True)),
    "igamma": (POS, lambda L, a, b: L.igamma(a.detach(), b)),
    "igammac": (POS, lambda L, a, b: L.igammac(a.detach(), b)),
    "gammainc": (POS, lambda L, a, b: L.special.gammainc(a.detach(), b)),
    "gammaincc": (POS, lambda L, a, b: L.special.gammaincc(a.detach(), b)),
    "copysign_number": (REAL, lambda L, a, b: L.copysign(a, -2.0)),
    "copysign_tensor": (REAL, lambda L, a, b: L.copysign(a, b)),
    "sgn": (REAL, lambda L, a, b: L.sgn(a)),
    "angle": (REAL, lambda L, a, b: L.angle(a)),
    "angle_complex": (POS, lambda L, a, b: L.angle(L.complex(a, b))),
    "ldexp": (POS, lambda L, a, b: L.ldexp(a, b)),
    "ldexp_constant": (POS, lambda L, a, b: L.ldexp(a, b.detach())),
    "ldexp_int": (POS, lambda L, a, b: L.ldexp(a, L.tensor([[1, 2, 3], [0, 1, 2]]))),
    "erfcx": (POS, lambda L, a, b: L.special.erfcx(a)),
    "xlog1py": (POS, lambda L, a, b: L.special.xlog1py(a, b)),
    "xlog1py_number_other": (POS, lambda L, a, b: L.special.xlog1py(a, 2)),
    "xlog1py_number_self": (POS, lambda L, a, b: L.special.xlog1py(2.0, a)),
    "xlog1py_constant_self": (POS, lambda L, a, b: L.special.xlog1py(a.detach(), b)),
    "zeta": (POS, lambda L, a, b: L.special.zeta(a.detach() + 1, b)),
    "zeta_number_self": (POS, lambda L, a, b: L.special.zeta(3.0, b)),
    "complex": (POS, lambda L, a, b: L.complex(a, b)),
    "complex_constant_imag": (POS, lambda L, a, b: L.complex(a, b.detach())),
    "sub_number": (REAL, lambda L, a, b: L.sub(2.0, a)),
    "rsub_operator": (REAL, lambda L, a, b: 2.0 - a),
    "rsub_number": (REAL, lambda L, a, b: L.rsub(a, 2.0)),
    "rsub_tensors": (REAL, lambda L, a, b: L.rsub(a, b)),
    "rsub_tensors_alpha": (REAL, lambda L, a, b: L.rsub(a, b, alpha=2)),
    "div_number": (POS, lambda L, a, b: L.div(2.0, a)),
    "div_int_number": (POS, lambda L, a, b: L.true_divide(2, a)),
    "rdiv_operator": (POS, lambda L, a, b: 2.0 / a),
    "t_copy": (REAL, lambda L, a, b: L.t_copy(a)),
    "expand_copy": (REAL, lambda L, a, b: L.expand_copy(a, (4, 2, 3))),
    "permute_copy": (REAL, lambda L, a, b: L.permute_copy(a, (1, 0))),
    "transpose_copy": (REAL, lambda L, a, b: L.transpose_copy(a, 0, -1)),
    "view_copy": (REAL, lambda L, a, b: L.view_copy(a, (3, 2))),
    "view_copy_transposed": (REAL, lambda L, a, b: L.view_copy(a.t(), (6,))),
    "unsqueeze_copy": (REAL, lambda L, a, b: L.unsqueeze_copy(a, 0)),
    "squeeze_copy_dim": (REAL, lambda L, a, b: L.squeeze_copy(L.unsqueeze(a, 1), 1)),
    "select_copy": (REAL, lambda L, a, b: L.select_copy(a, 0, 1)),
    "slice_copy": (REAL, lambda L, a, b: L.slice_copy(a, 1, 0, 2)),
    "diagonal_copy": (REAL, lambda L, a, b: L.diagonal_copy(a)),
    "alias_copy": (REAL, lambda L, a, b: L.alias_copy(a * 1)),
    "unfold_copy": (REAL, lambda L, a, b: L.unfold_copy(a, 1, 2, 1)),
    "split_copy": (REAL, lambda L, a, b: L.split_copy(a, 1)[1]),
    "split_with_sizes_copy": (REAL, lambda L, a, b: L.split_with_sizes_copy(a, [2, 1], 1)[0]),
    "unbind_copy": (REAL, lambda L, a, b: L.unbind_copy(a)[1]),
    "view_as_real_copy": (POS, lambda L, a, b: L.view_as_real_copy(L.complex(a, b))),
    "narrow_copy": (REAL, lambda L, a, b: L.narrow_copy(a, -1, 1, 2)),
    "xlogy_same": (POS, lambda L, a, b: L.xlogy(a, a)),
    "xlogy_number_other": (POS, lambda L, a, b: L.xlogy(a, 3)),
    "logsigmoid": (REAL, lambda L, a, b: L.nn.functional.logsigmoid(a)),
    "prelu_one": (REAL, lambda L, a, b: L.nn.functional.prelu(a, _w(L, [0.25]))),
    "prelu_channels": (REAL, lambda L, a, b: L.nn.functional.prelu(a, _w(L, [0.2, 0.1, 0.3]))),
    "prelu_4d": (
        REAL,
        lambda L, a, b: L.nn.functional.prelu(a.reshape(1, 3, 2, 1), _w(L, [0.2, 0.1, 0.3])),
    ),
    "prelu_1d": (REAL, lambda L, a, b: L.nn.functional.prelu(a.reshape(6), _w(L, [0.25]))),
    "prelu_0d": (REAL, lambda L, a, b: L.nn.functional.prelu(a[0][0], _w(L, [0.25]))),
}
# graph only: no derivative (NotImplemented nodes) or none in the first argument
GRAPH_ONLY = {
    "floor_divide": (REAL, lambda L, a, b: L.floor_divide(a, b)),
    "heaviside": (REAL, lambda L, a, b: L.heaviside(a, b)),
    "detach_copy": (REAL, lambda L, a, b: L.detach_copy(a)),
}


ZERO_DERIVATIVE = {"sgn", "angle"}  # of a real input


def _inputs(lib, domain):
    a = lib.tensor(domain, dtype=lib.float64, requires_grad=True)
    b = lib.tensor(POS[::-1].copy(), dtype=lib.float64, requires_grad=True)
    return a, b


def _run(lib, table, name):
    domain, fn = table[name]
    a, b = _inputs(lib, domain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(lib, a, b), a, b


@pytest.mark.parametrize("name", sorted(CASES) + sorted(GRAPH_ONLY))
def test_graph_and_saved_fields_as_torch(name):
    table = CASES if name in CASES else GRAPH_ONLY
    t, c = _run(torch, table, name)[0], _run(cr, table, name)[0]
    assert describe(c.grad_fn, cr) == describe(t.grad_fn, torch)
    assert c.requires_grad == t.requires_grad


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_two_orders_of_gradients_as_torch(name):
    outs = []
    for lib in (torch, cr):
        y, a, b = _run(lib, CASES, name)
        leaves = [t for t in (a, b) if t.requires_grad]
        grads = lib.autograd.grad(
            (_real(y) ** 2).sum(), leaves, create_graph=True, allow_unused=True
        )
        pairs = [(t, g) for t, g in zip(leaves, grads) if g is not None]
        if name in ZERO_DERIVATIVE:  # torch's is a ZeroTensor outside the graph: no 2nd order
            pairs = []
        second = (
            lib.autograd.grad(sum((g**2).sum() for _, g in pairs), [t for t, _ in pairs])
            if pairs
            else ()
        )
        outs.append(
            (
                [y.detach().numpy()],
                [None if g is None else np.asarray((g.detach() + 0).tolist()) for g in grads],
                [s.numpy() for s in second],
            )
        )
    for t_part, c_part in zip(*outs):
        assert len(t_part) == len(c_part)
        for t_v, c_v in zip(t_part, c_part):
            assert (t_v is None) == (c_v is None)
            if t_v is not None:  # (torch's polygamma is accurate to ~1e-10 only)
                np.testing.assert_allclose(c_v, t_v, rtol=1e-8, atol=1e-10)


FORWARD = [
    n
    for n in sorted(CASES)
    if not n.startswith(("gammainc", "igamma", "zeta", "fill_diagonal", "prelu", "ldexp_int"))
    and not n.endswith(("_", "constant_self", "_transposed"))  # (torch: view of a .t())
]


@pytest.mark.parametrize("name", FORWARD)
def test_forward_mode_as_torch(name):
    domain, fn = CASES[name]
    outs = []
    for lib in (torch, cr):
        a, b = (t.detach() for t in _inputs(lib, domain))
        tangents = (lib.ones_like(a) * 0.3, lib.ones_like(b) * -0.2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, tan = lib.func.jvp(lambda x, y, lib=lib: fn(lib, x, y), (a, b), tangents)
        outs.append(tan.numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-9, atol=1e-12)


def test_no_derivative_nodes_raise_torch_error():
    for lib in (torch, cr):
        a, b = _inputs(lib, REAL)
        y = lib.floor_divide(a, b)
        assert y.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not"):
            y.sum().backward()


def test_view_copies_are_fresh_memory_with_the_view_node():
    """The copy is not a view (no shared memory, its own version counter) and writing into
    it in place leaves the input and the gradient through the renamed view node intact."""
    for lib in (torch, cr):
        a = lib.tensor(REAL, requires_grad=True)
        y = lib.t_copy(a)
        assert y._base is None and y.is_contiguous()
        assert y.grad_fn.name() == "TBackward0_copy"
        y.mul_(2)
        assert y.grad_fn.name() == "MulBackward0"
        y.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 3), 2.0))
        np.testing.assert_array_equal(a.detach().numpy(), REAL)


def test_split_copy_pieces_share_one_node():
    for lib in (torch, cr):
        a = lib.tensor(REAL, requires_grad=True)
        p = lib.split_copy(a, 1)
        assert p[0].grad_fn is p[1].grad_fn and p[1].grad_fn.name() == "SplitBackward0_copy"
        (p[0] * 2 + p[1] * 3).sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), [[2.0] * 3, [3.0] * 3])


def test_logsigmoid_buffer_values_and_saved_number_types():
    t = torch.nn.functional.logsigmoid(torch.tensor(REAL, requires_grad=True)).grad_fn
    c = cr.nn.functional.logsigmoid(cr.tensor(REAL, requires_grad=True)).grad_fn
    np.testing.assert_allclose(c._saved_buffer.numpy(), t._saved_buffer.numpy(), rtol=1e-15)
    for lib in (torch, cr):
        a = lib.tensor(POS, requires_grad=True)
        assert type(lib.xlogy(a, 3).grad_fn._saved_other) is int
        assert type(lib.special.xlog1py(2.0, a).grad_fn._saved_self) is float


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.logaddexp(1.0, L.ones(2)),
        lambda L: L.logaddexp(L.ones(2), 1.0),
        lambda L: L.maximum(L.ones(2), 1.0),
        lambda L: L.fmax(1.0, L.ones(2)),
        lambda L: L.ldexp(L.ones(2), 1.0),
        lambda L: L.heaviside(L.ones(2), 0.5),
        lambda L: L.special.gammainc(1.0, L.ones(2)),
    ],
)
def test_tensor_argument_errors_as_torch(call):
    with pytest.raises(TypeError) as t_err:
        call(torch)
    with pytest.raises(TypeError) as c_err:
        call(cr)
    assert str(c_err.value) == str(t_err.value)
