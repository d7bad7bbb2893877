"""Gradient attributions as Captum (``attr/_core/integrated_gradients.py``,
``saliency.py``, ``noise_tunnel.py``, ``_utils/approximation_methods.py``, ``_utils/common.py``,
``_utils/gradient.py``) and the original integrated-gradients tutorials write them,
size-reduced:

- ``riemann_builders``: trapezoid step sizes ``[1/(2(n-1))] + [1/(n-1)]*(n-2) +
  [1/(2(n-1))]`` and ``alphas = torch.linspace(0, 1, n)`` (also the left/middle rules);
- ``IntegratedGradients._attribute``: the batch of interpolated inputs ``torch.cat([baseline +
  alpha * (input - baseline) for alpha in alphas], dim=0).requires_grad_()`` (here also built
  in one shot with ``alphas.view(-1, 1, 1, 1, 1)``, ``expand`` and ``reshape``), targets
  repeated with ``expand``; ``compute_gradients``: ``_select_targets`` as
  ``torch.gather(output, 1, target.reshape(len(output), 1))`` and ``torch.autograd.grad(
  torch.unbind(outputs), inputs)``; ``grad.contiguous().view(n_steps, -1) *
  torch.tensor(step_sizes).view(n_steps, 1)``, ``_reshape_and_sum`` (``reshape((n_steps,
  num_examples) + shape[1:]).sum(0)``), ``total_grads * (inputs - baselines)``;
- ``compute_convergence_delta``: ``attributions.view(n, -1).sum(1)`` minus
  ``f(x)[target] - f(baseline)[target]`` (the completeness axiom), shrinking with ``n_steps``;
- the tutorials' ``integrated_gradients(inputs, model, target_label_idx, baseline, steps)``
  (a Python list of ``scaled_inputs``, gradients one at a time, ``avg_grads[:-1]``) and a
  ``torch.func``-free ``torch.autograd.grad`` loop;
- ``Saliency``: ``torch.abs(gradients)`` and the visualisation's channel reduction
  ``.amax(dim=1)``; ``NoiseTunnel(smoothgrad)``: inputs repeated ``nt_samples`` times with
  Gaussian noise of ``stdevs`` added, gradients averaged (``smoothgrad_sq`` squares them).

Changed: the ImageNet model is a small CNN on 2x3x6x6 NumPy images; the noise of SmoothGrad is
drawn by NumPy (``torch.randn_like`` draws differently in each framework; its run is reduced to
a check that it uses the noise it drew).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 4, 3, stride=2), nn.Softplus(),
        nn.Flatten(), nn.Linear(16, 5),
    )  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.eval()
    rng = np.random.default_rng(314)
    inputs = as_tensor(torch, rng.random((2, 3, 6, 6)))
    baselines = torch.zeros_like(inputs)
    target = torch.tensor([1, 3])

    def riemann_builders(method: str, n: int) -> tuple[list, Any]:
        if method == "riemann_trapezoid":
            step_sizes = [1 / (2 * (n - 1))] + [1 / (n - 1)] * (n - 2) + [1 / (2 * (n - 1))]
            alphas = torch.linspace(0, 1, n)
        elif method == "riemann_left":
            step_sizes = [1 / n] * n
            alphas = torch.linspace(0, 1 - 1 / n, n)
        elif method == "riemann_middle":
            step_sizes = [1 / n] * n
            alphas = torch.linspace(1 / (2 * n), 1 - 1 / (2 * n), n)
        else:
            raise AssertionError("Provided Reimann approximation method is not valid.")
        return step_sizes, alphas

    def _select_targets(output: Any, target: Any) -> Any:
        return torch.gather(output, 1, target.reshape(len(output), 1))

    def compute_gradients(forward_fn: Any, inputs: tuple, target_ind: Any) -> tuple:
        with torch.autograd.set_grad_enabled(True):
            outputs = _select_targets(forward_fn(*inputs), target_ind)
            assert outputs[0].numel() == 1, (
                "Target not provided when necessary, cannot"
                " take gradient with respect to multiple outputs."
            )
            grads = torch.autograd.grad(torch.unbind(outputs), inputs)
        return grads

    def _reshape_and_sum(tensor_input: Any, num_steps: int, num_examples: int, layer_size: tuple) -> Any:  # fmt: skip  # noqa: E501
        return tensor_input.reshape((num_steps, num_examples) + tuple(layer_size)).sum(0)

    def ig_attribute(inputs: Any, baselines: Any, target: Any, n_steps: int = 50,
                     method: str = "riemann_trapezoid", one_shot: bool = False) -> Any:  # fmt: skip
        num_examples = inputs.shape[0]
        step_sizes, alphas = riemann_builders(method, n_steps)
        if one_shot:
            diff = (inputs - baselines).unsqueeze(0)
            scaled = baselines.unsqueeze(0) + alphas.view(-1, 1, 1, 1, 1) * diff
            scaled_features = scaled.reshape(-1, *inputs.shape[1:]).requires_grad_()
        else:
            scaled_features = torch.cat(
                [baselines + alpha * (inputs - baselines) for alpha in alphas], dim=0
            ).requires_grad_()
        expanded_target = target.unsqueeze(0).expand(n_steps, num_examples).reshape(-1)
        grads = compute_gradients(model, (scaled_features,), expanded_target)
        scaled_grads = [
            grad.contiguous().view(n_steps, -1)
            * torch.tensor(step_sizes).view(n_steps, 1).to(grad.device)
            for grad in grads
        ]
        total_grads = tuple(
            _reshape_and_sum(scaled_grad, n_steps, num_examples, grad.shape[1:])
            for (scaled_grad, grad) in zip(scaled_grads, grads)
        )
        return total_grads[0] * (inputs - baselines)

    def compute_convergence_delta(attributions: Any, start_point: Any, end_point: Any,
                                  target: Any) -> Any:  # fmt: skip
        with torch.no_grad():
            start_out_sum = _select_targets(model(start_point), target).squeeze(1)
            end_out_sum = _select_targets(model(end_point), target).squeeze(1)
            row_sums = attributions.view(attributions.shape[0], -1).sum(1)
            return row_sums - (end_out_sum - start_out_sum)

    values: list[float] = []
    attributions = ig_attribute(inputs, baselines, target, n_steps=32)
    delta = compute_convergence_delta(attributions, baselines, inputs, target)
    values += [attributions.sum().item(), attributions.abs().sum().item()]
    values += [d.item() for d in delta]
    one_shot = ig_attribute(inputs, baselines, target, n_steps=32, one_shot=True)
    values.append((one_shot - attributions).abs().max().item())
    for method in ("riemann_left", "riemann_middle"):
        attr_m = ig_attribute(inputs, baselines, target, n_steps=16, method=method)
        d_m = compute_convergence_delta(attr_m, baselines, inputs, target)
        values.append(d_m.abs().max().item())
    fine = ig_attribute(inputs, baselines, target, n_steps=128)
    values.append(compute_convergence_delta(fine, baselines, inputs, target).abs().max().item())

    # the tutorials' loop form, one gradient per interpolation point
    def integrated_gradients(inputs: Any, model: Any, target_label_idx: int, baseline: Any,
                             steps: int = 50) -> Any:  # fmt: skip
        scaled_inputs = [baseline + (float(i) / steps) * (inputs - baseline) for i in range(0, steps + 1)]  # fmt: skip  # noqa: E501
        grads = []
        for scaled_input in scaled_inputs:
            scaled_input = scaled_input.clone().detach().requires_grad_(True)
            output = torch.nn.functional.softmax(model(scaled_input), dim=1)
            output = output[:, target_label_idx].sum()
            model.zero_grad()
            output.backward()
            grads.append(scaled_input.grad.detach().numpy())
        grads = np.array(grads)
        avg_grads = np.average(grads[:-1], axis=0)
        delta_x = (inputs - baseline).detach().numpy()
        return delta_x * avg_grads

    ig_loop = integrated_gradients(inputs[:1], model, 2, baselines[:1], steps=20)
    values += [float(ig_loop.sum()), float(np.abs(ig_loop).max())]

    # saliency and SmoothGrad
    def saliency(x: Any, target: Any, abs: bool = True) -> Any:  # noqa: A002
        x = x.clone().requires_grad_()
        (grad,) = compute_gradients(model, (x,), target)
        return torch.abs(grad) if abs else grad

    sal = saliency(inputs, target)
    sal_map = sal.amax(dim=1)
    values += [sal_map.sum().item(), float(sal_map.flatten(1).argmax(1).sum().item())]
    nt_samples, stdevs = 4, 0.1
    noise = as_tensor(torch, rng.standard_normal((nt_samples,) + tuple(inputs.shape))) * stdevs
    noisy = (inputs.unsqueeze(0) + noise).reshape(-1, *inputs.shape[1:])
    expanded_target = target.repeat(nt_samples)
    grads = saliency(noisy, expanded_target, abs=False).view(nt_samples, *inputs.shape)
    smoothgrad = grads.mean(0)
    smoothgrad_sq = (grads**2).mean(0)
    values += [smoothgrad.sum().item(), smoothgrad_sq.sum().item(), smoothgrad.abs().amax(dim=1).sum().item()]  # fmt: skip  # noqa: E501
    torch.manual_seed(0)
    x_noisy = inputs + torch.randn_like(inputs) * stdevs
    g1 = saliency(x_noisy, target, abs=False)
    g2 = saliency(x_noisy.detach().clone(), target, abs=False)
    values.append((g1 - g2).abs().max().item())
    return values


def check(values: list[float]) -> None:
    """Completeness: the trapezoid rule's delta shrinks as the steps grow; both batch builds
    agree; the randn_like run's gradient is that of the noisy input it drew."""
    assert values[4] < 1e-12, values[4]
    assert values[7] < max(abs(values[2]), abs(values[3])), values
    assert values[-1] == 0.0, values[-1]
