"""TaoRuijie/ECAPA-TDNN (``model.py``, ``loss.py``, ``tools.py``, ``ECAPAModel.py``,
``dataLoader.py``), size-reduced: the ECAPA-TDNN speaker encoder trained a few steps with the
additive angular margin softmax, then scored on cosine similarity.

The idioms: ``PreEmphasis`` (``register_buffer('flipped_filter', torch.Tensor([-self.coef,
1.]).unsqueeze(0).unsqueeze(0))``, ``F.pad(input, (1, 0), 'reflect')``, ``F.conv1d(input,
self.flipped_filter).squeeze(1)``); ``FbankAug`` (``torch.randint(width_range[0],
width_range[1], (batch, 1), device=x.device).unsqueeze(2)``, ``torch.randint(0, max(1, D -
mask_len.max()), (batch, 1), ...)`` with a tensor bound, ``(mask_pos <= arange) * (arange <
(mask_pos + mask_len))`` on booleans, ``mask.any(dim=1)``, ``x.masked_fill_(mask, 0.0)``,
``x.view(*original_size)``); ``SEModule`` (``nn.AdaptiveAvgPool1d(1)`` and 1x1 ``Conv1d``s
ending in ``nn.Sigmoid()``); ``Bottle2neck`` (Res2Net: ``width = int(math.floor(planes /
scale))``, ``num_pad = math.floor(kernel_size/2)*dilation``, ``torch.split(out, self.width,
1)``, the hierarchical ``sp = sp + spx[i]`` loop with ``torch.cat((out, sp), 1)``, ReLU
before ``BatchNorm1d``, ``out += residual``); ``ECAPA_TDNN.forward`` (the front end under
``torch.no_grad()``: ``self.torchfbank(x)+1e-6``, ``x.log()``, ``x - torch.mean(x, dim=-1,
keepdim=True)``, ``if aug == True``; the multi-layer aggregation ``x2 = self.layer2(x+x1)``,
``torch.cat((x1,x2,x3),dim=1)``; attentive statistics pooling: ``t = x.size()[-1]``,
``torch.cat((x,torch.mean(x,dim=2,keepdim=True).repeat(1,1,t), torch.sqrt(torch.var(x,dim=2,
keepdim=True).clamp(min=1e-4)).repeat(1,1,t)), dim=1)``, ``nn.Softmax(dim=2)`` attention,
``torch.sqrt( ( torch.sum((x**2) * w, dim=2) - mu**2 ).clamp(min=1e-4) )``); ``AAMsoftmax``
(``torch.nn.Parameter(torch.Tensor(n_class, 192), requires_grad=True)``,
``nn.init.xavier_normal_(self.weight, gain=1)``, ``F.linear(F.normalize(x),
F.normalize(self.weight))``, ``torch.sqrt((1.0 - torch.mul(cosine, cosine)).clamp(0, 1))``,
``torch.where((cosine - self.th) > 0, phi, cosine - self.mm)``, ``one_hot.scatter_(1,
label.view(-1, 1), 1)``); ``tools.accuracy`` (``output.topk(maxk, 1, True, True)``,
``pred.eq(target.view(1, -1).expand_as(pred))``, ``correct[:k].view(-1).float().sum(0,
keepdim=True)``, ``correct_k.mul_(100.0 / batch_size)``); ``train_network`` (``StepLR`` stepped
as ``self.scheduler.step(epoch - 1)``, ``self.zero_grad()`` on the whole model,
``torch.LongTensor(labels)``, ``loss += nloss.detach().cpu().numpy()``); ``eval_network``'s
``F.normalize(embedding_11, p=2, dim=1)`` and ``torch.mean(torch.matmul(embedding_11,
embedding_21.T))``.

Changed: C 1024 -> 16, 1536 / 4608 / 256 / 3072 / 192 -> 48 / 144 / 16 / 96 / 12, 80 mel bins
-> 8 (torchaudio's ``MelSpectrogram(n_fft=512, win_length=400, hop_length=160,
window_fn=torch.hamming_window)`` is its ``torch.stft`` + power + a fixed NumPy filter bank, at
n_fft 32 / window 25 / hop 10), mask widths (0, 8) / (0, 10) -> (0, 3) / (0, 4), 5 speakers of
200-sample NumPy "utterances", Adam with StepLR over 2 epochs of 2 batches; ``torch.FloatTensor``
-> ``torch.Tensor`` and float64: in float32 the pooled ``torch.sum((x**2) * w, dim=2) - mu**2``
cancels, and rounding differences grow to 0.5% of the embedding within two epochs (in float64
the two runs agree to 1e-9).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

C, N_MELS, N_FFT, WIN, HOP, N_CLASS = 16, 8, 32, 25, 10, 5


def _mel_fb() -> np.ndarray:
    n_freqs = N_FFT // 2 + 1
    pts = np.linspace(1, n_freqs - 1, N_MELS + 2)
    bins = np.arange(n_freqs)[:, None]
    up = (bins - pts[None, :-2]) / (pts[1:-1] - pts[:-2])[None]
    down = (pts[None, 2:] - bins) / (pts[2:] - pts[1:-1])[None]
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float64)


def _encoder(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class SEModule(nn.Module):
        def __init__(self, channels, bottleneck=8):  # noqa: ANN001
            super(SEModule, self).__init__()  # noqa: UP008 (as in the repository)
            self.se = nn.Sequential(
                nn.AdaptiveAvgPool1d(1),
                nn.Conv1d(channels, bottleneck, kernel_size=1, padding=0),
                nn.ReLU(),
                # nn.BatchNorm1d(bottleneck), # I remove this layer
                nn.Conv1d(bottleneck, channels, kernel_size=1, padding=0),
                nn.Sigmoid(),
            )

        def forward(self, input: Any) -> Any:
            x = self.se(input)
            return input * x

    class Bottle2neck(nn.Module):
        def __init__(self, inplanes, planes, kernel_size=None, dilation=None, scale=8):  # noqa: ANN001
            super(Bottle2neck, self).__init__()  # noqa: UP008
            width = int(math.floor(planes / scale))
            self.conv1 = nn.Conv1d(inplanes, width * scale, kernel_size=1)
            self.bn1 = nn.BatchNorm1d(width * scale)
            self.nums = scale - 1
            convs = []
            bns = []
            num_pad = math.floor(kernel_size / 2) * dilation
            for _i in range(self.nums):
                convs.append(nn.Conv1d(width, width, kernel_size=kernel_size, dilation=dilation,
                                       padding=num_pad))  # fmt: skip
                bns.append(nn.BatchNorm1d(width))
            self.convs = nn.ModuleList(convs)
            self.bns = nn.ModuleList(bns)
            self.conv3 = nn.Conv1d(width * scale, planes, kernel_size=1)
            self.bn3 = nn.BatchNorm1d(planes)
            self.relu = nn.ReLU()
            self.width = width
            self.se = SEModule(planes)

        def forward(self, x: Any) -> Any:
            residual = x
            out = self.conv1(x)
            out = self.relu(out)
            out = self.bn1(out)

            spx = torch.split(out, self.width, 1)
            for i in range(self.nums):
                if i == 0:
                    sp = spx[i]
                else:
                    sp = sp + spx[i]
                sp = self.convs[i](sp)
                sp = self.relu(sp)
                sp = self.bns[i](sp)
                if i == 0:
                    out = sp
                else:
                    out = torch.cat((out, sp), 1)
            out = torch.cat((out, spx[self.nums]), 1)

            out = self.conv3(out)
            out = self.relu(out)
            out = self.bn3(out)

            out = self.se(out)
            out += residual
            return out

    class PreEmphasis(torch.nn.Module):
        def __init__(self, coef: float = 0.97):
            super().__init__()
            self.coef = coef
            self.register_buffer(
                "flipped_filter", torch.Tensor([-self.coef, 1.0]).unsqueeze(0).unsqueeze(0)
            )

        def forward(self, input: Any) -> Any:
            input = input.unsqueeze(1)
            input = F.pad(input, (1, 0), "reflect")
            return F.conv1d(input, self.flipped_filter).squeeze(1)

    class MelSpectrogram(nn.Module):  # torchaudio.transforms.MelSpectrogram, as it computes
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("window", torch.hamming_window(WIN))
            self.register_buffer("fb", torch.tensor(_mel_fb()))

        def forward(self, x: Any) -> Any:
            spec = torch.stft(x, N_FFT, hop_length=HOP, win_length=WIN, window=self.window,
                              center=True, pad_mode="reflect", return_complex=True)  # fmt: skip
            spec = spec.abs().pow(2.0)
            return torch.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)

    class FbankAug(nn.Module):
        def __init__(self, freq_mask_width=(0, 3), time_mask_width=(0, 4)):  # noqa: ANN001
            self.time_mask_width = time_mask_width
            self.freq_mask_width = freq_mask_width
            super().__init__()

        def mask_along_axis(self, x: Any, dim: int) -> Any:
            original_size = x.shape
            batch, fea, time = x.shape
            if dim == 1:
                D = fea
                width_range = self.freq_mask_width
            else:
                D = time
                width_range = self.time_mask_width

            mask_len = torch.randint(width_range[0], width_range[1], (batch, 1),
                                     device=x.device).unsqueeze(2)  # fmt: skip
            mask_pos = torch.randint(0, max(1, D - mask_len.max()), (batch, 1),
                                     device=x.device).unsqueeze(2)  # fmt: skip
            arange = torch.arange(D, device=x.device).view(1, 1, -1)
            mask = (mask_pos <= arange) * (arange < (mask_pos + mask_len))
            mask = mask.any(dim=1)

            if dim == 1:
                mask = mask.unsqueeze(2)
            else:
                mask = mask.unsqueeze(1)

            x = x.masked_fill_(mask, 0.0)
            return x.view(*original_size)

        def forward(self, x: Any) -> Any:
            x = self.mask_along_axis(x, dim=2)
            x = self.mask_along_axis(x, dim=1)
            return x

    class ECAPA_TDNN(nn.Module):  # noqa: N801
        def __init__(self, C):  # noqa: ANN001, N803
            super(ECAPA_TDNN, self).__init__()  # noqa: UP008

            self.torchfbank = torch.nn.Sequential(
                PreEmphasis(),
                MelSpectrogram(),
            )

            self.specaug = FbankAug()  # Spec augmentation

            self.conv1 = nn.Conv1d(N_MELS, C, kernel_size=5, stride=1, padding=2)
            self.relu = nn.ReLU()
            self.bn1 = nn.BatchNorm1d(C)
            self.layer1 = Bottle2neck(C, C, kernel_size=3, dilation=2, scale=8)
            self.layer2 = Bottle2neck(C, C, kernel_size=3, dilation=3, scale=8)
            self.layer3 = Bottle2neck(C, C, kernel_size=3, dilation=4, scale=8)
            # I fixed the shape of the output from MFA layer, that is close to the setting
            # from ECAPA paper.
            self.layer4 = nn.Conv1d(3 * C, 48, kernel_size=1)
            self.attention = nn.Sequential(
                nn.Conv1d(144, 16, kernel_size=1),
                nn.ReLU(),
                nn.BatchNorm1d(16),
                nn.Tanh(),  # I add this layer
                nn.Conv1d(16, 48, kernel_size=1),
                nn.Softmax(dim=2),
            )
            self.bn5 = nn.BatchNorm1d(96)
            self.fc6 = nn.Linear(96, 12)
            self.bn6 = nn.BatchNorm1d(12)

        def forward(self, x: Any, aug: bool) -> Any:
            with torch.no_grad():
                x = self.torchfbank(x) + 1e-6
                x = x.log()
                x = x - torch.mean(x, dim=-1, keepdim=True)
                if aug == True:  # noqa: E712 (as in the repository)
                    x = self.specaug(x)

            x = self.conv1(x)
            x = self.relu(x)
            x = self.bn1(x)

            x1 = self.layer1(x)
            x2 = self.layer2(x + x1)
            x3 = self.layer3(x + x1 + x2)

            x = self.layer4(torch.cat((x1, x2, x3), dim=1))
            x = self.relu(x)

            t = x.size()[-1]

            global_x = torch.cat(
                (
                    x,
                    torch.mean(x, dim=2, keepdim=True).repeat(1, 1, t),
                    torch.sqrt(torch.var(x, dim=2, keepdim=True).clamp(min=1e-4)).repeat(1, 1, t),
                ),
                dim=1,
            )

            w = self.attention(global_x)

            mu = torch.sum(x * w, dim=2)
            sg = torch.sqrt((torch.sum((x**2) * w, dim=2) - mu**2).clamp(min=1e-4))

            x = torch.cat((mu, sg), 1)
            x = self.bn5(x)
            x = self.fc6(x)
            x = self.bn6(x)

            return x

    return ECAPA_TDNN


def _loss(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def accuracy(output, target, topk=(1,)):  # noqa: ANN001, ANN202
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].view(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res

    class AAMsoftmax(nn.Module):
        def __init__(self, n_class, m, s):  # noqa: ANN001
            super(AAMsoftmax, self).__init__()  # noqa: UP008
            self.m = m
            self.s = s
            self.weight = torch.nn.Parameter(torch.Tensor(n_class, 12), requires_grad=True)
            self.ce = nn.CrossEntropyLoss()
            nn.init.xavier_normal_(self.weight, gain=1)
            self.cos_m = math.cos(self.m)
            self.sin_m = math.sin(self.m)
            self.th = math.cos(math.pi - self.m)
            self.mm = math.sin(math.pi - self.m) * self.m

        def forward(self, x: Any, label: Any = None) -> tuple[Any, Any]:
            cosine = F.linear(F.normalize(x), F.normalize(self.weight))
            sine = torch.sqrt((1.0 - torch.mul(cosine, cosine)).clamp(0, 1))
            phi = cosine * self.cos_m - sine * self.sin_m
            phi = torch.where((cosine - self.th) > 0, phi, cosine - self.mm)
            one_hot = torch.zeros_like(cosine)
            one_hot.scatter_(1, label.view(-1, 1), 1)
            output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
            output = output * self.s

            loss = self.ce(output, label)
            prec1 = accuracy(output.detach(), label.detach(), topk=(1,))[0]

            return loss, prec1

    return AAMsoftmax


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class ECAPAModel(nn.Module):
        def __init__(self) -> None:
            super(ECAPAModel, self).__init__()  # noqa: UP008
            self.speaker_encoder = _encoder(torch_like)(C=C)
            self.speaker_loss = _loss(torch_like)(n_class=N_CLASS, m=0.2, s=30)

    return ECAPAModel()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(3)
    base = rng.normal(size=(N_CLASS, 200)).astype(np.float64)
    labels_np = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    waves = (base[labels_np] + 0.3 * rng.normal(size=(8, 200))).astype(np.float64)

    class train_loader(torch.utils.data.Dataset):  # noqa: N801 (as in the repository)
        def __len__(self) -> int:
            return len(labels_np)

        def __getitem__(self, index: int) -> tuple[Any, int]:
            return torch.Tensor(np.stack([waves[index]], axis=0))[0], int(labels_np[index])

    loader = torch.utils.data.DataLoader(train_loader(), batch_size=4, shuffle=True,
                                         num_workers=0, drop_last=True)  # fmt: skip
    torch.manual_seed(0)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=2e-5)
    scheduler = torch.optim.lr_scheduler.StepLR(optim, step_size=1, gamma=0.97)
    values: list[float] = []
    for epoch in range(1, 3):
        model.train()
        with warnings.catch_warnings():  # the deprecated epoch argument (a script goes on)
            warnings.filterwarnings("ignore", "The epoch parameter", UserWarning)
            warnings.filterwarnings("ignore", "Detected call of", UserWarning)
            scheduler.step(epoch - 1)
        index, top1, loss = 0, 0, 0
        lr = optim.param_groups[0]["lr"]
        for _num, (data, labels) in enumerate(loader, start=1):
            model.zero_grad()
            labels = torch.LongTensor(labels)
            speaker_embedding = model.speaker_encoder.forward(data, aug=True)
            nloss, prec = model.speaker_loss.forward(speaker_embedding, labels)
            nloss.backward()
            optim.step()
            index += len(labels)
            top1 += prec
            loss += nloss.detach().cpu().numpy()
        values += [float(loss / _num), lr, float(top1 / index * len(labels))]
    model.eval()
    with torch.no_grad():
        embedding_11 = model.speaker_encoder.forward(torch.Tensor(waves[:2]), aug=False)
        embedding_11 = F_normalize(torch, embedding_11)
        embedding_21 = model.speaker_encoder.forward(torch.Tensor(waves[5:7]), aug=False)
        embedding_21 = F_normalize(torch, embedding_21)
        score_1 = torch.mean(torch.matmul(embedding_11, embedding_21.T))  # higher is positive
        score = score_1.detach().cpu().numpy()
    values += [float(score), float(embedding_11.abs().sum())]
    return values


def F_normalize(torch_like: Any, x: Any) -> Any:  # noqa: N802
    return torch_like.nn.functional.normalize(x, p=2, dim=1)
