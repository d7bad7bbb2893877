"""pytorch/examples ``mnist_rnn/main.py``, size-reduced: the ``Net`` (``nn.LSTM(input_size=28,
hidden_size=64, batch_first=True)`` over the image rows after ``input.reshape(-1, 28, 28)``,
the last step ``output[:, -1, :]``, ``nn.BatchNorm1d(64)``, ``nn.Dropout2d`` applied to the
2-D ``(batch, features)`` activations -- a rank PyTorch 2.13 still accepts with a deprecation
warning, dropping single elements -- ``F.relu``, ``F.log_softmax(output, dim=1)``); the
``argparse`` options read with ``parser.parse_args([...])``; ``train`` (``F.nll_loss``, the
``'Train Epoch: {} [{}/{} ({:.0f}%)]\\tLoss: {:.6f}'.format(...)`` log line, ``len(
train_loader.dataset)``) and ``test`` (``F.nll_loss(output, target, reduction='sum').item()``,
``output.argmax(dim=1, keepdim=True)``, ``pred.eq(target.view_as(pred)).sum().item()``);
``optim.Adadelta(model.parameters(), lr=args.lr)`` with ``StepLR(optimizer, step_size=1,
gamma=args.gamma)``; and ``--save-model``'s ``torch.save(model.state_dict(), ...)``.

Changed: MNIST is 40 NumPy "images" of 8x8 with 4 classes, normalised by hand with the
example's ``transforms.Normalize((0.1307,), (0.3081,))`` constants; hidden 64 -> 8, fc1 32 -> 6,
batch 64 -> 8, 14 epochs -> 2; the ``Dropout2d`` probabilities 0.25/0.5 -> 0 (random masks
cannot agree between two frameworks; the layers and their rank warning stay); the warning is
silenced with ``warnings.filterwarnings`` as users of the example do (PyTorch's is ignored by
the suite as coming from inside ``torch``, chainrule's would fail it); the state dict is saved
to an ``io.BytesIO`` and loaded back into a fresh ``Net`` with ``torch.load(...,
weights_only=True)`` for a last test pass.
"""

from __future__ import annotations

import argparse
import io
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

SIDE, HIDDEN, N_CLASSES = 8, 8, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super(Net, self).__init__()  # noqa: UP008 (as in the example)
            self.rnn = nn.LSTM(input_size=SIDE, hidden_size=HIDDEN, batch_first=True)
            self.batchnorm = nn.BatchNorm1d(HIDDEN)
            self.dropout1 = nn.Dropout2d(0.0)
            self.dropout2 = nn.Dropout2d(0.0)
            self.fc1 = nn.Linear(HIDDEN, 6)
            self.fc2 = nn.Linear(6, N_CLASSES)

        def forward(self, input: Any) -> Any:
            # Shape of input is (batch_size,1, 28, 28)
            # converting shape of input to (batch_size, 28, 28)
            # as required by RNN when batch_first is set True
            input = input.reshape(-1, SIDE, SIDE)
            output, hidden = self.rnn(input)

            # RNN output shape is (seq_len, batch, input_size)
            # Get last output of RNN
            output = output[:, -1, :]
            output = self.batchnorm(output)
            output = self.dropout1(output)
            output = self.fc1(output)
            output = F.relu(output)
            output = self.dropout2(output)
            output = self.fc2(output)
            output = F.log_softmax(output, dim=1)
            return output

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="dropout2d: Received a 2-D input", category=UserWarning
        )
        return _main(torch_like, init)


def _main(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch_like.nn.functional
    StepLR = torch_like.optim.lr_scheduler.StepLR
    values: list[float] = []
    log: list[str] = []

    def train(args: Any, model: Any, device: Any, train_loader: Any, optimizer: Any, epoch: int):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                log.append(
                    "Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(  # noqa: UP032
                        epoch,
                        batch_idx * len(data),
                        len(train_loader.dataset),
                        100.0 * batch_idx / len(train_loader),
                        loss.item(),
                    )
                )
                values.append(loss.item())
                if args.dry_run:
                    break

    def test(args: Any, model: Any, device: Any, test_loader: Any) -> None:
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
                pred = output.argmax(
                    dim=1, keepdim=True
                )  # get the index of the max log-probability
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)
        values.extend([test_loss, float(correct)])

    # Training settings
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example using RNN")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="input batch size for training (default: 64)")  # fmt: skip
    parser.add_argument("--test-batch-size", type=int, default=1000, metavar="N",
                        help="input batch size for testing (default: 1000)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=14, metavar="N",
                        help="number of epochs to train (default: 14)")  # fmt: skip
    parser.add_argument("--lr", type=float, default=0.1, metavar="LR",
                        help="learning rate (default: 0.1)")  # fmt: skip
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M",
                        help="learning rate step gamma (default: 0.7)")  # fmt: skip
    parser.add_argument("--cuda", action="store_true", default=False,
                        help="enables CUDA training")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", default=False,
                        help="quickly check a single pass")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed (default: 1)")  # fmt: skip
    parser.add_argument("--log-interval", type=int, default=10, metavar="N",
                        help="how many batches to wait before logging training status")  # fmt: skip
    parser.add_argument("--save-model", action="store_true", default=False,
                        help="for Saving the current Model")  # fmt: skip
    args = parser.parse_args(
        ["--batch-size", "8", "--test-batch-size", "10", "--epochs", "2", "--lr", "1.0",
         "--log-interval", "2", "--save-model"]
    )  # fmt: skip

    use_cuda = args.cuda and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")

    kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}
    rng = np.random.default_rng(args.seed)
    labels = np.arange(40) % N_CLASSES
    images = rng.random((40, 1, SIDE, SIDE)) * 0.4
    for i, label in enumerate(labels):
        images[i, 0, 2 * label : 2 * label + 2, :] += 0.6  # a bar whose row is the digit
    images = (images - 0.1307) / 0.3081  # transforms.Normalize((0.1307,), (0.3081,))
    Dataset = torch.utils.data.TensorDataset
    train_loader = torch.utils.data.DataLoader(
        Dataset(as_tensor(torch_like, images[:30]), as_tensor(torch_like, labels[:30])),
        batch_size=args.batch_size,
        shuffle=False,
        **kwargs,
    )
    test_loader = torch.utils.data.DataLoader(
        Dataset(as_tensor(torch_like, images[30:]), as_tensor(torch_like, labels[30:])),
        batch_size=args.test_batch_size,
        shuffle=False,
        **kwargs,
    )

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model = model.to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test(args, model, device, test_loader)
        scheduler.step()

    if args.save_model:
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        buffer.seek(0)
        restored = make_model(torch_like)
        restored.load_state_dict(torch.load(buffer, weights_only=True))
        test(args, restored, device, test_loader)
    values += [float(len(log)), float(len(log[-1])), scheduler.get_last_lr()[0]]
    return values
