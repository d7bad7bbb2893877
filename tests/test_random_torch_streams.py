"""chainrule's random numbers are PyTorch's: after the same seed, the same values.

The default generator and ``cr.Generator`` are PyTorch's CPU mt19937 with PyTorch's
transforms (``chainrule/random_mt19937.py``). Each case seeds both frameworks alike and
compares: bit for bit, except float32 normals of 16 or more elements, where PyTorch's
vectorised log/sin/cos and NumPy's differ in the last bits, and float64 ones of 16 or more,
where NumPy's vectorised functions differ in the last bit on about 2 elements in 1,000."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

SEEDS = [0, 1, 12345, 2**40 + 3]
SIZES = [1, 3, 15, 16, 17, 33, 1000]


def _both(seed: int, fn: Any) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for lib in (torch, cr):
        lib.manual_seed(seed)
        got = fn(lib)
        out.append(np.asarray(got.float().numpy() if got.dtype == lib.bfloat16 else got.numpy()))
    return out[0], out[1]


def _same(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "complex64"])
def test_rand(seed: int, n: int, dtype: str) -> None:
    _same(*_both(seed, lambda m: m.rand(n, dtype=getattr(m, dtype))))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bounds", [(-0.3, 0.9), (-1e-3, 2.5), (5.0, 5.5)])
def test_uniform_(seed: int, n: int, dtype: str, bounds: tuple) -> None:
    _same(*_both(seed, lambda m: m.empty(n, dtype=getattr(m, dtype)).uniform_(*bounds)))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_randn_and_normal_(seed: int, n: int, dtype: str) -> None:
    for draw in (
        lambda m: m.randn(n, dtype=getattr(m, dtype)),
        lambda m: m.empty(n, dtype=getattr(m, dtype)).normal_(0.5, 2.0),
    ):
        expected, got = _both(seed, draw)
        if n < 16:
            _same(expected, got)
        else:
            assert got.dtype == expected.dtype
            np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)


def test_small_normals_share_the_cached_second_value() -> None:
    """A 1-element normal keeps Box-Muller's second value in the generator for the next."""
    expected, got = _both(5, lambda m: m.cat([m.randn(1, dtype=m.float64) for _ in range(5)]))
    _same(expected, got)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "bounds", [(0, 10), (-5, 7), (0, 2**28 - 1), (0, 2**28), (-(2**40), 2**40), (3, 4)]
)
def test_randint(seed: int, bounds: tuple) -> None:
    _same(*_both(seed, lambda m: m.randint(*bounds, (37,))))


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32", "float64"])
def test_random_without_bounds(dtype: str) -> None:
    _same(*_both(11, lambda m: m.empty(30, dtype=getattr(m, dtype)).random_()))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000, 70000])
def test_randperm(seed: int, n: int) -> None:
    _same(*_both(seed, lambda m: m.randperm(n)))


@pytest.mark.parametrize("seed", SEEDS)
def test_bernoulli_and_dropout(seed: int) -> None:
    _same(*_both(seed, lambda m: m.empty(1000).bernoulli_(0.3)))
    _same(*_both(seed, lambda m: m.bernoulli(m.full((500,), 0.3))))
    _same(*_both(seed, lambda m: m.bernoulli(m.full((500,), 0.3, dtype=m.float64))))
    _same(*_both(seed, lambda m: m.nn.functional.dropout(m.ones(40, 25), 0.3)))
    _same(*_both(seed, lambda m: m.nn.functional.dropout2d(m.ones(4, 6, 3, 3), 0.5)))


def test_generator_objects() -> None:
    for seed in SEEDS:
        draws = []
        for lib in (torch, cr):
            g = lib.Generator().manual_seed(seed)
            draws.append(
                np.concatenate(
                    [
                        lib.rand(7, generator=g).numpy(),
                        lib.randperm(9, generator=g).numpy().astype(np.float32),
                        lib.randint(0, 5, (6,), generator=g).numpy().astype(np.float32),
                    ]
                )
            )
        _same(*draws)


MODULES = {
    "Linear": lambda m: m.nn.Linear(5, 3),
    "Conv2d": lambda m: m.nn.Conv2d(3, 4, 3),
    "ConvTranspose2d": lambda m: m.nn.ConvTranspose2d(3, 2, 3),
    "Conv1d without bias": lambda m: m.nn.Conv1d(2, 3, 2, bias=False),
    "LSTM": lambda m: m.nn.LSTM(4, 5, num_layers=2),
    "GRU": lambda m: m.nn.GRU(3, 4, bidirectional=True),
    "MultiheadAttention": lambda m: m.nn.MultiheadAttention(8, 2),
    "TransformerEncoderLayer": lambda m: m.nn.TransformerEncoderLayer(8, 2, 16),
    "Sequential": lambda m: m.nn.Sequential(
        m.nn.Conv2d(1, 4, 3), m.nn.ReLU(), m.nn.Flatten(), m.nn.Linear(16, 10)
    ),
}


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_new_module_has_pytorchs_weights(seed: int, name: str) -> None:
    """``manual_seed(s)`` then a layer: its initial parameters equal PyTorch's, bit for bit
    (uniform initialisations; normal ones are checked in ``test_embedding_init``)."""
    states = []
    for lib in (torch, cr):
        lib.manual_seed(seed)
        states.append({k: v.numpy() for k, v in MODULES[name](lib).state_dict().items()})
    assert list(states[1]) == list(states[0])
    for key in states[0]:
        np.testing.assert_array_equal(states[1][key], states[0][key], err_msg=key)


def test_embedding_init() -> None:
    expected, got = _both(3, lambda m: m.nn.Embedding(50, 16).weight.detach())
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)


def _loader_order(m: Any, **kwargs: Any) -> list:
    loader = m.utils.data.DataLoader(list(range(23)), batch_size=5, shuffle=True, **kwargs)
    return [[int(v) for v in batch] for _ in range(2) for batch in loader]


def test_dataloader_shuffles_as_pytorch() -> None:
    orders = []
    for lib in (torch, cr):
        lib.manual_seed(4)
        orders.append(
            (
                _loader_order(lib),
                _loader_order(lib, generator=lib.Generator().manual_seed(9)),
                list(lib.utils.data.RandomSampler(range(10), replacement=True, num_samples=40)),
                list(lib.utils.data.SubsetRandomSampler([5, 6, 7, 8, 9])),
                [list(s.indices) for s in lib.utils.data.random_split(range(12), [0.5, 0.5])],
            )
        )
    assert orders[1] == orders[0]


@pytest.mark.parametrize("trial", range(40))
def test_multinomial(trial: int) -> None:
    """Both of PyTorch's constructions: ``w / Exp(1)`` top-k (without replacement, and for
    one sample) and cumulative-weight lookups (with replacement)."""
    rng = np.random.default_rng(trial)
    k, rows = int(rng.integers(2, 30)), int(rng.integers(1, 4))
    weights = rng.random((rows, k)) ** 3
    if trial % 3 == 0:
        weights[:, rng.integers(0, k)] = 0.0
    replacement = trial % 4 < 2
    n = int(rng.integers(1, 40)) if replacement else int(rng.integers(1, k + 1))
    dtype = ["float32", "float64"][trial % 2]
    _same(
        *_both(
            trial,
            lambda m: m.multinomial(m.tensor(weights, dtype=getattr(m, dtype)), n, replacement),
        )
    )


@pytest.mark.parametrize(("replacement", "n"), [(True, 25), (True, 1), (False, 6), (False, 3)])
def test_weighted_random_sampler(replacement: bool, n: int) -> None:
    orders = []
    for lib in (torch, cr):
        lib.manual_seed(3)
        sampler = lib.utils.data.WeightedRandomSampler(
            [0.1, 0.0, 2.0, 0.5, 0.5, 3.0], n, replacement=replacement
        )
        orders.append([list(sampler) for _ in range(2)])
    assert orders[1] == orders[0]


def test_language_model_sampling_draws_as_torch_multinomial() -> None:
    """``generate``'s next-token draw is ``torch.multinomial(probs, 1)``'s."""
    from chainrule.models.language import _sample_next
    from chainrule.random import gen

    logits = np.random.default_rng(0).normal(size=(4, 65)) * 3
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    torch.manual_seed(8)
    expected = torch.multinomial(torch.tensor(probs), 1)[:, 0].numpy()
    cr.manual_seed(8)
    np.testing.assert_array_equal(_sample_next(logits, 1.0, None, gen(None)), expected)


@pytest.mark.parametrize("n", [5, 50, 1000])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "fill",
    [
        lambda t: t.exponential_(1.5),
        lambda t: t.cauchy_(0.5, 2.0),
        lambda t: t.log_normal_(0.5, 2.0),
        lambda t: t.geometric_(0.3),
    ],
    ids=["exponential_", "cauchy_", "log_normal_", "geometric_"],
)
def test_in_place_distribution_fills(n: int, dtype: str, fill: Any) -> None:
    """float32 bit for bit; float64 to the last bit (NumPy's vectorised log1p/tan/exp)."""
    expected, got = _both(4, lambda m: fill(m.empty(n, dtype=getattr(m, dtype))))
    if dtype == "float32":
        _same(expected, got)
    else:
        np.testing.assert_allclose(got, expected, rtol=4e-15)


@pytest.mark.parametrize(
    ("name", "fill"),
    [
        ("xavier_uniform_", lambda m, t: m.nn.init.xavier_uniform_(t)),
        ("kaiming_uniform_", lambda m, t: m.nn.init.kaiming_uniform_(t, a=0.1)),
        ("xavier_normal_", lambda m, t: m.nn.init.xavier_normal_(t)),
        ("kaiming_normal_", lambda m, t: m.nn.init.kaiming_normal_(t)),
        ("orthogonal_", lambda m, t: m.nn.init.orthogonal_(t)),
        ("sparse_", lambda m, t: m.nn.init.sparse_(t, 0.3)),
    ],
)
def test_init_functions(name: str, fill: Any) -> None:
    """``nn.init`` draws what PyTorch's draws: uniform ones bit for bit, normal ones to the
    last bits (orthogonal_: the same draws, QR in float64 here)."""

    def run(m: Any) -> Any:
        t = m.zeros(20, 30)
        fill(m, t)
        return t

    expected, got = _both(5, run)
    if name.endswith("uniform_"):
        _same(expected, got)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def _seeded_training_run(m: Any) -> list[float]:
    """A whole seeded script, no weights copied: data from randn, a model with dropout,
    a shuffled DataLoader and SGD with momentum; the per-batch losses."""
    m.manual_seed(2024)
    x = m.randn(96, 10)
    y = (x[:, :3].sum(1) > 0).long()
    model = m.nn.Sequential(m.nn.Linear(10, 32), m.nn.ReLU(), m.nn.Dropout(0.2), m.nn.Linear(32, 2))
    opt = m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = m.utils.data.TensorDataset(x, y)
    losses = []
    for _ in range(3):
        for xb, yb in m.utils.data.DataLoader(data, batch_size=16, shuffle=True):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def test_a_seeded_training_script_gives_pytorchs_losses() -> None:
    """The same script under both frameworks, from the same seed, trains the same model on
    the same batches with the same dropout masks: the losses agree to float32 rounding."""
    expected, got = _seeded_training_run(torch), _seeded_training_run(cr)
    assert len(got) == len(expected) == 18
    np.testing.assert_allclose(got, expected, rtol=1e-4)
