"""Chapters 3 and 4 of *Deep Learning with PyTorch* (Stevens, Antiga, Viehmann), the tensor and
real-world-data notebooks (github.com/deep-learning-with-pytorch/dlwpt-code,
``p1ch3/1_tensors.ipynb``, ``p1ch4/3_tabular_wine.ipynb``, ``p1ch4/4_time_series_bikes.ipynb``,
``p1ch4/5_text_jane_austin.ipynb``),
followed by chapter 7's tiny classifier trained on the wine data.

The idioms kept: ch3's storage views (``points.storage_offset()``, ``points.stride()``,
``second_point = points[1]`` with ``second_point.storage_offset()``, ``points_t = points.t()``,
``points_t.is_contiguous()``, ``points_t_cont = points_t.contiguous()``, ``some_t.transpose(0,
2)`` strides), ``torch.from_numpy(points_np)`` sharing memory, the "unnamed" grayscale
recipe ``img_t.mean(-3)``, ``(img_t * weights.unsqueeze(-1).unsqueeze_(-1)).sum(-3)`` with
``unsqueeze_``; ch4's ``wineq = torch.from_numpy(wineq_numpy)``, ``target_onehot =
torch.zeros(target.shape[0], 10)`` / ``target_onehot.scatter_(1, target.unsqueeze(1), 1.0)``,
``data_normalized = (data - data_mean) / torch.sqrt(data_var)``, ``bad_indexes =
target_t <= 3`` with ``data[bad_indexes]`` and ``torch.lt``/``torch.gt``/``torch.ge`` masks,
the bike-sharing reshape ``daily_bikes = bikes.view(-1, 24, bikes.shape[1])`` /
``daily_bikes.transpose(1, 2)`` with ``daily_weather_onehot.scatter_(1,
daily_bikes[:,9,:].long().unsqueeze(1) - 1, 1.0)`` and ``torch.cat((daily_bikes,
daily_weather_onehot), dim=1)``, the temperature rescaling ``(daily_bikes[:, 10, :] - temp_min)
/ (temp_max - temp_min)``; the text one-hot ``letter_t[i][letter_index] = 1`` and
``word_t[i][word_index] = 1``; ch7's ``nn.Sequential(nn.Linear(n_in, 16), nn.Tanh(),
nn.Linear(16, 2), nn.LogSoftmax(dim=1))`` with ``nn.NLLLoss()`` and ``optim.SGD``.

Changed: 40 synthetic wine rows (12 columns) and 3 days of bike data from NumPy instead of the
CSV files; the named-tensor part of ch3 (``refine_names``/``align_as``) is left out: the
PyTorch these programs run against (2.13) no longer has named tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["run"]

# the wine table is float32 as the book loads it (``np.loadtxt(..., dtype=np.float32)``): its
# means and losses are float32 sums, which may differ from PyTorch's in the last bit
RTOL, ATOL = 1e-6, 1e-9


def run(torch_like: Any, init: Any) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    values: list[float] = []
    # --- ch3: storage, strides, contiguity
    points = torch.tensor([[4.0, 1.0], [5.0, 3.0], [2.0, 1.0]])
    second_point = points[1]
    values += [float(second_point.storage_offset()), *map(float, points.stride())]
    points_t = points.t()
    values += [float(points_t.is_contiguous()), *map(float, points_t.stride())]
    points_t_cont = points_t.contiguous()
    values += [float(points_t_cont.is_contiguous()), *map(float, points_t_cont.stride())]
    some_t = torch.ones(3, 4, 5)
    transpose_t = some_t.transpose(0, 2)
    values += list(map(float, transpose_t.stride()))
    points_np = np.array([[4.0, 1.0], [5.0, 3.0], [2.0, 1.0]])
    from_np = torch.from_numpy(points_np)
    points_np[0, 0] = 7.0
    values.append(from_np[0, 0].item())
    rng = np.random.default_rng(31)
    img_t = torch.from_numpy(rng.random((2, 3, 5, 5)))
    weights = torch.tensor([0.2126, 0.7152, 0.0722])
    img_gray_naive = img_t.mean(-3)
    unsqueezed_weights = weights.unsqueeze(-1).unsqueeze_(-1)
    img_weights = img_t * unsqueezed_weights
    img_gray_weighted = img_weights.sum(-3)
    values += [img_gray_naive.sum().item(), img_gray_weighted.sum().item()]
    # --- ch4: tabular wine
    wineq_numpy = np.concatenate(
        [rng.random((40, 11)) * 10, rng.integers(3, 9, (40, 1)).astype(np.float64)], axis=1
    ).astype(np.float32)
    wineq = torch.from_numpy(wineq_numpy)
    data = wineq[:, :-1]
    target = wineq[:, -1].long()
    target_onehot = torch.zeros(target.shape[0], 10)
    target_onehot.scatter_(1, target.unsqueeze(1), 1.0)
    values.append(target_onehot.sum(0)[3:9].sum().item())
    data_mean = torch.mean(data, dim=0)
    data_var = torch.var(data, dim=0)
    data_normalized = (data - data_mean) / torch.sqrt(data_var)
    bad_indexes = target <= 3
    bad_data = data[bad_indexes]
    mid_data = data[(target > 3) & (target < 7)]
    good_data = data[target >= 7]
    values += [float(bad_data.shape[0]), mid_data.mean().item(), good_data.mean().item()]
    actual_indexes = torch.lt(target, 5) | torch.ge(target, 7) & torch.gt(target, 0)
    values.append(actual_indexes.sum().item())
    # --- ch4: bikes time series
    bikes = torch.from_numpy(
        np.concatenate(
            [rng.random((72, 9)), rng.integers(1, 5, (72, 1)), rng.random((72, 7))], axis=1
        )
    )
    daily_bikes = bikes.view(-1, 24, bikes.shape[1])
    daily_bikes = daily_bikes.transpose(1, 2)
    daily_weather_onehot = torch.zeros(daily_bikes.shape[0], 4, daily_bikes.shape[2])
    daily_weather_onehot.scatter_(1, daily_bikes[:, 9, :].long().unsqueeze(1) - 1, 1.0)
    daily_bikes = torch.cat((daily_bikes, daily_weather_onehot.to(daily_bikes.dtype)), dim=1)
    temp = daily_bikes[:, 10, :]
    temp_min = torch.min(temp)
    temp_max = torch.max(temp)
    daily_bikes[:, 10, :] = (daily_bikes[:, 10, :] - temp_min) / (temp_max - temp_min)
    values += [daily_bikes.sum().item(), *map(float, daily_bikes.shape)]
    # --- ch4: text one-hot
    line = "impossible, mr. bennet, impossible"
    letter_t = torch.zeros(len(line), 128)
    for i, letter in enumerate(line.lower().strip()):
        letter_index = ord(letter) if ord(letter) < 128 else 0
        letter_t[i][letter_index] = 1
    words = line.replace(",", " ").split()
    word2index_dict = {w: i for i, w in enumerate(sorted(set(words)))}
    word_t = torch.zeros(len(words), len(word2index_dict))
    for i, word in enumerate(words):
        word_index = word2index_dict[word]
        word_t[i][word_index] = 1
    values += [letter_t.argmax(1).sum().item(), word_t.argmax(1).sum().item()]
    # --- ch7: classifier on the normalised wine data, good vs not
    torch.manual_seed(0)
    n_in = data_normalized.shape[1]
    model = nn.Sequential(nn.Linear(n_in, 16), nn.Tanh(), nn.Linear(16, 2), nn.LogSoftmax(dim=1))
    model = model.to(torch.float32)
    loss_fn = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=1e-2)
    labels = (target >= 6).long()
    for _ in range(5):
        out = model(data_normalized)
        loss = loss_fn(out, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    return values
