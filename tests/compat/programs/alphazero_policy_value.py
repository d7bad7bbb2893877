"""AlphaZero-style policy/value network training, as suragnair/alpha-zero-general
(``othello/pytorch/NNet.py``, ``OthelloNNet.py``, ``Coach.py``, ``MCTS.py``, ``Game``'s
``getSymmetries``) and junxiaosong/AlphaZero_Gomoku (``policy_value_net_pytorch.py``) write it,
size-reduced.

The idioms: a residual conv tower (``nn.Conv2d(..., 3, stride=1, padding=1)`` + ``nn.BatchNorm2d``,
``F.relu(out + residual)``) on a board ``s.view(-1, 1, self.board_x, self.board_y)``; a policy
head (1x1 conv, ``nn.Linear`` to ``action_size = n * n + 1``) whose illegal moves are masked with
``pi.masked_fill(valids == 0, -1e9)`` before ``F.log_softmax(pi, dim=1)``, and a value head ending
in ``torch.tanh(v)``; the MCTS target ``counts = [x ** (1. / temp) for x in counts]`` /
``counts_sum`` as tensors (``visit_counts.pow(1.0 / temp)``, ``/ counts.sum(dim=1,
keepdim=True)``), ``temp == 0`` through ``torch.argmax`` and a one-hot; the 8 board symmetries of
``getSymmetries`` with ``torch.rot90(board, i, [0, 1])`` and ``torch.fliplr`` applied to board and
``pi_board = pi[:-1].view(n, n)`` alike (``torch.cat((new_pi.flatten(), pi[-1:]))`` keeps the
pass move), a random symmetry per sample; training with ``torch.FloatTensor(np.array(boards)
.astype(np.float64))``, ``loss_pi = -torch.sum(targets * outputs) / targets.size()[0]``,
``loss_v = torch.sum((targets - outputs.view(-1)) ** 2) / targets.size()[0]``, the Gomoku
version's ``-torch.mean(torch.sum(mcts_probs * log_act_probs, 1))`` with ``F.mse_loss(value
.view(-1), winner_batch)`` and the policy entropy, ``optim.Adam(..., weight_decay=l2_const)`` with
``set_learning_rate`` writing ``param_group['lr']``; and ``predict`` under ``self.nnet.eval()``
and ``torch.no_grad()`` returning ``torch.exp(pi).data.cpu().numpy()[0]`` and
``v.data.cpu().numpy()[0]``.

Changed: a 5x5 board, 8 channels, two residual blocks, self-play replaced by random boards,
legal-move masks and visit counts from NumPy; the symmetry draws come from NumPy too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 2e-4, 1e-5
N, CHANNELS, EXAMPLES, BATCH, EPOCHS = 5, 8, 24, 8, 2
ACTIONS = N * N + 1


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class ResBlock(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x: Any) -> Any:
            residual = x
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + residual)

    class PolicyValueNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.board_x, self.board_y = N, N
            self.action_size = ACTIONS
            self.conv = nn.Conv2d(1, CHANNELS, 3, stride=1, padding=1)
            self.bn = nn.BatchNorm2d(CHANNELS)
            self.tower = nn.Sequential(*[ResBlock(CHANNELS) for _ in range(2)])
            self.act_conv1 = nn.Conv2d(CHANNELS, 2, kernel_size=1)
            self.act_fc1 = nn.Linear(2 * N * N, ACTIONS)
            self.val_conv1 = nn.Conv2d(CHANNELS, 1, kernel_size=1)
            self.val_fc1 = nn.Linear(N * N, 16)
            self.val_fc2 = nn.Linear(16, 1)

        def forward(self, s: Any, valids: Any) -> tuple[Any, Any]:
            s = s.view(-1, 1, self.board_x, self.board_y)
            x = self.tower(F.relu(self.bn(self.conv(s))))
            x_act = F.relu(self.act_conv1(x))
            x_act = x_act.view(-1, 2 * self.board_x * self.board_y)
            pi = self.act_fc1(x_act)
            pi = pi.masked_fill(valids == 0, -1e9)
            x_val = F.relu(self.val_conv1(x))
            x_val = x_val.view(-1, self.board_x * self.board_y)
            x_val = F.relu(self.val_fc1(x_val))
            return F.log_softmax(pi, dim=1), torch.tanh(self.val_fc2(x_val))

    return PolicyValueNet()


def get_symmetries(torch_like: Any, board: Any, pi: Any, valid: Any) -> list[tuple]:
    torch = torch_like
    pi_board = pi[:-1].view(N, N)
    valid_board = valid[:-1].view(N, N)
    out = []
    for i in range(1, 5):
        for j in [True, False]:
            new_b = torch.rot90(board, i, [0, 1])
            new_pi = torch.rot90(pi_board, i, [0, 1])
            new_valid = torch.rot90(valid_board, i, [0, 1])
            if j:
                new_b = torch.fliplr(new_b)
                new_pi = torch.fliplr(new_pi)
                new_valid = torch.flip(new_valid, dims=[1])
            out.append(
                (
                    new_b,
                    torch.cat((new_pi.flatten(), pi[-1:])),
                    torch.cat((new_valid.reshape(-1), valid[-1:])),
                )
            )
    return out


def mcts_policy(torch_like: Any, visit_counts: Any, temp: float) -> Any:
    torch = torch_like
    if temp == 0:
        best = torch.argmax(visit_counts, dim=1)
        probs = torch.zeros_like(visit_counts)
        probs[torch.arange(len(best)), best] = 1
        return probs
    counts = visit_counts.pow(1.0 / temp)
    return counts / counts.sum(dim=1, keepdim=True)


def loss_pi(targets: Any, outputs: Any) -> Any:
    return -_T[0].sum(targets * outputs) / targets.size()[0]


def loss_v(targets: Any, outputs: Any) -> Any:
    return _T[0].sum((targets - outputs.view(-1)) ** 2) / targets.size()[0]


_T: list[Any] = [None]


def set_learning_rate(optimizer: Any, lr: float) -> None:
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    _T[0] = torch
    rng = np.random.default_rng(4)
    model = make_model(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    boards = rng.integers(-1, 2, (EXAMPLES, N, N)).astype(np.float64)
    valids = (boards == 0).astype(np.float64).reshape(EXAMPLES, -1)
    valids = np.concatenate([valids, np.ones((EXAMPLES, 1))], axis=1)  # pass is always legal
    visits = rng.integers(0, 20, (EXAMPLES, ACTIONS)).astype(np.float64) * valids
    visits[:, -1] += 1
    zs = rng.choice([-1.0, 1.0], EXAMPLES)
    values: list[float] = []
    examples = []
    for k in range(EXAMPLES):
        counts = torch.FloatTensor(visits[k : k + 1])
        pi = mcts_policy(torch, counts, temp=0 if k % 4 == 0 else 1.0)[0]
        board = torch.FloatTensor(boards[k])
        valid = torch.FloatTensor(valids[k])
        syms = get_symmetries(torch, board, pi, valid)
        values.append(float(sum((s[1] * s[2]).sum().item() for s in syms)))  # mass stays legal
        b, p, v = syms[int(rng.integers(0, 8))]
        examples.append((b.numpy(), p.numpy(), v.numpy(), zs[k]))
    optimizer = torch.optim.Adam(model.parameters(), weight_decay=1e-4)
    for epoch in range(EPOCHS):
        model.train()
        set_learning_rate(optimizer, 2e-3 / (epoch + 1))
        for _ in range(EXAMPLES // BATCH):
            sample_ids = rng.integers(len(examples), size=BATCH)
            b, p, v, z = list(zip(*[examples[i] for i in sample_ids]))
            boards_t = torch.FloatTensor(np.array(b).astype(np.float64))
            target_pis = torch.FloatTensor(np.array(p))
            valid_t = torch.FloatTensor(np.array(v))
            target_vs = torch.FloatTensor(np.array(z).astype(np.float64))
            out_pi, out_v = model(boards_t, valid_t)
            if epoch == 0:
                l_pi = loss_pi(target_pis, out_pi)
                l_v = loss_v(target_vs, out_v)
            else:
                l_pi = -torch.mean(torch.sum(target_pis * out_pi, 1))
                l_v = F.mse_loss(out_v.view(-1), target_vs)
            total_loss = l_pi + l_v
            optimizer.zero_grad()
            total_loss.backward()
            optimizer.step()
            entropy = -torch.mean(torch.sum(torch.exp(out_pi) * out_pi, 1))
            values += [total_loss.item(), l_pi.item(), l_v.item(), entropy.item()]
    model.eval()
    for k in range(3):
        board = torch.FloatTensor(boards[k].astype(np.float64))
        board = board.view(1, N, N)
        with torch.no_grad():
            pi, v = model(board, torch.FloatTensor(valids[k : k + 1]))
        probs = torch.exp(pi).data.cpu().numpy()[0]
        values += probs.tolist() + v.data.cpu().numpy()[0].tolist()
        values.append(float(probs[valids[k] == 0].sum()))
    return values
