"""PyTorch's top-level settings and tensor queries (``chainrule/settings.py``,
``ops/tensor_queries.py``) and ``Tensor.register_post_accumulate_grad_hook``, each against
PyTorch 2.13."""

from __future__ import annotations

import gc
import threading
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import settings
from chainrule.autograd import post_accumulate
from chainrule.serialization.archive import Storage

# ------------------------------------------------------------------------ default device


def test_default_device_is_the_cpu_and_only_the_cpu_or_meta_can_be_set():
    assert cr.get_default_device() == cr.device("cpu")
    assert str(cr.get_default_device()) == str(torch.get_default_device()) == "cpu"
    cr.set_default_device("cpu")
    cr.set_default_device(cr.device("cpu"))
    cr.set_default_device(None)
    assert cr.zeros(2).device == cr.device("cpu")
    for dev in ("cuda", "cuda:1", cr.device("cuda")):
        with pytest.raises(NotImplementedError, match="set_default_device.*only 'cpu', 'meta'"):
            cr.set_default_device(dev)
    for lib in (torch, cr):  # an index names the accelerator: none here (PyTorch's words)
        with pytest.raises(RuntimeError, match="^Cannot access accelerator device when none"):
            lib.set_default_device(0)
    with pytest.raises(ValueError, match="invalid device string"):
        cr.set_default_device("tpu")
    assert cr.get_default_device() == cr.device("cpu")


# ---------------------------------------------------------------- float32 matmul precision


@pytest.fixture
def restore_precision():
    yield
    cr.set_float32_matmul_precision("highest")
    torch.set_float32_matmul_precision("highest")


def test_float32_matmul_precision_is_kept_as_in_torch(restore_precision):
    assert cr.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    a = cr.tensor(np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32))
    exact = (a @ a).numpy()
    for p in ("high", "medium", "highest"):
        cr.set_float32_matmul_precision(p)
        torch.set_float32_matmul_precision(p)
        assert cr.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == p
        np.testing.assert_array_equal((a @ a).numpy(), exact)  # float32 in every mode
    cr.set_float32_matmul_precision("medium")
    with pytest.warns(UserWarning, match="low is not one of 'highest', 'high', or 'medium'"):
        cr.set_float32_matmul_precision("low")
    assert cr.get_float32_matmul_precision() == "medium"
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="expects a str, but got int"):
            lib.set_float32_matmul_precision(3)


# --------------------------------------------------------------------------- anomaly mode


@pytest.fixture
def anomaly_off():
    yield
    cr.set_anomaly_enabled(False)
    torch.set_anomaly_enabled(False)


def test_anomaly_switch_is_the_one_detect_anomaly_uses(anomaly_off):
    assert cr.is_anomaly_enabled() is torch.is_anomaly_enabled() is False
    cr.set_anomaly_enabled(True)
    torch.set_anomaly_enabled(True)
    assert cr.is_anomaly_enabled() is torch.is_anomaly_enabled() is True
    assert cr.is_anomaly_check_nan_enabled() is torch.is_anomaly_check_nan_enabled() is True
    assert cr.autograd.is_anomaly_enabled()
    x = cr.tensor([-1.0, 1.0], requires_grad=True)
    with np.errstate(invalid="ignore"), pytest.raises(RuntimeError, match="anomaly detected"):
        x.sqrt()  # the NaN is caught: the mode really is on
    cr.set_anomaly_enabled(False)
    assert not cr.is_anomaly_enabled() and not cr.is_anomaly_check_nan_enabled()
    with cr.autograd.detect_anomaly():
        assert cr.is_anomaly_enabled() and cr.is_anomaly_check_nan_enabled()
    assert not cr.is_anomaly_enabled()


def test_anomaly_is_per_thread_and_checks_its_arguments(anomaly_off):
    cr.set_anomaly_enabled(True)
    seen = []
    t = threading.Thread(target=lambda: seen.append(cr.is_anomaly_enabled()))
    t.start()
    t.join()
    assert seen == [False]  # documented: per thread in chainrule (process-wide in PyTorch)
    for lib in (cr, torch):
        with pytest.raises(TypeError, match="argument 'enabled' \\(position 1\\) must be bool"):
            lib.set_anomaly_enabled(1)
        with pytest.raises(TypeError, match="missing|required"):
            lib.set_anomaly_enabled()
    cr.set_anomaly_enabled(enabled=False, check_nan=True)
    assert not cr.is_anomaly_enabled()
    with pytest.raises(NotImplementedError, match="check_nan=False"):
        cr.set_anomaly_enabled(True, check_nan=False)
    assert not cr.is_anomaly_enabled()
    cr.set_anomaly_enabled(False, False)  # turning it off needs no NaN mode


# ----------------------------------------------------- warn always, interop, denormals


def test_warn_always_flag_as_torch():
    assert cr.is_warn_always_enabled() is torch.is_warn_always_enabled() is False
    try:
        cr.set_warn_always(True)
        assert cr.is_warn_always_enabled() is True
    finally:
        cr.set_warn_always(False)
    assert cr.is_warn_always_enabled() is False
    with pytest.raises(RuntimeError, match="expects a bool, but got int"):
        cr.set_warn_always(1)
    with pytest.raises(RuntimeError, match="expects a bool, but got int"):
        torch.set_warn_always(1)


def test_interop_threads_once_per_process_with_torchs_checks(monkeypatch):
    assert isinstance(cr.get_num_interop_threads(), int) and cr.get_num_interop_threads() >= 1
    monkeypatch.setattr(settings, "_interop_threads", None)
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="expects a positive integer"):
            lib.set_num_interop_threads(0)
        with pytest.raises(RuntimeError, match="expects an int, but got float"):
            lib.set_num_interop_threads(2.0)
        with pytest.raises(TypeError):
            lib.set_num_interop_threads(int=2)  # positional only
    cr.set_num_interop_threads(3)
    assert cr.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="set_num_interop_threads called"):
        cr.set_num_interop_threads(2)
    assert cr.get_num_interop_threads() == 3


def test_flush_denormal_reports_unsupported():
    assert cr.set_flush_denormal(True) is False
    assert cr.set_flush_denormal(False) is False
    tiny = np.float32(1e-40)  # a float32 denormal: still kept (nothing was flushed)
    assert cr.tensor([tiny]).numpy()[0] == tiny
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="flush_denormal expects a bool, but got int"):
            lib.set_flush_denormal(1)


# --------------------------------------------------------------------------- typename etc.


class _Local:
    pass


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.ones(2),
        lambda lib: lib.ones(2, dtype=lib.int64),
        lambda lib: lib.ones(2, dtype=lib.float64),
        lambda lib: lib.ones(2, dtype=lib.bool),
        lambda lib: 3,
        lambda lib: [1],
        lambda lib: len,
        lambda lib: _Local,
        lambda lib: _Local(),
        lambda lib: np.float32,
    ],
)
def test_typename_matches_torch(make):
    assert cr.typename(make(cr)) == torch.typename(make(torch))


def test_typename_of_a_layer_names_its_module_and_class():
    for lib in (cr, torch):
        layer = lib.nn.Linear(1, 1)
        cls = type(layer)
        assert lib.typename(layer) == lib.typename(cls) == f"{cls.__module__}.{cls.__qualname__}"
    assert cr.typename(cr.nn.Linear(1, 1)).startswith("chainrule.nn.")


def test_is_storage():
    for obj in (cr.ones(2), np.ones(2), [1], None):
        assert cr.is_storage(obj) is False
    assert torch.is_storage(torch.ones(2)) is False
    assert cr.is_storage(Storage(np.ones(3), "0")) is True


@pytest.mark.parametrize(
    "values,dtype",
    [
        ([1.0], "float32"),
        ([0.0], "float64"),
        (float("nan"), "float32"),
        ([[0]], "int64"),
        (True, "bool"),
        ([-0.0], "float32"),
        ([1.0, 2.0], "float32"),
        ([], "float32"),
    ],
)
def test_is_nonzero_matches_torch(values, dtype):
    t = torch.tensor(values, dtype=getattr(torch, dtype))
    c = cr.tensor(values, dtype=getattr(cr, dtype))
    try:
        expected = torch.is_nonzero(t)
    except RuntimeError as err:
        for f in (cr.is_nonzero, lambda x: x.is_nonzero()):
            with pytest.raises(RuntimeError, match=str(err)):
                f(c)
        return
    assert cr.is_nonzero(c) is c.is_nonzero() is expected


def test_is_same_size_matches_torch():
    for a, b in [((2, 3), (2, 3)), ((2, 3), (3, 2)), ((), ()), ((0,), (0,)), ((1,), ())]:
        expected = torch.is_same_size(torch.ones(a), torch.zeros(b, dtype=torch.int64))
        assert cr.is_same_size(cr.ones(a), cr.zeros(b, dtype=cr.int64)) is expected
        assert cr.ones(a).is_same_size(cr.ones(b)) is expected
    with pytest.raises(TypeError, match="argument 'other' \\(position 2\\) must be Tensor"):
        cr.is_same_size(cr.ones(2), [1, 2])
    with pytest.raises(TypeError, match="argument 'input' \\(position 1\\) must be Tensor"):
        cr.is_nonzero(3)


_QUERY_DTYPES = ["uint8", "int8", "int16", "int32", "int64", "bool", "float16", "float32"]
_QUERY_DTYPES += ["float64"]


@pytest.mark.parametrize("dtype", _QUERY_DTYPES)
def test_itemsize_nbytes_is_signed_layout_match_torch(dtype):
    t, c = torch.zeros(3, 4, dtype=getattr(torch, dtype)), cr.zeros(3, 4, dtype=getattr(cr, dtype))
    for tv, cv in [(t, c), (t[1:, ::2], c[1:, ::2]), (t[0], c[0])]:
        assert cv.itemsize == tv.itemsize == cv.element_size()
        assert cv.nbytes == tv.nbytes
        assert cv.is_signed() is tv.is_signed()
    assert c.layout is cr.strided and repr(c.layout) == "torch.strided"
    assert isinstance(cr.strided, cr.layout) and t.layout is torch.strided


def test_storage_offset_matches_torch_for_views():
    base_t, base_c = torch.arange(24.0).reshape(4, 6), cr.arange(24.0).reshape(4, 6)
    views = [
        lambda x: x,
        lambda x: x[1:],
        lambda x: x[2, 3:],
        lambda x: x[1:, 2:].T,
        lambda x: x[:, 1],
        lambda x: x.narrow(1, 2, 3),
        lambda x: x[1:].reshape(-1)[5:],
        lambda x: x.select(0, 3).unsqueeze(0),
        lambda x: x[1::2, 1::3],
        lambda x: x.clone()[1:],
        lambda x: x.t().contiguous(),
    ]
    for i, v in enumerate(views):
        assert v(base_c).storage_offset() == v(base_t).storage_offset(), i
    assert cr.ones(()).storage_offset() == 0


# ------------------------------------------------------------- post accumulate grad hook


def _run_hook_scenario(lib, log):
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0], requires_grad=True)
    a.register_hook(lambda g: log.append(("pre a", g.tolist())) or g * 2)
    h1 = a.register_post_accumulate_grad_hook(
        lambda t: log.append(
            ("post a", t is a, t.grad.tolist(), None if b.grad is None else b.grad.tolist())
        )
    )
    a.register_post_accumulate_grad_hook(lambda t: log.append(("post a2", lib.is_grad_enabled())))
    b.register_post_accumulate_grad_hook(
        lambda t: log.append(("post b", t.grad.tolist(), None if a.grad is None else 1))
    )
    y = (a * a).sum() * b + (a * 3).sum()  # a reached by two paths: one call per backward
    y.backward(retain_graph=True)
    log.append("--")
    y.backward(retain_graph=True)
    log.append("--")
    h1.remove()
    lib.autograd.grad(y, [a], retain_graph=True)  # writes no .grad: no post hook
    log.append("--")
    y.backward(inputs=[b], retain_graph=True)
    log.append("--")
    lib.autograd.backward([y], inputs=[a])


def test_post_accumulate_grad_hook_call_order_and_view_match_torch():
    logs = {}
    for lib in (torch, cr):
        logs[lib.__name__] = []
        _run_hook_scenario(lib, logs[lib.__name__])
    assert logs["chainrule"] == logs["torch"]
    assert ("post a2", False) in logs["chainrule"]  # runs with grad mode off


def test_post_accumulate_grad_hook_sgd_step_in_backward_as_torch_docs():
    results = []
    for lib in (torch, cr):
        v = lib.tensor([0.0, 0.0, 0.0], requires_grad=True)

        def step(p, lib=lib, lr=0.01):
            with lib.no_grad():
                p.add_(p.grad, alpha=-lr)
            p.grad = None

        handle = v.register_post_accumulate_grad_hook(step)
        v.backward(lib.tensor([1.0, 2.0, 3.0]))
        v.backward(lib.tensor([1.0, 1.0, 1.0]))
        handle.remove()
        v.backward(lib.tensor([1.0, 1.0, 1.0]))  # removed: .grad is kept, no step
        results.append((v.detach().numpy().copy(), v.grad.numpy().copy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    np.testing.assert_array_equal(results[1][1], results[0][1])


def test_post_accumulate_grad_hook_under_create_graph_sees_a_differentiable_grad():
    seen = {}
    for lib in (torch, cr):
        d = lib.tensor([1.5], requires_grad=True)
        out = []
        d.register_post_accumulate_grad_hook(
            lambda t, out=out, lib=lib: out.append(
                (t.grad.requires_grad, t.grad.tolist(), lib.is_grad_enabled())
            )
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about create_graph with .backward
            (d * d * d).sum().backward(create_graph=True)
        seen[lib.__name__] = out
    assert seen["chainrule"] == seen["torch"] == [(True, [6.75], True)]


def test_post_accumulate_grad_hook_registration_errors_as_torch():
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
            (lib.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(print)
        c = lib.tensor([1.0], requires_grad=True)
        c.register_post_accumulate_grad_hook(lambda t: 5)
        with pytest.raises(TypeError, match="int"):
            (c * 2).sum().backward()
    with pytest.raises(TypeError, match="hook must be callable"):
        cr.ones(1, requires_grad=True).register_post_accumulate_grad_hook(3)


def test_post_accumulate_grad_hooks_are_dropped_with_their_tensor():
    t = cr.ones(2, requires_grad=True)
    t.register_post_accumulate_grad_hook(lambda p: None)
    key = id(t)
    assert len(post_accumulate.POST_ACCUMULATE_HOOKS[key]) == 1
    del t
    gc.collect()
    assert key not in post_accumulate.POST_ACCUMULATE_HOOKS


def test_post_accumulate_hook_changing_grad_in_place_does_not_reach_other_gradients():
    """The leaf is written while the rest of the graph still runs: a hook that scales its
    ``.grad`` in place must not change the gradient another branch is still using."""
    results = []
    for lib in (torch, cr):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)

        def scale(p):
            p.grad.mul_(100.0)

        a.register_post_accumulate_grad_hook(scale)
        h = w * 2
        ((a + h) * 5).sum().backward()  # AddBackward sends the same gradient to a and h
        results.append((a.grad.tolist(), w.grad.tolist()))
    assert results[1] == results[0] == ([500.0, 500.0], [10.0, 10.0])


def test_post_accumulate_hook_removal_leaves_no_entry():
    from chainrule.autograd.post_accumulate import POST_ACCUMULATE_HOOKS

    before = dict(POST_ACCUMULATE_HOOKS)
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (w * 3).sum().backward()
    handle.remove()
    handle.remove()  # twice is harmless, as in torch
    assert dict(POST_ACCUMULATE_HOOKS) == before  # the engine is back on its plain path
    (w * 3).sum().backward()
    assert len(seen) == 1
    again = w.register_post_accumulate_grad_hook(lambda t: seen.append(None))
    (w * 3).sum().backward()
    assert len(seen) == 2
    again.remove()
    assert dict(POST_ACCUMULATE_HOOKS) == before
