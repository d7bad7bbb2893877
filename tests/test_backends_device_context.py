"""``cr.backends.mkldnn`` / ``openmp`` and ``with cr.device(...)``, as scripts use them."""

from __future__ import annotations

import importlib.util

import pytest
import torch

import chainrule as cr


def test_mkldnn_flags_read_and_write_like_torch_and_report_no_onednn():
    assert cr.backends.mkldnn.is_available() is False  # chainrule never calls oneDNN
    assert cr.backends.mkldnn.enabled is torch.backends.mkldnn.enabled is True
    assert cr.backends.mkldnn.deterministic is torch.backends.mkldnn.deterministic is False
    cr.backends.mkldnn.enabled = False
    try:
        assert cr.backends.mkldnn.enabled is False
    finally:
        cr.backends.mkldnn.enabled = True


def test_openmp_reports_whether_the_compiled_kernels_can_use_it():
    has_numba = importlib.util.find_spec("numba") is not None
    expected = has_numba and importlib.util.find_spec("numba.np.ufunc.omppool") is not None
    assert cr.backends.openmp.is_available() is expected


def test_device_as_a_context_manager():
    for lib in (torch, cr):
        with lib.device("cpu") as d:
            assert str(d) == "cpu" and lib.ones(1).device.type == "cpu"
    with pytest.raises(NotImplementedError, match="default device"), cr.device("cuda"):
        pass
