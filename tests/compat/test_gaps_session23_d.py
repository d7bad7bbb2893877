"""Gaps found by the session-23 (batch d) drop-in programs (``progan_mbstd_eqlr``,
``alibi_t5_relpos``, ``fixmatch_pseudolabel``, ``hnn_hamiltonian``, ``supcon_loss``) and by
probing the APIs next to their idioms, each checked against PyTorch.

- ``split`` and ``chunk`` refused a size held in a tensor. StyleGAN2-ADA's minibatch standard
  deviation computes its group size as ``G = torch.min(torch.as_tensor(self.group_size),
  torch.as_tensor(N))``, a 0-d tensor that PyTorch accepts wherever an int size goes;
  ``reshape``/``repeat``/``view`` already took it, but ``x.split(G)`` raised "iteration over a
  0-d tensor" and ``x.chunk(G)`` a TypeError. PyTorch reads any one-element tensor as the split
  size (truncating a float one), refuses a longer one as sizes, and takes only a 0-d integer
  tensor as ``chunks``.
- ``nn.init.calculate_gain`` returned ``1.0`` for the linear, convolution and sigmoid entries;
  PyTorch returns the int ``1`` (so ``f"gain={gain}"`` and a logged config read ``1``), while
  every other entry is a float.
"""

from __future__ import annotations

from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")

FRAMEWORKS = [chainrule, torch]


def _lengths(pieces: Any) -> list[int]:
    return [int(p.shape[0]) for p in pieces]


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_split_takes_a_one_element_tensor_as_the_size(m: Any) -> None:
    x = m.arange(10.0).view(5, 2)
    group = m.min(m.as_tensor(2), m.as_tensor(5))  # StyleGAN2-ADA's group size
    assert _lengths(x.split(group)) == [2, 2, 1]
    assert _lengths(m.split(x, group)) == [2, 2, 1]
    assert _lengths(m.split(x, m.tensor([[3]]))) == [3, 2]
    assert _lengths(x.split(m.tensor(2.7))) == [2, 2, 1]  # read with int(): truncated
    assert _lengths(x.split(m.tensor(True))) == [1] * 5
    assert [p.tolist() for p in x.split(group, dim=1)] == [x.tolist()]


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_split_refuses_a_tensor_of_sizes(m: Any) -> None:
    with pytest.raises(TypeError, match="split_sizes"):
        m.arange(4).split(m.tensor([1, 3]))


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_chunk_takes_a_0d_integer_tensor(m: Any) -> None:
    x = m.arange(5)
    assert _lengths(x.chunk(m.as_tensor(2))) == [3, 2]
    assert _lengths(m.chunk(x, m.tensor(3, dtype=m.int32))) == [2, 2, 1]
    for bad in (m.tensor(2.0), m.tensor(True), m.tensor([2])):
        with pytest.raises(TypeError, match="chunks"):
            x.chunk(bad)


def test_split_by_a_tensor_size_keeps_the_gradient() -> None:
    for m in FRAMEWORKS:
        x = m.arange(6.0, requires_grad=True)
        a, b, c = x.split(m.as_tensor(2))
        (a * 1 + b * 2 + c * 3).sum().backward()
        assert x.grad.tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    "name", ["linear", "conv2d", "conv_transpose3d", "sigmoid", "tanh", "relu"]
)
def test_calculate_gain_returns_the_same_python_type(name: str) -> None:
    got = chainrule.nn.init.calculate_gain(name)
    want = torch.nn.init.calculate_gain(name)
    assert type(got) is type(want) and got == want and f"{got}" == f"{want}"
    leaky = chainrule.nn.init.calculate_gain("leaky_relu", 0.2)
    assert repr(leaky) == repr(torch.nn.init.calculate_gain("leaky_relu", 0.2))
