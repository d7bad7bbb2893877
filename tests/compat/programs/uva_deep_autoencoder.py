"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 9, "Deep Autoencoders", size-reduced.

The idioms: the pixel-shift comparison (``img.mean(dim=[1,2], keepdims=True)`` with NumPy's
``keepdims`` spelling, ``torch.roll(img, shifts=SHIFT, dims=1)``, ``img_shifted[:,:1,:] =
img_mean``, ``img_masked[:,:img_masked.shape[1]//2,:] = img_mean``, ``F.mse_loss(img1, img2,
reduction="sum")``); ``Encoder`` (``act_fn : object = nn.GELU`` instantiated per layer,
stride-2 ``nn.Conv2d``s, ``nn.Flatten()``, ``nn.Linear(2*16*c_hid, latent_dim)``) and
``Decoder`` (``nn.Sequential(nn.Linear(latent_dim, 2*16*c_hid), act_fn())``, ``x.reshape(
x.shape[0], -1, 4, 4)``, ``nn.ConvTranspose2d(..., kernel_size=3, output_padding=1,
padding=1, stride=2)`` up to ``nn.Tanh()``); ``Autoencoder`` with ``encoder_class=Encoder,
decoder_class=Decoder``, ``self.example_input_array = torch.zeros(2, num_input_channels,
width, height)``, ``_get_reconstruction_loss`` (``F.mse_loss(x, x_hat, reduction="none")``,
``loss.sum(dim=[1,2,3]).mean(dim=[0])``), ``configure_optimizers``' ``optim.lr_scheduler.
ReduceLROnPlateau(optimizer, mode='min', factor=0.2, patience=20, min_lr=5e-5)`` monitored on
the validation loss; ``GenerateCallback`` (``pl_module.eval()`` under ``torch.no_grad()``,
``torch.stack([input_imgs, reconst_imgs], dim=1).flatten(0,1)``); the latent-dimension sweep;
``embed_imgs`` (``torch.cat(img_list, dim=0)``) and ``find_similar_images``
(``torch.cdist(query_z[None,:], key_embeds[1], p=2)``, ``dist.squeeze(dim=0)``,
``torch.sort(dist)``, ``key_embeds[0][indices[:K]]``).

Changed: CIFAR-10 -> random 3x32x32 images; ``base_channel_size`` 32 -> 4; latent dims
[64, 128, 256, 384] -> [4, 8]; 500 epochs -> 3 steps each with ``patience=1`` so that the
plateau schedule acts; the Lightning trainer is a plain loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Encoder(nn.Module):
        def __init__(self, num_input_channels: int, base_channel_size: int, latent_dim: int,
                     act_fn: object = nn.GELU):  # fmt: skip
            super().__init__()
            c_hid = base_channel_size
            self.net = nn.Sequential(
                nn.Conv2d(
                    num_input_channels, c_hid, kernel_size=3, padding=1, stride=2
                ),  # 32x32 => 16x16
                act_fn(),
                nn.Conv2d(c_hid, c_hid, kernel_size=3, padding=1),
                act_fn(),
                nn.Conv2d(c_hid, 2 * c_hid, kernel_size=3, padding=1, stride=2),  # 16x16 => 8x8
                act_fn(),
                nn.Conv2d(2 * c_hid, 2 * c_hid, kernel_size=3, padding=1),
                act_fn(),
                nn.Conv2d(2 * c_hid, 2 * c_hid, kernel_size=3, padding=1, stride=2),  # 8x8 => 4x4
                act_fn(),
                nn.Flatten(),  # Image grid to single feature vector
                nn.Linear(2 * 16 * c_hid, latent_dim),
            )

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class Decoder(nn.Module):
        def __init__(self, num_input_channels: int, base_channel_size: int, latent_dim: int,
                     act_fn: object = nn.GELU):  # fmt: skip
            super().__init__()
            c_hid = base_channel_size
            self.linear = nn.Sequential(nn.Linear(latent_dim, 2 * 16 * c_hid), act_fn())
            self.net = nn.Sequential(
                nn.ConvTranspose2d(
                    2 * c_hid, 2 * c_hid, kernel_size=3, output_padding=1, padding=1, stride=2
                ),  # 4x4 => 8x8 # fmt: skip
                act_fn(),
                nn.Conv2d(2 * c_hid, 2 * c_hid, kernel_size=3, padding=1),
                act_fn(),
                nn.ConvTranspose2d(
                    2 * c_hid, c_hid, kernel_size=3, output_padding=1, padding=1, stride=2
                ),  # 8x8 => 16x16 # fmt: skip
                act_fn(),
                nn.Conv2d(c_hid, c_hid, kernel_size=3, padding=1),
                act_fn(),
                nn.ConvTranspose2d(
                    c_hid, num_input_channels, kernel_size=3, output_padding=1, padding=1, stride=2
                ),  # 16x16 => 32x32 # fmt: skip
                # The input images is scaled between -1 and 1, hence the output has to be
                # bounded as well
                nn.Tanh(),
            )

        def forward(self, x: Any) -> Any:
            x = self.linear(x)
            x = x.reshape(x.shape[0], -1, 4, 4)
            x = self.net(x)
            return x

    class Autoencoder(nn.Module):
        def __init__(self, base_channel_size: int, latent_dim: int, encoder_class: object = Encoder,
                     decoder_class: object = Decoder, num_input_channels: int = 3,
                     width: int = 32, height: int = 32):  # fmt: skip
            super().__init__()
            # Creating encoder and decoder
            self.encoder = encoder_class(num_input_channels, base_channel_size, latent_dim)
            self.decoder = decoder_class(num_input_channels, base_channel_size, latent_dim)
            # Example input array needed for visualizing the graph of the network
            self.example_input_array = torch.zeros(2, num_input_channels, width, height)

        def forward(self, x: Any) -> Any:
            """
            The forward function takes in an image and returns the reconstructed image
            """
            z = self.encoder(x)
            x_hat = self.decoder(z)
            return x_hat

        def _get_reconstruction_loss(self, batch: Any) -> Any:
            """
            Given a batch of images, this function returns the reconstruction loss (MSE in our case)
            """
            x, _ = batch  # We do not need the labels
            x_hat = self.forward(x)
            loss = F.mse_loss(x, x_hat, reduction="none")
            loss = loss.sum(dim=[1, 2, 3]).mean(dim=[0])
            return loss

        def configure_optimizers(self, patience: int = 20) -> dict:
            optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
            # Using a scheduler is optional but can be helpful.
            # The scheduler reduces the LR if the validation performance hasn't improved for the
            # last N epochs
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=0.2, patience=patience, min_lr=5e-5
            )
            return {"optimizer": optimizer, "lr_scheduler": scheduler, "monitor": "val_loss"}

    return Autoencoder


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)(base_channel_size=4, latent_dim=8)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    Autoencoder = _classes(torch_like)
    rng = np.random.default_rng(9)
    values: list[float] = []

    def images(n: int) -> Any:
        return torch.from_numpy((rng.random((n, 3, 32, 32)) * 2 - 1).astype(np.float32))

    def compare_imgs(img1: Any, img2: Any) -> float:
        # Calculate MSE loss between both images
        loss = F.mse_loss(img1, img2, reduction="sum")
        return loss.item()

    train_imgs, val_imgs = images(8), images(4)
    for i in range(2):
        # Load example image
        img = train_imgs[i]
        img_mean = img.mean(dim=[1, 2], keepdims=True)
        # Shift image by one pixel
        SHIFT = 1
        img_shifted = torch.roll(img, shifts=SHIFT, dims=1)
        img_shifted = torch.roll(img_shifted, shifts=SHIFT, dims=2)
        img_shifted[:, :1, :] = img_mean
        img_shifted[:, :, :1] = img_mean
        values.append(compare_imgs(img, img_shifted))
        # Set half of the image to zero
        img_masked = img.clone()
        img_masked[:, : img_masked.shape[1] // 2, :] = img_mean
        values.append(compare_imgs(img, img_masked))

    labels = torch.zeros(8, dtype=torch.long)
    for latent_dim in [8, 4]:
        model = Autoencoder(base_channel_size=4, latent_dim=latent_dim)
        if latent_dim == 8:
            load_numpy_state(torch_like, model, init)
        else:  # the same starting point under both libraries
            load_numpy_state(torch_like, model, {k: rng.normal(0, 0.1, tuple(v.shape)).astype(
                np.float32) for k, v in model.state_dict().items()})  # fmt: skip
        values.append(model(model.example_input_array).shape[-1])
        conf = model.configure_optimizers(patience=1)
        optimizer, scheduler = conf["optimizer"], conf["lr_scheduler"]
        for step in range(3):
            model.train()
            loss = model._get_reconstruction_loss((train_imgs[step * 2 : step * 2 + 4], labels))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            model.eval()
            with torch.no_grad():
                val_loss = model._get_reconstruction_loss((val_imgs, labels[:4]))
            scheduler.step(val_loss * (1 + step))  # a worsening monitor: the plateau acts
            values += [loss.item(), val_loss.item(), optimizer.param_groups[0]["lr"]]

        # GenerateCallback
        input_imgs = val_imgs[:2]
        with torch.no_grad():
            model.eval()
            reconst_imgs = model(input_imgs)
            model.train()
        imgs = torch.stack([input_imgs, reconst_imgs], dim=1).flatten(0, 1)
        values += [imgs.shape[0], imgs[1].sum().item()]

    def embed_imgs(model: Any, data_loader: Any) -> tuple[Any, Any]:
        # Encode all images in the data_laoder using model, and return both images and encodings
        img_list, embed_list = [], []
        model.eval()
        for imgs, _ in data_loader:
            with torch.no_grad():
                z = model.encoder(imgs)
            img_list.append(imgs)
            embed_list.append(z)
        return (torch.cat(img_list, dim=0), torch.cat(embed_list, dim=0))

    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train_imgs, labels), batch_size=4, shuffle=False
    )
    train_img_embeds = embed_imgs(model, loader)
    test_img_embeds = embed_imgs(model, [(val_imgs, labels[:4])])

    def find_similar_images(query_img: Any, query_z: Any, key_embeds: Any, K: int = 3) -> Any:
        # Find closest K images. We use the euclidean distance here but other like cosine
        # distance can also be used.
        dist = torch.cdist(query_z[None, :], key_embeds[1], p=2)
        dist = dist.squeeze(dim=0)
        dist, indices = torch.sort(dist)
        # Plot K closest images
        imgs_to_display = torch.cat([query_img[None], key_embeds[0][indices[:K]]], dim=0)
        return dist, indices, imgs_to_display

    for i in range(2):
        dist, indices, shown = find_similar_images(
            test_img_embeds[0][i], test_img_embeds[1][i], key_embeds=train_img_embeds
        )
        values += [dist[0].item(), indices[:3].tolist()[0], shown.shape[0], shown[1].sum().item()]
    return values
