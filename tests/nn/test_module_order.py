"""Re-assigning a registered parameter, module or buffer keeps its place (PyTorch): the order
of ``children()``, ``parameters()`` and ``state_dict()`` is the order of first registration."""

from __future__ import annotations

import torch

import chainrule as cr


def _build(lib):
    nn = lib.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.ReLU()
            self.a = nn.Tanh()  # replaced: stays first
            self.lin = nn.Linear(3, 4)
            self.emb = nn.Embedding(4, 3)
            self.lin.weight = self.emb.weight  # tied: lin's weight stays before its bias
            self.register_buffer("x", lib.zeros(1))
            self.register_buffer("y", lib.zeros(1))
            self.x = lib.ones(1)
            self.add_module("b", nn.Sigmoid())
            self.register_parameter("p", nn.Parameter(lib.zeros(1)))
            self.q = nn.Parameter(lib.zeros(1))
            self.register_parameter("p", nn.Parameter(lib.ones(1)))

    return M()


def test_reassignment_keeps_registration_order_as_torch() -> None:
    ours, theirs = _build(cr), _build(torch)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert type(ours.b).__name__ == "Sigmoid" and float(ours.x[0]) == 1.0
