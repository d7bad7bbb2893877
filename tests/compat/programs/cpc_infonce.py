"""Contrastive Predictive Coding on raw audio, as jefflai108/Contrastive-Predictive-Coding-PyTorch
writes it (``src/model/model.py``'s ``CDCK2``, ``src/training_v1.py``, ``src/utils.py``'s
``ScheduledOptim``), with the all-steps InfoNCE of later reimplementations, size-reduced.

The idioms: the strided ``nn.Conv1d(1, C, kernel_size=10, stride=5, padding=3, bias=False)`` ->
``BatchNorm1d`` -> ``ReLU(inplace=True)`` encoder; ``nn.GRU(C, H, num_layers=1,
bidirectional=False, batch_first=True)`` fed ``init_hidden`` (``torch.zeros(1, batch_size,
H)``); one predictor per future step in ``nn.ModuleList([nn.Linear(H, C) for i in
range(timestep)])``; the init (``nn.init.kaiming_normal_(m.weight, mode='fan_out',
nonlinearity='relu')`` through ``self.apply(_weights_init)``, and for the GRU ``for layer_p in
self.gru._all_weights: for p in layer_p: if 'weight' in p:
nn.init.kaiming_normal_(self.gru.__getattr__(p), ...)``); the forward's ``z =
self.encoder(x).transpose(1, 2)``, targets written into ``torch.empty((self.timestep, batch,
C)).float()`` row by row (``encode_samples[i - 1] = z[:, t_samples + i, :].view(batch, C)``
with ``i`` from ``np.arange``), ``forward_seq = z[:, :t_samples + 1, :]``, ``c_t = output[:,
t_samples, :].view(batch, H)``, predictions likewise written into ``pred[i]``, and per step
``total = torch.mm(encode_samples[i], torch.transpose(pred[i], 0, 1))``, ``correct =
torch.sum(torch.eq(torch.argmax(self.softmax(total), dim=0), torch.arange(0, batch)))``, ``nce
+= torch.sum(torch.diag(self.lsoftmax(total)))``, ``nce /= -1. * batch * self.timestep``;
``ScheduledOptim`` (Noam warm-up: ``np.power(self.d_model, -0.5) * np.min([...])`` written into
``param_group['lr']``) around ``optim.Adam(filter(lambda p: p.requires_grad,
model.parameters()), betas=(0.9, 0.98), eps=1e-09, weight_decay=1e-4, amsgrad=True)``; and the
batched InfoNCE over every step at once (``torch.einsum("kbd,knd->kbn", pred, targets)`` and
the same with ``torch.bmm``, ``F.log_softmax(scores, dim=-1)``, ``F.cross_entropy`` on
``scores.reshape(-1, batch)`` against ``torch.arange(batch).repeat(K)``, accuracy from
``argmax(-1) == labels``).

Changed: 20480 samples downsampled 160x are 320 samples downsampled 20x through two convs; 512
channels are 16 and the GRU's 256 are 12; ``torch.randint(...)`` for the anchor time is a NumPy
draw (the generators differ); the softmax modules name ``dim=1`` (the original's implicit dim
warns); a few steps on random "audio".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
# The predictors' biases have a zero gradient in exact arithmetic (a constant per softmax row),
# and Adam with eps=1e-9 turns float32 rounding noise there into full-size steps: the runs drift
# apart by ~2e-5. (With .double() in place of .float() the two agree to 1e-13.)
RTOL = 1e-4
ATOL = 1e-5
SEQ_LEN, DOWN, TIMESTEP, BATCH, C, H, STEPS = 320, 20, 3, 8, 16, 12, 4


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class CDCK2(nn.Module):
        def __init__(self, timestep: int, batch_size: int, seq_len: int) -> None:
            super().__init__()
            self.batch_size = batch_size
            self.seq_len = seq_len
            self.timestep = timestep
            self.encoder = nn.Sequential(  # downsampling factor = 20
                nn.Conv1d(1, C, kernel_size=10, stride=5, padding=3, bias=False),
                nn.BatchNorm1d(C),
                nn.ReLU(inplace=True),
                nn.Conv1d(C, C, kernel_size=8, stride=4, padding=2, bias=False),
                nn.BatchNorm1d(C),
                nn.ReLU(inplace=True),
            )
            self.gru = nn.GRU(C, H, num_layers=1, bidirectional=False, batch_first=True)
            self.Wk = nn.ModuleList([nn.Linear(H, C) for i in range(timestep)])
            self.softmax = nn.Softmax(dim=1)
            self.lsoftmax = nn.LogSoftmax(dim=1)

            def _weights_init(m: Any) -> None:
                if isinstance(m, nn.Linear):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if isinstance(m, nn.Conv1d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm1d):
                    m.weight.data.fill_(1)
                    m.bias.data.zero_()

            # initialize gru
            for layer_p in self.gru._all_weights:
                for p in layer_p:
                    if "weight" in p:
                        nn.init.kaiming_normal_(
                            self.gru.__getattr__(p), mode="fan_out", nonlinearity="relu"
                        )
            self.apply(_weights_init)

        def init_hidden(self, batch_size: int) -> Any:
            return torch.zeros(1, batch_size, H)

        def forward(self, x: Any, hidden: Any, t_samples: Any) -> tuple:
            batch = x.size()[0]
            # input sequence is N*C*L, e.g. 8*1*320
            z = self.encoder(x)
            # reshape to N*L*C for GRU, e.g. 8*16*16
            z = z.transpose(1, 2)
            nce = 0  # average over timestep and batch
            encode_samples = torch.empty((self.timestep, batch, C)).float()
            for i in np.arange(1, self.timestep + 1):
                encode_samples[i - 1] = z[:, t_samples + i, :].view(batch, C)
            forward_seq = z[:, : t_samples + 1, :]
            output, hidden = self.gru(forward_seq, hidden)
            c_t = output[:, t_samples, :].view(batch, H)
            pred = torch.empty((self.timestep, batch, C)).float()
            for i in np.arange(0, self.timestep):
                linear = self.Wk[i]
                pred[i] = linear(c_t)
            for i in np.arange(0, self.timestep):
                total = torch.mm(encode_samples[i], torch.transpose(pred[i], 0, 1))
                correct = torch.sum(
                    torch.eq(torch.argmax(self.softmax(total), dim=0), torch.arange(0, batch))
                )
                nce += torch.sum(torch.diag(self.lsoftmax(total)))
            nce /= -1.0 * batch * self.timestep
            accuracy = 1.0 * correct.item() / batch
            return accuracy, nce, hidden

        def predict(self, x: Any, hidden: Any) -> tuple:
            z = self.encoder(x).transpose(1, 2)
            output, hidden = self.gru(z, hidden)
            return output, hidden

        def infonce_all_steps(self, x: Any, t_samples: int, use_bmm: bool) -> tuple:
            """Every step's scores in one batched product, the loss as a cross-entropy."""
            batch = x.size(0)
            z = self.encoder(x).transpose(1, 2)
            output, _ = self.gru(z[:, : t_samples + 1])
            c_t = output[:, -1]
            preds = torch.stack([wk(c_t) for wk in self.Wk])  # K, B, C
            targets = z[:, t_samples + 1 : t_samples + 1 + self.timestep].permute(1, 0, 2)
            if use_bmm:
                scores = torch.bmm(preds, targets.transpose(1, 2))
            else:
                scores = torch.einsum("kbd,knd->kbn", preds, targets)
            log_probs = F.log_softmax(scores, dim=-1)
            labels = torch.arange(batch)
            nce = -log_probs.diagonal(dim1=-2, dim2=-1).mean()
            ce = F.cross_entropy(scores.reshape(-1, batch), labels.repeat(self.timestep))
            acc = (scores.argmax(-1) == labels).float().mean(dim=1)
            return nce, ce, acc

    return CDCK2(TIMESTEP, BATCH, SEQ_LEN)


class ScheduledOptim:
    """A simple wrapper class for learning rate scheduling"""

    def __init__(self, optimizer: Any, n_warmup_steps: int) -> None:
        self.optimizer = optimizer
        self.d_model = 128
        self.n_warmup_steps = n_warmup_steps
        self.n_current_steps = 0
        self.delta = 1

    def state_dict(self) -> Any:
        return self.optimizer.state_dict()

    def step(self) -> None:
        """Step by the inner optimizer"""
        self.optimizer.step()

    def zero_grad(self) -> None:
        """Zero out the gradients by the inner optimizer"""
        self.optimizer.zero_grad()

    def increase_delta(self) -> None:
        self.delta *= 2

    def update_learning_rate(self) -> float:
        """Learning rate scheduling per step"""
        self.n_current_steps += self.delta
        new_lr = np.power(self.d_model, -0.5) * np.min(
            [
                np.power(self.n_current_steps, -0.5),
                np.power(self.n_warmup_steps, -1.5) * self.n_current_steps,
            ]
        )
        for param_group in self.optimizer.param_groups:
            param_group["lr"] = new_lr
        return new_lr


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(21)
    t = np.arange(SEQ_LEN)
    phases = rng.uniform(0, 2 * np.pi, (STEPS, BATCH, 1, 1))
    freqs = rng.uniform(0.02, 0.2, (STEPS, BATCH, 1, 1))
    audio = np.sin(freqs * t + phases) + 0.1 * rng.standard_normal((STEPS, BATCH, 1, SEQ_LEN))
    anchors = rng.integers(0, SEQ_LEN // DOWN - TIMESTEP, STEPS)

    optimizer = ScheduledOptim(
        torch.optim.Adam(
            filter(lambda p: p.requires_grad, model.parameters()),
            betas=(0.9, 0.98),
            eps=1e-09,
            weight_decay=1e-4,
            amsgrad=True,
        ),
        n_warmup_steps=3,
    )
    values: list[float] = []
    model.train()
    for step in range(STEPS):
        data = as_tensor(torch_like, audio[step], dtype=torch.float32)
        t_samples = torch.tensor([int(anchors[step])]).long()
        hidden = model.init_hidden(len(data))
        optimizer.zero_grad()
        acc, loss, hidden = model(data, hidden, t_samples)
        loss.backward()
        optimizer.step()
        lr = optimizer.update_learning_rate()
        values += [acc, loss.item(), float(lr), hidden.abs().sum().item()]
        values += [model.Wk[step % TIMESTEP].weight.grad.norm().item()]

    # the batched loss of later reimplementations, bmm and einsum agreeing
    for step in range(2):
        data = as_tensor(torch_like, audio[step], dtype=torch.float32)
        optimizer.zero_grad()
        nce, ce, acc = model.infonce_all_steps(data, int(anchors[step]), use_bmm=step == 0)
        (nce + ce).backward()
        optimizer.step()
        values += [nce.item(), ce.item()] + acc.tolist()
        values += [model.gru.weight_hh_l0.grad.abs().sum().item()]

    model.eval()
    with torch.no_grad():
        data = as_tensor(torch_like, audio[0], dtype=torch.float32)
        output, hidden = model.predict(data, model.init_hidden(len(data)))
        nce_b, ce_b, _ = model.infonce_all_steps(data, int(anchors[0]), use_bmm=True)
        nce_e, ce_e, _ = model.infonce_all_steps(data, int(anchors[0]), use_bmm=False)
    values += list(output.shape) + [output.abs().mean().item(), hidden.abs().sum().item()]
    values += [nce_b.item(), nce_e.item(), ce_b.item(), ce_e.item()]
    return values
