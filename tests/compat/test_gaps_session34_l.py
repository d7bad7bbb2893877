"""Gaps found by the session-34 (batch l) drop-in programs (``vrnn_variational_rnn``,
``infogan_codes``, ``planar_radial_flows``, ``xdeepfm_cin``, ``bert4rec_masked_items``,
``graph_unet_topk_pool``, ``wide_and_deep_sparse``, ``dnc_memory_addressing``, ...), each
checked against PyTorch.

- Index *data* of a float dtype: InfoGAN's ``noise_sample`` fills its one-hot codes with
  ``dis_c[torch.arange(0, batch_size), i, idx[i]] = 1.0`` where ``idx = np.zeros(...)`` is a
  float64 NumPy array. PyTorch reads a NumPy array or a list inside an index as data for a long
  index tensor, so floats are cast (truncated toward zero; NaN and inf become the lowest long,
  out of bounds) and complex data loses its imaginary part with a warning; chainrule refused
  every float array (IndexError). A float *Tensor* index is still an IndexError in both.
- PyTorch's deprecated scale-first overloads (Mean Teacher's EMA ``ema_param.data.mul_(alpha)
  .add_(1 - alpha, param.data)``, older optimizers' ``p.data.add_(-lr, d_p)``,
  ``exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)``, ``p.data.addcdiv_(-step_size,
  exp_avg, denom)``): ``add``/``sub``/``addcmul``/``addcdiv`` as methods, in-place methods and
  functions with the scale first were TypeErrors; PyTorch runs them as the keyword form and
  warns once per process (one warning for all of them) naming the overload. Probing around
  them: the BLAS-style ones with ``beta`` (and ``alpha``) first, ``x.addmm(beta, [alpha,] mat1,
  mat2)`` and ``torch.addmm(beta, input, [alpha,] mat1, mat2)``, likewise ``addmv``, ``addr``,
  ``addbmm``, ``baddbmm`` and the in-place methods, were TypeErrors or (through ``addmm``'s
  positional ``out_dtype``) NotImplementedErrors; a number first that fits no overload is
  PyTorch's TypeError.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _both(fn: Any) -> None:
    """``fn(module)`` gives the same value (or the same error type) under both frameworks."""
    got = []
    for m in BOTH:
        try:
            got.append(fn(m))
        except Exception as err:  # noqa: BLE001 (the error type is what is compared)
            got.append(type(err))
    assert got[1] == got[0], got


@pytest.mark.parametrize(
    "idx",
    [
        np.array([1.0, 2.0]),
        np.array([1.7, -1.2]),
        np.array([[1.9], [-0.5]]),
        np.array(1.0),
        np.array([2.0, 0.0], dtype=np.float32),
        [1.0, 2.0],
        [1.5, 2],
        [True, 1.0],
        (np.array([1.0, 2.0]), np.array([0.0, 3.0])),
        (slice(None), np.array([3.0, 0.5])),
        np.array([1.0, 7.0]),
        np.array([np.inf]),
        np.array([np.nan]),
    ],
    ids=repr,
)
def test_float_index_data_reads_as_long(idx: Any) -> None:
    def read(m: Any) -> Any:
        return m.arange(12.0).view(3, 4)[idx].tolist()

    _both(read)


def test_float_index_data_in_a_write_is_the_infogan_one_hot() -> None:
    rng = np.random.default_rng(0)
    idx = np.zeros((2, 5))
    for i in range(2):
        idx[i] = rng.integers(3, size=5)

    def codes(m: Any) -> Any:
        dis_c = m.zeros(5, 2, 3)
        for i in range(2):
            dis_c[m.arange(0, 5), i, idx[i]] = 1.0
        return dis_c.view(5, -1).tolist()

    _both(codes)
    want = np.zeros((5, 2, 3))
    want[np.arange(5)[:, None], np.arange(2), idx.T.astype(int)] = 1
    assert codes(chainrule) == want.reshape(5, -1).tolist()


def test_float_index_data_gradient() -> None:
    grads = []
    for m in BOTH:
        x = m.arange(6.0, requires_grad=True)
        x[np.array([1.0, 1.0, 4.5])].sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [0.0, 2.0, 0.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_complex_index_data_warns_and_drops_the_imaginary_part(m: Any) -> None:
    x = m.arange(12.0).view(3, 4)
    if m is torch:  # torch warns once per process (an earlier test may have had it)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            got = x[np.array([1 + 2j, 2 - 1j])]
    else:
        with pytest.warns(UserWarning, match="Casting complex values to real discards"):
            got = x[np.array([1 + 2j, 2 - 1j])]
    assert got.tolist() == [[4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_float_tensor_index_is_still_refused(m: Any) -> None:
    x = m.arange(12.0).view(3, 4)
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool"):
        x[m.tensor([1.0, 2.0])]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool"):
        x[m.tensor([1.0, 2.0])] = 0.0
    with pytest.raises(IndexError):
        x[1.0]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_float_index_data_out_of_bounds_is_an_index_error(m: Any) -> None:
    x = m.arange(12.0).view(3, 4)
    with pytest.raises(IndexError, match="out of bounds"):
        x[np.array([0.0, 3.2])]
    with pytest.raises(IndexError, match="out of bounds"):
        x[np.array([np.nan])] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x[np.array([], dtype=np.float64)].shape == (0, 4)


DEPRECATED_CALLS = [
    "a.add(0.5, b)",
    "a.clone().add_(-0.25, b)",
    "m.add(a, 0.5, b)",
    "m.add(a, 0.5, b, out=m.empty(2, 2))",
    "a.add(0.5, other=b)",
    "m.add(a, 0.5, other=b)",
    "a.sub(0.5, b)",
    "a.clone().sub_(2, b)",
    "m.sub(a, 0.5, b)",
    "a.addcmul(0.5, a, b)",
    "a.clone().addcmul_(1 - 0.9, b, b)",
    "m.addcmul(a, 0.5, a, b)",
    "a.addcmul(0.5, a, tensor2=b)",
    "a.addcdiv(0.5, a, b)",
    "a.clone().addcdiv_(-0.1, a, b)",
    "m.addcdiv(a, 0.5, a, b)",
    "a.add(m.tensor(0.5), b)",
    "a.add(np.float32(0.5), b)",
    "a.add(0.5, 2)",
    "a.long().add(2, b.long())",
    # not the deprecated overload: as before
    "a.add(2)",
    "m.add(a, 0.5)",
    "a.add(b, alpha=2)",
    "m.add(a, other=b, alpha=0.5)",
    "a.addcmul(a, b)",
    # errors
    "a.add(0.5, b, alpha=2)",
    "a.add(0.5, b, out=a)",
    "m.add(a, 0.5, b, alpha=1)",
    "m.add(a, m.ones(2), b)",
    "a.add(None, b)",
    "a.add(b, 0.5)",
    "a.long().add(0.5, b.long())",
    "m.subtract(a, 0.5, b)",
]


BETA_FIRST_CALLS = [
    "a.addmm(0.5, a, b)",
    "a.addmm(0.5, 2, a, b)",
    "m.addmm(0.5, a, 2, a, b)",
    "m.addmm(0.5, a, a, b)",
    "m.addmm(0.5, a, a, b, out=m.empty(2, 2))",
    "m.addmm(m.tensor(0.5), a, a, b)",
    "a.addmm(0.5, a, mat2=b)",
    "m.addmm(0.5, a, alpha=2, mat1=a, mat2=b)",
    "a.clone().addmm_(0.5, 2, a, b)",
    "v.addmv(0.5, a, v)",
    "m.addmv(0.5, v, 2, a, v)",
    "v.clone().addmv_(0.5, a, v)",
    "a.addr(0.5, 2, v, v)",
    "m.addr(0.5, a, v, v)",
    "a.clone().addr_(0.5, v, v)",
    "a3.baddbmm(0.5, a3, a3)",
    "m.baddbmm(0.5, a3, 2, a3, a3)",
    "a3.clone().baddbmm_(0.5, 2, a3, a3)",
    "a.addbmm(0.5, 2, a3, a3)",
    "m.addbmm(0.5, a, a3, a3)",
    "a.clone().addbmm_(0.5, a3, a3)",
    # the current overloads, as before
    "a.addmm(a, b)",
    "a.addmm(a, b, beta=0.5, alpha=2)",
    "m.addmm(a, a, b, beta=0.5)",
    # a number first that fits neither
    "a.addmm(0.5, a, b, alpha=2)",
    "m.addmm(0.5, a, a, b, alpha=2)",
    "a.addmm(0.5, a, b, beta=1)",
    "m.addr(0.5, 2, v, v)",
]


@pytest.mark.parametrize("call", BETA_FIRST_CALLS)
def test_deprecated_beta_first_overloads(call: str) -> None:
    def value(m: Any) -> Any:
        a = m.arange(4.0).view(2, 2)
        b = m.ones(2, 2) * 2
        v = m.tensor([1.0, -2.0])
        a3 = m.arange(8.0).view(2, 2, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(call, {"m": m, "a": a, "b": b, "v": v, "a3": a3}).tolist()

    _both(value)


def test_deprecated_beta_first_gradient() -> None:
    grads = []
    for m in BOTH:
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        w = m.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = m.addmm(0.5, x, 2, x, w).addmm(3, x, w)
        out.sum().backward()
        grads.append((out.tolist(), x.grad.tolist(), w.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


@pytest.mark.parametrize("call", DEPRECATED_CALLS)
def test_deprecated_scale_first_overloads(call: str) -> None:
    def value(m: Any) -> Any:
        a = m.arange(4.0).view(2, 2)
        b = m.ones(2, 2) * 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(call, {"m": m, "a": a, "b": b, "np": np}).tolist()

    _both(value)


def test_deprecated_overload_gradient_and_graph() -> None:
    grads = []
    for m in BOTH:
        p = m.tensor([1.0, 2.0], requires_grad=True)
        g = m.tensor([0.5, -1.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = p.mul(0.9).add(1 - 0.9, g).addcmul(0.5, g, p).addcdiv(2.0, p, g + 2).sub(3, g)
        out.sum().backward()
        grads.append((out.tolist(), p.grad.tolist(), g.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_deprecated_overload_in_an_ema_update() -> None:
    """Mean Teacher's ``update_ema_variables`` (and the older SGD step) on parameters."""
    got = []
    for m in BOTH:
        m.manual_seed(0)
        model = m.nn.Linear(3, 2)
        ema = m.nn.Linear(3, 2)
        with m.no_grad():
            for i, (p, q) in enumerate(zip(model.parameters(), ema.parameters())):
                p.copy_(m.arange(p.numel(), dtype=p.dtype).view(p.shape) / 7 + i)
                q.zero_()
        alpha = 0.99
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for ema_param, param in zip(ema.parameters(), model.parameters()):
                ema_param.data.mul_(alpha).add_(1 - alpha, param.data)
                param.data.add_(-0.1, ema_param.data)
        got.append([t.tolist() for t in [*ema.parameters(), *model.parameters()]])
    np.testing.assert_allclose(
        np.concatenate([np.ravel(t) for t in got[1]]),
        np.concatenate([np.ravel(t) for t in got[0]]),
        rtol=1e-6,
    )


_WARN_SCRIPT = """
import os
import warnings
import {module} as m
a = m.arange(4.0).view(2, 2)
b = m.ones(2, 2)
v = m.ones(2)
a3 = m.arange(8.0).view(2, 2, 2)
for calls in {groups!r}:
    pid = os.fork()  # a fresh warn-once state per group, without a fresh import
    if pid == 0:
        seen = []
        for call in eval("(" + calls + ")"):
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter("always")
                call()
            seen.append([str(w.message).split(" (Triggered")[0] for w in ws])
        print(repr(seen), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""

_WARN_GROUPS = [
    "lambda: a.add(b), lambda: a.clone().add_(0.5, b), lambda: a.add(0.5, b)",
    "lambda: m.add(a, 0.5, b), lambda: a.sub(0.5, b), lambda: a.addcmul(2, a, b)",
    "lambda: a.clone().addcdiv_(2, a, b), lambda: m.addcmul(a, 2, a, b)",
    "lambda: m.addcdiv(a, 2, a, b), lambda: a.clone().sub_(1, b)",
    "lambda: a.addcmul(2, a, tensor2=b),",
    "lambda: m.addmm(0.5, a, 2, a, b), lambda: a.addmm(0.5, a, b)",
    "lambda: m.baddbmm(0.5, a3, a3, a3), lambda: a.clone().addr_(2, 3, v, v)",
    "lambda: a.addbmm(0.5, 2, a3, a3), lambda: m.addmv(0.5, v, a, v)",
]


@functools.cache
def _warnings_seen(module: str) -> list[str]:
    """Per group of :data:`_WARN_GROUPS`, the warnings its calls gave in a process of their
    own (one interpreter imports ``module``, then forks one child per group)."""
    script = _WARN_SCRIPT.format(module=module, groups=_WARN_GROUPS)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()[-len(_WARN_GROUPS) :]
    assert len(lines) == len(_WARN_GROUPS), out.stdout
    return lines


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the check forks one process per group")
@pytest.mark.parametrize("group", range(len(_WARN_GROUPS)), ids=_WARN_GROUPS)
def test_deprecated_overload_warns_once_per_process(group: int) -> None:
    """One warning in a process, for the first deprecated call, with PyTorch's text (each
    group in a fresh process: both frameworks remember the warning for the rest of it)."""
    seen = [_warnings_seen(module)[group] for module in ("torch", "chainrule")]
    assert seen[1] == seen[0]
    assert "is deprecated" in seen[0]
