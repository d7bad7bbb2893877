"""MIT 6.S191 "Introduction to Deep Learning", Lab 2 Part 2 ("Debiasing Facial Detection
Systems", the PyTorch edition of ``PT_Part2_Debiasing.ipynb``), size-reduced: the standard CNN
face classifier (``functools.partial(nn.Conv2d, ...)`` layers with ``BatchNorm2d``, ``ReLU``,
``nn.Flatten()`` and a ``Linear`` head), its training with ``nn.BCEWithLogitsLoss`` on
``torch.from_numpy(x).float().permute(0, 3, 1, 2)`` batches and the evaluation ``torch.sigmoid(
logits).squeeze() ... .round()`` accuracy; the DB-VAE: ``vae_loss_function`` (``0.5 *
torch.sum(torch.exp(logsigma) + mu**2 - 1 - logsigma, dim=1)`` and ``torch.mean(torch.abs(x -
x_recon), dim=(1, 2, 3))``), ``sampling`` (``torch.randn_like(z_logsigma)``, ``z_mean +
torch.exp(0.5 * z_logsigma) * eps``), ``debiasing_loss_function``
(``F.binary_cross_entropy_with_logits(y_logit, y, reduction="none")``, ``face_indicator = (y ==
1.0).float()``, the VAE term only for faces), the ``FaceDecoder`` (``nn.Linear`` then
``x.view(-1, 6 * self.n_filters, 4, 4)`` and ``nn.ConvTranspose2d(..., output_padding=1)``),
the ``DB_VAE`` module (``encoder_output[:, 0].unsqueeze(-1)``, the ``z_mean``/``z_logsigma``
slices of one encoder), ``get_latent_mu`` (``torch.inference_mode()``, ``torch.cat(all_z_mean,
dim=0).numpy()``) and ``get_training_sample_probabilities`` (``np.histogram(latent_distribution,
density=True, bins=bins)``, infinite outer edges, ``np.digitize``, smoothing and ``1.0 /
hist_smoothed_density[bin_idx - 1]``, the running ``np.maximum`` over latent dimensions), the same
reweighting written with tensors (``torch.histogram(..., density=True)``, ``torch.bucketize(...,
right=True)``, ``torch.maximum``), and the resampled training batches (``np.random.choice(...,
p=p_pos)``; ``torch.multinomial(p, k, replacement=False)`` on a distribution with ``k``
positive weights).

Changed: CelebA/ImageNet become fixed NumPy 16x16 "images" (faces carry a bright blob); n_filters
12 -> 2, latent_dim 100 -> 4, 64x64 -> 16x16, training 2 epochs of 20000 images -> 4 steps;
``torch.randn_like``'s draw is overwritten in place by a NumPy draw and ``np.random.choice``
uses a seeded NumPy generator (the frameworks' generators differ).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
# the conv biases ahead of BatchNorm get gradients that are float32 rounding noise (~1e-7, the
# true value is 0) which Adam scales to full steps: the runs agree to ~1e-4, not 1e-5
RTOL, ATOL = 5e-4, 1e-5
N_FILTERS, LATENT_DIM, SIZE = 2, 4, 16


def _classifier(torch_like: Any, n_outputs: int = 1) -> Any:
    nn = torch_like.nn

    Conv2d = functools.partial(nn.Conv2d, padding=1)
    BatchNorm2d = nn.BatchNorm2d
    n_filters = N_FILTERS

    class FaceClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = Conv2d(3, 1 * n_filters, kernel_size=3, stride=2)
            self.bn1 = BatchNorm2d(1 * n_filters)
            self.conv2 = Conv2d(1 * n_filters, 2 * n_filters, kernel_size=3, stride=2)
            self.bn2 = BatchNorm2d(2 * n_filters)
            self.conv3 = Conv2d(2 * n_filters, 4 * n_filters, kernel_size=3, stride=2)
            self.bn3 = BatchNorm2d(4 * n_filters)
            self.relu = nn.ReLU()
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(4 * n_filters * 2 * 2, 16)
            self.fc2 = nn.Linear(16, n_outputs)

        def forward(self, x: Any) -> Any:
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.relu(self.bn2(self.conv2(x)))
            x = self.relu(self.bn3(self.conv3(x)))
            x = self.flatten(x)
            x = self.relu(self.fc1(x))
            return self.fc2(x)

    return FaceClassifier()


def make_model(torch_like: Any) -> Any:
    """The standard classifier and the DB-VAE in one container (one state dict)."""
    torch, nn = torch_like, torch_like.nn

    class FaceDecoder(nn.Module):
        def __init__(self, latent_dim: int, n_filters: int = N_FILTERS) -> None:
            super().__init__()
            self.latent_dim = latent_dim
            self.n_filters = n_filters
            # Linear (fully connected) layer to upscale from the latent space
            self.linear = nn.Sequential(nn.Linear(latent_dim, 2 * 2 * 6 * n_filters), nn.ReLU())
            # Convolutional upscaling (transpose convolutions)
            self.deconv = nn.Sequential(
                nn.ConvTranspose2d(6 * n_filters, 4 * n_filters, 3, 2, 1, output_padding=1),
                nn.ReLU(),
                nn.ConvTranspose2d(4 * n_filters, 2 * n_filters, 3, 2, 1, output_padding=1),
                nn.ReLU(),
                nn.ConvTranspose2d(
                    2 * n_filters, 3, kernel_size=3, stride=2, padding=1, output_padding=1
                ),
            )

        def forward(self, z: Any) -> Any:
            x = self.linear(z)  # [B, 2 * 2 * 6 * n_filters]
            x = x.view(-1, 6 * self.n_filters, 2, 2)  # [B, 6n_filters, 2, 2]
            # Upsampling via transposed convolutions
            x = self.deconv(x)  # [B, 3, 16, 16]
            return x

    class DB_VAE(nn.Module):
        def __init__(self, latent_dim: int = 100) -> None:
            super().__init__()
            self.latent_dim = latent_dim

            # Define the number of outputs for the encoder. Recall that we have
            # `latent_dim` latent variables, as well as a supervised output for the
            # classification.
            num_encoder_dims = 2 * self.latent_dim + 1

            self.encoder = _classifier(torch_like, num_encoder_dims)
            self.decoder = FaceDecoder(latent_dim)

        def encode(self, x: Any) -> tuple[Any, Any, Any]:
            # encoder output
            encoder_output = self.encoder(x)

            # classification prediction
            y_logit = encoder_output[:, 0].unsqueeze(-1)
            # latent variable distribution parameters
            z_mean = encoder_output[:, 1 : self.latent_dim + 1]
            z_logsigma = encoder_output[:, self.latent_dim + 1 :]

            return y_logit, z_mean, z_logsigma

        def reparameterize(self, z_mean: Any, z_logsigma: Any) -> Any:
            # call the sampling function defined above
            z = self.sampling(z_mean, z_logsigma)
            return z

        def decode(self, z: Any) -> Any:
            reconstruction = self.decoder(z)
            return reconstruction

        def forward(self, x: Any) -> tuple[Any, Any, Any, Any]:
            # Encode input to a prediction and latent space
            y_logit, z_mean, z_logsigma = self.encode(x)
            z = self.reparameterize(z_mean, z_logsigma)
            recon = self.decode(z)
            return y_logit, z_mean, z_logsigma, recon

        def predict(self, x: Any) -> Any:
            y_logit, z_mean, z_logsigma = self.encode(x)
            return y_logit

    class Lab(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.standard_classifier = _classifier(torch_like)
            self.dbvae = DB_VAE(LATENT_DIM)

    assert torch is torch_like
    return Lab()


def _faces(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 16, 16, 3) images in [0, 1] and (n, 1) labels; faces have a blob whose colour (a
    "skin tone" attribute) is rare for a quarter of them -- the bias the DB-VAE reweights."""
    x = 0.3 * rng.random((n, SIZE, SIZE, 3))
    y = (np.arange(n) % 2 == 0).astype(np.float32)[:, None]
    for i in range(0, n, 2):
        tone = np.array([0.9, 0.6, 0.4]) if i % 8 else np.array([0.3, 0.2, 0.1])
        x[i, 4:12, 5:11] = tone + 0.05 * rng.random((8, 6, 3))
    return x.astype(np.float32), y


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    device = torch.device("cpu")
    rng = np.random.default_rng(6191)
    values: list[float] = []
    lab = make_model(torch_like).to(device)
    load_numpy_state(torch_like, lab, init)
    images, labels = _faces(rng, 24)
    batch_size = 8

    # --- the standard classifier -------------------------------------------------------------
    standard_classifier = lab.standard_classifier
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = optim.Adam(standard_classifier.parameters(), lr=5e-4)
    standard_classifier.train()

    def standard_train_step(x: Any, y: Any) -> Any:
        x = torch.from_numpy(x).float().to(device)
        y = torch.from_numpy(y).float().to(device)
        # feed the images into the model
        x = x.permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
        logits = standard_classifier(x)
        # Compute the loss
        loss = loss_fn(logits, y)
        # Backpropagation
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    for idx in range(0, 24, batch_size):
        x, y = images[idx : idx + batch_size], labels[idx : idx + batch_size]
        loss = standard_train_step(x, y)
        values.append(loss.detach().cpu().numpy().item())

    # evaluate on a training batch
    standard_classifier.eval()
    with torch.no_grad():
        batch_x = torch.from_numpy(images[:8]).float().to(device).permute(0, 3, 1, 2)
        y_pred_logits = standard_classifier(batch_x)
        y_pred_standard = torch.round(torch.sigmoid(y_pred_logits))
        acc_standard = torch.mean(
            (torch.from_numpy(labels[:8]).to(device) == y_pred_standard).float()
        )
    values.append(acc_standard.item())
    # the per-image face probabilities (the lab's bar chart over skin tones)
    probs = torch.sigmoid(standard_classifier(batch_x)).squeeze()
    values.extend(probs.detach().numpy().tolist())

    # --- the DB-VAE --------------------------------------------------------------------------
    def vae_loss_function(
        x: Any, x_recon: Any, mu: Any, logsigma: Any, kl_weight: float = 0.0005
    ) -> Any:
        # Define the latent loss.
        latent_loss = 0.5 * torch.sum(torch.exp(logsigma) + mu**2 - 1 - logsigma, dim=1)
        # Define the reconstruction loss as the mean absolute pixel-wise difference
        reconstruction_loss = torch.mean(torch.abs(x - x_recon), dim=(1, 2, 3))
        # Define the VAE loss.
        vae_loss = kl_weight * latent_loss + reconstruction_loss
        return vae_loss

    def sampling(z_mean: Any, z_logsigma: Any) -> Any:
        # Generate random noise with the same shape as z_mean, sampled from a standard normal
        # distribution
        eps = torch.randn_like(z_logsigma)
        with torch.no_grad():  # the same draw under both frameworks
            eps.copy_(torch.from_numpy(rng.standard_normal(tuple(eps.shape))))
        # Define the reparameterization computation
        z = z_mean + torch.exp(0.5 * z_logsigma) * eps
        return z

    def debiasing_loss_function(
        x: Any, x_pred: Any, y: Any, y_logit: Any, mu: Any, logsigma: Any
    ) -> tuple[Any, Any]:
        # call the relevant function to obtain VAE loss
        vae_loss = vae_loss_function(x, x_pred, mu, logsigma)
        # define the classification loss
        classification_loss = F.binary_cross_entropy_with_logits(y_logit, y, reduction="none")
        # Use the training data labels to create variable face_indicator:
        #   indicator that reflects which training data are images of faces
        y = y.float()
        face_indicator = (y == 1.0).float()
        # define the DB-VAE total loss
        total_loss = torch.mean(classification_loss * face_indicator + vae_loss)
        return total_loss, classification_loss

    dbvae = lab.dbvae
    dbvae.sampling = sampling  # the lab's module-level helper, called from reparameterize
    latent_dim = dbvae.latent_dim

    def get_latent_mu(images: np.ndarray, dbvae: Any, batch_size: int = 8) -> np.ndarray:
        dbvae.eval()
        all_z_mean = []
        # Convert all images to a torch tensor
        images_t = torch.from_numpy(images).float()
        with torch.inference_mode():
            # Process in batches
            for start in range(0, len(images_t), batch_size):
                end = start + batch_size
                batch = images_t[start:end]
                batch = batch.to(device).permute(0, 3, 1, 2)
                # Forward pass on this chunk only
                _, z_mean, _, _ = dbvae(batch)
                all_z_mean.append(z_mean.cpu())
        # Concatenate all partial z_mean
        z_mean_full = torch.cat(all_z_mean, dim=0)  # shape [N, latent_dim]
        mu = z_mean_full.numpy()  # convert to NumPy if needed
        return mu

    def get_training_sample_probabilities(
        images: np.ndarray, dbvae: Any, bins: int = 10, smoothing_fac: float = 0.001
    ) -> np.ndarray:
        # run the input batch and get the latent variable means
        mu = get_latent_mu(images, dbvae)
        # sampling probabilities for the images
        training_sample_p = np.zeros(mu.shape[0], dtype=np.float64)
        # consider the distribution for each latent variable
        for i in range(latent_dim):
            latent_distribution = mu[:, i]
            # generate a histogram of the latent distribution
            hist_density, bin_edges = np.histogram(latent_distribution, density=True, bins=bins)
            # find which latent bin every data sample falls in
            bin_edges[0] = -float("inf")
            bin_edges[-1] = float("inf")
            # call the digitize function to find which bins in the latent distribution
            #    every data sample falls in to
            bin_idx = np.digitize(latent_distribution, bin_edges)
            # smooth the density function
            hist_smoothed_density = hist_density + smoothing_fac
            hist_smoothed_density = hist_smoothed_density / np.sum(hist_smoothed_density)
            # invert the density function
            p = 1.0 / (hist_smoothed_density[bin_idx - 1])
            # normalize all probabilities
            p = p / np.sum(p)
            # update sampling probabilities by considering whether the newly
            #     computed p is greater than the existing sampling probabilities.
            training_sample_p = np.maximum(training_sample_p, p)
        # final normalization
        training_sample_p /= np.sum(training_sample_p)
        return training_sample_p

    def get_training_sample_probabilities_torch(
        images: np.ndarray, dbvae: Any, bins: int = 10, smoothing_fac: float = 0.001
    ) -> Any:
        """The same reweighting with tensor ops only."""
        mu = torch.from_numpy(get_latent_mu(images, dbvae)).double()
        training_sample_p = torch.zeros(mu.shape[0], dtype=torch.float64)
        for i in range(latent_dim):
            latent_distribution = mu[:, i].contiguous()  # searchsorted warns on a column
            hist_density, bin_edges = torch.histogram(latent_distribution, bins=bins, density=True)
            inner_edges = bin_edges[1:-1]  # the outer edges are -inf, +inf
            bin_idx = torch.bucketize(latent_distribution, inner_edges, right=True)
            hist_smoothed_density = hist_density + smoothing_fac
            hist_smoothed_density = hist_smoothed_density / torch.sum(hist_smoothed_density)
            p = 1.0 / hist_smoothed_density[bin_idx]
            p = p / p.sum()
            training_sample_p = torch.maximum(training_sample_p, p)
        training_sample_p /= training_sample_p.sum()
        return training_sample_p

    optimizer = optim.Adam(dbvae.parameters(), lr=5e-4)

    def debiasing_train_step(x: Any, y: Any) -> Any:
        optimizer.zero_grad()
        y_logit, z_mean, z_logsigma, x_recon = dbvae(x)
        loss, class_loss = debiasing_loss_function(x, x_recon, y, y_logit, z_mean, z_logsigma)
        loss.backward()
        optimizer.step()
        return loss

    face_images = images[labels[:, 0] == 1.0]
    for _epoch in range(2):
        # Recompute data sampling probabilities
        p_faces = get_training_sample_probabilities(face_images, dbvae)
        p_torch = get_training_sample_probabilities_torch(face_images, dbvae)
        # (NumPy bins the float32 means with float32 edges; the tensor version works in float64)
        assert np.allclose(p_torch.numpy(), p_faces, rtol=1e-4), (p_torch, p_faces)
        values.extend(p_faces.tolist())
        # the rare "skin tone" faces (every fourth face) should be up-weighted
        values.append(float(p_faces[::4].mean() / p_faces.mean()))
        dbvae.train()
        for _step in range(2):
            # load a batch of data: half faces drawn by p_faces, half non-faces uniformly
            pos = rng.choice(len(face_images), size=batch_size // 2, replace=False, p=p_faces)
            neg = rng.choice(np.flatnonzero(labels[:, 0] == 0.0), size=batch_size // 2)
            x = np.concatenate([face_images[pos], images[neg]])
            y = np.concatenate([np.ones((batch_size // 2, 1)), np.zeros((batch_size // 2, 1))])
            x = torch.from_numpy(x).float().to(device).permute(0, 3, 1, 2)
            y = torch.from_numpy(y).float().to(device)
            loss = debiasing_train_step(x, y)
            values.append(loss.item())

    # torch.multinomial on the reweighted probabilities: with k positive weights and k draws
    # without replacement, every positive index is drawn once (in a generator-dependent order)
    weights = torch.from_numpy(p_faces).clone()
    weights[torch.arange(len(weights)) % 4 != 0] = 0  # keep the rare faces' weights
    k = int((weights > 0).sum())
    drawn = torch.multinomial(weights, k, replacement=False)
    values.extend(torch.sort(drawn).values.tolist())
    sampler = torch_like.utils.data.WeightedRandomSampler(weights, num_samples=k, replacement=False)
    assert sorted(sampler) == sorted(drawn.tolist())

    # evaluate: DB-VAE predictions on the test faces
    dbvae.eval()
    with torch.inference_mode():
        test_x = torch.from_numpy(face_images).float().permute(0, 3, 1, 2)
        dbvae_logits = dbvae.predict(test_x)
        dbvae_probs = torch.sigmoid(dbvae_logits).squeeze(dim=-1)
        assert dbvae_probs.is_inference()
    values.extend(dbvae_probs.tolist())
    values.append(float(np.mean(dbvae_probs.numpy())))
    return values
