"""A pure-PyTorch multiresolution hash encoding (Müller et al. 2022, Instant-NGP) as
yashbhalgat/HashNeRF-pytorch's ``hash_encoding.py`` / ``utils.py`` and the pure-PyTorch fallbacks of
torch-ngp-style repos write it, feeding a tiny MLP that fits a 3-d function, size-reduced.

The idioms: ``BOX_OFFSETS = torch.tensor([[[i, j, k] for i in [0, 1] for j in [0, 1] for k in [0,
1]]])``; ``hash(coords, log2_hashmap_size)`` with the primes list ``[1, 2654435761, 805459861,
...]``, ``xor_result = torch.zeros_like(coords)[..., 0]`` and ``xor_result ^= coords[..., i] *
primes[i]`` on int64 coordinates (and on int32 ones, where the primes and products wrap), then
``torch.tensor((1 << log2) - 1) & xor_result`` (the paper's ``% T``, also computed and compared);
``get_voxel_vertices`` (the ``keep_mask = xyz == torch.max(torch.min(xyz, box_max), box_min)`` test,
``torch.clamp(xyz, min=box_min, max=box_max)`` with tensor bounds, ``grid_size = (box_max - box_min)
/ resolution``, ``torch.floor(...).int()``, ``bottom_left_idx.unsqueeze(1) + BOX_OFFSETS``);
``HashEmbedder`` with torch-ngp's per-level growth ``per_level_scale = np.exp2(np.log2(finest /
base) / (n_levels - 1))`` and ``int(np.ceil(base * scale**i))`` (HashNeRF's float32 tensor form
``torch.floor(base_resolution * b**i)`` can give ``finest - 1`` at the last level when ``b`` is one
ulp low, which decides the grid: torch's float32 ``exp`` and NumPy's differ by an ulp there), an
``nn.ModuleList`` of ``nn.Embedding(2**log2_hashmap_size, F)`` tables with ``nn.init.uniform_(...,
a=-0.0001, b=0.0001)``; Instant-NGP's dense indexing of a coarse level whose vertices fit in the
table (``x + y * stride + z * stride ** 2``, a ``nn.Parameter`` table indexed directly); the
hand-written ``trilinear_interp`` (``c00 = voxel_embedds[:, 0] * (1 - weights[:, 0][:, None]) +
voxel_embedds[:, 4] * weights[:, 0][:, None]`` ...); ``torch.cat(x_embedded_all, dim=-1)``; the
small ReLU MLP and ``torch.optim.Adam(..., betas=(0.9, 0.99), eps=1e-15)`` with separate groups for
the tables and the MLP (weight decay on the MLP only, as HashNeRF's ``run_nerf.py``). Hash
collisions make ``nn.Embedding``'s backward add several gradients into one row.

Changed: 4 levels of 2 features, tables of 2**7 rows, resolutions 2 -> 12, 48 points fitted to
``sin(3x) cos(2y) + z**2`` for a few steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-6
N_LEVELS, N_FEATURES, LOG2_T, BASE_RES, FINEST_RES = 4, 2, 7, 2, 12
N_POINTS, STEPS = 48, 8


def _classes(torch_like: Any) -> tuple[Any, Any]:
    torch, nn = torch_like, torch_like.nn

    BOX_OFFSETS = torch.tensor([[[i, j, k] for i in [0, 1] for j in [0, 1] for k in [0, 1]]])

    def hash(coords: Any, log2_hashmap_size: int) -> Any:  # noqa: A001 (as in the repo)
        """coords: this function can process upto 7 dim coordinates; log2T: logarithm of T
        w.r.t 2"""
        primes = [1, 2654435761, 805459861, 3674653429, 2097192037, 1434869437, 2165219737]
        xor_result = torch.zeros_like(coords)[..., 0]
        for i in range(coords.shape[-1]):
            xor_result ^= coords[..., i] * primes[i]
        return torch.tensor((1 << log2_hashmap_size) - 1).to(xor_result.device) & xor_result

    def get_voxel_vertices(
        xyz: Any, bounding_box: Any, resolution: Any, log2_hashmap_size: int
    ) -> tuple[Any, Any, Any, Any, Any]:
        box_min, box_max = bounding_box
        keep_mask = xyz == torch.max(torch.min(xyz, box_max), box_min)
        if not torch.all(xyz <= box_max) or not torch.all(xyz >= box_min):
            xyz = torch.clamp(xyz, min=box_min, max=box_max)
        grid_size = (box_max - box_min) / resolution
        bottom_left_idx = torch.floor((xyz - box_min) / grid_size).int()
        voxel_min_vertex = bottom_left_idx * grid_size + box_min
        voxel_max_vertex = voxel_min_vertex + torch.tensor([1.0, 1.0, 1.0]) * grid_size
        voxel_indices = bottom_left_idx.unsqueeze(1) + BOX_OFFSETS  # int32 + int64: int64
        hashed_voxel_indices = hash(voxel_indices, log2_hashmap_size)
        return voxel_min_vertex, voxel_max_vertex, voxel_indices, hashed_voxel_indices, keep_mask

    class HashEmbedder(nn.Module):
        def __init__(
            self,
            bounding_box: Any,
            n_levels: int = 16,
            n_features_per_level: int = 2,
            log2_hashmap_size: int = 19,
            base_resolution: int = 16,
            finest_resolution: int = 512,
        ) -> None:
            super().__init__()
            self.bounding_box = bounding_box
            self.n_levels = n_levels
            self.n_features_per_level = n_features_per_level
            self.log2_hashmap_size = log2_hashmap_size
            self.base_resolution = base_resolution
            self.finest_resolution = finest_resolution
            self.out_dim = self.n_levels * self.n_features_per_level

            # torch-ngp's per-level scale in Python floats (HashNeRF's float32 tensor form
            # floor(base * b**i) can land on finest - 1 at the last level, by one ulp of b)
            self.b = np.exp2(np.log2(finest_resolution / base_resolution) / (n_levels - 1))
            # the coarsest level is dense: its vertices fit in a table (a point on the far face
            # of the box has its corner cell at res, so the vertices run to res + 1)
            self.dense = nn.Parameter(torch.empty((base_resolution + 2) ** 3, n_features_per_level))
            self.embeddings = nn.ModuleList(
                [
                    nn.Embedding(2**self.log2_hashmap_size, self.n_features_per_level)
                    for i in range(1, n_levels)
                ]
            )
            nn.init.uniform_(self.dense, a=-0.0001, b=0.0001)
            for i in range(n_levels - 1):
                nn.init.uniform_(self.embeddings[i].weight, a=-0.0001, b=0.0001)

        def trilinear_interp(
            self, x: Any, voxel_min_vertex: Any, voxel_max_vertex: Any, voxel_embedds: Any
        ) -> Any:
            # source: https://en.wikipedia.org/wiki/Trilinear_interpolation
            weights = (x - voxel_min_vertex) / (voxel_max_vertex - voxel_min_vertex)  # B x 3
            # step 1
            c00 = (
                voxel_embedds[:, 0] * (1 - weights[:, 0][:, None])
                + voxel_embedds[:, 4] * weights[:, 0][:, None]
            )
            c01 = (
                voxel_embedds[:, 1] * (1 - weights[:, 0][:, None])
                + voxel_embedds[:, 5] * weights[:, 0][:, None]
            )
            c10 = (
                voxel_embedds[:, 2] * (1 - weights[:, 0][:, None])
                + voxel_embedds[:, 6] * weights[:, 0][:, None]
            )
            c11 = (
                voxel_embedds[:, 3] * (1 - weights[:, 0][:, None])
                + voxel_embedds[:, 7] * weights[:, 0][:, None]
            )
            # step 2
            c0 = c00 * (1 - weights[:, 1][:, None]) + c10 * weights[:, 1][:, None]
            c1 = c01 * (1 - weights[:, 1][:, None]) + c11 * weights[:, 1][:, None]
            # step 3
            c = c0 * (1 - weights[:, 2][:, None]) + c1 * weights[:, 2][:, None]
            return c

        def forward(self, x: Any) -> tuple[Any, Any]:
            # x is 3D point position: B x 3
            x_embedded_all = []
            for i in range(self.n_levels):
                resolution = int(np.ceil(self.base_resolution * self.b**i))
                vmin, vmax, voxel_indices, hashed_voxel_indices, keep_mask = get_voxel_vertices(
                    x, self.bounding_box, resolution, self.log2_hashmap_size
                )
                if i == 0:
                    stride = resolution + 2
                    dense_idx = (
                        voxel_indices[..., 0]
                        + voxel_indices[..., 1] * stride
                        + voxel_indices[..., 2] * stride**2
                    )
                    voxel_embedds = self.dense[dense_idx]
                else:
                    voxel_embedds = self.embeddings[i - 1](hashed_voxel_indices)
                x_embedded = self.trilinear_interp(x, vmin, vmax, voxel_embedds)
                x_embedded_all.append(x_embedded)

            keep_mask = keep_mask.sum(dim=-1) == keep_mask.shape[-1]
            return torch.cat(x_embedded_all, dim=-1), keep_mask

    class NGPField(nn.Module):
        def __init__(self, bounding_box: Any, hidden: int = 16) -> None:
            super().__init__()
            self.encoder = HashEmbedder(
                bounding_box,
                n_levels=N_LEVELS,
                n_features_per_level=N_FEATURES,
                log2_hashmap_size=LOG2_T,
                base_resolution=BASE_RES,
                finest_resolution=FINEST_RES,
            )
            self.mlp = nn.Sequential(
                nn.Linear(self.encoder.out_dim, hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, 1),
            )

        def forward(self, x: Any) -> tuple[Any, Any]:
            h, keep = self.encoder(x)
            return self.mlp(h).squeeze(-1), keep

    return NGPField, hash


def _bounding_box(torch_like: Any) -> tuple[Any, Any]:
    return (torch_like.tensor([-1.0, -1.0, -1.0]), torch_like.tensor([1.0, 1.0, 1.0]))


def make_model(torch_like: Any) -> Any:
    NGPField, _ = _classes(torch_like)
    return NGPField(_bounding_box(torch_like))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    NGPField, hash_fn = _classes(torch_like)
    model = NGPField(_bounding_box(torch_like))
    load_numpy_state(torch_like, model, init)

    rng = np.random.default_rng(0)
    pts = rng.uniform(-1.0, 1.0, (N_POINTS, 3)).astype(np.float32)
    pts[:3] = [[1.0, 1.0, 1.0], [-1.0, 0.5, 1.0], [1.2, -1.3, 0.0]]  # corners, one outside
    x = as_tensor(torch, pts)
    target = torch.sin(3 * x[:, 0]) * torch.cos(2 * x[:, 1]) + x[:, 2] ** 2

    values: list[float] = []
    # the hash itself: XOR of coordinate * prime, masked; equals the paper's % T
    coords = torch.tensor([[0, 0, 0], [1, 2, 3], [11, 7, 12], [5, 12, 9]])
    h = hash_fn(coords, LOG2_T)
    primes = torch.tensor([1, 2654435761, 805459861])
    xor = torch.bitwise_xor(torch.bitwise_xor(coords[:, 0] * primes[0], coords[:, 1] * primes[1]),
                            coords[:, 2] * primes[2])  # fmt: skip
    values += h.tolist() + (xor % (2**LOG2_T)).tolist()
    values.append(float(h.dtype == torch.int64 and bool((h == xor % 2**LOG2_T).all())))
    # int32 coordinates (``.int()`` without the int64 offsets): each prime wraps into int32
    # and every product wraps, as C's int arithmetic does
    h32 = hash_fn(coords.int(), LOG2_T)
    values += h32.tolist() + (coords.int()[:, 1] * 2654435761).tolist()
    values.append(float(h32.dtype == torch.int32))

    grid_params = list(model.encoder.parameters())
    optimizer = torch.optim.Adam(
        [
            {"params": grid_params, "weight_decay": 0.0},
            {"params": model.mlp.parameters(), "weight_decay": 1e-6},
        ],
        lr=1e-2,
        betas=(0.9, 0.99),
        eps=1e-15,
    )
    for _ in range(STEPS):
        optimizer.zero_grad()
        pred, keep = model(x)
        loss = F.mse_loss(pred[keep], target[keep])
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    values.append(float(keep.sum()))
    values.append(float(keep.dtype == torch.bool))

    # collisions: several points' vertices land on one row of a fine table, their grads add
    emb = model.encoder.embeddings[-1]
    values += emb.weight.grad.abs().sum(dim=1).topk(4).values.tolist()
    values.append(float((emb.weight.grad.abs().sum(dim=1) > 0).sum()))
    values += model.encoder.dense.grad[:6].flatten().tolist()
    with torch.no_grad():
        enc, _ = model.encoder(x[:4])
        values += enc.flatten().tolist()
        values.append(float(model.encoder.b))
    return values
