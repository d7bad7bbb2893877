"""The PyTorch "Adversarial Example Generation" (FGSM) tutorial (``beginner/fgsm_tutorial``),
size-reduced: the tutorial's LeNet-style ``Net`` (``Conv2d``s, ``Dropout``, ``torch.flatten``,
``log_softmax``) in ``eval()`` mode; for every test example ``data.requires_grad = True``, the
prediction ``output.max(1, keepdim=True)[1]``, ``F.nll_loss``, ``model.zero_grad()``,
``loss.backward()``, ``data.grad.data``, ``denorm`` (``torch.tensor(mean).to(device)``,
``std.view(1, -1, 1, 1)``), ``fgsm_attack`` (``data_grad.sign()``, ``torch.clamp(x, 0, 1)``), the
re-normalisation (``transforms.Normalize`` written out), and the accuracy and adversarial examples
(``.squeeze().detach().cpu().numpy()``) for each epsilon.

The model is first trained for a few Adam steps (the tutorial loads ``lenet_mnist_model.pth``) so
that predictions are mostly right. Sizes: 28x28 -> 12x12, channels 32/64 -> 4/6, fc 128 -> 16.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
EPSILONS = [0, 0.05, 0.1, 0.3]
N_TEST = 10


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    # LeNet Model definition
    class Net(nn.Module):
        def __init__(self) -> None:
            super(Net, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 6, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(6 * 4 * 4, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x: Any) -> Any:
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return Net()


def _digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """12x12 "digits": class-dependent bar patterns plus noise, in [0, 1]."""
    target = rng.integers(0, 10, n)
    img = 0.15 * rng.random((n, 1, 12, 12))
    for i, t in enumerate(target):
        img[i, 0, t % 5 * 2 : t % 5 * 2 + 3, :] += 0.8
        img[i, 0, :, 2 + t // 5 * 6 : 4 + t // 5 * 6] += 0.6
    return np.clip(img, 0, 1).astype(np.float32), target


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(21)
    device = torch.device("cpu")
    model = make_model(torch_like).to(device)
    load_numpy_state(torch_like, model, init)
    mean_, std_ = 0.1307, 0.3081

    # Stand-in for ``model.load_state_dict(torch.load(...))``: a short training run.
    train_x, train_y = _digits(rng, 40)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    model.eval()  # no dropout, as in the tutorial's evaluation
    values = []
    for _step in range(8):
        optimizer.zero_grad()
        loss = F.nll_loss(
            model(torch.from_numpy((train_x - mean_) / std_)), torch.from_numpy(train_y)
        )
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    test_x, test_y = _digits(rng, N_TEST)
    test_loader = [
        (torch.from_numpy((test_x[i : i + 1] - mean_) / std_), torch.from_numpy(test_y[i : i + 1]))
        for i in range(N_TEST)
    ]

    # FGSM attack code
    def fgsm_attack(image: Any, epsilon: float, data_grad: Any) -> Any:
        # Collect the element-wise sign of the data gradient
        sign_data_grad = data_grad.sign()
        # Create the perturbed image by adjusting each pixel of the input image
        perturbed_image = image + epsilon * sign_data_grad
        # Adding clipping to maintain [0,1] range
        perturbed_image = torch.clamp(perturbed_image, 0, 1)
        # Return the perturbed image
        return perturbed_image

    # restores the tensors to their original scale
    def denorm(batch: Any, mean: Any = [0.1307], std: Any = [0.3081]) -> Any:  # noqa: B006
        if isinstance(mean, list):
            mean = torch.tensor(mean).to(device)
        if isinstance(std, list):
            std = torch.tensor(std).to(device)

        return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)

    def normalize(batch: Any) -> Any:  # transforms.Normalize((0.1307,), (0.3081,))
        return (batch - mean_) / std_

    def test(model: Any, device: Any, test_loader: Any, epsilon: float) -> tuple[float, list]:
        # Accuracy counter
        correct = 0
        adv_examples = []

        # Loop over all examples in test set
        for data, target in test_loader:
            # Send the data and label to the device
            data, target = data.to(device), target.to(device)

            # Set requires_grad attribute of tensor. Important for Attack
            data.requires_grad = True

            # Forward pass the data through the model
            output = model(data)
            init_pred = output.max(1, keepdim=True)[1]  # get the index of the max log-probability

            # If the initial prediction is wrong, don't bother attacking, just move on
            if init_pred.item() != target.item():
                continue

            # Calculate the loss
            loss = F.nll_loss(output, target)

            # Zero all existing gradients
            model.zero_grad()

            # Calculate gradients of model in backward pass
            loss.backward()

            # Collect ``datagrad``
            data_grad = data.grad.data

            # Restore the data to its original scale
            data_denorm = denorm(data)

            # Call FGSM Attack
            perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)

            # Reapply normalization
            perturbed_data_normalized = normalize(perturbed_data)

            # Re-classify the perturbed image
            output = model(perturbed_data_normalized)

            # Check for success
            final_pred = output.max(1, keepdim=True)[1]
            if final_pred.item() == target.item():
                correct += 1
                # Special case for saving 0 epsilon examples
                if epsilon == 0 and len(adv_examples) < 5:
                    adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                    adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
            else:
                # Save some adv examples for visualization later
                if len(adv_examples) < 5:
                    adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                    adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))

        # Calculate final accuracy for this epsilon
        final_acc = correct / float(len(test_loader))
        print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_loader)} = {final_acc}")

        # Return the accuracy and an adversarial example
        return final_acc, adv_examples

    accuracies = []
    examples = []
    # Run test for each epsilon
    for eps in EPSILONS:
        acc, ex = test(model, device, test_loader, eps)
        accuracies.append(acc)
        examples.append(ex)
    values += accuracies
    for ex in examples:
        values += [float(len(ex))] + [float(np.sum(adv)) for _orig, _adv_pred, adv in ex]
    return values
