"""Gaps found by the session-21 drop-in programs (``diffusers_scheduler_unet``,
``graphsage_sampling``, ``sparsemax_entmax``, ``yolo_training_utils``, ``simsiam_knn_monitor``)
and by probing the modules next to their idioms, each checked against PyTorch.

- ``nn.Module.__setattr__`` refused every attribute set before ``super().__init__()``
  (AttributeError); TabNet's ``Sparsemax`` / ``Entmax15`` modules write ``self.dim = dim``
  first. PyTorch lets a plain value (an int, a list, even a plain tensor) in and refuses only
  the registered kinds, with "cannot assign parameters / module / buffer before
  Module.__init__() call" (chainrule's message goes on with the name and the fix).
- ``Tensor.chunk`` with a NumPy integer (``x.chunk(np.int64(3))``, what ``np.ceil(...).astype(
  int)`` gives; TabNet's ``GhostBatchNorm`` chunk count) failed inside ``split`` with "'numpy.int64'
  object is not iterable"; PyTorch takes it as an int. A ``chunks`` that is no integer (``3.0``,
  ``True``, ``None``) raised RuntimeError; PyTorch raises TypeError ("chunk(): argument 'chunks'
  (position 1) must be int, not float") and keeps RuntimeError ("chunk expects `chunks` to be
  greater than 0, got: 0") for a count below 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _early_module(lib: Any, value: Any) -> Any:
    class Early(lib.nn.Module):
        def __init__(self) -> None:
            self.dim = value  # before super().__init__(), as TabNet's Sparsemax
            super().__init__()

    return Early()


@pytest.mark.parametrize("make", [lambda lib: -1, lambda lib: [1, 2], lambda lib: lib.ones(2)])
def test_plain_attribute_before_module_init(make: Any) -> None:
    for lib in LIBS:
        module = _early_module(lib, make(lib))
        assert module.dim is not None
        assert list(module.state_dict()) == []
        assert module.training is True  # Module.__init__ still runs after the early write
        assert repr(module) == "Early()"


@pytest.mark.parametrize(
    "make,kind",
    [
        (lambda lib: lib.nn.Parameter(lib.ones(1)), "parameters"),
        (lambda lib: lib.nn.Linear(1, 1), "module"),
        (lambda lib: lib.nn.Buffer(lib.ones(1)), "buffer"),
    ],
)
def test_registered_attribute_before_module_init_raises(make: Any, kind: str) -> None:
    messages = []
    for lib in LIBS:
        with pytest.raises(AttributeError) as info:
            _early_module(lib, make(lib))
        messages.append(str(info.value))
    want = f"cannot assign {kind} before Module.__init__() call"
    assert messages[0] == want
    assert messages[1].startswith(want)  # chainrule adds the attribute's name and the fix


@pytest.mark.parametrize("chunks", [np.int64(3), np.int32(2), 4])
@pytest.mark.parametrize("shape", [(5, 2), (0, 2)])
def test_chunk_takes_numpy_integers(chunks: Any, shape: tuple) -> None:
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    want = torch.from_numpy(data).chunk(chunks, 0)
    got = chainrule.from_numpy(data).chunk(chunks, 0)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert len(chainrule.chunk(chainrule.from_numpy(data), chunks)) == len(want)


@pytest.mark.parametrize("chunks", [3.0, True, None, "2", np.float64(2.0)])
def test_chunk_count_of_wrong_type_is_a_type_error(chunks: Any) -> None:
    messages = []
    for lib in LIBS:
        with pytest.raises(TypeError) as info:
            lib.ones(5, 2).chunk(chunks)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("chunks", [0, -2])
def test_chunk_count_below_one_is_a_runtime_error(chunks: int) -> None:
    messages = []
    for lib in LIBS:
        with pytest.raises(RuntimeError) as info:
            lib.chunk(lib.ones(5, 2), chunks)
        messages.append(str(info.value))
    assert (
        messages[0] == messages[1] == f"chunk expects `chunks` to be greater than 0, got: {chunks}"
    )
