"""The PyTorch "Train a Mario-playing RL Agent" tutorial (``intermediate/mario_rl_tutorial``),
size-reduced: ``MarioNet`` builds ``self.online`` (three ``nn.Conv2d`` + ``nn.ReLU``,
``nn.Flatten()``, two ``nn.Linear``) and ``self.target = copy.deepcopy(self.online)`` with
``p.requires_grad = False`` for the target's parameters, ``forward(input, model)`` picking one;
``Mario.act`` explores with ``np.random.rand() < self.exploration_rate`` or exploits with
``state = state[0].__array__() if isinstance(state, tuple) else state.__array__()``,
``torch.tensor(state, device=self.device).unsqueeze(0)`` and ``torch.argmax(action_values,
axis=1).item()``, decaying ``exploration_rate *= exploration_rate_decay`` to
``max(exploration_rate_min, ...)``; ``cache`` stores ``torch.tensor(state)``,
``torch.tensor([action])``, ``torch.tensor([reward])``, ``torch.tensor([done])`` (a bool);
``recall`` stacks a sampled batch and ``.squeeze()``s; Double-DQN ``td_estimate``
(``self.net(state, model="online")[np.arange(0, self.batch_size), action]``) and ``td_target``
under ``@torch.no_grad()`` (``best_action = torch.argmax(next_state_Q, axis=1)``, the target
net's ``next_Q`` and ``(reward + (1 - done.float()) * self.gamma * next_Q).float()``);
``update_Q_online`` with ``torch.nn.SmoothL1Loss()`` and ``torch.optim.Adam(lr=0.00025)``;
``sync_Q_target`` through ``load_state_dict(self.net.online.state_dict())``; ``save`` writes
``torch.save(dict(model=self.net.state_dict(), exploration_rate=self.exploration_rate),
save_path)`` and loading it back resumes the agent; ``learn`` returns
``(td_est.mean().item(), loss)`` on its ``burnin``/``learn_every``/``sync_every`` schedule.

The gym-super-mario-bros environment with its ``SkipFrame``/``GrayScaleObservation``/
``ResizeObservation``/``FrameStack`` wrappers becomes a tiny NumPy environment that returns a
``LazyFrames``-like stack of four 24x24 frames (``__array__``), and ``np.random`` and the
TensorDict replay buffer are drawn from one seeded generator. Sizes: 84x84 -> 24x24, channels
32/64/64 -> 4/4/4, hidden 512 -> 16, batch 32 -> 4, burnin 1e4 -> 6, 40 episodes -> 3.
"""

from __future__ import annotations

import copy
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

DTYPE = "float32"
SIZE, STACK, ACTIONS = 24, 4, 2


class LazyFrames:
    """gym's ``LazyFrames``: the stacked frames, turned into an array by ``__array__``."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self._frames = list(frames)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.stack(self._frames)
        return out.astype(dtype) if dtype is not None else out


class FakeMarioEnv:
    """A deterministic stand-in for ``gym_super_mario_bros`` after the tutorial's wrappers."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.frames: deque = deque(maxlen=STACK)

    def _frame(self) -> np.ndarray:
        f = self.rng.random((SIZE, SIZE)).astype(np.float32) * 0.5
        f[:, self.pos : self.pos + 4] += 0.5
        return f

    def reset(self) -> tuple[LazyFrames, dict]:
        self.pos, self.t = 4, 0
        for _ in range(STACK):
            self.frames.append(self._frame())
        return LazyFrames(self.frames), {}

    def step(self, action: int) -> tuple[LazyFrames, float, bool, bool, dict]:
        self.pos = int(np.clip(self.pos + (2 if action == 1 else -1), 0, SIZE - 4))
        self.t += 1
        self.frames.append(self._frame())
        reward = float(self.pos) / SIZE - 0.1
        done = self.t >= 5
        return LazyFrames(self.frames), reward, done, False, {"x_pos": self.pos}


def init_state(tmp_path: Path) -> dict:
    return {"root": str(tmp_path)}


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    save_dir = Path(init["root"]) / torch_like.__name__ / "checkpoints"
    save_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)

    class MarioNet(nn.Module):
        """mini CNN structure
        input -> (conv2d + relu) x 3 -> flatten -> (dense + relu) x 2 -> output
        """

        def __init__(self, input_dim: tuple, output_dim: int) -> None:
            super().__init__()
            c, h, w = input_dim
            self.online = self.__build_cnn(c, output_dim)
            self.target = copy.deepcopy(self.online)
            # Q_target parameters are frozen.
            for p in self.target.parameters():
                p.requires_grad = False

        def forward(self, input: Any, model: str) -> Any:
            if model == "online":
                return self.online(input)
            elif model == "target":
                return self.target(input)

        def __build_cnn(self, c: int, output_dim: int) -> Any:
            return nn.Sequential(
                nn.Conv2d(in_channels=c, out_channels=4, kernel_size=8, stride=4),
                nn.ReLU(),
                nn.Conv2d(in_channels=4, out_channels=4, kernel_size=3, stride=1),
                nn.ReLU(),
                nn.Conv2d(in_channels=4, out_channels=4, kernel_size=3, stride=1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(4, 16),
                nn.ReLU(),
                nn.Linear(16, output_dim),
            )

    class Mario:
        def __init__(self, state_dim: tuple, action_dim: int, save_dir: Path) -> None:
            self.state_dim = state_dim
            self.action_dim = action_dim
            self.save_dir = save_dir
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
            # Mario's DNN to predict the most optimal action - we implement this in the Learn
            # section
            torch.manual_seed(0)
            self.net = MarioNet(self.state_dim, self.action_dim).float()
            self._init_weights()
            self.net = self.net.to(device=self.device)
            self.exploration_rate = 1
            self.exploration_rate_decay = 0.9
            self.exploration_rate_min = 0.1
            self.curr_step = 0
            self.save_every = 10  # no. of experiences between saving Mario Net
            self.memory: deque = deque(maxlen=100)
            self.batch_size = 4
            self.gamma = 0.9
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=0.00025)
            self.loss_fn = torch.nn.SmoothL1Loss()
            self.burnin = 6  # min. experiences before training
            self.learn_every = 2  # no. of experiences between updates to Q_online
            self.sync_every = 6  # no. of experiences between Q_target & Q_online sync

        def _init_weights(self) -> None:
            # same weights in both frameworks (the tutorial relies on default init)
            wrng = np.random.default_rng(11)
            with torch.no_grad():
                for p in self.net.online.parameters():
                    p.copy_(torch.tensor(wrng.normal(0, 0.3, tuple(p.shape)).astype(np.float32)))
            self.net.target.load_state_dict(self.net.online.state_dict())

        def act(self, state: Any) -> int:
            # EXPLORE
            if rng.random() < self.exploration_rate:
                action_idx = int(rng.integers(self.action_dim))
            # EXPLOIT
            else:
                state = state[0].__array__() if isinstance(state, tuple) else state.__array__()
                state = torch.tensor(state, device=self.device).unsqueeze(0)
                action_values = self.net(state, model="online")
                action_idx = torch.argmax(action_values, axis=1).item()
            # decrease exploration_rate
            self.exploration_rate *= self.exploration_rate_decay
            self.exploration_rate = max(self.exploration_rate_min, self.exploration_rate)
            # increment step
            self.curr_step += 1
            return action_idx

        def cache(self, state: Any, next_state: Any, action: int, reward: float, done: bool):
            def first_if_tuple(x: Any) -> Any:
                return x[0] if isinstance(x, tuple) else x

            state = first_if_tuple(state).__array__()
            next_state = first_if_tuple(next_state).__array__()
            state = torch.tensor(state)
            next_state = torch.tensor(next_state)
            action = torch.tensor([action])
            reward = torch.tensor([reward])
            done = torch.tensor([done])
            self.memory.append(
                {
                    "state": state,
                    "next_state": next_state,
                    "action": action,
                    "reward": reward,
                    "done": done,
                }
            )

        def recall(self) -> tuple:
            idx = rng.choice(len(self.memory), self.batch_size, replace=False)
            batch = [self.memory[i] for i in idx]
            state, next_state, action, reward, done = (
                torch.stack([b[key] for b in batch]).to(self.device)
                for key in ("state", "next_state", "action", "reward", "done")
            )
            return state, next_state, action.squeeze(), reward.squeeze(), done.squeeze()

        def td_estimate(self, state: Any, action: Any) -> Any:
            current_Q = self.net(state, model="online")[
                np.arange(0, self.batch_size), action
            ]  # Q_online(s,a)
            return current_Q

        @torch.no_grad()
        def td_target(self, reward: Any, next_state: Any, done: Any) -> Any:
            next_state_Q = self.net(next_state, model="online")
            best_action = torch.argmax(next_state_Q, axis=1)
            next_Q = self.net(next_state, model="target")[
                np.arange(0, self.batch_size), best_action
            ]
            return (reward + (1 - done.float()) * self.gamma * next_Q).float()

        def update_Q_online(self, td_estimate: Any, td_target: Any) -> float:
            loss = self.loss_fn(td_estimate, td_target)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return loss.item()

        def sync_Q_target(self) -> None:
            self.net.target.load_state_dict(self.net.online.state_dict())

        def save(self) -> Path:
            save_path = self.save_dir / f"mario_net_{int(self.curr_step // self.save_every)}.chkpt"
            torch.save(
                dict(model=self.net.state_dict(), exploration_rate=self.exploration_rate),
                save_path,
            )
            return save_path

        def learn(self) -> tuple:
            if self.curr_step % self.sync_every == 0:
                self.sync_Q_target()
            if self.curr_step < self.burnin:
                return None, None
            if self.curr_step % self.learn_every != 0:
                return None, None
            # Sample from memory
            state, next_state, action, reward, done = self.recall()
            # Get TD Estimate
            td_est = self.td_estimate(state, action)
            # Get TD Target
            td_tgt = self.td_target(reward, next_state, done)
            # Backpropagate loss through Q_online
            loss = self.update_Q_online(td_est, td_tgt)
            return (td_est.mean().item(), loss)

    env = FakeMarioEnv(rng)
    mario = Mario(state_dim=(STACK, SIZE, SIZE), action_dim=ACTIONS, save_dir=save_dir)
    values: list[float] = []
    ep_rewards = []
    for _ in range(3):
        state = env.reset()
        ep_reward = 0.0
        while True:
            action = mario.act(state)
            next_state, reward, done, trunc, info = env.step(action)
            mario.cache(state, next_state, action, reward, done)
            q, loss = mario.learn()
            if loss is not None:
                values += [q, loss]
            ep_reward += reward
            state = next_state
            if done or info["x_pos"] >= SIZE - 4:
                break
        ep_rewards.append(ep_reward)
    values.append(float(np.round(np.mean(ep_rewards[-100:]), 3)))
    values.append(mario.exploration_rate)

    # checkpoint round trip: a new agent resumes from the saved dict
    path = mario.save()
    ckp = torch.load(path, map_location=("cuda" if torch.cuda.is_available() else "cpu"))
    exploration_rate = ckp.get("exploration_rate")
    state_dict = ckp.get("model")
    resumed = Mario(state_dim=(STACK, SIZE, SIZE), action_dim=ACTIONS, save_dir=save_dir)
    resumed.net.load_state_dict(state_dict)
    resumed.exploration_rate = exploration_rate
    probe = torch.tensor(np.asarray(env.reset()[0].__array__())).unsqueeze(0)
    with torch.no_grad():
        a = resumed.net(probe, model="online")
        b = mario.net(probe, model="online")
        values += [a.sum().item(), (a - b).abs().max().item()]
    values.append(float(all(not p.requires_grad for p in resumed.net.target.parameters())))
    return values
