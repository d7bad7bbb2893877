"""ES-RNN (Smyl's M4 winner): per-series Holt-Winters smoothing learned jointly with an RNN, as
kdgutier's ``esrnn_torch`` writes it (``ESRNN/utils/ESRNN.py``: ``_ES``, ``_ESM``, ``_RNN``,
``_ESRNN``; ``ESRNN/utils/losses.py``: ``SmylLoss``, ``PinballLoss``; ``ESRNN/ESRNN.py``:
``train`` with its two optimizers), size-reduced.

The idioms kept verbatim: per-series smoothing parameters in an ``nn.Embedding`` initialised
by ``self.embeds.weight.data.copy_(torch.ones((self.n_series, embeds_size)) * 0.5)``;
``self.seasonality = torch.LongTensor(self.mc.seasonality)`` used as a slice bound
``embeds[:, 2:(2+self.seasonality[0])]`` and in ``assert len(init_seas1) ==
self.seasonality[0]``; ``torch.exp(...).unbind(1)``; the recursion over ``y.unbind(1)``
building Python lists (``levels += [newlev]``, ``newlev = lev_sms * (ys[t] / seas_prod_t) +
(1-lev_sms) * levels[t-1]``, the seasonal update) stacked by ``torch.stack(levels)
.transpose(1,0)``; ``torch.ones(len(y[:,0])).to(y.device)``; the window loop filling
preallocated ``windows_y_hat[i, :, :] += window_y_hat`` from ``levels[:, [y_hat_end-1]]``
(a list index) and the in-place ``y_n /= seasonalities[s][:, start:end]`` before
``torch.log``; ``gaussian_noise``'s ``torch.autograd.Variable(input_data.data.new(size)
.normal_(0, std))``; the category one-hots ``torch.cat((window_y_hat, ts_object.categories),
1)``; ``PinballLoss``'s ``torch.max(torch.mul(self.tau, delta_y), torch.mul((self.tau - 1),
delta_y))`` (a number as ``torch.mul``'s first argument) and ``SmylLoss``'s level
variability penalty ``torch.sub(torch.log(levels[:, 1:]), torch.log(levels[:, :-1]))``;
two Adam optimizers (the ES one with ``per_series_lr_multip``, the RNN one with
``weight_decay``), each with ``StepLR``, and ``clip_grad_norm_`` of each sub-module.

Changed: 3 series of 18 positive steps with seasonality 4, input window 4, horizon 2,
state size 8; the dilated RNN stack (``DRNN``) is one ``nn.LSTM`` layer; 4 epochs of one batch
with the evaluation-mode forward at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_SERIES, N_TIME, SEASON, INPUT, OUTPUT, STATE, N_CAT, EPOCHS = 3, 18, 4, 4, 2, 8, 2, 4


class _MC:
    n_series = N_SERIES
    input_size = INPUT
    output_size = OUTPUT
    exogenous_size = N_CAT
    noise_std = 0.001
    seasonality = [SEASON]
    state_hsize = STATE
    device = "cpu"
    learning_rate = 1e-2
    per_series_lr_multip = 0.8
    gradient_eps = 1e-8
    rnn_weight_decay = 1e-4
    lr_scheduler_step_size = 2
    lr_decay = 0.5
    gradient_clipping_threshold = 1.0
    level_variability_penalty = 80
    training_percentile = 49


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class _ES(nn.Module):
        def __init__(self, mc):
            super(_ES, self).__init__()  # noqa: UP008
            self.mc = mc
            self.n_series = self.mc.n_series
            self.output_size = self.mc.output_size
            assert len(self.mc.seasonality) in [0, 1, 2]

        def gaussian_noise(self, input_data, std=0.2):
            size = input_data.size()
            noise = torch.autograd.Variable(input_data.data.new(size).normal_(0, std))
            return input_data + noise

        def forward(self, ts_object):
            # parse mc
            input_size = self.mc.input_size
            output_size = self.mc.output_size
            exogenous_size = self.mc.exogenous_size
            noise_std = self.mc.noise_std
            batch_size = len(ts_object.idxs)

            # parse ts_object
            y = ts_object.y
            idxs = ts_object.idxs
            n_series, n_time = y.shape
            if self.training:
                windows_end = n_time - input_size - output_size + 1
                windows_range = range(windows_end)
            else:
                windows_start = n_time - input_size - output_size + 1
                windows_end = n_time - input_size + 1
                windows_range = range(windows_start, windows_end)
            n_windows = len(windows_range)
            assert n_windows > 0

            # Initialize windows, levels and seasonalities
            levels, seasonalities = self.compute_levels_seasons(y, idxs)
            windows_y_hat = torch.zeros((n_windows, batch_size, input_size + exogenous_size),
                                        device=self.mc.device)  # fmt: skip
            windows_y = torch.zeros((n_windows, batch_size, output_size), device=self.mc.device)

            for i, window in enumerate(windows_range):
                # Windows yhat
                y_hat_start = window
                y_hat_end = input_size + window

                # Y_hat deseasonalization and normalization
                window_y_hat = self.normalize(y=y[:, y_hat_start:y_hat_end],
                                              level=levels[:, [y_hat_end - 1]],
                                              seasonalities=seasonalities,
                                              start=y_hat_start, end=y_hat_end)  # fmt: skip

                if self.training:
                    window_y_hat = self.gaussian_noise(window_y_hat, std=noise_std)

                # Concatenate categories
                if exogenous_size > 0:
                    window_y_hat = torch.cat((window_y_hat, ts_object.categories), 1)

                windows_y_hat[i, :, :] += window_y_hat

                # Windows y (for loss during train)
                if self.training:
                    y_start = y_hat_end
                    y_end = y_start + output_size
                    # Y deseasonalization and normalization
                    window_y = self.normalize(y=y[:, y_start:y_end],
                                              level=levels[:, [y_start]],
                                              seasonalities=seasonalities,
                                              start=y_start, end=y_end)  # fmt: skip
                    windows_y[i, :, :] += window_y

            return windows_y_hat, windows_y, levels, seasonalities

    class _ESM(_ES):
        def __init__(self, mc):
            super(_ESM, self).__init__(mc)  # noqa: UP008
            # Level and Seasonality Smoothing parameters
            # 1 level, S seasonalities, S init_seas
            embeds_size = 1 + len(self.mc.seasonality) + sum(self.mc.seasonality)
            init_embeds = torch.ones((self.n_series, embeds_size)) * 0.5
            self.embeds = nn.Embedding(self.n_series, embeds_size)
            self.embeds.weight.data.copy_(init_embeds)
            self.seasonality = torch.LongTensor(self.mc.seasonality)

        def compute_levels_seasons(self, y, idxs):
            """Computes levels and seasons"""
            # Lookup parameters per serie
            embeds = self.embeds(idxs)
            lev_sms = torch.sigmoid(embeds[:, 0])

            # Initialize seasonalities
            seas_prod = torch.ones(len(y[:, 0])).to(y.device)
            seasonalities1 = []
            seas_sms1 = torch.ones(1).to(y.device)

            if len(self.seasonality) > 0:
                seas_sms1 = torch.sigmoid(embeds[:, 1])
                init_seas1 = torch.exp(embeds[:, 2 : (2 + self.seasonality[0])]).unbind(1)
                assert len(init_seas1) == self.seasonality[0]

                for i in range(len(init_seas1)):
                    seasonalities1 += [init_seas1[i]]
                seasonalities1 += [init_seas1[0]]
                seas_prod = seas_prod * init_seas1[0]

            # Initialize levels
            levels = []
            levels += [y[:, 0] / seas_prod]

            # Recursive seasonalities and levels
            ys = y.unbind(1)
            n_time = len(ys)
            for t in range(1, n_time):
                seas_prod_t = torch.ones(len(y[:, t])).to(y.device)
                if len(self.seasonality) > 0:
                    seas_prod_t = seas_prod_t * seasonalities1[t]

                newlev = lev_sms * (ys[t] / seas_prod_t) + (1 - lev_sms) * levels[t - 1]
                levels += [newlev]

                if len(self.seasonality) == 1:
                    newseason1 = seas_sms1 * (ys[t] / newlev) + (1 - seas_sms1) * seasonalities1[t]
                    seasonalities1 += [newseason1]

            levels = torch.stack(levels).transpose(1, 0)

            seasonalities = []

            if len(self.seasonality) > 0:
                seasonalities += [torch.stack(seasonalities1).transpose(1, 0)]

            return levels, seasonalities

        def normalize(self, y, level, seasonalities, start, end):
            # Deseasonalization and normalization
            y_n = y / level
            for s in range(len(self.seasonality)):
                y_n /= seasonalities[s][:, start:end]
            y_n = torch.log(y_n)
            return y_n

    class _RNN(nn.Module):
        def __init__(self, mc):
            super(_RNN, self).__init__()  # noqa: UP008
            self.mc = mc
            self.layers = nn.LSTM(self.mc.input_size + self.mc.exogenous_size, self.mc.state_hsize)
            self.adapterW = nn.Linear(self.mc.state_hsize, self.mc.output_size)

        def forward(self, input_data):
            input_data, _ = self.layers(input_data)
            input_data = self.adapterW(input_data)
            return input_data

    class _ESRNN(nn.Module):
        def __init__(self, mc):
            super(_ESRNN, self).__init__()  # noqa: UP008
            self.mc = mc
            self.es = _ESM(mc).to(self.mc.device)
            self.rnn = _RNN(mc).to(self.mc.device)

        def forward(self, ts_object):
            # ES Forward
            windows_y_hat, windows_y, levels, seasonalities = self.es(ts_object)

            # RNN Forward
            windows_y_hat = self.rnn(windows_y_hat)

            return windows_y, windows_y_hat, levels

    return _ESRNN(_MC())


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    StepLR = optim.lr_scheduler.StepLR

    class PinballLoss(nn.Module):
        def __init__(self, tau=0.5):
            super(PinballLoss, self).__init__()  # noqa: UP008
            self.tau = tau

        def forward(self, y, y_hat):
            delta_y = torch.sub(y, y_hat)
            pinball = torch.max(torch.mul(self.tau, delta_y), torch.mul((self.tau - 1), delta_y))
            pinball = pinball.mean()
            return pinball

    class SmylLoss(nn.Module):
        def __init__(self, tau, level_variability_penalty=0.0):
            super(SmylLoss, self).__init__()  # noqa: UP008
            self.tau = tau
            self.level_variability_penalty = level_variability_penalty

        def forward(self, windows_y, windows_y_hat, levels):
            pinball = PinballLoss(self.tau)
            loss = pinball(windows_y, windows_y_hat)
            if self.level_variability_penalty > 0:
                log_diff_of_levels = torch.sub(torch.log(levels[:, 1:]), torch.log(levels[:, :-1]))
                log_diff_prime = log_diff_of_levels[:, 1:] - log_diff_of_levels[:, :-1]
                mean_squared_log_diff = log_diff_prime.pow(2).mean()
                loss += self.level_variability_penalty * mean_squared_log_diff
            return loss

    class Batch:
        def __init__(self, y, idxs, categories):
            self.y, self.idxs, self.categories = y, idxs, categories

    torch.manual_seed(1)
    esrnn = make_model(torch_like)
    load_numpy_state(torch_like, esrnn, init)
    mc = esrnn.mc
    t = np.arange(N_TIME)
    season = 1 + 0.3 * np.sin(2 * np.pi * t / SEASON)
    rng = np.random.default_rng(9)
    y = (
        (10 + np.arange(N_SERIES)[:, None] + 0.2 * t)
        * season
        * (1 + 0.02 * rng.random((N_SERIES, N_TIME)))
    )
    batch = Batch(as_tensor(torch_like, y), torch.LongTensor(list(range(N_SERIES))),
                  as_tensor(torch_like, np.eye(N_CAT)[[0, 1, 1]]))  # fmt: skip

    es_optimizer = optim.Adam(params=esrnn.es.parameters(),
                              lr=mc.learning_rate * mc.per_series_lr_multip,
                              betas=(0.9, 0.999), eps=mc.gradient_eps)  # fmt: skip
    rnn_optimizer = optim.Adam(params=esrnn.rnn.parameters(), lr=mc.learning_rate,
                               betas=(0.9, 0.999), eps=mc.gradient_eps,
                               weight_decay=mc.rnn_weight_decay)  # fmt: skip
    es_scheduler = StepLR(optimizer=es_optimizer, step_size=mc.lr_scheduler_step_size, gamma=0.9)
    rnn_scheduler = StepLR(optimizer=rnn_optimizer, step_size=mc.lr_scheduler_step_size,
                           gamma=mc.lr_decay)  # fmt: skip
    train_tau = mc.training_percentile / 100
    train_loss = SmylLoss(tau=train_tau, level_variability_penalty=mc.level_variability_penalty)
    values: list[float] = []
    for epoch in range(EPOCHS):  # noqa: B007
        esrnn.train()
        es_optimizer.zero_grad()
        rnn_optimizer.zero_grad()
        windows_y, windows_y_hat, levels = esrnn(batch)
        loss = train_loss(windows_y, windows_y_hat, levels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(esrnn.rnn.parameters(), mc.gradient_clipping_threshold)
        torch.nn.utils.clip_grad_norm_(esrnn.es.parameters(), mc.gradient_clipping_threshold)
        rnn_optimizer.step()
        es_optimizer.step()
        # Decay learning rate
        es_scheduler.step()
        rnn_scheduler.step()
        values.append(loss.item())
    esrnn.eval()
    with torch.no_grad():
        windows_y, windows_y_hat, levels = esrnn(batch)
        values += [windows_y_hat.sum().item(), levels[:, -1].sum().item()]
    return values
