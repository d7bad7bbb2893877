"""``cr.cuda``'s random-state functions on a machine without a GPU, as PyTorch's CPU build
answers them (the GPU paths need CuPy and a device; see tests/test_devices.py)."""

from __future__ import annotations

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_all_device_forms_are_empty_without_a_gpu():
    assert not cr.cuda.is_available() and not torch.cuda.is_available()
    assert cr.cuda.get_rng_state_all() == torch.cuda.get_rng_state_all() == []
    assert cr.cuda.set_rng_state_all([]) is None and torch.cuda.set_rng_state_all([]) is None


def test_seeding_and_restoring_are_ignored_without_a_gpu():
    before = cr.get_rng_state()
    for lib in (cr, torch):
        assert lib.cuda.seed() is None and lib.cuda.seed_all() is None
        lib.cuda.set_rng_state(lib.get_rng_state())
    cr.cuda.set_rng_state(cr.get_rng_state())
    assert cr.equal(cr.get_rng_state(), before)


def test_reading_a_gpu_state_without_a_gpu_raises():
    for name in ("get_rng_state", "initial_seed"):
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            getattr(cr.cuda, name)()
        with pytest.raises((AssertionError, RuntimeError)):  # torch's CPU build: an assert
            getattr(torch.cuda, name)()


def test_a_seed_everything_helper_runs_unchanged():
    def seed_everything(lib, seed):
        lib.manual_seed(seed)
        lib.cuda.manual_seed_all(seed)
        return lib.get_rng_state(), lib.cuda.get_rng_state_all()

    _, cuda_states = seed_everything(cr, 3)
    assert cuda_states == []
    a = cr.rand(3)
    seed_everything(cr, 3)
    assert cr.equal(a, cr.rand(3))
