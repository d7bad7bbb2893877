"""A capsule network with dynamic routing (Sabour et al. 2017), as the common PyTorch CapsNet
repositories (gram-ai/capsule-networks, higgsfield/Capsule-Network-Tutorial, XifengGuo's
CapsNet-Pytorch) write it, size-reduced: a ``Conv2d`` + ``ReLU`` feature layer, primary capsules
as a conv whose output is ``view(batch, num_caps, dim)``-ed, ``squash`` (``squared_norm =
(s ** 2).sum(dim=-1, keepdim=True)``, ``scale = squared_norm / (1 + squared_norm)``, ``scale *
s / torch.sqrt(squared_norm + eps)``), the routing layer's weight ``nn.Parameter(0.01 *
torch.randn(1, in_caps, out_caps, out_dim, in_dim))`` (0.01 -> 0.5 here: with 8 input capsules
instead of 1152, 0.01 leaves every digit capsule near zero length), the prediction vectors ``u_hat =
torch.matmul(self.W, x)`` on 5-d tensors (``x[:, :, None, :, None]``) then ``squeeze(-1)``,
routing logits ``b = torch.zeros(batch, in_caps, out_caps, 1)``, ``c = F.softmax(b, dim=2)``,
``u_hat.detach()`` in the intermediate iterations (XifengGuo's form: gradients flow through the
last iteration only), the agreement update ``b = b + (u_hat_detached * v).sum(dim=-1,
keepdim=True)``, capsule lengths ``v.norm(dim=-1)``, the margin loss ``T * F.relu(m_plus -
lengths) ** 2 + lambda * (1 - T) * F.relu(lengths - m_minus) ** 2`` with ``T =
F.one_hot(labels, classes)``, and the reconstruction decoder that masks the digit capsules by
``F.one_hot(lengths.argmax(dim=1), num_classes=...)`` (the prediction, at test time; the label,
in training, gram-ai's ``torch.sparse.torch.eye(NUM_CLASSES).index_select(dim=0,
index=labels)``) before ``flatten``, three ``Linear`` layers and a ``Sigmoid``, with
``F.mse_loss(..., reduction='sum')`` scaled by 0.0005. A second routing form, gram-ai's
(``priors = x[None, :, :, None, :] @ self.route_weights[:, None, :, :, :]``, logits
``torch.zeros(*priors.size())``, ``(probs * priors).sum(dim=2, keepdim=True)``, ``outputs.
squeeze().transpose(0, 1)``; its softmax taken over the output capsules, dim 0 of that layout,
where gram-ai's has the known dim-2 slip) is checked against the first on the same weights.
Trains with ``Adam`` and an ``ExponentialLR``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

SIZE, CONV_CH, PRIM_CAPS_CH, PRIM_DIM, DIGIT_DIM, CLASSES, ROUTINGS = 10, 8, 2, 4, 6, 3, 3
BATCH, STEPS, M_PLUS, M_MINUS, LAMBDA, RECON_WEIGHT = 4, 3, 0.9, 0.1, 0.5, 0.0005
GRID = (SIZE - 4 - 3) // 2 + 1  # a 9x9 conv (here 5x5), then the 3x3 stride-2 primary conv
IN_CAPS = PRIM_CAPS_CH * GRID * GRID


def squash(torch_like: Any, s: Any, dim: int = -1, eps: float = 1e-8) -> Any:
    """Shrink short vectors to ~0 and long ones to just under unit length."""
    squared_norm = (s**2).sum(dim=dim, keepdim=True)
    scale = squared_norm / (1 + squared_norm)
    return scale * s / torch_like.sqrt(squared_norm + eps)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class PrimaryCapsule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv2d = nn.Conv2d(CONV_CH, PRIM_CAPS_CH * PRIM_DIM, kernel_size=3, stride=2)

        def forward(self, x: Any) -> Any:
            outputs = self.conv2d(x)
            # (b, caps_ch * dim, h, w) -> (b, caps_ch, dim, h, w) -> (b, caps, dim)
            outputs = outputs.view(x.size(0), PRIM_CAPS_CH, PRIM_DIM, GRID, GRID)
            outputs = outputs.permute(0, 1, 3, 4, 2).contiguous()
            return squash(torch, outputs.view(x.size(0), -1, PRIM_DIM))

    class DenseCapsule(nn.Module):
        def __init__(self, in_caps: int, in_dim: int, out_caps: int, out_dim: int) -> None:
            super().__init__()
            self.in_caps, self.out_caps, self.routings = in_caps, out_caps, ROUTINGS
            self.W = nn.Parameter(0.5 * torch.randn(1, in_caps, out_caps, out_dim, in_dim))

        def forward(self, x: Any) -> tuple[Any, Any]:
            # (1, in, out, od, id) @ (b, in, 1, id, 1) -> (b, in, out, od, 1)
            u_hat = torch.matmul(self.W, x[:, :, None, :, None]).squeeze(-1)
            u_hat_detached = u_hat.detach()
            b = torch.zeros(x.size(0), self.in_caps, self.out_caps, 1, device=x.device)
            for i in range(self.routings):
                c = F.softmax(b, dim=2)
                if i == self.routings - 1:
                    v = squash(torch, (c * u_hat).sum(dim=1, keepdim=True))
                else:
                    v = squash(torch, (c * u_hat_detached).sum(dim=1, keepdim=True))
                    b = b + (u_hat_detached * v).sum(dim=-1, keepdim=True)
            return v.squeeze(1), c.squeeze(-1)

    class CapsuleNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, CONV_CH, kernel_size=5, stride=1, padding=0)
            self.relu = nn.ReLU()
            self.primarycaps = PrimaryCapsule()
            self.digitcaps = DenseCapsule(IN_CAPS, PRIM_DIM, CLASSES, DIGIT_DIM)
            self.decoder = nn.Sequential(
                nn.Linear(DIGIT_DIM * CLASSES, 16),
                nn.ReLU(inplace=True),
                nn.Linear(16, 32),
                nn.ReLU(inplace=True),
                nn.Linear(32, SIZE * SIZE),
                nn.Sigmoid(),
            )

        def forward(self, x: Any, y: Any = None) -> tuple[Any, Any, Any]:
            x = self.relu(self.conv1(x))
            x = self.primarycaps(x)
            x, coupling = self.digitcaps(x)
            length = x.norm(dim=-1)
            if y is None:  # during testing, no label given: mask by the longest capsule
                index = length.max(dim=1)[1]
                y = F.one_hot(index, num_classes=CLASSES).to(x.dtype)
                assert torch.equal(index, length.argmax(dim=1))
            reconstruction = self.decoder((x * y[:, :, None]).flatten(start_dim=1))
            return length, reconstruction.view(-1, 1, SIZE, SIZE), coupling

    return CapsuleNet()


def gram_ai_routing(torch_like: Any, W: Any, u: Any) -> Any:
    """gram-ai's routing: priors by a broadcast ``@``, logits over the whole prior shape."""
    F = torch_like.nn.functional
    route_weights = W[0].permute(1, 0, 3, 2)  # (out_caps, in_caps, in_dim, out_dim)
    priors = u[None, :, :, None, :] @ route_weights[:, None, :, :, :]
    logits = torch_like.zeros(*priors.size(), dtype=priors.dtype)
    for i in range(ROUTINGS):
        probs = F.softmax(logits, dim=0)
        outputs = squash(torch_like, (probs * priors).sum(dim=2, keepdim=True))
        if i != ROUTINGS - 1:
            delta_logits = (priors * outputs).sum(dim=-1, keepdim=True)
            logits = logits + delta_logits
    return outputs.squeeze().transpose(0, 1)


def caps_loss(torch_like: Any, y_true: Any, y_pred: Any, x: Any, x_recon: Any) -> Any:
    """Margin loss plus the down-weighted reconstruction loss."""
    F = torch_like.nn.functional
    L = (
        y_true * F.relu(M_PLUS - y_pred) ** 2
        + LAMBDA * (1 - y_true) * F.relu(y_pred - M_MINUS) ** 2
    )
    L_margin = L.sum(dim=1).mean()
    L_recon = F.mse_loss(x_recon, x, reduction="sum") / x.size(0)
    return L_margin + RECON_WEIGHT * L_recon, L_margin


def run(torch_like: Any, init: dict) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=2e-2)
    scheduler = torch_like.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    x = as_tensor(torch_like, rng.random((BATCH, 1, SIZE, SIZE)))
    labels = as_tensor(torch_like, rng.integers(0, CLASSES, BATCH))
    values: list[float] = []
    with torch_like.no_grad():
        u = model.primarycaps(model.relu(model.conv1(x)))
        v, _ = model.digitcaps(u)
        v_gram = gram_ai_routing(torch_like, model.digitcaps.W, u)
    values.append((v - v_gram).abs().max().item())
    model.train()
    for _step in range(STEPS):
        y = torch_like.sparse.torch.eye(CLASSES).index_select(dim=0, index=labels)
        assert torch_like.equal(y, F.one_hot(labels, num_classes=CLASSES).to(x.dtype))
        optimizer.zero_grad()
        y_pred, x_recon, coupling = model(x, y)
        loss, margin = caps_loss(torch_like, y, y_pred, x, x_recon)
        loss.backward()
        optimizer.step()
        scheduler.step()
        w_grad = model.digitcaps.W.grad
        values += [loss.item(), margin.item(), w_grad.abs().sum().item()]
        values += [coupling.sum(dim=2).mean().item(), scheduler.get_last_lr()[0]]
    model.eval()
    with torch_like.no_grad():
        y_pred, x_recon, coupling = model(x)
    values += y_pred.flatten().tolist()
    values += [x_recon.mean().item(), (y_pred.argmax(1) == labels).sum().item()]
    return values


def check(values: list[float]) -> None:
    assert values[0] < 1e-12  # both routing forms agree
    for step in range(STEPS):
        assert abs(values[1 + 5 * step + 3] - 1.0) < 1e-12  # couplings sum to one
