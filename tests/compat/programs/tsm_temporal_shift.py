"""mit-han-lab/temporal-shift-module (``ops/temporal_shift.py``, ``ops/models.py``'s ``TSN``,
``ops/basic_ops.py``'s ``ConsensusModule``, ``main.py``'s ``train``/``adjust_learning_rate``,
``ops/utils.py``'s ``accuracy``), size-reduced: a TSM ResNet on tiny 4-segment clips.

The idioms kept: ``TemporalShift.shift`` (``nt, c, h, w = x.size()``, ``x.view(n_batch,
n_segment, c, h, w)``, ``out = torch.zeros_like(x)``, ``out[:, :-1, :fold] = x[:, 1:, :fold]``,
``out[:, 1:, fold: 2 * fold] = x[:, :-1, fold: 2 * fold]``, ``out[:, :, 2 * fold:] = x[:, :,
2 * fold:]``, ``out.view(nt, c, h, w)``) and the file's own ``InplaceShift(torch.autograd.
Function)`` (``buffer = input.data.new(n, t, fold, h, w).zero_()``, writes through
``input.data[:, :, :fold] = buffer``, ``return input`` from ``forward``; the mirror shift of
``grad_output.data`` in ``backward``, ``return grad_output, None``), checked against the copy
version as the file's ``__main__`` test does (outputs and ``torch.autograd.grad`` agree);
``TemporalPool.temporal_pool`` (``.transpose(1, 2)``, ``F.max_pool3d(x, kernel_size=(3, 1,
1), stride=(2, 1, 1), padding=(1, 0, 0))``); ``make_temporal_shift(..., place='blockres')``
(``blocks = list(stage.children())``, ``blocks[i].conv1 = TemporalShift(b.conv1, ...)``,
``net.layer1 = make_block_temporal(net.layer1, ...)`` as ``nn.Sequential(*blocks)``); ``TSN``'s
``_prepare_tsn`` with ``dropout == 0`` (``setattr(self.base_model, self.base_model.last_layer_name,
nn.Linear(feature_dim, num_class))``, ``normal_(..., 0, std)``), partial BN in the ``train(mode)``
override (every ``BatchNorm2d`` after the first ``m.eval()``-ed, ``m.weight.requires_grad =
False``), ``input.view((-1, sample_len) + input.size()[-2:])``, ``base_out.view((-1,
self.num_segments) + base_out.size()[1:])`` and the avg ``SegmentConsensus``
(``input_tensor.mean(dim=self.dim, keepdim=True)``, ``output.squeeze(1)``); ``get_optim_policies``
param groups with ``lr_mult``/``decay_mult`` read back by ``adjust_learning_rate``;
``clip_grad_norm_``; ``accuracy`` (``output.topk(maxk, 1, True, True)``, ``pred.t()``,
``pred.eq(target.view(1, -1).expand_as(pred))``, ``correct[:k].reshape(-1).float().sum(0)``,
``correct_k.mul_(100.0 / batch_size)``).

Changed: ResNet-50 -> a two-stage basic-block ResNet (8/16 channels), 8 segments -> 4, 224x224
-> 8x8 frames, dropout 0.5 -> 0 (the repository's ``dropout == 0`` branch), 3 SGD steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_SEGMENT, N_CLASS, FRAME, BATCH = 4, 3, 8, 2


def _classes(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    normal_, constant_ = nn.init.normal_, nn.init.constant_

    class TemporalShift(nn.Module):
        def __init__(self, net, n_segment=3, n_div=8, inplace=False):  # noqa: ANN001
            super(TemporalShift, self).__init__()  # noqa: UP008
            self.net = net
            self.n_segment = n_segment
            self.fold_div = n_div
            self.inplace = inplace

        def forward(self, x: Any) -> Any:
            x = self.shift(x, self.n_segment, fold_div=self.fold_div, inplace=self.inplace)
            return self.net(x)

        @staticmethod
        def shift(x, n_segment, fold_div=3, inplace=False):  # noqa: ANN001, ANN205
            nt, c, h, w = x.size()
            n_batch = nt // n_segment
            x = x.view(n_batch, n_segment, c, h, w)

            fold = c // fold_div
            if inplace:
                out = InplaceShift.apply(x, fold)
            else:
                out = torch.zeros_like(x)
                out[:, :-1, :fold] = x[:, 1:, :fold]  # shift left
                out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]  # shift right
                out[:, :, 2 * fold :] = x[:, :, 2 * fold :]  # not shift

            return out.view(nt, c, h, w)

    class InplaceShift(torch.autograd.Function):
        # Special thanks to @raoyongming for the help to this function
        @staticmethod
        def forward(ctx, input, fold):  # noqa: ANN001, ANN205
            # not support higher order gradient
            # input = input.detach_()
            ctx.fold_ = fold
            n, t, c, h, w = input.size()
            buffer = input.data.new(n, t, fold, h, w).zero_()
            buffer[:, :-1] = input.data[:, 1:, :fold]
            input.data[:, :, :fold] = buffer
            buffer.zero_()
            buffer[:, 1:] = input.data[:, :-1, fold : 2 * fold]
            input.data[:, :, fold : 2 * fold] = buffer
            return input

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001, ANN205
            # grad_output = grad_output.detach_()
            fold = ctx.fold_
            n, t, c, h, w = grad_output.size()
            buffer = grad_output.data.new(n, t, fold, h, w).zero_()
            buffer[:, 1:] = grad_output.data[:, :-1, :fold]
            grad_output.data[:, :, :fold] = buffer
            buffer.zero_()
            buffer[:, :-1] = grad_output.data[:, 1:, fold : 2 * fold]
            grad_output.data[:, :, fold : 2 * fold] = buffer
            return grad_output, None

    class TemporalPool(nn.Module):
        def __init__(self, net, n_segment):  # noqa: ANN001
            super(TemporalPool, self).__init__()  # noqa: UP008
            self.net = net
            self.n_segment = n_segment

        def forward(self, x: Any) -> Any:
            x = self.temporal_pool(x, n_segment=self.n_segment)
            return self.net(x)

        @staticmethod
        def temporal_pool(x, n_segment):  # noqa: ANN001, ANN205
            nt, c, h, w = x.size()
            n_batch = nt // n_segment
            x = x.view(n_batch, n_segment, c, h, w).transpose(1, 2)  # n, c, t, h, w
            x = F.max_pool3d(x, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
            x = x.transpose(1, 2).contiguous().view(nt // 2, c, h, w)
            return x

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):  # noqa: ANN001
            super(BasicBlock, self).__init__()  # noqa: UP008
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class TinyResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
            down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
            self.layer2 = nn.Sequential(BasicBlock(8, 16, 2, down))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, 1000)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer2(self.layer1(x))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    def make_temporal_shift(net, n_segment, n_div=8, place="blockres"):  # noqa: ANN001, ANN202
        n_segment_list = [n_segment] * 4
        if "blockres" in place:
            n_round = 1
            if len(list(net.layer1.children())) >= 23:
                n_round = 2

            def make_block_temporal(stage, this_segment):  # noqa: ANN001, ANN202
                blocks = list(stage.children())
                for i, b in enumerate(blocks):
                    if i % n_round == 0:
                        blocks[i].conv1 = TemporalShift(
                            b.conv1, n_segment=this_segment, n_div=n_div
                        )
                return nn.Sequential(*blocks)

            net.layer1 = make_block_temporal(net.layer1, n_segment_list[0])
            net.layer2 = make_block_temporal(net.layer2, n_segment_list[1])
        else:
            raise NotImplementedError(place)

    class SegmentConsensus(nn.Module):
        def __init__(self, consensus_type, dim=1):  # noqa: ANN001
            super(SegmentConsensus, self).__init__()  # noqa: UP008
            self.consensus_type = consensus_type
            self.dim = dim

        def forward(self, input_tensor: Any) -> Any:
            if self.consensus_type == "avg":
                output = input_tensor.mean(dim=self.dim, keepdim=True)
            elif self.consensus_type == "identity":
                output = input_tensor
            else:
                output = None
            return output

    class ConsensusModule(nn.Module):
        def __init__(self, consensus_type, dim=1):  # noqa: ANN001
            super(ConsensusModule, self).__init__()  # noqa: UP008
            self.consensus_type = consensus_type if consensus_type != "rnn" else "identity"
            self.dim = dim

        def forward(self, input: Any) -> Any:
            return SegmentConsensus(self.consensus_type, self.dim)(input)

    class TSN(nn.Module):
        def __init__(self, num_class, num_segments, dropout=0.0, partial_bn=True,
                     shift_div=8):  # noqa: ANN001 # fmt: skip
            super(TSN, self).__init__()  # noqa: UP008
            self.num_segments = num_segments
            self.reshape = True
            self.dropout = dropout
            self.new_length = 1
            self.base_model = TinyResNet()
            make_temporal_shift(self.base_model, num_segments, n_div=shift_div)
            self.base_model.last_layer_name = "fc"
            self._prepare_tsn(num_class)
            self.consensus = ConsensusModule("avg")
            self._enable_pbn = partial_bn

        def _prepare_tsn(self, num_class):  # noqa: ANN001, ANN202
            last = getattr(self.base_model, self.base_model.last_layer_name)
            feature_dim = last.in_features
            if self.dropout == 0:
                setattr(self.base_model, self.base_model.last_layer_name,
                        nn.Linear(feature_dim, num_class))  # fmt: skip
                self.new_fc = None
            std = 0.001
            if self.new_fc is None:
                normal_(getattr(self.base_model, self.base_model.last_layer_name).weight, 0, std)
                constant_(getattr(self.base_model, self.base_model.last_layer_name).bias, 0)
            return feature_dim

        def train(self, mode=True):  # noqa: ANN001, ANN201
            """Override the default train() to freeze the BN parameters"""
            super(TSN, self).train(mode)  # noqa: UP008
            count = 0
            if self._enable_pbn and mode:
                for m in self.base_model.modules():
                    if isinstance(m, nn.BatchNorm2d):
                        count += 1
                        if count >= (2 if self._enable_pbn else 1):
                            m.eval()
                            # shutdown update in frozen mode
                            m.weight.requires_grad = False
                            m.bias.requires_grad = False
            return self

        def get_optim_policies(self) -> list:
            first_conv_weight, normal_weight, normal_bias, bn = [], [], [], []
            conv_cnt, bn_cnt = 0, 0
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    ps = list(m.parameters())
                    conv_cnt += 1
                    if conv_cnt == 1:
                        first_conv_weight.append(ps[0])
                    else:
                        normal_weight.append(ps[0])
                elif isinstance(m, nn.Linear):
                    ps = list(m.parameters())
                    normal_weight.append(ps[0])
                    if len(ps) == 2:
                        normal_bias.append(ps[1])
                elif isinstance(m, nn.BatchNorm2d):
                    bn_cnt += 1
                    # later BN's are frozen
                    if not self._enable_pbn or bn_cnt == 1:
                        bn.extend(list(m.parameters()))
            return [
                {"params": first_conv_weight, "lr_mult": 1, "decay_mult": 1,
                 "name": "first_conv_weight"},
                {"params": normal_weight, "lr_mult": 1, "decay_mult": 1,
                 "name": "normal_weight"},
                {"params": normal_bias, "lr_mult": 2, "decay_mult": 0, "name": "normal_bias"},
                {"params": bn, "lr_mult": 1, "decay_mult": 0, "name": "BN scale/shift"},
            ]  # fmt: skip

        def forward(self, input: Any) -> Any:
            sample_len = 3 * self.new_length
            base_out = self.base_model(input.view((-1, sample_len) + input.size()[-2:]))
            if self.reshape:
                base_out = base_out.view((-1, self.num_segments) + base_out.size()[1:])
                output = self.consensus(base_out)
                return output.squeeze(1)

    return {"TSN": TSN, "TemporalShift": TemporalShift, "TemporalPool": TemporalPool}


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["TSN"](N_CLASS, N_SEGMENT)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    classes = _classes(torch_like)
    TemporalShift, TemporalPool = classes["TemporalShift"], classes["TemporalPool"]
    rng = np.random.default_rng(11)
    values: list[float] = []

    # the __main__ test of ops/temporal_shift.py: in-place and copy shifts agree
    tsm1 = TemporalShift(torch.nn.Sequential(), n_segment=N_SEGMENT, n_div=8, inplace=False)
    tsm2 = TemporalShift(torch.nn.Sequential(), n_segment=N_SEGMENT, n_div=8, inplace=True)
    x = as_tensor(torch, rng.normal(size=(2 * N_SEGMENT, 16, 3, 3)))
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    y1 = tsm1(x1)
    y2 = tsm2(x2 * 1.0)
    values.append(float((y1 - y2).norm().item()))
    w = as_tensor(torch, rng.normal(size=(2 * N_SEGMENT, 16, 3, 3)))
    (g1,) = torch.autograd.grad((y1 * w).sum(), [x1])
    (g2,) = torch.autograd.grad((y2 * w).sum(), [x2])
    values += [float((g1 - g2).norm().item()), float(g1.abs().sum())]
    pooled = TemporalPool(torch.nn.Sequential(), n_segment=N_SEGMENT)(x1)
    values += [pooled.sum().item(), *pooled.shape]

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    policies = model.get_optim_policies()
    lr, weight_decay, clip_gradient = 0.05, 5e-4, 20
    optimizer = torch.optim.SGD(policies, lr, momentum=0.9, weight_decay=weight_decay)

    def adjust_learning_rate(optimizer, epoch, lr_steps):  # noqa: ANN001, ANN202
        decay = 0.1 ** (sum(epoch >= np.array(lr_steps)))
        lr_ = lr * decay
        decay = weight_decay
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr_ * param_group["lr_mult"]
            param_group["weight_decay"] = decay * param_group["decay_mult"]

    def accuracy(output, target, topk=(1,)):  # noqa: ANN001, ANN202
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res

    criterion = torch.nn.CrossEntropyLoss()
    model.train()
    for epoch in range(3):
        adjust_learning_rate(optimizer, epoch, [2])
        clip = rng.normal(size=(BATCH, N_SEGMENT * 3, FRAME, FRAME))
        input = torch.from_numpy(clip)
        target = torch.from_numpy(rng.integers(0, N_CLASS, size=BATCH))
        output = model(input)
        loss = criterion(output, target)
        prec1, prec2 = accuracy(output.data, target, topk=(1, 2))
        optimizer.zero_grad()
        loss.backward()
        total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_gradient)
        optimizer.step()
        values += [loss.item(), prec1.item(), prec2.item(), float(total_norm)]
    values.append(float(model.base_model.layer1[0].bn1.running_mean.sum()))
    values.append(float(model.base_model.bn1.running_mean.sum()))
    return values
