"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 5, "Inception, ResNet and DenseNet", size-reduced.

The idioms: ``act_fn_by_name = {"tanh": nn.Tanh, "relu": nn.ReLU, "leakyrelu": nn.LeakyReLU,
"gelu": nn.GELU}`` and ``model_dict`` builders; ``self.hparams = SimpleNamespace(...)``;
``InceptionBlock(c_in, c_red : dict, c_out : dict, act_fn)`` (1x1 / 3x3 / 5x5 branches of
``nn.Conv2d``/``nn.BatchNorm2d``/``act_fn()``, the ``nn.MaxPool2d(kernel_size=3, padding=1,
stride=1)`` branch, ``torch.cat([x_1x1, x_3x3, x_5x5, x_max], dim=1)``); ``GoogleNet``'s
``inception_blocks`` ``nn.Sequential`` with a strided ``nn.MaxPool2d(3, stride=2, padding=1)``
and the ``output_net`` of ``nn.AdaptiveAvgPool2d((1,1))``, ``nn.Flatten()``, ``nn.Linear``;
``_init_params`` over ``self.modules()`` (``nn.init.kaiming_normal_(m.weight,
nonlinearity=self.hparams.act_fn_name)``, ``mode='fan_out'`` for ResNet, ``nn.init.constant_``
on ``nn.BatchNorm2d``); ``ResNetBlock`` (``stride=1 if not subsample else 2``, a 1x1 strided
``downsample`` conv, ``out = z + x``) and ``PreActResNetBlock`` (``BatchNorm2d`` / ``act_fn()``
before each conv, a pre-activated ``downsample``), ``resnet_blocks_by_name``, ``subsample =
(bc == 0 and block_idx > 0)``, ``c_hidden[block_idx if not subsample else (block_idx-1)]``,
the pre-activation input net without a non-linearity; ``DenseLayer`` (the ``bn_size *
growth_rate`` bottleneck, ``torch.cat([out, x], dim=1)``), ``DenseBlock`` (``c_in + layer_idx *
growth_rate``), ``TransitionLayer`` (``nn.AvgPool2d(kernel_size=2, stride=2)``) and
``DenseNet`` (``c_hidden = c_hidden + num_layers * self.hparams.growth_rate``, ``c_hidden //
2``); the Lightning ``CIFARModule`` (``self.example_input_array = torch.zeros((1, 3, 32, 32),
dtype=torch.float32)``, ``configure_optimizers`` choosing ``optim.AdamW(self.parameters(),
**self.hparams.optimizer_hparams)`` or ``optim.SGD(...)`` by ``optimizer_name`` with
``optim.lr_scheduler.MultiStepLR(optimizer, milestones=[100, 150], gamma=0.1)``, ``loss =
self.loss_module(preds, labels)``, ``acc = (preds.argmax(dim=-1) == labels).float().mean()``,
validation and test passes in eval mode); the data statistics ``DATA_MEANS = (train_dataset.data
/ 255.0).mean(axis=(0,1,2))`` normalising the images, and ``pl.seed_everything(42)``'s
``torch.utils.data.random_split(train_dataset, [45000, 5000])``.

Changed: CIFAR-10's 50000 32x32 images -> 20 seeded NumPy 8x8 ones; the channel widths are
quartered (GoogleNet 64 -> 16, inception branches /4; ResNet ``c_hidden`` [16, 32, 64] -> [4,
8, 8] with [3, 3, 3] -> [1, 1, 1] blocks; DenseNet ``num_layers`` [6, 6, 6, 6] -> [2, 2],
``growth_rate`` 16 -> 4), 180 epochs -> 2 steps per model; the torchvision augmentations
(flip, ``RandomResizedCrop``) are a NumPy flip.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
IMG = 8


def _models(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    act_fn_by_name = {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leakyrelu": nn.LeakyReLU,
        "gelu": nn.GELU,
    }

    class InceptionBlock(nn.Module):
        def __init__(self, c_in, c_red: dict, c_out: dict, act_fn):  # noqa: ANN001
            """
            Inputs:
                c_in - Number of input feature maps from the previous layers
                c_red - Dictionary with keys "3x3" and "5x5" specifying the output of the
                        dimensionality reducing 1x1 convolutions
                c_out - Dictionary with keys "1x1", "3x3", "5x5", and "max"
                act_fn - Activation class constructor (e.g. nn.ReLU)
            """
            super().__init__()

            # 1x1 convolution branch
            self.conv_1x1 = nn.Sequential(
                nn.Conv2d(c_in, c_out["1x1"], kernel_size=1),
                nn.BatchNorm2d(c_out["1x1"]),
                act_fn()
            )  # fmt: skip

            # 3x3 convolution branch
            self.conv_3x3 = nn.Sequential(
                nn.Conv2d(c_in, c_red["3x3"], kernel_size=1),
                nn.BatchNorm2d(c_red["3x3"]),
                act_fn(),
                nn.Conv2d(c_red["3x3"], c_out["3x3"], kernel_size=3, padding=1),
                nn.BatchNorm2d(c_out["3x3"]),
                act_fn()
            )  # fmt: skip

            # 5x5 convolution branch
            self.conv_5x5 = nn.Sequential(
                nn.Conv2d(c_in, c_red["5x5"], kernel_size=1),
                nn.BatchNorm2d(c_red["5x5"]),
                act_fn(),
                nn.Conv2d(c_red["5x5"], c_out["5x5"], kernel_size=5, padding=2),
                nn.BatchNorm2d(c_out["5x5"]),
                act_fn()
            )  # fmt: skip

            # Max-pool branch
            self.max_pool = nn.Sequential(
                nn.MaxPool2d(kernel_size=3, padding=1, stride=1),
                nn.Conv2d(c_in, c_out["max"], kernel_size=1),
                nn.BatchNorm2d(c_out["max"]),
                act_fn()
            )  # fmt: skip

        def forward(self, x):  # noqa: ANN001,ANN201
            x_1x1 = self.conv_1x1(x)
            x_3x3 = self.conv_3x3(x)
            x_5x5 = self.conv_5x5(x)
            x_max = self.max_pool(x)
            x_out = torch.cat([x_1x1, x_3x3, x_5x5, x_max], dim=1)
            return x_out

    class GoogleNet(nn.Module):
        def __init__(self, num_classes=10, act_fn_name="relu", **kwargs):  # noqa: ANN001,ANN003
            super().__init__()
            self.hparams = SimpleNamespace(num_classes=num_classes,
                                           act_fn_name=act_fn_name,
                                           act_fn=act_fn_by_name[act_fn_name])  # fmt: skip
            self._create_network()
            self._init_params()

        def _create_network(self):  # noqa: ANN202
            # A first convolution on the original image to scale up the channel size
            self.input_net = nn.Sequential(
                nn.Conv2d(3, 16, kernel_size=3, padding=1),
                nn.BatchNorm2d(16),
                self.hparams.act_fn()
            )  # fmt: skip
            # Stacking inception blocks
            self.inception_blocks = nn.Sequential(
                InceptionBlock(16, c_red={"3x3": 8, "5x5": 4},
                               c_out={"1x1": 4, "3x3": 8, "5x5": 2, "max": 2},
                               act_fn=self.hparams.act_fn),
                InceptionBlock(16, c_red={"3x3": 8, "5x5": 4},
                               c_out={"1x1": 6, "3x3": 6, "5x5": 6, "max": 6},
                               act_fn=self.hparams.act_fn),
                nn.MaxPool2d(3, stride=2, padding=1),  # 32x32 => 16x16
                InceptionBlock(24, c_red={"3x3": 8, "5x5": 4},
                               c_out={"1x1": 8, "3x3": 12, "5x5": 6, "max": 6},
                               act_fn=self.hparams.act_fn),
            )  # fmt: skip
            # Mapping to classification output
            self.output_net = nn.Sequential(
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten(),
                nn.Linear(32, self.hparams.num_classes)
            )  # fmt: skip

        def _init_params(self):  # noqa: ANN202
            # Based on our discussion in Tutorial 4, we should initialize the convolutions
            # according to the activation function
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity=self.hparams.act_fn_name)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):  # noqa: ANN001,ANN201
            x = self.input_net(x)
            x = self.inception_blocks(x)
            x = self.output_net(x)
            return x

    class ResNetBlock(nn.Module):
        def __init__(self, c_in, act_fn, subsample=False, c_out=-1):  # noqa: ANN001
            super().__init__()
            if not subsample:
                c_out = c_in

            # Network representing F
            self.net = nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1,
                          stride=1 if not subsample else 2, bias=False),
                nn.BatchNorm2d(c_out),
                act_fn(),
                nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(c_out)
            )  # fmt: skip

            # 1x1 convolution with stride 2 means we take the upper left value,
            # and transform it to new output size
            self.downsample = nn.Conv2d(c_in, c_out, kernel_size=1,
                                        stride=2) if subsample else None  # fmt: skip
            self.act_fn = act_fn()

        def forward(self, x):  # noqa: ANN001,ANN201
            z = self.net(x)
            if self.downsample is not None:
                x = self.downsample(x)
            out = z + x
            out = self.act_fn(out)
            return out

    class PreActResNetBlock(nn.Module):
        def __init__(self, c_in, act_fn, subsample=False, c_out=-1):  # noqa: ANN001
            super().__init__()
            if not subsample:
                c_out = c_in

            # Network representing F
            self.net = nn.Sequential(
                nn.BatchNorm2d(c_in),
                act_fn(),
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1,
                          stride=1 if not subsample else 2, bias=False),
                nn.BatchNorm2d(c_out),
                act_fn(),
                nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False)
            )  # fmt: skip

            # 1x1 convolution needs to apply non-linearity as well as not done on skip
            # connection
            self.downsample = nn.Sequential(
                nn.BatchNorm2d(c_in),
                act_fn(),
                nn.Conv2d(c_in, c_out, kernel_size=1, stride=2, bias=False)
            ) if subsample else None  # fmt: skip

        def forward(self, x):  # noqa: ANN001,ANN201
            z = self.net(x)
            if self.downsample is not None:
                x = self.downsample(x)
            out = z + x
            return out

    resnet_blocks_by_name = {
        "ResNetBlock": ResNetBlock,
        "PreActResNetBlock": PreActResNetBlock,
    }

    class ResNet(nn.Module):
        def __init__(self, num_classes=10, num_blocks=[1, 1, 1], c_hidden=[4, 8, 8],  # noqa: B006
                     act_fn_name="relu", block_name="ResNetBlock", **kwargs):  # noqa: ANN001,ANN003 # fmt: skip
            super().__init__()
            assert block_name in resnet_blocks_by_name
            self.hparams = SimpleNamespace(num_classes=num_classes,
                                           c_hidden=c_hidden,
                                           num_blocks=num_blocks,
                                           act_fn_name=act_fn_name,
                                           act_fn=act_fn_by_name[act_fn_name],
                                           block_class=resnet_blocks_by_name[block_name])  # noqa: E501 # fmt: skip
            self._create_network()
            self._init_params()

        def _create_network(self):  # noqa: ANN202
            c_hidden = self.hparams.c_hidden

            # A first convolution on the original image to scale up the channel size
            if self.hparams.block_class == PreActResNetBlock:  # => Don't apply non-linearity
                self.input_net = nn.Sequential(
                    nn.Conv2d(3, c_hidden[0], kernel_size=3, padding=1, bias=False)
                )  # fmt: skip
            else:
                self.input_net = nn.Sequential(
                    nn.Conv2d(3, c_hidden[0], kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(c_hidden[0]),
                    self.hparams.act_fn()
                )  # fmt: skip

            # Creating the ResNet blocks
            blocks = []
            for block_idx, block_count in enumerate(self.hparams.num_blocks):
                for bc in range(block_count):
                    # Subsample the first block of each group, except the very first one.
                    subsample = bc == 0 and block_idx > 0
                    blocks.append(
                        self.hparams.block_class(
                            c_in=c_hidden[block_idx if not subsample else (block_idx-1)],
                            act_fn=self.hparams.act_fn,
                            subsample=subsample,
                            c_out=c_hidden[block_idx])
                    )  # fmt: skip
            self.blocks = nn.Sequential(*blocks)

            # Mapping to classification output
            self.output_net = nn.Sequential(
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten(),
                nn.Linear(c_hidden[-1], self.hparams.num_classes)
            )  # fmt: skip

        def _init_params(self):  # noqa: ANN202
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                            nonlinearity=self.hparams.act_fn_name)  # fmt: skip
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):  # noqa: ANN001,ANN201
            x = self.input_net(x)
            x = self.blocks(x)
            x = self.output_net(x)
            return x

    class DenseLayer(nn.Module):
        def __init__(self, c_in, bn_size, growth_rate, act_fn):  # noqa: ANN001
            super().__init__()
            self.net = nn.Sequential(
                nn.BatchNorm2d(c_in),
                act_fn(),
                nn.Conv2d(c_in, bn_size * growth_rate, kernel_size=1, bias=False),
                nn.BatchNorm2d(bn_size * growth_rate),
                act_fn(),
                nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1,
                          bias=False)
            )  # fmt: skip

        def forward(self, x):  # noqa: ANN001,ANN201
            out = self.net(x)
            out = torch.cat([out, x], dim=1)
            return out

    class DenseBlock(nn.Module):
        def __init__(self, c_in, num_layers, bn_size, growth_rate, act_fn):  # noqa: ANN001
            super().__init__()
            layers = []
            for layer_idx in range(num_layers):
                layers.append(
                    DenseLayer(c_in=c_in + layer_idx * growth_rate,
                               bn_size=bn_size,
                               growth_rate=growth_rate,
                               act_fn=act_fn)
                )  # fmt: skip
            self.block = nn.Sequential(*layers)

        def forward(self, x):  # noqa: ANN001,ANN201
            out = self.block(x)
            return out

    class TransitionLayer(nn.Module):
        def __init__(self, c_in, c_out, act_fn):  # noqa: ANN001
            super().__init__()
            self.transition = nn.Sequential(
                nn.BatchNorm2d(c_in),
                act_fn(),
                nn.Conv2d(c_in, c_out, kernel_size=1, bias=False),
                nn.AvgPool2d(kernel_size=2, stride=2)  # Average the output for each 2x2 pixel group
            )  # fmt: skip

        def forward(self, x):  # noqa: ANN001,ANN201
            return self.transition(x)

    class DenseNet(nn.Module):
        def __init__(self, num_classes=10, num_layers=[2, 2], bn_size=2, growth_rate=4,  # noqa: B006
                     act_fn_name="relu", **kwargs):  # noqa: ANN001,ANN003 # fmt: skip
            super().__init__()
            self.hparams = SimpleNamespace(num_classes=num_classes,
                                           num_layers=num_layers,
                                           bn_size=bn_size,
                                           growth_rate=growth_rate,
                                           act_fn_name=act_fn_name,
                                           act_fn=act_fn_by_name[act_fn_name])  # fmt: skip
            self._create_network()
            self._init_params()

        def _create_network(self):  # noqa: ANN202
            c_hidden = (
                self.hparams.growth_rate * self.hparams.bn_size
            )  # The start number of hidden channels

            # A first convolution on the original image to scale up the channel size
            # No batch norm or activation function as done inside the Dense layers
            self.input_net = nn.Sequential(
                nn.Conv2d(3, c_hidden, kernel_size=3, padding=1)
            )  # fmt: skip

            # Creating the dense blocks, eventually including transition layers
            blocks = []
            for block_idx, num_layers in enumerate(self.hparams.num_layers):
                blocks.append(
                    DenseBlock(c_in=c_hidden,
                               num_layers=num_layers,
                               bn_size=self.hparams.bn_size,
                               growth_rate=self.hparams.growth_rate,
                               act_fn=self.hparams.act_fn)
                )  # fmt: skip
                c_hidden = (
                    c_hidden + num_layers * self.hparams.growth_rate
                )  # Overall output of the dense block
                if (
                    block_idx < len(self.hparams.num_layers) - 1
                ):  # Don't apply transition layer on last block
                    blocks.append(
                        TransitionLayer(c_in=c_hidden,
                                        c_out=c_hidden // 2,
                                        act_fn=self.hparams.act_fn))  # fmt: skip
                    c_hidden = c_hidden // 2

            self.blocks = nn.Sequential(*blocks)

            # Mapping to classification output
            self.output_net = nn.Sequential(
                # The features have not passed a non-linearity until here.
                nn.BatchNorm2d(c_hidden),
                self.hparams.act_fn(),
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten(),
                nn.Linear(c_hidden, self.hparams.num_classes)
            )  # fmt: skip

        def _init_params(self):  # noqa: ANN202
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity=self.hparams.act_fn_name)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):  # noqa: ANN001,ANN201
            x = self.input_net(x)
            x = self.blocks(x)
            x = self.output_net(x)
            return x

    return {"GoogleNet": GoogleNet, "ResNet": ResNet, "DenseNet": DenseNet}


def _model_specs() -> list[tuple[str, dict, str, dict]]:
    return [
        ("GoogleNet", {"num_classes": 10, "act_fn_name": "relu"}, "Adam",
         {"lr": 1e-3, "weight_decay": 1e-4}),
        ("ResNet", {"num_classes": 10, "c_hidden": [4, 8, 8], "num_blocks": [1, 1, 1],
                    "act_fn_name": "relu"}, "SGD",
         {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}),
        ("ResNet", {"num_classes": 10, "c_hidden": [4, 8, 8], "num_blocks": [1, 1, 1],
                    "act_fn_name": "relu", "block_name": "PreActResNetBlock"}, "SGD",
         {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}),
        ("DenseNet", {"num_classes": 10, "num_layers": [2, 2], "bn_size": 2, "growth_rate": 4,
                      "act_fn_name": "relu"}, "Adam",
         {"lr": 1e-3, "weight_decay": 1e-4}),
    ]  # fmt: skip


def make_model(torch_like: Any) -> Any:
    models = _models(torch_like)
    return torch_like.nn.ModuleList(
        [models[name](**hparams) for name, hparams, _, _ in _model_specs()]
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    all_models = make_model(torch_like)
    load_numpy_state(torch_like, all_models, init)

    class CIFARModule(nn.Module):
        def __init__(self, model, model_hparams, optimizer_name, optimizer_hparams):  # noqa: ANN001
            super().__init__()
            self.hparams = SimpleNamespace(model_hparams=model_hparams,
                                           optimizer_name=optimizer_name,
                                           optimizer_hparams=optimizer_hparams)  # fmt: skip
            # Create model
            self.model = model
            # Create loss module
            self.loss_module = nn.CrossEntropyLoss()
            # Example input for visualizing the graph in Tensorboard
            self.example_input_array = torch.zeros((1, 3, 32, 32), dtype=torch.float32)

        def forward(self, imgs):  # noqa: ANN001,ANN201
            # Forward function that is run when visualizing the graph
            return self.model(imgs)

        def configure_optimizers(self):  # noqa: ANN201
            if self.hparams.optimizer_name == "Adam":
                # AdamW is Adam with a correct implementation of weight decay
                optimizer = optim.AdamW(self.parameters(), **self.hparams.optimizer_hparams)
            elif self.hparams.optimizer_name == "SGD":
                optimizer = optim.SGD(self.parameters(), **self.hparams.optimizer_hparams)
            else:
                assert False, f'Unknown optimizer: "{self.hparams.optimizer_name}"'  # noqa: B011
            # We will reduce the learning rate by 0.1 after 100 and 150 epochs
            scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1, 2], gamma=0.1)
            return [optimizer], [scheduler]

        def training_step(self, batch, batch_idx):  # noqa: ANN001,ANN201
            # "batch" is the output of the training data loader.
            imgs, labels = batch
            preds = self.model(imgs)
            loss = self.loss_module(preds, labels)
            acc = (preds.argmax(dim=-1) == labels).float().mean()
            self.logged = [loss.item(), acc.item()]
            return loss  # Return tensor to call ".backward" on

        def validation_step(self, batch, batch_idx):  # noqa: ANN001,ANN201
            imgs, labels = batch
            preds = self.model(imgs).argmax(dim=-1)
            acc = (labels == preds).float().mean()
            return acc

    rng = np.random.default_rng(5)
    data = (rng.random((20, IMG, IMG, 3)) * 255).astype(np.uint8)
    targets = rng.integers(0, 10, 20)
    DATA_MEANS = (data / 255.0).mean(axis=(0, 1, 2))
    DATA_STD = (data / 255.0).std(axis=(0, 1, 2))
    images = ((data / 255.0 - DATA_MEANS) / DATA_STD).transpose(0, 3, 1, 2).astype(np.float32)

    class CIFAR(torch.utils.data.Dataset):
        def __init__(self, train: bool) -> None:
            self.train = train

        def __len__(self) -> int:
            return len(images)

        def __getitem__(self, idx: int) -> tuple:
            img = images[idx]
            if self.train and idx % 2 == 1:  # transforms.RandomHorizontalFlip stand-in
                img = img[:, :, ::-1]
            return as_tensor(torch_like, img), int(targets[idx])

    torch.manual_seed(42)
    train_set, _ = torch.utils.data.random_split(CIFAR(train=True), [16, 4])
    torch.manual_seed(42)
    _, val_set = torch.utils.data.random_split(CIFAR(train=False), [16, 4])
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=8, shuffle=True,
                                               drop_last=True)  # fmt: skip
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=4, shuffle=False)
    values: list[float] = []
    for model, (_, hparams, opt_name, opt_hparams) in zip(all_models, _model_specs(),
                                                           strict=True):  # fmt: skip
        module = CIFARModule(model, hparams, opt_name, opt_hparams)
        values.append(module(module.example_input_array).shape[-1])
        [optimizer], [scheduler] = module.configure_optimizers()
        for _epoch in range(2):
            module.train()
            for batch_idx, batch in enumerate(train_loader):
                loss = module.training_step(batch, batch_idx)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                values += module.logged
            scheduler.step()
            module.eval()
            with torch.no_grad():
                accs = [module.validation_step(b, i) for i, b in enumerate(val_loader)]
            values.append(torch.stack(accs).mean().item())
        values.append(sum(np.prod(p.shape) for p in module.parameters()))
    return values
