"""Autocast's low-level per-thread state functions against torch's: set/is/get enabled and
dtype per device, the legacy one-argument and deprecated ``*_cpu_*``/``*_gpu_*`` spellings,
nesting and the cast-cache flag, threads, and casting turned on without a block."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.fixture(autouse=True)
def _restore_state():
    """Every test leaves both libraries' thread state at the defaults."""
    yield
    for lib in (cr, torch):
        lib.set_autocast_enabled("cpu", False)
        lib.set_autocast_enabled("cuda", False)
        lib.set_autocast_dtype("cpu", lib.bfloat16)
        lib.set_autocast_dtype("cuda", lib.float16)
        lib.set_autocast_cache_enabled(True)
        while lib.autocast_increment_nesting() > 1:  # back to 0
            lib.autocast_decrement_nesting()
            lib.autocast_decrement_nesting()
        lib.autocast_decrement_nesting()


def _name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def test_set_autocast_enabled_casts_like_a_block():
    a = np.random.default_rng(0).normal(size=(3, 3))
    for lib in (cr, torch):
        assert lib.is_autocast_enabled("cpu") is False
        lib.set_autocast_enabled("cpu", True)
        assert lib.is_autocast_enabled("cpu") is True
        t = lib.tensor(a, dtype=lib.float32)
        assert _name((t @ t).dtype) == "bfloat16"
        lib.set_autocast_enabled("cpu", False)
        assert _name((t @ t).dtype) == "float32"
    x = cr.tensor(a, dtype=cr.float32, requires_grad=True)
    cr.set_autocast_enabled("cpu", True)
    (x @ x).float().sum().backward()
    cr.set_autocast_enabled("cpu", False)
    assert x.grad.dtype == cr.float32


def test_disabling_inside_a_block_and_restoring_on_exit():
    a = np.ones((2, 2))
    for lib in (cr, torch):
        t = lib.tensor(a, dtype=lib.float32)
        with lib.autocast("cpu"):
            assert lib.is_autocast_enabled("cpu")
            lib.set_autocast_enabled("cpu", False)
            assert _name((t @ t).dtype) == "float32"
        assert lib.is_autocast_enabled("cpu") is False
        assert _name((t @ t).dtype) == "float32"
        lib.set_autocast_enabled("cpu", True)
        with lib.autocast("cpu", enabled=False):
            assert _name((t @ t).dtype) == "float32"
        assert _name((t @ t).dtype) == "bfloat16"
        lib.set_autocast_enabled("cpu", False)


def test_dtype_setters_and_the_default_of_a_later_block():
    for lib in (cr, torch):
        assert _name(lib.get_autocast_dtype("cpu")) == "bfloat16"
        assert _name(lib.get_autocast_dtype("cuda")) == "float16"
        lib.set_autocast_dtype("cuda", lib.bfloat16)
        assert _name(lib.get_autocast_dtype("cuda")) == "bfloat16"
        lib.set_autocast_dtype("cpu", lib.float64)  # accepted; a block then disables itself
        assert _name(lib.get_autocast_dtype("cpu")) == "float64"
        with pytest.warns(UserWarning, match="not supported"), lib.autocast("cpu"):
            assert lib.is_autocast_enabled("cpu") is False
        with pytest.raises(TypeError, match="dtype"):
            lib.set_autocast_dtype("cpu", "float32")


def test_legacy_and_deprecated_spellings():
    for lib in (cr, torch):
        lib.set_autocast_enabled(True)  # one argument: CUDA's flag
        assert lib.is_autocast_enabled() is True and lib.is_autocast_enabled("cuda") is True
        assert lib.is_autocast_enabled("cpu") is False
        lib.set_autocast_enabled(False)
        checks = [
            ("is_autocast_cpu_enabled", (), False),
            ("get_autocast_cpu_dtype", (), "bfloat16"),
            ("get_autocast_gpu_dtype", (), "float16"),
            ("set_autocast_cpu_dtype", (lib.bfloat16,), None),
            ("set_autocast_gpu_dtype", (lib.float16,), None),
            ("set_autocast_cpu_enabled", (False,), None),
        ]
        for name, args, expected in checks:
            with pytest.warns(DeprecationWarning, match=f"{name}.*deprecated"):
                result = getattr(lib, name)(*args)
            assert (_name(result) if "dtype" in name and result is not None else result) == (
                expected
            ), name


def test_argument_errors_match_torch():
    for lib in (cr, torch):
        with pytest.raises(TypeError, match="must be bool, not int"):
            lib.set_autocast_enabled("cpu", 1)
        with pytest.raises(TypeError, match="must be bool, not str"):
            lib.set_autocast_enabled("cpu")
        with pytest.raises(RuntimeError):
            lib.set_autocast_enabled("foo", True)
        with pytest.raises(TypeError, match="bool"):
            lib.set_autocast_cache_enabled(None)


def test_nesting_counts_blocks_and_calls():
    for lib in (cr, torch):
        assert lib.autocast_increment_nesting() == 1
        assert lib.autocast_decrement_nesting() == 0
        with lib.autocast("cpu", enabled=False):
            assert lib.autocast_increment_nesting() == 2
            assert lib.autocast_decrement_nesting() == 1
        with lib.autocast("cpu"), lib.autocast("cpu"):
            assert lib.autocast_increment_nesting() == 3
            lib.autocast_decrement_nesting()
        assert lib.autocast_decrement_nesting() == -1  # torch does not stop at zero
        assert lib.autocast_increment_nesting() == 0


def test_cache_flag_follows_blocks():
    for lib in (cr, torch):
        assert lib.is_autocast_cache_enabled() is True
        with lib.autocast("cpu", cache_enabled=False):
            assert lib.is_autocast_cache_enabled() is False
        assert lib.is_autocast_cache_enabled() is True
        lib.set_autocast_cache_enabled(False)
        with lib.autocast("cpu"):  # None keeps the thread's flag
            assert lib.is_autocast_cache_enabled() is False
        lib.set_autocast_cache_enabled(True)
        assert lib.clear_autocast_cache() is None


def test_state_is_per_thread():
    for lib in (cr, torch):
        lib.set_autocast_enabled("cpu", True)
        lib.set_autocast_dtype("cuda", lib.bfloat16)
        lib.set_autocast_cache_enabled(False)
        lib.autocast_increment_nesting()
        seen = []

        def look(lib=lib, seen=seen):
            seen.append(
                (
                    lib.is_autocast_enabled("cpu"),
                    _name(lib.get_autocast_dtype("cuda")),
                    lib.is_autocast_cache_enabled(),
                    lib.autocast_increment_nesting(),
                )
            )

        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
        assert seen == [(False, "float16", True, 1)]
        a = lib.ones(2, 2)
        assert _name((a @ a).dtype) == "bfloat16"  # still on in this thread
        lib.autocast_decrement_nesting()


def test_cpu_autocast_dtype_set_without_a_block_as_torch():
    a = np.random.default_rng(0).standard_normal((2, 2)).astype(np.float32)
    for half in ("float16", "bfloat16"):
        for lib in (torch, cr):
            lib.set_autocast_dtype("cpu", getattr(lib, half))
            lib.set_autocast_enabled("cpu", True)
            try:
                t = lib.tensor(a)
                assert str((t @ t).dtype).endswith(half)
            finally:
                lib.set_autocast_enabled("cpu", False)
    with pytest.raises(NotImplementedError, match="bfloat16 or float16"):
        cr.set_autocast_dtype("cpu", cr.float64) or cr.set_autocast_enabled("cpu", True)
    assert cr.is_autocast_enabled("cpu") is False
    cr.set_autocast_dtype("cpu", cr.bfloat16)
    cr.set_autocast_enabled("cpu", True)
    with pytest.raises(NotImplementedError, match="bfloat16 or float16"):
        cr.set_autocast_dtype("cpu", cr.float32)
    assert cr.get_autocast_dtype("cpu") == cr.bfloat16
    cr.set_autocast_enabled("cpu", False)
    cr.set_autocast_enabled("cuda", True)  # recorded, as torch's CPU build does
    assert cr.is_autocast_enabled("cuda")


def test_autocast_counter_returns_to_zero():
    from chainrule.autograd.lower_precision import AUTOCAST

    before = AUTOCAST[0]
    cr.set_autocast_enabled("cpu", True)
    cr.set_autocast_enabled("cpu", True)  # idempotent
    with cr.autocast("cpu"), cr.autocast("cpu", enabled=False):
        assert AUTOCAST[0] == before
    assert AUTOCAST[0] == before + 1
    cr.set_autocast_enabled("cpu", False)
    assert AUTOCAST[0] == before
