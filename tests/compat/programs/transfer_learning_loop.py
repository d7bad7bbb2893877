"""The PyTorch "Transfer Learning for Computer Vision" tutorial
(``beginner/transfer_learning_tutorial``), size-reduced: ``train_model(model, criterion,
optimizer, scheduler, num_epochs)`` with its
``since = time.time()``, ``best_model_wts = copy.deepcopy(model.state_dict())``, ``for phase in
['train', 'val']`` switching ``model.train()``/``model.eval()``, ``torch.set_grad_enabled(phase ==
'train')``, ``_, preds = torch.max(outputs, 1)``, ``running_loss += loss.item() *
inputs.size(0)``, ``running_corrects += torch.sum(preds == labels.data)``, ``scheduler.step()``
after the training phase, ``running_corrects.double() / dataset_sizes[phase]``, keeping the best
weights and ``model.load_state_dict(best_model_wts)``; the "ConvNet as fixed feature extractor"
variant (``param.requires_grad = False`` for every parameter, a new ``model_conv.fc =
nn.Linear(num_ftrs, 2)`` read from ``model_conv.fc.in_features``,
``optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9)``,
``lr_scheduler.StepLR(step_size=7, gamma=0.1)``) and the finetuning
variant (all parameters trained).

The tutorial's ``models.resnet18(weights='IMAGENET1K_V1')`` is replaced by a tiny ResNet-shaped
network (``conv1``/``bn1``/``relu``/``maxpool``/``layer1``/``avgpool``/``fc``, with BatchNorm so
``train()``/``eval()`` matter) whose weights come from the torch model; the saved
``best_model_params.pt`` becomes the deep-copied state dict. Sizes: 224x224 images -> 12x12, 244
train / 153 val images -> 8 / 6 in batches of 4, 25 epochs -> 4, ``step_size`` 7 -> 2.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyResNet(nn.Module):
        def __init__(self, num_classes: int = 5) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(6)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = nn.Sequential(
                nn.Conv2d(6, 6, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU()
            )
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(6, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer1(x)
            x = self.avgpool(x)
            return self.fc(x.flatten(1))

    return TinyResNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    lr_scheduler = torch_like.optim.lr_scheduler
    rng = np.random.default_rng(11)
    device = torch.device("cpu")
    data = {
        "train": (rng.standard_normal((8, 3, 12, 12)).astype(np.float32), rng.integers(0, 2, 8)),
        "val": (rng.standard_normal((6, 3, 12, 12)).astype(np.float32), rng.integers(0, 2, 6)),
    }
    dataloaders = {
        x: [
            (torch.from_numpy(data[x][0][i : i + 4]), torch.from_numpy(data[x][1][i : i + 4]))
            for i in range(0, len(data[x][1]), 4)
        ]
        for x in ["train", "val"]
    }
    dataset_sizes = {x: len(data[x][1]) for x in ["train", "val"]}
    head = np.random.default_rng(12).uniform(-0.4, 0.4, (2, 7)).astype(np.float32)
    values: list[float] = []

    def train_model(
        model: Any, criterion: Any, optimizer: Any, scheduler: Any, num_epochs: int = 25
    ) -> Any:
        since = time.time()

        best_model_wts = copy.deepcopy(model.state_dict())
        best_acc = 0.0

        for epoch in range(num_epochs):
            print(f"Epoch {epoch}/{num_epochs - 1}")
            print("-" * 10)

            # Each epoch has a training and validation phase
            for phase in ["train", "val"]:
                if phase == "train":
                    model.train()  # Set model to training mode
                else:
                    model.eval()  # Set model to evaluate mode

                running_loss = 0.0
                running_corrects = 0

                # Iterate over data.
                for inputs, labels in dataloaders[phase]:
                    inputs = inputs.to(device)
                    labels = labels.to(device)

                    # zero the parameter gradients
                    optimizer.zero_grad()

                    # forward
                    # track history if only in train
                    with torch.set_grad_enabled(phase == "train"):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)

                        # backward + optimize only if in training phase
                        if phase == "train":
                            loss.backward()
                            optimizer.step()

                    # statistics
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == "train":
                    scheduler.step()

                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]

                print(f"{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}")
                values.extend([epoch_loss, epoch_acc.item(), optimizer.param_groups[0]["lr"]])

                # deep copy the model
                if phase == "val" and epoch_acc > best_acc:
                    best_acc = epoch_acc
                    best_model_wts = copy.deepcopy(model.state_dict())

        time_elapsed = time.time() - since
        print(f"Training complete in {time_elapsed // 60:.0f}m {time_elapsed % 60:.0f}s")
        print(f"Best val Acc: {best_acc:4f}")
        values.append(float(best_acc))

        # load best model weights
        model.load_state_dict(best_model_wts)
        return model

    # Finetuning the ConvNet
    model_ft = make_model(torch_like)
    load_numpy_state(torch_like, model_ft, init)
    num_ftrs = model_ft.fc.in_features
    # Here the size of each output sample is set to 2.
    model_ft.fc = nn.Linear(num_ftrs, 2)
    with torch.no_grad():
        model_ft.fc.weight.copy_(torch.from_numpy(head[:, :6]))
        model_ft.fc.bias.copy_(torch.from_numpy(head[:, 6]))
    model_ft = model_ft.to(device)
    criterion = nn.CrossEntropyLoss()
    # Observe that all parameters are being optimized
    optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.01, momentum=0.9)
    # Decay LR by a factor of 0.1 every 7 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=2, gamma=0.1)
    model_ft = train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler, num_epochs=4)
    values += [v.float().sum().item() for v in model_ft.state_dict().values()]

    # ConvNet as fixed feature extractor
    model_conv = make_model(torch_like)
    load_numpy_state(torch_like, model_conv, init)
    for param in model_conv.parameters():
        param.requires_grad = False

    # Parameters of newly constructed modules have requires_grad=True by default
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)
    with torch.no_grad():
        model_conv.fc.weight.copy_(torch.from_numpy(head[:, :6]))
        model_conv.fc.bias.copy_(torch.from_numpy(head[:, 6]))
    model_conv = model_conv.to(device)
    criterion = nn.CrossEntropyLoss()
    # Observe that only parameters of final layer are being optimized as
    # opposed to before.
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)
    # Decay LR by a factor of 0.1 every 7 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=2, gamma=0.1)
    model_conv = train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler, num_epochs=4)
    values += [v.float().sum().item() for v in model_conv.state_dict().values()]
    return values
