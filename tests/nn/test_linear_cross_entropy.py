"""``F.linear_cross_entropy``, ``nn.LinearCrossEntropyLoss`` and
``nn.LinearCrossEntropyOptions`` against PyTorch: values and gradients of the reference
path (options=None) and of the chunked path, PyTorch's chunk-size resolution, fallback
warning and errors."""

from __future__ import annotations

import dataclasses
import tracemalloc
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn import LinearCrossEntropyLoss, LinearCrossEntropyOptions
from chainrule.nn.functional.linear_loss import _chunk_size

N, D, C, K = 6, 4, 5, 3


def _data(seed, *, k=None, probs=False, unbatched=False, ignore=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(D if unbatched else (N, D))
    w = rng.standard_normal((C, D) if k is None else (C, k, D))
    b = rng.standard_normal((C,) if k is None else (C, k))
    cw = rng.uniform(0.5, 2.0, C)
    lead = () if unbatched else (N,)
    tail = () if k is None else (k,)
    if probs:
        t = rng.uniform(size=(*lead, C, *tail))
        t = t / t.sum(axis=len(lead), keepdims=True)
    else:
        t = rng.integers(0, C, (*lead, *tail))
        if ignore and t.ndim:
            t.flat[::3] = 2 if ignore == "index" else -100
    return x, w, b, cw, t


def _run(lib, arrays, *, bias, class_weight, **kw):
    x, w, b, cw, t = arrays
    xs = lib.tensor(x, requires_grad=True)
    ws = lib.tensor(w, requires_grad=True)
    bs = lib.tensor(b, requires_grad=True) if bias else None
    f = torch.nn.functional if lib is torch else F
    out = f.linear_cross_entropy(
        xs,
        ws,
        lib.tensor(t),
        linear_bias=bs,
        weight=lib.tensor(cw) if class_weight else None,
        **kw,
    )
    out.sum().backward()
    grads = [xs.grad, ws.grad] + ([bs.grad] if bias else [])
    return out.detach().numpy(), [g.numpy() for g in grads]


def _compare(arrays, **kw):
    with warnings.catch_warnings(record=True) as seen_t:
        warnings.simplefilter("always")
        vt, gt = _run(torch, arrays, **kw)
    with warnings.catch_warnings(record=True) as seen_c:
        warnings.simplefilter("always")
        vc, gc = _run(cr, arrays, **kw)
    assert vc.shape == vt.shape
    np.testing.assert_allclose(vc, vt, rtol=1e-10, atol=1e-12)
    assert len(gc) == len(gt)
    for a, b in zip(gc, gt):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    return [str(w.message) for w in seen_c], [str(w.message) for w in seen_t]


def _torch_options(opts):
    if opts is None:
        return None
    return torch.nn.LinearCrossEntropyOptions(
        allow_retain_graph=opts.allow_retain_graph,
        batch_chunk_size=opts.batch_chunk_size,
        chunking_method=opts.chunking_method,
        acc_policy=opts.acc_policy,
    )


# -- reference path


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("class_weight", [False, True])
@pytest.mark.parametrize(
    "case",
    ["indices", "ignored", "ignore_index_2", "probs", "unbatched", "kdim", "kdim_probs", "smooth"],
)
def test_reference_path_matches_torch(case, reduction, bias, class_weight):
    kw: dict = {"reduction": reduction, "bias": bias, "class_weight": class_weight}
    data_kw: dict = {}
    if case == "ignored":
        data_kw["ignore"] = "default"
    elif case == "ignore_index_2":
        data_kw["ignore"] = "index"
        kw["ignore_index"] = 2
    elif case == "probs":
        data_kw["probs"] = True
    elif case == "unbatched":
        data_kw["unbatched"] = True
    elif case in ("kdim", "kdim_probs"):
        data_kw.update(k=K, probs=case == "kdim_probs")
    elif case == "smooth":
        data_kw["ignore"] = "default"
        kw["label_smoothing"] = 0.2
    _compare(_data(1, **data_kw), **kw)


def test_reference_path_gradcheck_and_gradgradcheck():
    x, w, b, cw, t = _data(2, ignore="default")
    args = (
        cr.tensor(x, requires_grad=True),
        cr.tensor(w, requires_grad=True),
        cr.tensor(b, requires_grad=True),
    )
    target, weight = cr.tensor(t), cr.tensor(cw)

    def f(xx, ww, bb):
        return F.linear_cross_entropy(
            xx, ww, target, linear_bias=bb, weight=weight, label_smoothing=0.1
        )

    assert cr.autograd.gradcheck(f, args)
    assert cr.autograd.gradgradcheck(f, args)


# -- chunked path


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "opts",
    [
        LinearCrossEntropyOptions(),
        LinearCrossEntropyOptions(batch_chunk_size=4, chunking_method=None),
        LinearCrossEntropyOptions(batch_chunk_size=1),
        LinearCrossEntropyOptions(chunking_method="aspect_ratio", acc_policy="accurate"),
        LinearCrossEntropyOptions(batch_chunk_size=100, chunking_method=None),
    ],
    ids=["auto", "4", "1", "aspect", "big"],
)
@pytest.mark.parametrize("data_kw", [{}, {"ignore": "default"}, {"unbatched": True}])
def test_chunked_path_matches_torch(opts, reduction, data_kw):
    x, w, b, cw, t = _data(3, **data_kw)
    # the same data through each library's chunked path (values and gradients)
    res = []
    for lib, o in ((cr, opts), (torch, _torch_options(opts))):
        xs, ws, bs = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        f = torch.nn.functional if lib is torch else F
        out = f.linear_cross_entropy(
            xs,
            ws,
            lib.tensor(t),
            linear_bias=bs,
            weight=lib.tensor(cw),
            reduction=reduction,
            options=o,
        )
        out.sum().backward()
        res.append([out.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy()])
    for a, b_ in zip(*res):
        assert a.shape == b_.shape
        np.testing.assert_allclose(a, b_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "opts",
    [
        LinearCrossEntropyOptions(),
        LinearCrossEntropyOptions(batch_chunk_size=3),
        LinearCrossEntropyOptions(chunking_method="aspect_ratio"),
        LinearCrossEntropyOptions(chunking_method="aspect_ratio:4"),
        LinearCrossEntropyOptions(batch_chunk_size=7, chunking_method=None),
        LinearCrossEntropyOptions(batch_chunk_size=10_000, chunking_method=None),
    ],
)
@pytest.mark.parametrize("shape", [(64, 8, 100), (5, 16, 4), (1000, 3, 50_000), (33, 7, 7)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chunk_size_resolution_matches_torch(opts, shape, dtype):
    n, d, c = shape
    adjusted = _torch_options(opts)._adjust(
        num_batches=n,
        in_features=d,
        num_classes=c,
        dtype=getattr(torch, dtype),
        device=torch.device("cpu"),
    )
    assert _chunk_size(opts, n, d, c, np.dtype(dtype)) == adjusted.batch_chunk_size


def test_chunk_size_conflict_raises_like_torch():
    opts = LinearCrossEntropyOptions(batch_chunk_size=3, chunking_method="aspect_ratio")
    with pytest.raises(ValueError, match="give different chunk sizes"):
        _chunk_size(opts, 64, 8, 100, np.dtype("float64"))
    with pytest.raises(ValueError, match="give different chunk sizes"):
        _torch_options(opts)._adjust(64, 8, 100, torch.float64, torch.device("cpu"))


def test_chunked_path_does_not_keep_the_logits():
    """Peak memory of forward + backward stays far below one (N, C) logits array."""
    rng = np.random.default_rng(4)
    n, d, c = 2048, 4, 1024
    x = cr.tensor(rng.standard_normal((n, d)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((c, d)), requires_grad=True)
    t = cr.tensor(rng.integers(0, c, n))
    logits_bytes = n * c * 8
    peaks = {}
    for name, opts in (
        ("chunked", LinearCrossEntropyOptions(batch_chunk_size=64)),
        ("reference", None),
    ):
        x.grad = w.grad = None
        tracemalloc.start()
        F.linear_cross_entropy(x, w, t, options=opts).backward()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks["chunked"] < logits_bytes / 4
    assert peaks["reference"] > logits_bytes  # the measurement sees the logits when kept


def test_chunked_second_backward_guard_as_torch():
    x, w, _, _, t = _data(5)
    for lib, make in ((cr, LinearCrossEntropyOptions), (torch, torch.nn.LinearCrossEntropyOptions)):
        f = torch.nn.functional if lib is torch else F
        xs, ws = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = f.linear_cross_entropy(xs, ws, lib.tensor(t), options=make(batch_chunk_size=2))
        out.backward(retain_graph=True)
        with pytest.raises(RuntimeError, match="called twice"):
            out.backward()
        out = f.linear_cross_entropy(
            xs, ws, lib.tensor(t), options=make(batch_chunk_size=2, allow_retain_graph=True)
        )
        xs.grad = None
        out.backward(retain_graph=True)
        first = xs.grad.clone()
        out.backward()
        np.testing.assert_allclose(xs.grad.numpy(), 2 * first.numpy())
        out = f.linear_cross_entropy(
            xs, ws, lib.tensor(t), options=make(batch_chunk_size=2), reduction="none"
        )
        out.sum().backward(retain_graph=True)
        out.sum().backward()  # 'none' recomputes: no guard


def test_chunked_path_has_no_double_backward():
    x, w, _, _, t = _data(6)
    xs = cr.tensor(x, requires_grad=True)
    out = F.linear_cross_entropy(
        xs, cr.tensor(w), cr.tensor(t), options=LinearCrossEntropyOptions()
    )
    with pytest.raises(RuntimeError, match="no double backward"):
        cr.autograd.grad(out, xs, create_graph=True)


@pytest.mark.parametrize(
    "kw",
    [
        {"label_smoothing": 0.1},
        {"k": K},
        {"probs": True},
        {"uint8": True},
    ],
    ids=["smoothing", "kdim", "probs", "uint8"],
)
def test_unsupported_options_fall_back_with_torchs_warning(kw):
    kw = dict(kw)
    smoothing = kw.pop("label_smoothing", 0.0)
    uint8 = kw.pop("uint8", False)
    x, w, b, cw, t = _data(7, **kw)
    if uint8:
        t = t.astype(np.uint8)
    msgs = []
    for lib, make in ((cr, LinearCrossEntropyOptions), (torch, torch.nn.LinearCrossEntropyOptions)):
        f = torch.nn.functional if lib is torch else F
        with pytest.warns(UserWarning, match="``options`` ignored") as rec:
            out = f.linear_cross_entropy(
                lib.tensor(x),
                lib.tensor(w),
                lib.tensor(t),
                label_smoothing=smoothing,
                options=make(),
            )
        msgs.append(out.numpy())
        assert len(rec) == 1
    np.testing.assert_allclose(msgs[0], msgs[1], rtol=1e-10)


def test_options_validation_matches_torch():
    for kw in (
        {"acc_policy": "fast"},
        {"chunking_method": "aspect_ratio:0"},
        {"chunking_method": "rows"},
        {"batch_chunk_size": 0},
        {"batch_chunk_size": 2.0},
    ):
        with pytest.raises(ValueError):
            torch.nn.LinearCrossEntropyOptions(**kw)
        with pytest.raises(ValueError):
            LinearCrossEntropyOptions(**kw)
    with pytest.raises(ValueError, match="acc_dtype"):
        LinearCrossEntropyOptions(acc_dtype="int64")
    opts = LinearCrossEntropyOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.batch_chunk_size = 3


def test_options_mixed_precision_not_implemented():
    x, w, _, _, t = _data(8)
    args = (cr.tensor(x, dtype=cr.float32), cr.tensor(w, dtype=cr.float32), cr.tensor(t))
    with pytest.raises(NotImplementedError, match="acc_dtype=float64"):
        F.linear_cross_entropy(*args, options=LinearCrossEntropyOptions(acc_dtype=cr.float64))
    half = (cr.tensor(x, dtype=cr.float16), cr.tensor(w, dtype=cr.float16), cr.tensor(t))
    with pytest.raises(NotImplementedError, match="mixed-precision"):
        F.linear_cross_entropy(*half, options=LinearCrossEntropyOptions())
    out = F.linear_cross_entropy(*args, options=LinearCrossEntropyOptions(acc_dtype=cr.float32))
    ref = torch.nn.functional.linear_cross_entropy(
        torch.tensor(x, dtype=torch.float32),
        torch.tensor(w, dtype=torch.float32),
        torch.tensor(t),
    )
    assert out.dtype == cr.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "shapes",
    [
        ((2, 3, 4), (5, 4), (2,), None, None),  # input of 3 dims
        ((3, 4), (4,), (3,), None, None),  # weight of 1 dim
        ((3, 4), (5, 6), (3,), None, None),  # in_features differ
        ((3, 4), (5, 4), (3,), (4,), None),  # bias shape
        ((4,), (5, 2, 4), (2,), None, None),  # K-dim loss, unbatched input
        ((3, 4), (5, 4), "probs", None, 2),  # ignore_index with probabilities
    ],
)
def test_errors_match_torch(shapes):
    xs, ws, ts, bs, ii = shapes
    kinds = []
    for lib in (cr, torch):
        f = torch.nn.functional if lib is torch else F
        t = lib.rand(xs[0], ws[0]) if ts == "probs" else lib.zeros(ts, dtype=lib.int64)
        with pytest.raises(RuntimeError) as err:
            f.linear_cross_entropy(
                lib.rand(xs),
                lib.rand(ws),
                t,
                linear_bias=None if bs is None else lib.rand(bs),
                ignore_index=ii,
            )
        kinds.append(str(err.value))
    assert kinds[0] == kinds[1]


# -- the module


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("out_features", [(), (2,)])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_module_matches_torch(bias, out_features, reduction):
    rng = np.random.default_rng(9)
    kw = dict(out_features=out_features, bias=bias, reduction=reduction, label_smoothing=0.05)
    tm = torch.nn.LinearCrossEntropyLoss(D, C, dtype=torch.float64, **kw)
    cm = LinearCrossEntropyLoss(D, C, dtype=cr.float64, **kw)
    assert cm.linear.weight.shape == tuple(tm.linear.weight.shape)
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = rng.standard_normal((N, D))
    t = rng.integers(0, C, (N, *out_features))
    vt = tm(torch.tensor(x), torch.tensor(t))
    vc = cm(cr.tensor(x), cr.tensor(t))
    np.testing.assert_allclose(vc.detach().numpy(), vt.detach().numpy(), rtol=1e-10)
    vt.sum().backward()
    vc.sum().backward()
    for (name, p), (_, q) in zip(cm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, err_msg=name)
    assert repr(cm) == repr(tm).replace("torch.float64", "float64")


def test_module_with_options_and_class_weight():
    rng = np.random.default_rng(10)
    cw = rng.uniform(0.5, 2, C)
    tm = torch.nn.LinearCrossEntropyLoss(
        D,
        C,
        bias=True,
        dtype=torch.float64,
        weight=torch.tensor(cw),
        options=torch.nn.LinearCrossEntropyOptions(batch_chunk_size=2),
    )
    cm = LinearCrossEntropyLoss(
        D,
        C,
        bias=True,
        dtype=cr.float64,
        weight=cr.tensor(cw),
        options=LinearCrossEntropyOptions(batch_chunk_size=2),
    )
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x, t = rng.standard_normal((N, D)), rng.integers(0, C, N)
    vt, vc = tm(torch.tensor(x), torch.tensor(t)), cm(cr.tensor(x), cr.tensor(t))
    np.testing.assert_allclose(vc.detach().numpy(), vt.detach().numpy(), rtol=1e-10)


def test_module_argument_errors_match_torch():
    for lib, cls in ((cr, LinearCrossEntropyLoss), (torch, torch.nn.LinearCrossEntropyLoss)):
        with pytest.raises(RuntimeError, match=r"expected weight shape to be \(5,\)"):
            cls(D, C, weight=lib.ones(4))
        with pytest.raises(RuntimeError, match="label_smoothing to be in range"):
            cls(D, C, label_smoothing=1.5)
