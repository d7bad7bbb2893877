"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 15, "Vision Transformers", size-reduced.

The idioms: ``img_to_patch`` (``x.reshape(B, C, H//patch_size, patch_size, W//patch_size,
patch_size)``, ``x.permute(0, 2, 4, 1, 3, 5)``, ``x.flatten(1,2)`` and ``x.flatten(2,4)``
under ``flatten_channels``); the pre-LN ``AttentionBlock`` over a sequence-first
``nn.MultiheadAttention(embed_dim, num_heads)`` (``inp_x = self.layer_norm_1(x)``, ``x = x +
self.attn(inp_x, inp_x, inp_x)[0]``, an ``nn.Sequential`` MLP with ``nn.GELU`` and two
``nn.Dropout``s); ``VisionTransformer`` (``nn.Linear(num_channels*(patch_size**2),
embed_dim)``, ``nn.Sequential(*[AttentionBlock(...) for _ in range(num_layers)])``, the
``mlp_head`` of ``nn.LayerNorm`` and ``nn.Linear``, ``nn.Parameter(torch.randn(1,1,embed_dim))``
class token and ``nn.Parameter(torch.randn(1,1+num_patches,embed_dim))`` position embedding,
``self.cls_token.repeat(B, 1, 1)``, ``torch.cat([cls_token, x], dim=1)``,
``self.pos_embedding[:,:T+1]``, ``x.transpose(0, 1)``, ``cls = x[0]``); the Lightning
module's ``optim.AdamW(self.parameters(), lr=self.hparams["lr"])`` with ``MultiStepLR(
optimizer, milestones=[100,150], gamma=0.1)`` and ``_calculate_loss`` (``F.cross_entropy``,
``(preds.argmax(dim=-1) == labels).float().mean()``) in train and eval mode.

Changed: CIFAR-10 32x32 with patch 4 -> random 3x8x8 images with patch 4 (4 patches);
embed_dim 256 -> 8, hidden_dim 512 -> 16, 8 heads -> 2, 6 layers -> 2, dropout 0.2 kept;
the Lightning trainer is a plain loop of 3 steps (milestones [2, 150]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _vit(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def img_to_patch(x: Any, patch_size: int, flatten_channels: bool = True) -> Any:
        """
        Inputs:
            x - torch.Tensor representing the image of shape [B, C, H, W]
            patch_size - Number of pixels per dimension of the patches (integer)
            flatten_channels - If True, the patches will be returned in a flattened format
                               as a feature vector instead of a image grid.
        """
        B, C, H, W = x.shape
        x = x.reshape(B, C, H // patch_size, patch_size, W // patch_size, patch_size)
        x = x.permute(0, 2, 4, 1, 3, 5)  # [B, H', W', C, p_H, p_W]
        x = x.flatten(1, 2)  # [B, H'*W', C, p_H, p_W]
        if flatten_channels:
            x = x.flatten(2, 4)  # [B, H'*W', C*p_H*p_W]
        return x

    class AttentionBlock(nn.Module):
        def __init__(self, embed_dim, hidden_dim, num_heads, dropout=0.0):  # noqa: ANN001
            """
            Inputs:
                embed_dim - Dimensionality of input and attention feature vectors
                hidden_dim - Dimensionality of hidden layer in feed-forward network
                             (usually 2-4x larger than embed_dim)
                num_heads - Number of heads to use in the Multi-Head Attention block
                dropout - Amount of dropout to apply in the feed-forward network
            """
            super().__init__()

            self.layer_norm_1 = nn.LayerNorm(embed_dim)
            self.attn = nn.MultiheadAttention(embed_dim, num_heads)
            self.layer_norm_2 = nn.LayerNorm(embed_dim)
            self.linear = nn.Sequential(
                nn.Linear(embed_dim, hidden_dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_dim, embed_dim),
                nn.Dropout(dropout),
            )

        def forward(self, x: Any) -> Any:
            inp_x = self.layer_norm_1(x)
            x = x + self.attn(inp_x, inp_x, inp_x)[0]
            x = x + self.linear(self.layer_norm_2(x))
            return x

    class VisionTransformer(nn.Module):
        def __init__(self, embed_dim, hidden_dim, num_channels, num_heads, num_layers,  # noqa: ANN001
                     num_classes, patch_size, num_patches, dropout=0.0):  # noqa: ANN001 # fmt: skip
            super().__init__()

            self.patch_size = patch_size

            # Layers/Networks
            self.input_layer = nn.Linear(num_channels * (patch_size**2), embed_dim)
            self.transformer = nn.Sequential(
                *[
                    AttentionBlock(embed_dim, hidden_dim, num_heads, dropout=dropout)
                    for _ in range(num_layers)
                ]  # fmt: skip
            )
            self.mlp_head = nn.Sequential(
                nn.LayerNorm(embed_dim), nn.Linear(embed_dim, num_classes)
            )
            self.dropout = nn.Dropout(dropout)

            # Parameters/Embeddings
            self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim))
            self.pos_embedding = nn.Parameter(torch.randn(1, 1 + num_patches, embed_dim))

        def forward(self, x: Any) -> Any:
            # Preprocess input
            x = img_to_patch(x, self.patch_size)
            B, T, _ = x.shape
            x = self.input_layer(x)

            # Add CLS token and positional encoding
            cls_token = self.cls_token.repeat(B, 1, 1)
            x = torch.cat([cls_token, x], dim=1)
            x = x + self.pos_embedding[:, : T + 1]

            # Apply Transforrmer
            x = self.dropout(x)
            x = x.transpose(0, 1)
            x = self.transformer(x)

            # Perform classification prediction
            cls = x[0]
            out = self.mlp_head(cls)
            return out

    return VisionTransformer, img_to_patch


def make_model(torch_like: Any) -> Any:
    VisionTransformer, _ = _vit(torch_like)
    return VisionTransformer(
        embed_dim=8, hidden_dim=16, num_heads=2, num_layers=2, patch_size=4, num_channels=3,
        num_patches=4, num_classes=10, dropout=0.2,
    )  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch.nn.functional
    _, img_to_patch = _vit(torch_like)
    rng = np.random.default_rng(15)
    values: list[float] = []

    imgs = torch.from_numpy(rng.normal(size=(4, 3, 8, 8)).astype(np.float32))
    patches = img_to_patch(imgs, patch_size=4, flatten_channels=False)
    values += [patches.shape[1], patches[0, 1].sum().item()]

    hparams = {"lr": 3e-4}
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.AdamW(model.parameters(), lr=hparams["lr"])
    lr_scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 150], gamma=0.1)

    def _calculate_loss(batch: Any) -> tuple[Any, Any]:
        imgs, labels = batch
        preds = model(imgs)
        loss = F.cross_entropy(preds, labels)
        acc = (preds.argmax(dim=-1) == labels).float().mean()
        return loss, acc

    torch.manual_seed(0)
    for _ in range(3):
        model.train()
        batch = (
            torch.from_numpy(rng.normal(size=(4, 3, 8, 8)).astype(np.float32)),
            torch.from_numpy(rng.integers(0, 10, 4)),
        )
        loss, acc = _calculate_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lr_scheduler.step()
        values += [loss.item(), acc.item(), optimizer.param_groups[0]["lr"]]
        model.eval()
        with torch.no_grad():
            val_loss, val_acc = _calculate_loss(batch)
        values += [val_loss.item(), val_acc.item()]
    return values
