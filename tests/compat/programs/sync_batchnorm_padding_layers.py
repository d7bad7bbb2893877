"""``nn.SyncBatchNorm.convert_sync_batchnorm`` as the distributed training recipes call it
before wrapping a model in DDP (the ImageNet reference ``train.py``: ``if args.sync_bn: model =
torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)``), run in a single process where it
normalises like ``BatchNorm`` (no process group initialised), with the padding and dropout
layers of ``torch.nn`` the programs had not used, each from its reference page:
``nn.CircularPad2d((1, 1, 2, 0))``, ``nn.ReplicationPad3d(1)``, ``nn.ReflectionPad3d((1, 0, 1,
0, 0, 1))``, ``nn.ZeroPad1d(2)``, ``nn.ConstantPad3d(1, 3.5)``, ``nn.Dropout1d(p=0.3)``,
``nn.Dropout3d(p=0.2)``, ``nn.FeatureAlphaDropout(p=0.2)`` (their random masks drawn under
``torch.manual_seed``), ``nn.UpsamplingBilinear2d(scale_factor=2)`` and
``F.interpolate(..., mode="trilinear", align_corners=False)``; the converted model's
``print`` and ``running_mean`` buffers after training.

Changed: a 2D branch on 6x6 images and a 3D branch on 4x4x4 volumes, batch of 3, three SGD
steps in train mode then one eval forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class TwoBranch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.branch2d = nn.Sequential(
                nn.CircularPad2d((1, 1, 2, 0)),
                nn.Conv2d(2, 4, 3),
                nn.BatchNorm2d(4),
                nn.ReLU(),
                nn.UpsamplingBilinear2d(scale_factor=2),
                nn.Dropout2d(0.1),
            )
            self.branch3d = nn.Sequential(
                nn.ReplicationPad3d(1),
                nn.Conv3d(1, 3, 3),
                nn.BatchNorm3d(3),
                nn.ReflectionPad3d((1, 0, 1, 0, 0, 1)),
                nn.ConstantPad3d(1, 3.5),
                nn.Dropout3d(p=0.2),
            )
            self.seq = nn.Sequential(
                nn.ZeroPad1d(2), nn.Conv1d(3, 3, 3), nn.BatchNorm1d(3), nn.Dropout1d(p=0.3)
            )
            self.alpha = nn.Sequential(nn.SELU(), nn.FeatureAlphaDropout(p=0.2))
            self.head = nn.Linear(4 + 3 + 3, 2)

        def forward(self, img: Any, vol: Any, seq: Any) -> Any:
            a = self.branch2d(img).mean((2, 3))
            v = self.branch3d(vol)
            v = torch.nn.functional.interpolate(v, size=(5, 5, 5), mode="trilinear",
                                                align_corners=False)  # fmt: skip
            s = self.seq(seq).mean(-1)
            b = self.alpha(v.mean((3, 4))).mean(-1)
            return self.head(torch.cat([a, b, s], 1))

    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(TwoBranch())


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rng = np.random.default_rng(21)
    torch.manual_seed(7)
    values: list[float] = []
    for step in range(4):
        model.train(step < 3)
        img = as_tensor(torch_like, rng.standard_normal((3, 2, 6, 6)))
        vol = as_tensor(torch_like, rng.standard_normal((3, 1, 4, 4, 4)))
        seq = as_tensor(torch_like, rng.standard_normal((3, 3, 5)))
        y = as_tensor(torch_like, rng.integers(0, 2, 3))
        loss = torch.nn.functional.cross_entropy(model(img, vol, seq), y)
        if model.training:
            opt.zero_grad()
            loss.backward()
            opt.step()
        values.append(loss.item())
    values.append(model.branch2d[2].running_mean.sum().item())
    values.append(model.branch3d[2].running_var.sum().item())
    values.append(float(model.seq[2].num_batches_tracked))
    return values
