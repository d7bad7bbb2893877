"""wjmaddox/swa_gaussian (SWAG: ``swag/posteriors/swag.py``, ``swag/utils.py``,
``experiments/train/run_swag.py``, ``experiments/uncertainty/uncertainty.py``), size-reduced:
``swag_parameters`` applied with ``self.base.apply(lambda module: ...)`` (each parameter popped
from ``module._parameters`` and replaced by ``register_buffer("%s_mean" % name,
data.new(data.size()).zero_())``, ``%s_sq_mean`` and ``data.new_empty((0,
data.numel())).zero_()`` for ``%s_cov_mat_sqrt``); ``SWAG.collect_model`` (running first and
second moments from ``self.n_models.item()``, ``dev = (base_param.data - mean).view(-1, 1)``,
``torch.cat((cov_mat_sqrt, dev.view(-1, 1).t()), dim=0)``, dropping the oldest row past
``max_num_models``, ``module.__getattr__``/``module.__setattr__`` by name, ``self.n_models.add_(
1)`` on a long buffer); ``sample_fullrank`` (``flatten`` as ``torch.cat([i.contiguous().view(-1,
1) for i in lst]).view(-1)``, ``torch.clamp(sq_mean - mean ** 2, self.var_clamp)``,
``var.sqrt() * torch.randn_like(var, requires_grad=False)``, the low-rank draw
``cov_mat_sqrt.t().matmul(cov_mat_sqrt.new_empty((cov_mat_sqrt.size(0),),
requires_grad=False).normal_())``, ``unflatten_like`` slicing ``vector[:, i : i + n].view(
tensor.shape)``, the sample set as a plain tensor attribute); ``bn_update`` (``check_bn`` with
``issubclass(module.__class__, torch.nn.modules.batchnorm._BatchNorm)``, ``reset_bn`` with
``torch.zeros_like``/``torch.ones_like``, momenta saved in a dict keyed by module and set to ``b
/ (n + b)``, ``torch.autograd.Variable(input)``); ``run_swag.py``'s ``schedule(epoch)`` with the
piecewise-linear factor written through ``utils.adjust_learning_rate``, ``SGD(momentum=0.9,
weight_decay=...)``, ``swag_model.collect_model(model)`` after ``swa_start``; the uncertainty
script's ``swag_model.sample(scale, cov=True)`` then ``bn_update`` then softmax predictions
averaged over samples and their NLL.

Changed: CIFAR and PreResNet are 40 seeded NumPy 2-D points in 3 classes and a two-layer MLP
with ``BatchNorm1d``; 300 epochs -> 6 (``swa_start`` 3), ``max_num_models`` 20 -> 3, 30 samples
-> 3; ``.cuda()`` calls are dropped (CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float64"


def _swag(torch_like: Any) -> tuple[type, type]:
    torch = torch_like
    nn = torch.nn

    def flatten(lst):  # noqa: ANN001, ANN202
        tmp = [i.contiguous().view(-1, 1) for i in lst]
        return torch.cat(tmp).view(-1)

    def unflatten_like(vector, likeTensorList):  # noqa: ANN001, ANN202, N803
        # Takes a flat torch.tensor and unflattens it to a list of torch.tensors
        #    shaped like likeTensorList
        outList = []  # noqa: N806
        i = 0
        for tensor in likeTensorList:
            # n = module._parameters[name].numel()
            n = tensor.numel()
            outList.append(vector[:, i : i + n].view(tensor.shape))
            i += n
        return outList

    def swag_parameters(module, params, no_cov_mat=True):  # noqa: ANN001, ANN202
        for name in list(module._parameters.keys()):
            if module._parameters[name] is None:
                continue
            data = module._parameters[name].data
            module._parameters.pop(name)
            module.register_buffer("%s_mean" % name, data.new(data.size()).zero_())  # noqa: UP031
            module.register_buffer("%s_sq_mean" % name, data.new(data.size()).zero_())  # noqa: UP031

            if no_cov_mat is False:
                module.register_buffer(
                    "%s_cov_mat_sqrt" % name,  # noqa: UP031
                    data.new_empty((0, data.numel())).zero_(),
                )

            params.append((module, name))

    class MLP(nn.Module):
        def __init__(self, num_classes=3):  # noqa: ANN001
            super().__init__()
            self.fc1 = nn.Linear(2, 8)
            self.bn1 = nn.BatchNorm1d(8)
            self.fc2 = nn.Linear(8, num_classes)

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.fc2(torch.relu(self.bn1(self.fc1(x))))

    class SWAG(torch.nn.Module):
        def __init__(self, base, no_cov_mat=True, max_num_models=0, var_clamp=1e-30, *args,
                     **kwargs):  # noqa: ANN001, ANN002, ANN003 # fmt: skip
            super(SWAG, self).__init__()  # noqa: UP008

            self.register_buffer("n_models", torch.zeros([1], dtype=torch.long))
            self.params = list()

            self.no_cov_mat = no_cov_mat
            self.max_num_models = max_num_models

            self.var_clamp = var_clamp

            self.base = base(*args, **kwargs)
            self.base.apply(
                lambda module: swag_parameters(
                    module=module, params=self.params, no_cov_mat=self.no_cov_mat
                )
            )

        def forward(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return self.base(*args, **kwargs)

        def sample(self, scale=1.0, cov=False, seed=None, block=False, fullrank=True):  # noqa: ANN001, ANN202
            if seed is not None:
                torch.manual_seed(seed)

            if not block:
                self.sample_fullrank(scale, cov, fullrank)
            else:
                raise NotImplementedError("block sampling is not part of this reduction")

        def sample_fullrank(self, scale, cov, fullrank):  # noqa: ANN001, ANN202
            scale_sqrt = scale**0.5

            mean_list = []
            sq_mean_list = []

            if cov:
                cov_mat_sqrt_list = []

            for module, name in self.params:
                mean = module.__getattr__("%s_mean" % name)  # noqa: UP031
                sq_mean = module.__getattr__("%s_sq_mean" % name)  # noqa: UP031

                if cov:
                    cov_mat_sqrt = module.__getattr__("%s_cov_mat_sqrt" % name)  # noqa: UP031
                    cov_mat_sqrt_list.append(cov_mat_sqrt.cpu())

                mean_list.append(mean.cpu())
                sq_mean_list.append(sq_mean.cpu())

            mean = flatten(mean_list)
            sq_mean = flatten(sq_mean_list)

            # draw diagonal variance sample
            var = torch.clamp(sq_mean - mean**2, self.var_clamp)
            var_sample = var.sqrt() * torch.randn_like(var, requires_grad=False)

            # if covariance draw low rank sample
            if cov:
                cov_mat_sqrt = torch.cat(cov_mat_sqrt_list, dim=1)

                cov_sample = cov_mat_sqrt.t().matmul(
                    cov_mat_sqrt.new_empty((cov_mat_sqrt.size(0),), requires_grad=False).normal_()
                )
                cov_sample /= (self.max_num_models - 1) ** 0.5

                rand_sample = var_sample + cov_sample
            else:
                rand_sample = var_sample

            # update sample with mean and scale
            sample = mean + scale_sqrt * rand_sample
            sample = sample.unsqueeze(0)

            # unflatten new sample like the mean sample
            samples_list = unflatten_like(sample, mean_list)

            for (module, name), sample in zip(self.params, samples_list):  # noqa: B020
                module.__setattr__(name, sample)

        def collect_model(self, base_model):  # noqa: ANN001, ANN202
            for (module, name), base_param in zip(self.params, base_model.parameters()):
                mean = module.__getattr__("%s_mean" % name)  # noqa: UP031
                sq_mean = module.__getattr__("%s_sq_mean" % name)  # noqa: UP031

                # first moment
                mean = mean * self.n_models.item() / (
                    self.n_models.item() + 1.0
                ) + base_param.data / (self.n_models.item() + 1.0)

                # second moment
                sq_mean = sq_mean * self.n_models.item() / (
                    self.n_models.item() + 1.0
                ) + base_param.data**2 / (self.n_models.item() + 1.0)

                # square root of covariance matrix
                if self.no_cov_mat is False:
                    cov_mat_sqrt = module.__getattr__("%s_cov_mat_sqrt" % name)  # noqa: UP031

                    # block covariance matrices, store deviation from current mean
                    dev = (base_param.data - mean).view(-1, 1)
                    cov_mat_sqrt = torch.cat((cov_mat_sqrt, dev.view(-1, 1).t()), dim=0)

                    # remove first column if we have stored too many models
                    if (self.n_models.item() + 1) > self.max_num_models:
                        cov_mat_sqrt = cov_mat_sqrt[1:, :]
                    module.__setattr__("%s_cov_mat_sqrt" % name, cov_mat_sqrt)  # noqa: UP031

                module.__setattr__("%s_mean" % name, mean)  # noqa: UP031
                module.__setattr__("%s_sq_mean" % name, sq_mean)  # noqa: UP031
            self.n_models.add_(1)

    return MLP, SWAG


def make_model(torch_like: Any) -> Any:
    return _swag(torch_like)[0]()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    MLP, SWAG = _swag(torch_like)

    def _check_bn(module, flag):  # noqa: ANN001, ANN202
        if issubclass(module.__class__, torch.nn.modules.batchnorm._BatchNorm):
            flag[0] = True

    def check_bn(model):  # noqa: ANN001, ANN202
        flag = [False]
        model.apply(lambda module: _check_bn(module, flag))
        return flag[0]

    def reset_bn(module):  # noqa: ANN001, ANN202
        if issubclass(module.__class__, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean = torch.zeros_like(module.running_mean)
            module.running_var = torch.ones_like(module.running_var)

    def _get_momenta(module, momenta):  # noqa: ANN001, ANN202
        if issubclass(module.__class__, torch.nn.modules.batchnorm._BatchNorm):
            momenta[module] = module.momentum

    def _set_momenta(module, momenta):  # noqa: ANN001, ANN202
        if issubclass(module.__class__, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = momenta[module]

    def bn_update(loader, model, verbose=False, subset=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if not check_bn(model):
            return
        model.train()
        momenta = {}
        model.apply(reset_bn)
        model.apply(lambda module: _get_momenta(module, momenta))
        n = 0
        for input, _ in loader:  # noqa: A001
            input_var = torch.autograd.Variable(input)
            b = input_var.data.size(0)

            momentum = b / (n + b)
            for module in momenta.keys():
                module.momentum = momentum

            model(input_var, **kwargs)
            n += b

        model.apply(lambda module: _set_momenta(module, momenta))

    def adjust_learning_rate(optimizer, lr):  # noqa: ANN001, ANN202
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        return lr

    lr_init, swa_lr, swa_start, epochs, wd = 0.1, 0.02, 3, 6, 3e-4

    def schedule(epoch):  # noqa: ANN001, ANN202
        t = (epoch) / swa_start
        lr_ratio = swa_lr / lr_init
        if t <= 0.5:
            factor = 1.0
        elif t <= 0.9:
            factor = 1.0 - (1.0 - lr_ratio) * (t - 0.5) / 0.4
        else:
            factor = lr_ratio
        return lr_init * factor

    rng = np.random.default_rng(5)
    labels = np.arange(40) % 3
    points = rng.standard_normal((40, 2)) * 0.6 + np.stack(
        [np.cos(2.1 * labels), np.sin(2.1 * labels)], axis=1
    )
    dataset = torch.utils.data.TensorDataset(torch.tensor(points), torch.tensor(labels))
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=10, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset, batch_size=20, shuffle=False)

    model = MLP()
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    swag_model = SWAG(MLP, no_cov_mat=False, max_num_models=3)
    criterion = F.cross_entropy
    optimizer = torch.optim.SGD(model.parameters(), lr=lr_init, momentum=0.9, weight_decay=wd)
    values: list[float] = []
    for epoch in range(epochs):
        lr = schedule(epoch)
        adjust_learning_rate(optimizer, lr)
        model.train()
        loss_sum = 0.0
        for input, target in loader:  # noqa: A001
            output = model(input)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.data.item() * input.size(0)
        values += [loss_sum / len(loader.dataset), lr]
        if (epoch + 1) > swa_start:
            swag_model.collect_model(model)
    values.append(float(swag_model.n_models.item()))
    values += swag_model.base.fc1.weight_cov_mat_sqrt.shape
    values.append(swag_model.base.fc2.bias_sq_mean.sum().item())
    values.append(float(len(list(swag_model.parameters()))))
    values.append(float(len(swag_model.state_dict())))

    predictions = np.zeros((len(dataset), 3))
    for i in range(3):
        swag_model.sample(scale=0.5, cov=True, seed=i)
        bn_update(loader, swag_model)
        swag_model.eval()
        preds = []
        with torch.no_grad():
            for input, _ in test_loader:  # noqa: A001
                preds.append(F.softmax(swag_model(input), dim=1).numpy())
        predictions += np.vstack(preds)
        values.append(float(swag_model.base.bn1.running_mean.sum().item()))
        values.append(float(swag_model.base.bn1.momentum))
    predictions /= 3
    values.append(float(-np.mean(np.log(predictions[np.arange(len(labels)), labels] + 1e-12))))
    values.append(float(np.mean(np.argmax(predictions, 1) == labels)))
    return values
