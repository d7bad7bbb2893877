"""``torch.futures`` (Future, collect_all, wait_all) and the root ``fork``/``wait``,
compared with torch 2.13 where the behaviour is observable from Python."""

from __future__ import annotations

import threading
import warnings

import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_root_fork_wait_run_eagerly_without_warning(lib):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fut = lib.fork(lambda x, k: x + k, lib.tensor(1.0), k=2)
        assert fut.done()
        assert lib.wait(fut).item() == 3.0
    assert isinstance(fut, lib.Future)


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_collect_all_completes_when_every_future_has(lib):
    a, b = lib.futures.Future(), lib.futures.Future()
    combined = lib.futures.collect_all([a, b])
    assert not combined.done()
    a.set_result(1)
    assert not combined.done()
    b.set_result(2)
    assert combined.done()
    assert [f.value() for f in combined.wait()] == [1, 2]
    assert lib.futures.wait_all([a, b]) == [1, 2]


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_an_exception_reaches_wait_all_and_the_collected_wait(lib):
    ok, bad = lib.futures.Future(), lib.futures.Future()
    combined = lib.futures.collect_all([ok, bad])
    bad.set_exception(ValueError("boom"))
    assert not combined.done()  # completes only when every future has
    ok.set_result(1)
    with pytest.raises(ValueError, match="boom"):
        lib.futures.wait_all([ok, bad])
    assert combined.done()
    with pytest.raises(ValueError, match="boom"):
        combined.wait()


def test_collect_all_of_futures_completed_from_another_thread():
    futures = [cr.futures.Future() for _ in range(4)]
    combined = cr.futures.collect_all(futures)
    threads = [threading.Thread(target=f.set_result, args=(i,)) for i, f in enumerate(futures)]
    for t in threads:
        t.start()
    assert [f.value() for f in combined.wait()] == [0, 1, 2, 3]
    for t in threads:
        t.join()
    assert cr.futures.collect_all([]).wait() == []


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_bad_arguments_are_type_errors(lib):
    with pytest.raises(TypeError):
        lib.futures.collect_all([1])
    with pytest.raises(TypeError):
        lib.futures.wait_all([1])
    with pytest.raises(TypeError):
        lib.fork(1)
    with pytest.raises(TypeError):
        lib.wait(1)


def test_names_as_torch():
    assert cr.Future is cr.futures.Future is cr.jit.Future
    assert sorted(cr.futures.__all__) == sorted([*torch.futures.__all__, "fork", "wait"])
    assert {"fork", "wait", "Future"} <= set(cr.__all__)
