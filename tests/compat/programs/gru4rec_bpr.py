"""GRU4Rec (Hidasi et al. 2016/2018), the session-based recommender, as its PyTorch versions
write it (hungthanhpham94/GRU4REC-pytorch: ``lib/model.py``, ``lib/dataset.py``,
``lib/lossfunction.py``, ``lib/metric.py``, ``lib/trainer.py``; and the official
hidasib/GRU4Rec_PyTorch_Official's constrained embedding, ``score_items`` and
``softmax_neg``), size-reduced.

The idioms: the session-parallel mini-batch loader (``click_offsets``, ``iters =
np.arange(self.batch_size)``, ``minlen = (end - start).min()``, ``torch.LongTensor(idx_input)``,
``mask = np.arange(len(iters))[(end - start) <= 1]`` naming the lanes whose session ended, and
``iters[idx] = maxiter`` refilling them); the model (``nn.Embedding(n_items, hidden)`` shared
by inputs and outputs as the official constrained embedding, an ``nn.Embedding(n_items, 1)``
bias, ``nn.GRU(embedding_dim, hidden_size, num_layers)`` stepped one click at a time with
``embedded = self.look_up(input.unsqueeze(0))``, ``output.view(-1, output.size(-1))``,
``final_activation = nn.Tanh()``, the in-batch scores ``torch.mm(out, item_emb.T) + B.T``
whose diagonal holds each lane's own next item, and the one-hot path
``self.onehot_buffer.zero_()`` + ``scatter_(1, index, 1)``); the training step
(``hidden[:, mask, :] = 0`` on the previous step's GRU output, then ``.detach()``; the
evaluation loop writes it with no ``len(mask)`` guard, so ``mask = []`` must be a no-op;
``optim.Adagrad(params, lr=...)``; ``loss.backward()``); the losses (``BPR_max``: ``logit_softmax
= F.softmax(logit, dim=1)``, ``diff = logit.diag().view(-1, 1).expand_as(logit) - logit``,
``-torch.log(torch.mean(logit_softmax * torch.sigmoid(diff)))``; ``TOP1Loss``: ``torch.sigmoid(
diff).mean() + torch.sigmoid(logit ** 2).mean()``; ``BPRLoss``: ``-torch.mean(F.logsigmoid(
diff))``; ``TOP1_max``; and the official ``bpreg`` loss with ``softmax_neg`` (``hm = 1.0 -
torch.eye(*X.shape, out=torch.empty_like(X))``, ``torch.diag(O)``, ``+ 1e-24`` inside the
log)); and the metrics (``_, indices = torch.topk(logit, k, -1)``, ``targets.view(-1,
1).expand_as(indices)``, ``hits = (targets == indices).nonzero()``, ``ranks = hits[:, -1] +
1``, ``rranks = torch.reciprocal(ranks.float())``, ``torch.sum(rranks).data / targets.size(0)``,
and the official rank count ``(O > tscores).sum(dim=1) + 1``), under ``model.eval()`` and
``torch.no_grad()``.

Changed: RecSys Challenge 2015 clicks -> 14 NumPy sessions of 2 to 5 clicks over 12 items
(mostly item ``i`` followed by ``i + 1``); hidden 100 -> 6, two GRU layers with
``dropout_hidden`` 0 (a one-layer GRU warns on any dropout); batch size 50 -> 3; one epoch of
training (with BPR-max, then TOP1-max on the one-hot model) and one evaluation pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N_ITEMS, HIDDEN, LAYERS, BATCH, TOP_K = 12, 6, 2, 3, 5


def _sessions() -> np.ndarray:
    """(session_id, item_idx) clicks, sorted by session as the loader expects."""
    rng = np.random.default_rng(3)
    rows = []
    for sid in range(14):
        item = int(rng.integers(N_ITEMS))
        for _ in range(int(rng.integers(2, 6))):
            rows.append((sid, item))
            item = (item + 1) % N_ITEMS if rng.random() < 0.8 else int(rng.integers(N_ITEMS))
    return np.array(rows, dtype=np.int64)


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SessionDataLoader:
        def __init__(self, clicks: np.ndarray, batch_size: int = 50) -> None:
            self.item_idx = clicks[:, 1]
            sessions = clicks[:, 0]
            self.click_offsets = np.zeros(sessions.max() + 2, dtype=np.int64)
            self.click_offsets[1:] = np.bincount(sessions).cumsum()
            self.session_idx_arr = np.arange(sessions.max() + 1)
            self.batch_size = batch_size

        def __iter__(self) -> Any:
            click_offsets = self.click_offsets
            session_idx_arr = self.session_idx_arr
            iters = np.arange(self.batch_size)
            maxiter = iters.max()
            start = click_offsets[session_idx_arr[iters]]
            end = click_offsets[session_idx_arr[iters] + 1]
            mask = []  # lanes whose session ended
            finished = False
            while not finished:
                minlen = (end - start).min()
                idx_target = self.item_idx[start]
                for i in range(minlen - 1):
                    idx_input = idx_target
                    idx_target = self.item_idx[start + i + 1]
                    input = torch.LongTensor(idx_input)
                    target = torch.LongTensor(idx_target)
                    yield input, target, mask
                    mask = []
                start = start + (minlen - 1)
                mask = np.arange(len(iters))[(end - start) <= 1]
                for idx in mask:
                    maxiter += 1
                    if maxiter >= len(click_offsets) - 1:
                        finished = True
                        break
                    iters[idx] = maxiter
                    start[idx] = click_offsets[session_idx_arr[maxiter]]
                    end[idx] = click_offsets[session_idx_arr[maxiter] + 1]

    class GRU4REC(nn.Module):
        def __init__(
            self,
            input_size: int,
            hidden_size: int,
            num_layers: int = 1,
            final_act: str = "tanh",
            dropout_hidden: float = 0.0,
            batch_size: int = 50,
            embedding: bool = True,
        ) -> None:
            super(GRU4REC, self).__init__()  # noqa: UP008 (as in the repository)
            self.input_size = input_size
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.batch_size = batch_size
            self.embedding = embedding
            self.look_up = nn.Embedding(input_size, hidden_size)  # Wy, shared with the inputs
            self.By = nn.Embedding(input_size, 1)
            gru_in = hidden_size if embedding else input_size
            self.gru = nn.GRU(gru_in, hidden_size, num_layers, dropout=dropout_hidden)
            self.final_activation = nn.Tanh() if final_act == "tanh" else nn.ReLU()
            if not embedding:
                self.onehot_buffer = self.init_emb()

        def init_emb(self) -> Any:
            onehot_buffer = torch.FloatTensor(self.batch_size, self.input_size)
            return onehot_buffer

        def onehot_encode(self, input: Any) -> Any:
            self.onehot_buffer.zero_()
            index = input.view(-1, 1)
            one_hot = self.onehot_buffer.scatter_(1, index, 1)
            return one_hot

        def forward(self, input: Any, hidden: Any) -> tuple[Any, Any]:
            if self.embedding:
                embedded = self.look_up(input.unsqueeze(0))
            else:
                embedded = self.onehot_encode(input).to(hidden.dtype).unsqueeze(0)
            output, hidden = self.gru(embedded, hidden)  # (num_layer, B, H)
            output = output.view(-1, output.size(-1))  # (B, H)
            return self.final_activation(output), hidden

        def score_items(self, out: Any, items: Any) -> Any:
            item_emb, bias = self.look_up(items), self.By(items)
            return torch.mm(out, item_emb.T) + bias.T

        def init_hidden(self) -> Any:
            return torch.zeros(self.num_layers, self.batch_size, self.hidden_size)

    def bpr_max(logit: Any) -> Any:
        logit_softmax = F.softmax(logit, dim=1)
        diff = logit.diag().view(-1, 1).expand_as(logit) - logit
        return -torch.log(torch.mean(logit_softmax * torch.sigmoid(diff)))

    def top1(logit: Any) -> Any:
        diff = -(logit.diag().view(-1, 1).expand_as(logit) - logit)
        return torch.sigmoid(diff).mean() + torch.sigmoid(logit**2).mean()

    def bpr(logit: Any) -> Any:
        diff = logit.diag().view(-1, 1).expand_as(logit) - logit
        return -torch.mean(F.logsigmoid(diff))

    def top1_max(logit: Any) -> Any:
        logit_softmax = F.softmax(logit, dim=1)
        diff = -(logit.diag().view(-1, 1).expand_as(logit) - logit)
        return torch.mean(logit_softmax * (torch.sigmoid(diff) + torch.sigmoid(logit**2)))

    def softmax_neg(X: Any) -> Any:
        hm = 1.0 - torch.eye(*X.shape, out=torch.empty_like(X))
        X = X * hm
        e_x = torch.exp(X - X.max(dim=1, keepdim=True)[0]) * hm
        return e_x / e_x.sum(dim=1, keepdim=True)

    def bpreg_loss(O: Any, bpreg: float = 1.0) -> Any:
        softmax_scores = softmax_neg(O)
        target_scores = torch.diag(O)
        target_scores = target_scores.reshape(target_scores.shape[0], -1)
        return torch.sum(
            -torch.log(torch.sum(torch.sigmoid(target_scores - O) * softmax_scores, dim=1) + 1e-24)
            + bpreg * torch.sum((O**2) * softmax_scores, dim=1)
        )

    losses = {"bpr_max": bpr_max, "top1": top1, "bpr": bpr, "top1_max": top1_max}
    return SessionDataLoader, GRU4REC, losses, bpreg_loss


def make_model(torch_like: Any) -> Any:
    _, GRU4REC, _, _ = _classes(torch_like)
    return GRU4REC(N_ITEMS, HIDDEN, LAYERS, batch_size=BATCH)


def _get_recall(indices: Any, targets: Any) -> float:
    targets = targets.view(-1, 1).expand_as(indices)
    hits = (targets == indices).nonzero()
    if len(hits) == 0:
        return 0
    n_hits = (targets == indices).nonzero()[:, :-1].size(0)
    return float(n_hits) / targets.size(0)


def _get_mrr(torch: Any, indices: Any, targets: Any) -> float:
    tmp = targets.view(-1, 1)
    targets = tmp.expand_as(indices)
    hits = (targets == indices).nonzero()
    ranks = hits[:, -1] + 1
    ranks = ranks.float()
    rranks = torch.reciprocal(ranks)
    mrr = torch.sum(rranks).data / targets.size(0)
    return mrr.item()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    SessionDataLoader, GRU4REC, losses, bpreg_loss = _classes(torch_like)
    clicks = _sessions()
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1)
    values: list[float] = []

    def reset_hidden(hidden: Any, mask: Any) -> Any:
        if len(mask) != 0:
            hidden[:, mask, :] = 0
        return hidden

    model.train()
    hidden = model.init_hidden()
    n_resets = 0
    for step, (input, target, mask) in enumerate(SessionDataLoader(clicks, BATCH)):
        optimizer.zero_grad()
        n_resets += len(mask)
        hidden = reset_hidden(hidden, mask).detach()
        out, hidden = model(input, hidden)
        logit = model.score_items(out, target)
        loss = losses["bpr_max"](logit) if step % 2 == 0 else bpreg_loss(logit) / BATCH
        loss.backward()
        optimizer.step()
        values += [loss.item(), hidden.abs().sum().item()]
    values += [float(step + 1), float(n_resets)]

    # every loss of the family on one score matrix, and their gradients
    logit = model.score_items(out, target).detach().requires_grad_()
    for name in ("bpr_max", "top1", "bpr", "top1_max"):
        value = losses[name](logit)
        (grad,) = torch.autograd.grad(value, logit)
        values += [value.item(), grad.abs().sum().item()]

    # evaluation: the next item ranked among all items
    model.eval()
    recalls, mrrs, counts = [], [], []
    all_items = torch.arange(N_ITEMS)
    with torch.no_grad():
        hidden = model.init_hidden()
        for input, target, mask in SessionDataLoader(clicks, BATCH):
            hidden[:, mask, :] = 0  # unguarded, as other ports write it: mask may be []
            out, hidden = model(input, hidden)
            scores = model.score_items(out, all_items)
            _, indices = torch.topk(scores, TOP_K, -1)
            recalls.append(_get_recall(indices, target))
            mrrs.append(_get_mrr(torch, indices, target))
            tscores = scores.gather(1, target.view(-1, 1))
            counts.append(((scores > tscores).sum(dim=1) + 1).float().reciprocal().sum().item())
    values += [float(np.mean(recalls)), float(np.mean(mrrs)), float(np.sum(counts))]

    # the one-hot input path (scatter_ into a reused buffer), trained with TOP1-max
    onehot = GRU4REC(N_ITEMS, HIDDEN, 1, batch_size=BATCH, embedding=False)
    rng = np.random.default_rng(8)  # its GRU takes one-hot rows: NumPy weights of that shape
    state = {k: torch.tensor(v) for k, v in (init or {}).items() if "gru" not in k}
    for name, p in onehot.gru.named_parameters():
        state[f"gru.{name}"] = torch.tensor(rng.uniform(-0.4, 0.4, tuple(p.shape)))
    onehot.load_state_dict(state)
    optimizer = torch.optim.Adagrad(onehot.parameters(), lr=0.1)
    hidden = onehot.init_hidden()
    for step, (input, target, mask) in enumerate(SessionDataLoader(clicks, BATCH)):
        if step == 4:
            break
        hidden = reset_hidden(hidden, mask).detach()
        out, hidden = onehot(input, hidden)
        loss = losses["top1_max"](onehot.score_items(out, target))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), onehot.onehot_buffer.sum().item()]
    return values
