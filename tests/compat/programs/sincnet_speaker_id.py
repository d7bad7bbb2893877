"""SincNet (Ravanelli & Bengio, 2018) as mravanelli/SincNet writes it (``dnn_models.py``'s
``SincConv_fast``, ``LayerNorm``, ``act_fun``, ``MLP`` and ``SincNet``; ``speaker_id.py``'s
``create_batches_rnd`` and training/evaluation loop), size-reduced.

The idioms: ``SincConv_fast`` (mel-spaced band edges from ``np.linspace(self.to_mel(low_hz),
self.to_mel(high_hz), self.out_channels + 1)`` held as ``nn.Parameter(torch.Tensor(hz[:-1]).
view(-1, 1))`` and ``torch.Tensor(np.diff(hz))``; the half Hamming window ``0.54-0.46*torch.
cos(2*math.pi*n_lin/self.kernel_size)`` over ``torch.linspace(0, (self.kernel_size/2)-1,
steps=int((self.kernel_size/2)))``; ``self.n_ = 2*math.pi*torch.arange(-n, 0).view(1, -1) /
self.sample_rate`` with a float ``n``; ``low = self.min_low_hz + torch.abs(self.low_hz_)``,
``torch.clamp(low + self.min_band_hz + torch.abs(self.band_hz_), self.min_low_hz,
self.sample_rate/2)``, ``torch.matmul(low, self.n_)``, ``torch.flip(band_pass_left,dims=[1])``,
``band_pass / (2*band[:,None])``, filters kept as a plain attribute ``self.filters`` and
``F.conv1d(waveforms, self.filters, ..., bias=None, groups=1)``); the hand-written
``LayerNorm`` (``x.std(-1, keepdim=True)``, ``self.gamma * (x - mean) / (std + self.eps) +
self.beta``) built over ``[N_filt, length]``; ``nn.BatchNorm1d([self.input_dim],
momentum=0.05)`` with a list, and ``nn.BatchNorm1d(N_filt, int(...), momentum=0.05)`` whose
second positional argument is ``eps``; ``F.max_pool1d(torch.abs(self.conv[i](x)),
self.cnn_max_pool_len[i])``; ``act_fun`` (``nn.LeakyReLU(0.2)``, ``nn.LogSoftmax(dim=1)``,
``nn.LeakyReLU(1)``); the ``MLP``'s re-initialised weights ``torch.nn.Parameter(torch.Tensor(
self.fc_lay[i],current_input).uniform_(-np.sqrt(0.01/(current_input+self.fc_lay[i])),
np.sqrt(...)))`` and ``self.wx[i].bias = torch.nn.Parameter(torch.zeros(self.fc_lay[i]))``
assigned even onto a ``bias=False`` linear; the loop (``optim.RMSprop(CNN_net.parameters(),
lr=lr, alpha=0.95, eps=1e-8)`` per network, ``nn.NLLLoss()``, ``pred=torch.max(pout,dim=1)[1]``,
``torch.mean((pred!=lab.long()).float())``, ``torch.from_numpy(sig_batch).float()
.contiguous()``) and the sentence-level evaluation ``[val,best_class]=torch.max(torch.sum(pout,
dim=0),0)``.

Changed: 16 kHz windows of 3200 samples -> 120 samples at 1 kHz, 80 sinc filters of length 251
-> 6 of length 20 (forced odd: 21), CNN ``80,60,60`` -> ``6,4``, FC ``2048 x 3`` -> ``16``,
462 speakers -> 4; the TIMIT reader -> NumPy-drawn noisy sinusoids per "speaker", with
``create_batches_rnd``'s random chunking and amplitude kept; ``lr`` 0.001 -> 0.005; a few
steps; the first MLP normalised by its ``LayerNorm`` rather than the batch norm (the bias that
``MLP`` gives a batch-normalised linear has a zero gradient up to rounding, which RMSprop scales
up to full steps: noise that two correct libraries do not share).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
FS, WLEN, SPEAKERS, BATCH, STEPS = 1000, 120, 4, 6, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional

    class SincConv_fast(nn.Module):  # noqa: N801 (as in the repository)
        @staticmethod
        def to_mel(hz):  # noqa: ANN001, ANN205
            return 2595 * np.log10(1 + hz / 700)

        @staticmethod
        def to_hz(mel):  # noqa: ANN001, ANN205
            return 700 * (10 ** (mel / 2595) - 1)

        def __init__(self, out_channels, kernel_size, sample_rate=16000, in_channels=1,  # noqa: ANN001
                     stride=1, padding=0, dilation=1, bias=False, groups=1, min_low_hz=50,
                     min_band_hz=50):  # fmt: skip
            super(SincConv_fast, self).__init__()  # noqa: UP008
            if in_channels != 1:
                msg = "SincConv only support one input channel (here, in_channels = {%i})" % (  # noqa: UP031
                    in_channels
                )
                raise ValueError(msg)
            self.out_channels = out_channels
            self.kernel_size = kernel_size
            # Forcing the filters to be odd (i.e, perfectly symmetrics)
            if kernel_size % 2 == 0:
                self.kernel_size = self.kernel_size + 1
            self.stride = stride
            self.padding = padding
            self.dilation = dilation
            if bias:
                raise ValueError("SincConv does not support bias.")
            if groups > 1:
                raise ValueError("SincConv does not support groups.")
            self.sample_rate = sample_rate
            self.min_low_hz = min_low_hz
            self.min_band_hz = min_band_hz
            # initialize filterbanks such that they are equally spaced in Mel scale
            low_hz = 30
            high_hz = self.sample_rate / 2 - (self.min_low_hz + self.min_band_hz)
            mel = np.linspace(self.to_mel(low_hz), self.to_mel(high_hz), self.out_channels + 1)
            hz = self.to_hz(mel)
            # filter lower frequency (out_channels, 1)
            self.low_hz_ = nn.Parameter(torch.Tensor(hz[:-1]).view(-1, 1))
            # filter frequency band (out_channels, 1)
            self.band_hz_ = nn.Parameter(torch.Tensor(np.diff(hz)).view(-1, 1))
            # Hamming window
            # self.window_ = torch.hamming_window(self.kernel_size)
            n_lin = torch.linspace(
                0, (self.kernel_size / 2) - 1, steps=int(self.kernel_size / 2)
            )  # computing only half of the window
            self.window_ = 0.54 - 0.46 * torch.cos(2 * math.pi * n_lin / self.kernel_size)
            # (1, kernel_size/2)
            n = (self.kernel_size - 1) / 2.0
            self.n_ = (
                2 * math.pi * torch.arange(-n, 0).view(1, -1) / self.sample_rate
            )  # Due to symmetry, I only need half of the time axes

        def forward(self, waveforms):  # noqa: ANN001, ANN202
            self.n_ = self.n_.to(waveforms.device)
            self.window_ = self.window_.to(waveforms.device)
            low = self.min_low_hz + torch.abs(self.low_hz_)
            high = torch.clamp(
                low + self.min_band_hz + torch.abs(self.band_hz_),
                self.min_low_hz,
                self.sample_rate / 2,
            )
            band = (high - low)[:, 0]
            f_times_t_low = torch.matmul(low, self.n_)
            f_times_t_high = torch.matmul(high, self.n_)
            band_pass_left = (
                (torch.sin(f_times_t_high) - torch.sin(f_times_t_low)) / (self.n_ / 2)
            ) * self.window_  # Equivalent of Eq.4 of the reference paper
            band_pass_center = 2 * band.view(-1, 1)
            band_pass_right = torch.flip(band_pass_left, dims=[1])
            band_pass = torch.cat([band_pass_left, band_pass_center, band_pass_right], dim=1)
            band_pass = band_pass / (2 * band[:, None])
            self.filters = (band_pass).view(self.out_channels, 1, self.kernel_size)
            return F.conv1d(waveforms, self.filters, stride=self.stride, padding=self.padding,
                            dilation=self.dilation, bias=None, groups=1)  # fmt: skip

    def act_fun(act_type):  # noqa: ANN001, ANN202
        if act_type == "relu":
            return nn.ReLU()
        if act_type == "tanh":
            return nn.Tanh()
        if act_type == "sigmoid":
            return nn.Sigmoid()
        if act_type == "leaky_relu":
            return nn.LeakyReLU(0.2)
        if act_type == "elu":
            return nn.ELU()
        if act_type == "softmax":
            return nn.LogSoftmax(dim=1)
        if act_type == "linear":
            return nn.LeakyReLU(1)  # initializzed like this, but not used in forward!

    class LayerNorm(nn.Module):
        def __init__(self, features, eps=1e-6):  # noqa: ANN001
            super(LayerNorm, self).__init__()  # noqa: UP008
            self.gamma = nn.Parameter(torch.ones(features))
            self.beta = nn.Parameter(torch.zeros(features))
            self.eps = eps

        def forward(self, x):  # noqa: ANN001, ANN202
            mean = x.mean(-1, keepdim=True)
            std = x.std(-1, keepdim=True)
            return self.gamma * (x - mean) / (std + self.eps) + self.beta

    class MLP(nn.Module):
        def __init__(self, options):  # noqa: ANN001
            super(MLP, self).__init__()  # noqa: UP008
            self.input_dim = int(options["input_dim"])
            self.fc_lay = options["fc_lay"]
            self.fc_drop = options["fc_drop"]
            self.fc_use_batchnorm = options["fc_use_batchnorm"]
            self.fc_use_laynorm = options["fc_use_laynorm"]
            self.fc_use_laynorm_inp = options["fc_use_laynorm_inp"]
            self.fc_use_batchnorm_inp = options["fc_use_batchnorm_inp"]
            self.fc_act = options["fc_act"]
            self.wx = nn.ModuleList([])
            self.bn = nn.ModuleList([])
            self.ln = nn.ModuleList([])
            self.act = nn.ModuleList([])
            self.drop = nn.ModuleList([])
            # input layer normalization
            if self.fc_use_laynorm_inp:
                self.ln0 = LayerNorm(self.input_dim)
            # input batch normalization
            if self.fc_use_batchnorm_inp:
                self.bn0 = nn.BatchNorm1d([self.input_dim], momentum=0.05)
            self.N_fc_lay = len(self.fc_lay)
            current_input = self.input_dim
            # Initialization of hidden layers
            for i in range(self.N_fc_lay):
                # dropout
                self.drop.append(nn.Dropout(p=self.fc_drop[i]))
                # activation
                self.act.append(act_fun(self.fc_act[i]))
                add_bias = True
                # layer norm initialization
                self.ln.append(LayerNorm(self.fc_lay[i]))
                self.bn.append(nn.BatchNorm1d(self.fc_lay[i], momentum=0.05))
                if self.fc_use_laynorm[i] or self.fc_use_batchnorm[i]:
                    add_bias = False
                # Linear operations
                self.wx.append(nn.Linear(current_input, self.fc_lay[i], bias=add_bias))
                # weight initialization
                self.wx[i].weight = torch.nn.Parameter(
                    torch.Tensor(self.fc_lay[i], current_input).uniform_(
                        -np.sqrt(0.01 / (current_input + self.fc_lay[i])),
                        np.sqrt(0.01 / (current_input + self.fc_lay[i])),
                    )
                )
                self.wx[i].bias = torch.nn.Parameter(torch.zeros(self.fc_lay[i]))
                current_input = self.fc_lay[i]

        def forward(self, x):  # noqa: ANN001, ANN202
            # Applying Layer/Batch Norm
            if bool(self.fc_use_laynorm_inp):
                x = self.ln0(x)
            if bool(self.fc_use_batchnorm_inp):
                x = self.bn0(x)
            for i in range(self.N_fc_lay):
                if self.fc_act[i] != "linear":
                    if self.fc_use_laynorm[i]:
                        x = self.drop[i](self.act[i](self.ln[i](self.wx[i](x))))
                    if self.fc_use_batchnorm[i]:
                        x = self.drop[i](self.act[i](self.bn[i](self.wx[i](x))))
                    if self.fc_use_batchnorm[i] == False and self.fc_use_laynorm[i] == False:  # noqa: E712
                        x = self.drop[i](self.act[i](self.wx[i](x)))
                else:
                    if self.fc_use_laynorm[i]:
                        x = self.drop[i](self.ln[i](self.wx[i](x)))
                    if self.fc_use_batchnorm[i]:
                        x = self.drop[i](self.bn[i](self.wx[i](x)))
                    if self.fc_use_batchnorm[i] == False and self.fc_use_laynorm[i] == False:  # noqa: E712
                        x = self.drop[i](self.wx[i](x))
            return x

    class SincNet(nn.Module):
        def __init__(self, options):  # noqa: ANN001
            super(SincNet, self).__init__()  # noqa: UP008
            self.cnn_N_filt = options["cnn_N_filt"]
            self.cnn_len_filt = options["cnn_len_filt"]
            self.cnn_max_pool_len = options["cnn_max_pool_len"]
            self.cnn_act = options["cnn_act"]
            self.cnn_drop = options["cnn_drop"]
            self.cnn_use_laynorm = options["cnn_use_laynorm"]
            self.cnn_use_batchnorm = options["cnn_use_batchnorm"]
            self.cnn_use_laynorm_inp = options["cnn_use_laynorm_inp"]
            self.cnn_use_batchnorm_inp = options["cnn_use_batchnorm_inp"]
            self.input_dim = int(options["input_dim"])
            self.fs = options["fs"]
            self.N_cnn_lay = len(options["cnn_N_filt"])
            self.conv = nn.ModuleList([])
            self.bn = nn.ModuleList([])
            self.ln = nn.ModuleList([])
            self.act = nn.ModuleList([])
            self.drop = nn.ModuleList([])
            if self.cnn_use_laynorm_inp:
                self.ln0 = LayerNorm(self.input_dim)
            if self.cnn_use_batchnorm_inp:
                self.bn0 = nn.BatchNorm1d([self.input_dim], momentum=0.05)
            current_input = self.input_dim
            for i in range(self.N_cnn_lay):
                N_filt = int(self.cnn_N_filt[i])  # noqa: N806
                # dropout
                self.drop.append(nn.Dropout(p=self.cnn_drop[i]))
                # activation
                self.act.append(act_fun(self.cnn_act[i]))
                # layer norm initialization
                self.ln.append(LayerNorm([N_filt, int((current_input - self.cnn_len_filt[i] + 1)
                                                      / self.cnn_max_pool_len[i])]))  # fmt: skip
                self.bn.append(nn.BatchNorm1d(N_filt, int((current_input - self.cnn_len_filt[i] + 1)
                                                          / self.cnn_max_pool_len[i]),
                                              momentum=0.05))  # fmt: skip
                if i == 0:
                    self.conv.append(
                        SincConv_fast(self.cnn_N_filt[0], self.cnn_len_filt[0], self.fs)
                    )
                else:
                    self.conv.append(nn.Conv1d(self.cnn_N_filt[i - 1], self.cnn_N_filt[i],
                                               self.cnn_len_filt[i]))  # fmt: skip
                current_input = int((current_input - self.cnn_len_filt[i] + 1)
                                    / self.cnn_max_pool_len[i])  # fmt: skip
            self.out_dim = current_input * N_filt

        def forward(self, x):  # noqa: ANN001, ANN202
            batch = x.shape[0]
            seq_len = x.shape[1]
            if bool(self.cnn_use_laynorm_inp):
                x = self.ln0(x)
            if bool(self.cnn_use_batchnorm_inp):
                x = self.bn0(x)
            x = x.view(batch, 1, seq_len)
            for i in range(self.N_cnn_lay):
                if self.cnn_use_laynorm[i]:
                    if i == 0:
                        x = self.drop[i](self.act[i](self.ln[i](
                            F.max_pool1d(torch.abs(self.conv[i](x)), self.cnn_max_pool_len[i]))))  # noqa: E501 # fmt: skip
                    else:
                        x = self.drop[i](self.act[i](self.ln[i](
                            F.max_pool1d(self.conv[i](x), self.cnn_max_pool_len[i]))))  # fmt: skip
                if self.cnn_use_batchnorm[i]:
                    x = self.drop[i](self.act[i](self.bn[i](
                        F.max_pool1d(self.conv[i](x), self.cnn_max_pool_len[i]))))  # fmt: skip
                if self.cnn_use_batchnorm[i] == False and self.cnn_use_laynorm[i] == False:  # noqa: E712
                    x = self.drop[i](self.act[i](
                        F.max_pool1d(self.conv[i](x), self.cnn_max_pool_len[i])))  # fmt: skip
            x = x.view(batch, -1)
            return x

    CNN_arch = {  # noqa: N806
        "input_dim": WLEN, "fs": FS, "cnn_N_filt": [6, 4], "cnn_len_filt": [20, 5],
        "cnn_max_pool_len": [3, 3], "cnn_use_laynorm_inp": True, "cnn_use_batchnorm_inp": False,
        "cnn_use_laynorm": [True, True], "cnn_use_batchnorm": [False, False],
        "cnn_act": ["leaky_relu", "leaky_relu"], "cnn_drop": [0.0, 0.0],
    }  # fmt: skip
    CNN_net = SincNet(CNN_arch)  # noqa: N806
    DNN1_arch = {  # noqa: N806
        "input_dim": CNN_net.out_dim, "fc_lay": [16], "fc_drop": [0.0],
        "fc_use_batchnorm": [False], "fc_use_laynorm": [True], "fc_use_laynorm_inp": True,
        "fc_use_batchnorm_inp": False, "fc_act": ["leaky_relu"],
    }  # fmt: skip
    DNN1_net = MLP(DNN1_arch)  # noqa: N806
    DNN2_arch = {  # noqa: N806
        "input_dim": 16, "fc_lay": [SPEAKERS], "fc_drop": [0.0], "fc_use_batchnorm": [False],
        "fc_use_laynorm": [False], "fc_use_laynorm_inp": False, "fc_use_batchnorm_inp": True,
        "fc_act": ["softmax"],
    }  # fmt: skip
    DNN2_net = MLP(DNN2_arch)  # noqa: N806
    return nn.ModuleDict({"CNN_net": CNN_net, "DNN1_net": DNN1_net, "DNN2_net": DNN2_net})


def _signals(rng: np.random.Generator) -> list[np.ndarray]:
    t = np.arange(4 * WLEN) / FS
    return [
        np.sin(2 * np.pi * (60 + 80 * s) * t) + 0.3 * rng.normal(size=t.shape)
        for s in range(SPEAKERS)
    ]


def create_batches_rnd(batch_size: int, signals: list, fact_amp: float,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    # Initialization of the minibatch (batch_size,[0=>x_t,1=>x_t+N,1=>random_samp])
    sig_batch = np.zeros([batch_size, WLEN])
    lab_batch = np.zeros(batch_size)
    snt_id_arr = rng.integers(0, len(signals), batch_size)
    rand_amp_arr = rng.uniform(1.0 - fact_amp, 1 + fact_amp, batch_size)
    for i in range(batch_size):
        signal = signals[snt_id_arr[i]]
        snt_len = signal.shape[0]
        snt_beg = rng.integers(snt_len - WLEN - 1)  # randint(0, snt_len-2*wlen-1)
        snt_end = snt_beg + WLEN
        sig_batch[i, :] = signal[snt_beg:snt_end] * rand_amp_arr[i]
        lab_batch[i] = snt_id_arr[i]
    return sig_batch, lab_batch


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    CNN_net, DNN1_net, DNN2_net = nets["CNN_net"], nets["DNN1_net"], nets["DNN2_net"]  # noqa: N806
    cost = nn.NLLLoss()
    lr = 0.005
    optimizer_CNN = optim.RMSprop(CNN_net.parameters(), lr=lr, alpha=0.95, eps=1e-8)  # noqa: N806
    optimizer_DNN1 = optim.RMSprop(DNN1_net.parameters(), lr=lr, alpha=0.95, eps=1e-8)  # noqa: N806
    optimizer_DNN2 = optim.RMSprop(DNN2_net.parameters(), lr=lr, alpha=0.95, eps=1e-8)  # noqa: N806
    rng = np.random.default_rng(21)
    signals = _signals(rng)
    values: list[float] = []
    for _ in range(STEPS):
        CNN_net.train()
        DNN1_net.train()
        DNN2_net.train()
        sig_batch, lab_batch = create_batches_rnd(BATCH, signals, 0.2, rng)
        inp = torch.from_numpy(sig_batch).float().contiguous()
        lab = torch.from_numpy(lab_batch).float().contiguous()
        pout = DNN2_net(DNN1_net(CNN_net(inp)))
        pred = torch.max(pout, dim=1)[1]
        loss = cost(pout, lab.long())
        err = torch.mean((pred != lab.long()).float())
        optimizer_CNN.zero_grad()
        optimizer_DNN1.zero_grad()
        optimizer_DNN2.zero_grad()
        loss.backward()
        optimizer_CNN.step()
        optimizer_DNN1.step()
        optimizer_DNN2.step()
        values.extend([loss.item(), err.item()])
    values.extend(CNN_net.conv[0].low_hz_.detach().flatten().tolist())

    # Full validation: chunks of one sentence, the sentence-level decision from summed scores
    CNN_net.eval()
    DNN1_net.eval()
    DNN2_net.eval()
    with torch.no_grad():
        signal = torch.from_numpy(signals[2]).float()
        sig_arr = torch.stack([signal[beg : beg + WLEN] for beg in range(0, 3 * WLEN, WLEN // 2)])
        lab = (torch.zeros(sig_arr.shape[0]) + 2).long()
        pout = DNN2_net(DNN1_net(CNN_net(sig_arr)))
        pred = torch.max(pout, dim=1)[1]
        loss = cost(pout, lab.long())
        err = torch.mean((pred != lab.long()).float())
        [val, best_class] = torch.max(torch.sum(pout, dim=0), 0)
        err_sum_snt = (best_class != lab[0]).float()
    values.extend([loss.item(), err.item(), val.item(), err_sum_snt.item()])
    return values
