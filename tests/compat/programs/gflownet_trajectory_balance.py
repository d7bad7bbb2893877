"""GFlowNet trajectory balance on a small hypergrid, size-reduced from the ``torchgfn``
tutorials and Malkin et al.'s ``gflownet`` hypergrid notebook (``TBModel`` with a learned
``logZ``, forward and backward policies with masked logits, Categorical sampling of
trajectories, and the trajectory-balance loss).

The idioms: ``self.logZ = nn.Parameter(torch.ones(1))``; the one-hot state encoding
``F.one_hot(state, horizon).view(batch, -1).float()``; ``logits[..., :ndim+1]`` forward and
``[..., ndim+1:]`` backward heads split from one MLP; invalid-action masking ``logits.masked_fill(
~mask, -float("inf"))`` and ``torch.where(mask, logits, torch.full_like(logits, -1e9))``;
``cat = Categorical(logits=P_F_s)``, ``actions = cat.sample()``, ``log_P_F += cat.log_prob(
actions)``; the termination action ``actions == ndim`` with ``terminated = terminated |
just_done`` (an in-place ``|=`` would bump the version of a mask ``torch.where`` saved),
``state[~terminated] += F.one_hot(actions[~terminated], ndim)`` under ``torch.no_grad``;
the backward policy's ``Categorical(logits=...).log_prob(actions)`` added only for
non-terminal steps via ``torch.where``; the reward ``R(x) = R0 + 0.5 * prod(|x/H - 0.5| >
0.25) + 2 * prod((|x/H - 0.5| > 0.3) & (|x/H - 0.5| < 0.4))`` from the paper; ``loss =
(model.logZ + log_P_F - log_P_B - log_reward).pow(2).mean()``; separate parameter groups
``[{"params": model.mlp.parameters(), "lr": 1e-3}, {"params": [model.logZ], "lr": 1e-1}]``;
the empirical L1 distance between visited terminal states and the normalised reward
(``torch.bincount`` of flattened indices).

Changed: an 8x8 grid (ndim 2, horizon 8), batch 6, 4 updates; sampling uses
``torch.manual_seed`` (both libraries reproduce PyTorch's CPU generator).
"""

from __future__ import annotations

from typing import Any

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

NDIM, H, BATCH, STEPS, HIDDEN = 2, 6, 6, 4, 32


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class TBModel(nn.Module):
        def __init__(self, num_hid: int) -> None:
            super().__init__()
            self.mlp = nn.Sequential(
                nn.Linear(NDIM * H, num_hid), nn.LeakyReLU(), nn.Linear(num_hid, num_hid),
                nn.LeakyReLU(), nn.Linear(num_hid, 2 * NDIM + 1),
            )  # fmt: skip
            self.logZ = nn.Parameter(torch.ones(1))

        def forward(self, state: Any) -> tuple[Any, Any]:
            x = F.one_hot(state, H).view(state.shape[0], -1).float()
            logits = self.mlp(x.to(self.logZ.dtype))
            P_F = logits[..., : NDIM + 1]
            P_B = logits[..., NDIM + 1 :]
            return P_F, P_B

    return TBModel(HIDDEN)


def reward(torch_like: Any, x: Any) -> Any:
    R0, R1, R2 = 1e-2, 0.5, 2.0
    ax = abs(x / (H - 1) - 0.5)
    return R0 + (0.25 < ax).prod(-1) * R1 + ((0.3 < ax) * (ax < 0.4)).prod(-1) * R2


def sample_trajectories(torch_like: Any, model: Any) -> tuple[Any, Any, Any, Any]:
    torch = torch_like
    F = torch_like.nn.functional
    Categorical = torch_like.distributions.Categorical
    state = torch.zeros(BATCH, NDIM, dtype=torch.long)
    terminated = torch.zeros(BATCH, dtype=torch.bool)
    log_P_F = torch.zeros(BATCH)
    log_P_B = torch.zeros(BATCH)
    n_steps = torch.zeros(BATCH, dtype=torch.long)
    while not terminated.all():
        P_F_s, P_B_s = model(state)
        # a coordinate at the edge cannot grow; the stop action is always allowed
        edge = state == H - 1
        mask = torch.cat([~edge, torch.ones(BATCH, 1, dtype=torch.bool)], 1)
        P_F_s = P_F_s.masked_fill(~mask, -float("inf"))
        cat = Categorical(logits=P_F_s)
        actions = cat.sample()
        log_P_F = log_P_F + torch.where(terminated, torch.zeros_like(log_P_F),
                                        cat.log_prob(actions))  # fmt: skip
        just_done = (actions == NDIM) & ~terminated
        moving = ~terminated & ~just_done
        with torch.no_grad():
            step = F.one_hot(actions.clamp(max=NDIM - 1), NDIM)
            state[moving] += step[moving]
        n_steps = n_steps + moving.long()
        # backward policy at the new state: which coordinate was incremented
        _, P_B_next = model(state)
        can_go_back = state > 0
        P_B_next = torch.where(can_go_back, P_B_next, torch.full_like(P_B_next, -1e9))
        back = Categorical(logits=P_B_next).log_prob(actions.clamp(max=NDIM - 1))
        log_P_B = log_P_B + torch.where(moving, back, torch.zeros_like(back))
        terminated = terminated | just_done
    return state, log_P_F, log_P_B, n_steps


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    torch.manual_seed(21)
    opt = torch.optim.Adam(
        [{"params": model.mlp.parameters(), "lr": 1e-3}, {"params": [model.logZ], "lr": 1e-1}]
    )
    values: list[float] = []
    visited = []
    for _it in range(STEPS):
        state, log_P_F, log_P_B, n_steps = sample_trajectories(torch, model)
        log_reward = reward(torch, state.to(model.logZ.dtype)).log()
        loss = (model.logZ + log_P_F - log_P_B - log_reward).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        visited.append(state)
        values += [loss.item(), model.logZ.item(), n_steps.float().mean().item()]
        values += state.flatten().tolist()
    # empirical distribution of terminal states against the normalised reward
    all_x = torch.stack(torch.meshgrid(torch.arange(H), torch.arange(H), indexing="ij"), -1)
    true_r = reward(torch, all_x.view(-1, NDIM).to(model.logZ.dtype))
    true_dist = true_r / true_r.sum()
    xs = torch.cat(visited)
    counts = torch.bincount(xs[:, 0] * H + xs[:, 1], minlength=H * H)
    emp_dist = counts / counts.sum()
    values.append((emp_dist - true_dist).abs().mean().item())
    values.append(true_r.sum().log().item())
    return values
