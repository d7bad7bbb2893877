"""Fine-tuning and neural style transfer as "Dive into Deep Learning" (d2l.ai, PyTorch edition,
sections 14.2 "Fine-Tuning" and 14.12 "Neural Style Transfer") write them, size-reduced.

The idioms of fine-tuning: a "pretrained" network whose head is replaced
(``finetune_net.fc = nn.Linear(finetune_net.fc.in_features, 2)``,
``nn.init.xavier_uniform_(finetune_net.fc.weight);``); ``train_fine_tuning``'s ``loss =
nn.CrossEntropyLoss(reduction="none")``, the parameter groups ``params_1x = [param for name,
param in net.named_parameters() if name not in ["fc.weight", "fc.bias"]]`` with
``torch.optim.SGD([{'params': params_1x}, {'params': net.fc.parameters(), 'lr': learning_rate *
10}], lr=learning_rate, weight_decay=0.001)`` against ``param_group=False``; ``train_ch13`` /
``train_batch_ch13`` (``nn.DataParallel(net, device_ids=devices).to(devices[0])``,
``isinstance(X, list)``, ``l.sum().backward()``, ``train_loss_sum = l.sum()``, d2l's
``accuracy``) and ``evaluate_accuracy_gpu``. The idioms of style transfer: ``rgb_mean =
torch.tensor([0.485, 0.456, 0.406])`` normalisation and ``postprocess``'s ``torch.clamp(
img.permute(1, 2, 0) * rgb_std + rgb_mean, 0, 1)``; ``net = nn.Sequential(*[
pretrained_net.features[i] for i in range(max(content_layers + style_layers) + 1)])``;
``extract_features`` (``for i in range(len(net)): X = net[i](X)``, ``if i in style_layers``);
``content_loss``'s ``torch.square(Y_hat - Y.detach()).mean()``; ``gram`` (``num_channels, n =
X.shape[1], X.numel() // X.shape[1]``, ``torch.matmul(X, X.T) / (num_channels * n)``);
``style_loss``; ``tv_loss`` (``0.5 * (torch.abs(Y_hat[:, :, 1:, :] - Y_hat[:, :, :-1,
:]).mean() + ...)``); ``compute_loss`` (``l = sum(styles_l + contents_l + [tv_l])``);
``SynthesizedImage`` (``nn.Parameter(torch.rand(*img_shape))`` from a ``torch.Size``, a
``forward()`` without input); ``get_inits`` (``gen_img.weight.data.copy_(X.data)``,
``torch.optim.Adam(gen_img.parameters(), lr=lr)``, ``styles_Y_gram = [gram(Y) for Y in
styles_Y]``); ``train`` with ``torch.optim.lr_scheduler.StepLR(trainer, lr_decay_epoch, 0.8)``,
``sum(styles_l)`` and ``tv_l`` for the animator (read with ``.item()``: the book's ``float()`` of a
tensor that requires grad warns in PyTorch 2).

Changed: ResNet-18 / VGG-19 pretrained on ImageNet -> small ``nn.Sequential`` stand-ins (a
``features`` list of conv/ReLU/max-pool layers with ``style_layers, content_layers = [0, 3, 5],
[5]`` instead of ``[0, 5, 10, 19, 28], [25]``) with seeded weights; the hot-dog images -> 16
seeded 3x8x8 NumPy images; the 300x450 photographs -> 3x8x12 NumPy images; 5 epochs of fine-tuning
-> 2 of 2 batches each way, 500 style epochs (decay every 50) -> 6 (decay every 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyResNet(nn.Module):
        """The ``torchvision.models.resnet18`` stand-in: a body and an ``fc`` head."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, kernel_size=3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(4, 1000)

        def forward(self, x: Any) -> Any:
            x = self.avgpool(self.relu(self.bn1(self.conv1(x))))
            return self.fc(x.flatten(1))

    class TinyVGG(nn.Module):
        """The ``torchvision.models.vgg19`` stand-in: its ``features`` ``nn.Sequential``."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True),
                nn.MaxPool2d(2, 2),
                nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(inplace=True),
                nn.MaxPool2d(2, 2),
            )  # fmt: skip

    return nn.ModuleDict({"resnet": TinyResNet(), "vgg": TinyVGG()})


def _finetune(torch_like: Any, pretrained: Any, out: list) -> None:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(142)
    imgs = rng.standard_normal((24, 3, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 2, 24)
    normalize = (torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225]))

    class HotDogs(torch.utils.data.Dataset):
        def __init__(self, lo: int, hi: int) -> None:
            self.lo, self.hi = lo, hi

        def __len__(self) -> int:
            return self.hi - self.lo

        def __getitem__(self, i: int) -> tuple:
            img = as_tensor(torch_like, imgs[self.lo + i])  # ToTensor + Normalize stand-in
            img = (img - normalize[0][:, None, None]) / normalize[1][:, None, None]
            return img, int(labels[self.lo + i])

    def accuracy(y_hat: Any, y: Any) -> float:
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    def evaluate_accuracy_gpu(net: Any, data_iter: Any, device: Any = None) -> float:
        if isinstance(net, nn.Module):
            net.eval()  # Set the model to evaluation mode
            if not device:
                device = next(iter(net.parameters())).device
        metric = [0.0, 0.0]
        with torch.no_grad():
            for X, y in data_iter:
                if isinstance(X, list):
                    X = [x.to(device) for x in X]
                else:
                    X = X.to(device)
                y = y.to(device)
                metric = [metric[0] + accuracy(net(X), y), metric[1] + y.numel()]
        return metric[0] / metric[1]

    def train_batch_ch13(net, X, y, loss, trainer, devices):  # noqa: ANN001,ANN202
        """Train for a minibatch with multiple GPUs (defined in Chapter 13)."""
        if isinstance(X, list):
            # Required for BERT fine-tuning (to be covered later)
            X = [x.to(devices[0]) for x in X]
        else:
            X = X.to(devices[0])
        y = y.to(devices[0])
        net.train()
        trainer.zero_grad()
        pred = net(X)
        l = loss(pred, y)  # noqa: E741
        l.sum().backward()
        trainer.step()
        train_loss_sum = l.sum()
        train_acc_sum = accuracy(pred, y)
        return train_loss_sum, train_acc_sum

    def train_ch13(net, train_iter, test_iter, loss, trainer, num_epochs, devices):  # noqa: ANN001,ANN202
        net = nn.DataParallel(net, device_ids=devices).to(devices[0])
        for _epoch in range(num_epochs):
            for features, labels in train_iter:
                l, acc = train_batch_ch13(net, features, labels, loss, trainer, devices)  # noqa: E741
                out.extend([l.item() / labels.shape[0], acc / labels.numel()])
            out.append(evaluate_accuracy_gpu(net, test_iter))

    def train_fine_tuning(net, learning_rate, batch_size=8, num_epochs=2,
                          param_group=True):  # noqa: ANN001,ANN202 # fmt: skip
        train_iter = torch.utils.data.DataLoader(HotDogs(0, 16), batch_size=batch_size,
                                                 shuffle=True)  # fmt: skip
        test_iter = torch.utils.data.DataLoader(HotDogs(16, 24), batch_size=batch_size)
        devices = [torch.device("cpu")]
        loss = nn.CrossEntropyLoss(reduction="none")
        if param_group:
            params_1x = [param for name, param in net.named_parameters()
                 if name not in ["fc.weight", "fc.bias"]]  # fmt: skip
            trainer = torch.optim.SGD([{'params': params_1x},
                                       {'params': net.fc.parameters(),
                                        'lr': learning_rate * 10}],
                                    lr=learning_rate, weight_decay=0.001)  # fmt: skip
        else:
            trainer = torch.optim.SGD(net.parameters(), lr=learning_rate,
                                      weight_decay=0.001)  # fmt: skip
        train_ch13(net, train_iter, test_iter, loss, trainer, num_epochs, devices)

    finetune_net = pretrained
    finetune_net.fc = nn.Linear(finetune_net.fc.in_features, 2)
    nn.init.xavier_uniform_(finetune_net.fc.weight)  # noqa: E703
    train_fine_tuning(finetune_net, 5e-2)
    scratch_net = make_model(torch_like)["resnet"]
    scratch_net.fc = nn.Linear(scratch_net.fc.in_features, 2)
    train_fine_tuning(scratch_net, 5e-1, param_group=False)


def _style_transfer(torch_like: Any, pretrained_net: Any, out: list) -> None:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(1412)
    content_img = rng.random((8, 12, 3)).astype(np.float32)
    style_img = rng.random((8, 12, 3)).astype(np.float32)
    rgb_mean = torch.tensor([0.485, 0.456, 0.406])
    rgb_std = torch.tensor([0.229, 0.224, 0.225])

    def preprocess(img: np.ndarray, image_shape: tuple) -> Any:
        # transforms.Resize(image_shape) (identity here), ToTensor, Normalize
        img = torch.from_numpy(img.transpose(2, 0, 1).copy())
        img = (img - rgb_mean[:, None, None]) / rgb_std[:, None, None]
        return img.unsqueeze(0)

    def postprocess(img: Any) -> Any:
        img = img[0].to(rgb_std.device)
        img = torch.clamp(img.permute(1, 2, 0) * rgb_std + rgb_mean, 0, 1)
        return img.permute(2, 0, 1)  # torchvision.transforms.ToPILImage()'s input

    style_layers, content_layers = [0, 3, 5], [5]
    net = nn.Sequential(*[pretrained_net.features[i] for i in
                          range(max(content_layers + style_layers) + 1)])  # fmt: skip

    def extract_features(X, content_layers, style_layers):  # noqa: ANN001,ANN202
        contents = []
        styles = []
        for i in range(len(net)):
            X = net[i](X)
            if i in style_layers:
                styles.append(X)
            if i in content_layers:
                contents.append(X)
        return contents, styles

    def get_contents(image_shape, device):  # noqa: ANN001,ANN202
        content_X = preprocess(content_img, image_shape).to(device)
        contents_Y, _ = extract_features(content_X, content_layers, style_layers)
        return content_X, contents_Y

    def get_styles(image_shape, device):  # noqa: ANN001,ANN202
        style_X = preprocess(style_img, image_shape).to(device)
        _, styles_Y = extract_features(style_X, content_layers, style_layers)
        return style_X, styles_Y

    def content_loss(Y_hat, Y):  # noqa: ANN001,ANN202
        # We detach the target content from the tree used to dynamically compute
        # the gradient: this is a stated value, not a variable. Otherwise the loss
        # will throw an error.
        return torch.square(Y_hat - Y.detach()).mean()

    def gram(X):  # noqa: ANN001,ANN202
        num_channels, n = X.shape[1], X.numel() // X.shape[1]
        X = X.reshape((num_channels, n))
        return torch.matmul(X, X.T) / (num_channels * n)

    def style_loss(Y_hat, gram_Y):  # noqa: ANN001,ANN202
        return torch.square(gram(Y_hat) - gram_Y.detach()).mean()

    def tv_loss(Y_hat):  # noqa: ANN001,ANN202
        return 0.5 * (torch.abs(Y_hat[:, :, 1:, :] - Y_hat[:, :, :-1, :]).mean() +
                      torch.abs(Y_hat[:, :, :, 1:] - Y_hat[:, :, :, :-1]).mean())  # fmt: skip

    content_weight, style_weight, tv_weight = 1, 1e4, 10

    def compute_loss(X, contents_Y_hat, styles_Y_hat, contents_Y, styles_Y_gram):  # noqa: ANN001,ANN202
        # Calculate the content, style, and total variance losses respectively
        contents_l = [content_loss(Y_hat, Y) * content_weight for Y_hat, Y in zip(
            contents_Y_hat, contents_Y)]  # fmt: skip
        styles_l = [style_loss(Y_hat, Y) * style_weight for Y_hat, Y in zip(
            styles_Y_hat, styles_Y_gram)]  # fmt: skip
        tv_l = tv_loss(X) * tv_weight
        # Add up all the losses
        l = sum(styles_l + contents_l + [tv_l])  # noqa: E741
        return contents_l, styles_l, tv_l, l

    class SynthesizedImage(nn.Module):
        def __init__(self, img_shape, **kwargs):  # noqa: ANN001,ANN003
            super(SynthesizedImage, self).__init__(**kwargs)  # noqa: UP008
            self.weight = nn.Parameter(torch.rand(*img_shape))

        def forward(self):  # noqa: ANN201
            return self.weight

    def get_inits(X, device, lr, styles_Y):  # noqa: ANN001,ANN202
        gen_img = SynthesizedImage(X.shape).to(device)
        gen_img.weight.data.copy_(X.data)
        trainer = torch.optim.Adam(gen_img.parameters(), lr=lr)
        styles_Y_gram = [gram(Y) for Y in styles_Y]
        return gen_img(), styles_Y_gram, trainer

    def train(X, contents_Y, styles_Y, device, lr, num_epochs, lr_decay_epoch):  # noqa: ANN001,ANN202
        X, styles_Y_gram, trainer = get_inits(X, device, lr, styles_Y)
        scheduler = torch.optim.lr_scheduler.StepLR(trainer, lr_decay_epoch, 0.8)
        for _epoch in range(num_epochs):
            trainer.zero_grad()
            contents_Y_hat, styles_Y_hat = extract_features(
                X, content_layers, style_layers)  # fmt: skip
            contents_l, styles_l, tv_l, l = compute_loss(  # noqa: E741
                X, contents_Y_hat, styles_Y_hat, contents_Y, styles_Y_gram)  # fmt: skip
            l.backward()
            trainer.step()
            scheduler.step()
            out.extend([sum(contents_l).item(), sum(styles_l).item(), tv_l.item(),
                        scheduler.get_last_lr()[0]])  # fmt: skip
        return X

    device, image_shape = torch.device("cpu"), (8, 12)
    net = net.to(device)
    content_X, contents_Y = get_contents(image_shape, device)
    _, styles_Y = get_styles(image_shape, device)
    output = train(content_X, contents_Y, styles_Y, device, 0.3, 6, 2)
    out.append(postprocess(output).sum().item())


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    out: list[float] = []
    torch.manual_seed(14)
    _finetune(torch_like, models["resnet"], out)
    vgg = models["vgg"]
    for param in vgg.parameters():
        param.requires_grad_(False)
    torch.manual_seed(15)
    _style_transfer(torch_like, vgg, out)
    return out
