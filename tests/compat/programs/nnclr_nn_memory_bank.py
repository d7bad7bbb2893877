"""lightly-ai/lightly (``lightly/models/modules/memory_bank.py``, ``nn_memory_bank.py``,
``heads.py``, ``lightly/loss/ntx_ent_loss.py``, ``examples/pytorch/nnclr.py``), NNCLR:
SimCLR's loss with each view's embedding replaced by its nearest neighbour in a queue of
past embeddings, size-reduced.

Kept verbatim: ``MemoryBankModule`` (buffers ``torch.empty(0, dtype=torch.float)`` and
``torch.empty(0, dtype=torch.long)`` registered with ``persistent=False``, the lazy
``_init_memory_bank`` under ``@torch.no_grad()`` (``torch.randn(dim, self.size).type_as(
self.bank)``, ``normalize(self.bank, dim=0)``, ``torch.zeros(1).type_as(self.bank_ptr)``),
``_dequeue_and_enqueue`` (``int(self.bank_ptr)``, ``self.bank[:, ptr:] = batch[: self.size -
ptr].T.detach()`` at the wrap-around, ``self.bank_ptr[0] = ptr + batch_size``), ``bank =
self.bank.clone().detach()``, ``self.bank.nelement() == 0``); ``NNMemoryBankModule.forward``
(``bank.to(output.device).t()``, ``torch.einsum("nd,md->nm", ...)``, ``torch.argmax(
similarity_matrix, dim=1)``, ``torch.index_select(bank, dim=0, index=...)``); ``NTXentLoss``
without a bank (``torch.eye(batch_size, device=..., dtype=torch.bool)``, the four
``torch.einsum("nc,mc->nm", ...) / self.temperature`` blocks, ``logits_00[~diag_mask].view(
batch_size, -1)``, ``torch.cat`` of the blocks, ``labels.repeat(2)``,
``nn.CrossEntropyLoss(reduction="mean")``); the projection (Linear/BatchNorm1d/ReLU x2,
Linear/BatchNorm1d) and prediction heads; ``NNCLR.forward`` with ``flatten(start_dim=1)`` and
``z.detach()``; the example's loop (``memory_bank(z0, update=False)``, ``memory_bank(z1,
update=True)``, ``0.5 * (criterion(z0, p1) + criterion(z1, p0))``, ``torch.optim.SGD(lr=0.06)``,
``total_loss += loss.detach()`` and ``avg_loss = total_loss / len(dataloader)``).

Changed: the ResNet-18 backbone -> Conv2d/ReLU/``AdaptiveAvgPool2d(1)``; CIFAR-10 with
SimCLR transforms -> two noisy copies of seeded NumPy 6x6 images; 512/128 -> 8/4 features,
bank size 4096 -> 12 (the queue wraps around), batch 256 -> 8, 10 epochs -> 2 of 2 batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "make_model", "run"]

DTYPE = "float32"
HID, OUT, BANK, BATCH, EPOCHS, BATCHES = 8, 4, 12, 8, 2, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class NNCLRProjectionHead(nn.Sequential):
        def __init__(self, input_dim, hidden_dim, output_dim):  # noqa: ANN001, ANN204
            super().__init__(
                nn.Linear(input_dim, hidden_dim, bias=False),
                nn.BatchNorm1d(hidden_dim),
                nn.ReLU(),
                nn.Linear(hidden_dim, hidden_dim, bias=False),
                nn.BatchNorm1d(hidden_dim),
                nn.ReLU(),
                nn.Linear(hidden_dim, output_dim, bias=False),
                nn.BatchNorm1d(output_dim),
            )

    class NNCLRPredictionHead(nn.Sequential):
        def __init__(self, input_dim, hidden_dim, output_dim):  # noqa: ANN001, ANN204
            super().__init__(
                nn.Linear(input_dim, hidden_dim, bias=False),
                nn.BatchNorm1d(hidden_dim),
                nn.ReLU(),
                nn.Linear(hidden_dim, output_dim),
            )

    class NNCLR(nn.Module):
        def __init__(self, backbone):  # noqa: ANN001, ANN204
            super().__init__()
            self.backbone = backbone
            self.projection_head = NNCLRProjectionHead(HID, HID, OUT)
            self.prediction_head = NNCLRPredictionHead(OUT, HID, OUT)

        def forward(self, x):  # noqa: ANN001, ANN201
            y = self.backbone(x).flatten(start_dim=1)
            z = self.projection_head(y)
            p = self.prediction_head(z)
            z = z.detach()
            return z, p

    backbone = nn.Sequential(nn.Conv2d(1, HID, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    return NNCLR(backbone)


def _banks(torch: Any) -> tuple:
    nn = torch.nn

    class MemoryBankModule(torch.nn.Module):
        def __init__(self, size: int = 2**16):
            super(MemoryBankModule, self).__init__()  # noqa: UP008
            if size < 0:
                msg = f"Memory bank size must be positive, got {size}."
                raise ValueError(msg)
            self.size = size
            self.register_buffer("bank", tensor=torch.empty(0, dtype=torch.float), persistent=False)
            self.register_buffer(
                "bank_ptr", tensor=torch.empty(0, dtype=torch.long), persistent=False
            )

        @torch.no_grad()
        def _init_memory_bank(self, dim: int) -> None:
            self.bank = torch.randn(dim, self.size).type_as(self.bank)
            self.bank = torch.nn.functional.normalize(self.bank, dim=0)
            self.bank_ptr = torch.zeros(1).type_as(self.bank_ptr)

        @torch.no_grad()
        def _dequeue_and_enqueue(self, batch: Any) -> None:
            batch_size = batch.shape[0]
            ptr = int(self.bank_ptr)
            if ptr + batch_size >= self.size:
                self.bank[:, ptr:] = batch[: self.size - ptr].T.detach()
                self.bank_ptr[0] = 0
            else:
                self.bank[:, ptr : ptr + batch_size] = batch.T.detach()
                self.bank_ptr[0] = ptr + batch_size

        def forward(self, output: Any, labels: Any = None, update: bool = False) -> Any:
            if self.size == 0:
                return output, None
            _, dim = output.shape
            if self.bank.nelement() == 0:
                self._init_memory_bank(dim)
            bank = self.bank.clone().detach()
            if update:
                self._dequeue_and_enqueue(output)
            return output, bank

    class NNMemoryBankModule(MemoryBankModule):
        def __init__(self, size: int = 2**16):
            super(NNMemoryBankModule, self).__init__(size)  # noqa: UP008

        def forward(self, output: Any, update: bool = False) -> Any:
            output, bank = super(NNMemoryBankModule, self).forward(output)  # noqa: UP008
            bank = bank.to(output.device).t()
            output_normed = torch.nn.functional.normalize(output, dim=1)
            bank_normed = torch.nn.functional.normalize(bank, dim=1)
            similarity_matrix = torch.einsum("nd,md->nm", output_normed, bank_normed)
            index_nearest_neighbours = torch.argmax(similarity_matrix, dim=1)
            nearest_neighbours = torch.index_select(bank, dim=0, index=index_nearest_neighbours)
            if update:
                self._dequeue_and_enqueue(output)
            return nearest_neighbours

    class NTXentLoss(MemoryBankModule):
        def __init__(self, temperature: float = 0.5, memory_bank_size: int = 0):
            super(NTXentLoss, self).__init__(size=memory_bank_size)  # noqa: UP008
            self.temperature = temperature
            self.cross_entropy = nn.CrossEntropyLoss(reduction="mean")
            self.eps = 1e-8

        def forward(self, out0: Any, out1: Any) -> Any:
            device = out0.device
            batch_size, _ = out0.shape
            out0 = nn.functional.normalize(out0, dim=1)
            out1 = nn.functional.normalize(out1, dim=1)
            out1, negatives = super(NTXentLoss, self).forward(out1, update=out0.requires_grad)  # noqa: UP008
            assert negatives is None  # no memory bank
            out0_large = out0
            out1_large = out1
            diag_mask = torch.eye(batch_size, device=out0.device, dtype=torch.bool)
            logits_00 = torch.einsum("nc,mc->nm", out0, out0_large) / self.temperature
            logits_01 = torch.einsum("nc,mc->nm", out0, out1_large) / self.temperature
            logits_10 = torch.einsum("nc,mc->nm", out1, out0_large) / self.temperature
            logits_11 = torch.einsum("nc,mc->nm", out1, out1_large) / self.temperature
            logits_00 = logits_00[~diag_mask].view(batch_size, -1)
            logits_11 = logits_11[~diag_mask].view(batch_size, -1)
            logits_0100 = torch.cat([logits_01, logits_00], dim=1)
            logits_1011 = torch.cat([logits_10, logits_11], dim=1)
            logits = torch.cat([logits_0100, logits_1011], dim=0)
            labels = torch.arange(batch_size, device=device, dtype=torch.long)
            labels = labels.repeat(2)
            loss = self.cross_entropy(logits, labels)
            return loss

    return NNMemoryBankModule, NTXentLoss


def init_state(tmp_path: Any) -> dict:
    import torch  # the starting weights, as the harness makes them

    torch.manual_seed(0)
    rng = np.random.default_rng(12)
    images = rng.standard_normal((BATCHES, BATCH, 1, 6, 6))
    return {
        "model": {k: v.detach().numpy().copy() for k, v in make_model(torch).state_dict().items()},
        "views": (images[:, None] + 0.3 * rng.standard_normal((BATCHES, 2, BATCH, 1, 6, 6))).astype(
            np.float32
        ),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    NNMemoryBankModule, NTXentLoss = _banks(torch)
    torch.manual_seed(0)
    model = make_model(torch)
    load_numpy_state(torch, model, init["model"])
    memory_bank = NNMemoryBankModule(size=BANK)
    criterion = NTXentLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.06)
    dataloader = [((torch.tensor(v[0]), torch.tensor(v[1])), None, None) for v in init["views"]]
    values: list[float] = []
    print_ = values.append
    for _epoch in range(EPOCHS):
        total_loss = 0
        for (x0, x1), _, _ in dataloader:
            z0, p0 = model(x0)
            z1, p1 = model(x1)
            z0 = memory_bank(z0, update=False)
            z1 = memory_bank(z1, update=True)
            loss = 0.5 * (criterion(z0, p1) + criterion(z1, p0))
            total_loss += loss.detach()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        avg_loss = total_loss / len(dataloader)
        print_(avg_loss.item())
    values += [memory_bank.bank.sum().item(), int(memory_bank.bank_ptr), memory_bank.bank.shape[1]]
    return values
