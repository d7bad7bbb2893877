"""Random states are ``uint8`` tensors, as PyTorch's ``ByteTensor``s: ``cr.get_rng_state``,
``cr.random.get_rng_state``, ``cr.Generator.get_state`` and ``cr.cuda``'s forms, the checks
``set_rng_state`` / ``Generator.set_state`` make (PyTorch's exception types), saving a state
with ``cr.save`` for ``torch.load(weights_only=True)``, and the states of chainrule's earlier
PCG64 generator (a dict, then a 56-byte tensor), which old training checkpoints hold and
which must still resume, drawing what that generator drew."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.io import _save
from chainrule.random import STATE_NBYTES, _encode
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

torch = pytest.importorskip("torch")

LIBS = pytest.mark.parametrize("lib", [cr, torch], ids=["cr", "torch"])


def _old_stream(seed: int) -> np.random.Generator:
    """The NumPy stream chainrule's generator was before 2026-12-04 (PCG64 of the seed)."""
    return np.random.Generator(np.random.PCG64(seed))


def _legacy(seed: int) -> dict:
    """The dict that ``Generator.get_state()`` returned, for a generator seeded ``seed``,
    before it returned a tensor."""
    st = _old_stream(seed).bit_generator.state
    return {
        "bit_generator": st["bit_generator"],
        "state": {k: int(v) for k, v in st["state"].items()},
        "has_uint32": int(st["has_uint32"]),
        "uinteger": int(st["uinteger"]),
        "seed": seed,
    }


@LIBS
def test_states_are_one_dimensional_uint8_cpu_tensors(lib):
    for state in (lib.get_rng_state(), lib.random.get_rng_state(), lib.Generator().get_state()):
        assert isinstance(state, lib.Tensor)
        assert state.dtype == lib.uint8 and state.dim() == 1
        assert state.device.type == "cpu" and not state.requires_grad and state.is_contiguous()
    assert lib.get_rng_state().numel() == lib.Generator().get_state().numel()


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3, 2**64 - 5])
@pytest.mark.parametrize("draws", [0, 1, 623, 624, 625, 5000])
def test_states_are_pytorchs_bytes(seed, draws):
    """The state is PyTorch's 5,056-byte mt19937 layout, byte for byte, after any number of
    draws (and with a cached normal after a 1-element randn)."""
    states = []
    for lib in (cr, torch):
        g = lib.Generator().manual_seed(seed)
        lib.rand(draws, generator=g)
        lib.randn(1, dtype=lib.float64, generator=g)
        states.append(g.get_state().numpy().tobytes())
    assert len(states[0]) == 5056
    assert states[0] == states[1]


def test_states_move_between_chainrule_and_torch():
    torch.manual_seed(3)
    torch.randn(1, dtype=torch.float64)  # a cached normal is part of the state
    cr.set_rng_state(cr.tensor(torch.get_rng_state().numpy()))
    expected = torch.randn(3, dtype=torch.float64), torch.rand(700)
    got = cr.randn(3, dtype=cr.float64), cr.rand(700)
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g.numpy(), e.numpy())
    cr.manual_seed(4)
    cr.rand(10)
    torch.set_rng_state(torch.tensor(cr.get_rng_state().numpy()))
    np.testing.assert_array_equal(torch.rand(5).numpy(), cr.rand(5).numpy())


def test_legacy_layout_header_and_seed():
    """A 56-byte state of the earlier PCG64 generator restores it, seed and stream."""
    state = _encode(_old_stream(2**64 - 5).bit_generator.state, 2**64 - 5)
    raw = state.numpy().tobytes()
    assert len(raw) == STATE_NBYTES and raw[:5] == b"CRNG\x01"
    g = cr.Generator().set_state(state)
    assert g.initial_seed() == 2**64 - 5
    expected = _old_stream(2**64 - 5).random(4).astype(np.float32)
    np.testing.assert_array_equal(cr.rand(4, generator=g).numpy(), expected)
    assert len(g.get_state().numpy().tobytes()) == STATE_NBYTES  # still the old stream
    g.manual_seed(1)  # reseeding returns to PyTorch's generator
    assert g.get_state().numel() == 5056


@LIBS
def test_round_trip_reproduces_the_draws(lib):
    lib.manual_seed(11)
    lib.rand(3)
    state = lib.get_rng_state()
    a = lib.randn(5)
    lib.set_rng_state(state)
    assert lib.equal(lib.randn(5), a)
    lib.set_rng_state(state.clone())
    assert lib.equal(lib.randn(5), a)
    lib.set_rng_state(state.view(2, -1))  # any shape
    assert lib.equal(lib.randn(5), a)


@LIBS
def test_generator_round_trip_restores_draws_and_initial_seed(lib):
    g = lib.Generator().manual_seed(123)
    lib.rand(2, generator=g)
    state = g.get_state()
    a = lib.rand(4, generator=g)
    g.manual_seed(5)
    assert g.set_state(state) is g
    assert g.initial_seed() == 123
    assert lib.equal(lib.rand(4, generator=g), a)
    other = lib.Generator().manual_seed(9)
    other.set_state(state)  # a state moves between generators
    assert lib.equal(lib.rand(4, generator=other), a)


@LIBS
def test_get_state_returns_a_fresh_copy(lib):
    g = lib.Generator().manual_seed(3)
    state = g.get_state()
    assert g.get_state() is not state
    kept = state.clone()
    state.zero_()  # mutating the returned tensor leaves the generator alone
    assert lib.equal(g.get_state(), kept)
    default = lib.get_rng_state()
    kept = default.clone()
    default.fill_(7)
    assert lib.equal(lib.get_rng_state(), kept)


def _bad_states(lib):
    good = lib.get_rng_state()
    return {
        "float tensor": (lib.zeros(3), TypeError),
        "short uint8 tensor": (lib.zeros(3, dtype=lib.uint8), RuntimeError),
        "int8 tensor": (good.to(lib.int8), TypeError),
        "list": ([1, 2], TypeError),
        "None": (None, TypeError),
        "other dict": ({"a": 1}, TypeError),
        "non-contiguous": (good[::2], RuntimeError),
        "right size, zeros": (lib.zeros(good.numel(), dtype=lib.uint8), RuntimeError),
    }


@pytest.mark.parametrize("case", list(_bad_states(cr)))
@pytest.mark.parametrize("setter", ["set_rng_state", "Generator.set_state"])
def test_bad_states_raise_torchs_exception_types(case, setter):
    for lib in (cr, torch):
        value, exc = _bad_states(lib)[case]
        before = lib.get_rng_state()
        target = lib.set_rng_state if setter == "set_rng_state" else lib.Generator().set_state
        with pytest.raises(exc):
            target(value)
        assert lib.equal(lib.get_rng_state(), before)  # nothing was restored


def test_chainrule_rejects_an_invalid_pcg64_state():
    state = _encode(_old_stream(5).bit_generator.state, 5)
    even = state.clone()
    even[24] = even[24] & 0xFE  # PCG64 increments are odd
    has_uint32 = state.clone()
    has_uint32[40] = 2
    for bad in (even, has_uint32):
        with pytest.raises(RuntimeError, match="invalid PCG64 state"):
            cr.set_rng_state(bad)
    with pytest.raises(RuntimeError, match="magic"):
        bumped = state.clone()
        bumped[4] = 2  # a layout version this chainrule does not know
        cr.set_rng_state(bumped)


def test_a_state_saved_by_cr_save_loads_in_torch_weights_only(tmp_path):
    cr.manual_seed(4)
    state = cr.get_rng_state()
    cr.save({"rng": state, "gen": cr.Generator().manual_seed(1).get_state()}, tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    assert isinstance(loaded["rng"], torch.Tensor) and loaded["rng"].dtype == torch.uint8
    assert loaded["rng"].numpy().tobytes() == state.numpy().tobytes()
    back = cr.load(tmp_path / "s.pt")["rng"]
    a = cr.rand(3)
    cr.set_rng_state(back)
    assert cr.equal(cr.rand(3), a)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_legacy_dict_state_still_restores(suffix, tmp_path):
    _save({"rng": _legacy(21)}, tmp_path / f"old{suffix}", allow_pickle=False)
    cr.manual_seed(0)
    cr.set_rng_state(cr.load(tmp_path / f"old{suffix}")["rng"])
    assert cr.initial_seed() == 21
    expected = _old_stream(21).standard_normal(4).astype(np.float32)  # what it drew then
    np.testing.assert_array_equal(cr.randn(4).numpy(), expected)
    old = _legacy(77)
    assert cr.Generator().set_state(old).initial_seed() == 77
    expected = _old_stream(77).random(2).astype(np.float32)
    np.testing.assert_array_equal(cr.rand(2, generator=cr.Generator().set_state(old)), expected)
    cr.manual_seed(0)  # the default generator is PyTorch's again
    assert cr.get_rng_state().numel() == 5056


def _old_checkpoint(path, model, seeds):
    """A training checkpoint as chainrule wrote it before states were tensors: the default
    generator and one generator, seeded ``seeds``, as PCG64 dicts."""
    _save(
        {
            "format": "chainrule-checkpoint",
            "model": model.state_dict(),
            "optimizer": None,
            "scheduler": None,
            "epoch": 2,
            "rng": _legacy(seeds[0]),
            "generators": [_legacy(seeds[1])],
            "callbacks": {},
            "extra": {},
        },
        path,
        allow_pickle=False,
    )


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_an_old_training_checkpoint_resumes(suffix, tmp_path):
    """It goes on with the numbers the old generator would have drawn."""
    model = nn.Linear(2, 2)
    _old_checkpoint(tmp_path / f"ck{suffix}", model, (8, 5))
    expected = (
        cr.tensor(_old_stream(8).random(3).astype(np.float32)),
        cr.tensor(_old_stream(5).permutation(6)),
    )
    cr.manual_seed(1)
    g2 = cr.Generator().manual_seed(99)
    state = load_checkpoint(tmp_path / f"ck{suffix}", nn.Linear(2, 2), generators=[g2])
    assert state["epoch"] == 2
    assert cr.equal(cr.rand(3), expected[0])
    assert cr.equal(cr.randperm(6, generator=g2), expected[1])


def test_a_new_training_checkpoint_holds_tensors_and_resumes(tmp_path):
    cr.manual_seed(8)
    model, g = nn.Linear(2, 2), cr.Generator().manual_seed(5)
    save_checkpoint(tmp_path / "ck.pt", model, epoch=1, generators=[g])
    expected = (cr.rand(3), cr.randperm(6, generator=g))
    raw = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert raw["rng"].dtype == torch.uint8 and raw["generators"][0].dtype == torch.uint8
    cr.manual_seed(1)
    g2 = cr.Generator()
    load_checkpoint(tmp_path / "ck.pt", nn.Linear(2, 2), generators=[g2])
    assert cr.equal(cr.rand(3), expected[0])
    assert cr.equal(cr.randperm(6, generator=g2), expected[1])


def test_a_corrupt_state_in_a_checkpoint_is_reported(tmp_path):
    model = nn.Linear(2, 2)
    save_checkpoint(tmp_path / "ck.pt", model)
    state = cr.load(tmp_path / "ck.pt")
    state["rng"] = cr.zeros(STATE_NBYTES, dtype=cr.uint8)
    _save(state, tmp_path / "bad.pt", allow_pickle=False)
    with pytest.raises(ValueError, match="invalid random-number generator state"):
        load_checkpoint(tmp_path / "bad.pt", model)


@LIBS
def test_fork_rng_restores_the_state(lib):
    lib.manual_seed(2)
    before = lib.get_rng_state()
    with lib.random.fork_rng():
        lib.rand(10)
    assert lib.equal(lib.get_rng_state(), before)


@LIBS
def test_skip_init_leaves_the_state_alone(lib):
    lib.manual_seed(2)
    before = lib.get_rng_state()
    lib.nn.utils.skip_init(lib.nn.Linear, 3, 4)
    assert lib.equal(lib.get_rng_state(), before)


def test_activation_checkpoint_replays_dropout():
    cr.manual_seed(6)
    net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    x = cr.randn(5, 4, requires_grad=True)
    state = cr.get_rng_state()
    net(x).sum().backward()
    ref = x.grad.clone()
    x.grad = None
    cr.set_rng_state(state)
    out = cr.utils.checkpoint.checkpoint(net, x, use_reentrant=False)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref.numpy(), rtol=1e-6)


@LIBS
def test_cuda_forms_without_a_gpu(lib):
    assert lib.cuda.get_rng_state_all() == []
    before = lib.get_rng_state()
    lib.cuda.set_rng_state(lib.get_rng_state())  # queued / ignored without a GPU
    lib.cuda.set_rng_state_all([])
    assert lib.equal(lib.get_rng_state(), before)
