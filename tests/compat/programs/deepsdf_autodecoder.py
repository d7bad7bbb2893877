"""DeepSDF (Park et al., 2019) as facebookresearch/DeepSDF writes it (``networks/
deep_sdf_decoder.py``'s ``Decoder``, ``train_deep_sdf.py``'s auto-decoder loop and
``StepLearningRateSchedule``, ``reconstruct.py``'s latent optimisation), size-reduced.

The idioms: the decoder built with ``setattr(self, "lin" + str(layer), nn.utils.weight_norm(
nn.Linear(dims[layer], out_dim)))`` (the deprecated ``weight_norm``) and read back by
``getattr``, the latent skip ``torch.cat([x, input], 1)`` at ``latent_in`` layers (whose
``out_dim = dims[layer + 1] - dims[0]``), ``xyz = input[:, -3:]``, ``F.dropout(x,
p=self.dropout_prob, training=self.training)``, the final ``self.th = nn.Tanh()`` applied when
``hasattr(self, "th")``; the latent codes ``torch.nn.Embedding(num_scenes, latent_size,
max_norm=code_bound)`` (renormalised in place on every lookup) initialised with ``torch.nn.
init.normal_(lat_vecs.weight.data, 0.0, 1.0 / math.sqrt(latent_size))``; ``torch.nn.
DataParallel(decoder)``; ``torch.optim.Adam`` over two param groups (decoder, codes) whose
``param_group["lr"]`` ``adjust_learning_rate`` rewrites each epoch from
``StepLearningRateSchedule``; the step (``sdf_data.reshape(-1, 4)``, ``sdf_data.requires_grad =
False``, ``torch.clamp(sdf_gt, minT, maxT)``, ``torch.chunk(indices.unsqueeze(-1).repeat(1,
num_samp_per_scene).view(-1), batch_split)``, per-chunk ``chunk_loss.backward()`` accumulating
``batch_loss += chunk_loss.item()``, ``torch.nn.L1Loss(reduction="sum")`` over
``num_sdf_samples``, the code regulariser ``torch.sum(torch.norm(batch_vecs, dim=1))`` scaled
by ``min(1, epoch / 100)``, ``clip_grad_norm_(decoder.parameters(), grad_clip)``); and
``reconstruct`` (``torch.ones(1, latent_size).normal_(mean=0, std=stat)``, ``latent.
requires_grad = True``, ``latent.expand(num_samples, -1)``, the repeated first ``decoder(inputs)``,
``loss += 1e-4 * torch.mean(latent.pow(2))``, ``loss.cpu().data.numpy()``).

Changed: ShapeNet SDF samples -> NumPy-sampled spheres and ellipsoids (SDF approximated by
``|p| - r`` for the spheres), latent 256 -> 4, 8 layers of 512 -> 4 of 10 with
``latent_in=[2]`` and ``norm_layers`` on all of them, 16384 samples per scene -> 12, 2000
epochs -> 4 of 3 scenes in one batch, ``batch_split`` 1 -> 2; ``.cuda()`` dropped;
reconstruction 800 iterations -> 6.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

LATENT, SCENES, SAMPLES, EPOCHS, CLAMP, CODE_BOUND = 4, 3, 12, 4, 0.1, 1.0


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional

    class Decoder(nn.Module):
        def __init__(self, latent_size, dims, dropout=None, dropout_prob=0.0, norm_layers=(),  # noqa: ANN001
                     latent_in=(), weight_norm=False, xyz_in_all=None, use_tanh=False,
                     latent_dropout=False):  # fmt: skip
            super(Decoder, self).__init__()  # noqa: UP008 (as in the repository)

            dims = [latent_size + 3] + dims + [1]

            self.num_layers = len(dims)
            self.norm_layers = norm_layers
            self.latent_in = latent_in
            self.latent_dropout = latent_dropout
            if self.latent_dropout:
                self.lat_dp = nn.Dropout(0.2)

            self.xyz_in_all = xyz_in_all
            self.weight_norm = weight_norm

            for layer in range(0, self.num_layers - 1):
                if layer + 1 in latent_in:
                    out_dim = dims[layer + 1] - dims[0]
                else:
                    out_dim = dims[layer + 1]
                    if self.xyz_in_all and layer != self.num_layers - 2:
                        out_dim -= 3

                if weight_norm and layer in self.norm_layers:
                    setattr(
                        self,
                        "lin" + str(layer),
                        nn.utils.weight_norm(nn.Linear(dims[layer], out_dim)),
                    )
                else:
                    setattr(self, "lin" + str(layer), nn.Linear(dims[layer], out_dim))

                if (not weight_norm) and self.norm_layers is not None and layer in self.norm_layers:
                    setattr(self, "bn" + str(layer), nn.LayerNorm(out_dim))

            self.use_tanh = use_tanh
            if use_tanh:
                self.tanh = nn.Tanh()
            self.relu = nn.ReLU()

            self.dropout_prob = dropout_prob
            self.dropout = dropout
            self.th = nn.Tanh()

        # input: N x (L+3)
        def forward(self, input):  # noqa: ANN001, ANN202, A002
            xyz = input[:, -3:]

            if input.shape[1] > 3 and self.latent_dropout:
                latent_vecs = input[:, :-3]
                latent_vecs = F.dropout(latent_vecs, p=0.2, training=self.training)
                x = torch.cat([latent_vecs, xyz], 1)
            else:
                x = input

            for layer in range(0, self.num_layers - 1):
                lin = getattr(self, "lin" + str(layer))
                if layer in self.latent_in:
                    x = torch.cat([x, input], 1)
                elif layer != 0 and self.xyz_in_all:
                    x = torch.cat([x, xyz], 1)
                x = lin(x)
                # last layer Tanh
                if layer == self.num_layers - 2 and self.use_tanh:
                    x = self.tanh(x)
                if layer < self.num_layers - 2:
                    if (
                        self.norm_layers is not None
                        and layer in self.norm_layers
                        and not self.weight_norm
                    ):
                        bn = getattr(self, "bn" + str(layer))
                        x = bn(x)
                    x = self.relu(x)
                    if self.dropout is not None and layer in self.dropout:
                        x = F.dropout(x, p=self.dropout_prob, training=self.training)

            if hasattr(self, "th"):
                x = self.th(x)

            return x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # weight_norm's deprecation
        decoder = Decoder(LATENT, [10, 10, 10, 10], dropout=[0, 1, 2, 3], dropout_prob=0.0,
                          norm_layers=[0, 1, 2, 3], latent_in=[2], weight_norm=True,
                          xyz_in_all=False, use_tanh=False, latent_dropout=False)  # fmt: skip
    lat_vecs = torch.nn.Embedding(SCENES, LATENT, max_norm=CODE_BOUND)
    torch.nn.init.normal_(lat_vecs.weight.data, 0.0, 1.0 / math.sqrt(LATENT))
    return nn.ModuleDict({"decoder": decoder, "lat_vecs": lat_vecs})


class StepLearningRateSchedule:
    def __init__(self, initial: float, interval: int, factor: float) -> None:
        self.initial = initial
        self.interval = interval
        self.factor = factor

    def get_learning_rate(self, epoch: int) -> float:
        return self.initial * (self.factor ** (epoch // self.interval))


def _scene_samples(rng: np.random.Generator, radius: float, n: int) -> np.ndarray:
    xyz = rng.uniform(-1.0, 1.0, (n, 3))
    sdf = np.linalg.norm(xyz, axis=1, keepdims=True) - radius
    return np.concatenate([xyz, sdf], axis=1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    modules = make_model(torch_like)
    # a checkpoint of the lat_vecs larger than code_bound: the first lookups renormalise them
    init = dict(init)
    init["lat_vecs.weight"] = init["lat_vecs.weight"] * 3.0
    load_numpy_state(torch_like, modules, init)
    decoder = torch.nn.DataParallel(modules["decoder"])
    lat_vecs = modules["lat_vecs"]
    rng = np.random.default_rng(9)
    radii = [0.3, 0.5, 0.7]
    minT, maxT = -CLAMP, CLAMP  # noqa: N806
    batch_split, grad_clip, code_reg_lambda = 2, 1.0, 1e-4
    lr_schedules = [StepLearningRateSchedule(0.005, 2, 0.5), StepLearningRateSchedule(0.01, 2, 0.5)]

    def adjust_learning_rate(lr_schedules, optimizer, epoch):  # noqa: ANN001, ANN202
        for i, param_group in enumerate(optimizer.param_groups):
            param_group["lr"] = lr_schedules[i].get_learning_rate(epoch)

    optimizer_all = torch.optim.Adam(
        [
            {"params": decoder.parameters(), "lr": lr_schedules[0].get_learning_rate(0)},
            {"params": lat_vecs.parameters(), "lr": lr_schedules[1].get_learning_rate(0)},
        ]
    )
    values: list[float] = []
    for epoch in range(1, EPOCHS + 1):
        decoder.train()
        adjust_learning_rate(lr_schedules, optimizer_all, epoch)
        sdf_data = torch.from_numpy(np.stack([_scene_samples(rng, r, SAMPLES) for r in radii]))
        indices = torch.from_numpy(rng.permutation(SCENES))
        sdf_data = sdf_data[indices]
        # Process the input data
        sdf_data = sdf_data.reshape(-1, 4)
        num_sdf_samples = sdf_data.shape[0]
        sdf_data.requires_grad = False
        xyz = sdf_data[:, 0:3]
        sdf_gt = sdf_data[:, 3].unsqueeze(1)
        sdf_gt = torch.clamp(sdf_gt, minT, maxT)
        xyz = torch.chunk(xyz, batch_split)
        indices = torch.chunk(
            indices.unsqueeze(-1).repeat(1, SAMPLES).view(-1),
            batch_split,
        )
        sdf_gt = torch.chunk(sdf_gt, batch_split)
        batch_loss = 0.0
        optimizer_all.zero_grad()
        loss_l1 = torch.nn.L1Loss(reduction="sum")
        for i in range(batch_split):
            batch_vecs = lat_vecs(indices[i])
            input = torch.cat([batch_vecs, xyz[i]], dim=1)  # noqa: A001
            # NN optimization
            pred_sdf = decoder(input)
            pred_sdf = torch.clamp(pred_sdf, minT, maxT)
            chunk_loss = loss_l1(pred_sdf, sdf_gt[i]) / num_sdf_samples
            l2_size_loss = torch.sum(torch.norm(batch_vecs, dim=1))
            reg_loss = (code_reg_lambda * min(1, epoch / 100) * l2_size_loss) / num_sdf_samples
            chunk_loss = chunk_loss + reg_loss
            chunk_loss.backward()
            batch_loss += chunk_loss.item()
        torch.nn.utils.clip_grad_norm_(decoder.parameters(), grad_clip)
        optimizer_all.step()
        values.append(batch_loss)
        values.append(torch.norm(lat_vecs.weight.data, dim=1).max().item())

    # reconstruct.py: a new shape's code, decoder frozen in eval mode
    def reconstruct(decoder, num_iterations, latent_size, test_sdf, stat, clamp_dist,  # noqa: ANN001, ANN202
                    num_samples=30000, lr=5e-4, l2reg=False):  # fmt: skip
        def adjust_learning_rate(initial_lr, optimizer, num_iterations, decreased_by,  # noqa: ANN001, ANN202
                                 adjust_lr_every):  # fmt: skip
            lr = initial_lr * ((1 / decreased_by) ** (num_iterations // adjust_lr_every))
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr

        decreased_by = 10
        adjust_lr_every = int(num_iterations / 2)
        if type(stat) == float:  # noqa: E721
            latent = torch.ones(1, latent_size).normal_(mean=0, std=stat)
        else:
            latent = torch.normal(stat[0].detach(), stat[1].detach())
        latent.requires_grad = True
        optimizer = torch.optim.Adam([latent], lr=lr)
        loss_num = 0
        loss_l1 = torch.nn.L1Loss()
        for e in range(num_iterations):
            decoder.eval()
            sdf_data = torch.from_numpy(test_sdf[rng.permutation(len(test_sdf))[:num_samples]])
            xyz = sdf_data[:, 0:3]
            sdf_gt = sdf_data[:, 3].unsqueeze(1)
            sdf_gt = torch.clamp(sdf_gt, -clamp_dist, clamp_dist)
            adjust_learning_rate(lr, optimizer, e, decreased_by, adjust_lr_every)
            optimizer.zero_grad()
            latent_inputs = latent.expand(num_samples, -1)
            inputs = torch.cat([latent_inputs, xyz], 1)
            pred_sdf = decoder(inputs)
            # TODO: why is this needed?
            if e == 0:
                pred_sdf = decoder(inputs)
            pred_sdf = torch.clamp(pred_sdf, -clamp_dist, clamp_dist)
            loss = loss_l1(pred_sdf, sdf_gt)
            if l2reg:
                loss += 1e-4 * torch.mean(latent.pow(2))
            loss.backward()
            optimizer.step()
            loss_num = loss.cpu().data.numpy()
            values.append(float(loss_num))
        return loss_num, latent

    torch.manual_seed(7)
    test_sdf = _scene_samples(rng, 0.4, 40)
    err, latent = reconstruct(decoder, 6, LATENT, test_sdf, 0.01, CLAMP, num_samples=16,
                              lr=5e-2, l2reg=True)  # fmt: skip
    values.extend(latent.detach().flatten().tolist())
    return values
