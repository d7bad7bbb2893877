"""The ``torch.nn.utils`` toolbox as training scripts and deployment code call it: the examples of
PyTorch's ``torch.nn.utils`` reference pages (``parametrizations``, ``parametrize``,
``clip_grad``, ``convert_parameters``, ``fusion``, ``init.skip_init``, ``stateless``), the
gradient clipping of torchvision's ``references/classification/train.py`` and of HuggingFace's
``Trainer`` (``clip_grad_norm_`` returning the total norm that is logged), the split form that
FSDP2 / torchtitan use since PyTorch 2.6 (``get_total_norm`` over the gradients, then
``clip_grads_with_norm_`` with that norm), and ``torch.ao.quantization.fuse_modules``'s
conv/linear + BatchNorm folding, size-reduced.

The idioms: a small conv net whose ``Conv2d`` is under the new
``torch.nn.utils.parametrizations.weight_norm`` (``parametrizations.weight.original0`` = g,
``original1`` = v), a square hidden ``Linear`` under ``parametrizations.orthogonal`` and the
head under ``parametrizations.spectral_norm`` (its power-iteration vectors ``_u`` / ``_v``
are buffers of ``parametrizations.weight[0]``); training with ``optim.SGD(momentum=0.9)`` where
the step's gradients are clipped by ``clip_grad_norm_(model.parameters(), max_norm=1.0,
norm_type=2.0, error_if_nonfinite=True, foreach=True)`` (the returned norm logged with
``.item()``), by ``get_total_norm(grads, norm_type=..., error_if_nonfinite=False,
foreach=True)`` + ``clip_grads_with_norm_(params, max_norm, total_norm, foreach=True)`` with
``norm_type=2.0`` and ``float("inf")``, and by ``clip_grad_value_(..., clip_value=0.5,
foreach=False)``; a non-finite gradient (``p.grad[0] = float("inf")``) making
``error_if_nonfinite=True`` raise ``RuntimeError``; ``parameters_to_vector`` /
``vector_to_parameters`` to snapshot, perturb and restore every parameter;
``parametrize.is_parametrized`` and ``remove_parametrizations(module, "weight")`` (the default
``leave_parametrized=True`` bakes the weights in; outputs must not change in ``eval()`` mode);
``torch.nn.utils.fuse_conv_bn_eval(model.conv, model.bn)`` and ``fuse_linear_bn_eval(model.fc1,
model.bn1)`` in ``eval()`` (outputs must match the unfused pair), also ``fuse_conv_bn_eval(
deconv, bn, transpose=True)`` for a ``ConvTranspose2d``; ``torch.nn.utils.skip_init(nn.Linear,
8, 3)`` then an explicit init under ``no_grad`` (``weight.copy_``, ``bias.zero_()``); and
``torch.func.functional_call`` on a tied-embedding model (``decoder.weight = encoder.weight``)
with ``tie_weights=True`` / ``strict=True`` (one tied name is enough; a missing name raises
``RuntimeError``), ``tie_weights=False`` (the decoder keeps its own weight), and the deprecated
``torch.nn.utils.stateless.functional_call(module, parameters_and_buffers, args)`` (its
``FutureWarning`` silenced, as code still calling it does).

Changed: images are 2 x 6 x 6 NumPy arrays, widths of 4 / 8, three classes, four steps.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    P = torch_like.nn.utils.parametrizations

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = P.weight_norm(nn.Conv2d(2, 4, 3, padding=1))
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(4 * 3 * 3, 8)
            self.bn1 = nn.BatchNorm1d(8)
            self.hidden = P.orthogonal(nn.Linear(8, 8))
            self.head = P.spectral_norm(nn.Linear(8, 3))

        def features(self, x: Any) -> Any:
            x = self.pool(torch_like.relu(self.bn(self.conv(x))))
            return torch_like.relu(self.bn1(self.fc1(x.flatten(1))))

        def forward(self, x: Any) -> Any:
            return self.head(torch_like.tanh(self.hidden(self.features(x))))

    return Net()


def _tied_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TiedLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Embedding(6, 4)
            self.proj = nn.Linear(4, 4)
            self.decoder = nn.Linear(4, 6, bias=False)
            self.decoder.weight = self.encoder.weight

        def forward(self, idx: Any) -> Any:
            return self.decoder(torch_like.tanh(self.proj(self.encoder(idx))))

    return TiedLM()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    utils = torch_like.nn.utils
    parametrize = torch_like.nn.utils.parametrize
    rng = np.random.default_rng(29)
    values: list[float] = []

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values += [
        float(model.conv.parametrizations.weight.original0.shape[0]),
        float(model.conv.parametrizations.weight.original1.numel()),
        float(parametrize.is_parametrized(model.head, "weight")),
    ]
    w = model.hidden.weight
    values.append((w.T @ w - torch.eye(8)).abs().max().item() < 1e-10)

    x = as_tensor(torch, rng.standard_normal((6, 2, 6, 6)))
    y = as_tensor(torch, rng.integers(0, 3, 6))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    max_norm = 1.0
    for step in range(4):
        model.train()
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        if step == 0:
            total = utils.clip_grad_norm_(
                model.parameters(),
                max_norm=max_norm,
                norm_type=2.0,
                error_if_nonfinite=True,
                foreach=True,
            )
        elif step in (1, 2):
            norm_type = 2.0 if step == 1 else float("inf")
            params = [p for p in model.parameters() if p.grad is not None]
            grads = [p.grad for p in params]
            total = utils.get_total_norm(
                grads, norm_type=norm_type, error_if_nonfinite=False, foreach=True
            )
            utils.clip_grads_with_norm_(params, max_norm, total, foreach=True)
        else:
            utils.clip_grad_value_(model.parameters(), clip_value=0.5, foreach=False)
            total = utils.get_total_norm([p.grad for p in model.parameters()])
        values += [loss.item(), total.item()]
        optimizer.step()

    # a non-finite gradient and error_if_nonfinite
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    model.head.parametrizations.weight.original.grad[0] = float("inf")
    try:
        utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
        values.append(0.0)
    except RuntimeError:
        values.append(1.0)
    norm = utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=False)
    values.append(float(torch.isinf(norm).item()))
    optimizer.zero_grad(set_to_none=True)

    # snapshot / perturb / restore through one flat vector
    vec = utils.parameters_to_vector(model.parameters())
    values += [float(vec.numel()), vec.norm().item()]
    utils.vector_to_parameters(vec * 0.5, model.parameters())
    values.append(utils.parameters_to_vector(model.parameters()).norm().item())
    utils.vector_to_parameters(vec, model.parameters())

    # bake the parametrizations in; eval outputs must not move
    model.eval()
    with torch.no_grad():
        before = model(x)
        for module in (model.conv, model.hidden, model.head):
            parametrize.remove_parametrizations(module, "weight")
        after = model(x)
    values += [
        before.sum().item(),
        float(torch.allclose(before, after)),
        float(parametrize.is_parametrized(model)),
        float(isinstance(model.head.weight, nn.Parameter)),
    ]

    # conv/linear + BatchNorm folding for deployment
    with torch.no_grad():
        fused_conv = utils.fuse_conv_bn_eval(model.conv, model.bn)
        fused_fc = utils.fuse_linear_bn_eval(model.fc1, model.bn1)
        ref = model.bn(model.conv(x))
        got = fused_conv(x)
        values += [fused_conv.weight.sum().item(), fused_conv.bias.sum().item()]
        values.append(float(torch.allclose(ref, got)))
        h = model.pool(torch.relu(ref)).flatten(1)
        values.append(float(torch.allclose(model.bn1(model.fc1(h)), fused_fc(h))))
        values += [fused_fc.weight.sum().item(), fused_fc.bias.sum().item()]
    deconv = nn.ConvTranspose2d(4, 2, 2, stride=2)
    bn_t = nn.BatchNorm2d(2)
    with torch.no_grad():
        deconv.weight.copy_(as_tensor(torch, rng.standard_normal((4, 2, 2, 2))))
        deconv.bias.copy_(as_tensor(torch, rng.standard_normal(2)))
        bn_t.running_mean.copy_(as_tensor(torch, rng.standard_normal(2)))
        bn_t.running_var.copy_(as_tensor(torch, rng.random(2) + 0.5))
        bn_t.weight.copy_(as_tensor(torch, rng.standard_normal(2)))
    deconv.eval()
    bn_t.eval()
    fused_t = utils.fuse_conv_bn_eval(deconv, bn_t, transpose=True)
    z = as_tensor(torch, rng.standard_normal((2, 4, 3, 3)))
    with torch.no_grad():
        values.append(float(torch.allclose(bn_t(deconv(z)), fused_t(z))))
        values.append(fused_t(z).sum().item())

    # skip_init: allocate without the default init, then initialise by hand
    lin = utils.skip_init(nn.Linear, 8, 3)
    values += [float(lin.weight.shape[0]), float(lin.weight.shape[1])]
    with torch.no_grad():
        lin.weight.copy_(as_tensor(torch, rng.standard_normal((3, 8))))
        lin.bias.zero_()
    values.append(lin(model.features(x)).sum().item())

    # functional_call with tied weights
    lm = _tied_model(torch_like)
    with torch.no_grad():
        for _, p in lm.named_parameters():
            p.copy_(as_tensor(torch, rng.standard_normal(tuple(p.shape))))
    idx = as_tensor(torch, rng.integers(0, 6, (3, 5)))
    new_emb = as_tensor(torch, rng.standard_normal((6, 4)), requires_grad=True)
    params = {
        "encoder.weight": new_emb,
        "proj.weight": lm.proj.weight,
        "proj.bias": lm.proj.bias,
    }
    out = torch.func.functional_call(lm, params, (idx,), tie_weights=True, strict=True)
    out.logsumexp(-1).sum().backward()
    values += [out.sum().item(), new_emb.grad.abs().sum().item()]
    try:
        torch.func.functional_call(lm, {"encoder.weight": new_emb}, (idx,), strict=True)
        values.append(0.0)
    except RuntimeError:
        values.append(1.0)
    untied = torch.func.functional_call(
        lm, {"encoder.weight": new_emb.detach()}, (idx,), tie_weights=False
    )
    values.append(untied.sum().item())
    values.append(float(lm.encoder.weight is lm.decoder.weight))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = utils.stateless.functional_call(
            lm, parameters_and_buffers={"encoder.weight": new_emb.detach()}, args=(idx,)
        )
    values.append(old.sum().item())
    return values
