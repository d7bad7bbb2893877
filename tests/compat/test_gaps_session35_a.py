"""Gaps found by the session-35 (batch a) drop-in programs (``deberta_disentangled_attention``,
``albert_sop_shared_layers``, ``swinv2_cosine_attention_cpb``, ``mask2former_point_losses``,
``realesrgan_degradation``, ``lightgcn_bpr``, ``rgcn_basis_decomposition``, ``tgn_memory``,
``proteinmpnn_features``, ``point_transformer_vector_attention``), each checked against
PyTorch:

- ``torch._softmax_backward_data`` and ``torch._log_softmax_backward_data`` were missing
  (Hugging Face DeBERTa's ``XSoftmax.backward`` calls the first). Both now exist, as
  differentiable compositions, with PyTorch's checks: ``grad_output`` and ``output`` of one
  dtype and size, the CPU's refusal of the half-to-float case (``input_dtype=float16`` with a
  float32 gradient), other ``input_dtype`` values ignored, integer and complex dtypes
  ``NotImplementedError`` naming the kernel, dims checked.
- The legacy sparse constructors (``torch.sparse.FloatTensor(indices, values, shape)``, as
  LightGCN writes it) warned on every call with chainrule's own wording; PyTorch warns once per
  process for each form (``(indices, values)``, ``(indices, values, shape)``, ``(shape)``,
  ``()``), whichever legacy type is used, with ``sparse.SparseTensor(...) is deprecated``.
  ``FloatTensor()`` now gives PyTorch's empty 1-d tensor (was 0-d), ``FloatTensor(torch.Size(
  [2, 3]))`` is the sizes form, and a plain tuple or list is PyTorch's TypeError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


def _outcome(fn: Any) -> tuple:
    """What a call gives: its dtype, shape and values, or its error type and message."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the error is the outcome compared
        return (type(e).__name__, str(e).split(" (while")[0] if "while" in str(e) else str(e))
    return (str(r.dtype).split(".")[-1], tuple(r.shape), r.detach().double().numpy())


def _same(got: tuple, want: tuple) -> None:
    """Outcomes agree: the same error, or the same dtype and shape and close values."""
    assert got[:2] == want[:2]
    if len(want) == 3:
        rtol = 1e-12 if want[0] == "float64" else 1e-3 if want[0] == "float16" else 1e-6
        np.testing.assert_allclose(got[2], want[2], rtol=rtol, atol=rtol)


def _softmax_cases(m: Any) -> list:
    rng = np.random.default_rng(0)
    g64 = m.tensor(rng.standard_normal((2, 3, 4)))
    x = m.tensor(rng.standard_normal((2, 3, 4)))
    y = m.softmax(x, 1)
    ly = m.log_softmax(x, -1)
    f32 = m.float32
    return [
        lambda: m._softmax_backward_data(g64, y, 1, m.float64),
        lambda: m._softmax_backward_data(g64, y, -2, y.dtype),
        lambda: m._log_softmax_backward_data(g64, ly, -1, m.float64),
        lambda: m._log_softmax_backward_data(g64, ly, 2, m.float32),  # ignored input_dtype
        lambda: m._softmax_backward_data(g64.float(), y.float(), 0, m.float64),
        lambda: m._softmax_backward_data(g64.float(), y.float(), 1, m.int64),
        lambda: m._softmax_backward_data(grad_output=g64, output=y, dim=1, input_dtype=y.dtype),
        lambda: m._softmax_backward_data(m.tensor(2.0), m.tensor(1.0), 0, f32),
        lambda: m._log_softmax_backward_data(m.tensor(2.0), m.tensor(0.0), -1, f32),
        lambda: m._softmax_backward_data(m.zeros(0, 3), m.zeros(0, 3), 1, f32),
        lambda: m._softmax_backward_data(g64.half(), y.half(), 1, m.float16),
    ]


def _softmax_errors(m: Any) -> list:
    g = m.ones(2, 3)
    y = m.full((2, 3), 1 / 3)
    return [
        lambda: m._softmax_backward_data(g, y.double(), 1, m.float64),
        lambda: m._softmax_backward_data(g.double(), y, 1, m.float64),
        lambda: m._softmax_backward_data(g, y, 1, m.float16),
        lambda: m._log_softmax_backward_data(g, y, 1, m.float16),
        lambda: m._softmax_backward_data(g[:1], y, 1, m.float32),
        lambda: m._softmax_backward_data(g.long(), y.long(), 1, m.int64),
        lambda: m._log_softmax_backward_data(g.long(), y.long(), 1, m.int64),
        lambda: m._softmax_backward_data(g.to(m.complex64), y.to(m.complex64), 1, m.complex64),
    ]


def test_softmax_backward_data_matches_torch() -> None:
    for c, t in zip(_softmax_cases(chainrule), _softmax_cases(torch), strict=True):
        _same(_outcome(c), _outcome(t))


def test_softmax_backward_data_errors_match_torch() -> None:
    for c, t in zip(_softmax_errors(chainrule), _softmax_errors(torch), strict=True):
        want = _outcome(t)
        assert len(want) == 2  # each is an error in PyTorch
        assert _outcome(c) == want
    for m in BOTH:  # a dim out of range is an IndexError (the wording is each library's)
        with pytest.raises(IndexError):
            m._softmax_backward_data(m.ones(2, 3), m.ones(2, 3), 2, m.float32)
        with pytest.raises(IndexError):
            m._log_softmax_backward_data(m.ones(2, 3), m.ones(2, 3), -3, m.float32)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_backward_data_is_the_softmax_gradient_and_differentiable(log: bool) -> None:
    """What a custom softmax Function's backward gets equals autograd's own gradient, and it
    can itself be differentiated (double backward), as in PyTorch."""
    rng = np.random.default_rng(1)
    x0, g0, v0 = (rng.standard_normal((3, 5)) for _ in range(3))
    grads = []
    for m in BOTH:
        x = m.tensor(x0, requires_grad=True)
        y = m.log_softmax(x, 1) if log else m.softmax(x, 1)
        (want,) = m.autograd.grad(y, x, m.tensor(g0), create_graph=True)
        g = m.tensor(g0, requires_grad=True)
        fn = m._log_softmax_backward_data if log else m._softmax_backward_data
        got = fn(g, y, 1, x.dtype)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
        (second,) = m.autograd.grad((got * m.tensor(v0)).sum(), x)
        grads.append((got.detach().numpy(), second.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-10, atol=1e-14)


_LEGACY_SCRIPT = """
import json, warnings
import torch
import chainrule


def run(L):
    i = L.tensor([[0, 1], [1, 0]])
    v = L.tensor([1.0, 2.0])
    calls = [
        lambda: L.sparse.FloatTensor(i, v, L.Size([2, 2])),
        lambda: L.sparse.DoubleTensor(i, v.double(), (2, 2)),
        lambda: L.sparse.FloatTensor(i, v),
        lambda: L.sparse.DoubleTensor(2, 3),
        lambda: L.sparse.FloatTensor(L.Size([4, 1])),
        lambda: L.sparse.FloatTensor(),
        lambda: L.sparse.LongTensor(i, v, (2, 2)),
        lambda: L.sparse.FloatTensor(i, v),
        lambda: L.sparse.FloatTensor((2, 3)),
        lambda: L.sparse.FloatTensor([2, 3]),
    ]
    out = []
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                r = call()
                result = [str(r.dtype).split(".")[-1], list(r.shape), r._nnz()]
            except TypeError as e:
                result = ["TypeError", str(e).split(" ", 1)[1].replace(L.__name__ + ".", "")]
        said = [str(w.message).split(" (Triggered")[0].replace(L.__name__ + ".", "")
                for w in caught]
        out.append([result, said, [w.filename for w in caught]])
    return out


print(json.dumps([run(torch), run(chainrule)]))
"""


def test_legacy_sparse_constructors_warn_once_per_form_as_torch() -> None:
    """In a fresh process (PyTorch's warnings are once per process): the same warnings for
    the same calls, at the caller's line, and the same results."""
    env = dict(os.environ, PYTHONWARNINGS="default")
    proc = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", _LEGACY_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    want, got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == want
    assert sum(len(said) for _, said, _ in want) == 4  # one per form
    assert want[0][1] == [
        "sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  Please use "
        "sparse_coo_tensor(indices, values, shape, dtype=, device=)."
    ]


def test_log_softmax_backward_data_gradcheck_and_forward_mode() -> None:
    """Finite differences (first and second order) and forward mode agree with the backward,
    for both functions (the op-spec table checks ``_softmax_backward_data`` the same way)."""
    rng = np.random.default_rng(2)
    g = chainrule.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = chainrule.tensor(rng.standard_normal((3, 4)), requires_grad=True)

    def fn(g: Any, x: Any) -> Any:
        return chainrule._log_softmax_backward_data(g, chainrule.log_softmax(x, 0), 0, x.dtype)

    assert chainrule.autograd.gradcheck(fn, (g, x))
    assert chainrule.autograd.gradgradcheck(fn, (g, x))
    tg, tx = (chainrule.tensor(rng.standard_normal((3, 4))) for _ in range(2))
    _, tangent = chainrule.func.jvp(fn, (g.detach(), x.detach()), (tg, tx))
    tt = [torch.tensor(a.numpy()) for a in (g.detach(), x.detach(), tg, tx)]
    _, want = torch.func.jvp(
        lambda g, x: torch._log_softmax_backward_data(g, torch.log_softmax(x, 0), 0, x.dtype),
        (tt[0], tt[1]),
        (tt[2], tt[3]),
    )
    np.testing.assert_allclose(tangent.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)
