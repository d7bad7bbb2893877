"""Gaps found by the session-29 (batch g) drop-in programs (``hf_trainer_accum_early_stop``,
``deepspeech2_logmel_frontend``, ``ddpg_ou_noise``), each checked against PyTorch.

The three programs matched PyTorch as first written; probing the APIs around their idioms
(``torch.as_tensor`` / ``torch.from_numpy`` of replay-buffer arrays, ``hann_window``, ``stft``,
``torch.minimum``, ``clamp`` with tensor bounds, ``lerp_``) found this difference, now closed:

- ``from_numpy`` / ``as_tensor`` of a read-only NumPy array (an ``np.broadcast_to`` view, a
  frozen buffer) did not warn; PyTorch warns once per process ("The given NumPy array is not
  writable, and PyTorch does not support non-writable tensors...").

Left as it is (reported): PyTorch refuses an array with a negative stride (``arr[::-1]``,
``np.flip``) in ``from_numpy`` / ``as_tensor`` / ``tensor`` with a ValueError; chainrule accepts
it (its serialization and ``slice_inverse`` tests build negative-stride tensors that way).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from _forked import run_forked

import chainrule
from chainrule import _user_warnings

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]

_FNS = ["from_numpy", "as_tensor"]

# One case, in a process of its own: torch's warning is once per process.
_TORCH_CASE = """
a = np.broadcast_to(np.arange(3.0), (2, 3))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    t = torch.{fn}(a)
    torch.{fn}(a)
print(len(w), w[0].category.__name__, str(w[0].message).split(" This type")[0], t.shape[0])
"""


@functools.cache
def _torch_read_only_warnings() -> list[str]:
    """Per function of :data:`_FNS`, what torch's case prints in a fresh process state (one
    interpreter imports torch, then forks one child per case)."""
    bodies = [_TORCH_CASE.format(fn=fn) for fn in _FNS]
    return run_forked("import warnings, numpy as np, torch", bodies)


def _read_only() -> np.ndarray:
    return np.broadcast_to(np.arange(3.0), (2, 3))


@pytest.mark.parametrize("fn", _FNS)
def test_read_only_array_warns_once_like_torch(fn: str) -> None:
    # torch's warning is once per process: ask a fresh process state
    out = _torch_read_only_warnings()[_FNS.index(fn)].strip()
    want_count, want_category, rest = out.split(" ", 2)
    want_message, want_rows = rest.rsplit(" ", 1)
    assert (want_count, want_category, want_rows) == ("1", "UserWarning", "2"), out

    _user_warnings._issued.discard("numpy_not_writable")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = getattr(chainrule, fn)(_read_only())
        getattr(chainrule, fn)(_read_only())
    assert len(w) == 1 and w[0].category is UserWarning
    assert str(w[0].message).split(" This type")[0] == want_message
    assert w[0].filename == __file__  # attributed to the caller's line
    assert t.shape == (2, 3) and t.stride() == (0, 1)
    np.testing.assert_array_equal(t.numpy(), _read_only())


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_writable_arrays_and_copies_do_not_warn(m) -> None:
    a = np.arange(3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shared = m.from_numpy(a)
        m.as_tensor(a)
        m.as_tensor([1.0, 2.0])
    shared.add_(1)
    assert a.tolist() == [1.0, 2.0, 3.0]  # from_numpy shares the memory


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_replay_buffer_conversions(m) -> None:
    """DDPG's replay-buffer idioms: ``as_tensor(..., dtype=float32)`` of float32 rows,
    ``from_numpy(...).float()`` of float64 rows, fancy-indexed (so copied, writable) arrays."""
    buf = np.arange(12, dtype=np.float32).reshape(6, 2)
    idx = np.array([4, 1, 3])
    a = m.as_tensor(buf[idx], dtype=m.float32)
    b = m.from_numpy(buf.astype(np.float64)[idx]).float()
    assert a.dtype == b.dtype == m.float32
    assert a.tolist() == b.tolist() == [[8.0, 9.0], [2.0, 3.0], [6.0, 7.0]]
    shared = m.as_tensor(buf)
    buf[0, 0] = -1.0
    assert shared[0, 0].item() == -1.0  # same dtype: no copy


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_clamp_with_tensor_bounds_and_lerp_soft_update(m) -> None:
    low = m.tensor([-1.0, -0.5])
    high = m.tensor([1.0, 1.5])
    a = m.tensor([[-3.0, 0.25], [0.5, 4.0]])
    assert m.clamp(a, low, high).tolist() == [[-1.0, 0.25], [0.5, 1.5]]
    assert m.equal(m.clamp(a, low, high), m.max(m.min(a, high), low))
    assert m.clamp(a, min=low).tolist() == [[-1.0, 0.25], [0.5, 4.0]]
    target, source = m.tensor([0.0, 4.0]), m.tensor([1.0, 0.0])
    lerped = target.clone().lerp_(source, 0.25)
    by_data = target.clone().mul_(1 - 0.25).add_(0.25 * source)
    assert lerped.tolist() == by_data.tolist() == [0.25, 3.0]
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        m.tensor([0.0]).lerp_(m.tensor([1.0, 1.0]), 0.5)
