"""``fuse_modules`` against PyTorch: the fused model's repr (``torch.ao.nn.intrinsic`` names,
``nn.Identity`` in the fused positions), the folded conv-bn / linear-bn weights, the
outputs, the state-dict keys and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

tq = torch.ao.quantization
cq = cr.ao.quantization


def _model(nn):
    return nn.Sequential(
        nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),  # 0-2
        nn.Conv2d(3, 3, 1, bias=False), nn.BatchNorm2d(3),  # 3-4
        nn.Conv2d(3, 3, 1), nn.ReLU(),  # 5-6
        nn.BatchNorm2d(3), nn.ReLU(),  # 7-8
        nn.Flatten(), nn.Linear(48, 5), nn.ReLU(),  # 9-11
        nn.Linear(5, 4), nn.BatchNorm1d(4),  # 12-13
    )  # fmt: skip


GROUPS = [["0", "1", "2"], ["3", "4"], ["5", "6"], ["7", "8"], ["10", "11"], ["12", "13"]]


def _pair():
    torch.manual_seed(0)
    tm = _model(torch.nn)
    # non-trivial running statistics and affine parameters
    with torch.no_grad():
        for m in tm.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    tm.eval()
    cm = _model(cr.nn)
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    cm.eval()
    return tm, cm


def test_fuse_modules_matches_torch() -> None:
    tm, cm = _pair()
    tf = tq.fuse_modules(tm, GROUPS)
    cf = cq.fuse_modules(cm, GROUPS)
    assert repr(cf) == repr(tf)
    assert type(cf[0]) is cr.ao.nn.intrinsic.ConvReLU2d
    assert cr.nn.intrinsic.LinearReLU is cr.ao.nn.intrinsic.LinearReLU
    assert list(cf.state_dict()) == list(tf.state_dict())
    for key, value in tf.state_dict().items():
        np.testing.assert_array_equal(cf.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    with torch.no_grad():
        want = tf(torch.from_numpy(x)).numpy()
        unfused = tm(torch.from_numpy(x)).numpy()
    got = cf(cr.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, unfused, rtol=1e-4, atol=1e-5)
    # the original models are untouched (inplace=False)
    assert type(cm[1]).__name__ == "BatchNorm2d"


def test_flat_list_inplace_and_nested_names() -> None:
    tm, cm = _pair()
    tf = tq.fuse_modules(tm, ["0", "1", "2"])
    assert cq.fuse_modules(cm, ["0", "1", "2"], inplace=True) is cm
    assert repr(cm) == repr(tf)
    outer_t = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()))
    outer_c = cr.nn.Sequential(cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.ReLU()))
    assert repr(cq.fuse_modules(outer_c, [["0.0", "0.1"]])) == repr(
        tq.fuse_modules(outer_t, [["0.0", "0.1"]])
    )


def test_errors_like_torch() -> None:
    tm, cm = _pair()
    with pytest.raises(AssertionError, match="did not find fuser method"):
        tq.fuse_modules(tm, [["12", "13", "0"]])
    with pytest.raises(AssertionError, match="did not find fuser method"):
        cq.fuse_modules(cm, [["12", "13", "0"]])
    tm.train()
    cm.train()
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        tq.fuse_modules(tm, [["0", "1"]])
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        cq.fuse_modules(cm, [["0", "1"]])
    with pytest.raises(AssertionError, match="Incorrect types for input modules"):
        torch.ao.nn.intrinsic.LinearReLU(torch.nn.Linear(2, 3), torch.nn.Sigmoid())
    with pytest.raises(AssertionError, match="Incorrect types for input modules"):
        cr.ao.nn.intrinsic.LinearReLU(cr.nn.Linear(2, 3), cr.nn.Sigmoid())
    # conv + relu fuses in training mode too
    assert repr(cq.fuse_modules(cm, [["5", "6"]])) == repr(tq.fuse_modules(tm, [["5", "6"]]))
