"""Post-hoc calibration, as gpleiss/temperature_scaling writes it (``temperature_scaling.py``,
the code behind "On Calibration of Modern Neural Networks"), with the MC-dropout uncertainty
estimate that calibration notebooks put next to it, size-reduced.

The idioms: ``ModelWithTemperature`` wrapping a trained classifier with ``self.temperature =
nn.Parameter(torch.ones(1) * 1.5)``; ``temperature_scale``'s
``self.temperature.unsqueeze(1).expand(logits.size(0), logits.size(1))`` and ``logits /
temperature``; ``set_temperature`` collecting the validation logits under ``torch.no_grad()``
into ``logits_list`` / ``labels_list`` joined by ``torch.cat``, ``nn.CrossEntropyLoss()`` and
``_ECELoss()`` before and after, ``optim.LBFGS([self.temperature], lr=0.01, max_iter=50)``
stepped with an ``eval()`` closure (``optimizer.zero_grad()``, ``loss.backward()``, ``return
loss``), and its ``print('Optimal temperature: %.3f' % self.temperature.item())`` /
``'Before temperature - NLL: %.3f, ECE: %.3f'`` reports; ``_ECELoss`` with ``bin_boundaries =
torch.linspace(0, 1, n_bins + 1)``, ``self.bin_lowers = bin_boundaries[:-1]``, ``confidences,
predictions = torch.max(softmaxes, 1)``, ``accuracies = predictions.eq(labels)``, ``ece =
torch.zeros(1, device=logits.device)``, the bin loop ``for bin_lower, bin_upper in
zip(self.bin_lowers, self.bin_uppers)`` with ``in_bin = confidences.gt(bin_lower.item()) *
confidences.le(bin_upper.item())`` (a product of bool tensors), ``prop_in_bin =
in_bin.float().mean()``, ``if prop_in_bin.item() > 0:``, ``accuracies[in_bin].float().mean()``
and ``ece += torch.abs(avg_confidence_in_bin - accuracy_in_bin) * prop_in_bin``.

MC dropout: ``enable_dropout`` (``for m in model.modules(): if
m.__class__.__name__.startswith('Dropout'): m.train()`` after ``model.eval()``), ``T`` stochastic
passes ``torch.stack([F.softmax(model(x), dim=1) for _ in range(T)]).mean(0)``, the predictive
entropy ``-(p * p.log()).sum(1)``, the expected entropy and the mutual information (BALD). The
dropout masks come from each library's own generator, so what is compared for them is what
holds for every draw (probabilities summing to one, entropies in ``[0, log C]``, mutual
information non-negative, ``torch.manual_seed`` reproducing a pass); the same estimators are
compared number for number over a deterministic ensemble (the model at several temperatures).
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN_DIM, HIDDEN, CLASSES, N_VALID, BATCH, N_BINS, MC_T = 5, 16, 4, 60, 20, 15, 8


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(IN_DIM, HIDDEN)
            self.dropout = nn.Dropout(p=0.3)
            self.fc2 = nn.Linear(HIDDEN, CLASSES)

        def forward(self, x: Any) -> Any:
            return self.fc2(self.dropout(nn.functional.relu(self.fc1(x))))

    return Net()


def make_wrappers(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    optim = torch_like.optim

    class ModelWithTemperature(nn.Module):
        """A thin decorator, which wraps a model with temperature scaling"""

        def __init__(self, model: Any) -> None:
            super(ModelWithTemperature, self).__init__()  # noqa: UP008 (as in the repository)
            self.model = model
            self.temperature = nn.Parameter(torch.ones(1) * 1.5)

        def forward(self, input: Any) -> Any:
            logits = self.model(input)
            return self.temperature_scale(logits)

        def temperature_scale(self, logits: Any) -> Any:
            """Perform temperature scaling on logits"""
            # Expand temperature to match the size of logits
            temperature = self.temperature.unsqueeze(1).expand(logits.size(0), logits.size(1))
            return logits / temperature

        # This function probably should live outside of this class, but whatever
        def set_temperature(self, valid_loader: Any) -> Any:
            nll_criterion = nn.CrossEntropyLoss()
            ece_criterion = _ECELoss()
            # First: collect all the logits and labels for the validation set
            logits_list = []
            labels_list = []
            with torch.no_grad():
                for input, label in valid_loader:
                    logits = self.model(input)
                    logits_list.append(logits)
                    labels_list.append(label)
                logits = torch.cat(logits_list)
                labels = torch.cat(labels_list)
            # Calculate NLL and ECE before temperature scaling
            before_temperature_nll = nll_criterion(logits, labels).item()
            before_temperature_ece = ece_criterion(logits, labels).item()
            print(
                "Before temperature - NLL: %.3f, ECE: %.3f"  # noqa: UP031
                % (before_temperature_nll, before_temperature_ece)
            )
            # Next: optimize the temperature w.r.t. NLL
            optimizer = optim.LBFGS([self.temperature], lr=0.01, max_iter=50)

            def eval() -> Any:
                optimizer.zero_grad()
                loss = nll_criterion(self.temperature_scale(logits), labels)
                loss.backward()
                return loss

            optimizer.step(eval)
            # Calculate NLL and ECE after temperature scaling
            after_temperature_nll = nll_criterion(self.temperature_scale(logits), labels).item()
            after_temperature_ece = ece_criterion(self.temperature_scale(logits), labels).item()
            print("Optimal temperature: %.3f" % self.temperature.item())  # noqa: UP031
            print(
                "After temperature - NLL: %.3f, ECE: %.3f"  # noqa: UP031
                % (after_temperature_nll, after_temperature_ece)
            )
            self.report = [
                before_temperature_nll,
                before_temperature_ece,
                after_temperature_nll,
                after_temperature_ece,
            ]
            return self

    class _ECELoss(nn.Module):
        """Calculates the Expected Calibration Error of a model."""

        def __init__(self, n_bins: int = N_BINS) -> None:
            """n_bins (int): number of confidence interval bins"""
            super(_ECELoss, self).__init__()  # noqa: UP008
            bin_boundaries = torch.linspace(0, 1, n_bins + 1)
            self.bin_lowers = bin_boundaries[:-1]
            self.bin_uppers = bin_boundaries[1:]

        def forward(self, logits: Any, labels: Any) -> Any:
            softmaxes = F.softmax(logits, dim=1)
            confidences, predictions = torch.max(softmaxes, 1)
            accuracies = predictions.eq(labels)
            ece = torch.zeros(1, device=logits.device)
            for bin_lower, bin_upper in zip(self.bin_lowers, self.bin_uppers):
                # Calculated |confidence - accuracy| in each bin
                in_bin = confidences.gt(bin_lower.item()) * confidences.le(bin_upper.item())
                prop_in_bin = in_bin.float().mean()
                if prop_in_bin.item() > 0:
                    accuracy_in_bin = accuracies[in_bin].float().mean()
                    avg_confidence_in_bin = confidences[in_bin].mean()
                    ece += torch.abs(avg_confidence_in_bin - accuracy_in_bin) * prop_in_bin
            return ece

    return ModelWithTemperature, _ECELoss


def enable_dropout(model: Any) -> None:
    """Function to enable the dropout layers during test-time"""
    for m in model.modules():
        if m.__class__.__name__.startswith("Dropout"):
            m.train()


def uncertainty(torch_like: Any, probs: Any) -> list[float]:
    """Predictive entropy, expected entropy and mutual information of stacked predictions."""
    mean = probs.mean(0)
    predictive_entropy = -(mean * mean.log()).sum(1)
    expected_entropy = -(probs * probs.log()).sum(2).mean(0)
    mutual_info = predictive_entropy - expected_entropy
    return [predictive_entropy, expected_entropy, mutual_info]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    ModelWithTemperature, _ECELoss = make_wrappers(torch_like)

    # an over-confident classifier: a few large steps on noisy labels
    centers = rng.standard_normal((CLASSES, IN_DIM)) * 1.5
    labels_np = rng.integers(0, CLASSES, 2 * N_VALID)
    x_np = centers[labels_np] + rng.standard_normal((2 * N_VALID, IN_DIM))
    x_all, y_all = as_tensor(torch_like, x_np), as_tensor(torch_like, labels_np)
    with torch.no_grad():
        model.fc2.weight.mul_(8.0)
    model.eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(5):
        loss = F.cross_entropy(model(x_all[:N_VALID]), y_all[:N_VALID])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    values = [loss.item()]

    valid_loader = [
        (x_all[i : i + BATCH], y_all[i : i + BATCH]) for i in range(N_VALID, 2 * N_VALID, BATCH)
    ]
    scaled_model = ModelWithTemperature(model)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        scaled_model.set_temperature(valid_loader)
    lines = out.getvalue().splitlines()
    values += scaled_model.report + [scaled_model.temperature.item(), float(len(lines))]
    values += [float(s) for s in lines[1].split(": ")[1:]]  # 'Optimal temperature: %.3f'
    values += [float(s.split(",")[0]) for s in lines[2].split(": ")[1:]]
    with torch.no_grad():
        scaled = scaled_model(x_all[N_VALID:])
    ece = _ECELoss()(scaled, y_all[N_VALID:])
    values += [ece.item(), float(ece.shape == (1,)), scaled.sum().item()]

    # a deterministic "ensemble": the model at several temperatures
    with torch.no_grad():
        logits = model(x_all[N_VALID:])
        probs = torch.stack([F.softmax(logits / t, dim=1) for t in (0.8, 1.0, 1.6, 2.5)])
    for u in uncertainty(torch_like, probs):
        values += [u.sum().item(), u.max().item()]

    # MC dropout: facts that hold for every dropout draw
    model.eval()
    enable_dropout(model)
    x = x_all[N_VALID:]
    with torch.no_grad():
        torch.manual_seed(3)
        first = F.softmax(model(x), dim=1)
        torch.manual_seed(3)
        again = F.softmax(model(x), dim=1)
        mc = torch.stack([F.softmax(model(x), dim=1) for _ in range(MC_T)])
    predictive_entropy, expected_entropy, mutual_info = uncertainty(torch_like, mc)
    values += [
        float(torch.equal(first, again)),
        float(model.training),
        float(model.dropout.training),
    ]
    values += [float(torch.allclose(mc.mean(0).sum(1), torch.ones(N_VALID)))]
    values += [float(bool((predictive_entropy <= math.log(CLASSES) + 1e-12).all()))]
    values += [
        float(bool((mutual_info >= -1e-12).all())),
        float(bool((expected_entropy >= 0).all())),
    ]
    values += [
        float(not torch.equal(mc[0], mc[1])),
        float(tuple(mc.shape) == (MC_T, N_VALID, CLASSES)),
    ]
    return values
