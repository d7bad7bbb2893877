"""Domain-adversarial training (DANN, Ganin & Lempitsky), as fungtion/DANN (``functions.py``,
``model.py``, ``main.py``) and the ``GradientReversal`` layers of pytorch-adapt / tadeephuy's
``GradientReversal`` write it, size-reduced:

- ``ReverseLayerF`` (a ``torch.autograd.Function``: ``ctx.alpha = alpha``, forward
  ``x.view_as(x)``, backward ``grad_output.neg() * ctx.alpha`` returning ``output, None``) and a
  ``GradientReversal`` module around ``GradientReversalFunction.apply(x, self.lambda_)`` whose
  backward is ``- lambda_ * grads`` with ``ctx.save_for_backward(x, lambda_)`` of a tensor
  ``lambda_`` (``torch.tensor(lambda_, requires_grad=False)``) and ``ctx.needs_input_grad``;
- ``CNNModel``: ``self.feature = nn.Sequential()`` filled by ``add_module('f_conv1', ...)``,
  ``f_bn1``, ``f_pool1``, ``f_relu1``; ``class_classifier`` ending in ``nn.LogSoftmax(dim=1)``
  and ``domain_classifier`` with ``d_fc1``/``d_bn1``/``d_relu1``/``d_fc2``/``d_softmax``;
  ``forward(input_data, alpha)`` with ``input_data.expand(...)``, ``feature.view(-1, ...)``;
- the training loop: ``p = float(i + epoch * len_dataloader) / n_epoch / len_dataloader``,
  ``alpha = 2. / (1. + np.exp(-10 * p)) - 1``, ``loss_class = torch.nn.NLLLoss()``,
  ``domain_label = torch.zeros(batch_size).long()`` / ``torch.ones(...)``,
  ``err = err_t_domain + err_s_domain + err_s_label``, ``optimizer.zero_grad()``,
  ``err.backward()``, ``optimizer.step()``, ``optim.Adam``; the evaluation's
  ``pred = class_output.data.max(1, keepdim=True)[1]`` and
  ``pred.eq(t_label.data.view_as(pred)).cpu().sum()``;
- the binary-domain variant (``nn.BCEWithLogitsLoss`` on a one-logit domain head with
  ``torch.cat([torch.ones(...), torch.zeros(...)])`` labels) and the check that the reversal
  layer's gradient is exactly ``-alpha`` times the plain one.

Changed: MNIST / MNIST-M images are 1x8x8 and 3x8x8 NumPy arrays (the source is expanded to
three channels as ``input_data.expand(len, 3, 8, 8)``); ``Dropout2d`` is left out (its draws
differ between frameworks); two epochs of three batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class ReverseLayerF(torch_like.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, alpha: float) -> Any:
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            output = grad_output.neg() * ctx.alpha
            return output, None

    class CNNModel(nn.Module):
        def __init__(self) -> None:
            super(CNNModel, self).__init__()  # noqa: UP008
            self.feature = nn.Sequential()
            self.feature.add_module("f_conv1", nn.Conv2d(3, 4, kernel_size=3))
            self.feature.add_module("f_bn1", nn.BatchNorm2d(4))
            self.feature.add_module("f_pool1", nn.MaxPool2d(2))
            self.feature.add_module("f_relu1", nn.ReLU(True))
            self.feature.add_module("f_conv2", nn.Conv2d(4, 6, kernel_size=2))
            self.feature.add_module("f_bn2", nn.BatchNorm2d(6))
            self.feature.add_module("f_pool2", nn.MaxPool2d(2))
            self.feature.add_module("f_relu2", nn.ReLU(True))

            self.class_classifier = nn.Sequential()
            self.class_classifier.add_module("c_fc1", nn.Linear(6, 10))
            self.class_classifier.add_module("c_bn1", nn.BatchNorm1d(10))
            self.class_classifier.add_module("c_relu1", nn.ReLU(True))
            self.class_classifier.add_module("c_fc2", nn.Linear(10, 4))
            self.class_classifier.add_module("c_softmax", nn.LogSoftmax(dim=1))

            self.domain_classifier = nn.Sequential()
            self.domain_classifier.add_module("d_fc1", nn.Linear(6, 8))
            self.domain_classifier.add_module("d_bn1", nn.BatchNorm1d(8))
            self.domain_classifier.add_module("d_relu1", nn.ReLU(True))
            self.domain_classifier.add_module("d_fc2", nn.Linear(8, 2))
            self.domain_classifier.add_module("d_softmax", nn.LogSoftmax(dim=1))

        def forward(self, input_data: Any, alpha: float) -> tuple[Any, Any]:
            input_data = input_data.expand(input_data.data.shape[0], 3, 8, 8)
            feature = self.feature(input_data)
            feature = feature.view(-1, 6 * 1 * 1)
            reverse_feature = ReverseLayerF.apply(feature, alpha)
            class_output = self.class_classifier(feature)
            domain_output = self.domain_classifier(reverse_feature)
            return class_output, domain_output

    return CNNModel()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    optim = torch.optim
    rng = np.random.default_rng(123)
    src_x = rng.random((18, 1, 8, 8))
    src_y = rng.integers(0, 4, 18)
    tgt_x = rng.random((18, 3, 8, 8)) * 0.8 + 0.1
    tgt_y = rng.integers(0, 4, 18)

    my_net = make_model(torch_like)
    load_numpy_state(torch_like, my_net, init)
    optimizer = optim.Adam(my_net.parameters(), lr=1e-2)
    loss_class = torch.nn.NLLLoss()
    loss_domain = torch.nn.NLLLoss()
    for p in my_net.parameters():
        p.requires_grad = True

    n_epoch, batch_size, len_dataloader = 2, 6, 3
    values: list[float] = []
    for epoch in range(n_epoch):
        for i in range(len_dataloader):
            p = float(i + epoch * len_dataloader) / n_epoch / len_dataloader
            alpha = 2.0 / (1.0 + np.exp(-10 * p)) - 1

            # training model using source data
            s_img = as_tensor(torch, src_x[i * batch_size : (i + 1) * batch_size])
            s_label = as_tensor(torch, src_y[i * batch_size : (i + 1) * batch_size])
            my_net.zero_grad()
            domain_label = torch.zeros(batch_size).long()
            class_output, domain_output = my_net(input_data=s_img, alpha=alpha)
            err_s_label = loss_class(class_output, s_label)
            err_s_domain = loss_domain(domain_output, domain_label)

            # training model using target data
            t_img = as_tensor(torch, tgt_x[i * batch_size : (i + 1) * batch_size])
            domain_label = torch.ones(batch_size).long()
            _, domain_output = my_net(input_data=t_img, alpha=alpha)
            err_t_domain = loss_domain(domain_output, domain_label)
            err = err_t_domain + err_s_domain + err_s_label
            err.backward()
            optimizer.step()
            values += [err_s_label.item(), err_s_domain.item(), err_t_domain.item()]

    # test
    my_net.eval()
    with torch.no_grad():
        t_img = as_tensor(torch, tgt_x)
        t_label = as_tensor(torch, tgt_y)
        class_output, _ = my_net(input_data=t_img, alpha=0)
        pred = class_output.data.max(1, keepdim=True)[1]
        n_correct = pred.eq(t_label.data.view_as(pred)).cpu().sum()
    values += [float(n_correct.item()), class_output.exp().sum(1).mean().item()]
    my_net.train()

    # the module form with a tensor lambda_ and a binary domain head
    class GradientReversalFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, lambda_: Any) -> Any:
            ctx.save_for_backward(x, lambda_)
            return x

        @staticmethod
        def backward(ctx: Any, grads: Any) -> Any:
            _, lambda_ = ctx.saved_tensors
            dx = None
            if ctx.needs_input_grad[0]:
                dx = -lambda_ * grads
            return dx, None

    class GradientReversal(nn.Module):
        def __init__(self, lambda_: float = 1) -> None:
            super(GradientReversal, self).__init__()  # noqa: UP008
            self.lambda_ = torch.tensor(lambda_, requires_grad=False)

        def forward(self, x: Any) -> Any:
            return GradientReversalFunction.apply(x, self.lambda_)

    grl = GradientReversal(lambda_=0.3)
    disc = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 1))
    with torch.no_grad():
        for k, prm in enumerate(disc.parameters()):
            prm.copy_(as_tensor(torch, np.sin(np.arange(prm.numel()) + k).reshape(prm.shape)))
    bce = nn.BCEWithLogitsLoss()
    s_img = as_tensor(torch, src_x[:6])
    t_img = as_tensor(torch, tgt_x[:6])
    feats = torch.cat([my_net.feature(s_img.expand(6, 3, 8, 8)), my_net.feature(t_img)]).flatten(1)
    dom_labels = torch.cat([torch.ones(6, 1), torch.zeros(6, 1)])
    feats_leaf = feats.detach().requires_grad_()
    loss_rev = bce(disc(grl(feats_leaf)), dom_labels)
    (g_rev,) = torch.autograd.grad(loss_rev, feats_leaf)
    loss_plain = bce(disc(feats_leaf), dom_labels)
    (g_plain,) = torch.autograd.grad(loss_plain, feats_leaf)
    values += [loss_rev.item(), g_rev.abs().sum().item()]
    values.append((g_rev + 0.3 * g_plain).abs().max().item())
    grad_alias = grl(feats_leaf)
    values.append(float(grad_alias.grad_fn is not None))
    return values


def check(values: list[float]) -> None:
    """The reversal layer hands back exactly ``-lambda`` times the plain gradient."""
    assert values[-2] < 1e-15, values[-2]
