"""SCINet, sample convolution and interaction for time-series forecasting (Liu et al. 2022), as
cure-lab/SCINet writes it (``models/SCINet.py``: ``Splitting``, ``Interactor``,
``InteractorLevel``, ``LevelSCINet``, ``SCINet_Tree``, ``EncoderTree``, ``SCINet``;
``experiments/exp_ETTh.py``: the training loop; ``utils/tools.py``: ``adjust_learning_rate``),
size-reduced.

Kept verbatim: ``Splitting``'s strided slices ``x[:, ::2, :]`` and ``x[:, 1::2, :]``; the
``Interactor``'s padding arithmetic for an odd kernel, its four ``nn.Sequential`` branches of
``nn.ReplicationPad1d((pad_l, pad_r))``, ``nn.Conv1d(..., dilation=self.dilation, stride=1,
groups= self.groups)``, ``nn.LeakyReLU(negative_slope=0.01, inplace=True)``,
``nn.Dropout``, ``nn.Conv1d(..., kernel_size=3, ...)`` and ``nn.Tanh()``, and the interactive
update ``d = x_odd.mul(torch.exp(self.phi(x_even)))``, ``c = x_even.mul(torch.exp(
self.psi(x_odd)))``, ``c + self.U(d)``, ``d - self.P(c)``; the recursive ``SCINet_Tree`` and
``zip_up_the_pants``' interleaving (``even[i].unsqueeze(0)``, ``odd[i].unsqueeze(0)``,
``torch.cat(_,0).permute(1,0,2)``); ``SCINet``'s init loop over ``self.modules()``
(``m.bias.data.zero_()`` for ``nn.Linear``), the ``projection1 = nn.Conv1d(self.input_len,
self.output_len, kernel_size=1, stride=1, bias=False)`` over time steps, the
``register_buffer('inv_timescales', ...)`` built from ``torch.arange(num_timescales,
dtype=torch.float32)``, the reversible instance norm (``RIN``: ``x.mean(1, keepdim=True).
detach()``, ``torch.sqrt(torch.var(x, dim=1, keepdim=True, unbiased=False) + 1e-5)``, the
in-place ``x /= stdev``, ``nn.Parameter(torch.ones(1, 1, input_dim))`` affine and its reverse
``x / (self.affine_weight + 1e-10)``), the residual ``x += res1``, and the
``np.power(2, self.num_levels)`` assertion; ``exp_ETTh``'s ``nn.L1Loss()`` training with
``optim.Adam`` and ``adjust_learning_rate``'s ``{epoch: args.lr * (0.95 ** ((epoch - 1) //
1))}`` written into ``param_group['lr']``.

Changed: input_len 96 -> 16, output_len 24 -> 4, 7 ETT channels -> 3 synthetic seasonal
series, 3 levels -> 2, one stack, batch 32 -> 4, 2 epochs of 3 batches; the RIN progress
``print`` removed; the four identical branch lists (``modules_P``, ``modules_U``,
``modules_psi``, ``modules_phi``) built in one loop over a dict; no positional encoding (its
``device=x.get_device()`` is CUDA-only).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN_LEN, OUT_LEN, DIM = 16, 4, 3


def _scinet(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    class Splitting(nn.Module):
        def __init__(self):
            super(Splitting, self).__init__()  # noqa: UP008

        def even(self, x):  # noqa: ANN001, ANN201
            return x[:, ::2, :]

        def odd(self, x):  # noqa: ANN001, ANN201
            return x[:, 1::2, :]

        def forward(self, x):  # noqa: ANN001, ANN201
            """Returns the odd and even part"""
            return (self.even(x), self.odd(x))

    class Interactor(nn.Module):
        def __init__(self, in_planes, splitting=True, kernel=5, dropout=0.5, groups=1,
                     hidden_size=1, INN=True):  # noqa: ANN001, N803 # fmt: skip
            super(Interactor, self).__init__()  # noqa: UP008
            self.modified = INN
            self.kernel_size = kernel
            self.dilation = 1
            self.dropout = dropout
            self.hidden_size = hidden_size
            self.groups = groups
            if self.kernel_size % 2 == 0:
                pad_l = self.dilation * (self.kernel_size - 2) // 2 + 1  # by default: stride==1
                pad_r = self.dilation * (self.kernel_size) // 2 + 1  # by default: stride==1

            else:
                pad_l = self.dilation * (self.kernel_size - 1) // 2 + 1  # we fix the kernel
                pad_r = self.dilation * (self.kernel_size - 1) // 2 + 1  # size of the second
            self.splitting = splitting  # layer as 3.
            self.split = Splitting()

            modules = {"P": [], "U": [], "psi": [], "phi": []}
            prev_size = 1

            size_hidden = self.hidden_size
            for key in ("P", "U", "phi", "psi"):
                modules[key] += [
                    nn.ReplicationPad1d((pad_l, pad_r)),
                    nn.Conv1d(
                        in_planes * prev_size,
                        int(in_planes * size_hidden),
                        kernel_size=self.kernel_size,
                        dilation=self.dilation,
                        stride=1,
                        groups=self.groups,
                    ),  # fmt: skip
                    nn.LeakyReLU(negative_slope=0.01, inplace=True),
                    nn.Dropout(self.dropout),
                    nn.Conv1d(
                        int(in_planes * size_hidden),
                        in_planes,
                        kernel_size=3,
                        stride=1,
                        groups=self.groups,
                    ),  # fmt: skip
                    nn.Tanh(),
                ]
            self.phi = nn.Sequential(*modules["phi"])
            self.psi = nn.Sequential(*modules["psi"])
            self.P = nn.Sequential(*modules["P"])
            self.U = nn.Sequential(*modules["U"])

        def forward(self, x):  # noqa: ANN001, ANN201
            if self.splitting:
                (x_even, x_odd) = self.split(x)
            else:
                (x_even, x_odd) = x

            if self.modified:
                x_even = x_even.permute(0, 2, 1)
                x_odd = x_odd.permute(0, 2, 1)

                d = x_odd.mul(torch.exp(self.phi(x_even)))
                c = x_even.mul(torch.exp(self.psi(x_odd)))

                x_even_update = c + self.U(d)
                x_odd_update = d - self.P(c)

                return (x_even_update, x_odd_update)

            x_even = x_even.permute(0, 2, 1)
            x_odd = x_odd.permute(0, 2, 1)

            d = x_odd - self.P(x_even)
            c = x_even + self.U(d)

            return (c, d)

    class InteractorLevel(nn.Module):
        def __init__(self, in_planes, kernel, dropout, groups, hidden_size, INN):  # noqa: ANN001, N803
            super(InteractorLevel, self).__init__()  # noqa: UP008
            self.level = Interactor(in_planes=in_planes, splitting=True, kernel=kernel,
                                    dropout=dropout, groups=groups, hidden_size=hidden_size,
                                    INN=INN)  # fmt: skip

        def forward(self, x):  # noqa: ANN001, ANN201
            (x_even_update, x_odd_update) = self.level(x)
            return (x_even_update, x_odd_update)

    class LevelSCINet(nn.Module):
        def __init__(self, in_planes, kernel_size, dropout, groups, hidden_size, INN):  # noqa: ANN001, N803
            super(LevelSCINet, self).__init__()  # noqa: UP008
            self.interact = InteractorLevel(in_planes=in_planes, kernel=kernel_size,
                                            dropout=dropout, groups=groups,
                                            hidden_size=hidden_size, INN=INN)  # fmt: skip

        def forward(self, x):  # noqa: ANN001, ANN201
            (x_even_update, x_odd_update) = self.interact(x)
            # even: B, T, D odd: B, T, D
            return x_even_update.permute(0, 2, 1), x_odd_update.permute(0, 2, 1)

    class SCINet_Tree(nn.Module):  # noqa: N801
        def __init__(self, in_planes, current_level, kernel_size, dropout, groups, hidden_size,
                     INN):  # noqa: ANN001, N803 # fmt: skip
            super().__init__()
            self.current_level = current_level

            self.workingblock = LevelSCINet(
                in_planes=in_planes,
                kernel_size=kernel_size,
                dropout=dropout,
                groups=groups,
                hidden_size=hidden_size,
                INN=INN,
            )

            if current_level != 0:
                self.SCINet_Tree_odd = SCINet_Tree(in_planes, current_level - 1, kernel_size,
                                                   dropout, groups, hidden_size, INN)  # fmt: skip
                self.SCINet_Tree_even = SCINet_Tree(in_planes, current_level - 1, kernel_size,
                                                    dropout, groups, hidden_size, INN)  # fmt: skip

        def zip_up_the_pants(self, even, odd):  # noqa: ANN001, ANN201
            even = even.permute(1, 0, 2)
            odd = odd.permute(1, 0, 2)  # L, B, D
            even_len = even.shape[0]
            odd_len = odd.shape[0]
            mlen = min((odd_len, even_len))
            _ = []
            for i in range(mlen):
                _.append(even[i].unsqueeze(0))
                _.append(odd[i].unsqueeze(0))
            if odd_len < even_len:
                _.append(even[-1].unsqueeze(0))
            return torch.cat(_, 0).permute(1, 0, 2)  # B, L, D

        def forward(self, x):  # noqa: ANN001, ANN201
            x_even_update, x_odd_update = self.workingblock(x)
            # We recursively reordered these sub-series. You can run the
            # ./utils/recursive_demo.py to emulate this procedure.
            if self.current_level == 0:
                return self.zip_up_the_pants(x_even_update, x_odd_update)
            else:
                return self.zip_up_the_pants(self.SCINet_Tree_even(x_even_update),
                                             self.SCINet_Tree_odd(x_odd_update))  # fmt: skip

    class EncoderTree(nn.Module):
        def __init__(self, in_planes, num_levels, kernel_size, dropout, groups, hidden_size,
                     INN):  # noqa: ANN001, N803 # fmt: skip
            super().__init__()
            self.levels = num_levels
            self.SCINet_Tree = SCINet_Tree(
                in_planes=in_planes,
                current_level=num_levels - 1,
                kernel_size=kernel_size,
                dropout=dropout,
                groups=groups,
                hidden_size=hidden_size,
                INN=INN,
            )

        def forward(self, x):  # noqa: ANN001, ANN201
            x = self.SCINet_Tree(x)

            return x

    class SCINet(nn.Module):
        def __init__(self, output_len, input_len, input_dim=9, hid_size=1, num_stacks=1,
                     num_levels=3, num_decoder_layer=1, concat_len=0, groups=1, kernel=5,
                     dropout=0.5, single_step_output_One=0, input_len_seg=0, positionalE=False,
                     modified=True, RIN=False):  # noqa: ANN001, N803 # fmt: skip
            super(SCINet, self).__init__()  # noqa: UP008

            self.input_dim = input_dim
            self.input_len = input_len
            self.output_len = output_len
            self.hidden_size = hid_size
            self.num_levels = num_levels
            self.groups = groups
            self.modified = modified
            self.kernel_size = kernel
            self.dropout = dropout
            self.single_step_output_One = single_step_output_One
            self.concat_len = concat_len
            self.pe = positionalE
            self.RIN = RIN
            self.num_decoder_layer = num_decoder_layer

            self.blocks1 = EncoderTree(
                in_planes=self.input_dim,
                num_levels=self.num_levels,
                kernel_size=self.kernel_size,
                dropout=self.dropout,
                groups=self.groups,
                hidden_size=self.hidden_size,
                INN=modified,
            )

            self.stacks = num_stacks

            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                    m.weight.data.normal_(0, math.sqrt(2.0 / n))
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.data.fill_(1)
                    m.bias.data.zero_()
                elif isinstance(m, nn.Linear):
                    m.bias.data.zero_()
            self.projection1 = nn.Conv1d(self.input_len, self.output_len, kernel_size=1,
                                         stride=1, bias=False)  # fmt: skip

            # For positional encoding
            self.pe_hidden_size = input_dim
            if self.pe_hidden_size % 2 == 1:
                self.pe_hidden_size += 1

            num_timescales = self.pe_hidden_size // 2
            max_timescale = 10000.0
            min_timescale = 1.0

            log_timescale_increment = math.log(float(max_timescale) / float(min_timescale)) / max(
                num_timescales - 1, 1
            )
            temp = torch.arange(num_timescales, dtype=torch.float32)  # noqa: F841
            inv_timescales = min_timescale * torch.exp(
                torch.arange(num_timescales, dtype=torch.float32) * -log_timescale_increment
            )
            self.register_buffer("inv_timescales", inv_timescales)

            ### RIN Parameters ###
            if self.RIN:
                self.affine_weight = nn.Parameter(torch.ones(1, 1, input_dim))
                self.affine_bias = nn.Parameter(torch.zeros(1, 1, input_dim))

        def forward(self, x):  # noqa: ANN001, ANN201
            # evenly divided the input length into two parts.
            # (e.g., 32 -> 16 -> 8 -> 4 for 3 levels)
            assert self.input_len % (np.power(2, self.num_levels)) == 0

            ### activated when RIN flag is set ###
            if self.RIN:
                means = x.mean(1, keepdim=True).detach()
                # mean
                x = x - means
                # var
                stdev = torch.sqrt(torch.var(x, dim=1, keepdim=True, unbiased=False) + 1e-5)
                x /= stdev
                # affine
                x = x * self.affine_weight + self.affine_bias

            # the first stack
            res1 = x
            x = self.blocks1(x)
            x += res1
            if self.num_decoder_layer == 1:
                x = self.projection1(x)

            if self.stacks == 1:
                ### reverse RIN ###
                if self.RIN:
                    x = x - self.affine_bias
                    x = x / (self.affine_weight + 1e-10)
                    x = x * stdev
                    x = x + means

                return x

    return SCINet


def make_model(torch_like: Any) -> Any:
    return _scinet(torch_like)(output_len=OUT_LEN, input_len=IN_LEN, input_dim=DIM, hid_size=1,
                               num_stacks=1, num_levels=2, kernel=5, dropout=0.5,
                               RIN=True)  # fmt: skip


def adjust_learning_rate(optimizer, epoch, args):  # noqa: ANN001, ANN201
    lr_adjust = {epoch: args.lr * (0.95 ** ((epoch - 1) // 1))}
    if epoch in lr_adjust.keys():
        lr = lr_adjust[epoch]
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
    return lr


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(8)
    t = np.arange(200)
    series = np.stack([np.sin(2 * np.pi * t / p) for p in (12, 7, 24)], 1) + 0.1 * rng.normal(
        size=(200, DIM)
    )
    starts = rng.integers(0, 200 - IN_LEN - OUT_LEN, 16)
    xs = np.stack([series[s : s + IN_LEN] for s in starts])
    ys = np.stack([series[s + IN_LEN : s + IN_LEN + OUT_LEN] for s in starts])
    args = SimpleNamespace(lr=0.003)

    torch.manual_seed(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model_optim = optim.Adam(model.parameters(), lr=args.lr)
    criterion = nn.L1Loss()
    values: list[float] = []
    for epoch in range(2):
        model.train()
        train_loss = []
        for i in range(3):
            batch_x = as_tensor(torch, xs[4 * i : 4 * i + 4])
            batch_y = as_tensor(torch, ys[4 * i : 4 * i + 4])
            model_optim.zero_grad()
            pred = model(batch_x)
            loss = criterion(pred, batch_y)
            train_loss.append(loss.item())
            loss.backward()
            model_optim.step()
        lr = adjust_learning_rate(model_optim, epoch + 1, args)
        model.eval()
        with torch.no_grad():
            pred = model(as_tensor(torch, xs[12:]))
            vali = criterion(pred, as_tensor(torch, ys[12:])).item()
        values += [float(np.average(train_loss)), vali, lr]
    return values
