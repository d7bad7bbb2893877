"""The PyTorch "Knowledge Distillation Tutorial" (``beginner/knowledge_distillation_tutorial``),
size-reduced: the teacher ``DeepNN`` and student ``LightNN`` (``nn.Sequential`` features of
``Conv2d``/``ReLU``/``MaxPool2d``, ``torch.flatten(x, 1)``, a classifier with ``Dropout``),
``train`` and ``test`` (``_, predicted = torch.max(outputs.data, 1)``, ``(predicted ==
labels).sum().item()``), the parameter counts ``"{:,}".format(sum(p.numel() ...))``,
``train_knowledge_distillation`` (a ``no_grad`` teacher in ``eval()``, soft targets
``nn.functional.softmax(teacher_logits / T, dim=-1)``, ``nn.functional.log_softmax(
student_logits / T, dim=-1)``, ``torch.sum(soft_targets * (soft_targets.log() - soft_prob)) /
soft_prob.size()[0] * (T**2)`` plus the weighted ``CrossEntropyLoss``), the cosine run
(``ModifiedDeepNNCosine``/``ModifiedLightNNCosine`` returning ``torch.nn.functional.avg_pool1d(
flattened_conv_output, 2)`` on the 2-D flattened features, ``modified_nn_deep.load_state_dict(
nn_deep.state_dict())``, ``nn.CosineEmbeddingLoss()`` with ``target=torch.ones(inputs.size(0))
.to(device)``); plus the other common spelling of the
distillation term, ``nn.KLDivLoss(reduction="batchmean")(F.log_softmax(s / T, dim=1),
F.softmax(t / T, dim=1)) * T * T``, which must give the same loss.

Changed: CIFAR-10 32x32 images -> 8x8 NumPy images of 4 classes, channels 128/64/64/32 ->
8/6/6/8 (teacher) and 16/16 -> 4/4 (student), 10 epochs -> 2, batch 128 -> 8, ``Dropout`` 0.1
-> 0 (random masks cannot agree between two frameworks); the students re-created with
``torch.manual_seed(42)`` start from the shared initial weights instead. The tutorial's last
run (an extra ``Conv2d`` regressor matched to the teacher's feature map by ``nn.MSELoss()``)
is left out: it repeats the cosine run's loop with layers the other programs cover.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

NUM_CLASSES, SIDE = 4, 8


def _classes(torch_like: Any) -> dict[str, type]:
    torch, nn = torch_like, torch_like.nn

    # Deeper neural network class to be used as teacher:
    class DeepNN(nn.Module):
        def __init__(self, num_classes: int = 10) -> None:
            super(DeepNN, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.features = nn.Sequential(
                nn.Conv2d(3, 8, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv2d(8, 6, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(6, 6, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv2d(6, 8, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(32, 12), nn.ReLU(), nn.Dropout(0.0), nn.Linear(12, num_classes)
            )

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x

    # Lightweight neural network class to be used as student:
    class LightNN(nn.Module):
        def __init__(self, num_classes: int = 10) -> None:
            super(LightNN, self).__init__()  # noqa: UP008
            self.features = nn.Sequential(
                nn.Conv2d(3, 4, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(4, 4, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, num_classes)
            )

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x

    class ModifiedDeepNNCosine(DeepNN):
        def forward(self, x: Any) -> tuple[Any, Any]:
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            flattened_conv_output_after_pooling = torch.nn.functional.avg_pool1d(
                flattened_conv_output, 2
            )
            return x, flattened_conv_output_after_pooling

    class ModifiedLightNNCosine(LightNN):
        def forward(self, x: Any) -> tuple[Any, Any]:
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            return x, flattened_conv_output

    return {c.__name__: c for c in (DeepNN, LightNN, ModifiedDeepNNCosine, ModifiedLightNNCosine)}


def make_model(torch_like: Any) -> Any:
    c = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "deep": c["DeepNN"](num_classes=NUM_CLASSES),
            "light": c["LightNN"](num_classes=NUM_CLASSES),
        }
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    c = _classes(torch_like)
    device = "cpu"
    rng = np.random.default_rng(4)
    labels_np = np.arange(32) % NUM_CLASSES
    images = rng.standard_normal((32, 3, SIDE, SIDE)) * 0.5
    for i, label in enumerate(labels_np):
        images[i, label % 3, : 2 + label, :] += 1.0
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader
    train_dataset = TensorDataset(
        as_tensor(torch_like, images[:24]), as_tensor(torch_like, labels_np[:24])
    )
    test_dataset = TensorDataset(
        as_tensor(torch_like, images[24:]), as_tensor(torch_like, labels_np[24:])
    )
    train_loader = DataLoader(train_dataset, batch_size=8, shuffle=False, num_workers=0)
    test_loader = DataLoader(test_dataset, batch_size=8, shuffle=False, num_workers=0)

    start = make_model(torch_like)
    if init is not None:
        start.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    values: list[float] = []

    def train(model: Any, train_loader: Any, epochs: int, learning_rate: float, device: Any):
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.Adam(model.parameters(), lr=learning_rate)

        model.train()

        for _epoch in range(epochs):
            running_loss = 0.0
            for inputs, labels in train_loader:
                # inputs: A collection of batch_size images
                # labels: A vector of dimensionality batch_size with integers denoting class
                inputs, labels = inputs.to(device), labels.to(device)

                optimizer.zero_grad()
                outputs = model(inputs)

                # outputs: Output of the network for the collection of images.
                # labels: The actual labels of the images.
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()

                running_loss += loss.item()

            values.append(running_loss / len(train_loader))

    def test(model: Any, test_loader: Any, device: Any) -> float:
        model.to(device)
        model.eval()

        correct = 0
        total = 0

        with torch.no_grad():
            for inputs, labels in test_loader:
                inputs, labels = inputs.to(device), labels.to(device)

                outputs = model(inputs)
                if isinstance(outputs, tuple):
                    outputs = outputs[0]
                _, predicted = torch.max(outputs.data, 1)

                total += labels.size(0)
                correct += (predicted == labels).sum().item()

        accuracy = 100 * correct / total
        return accuracy

    nn_deep = c["DeepNN"](num_classes=NUM_CLASSES).to(device)
    nn_deep.load_state_dict(start["deep"].state_dict())
    train(nn_deep, train_loader, epochs=2, learning_rate=0.01, device=device)
    values.append(test(nn_deep, test_loader, device))

    # Instantiate the lightweight network:
    nn_light = c["LightNN"](num_classes=NUM_CLASSES).to(device)
    nn_light.load_state_dict(start["light"].state_dict())
    new_nn_light = c["LightNN"](num_classes=NUM_CLASSES).to(device)
    new_nn_light.load_state_dict(start["light"].state_dict())
    values.append(torch.norm(nn_light.features[0].weight).item())

    total_params_deep = "{:,}".format(sum(p.numel() for p in nn_deep.parameters()))  # noqa: UP032
    total_params_light = "{:,}".format(sum(p.numel() for p in nn_light.parameters()))  # noqa: UP032
    values += [float(total_params_deep.replace(",", "")), float(total_params_light)]

    train(nn_light, train_loader, epochs=2, learning_rate=0.01, device=device)
    values.append(test(nn_light, test_loader, device))

    def train_knowledge_distillation(
        teacher: Any,
        student: Any,
        train_loader: Any,
        epochs: int,
        learning_rate: float,
        T: float,
        soft_target_loss_weight: float,
        ce_loss_weight: float,
        device: Any,
    ) -> None:
        ce_loss = nn.CrossEntropyLoss()
        kl_loss = nn.KLDivLoss(reduction="batchmean")
        optimizer = optim.Adam(student.parameters(), lr=learning_rate)

        teacher.eval()  # Teacher set to evaluation mode
        student.train()  # Student to train mode

        for _epoch in range(epochs):
            running_loss = 0.0
            for inputs, labels in train_loader:
                inputs, labels = inputs.to(device), labels.to(device)

                optimizer.zero_grad()

                # Forward pass with the teacher model - do not save gradients here as we do not
                # change the teacher's weights
                with torch.no_grad():
                    teacher_logits = teacher(inputs)

                # Forward pass with the student model
                student_logits = student(inputs)

                # Soften the student logits by applying softmax first and log() second
                soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
                soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)

                # Calculate the soft targets loss. Scaled by T**2 as suggested by the authors
                # of the paper "Distilling the knowledge in a neural network"
                soft_targets_loss = (
                    torch.sum(soft_targets * (soft_targets.log() - soft_prob))
                    / soft_prob.size()[0]
                    * (T**2)
                )
                # the same term as distillation code usually writes it
                kl_form = (
                    kl_loss(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T,
                                                                               dim=1)) * T * T
                )  # fmt: skip
                values.append(abs(kl_form.item() - soft_targets_loss.item()) < 1e-5)

                # Calculate the true label loss
                label_loss = ce_loss(student_logits, labels)

                # Weighted sum of the two losses
                loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss

                loss.backward()
                optimizer.step()

                running_loss += loss.item()

            values.append(running_loss / len(train_loader))

    # Apply ``train_knowledge_distillation`` with a temperature of 2. Arbitrarily set the
    # weights to 0.75 for CE and 0.25 for distillation loss.
    train_knowledge_distillation(
        teacher=nn_deep,
        student=new_nn_light,
        train_loader=train_loader,
        epochs=2,
        learning_rate=0.01,
        T=2,
        soft_target_loss_weight=0.25,
        ce_loss_weight=0.75,
        device=device,
    )
    values.append(test(new_nn_light, test_loader, device))

    # Create a similar student class where we return a tuple. We do not apply pooling after
    # flattening.
    modified_nn_deep = c["ModifiedDeepNNCosine"](num_classes=NUM_CLASSES).to(device)
    modified_nn_deep.load_state_dict(nn_deep.state_dict())
    modified_nn_light = c["ModifiedLightNNCosine"](num_classes=NUM_CLASSES).to(device)
    modified_nn_light.load_state_dict(start["light"].state_dict())

    def train_cosine_loss(
        teacher: Any,
        student: Any,
        train_loader: Any,
        epochs: int,
        learning_rate: float,
        hidden_rep_loss_weight: float,
        ce_loss_weight: float,
        device: Any,
    ) -> None:
        ce_loss = nn.CrossEntropyLoss()
        cosine_loss = nn.CosineEmbeddingLoss()
        optimizer = optim.Adam(student.parameters(), lr=learning_rate)

        teacher.to(device)
        student.to(device)
        teacher.eval()  # Teacher set to evaluation mode
        student.train()  # Student to train mode

        for _epoch in range(epochs):
            running_loss = 0.0
            for inputs, labels in train_loader:
                inputs, labels = inputs.to(device), labels.to(device)

                optimizer.zero_grad()

                # Forward pass with the teacher model and keep only the hidden representation
                with torch.no_grad():
                    _, teacher_hidden_representation = teacher(inputs)

                # Forward pass with the student model
                student_logits, student_hidden_representation = student(inputs)

                # Calculate the cosine loss. Target is a vector of ones. From the loss formula
                # above we can see that is the case where loss minimization leads to cosine
                # similarity increase.
                hidden_rep_loss = cosine_loss(
                    student_hidden_representation,
                    teacher_hidden_representation,
                    target=torch.ones(inputs.size(0)).to(device),
                )

                # Calculate the true label loss
                label_loss = ce_loss(student_logits, labels)

                # Weighted sum of the two losses
                loss = hidden_rep_loss_weight * hidden_rep_loss + ce_loss_weight * label_loss

                loss.backward()
                optimizer.step()

                running_loss += loss.item()

            values.append(running_loss / len(train_loader))

    train_cosine_loss(
        teacher=modified_nn_deep,
        student=modified_nn_light,
        train_loader=train_loader,
        epochs=2,
        learning_rate=0.01,
        hidden_rep_loss_weight=0.25,
        ce_loss_weight=0.75,
        device=device,
    )
    values.append(test(modified_nn_light, test_loader, device))

    return [float(v) for v in values]
