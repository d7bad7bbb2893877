"""VAE/GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric")
as lucabergamini/VAEGAN-PYTORCH (``network.py``, ``main.py``) writes it, size-reduced.

The idioms: ``Discriminator.forward(ten, ten_original, ten_sample, mode='REC')`` concatenating
the three batches with ``torch.cat((ten, ten_original, ten_sample), 0)`` and returning, in
``REC`` mode, the activations of an intermediate layer (``ten.view(len(ten), -1)``), and in
``GAN`` mode the sigmoid output; ``VaeGan.forward`` with the reparameterisation
``std = logvar.mul(0.5).exp_()``, ``eps = Variable(std.data.new(std.size()).normal_())``
(here NumPy noise through ``from_numpy``), ``eps.mul(std).add_(mu)`` and a prior sample
``ten_from_normal``; ``VaeGan.loss`` splitting the joint batch with ``ten_original[:batch_size]
/[batch_size:-batch_size]/[-batch_size:]``: the feature-matching (learned-similarity) loss
``torch.sum(0.5 * (layer_original - layer_predicted) ** 2, 1)``, the KL term
``-0.5 * torch.sum(-variances.exp() - torch.pow(mus, 2) + variances + 1, 1)``, the three GAN
BCE terms ``-torch.log(labels_original + 1e-3)``, ``-torch.log(1 - labels_predicted + 1e-3)``;
``main.py``'s three ``RMSprop`` optimizers (``params=net.encoder.parameters()``, ``...
decoder``, ``... discriminator``) with ``ExponentialLR(optimizer, gamma=decay_lr)``, the
equilibrium margin switches (``train_dis``/``train_dec``), ``lambda_mse`` weighting, and the
three backward passes on one graph: ``loss_encoder.backward(retain_graph=True)`` /
``loss_decoder.backward(retain_graph=True)`` / ``loss_discriminator.backward()`` each with
``inputs=`` restricted to its own network's parameters (the form that runs since PyTorch 1.5:
stepping an optimizer before the next backward through the same graph is the "modified by an
inplace operation" RuntimeError, checked here), then the three ``step()`` calls;
``net.zero_grad()`` between them; ``torch.nn.utils.clip_grad_norm_`` on the decoder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

D_IN, D_HID, D_Z = 10, 8, 3
BATCH = 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    torch = torch_like

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(
                nn.Linear(D_IN, D_HID), nn.BatchNorm1d(D_HID, momentum=0.9), nn.ReLU(True)
            )
            self.l_mu = nn.Linear(D_HID, D_Z)
            self.l_var = nn.Linear(D_HID, D_Z)

        def forward(self, ten: Any) -> tuple[Any, Any]:
            ten = self.conv(ten)
            ten = ten.view(len(ten), -1)
            return self.l_mu(ten), self.l_var(ten)

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Sequential(
                nn.Linear(D_Z, D_HID), nn.BatchNorm1d(D_HID, momentum=0.9), nn.ReLU(True)
            )
            self.out = nn.Sequential(nn.Linear(D_HID, D_IN), nn.Tanh())

        def forward(self, ten: Any) -> Any:
            return self.out(self.fc(ten))

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.ModuleList([nn.Linear(D_IN, D_HID), nn.Linear(D_HID, D_HID)])
            self.recon_level = 2
            self.fc = nn.Sequential(nn.Linear(D_HID, 6), nn.ReLU(True), nn.Linear(6, 1))

        def forward(self, ten: Any, ten_original: Any, ten_sample: Any, mode: str = "REC") -> Any:
            ten = torch.cat((ten, ten_original, ten_sample), 0)
            if mode == "REC":
                for i, lay in enumerate(self.conv):
                    # we take the 9th layer as the reconstruction layer
                    if i == self.recon_level - 1:
                        ten, layer_ten = lay(ten), lay(ten)
                        # we need the layer representations just for the original and
                        # reconstructed, flatten, because it's a convolutional shape
                        layer_ten = layer_ten.view(len(layer_ten), -1)
                        return layer_ten
                    ten = torch.relu(lay(ten))
            else:
                for lay in self.conv:
                    ten = torch.relu(lay(ten))
                ten = ten.view(len(ten), -1)
                ten = self.fc(ten)
                return torch.sigmoid(ten)

    class VaeGan(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()
            self.discriminator = Discriminator()

        def forward(self, ten: Any, eps: Any, ten_from_normal: Any, gen_size: int = 10) -> Any:
            if self.training:
                # save the original images
                ten_original = ten
                # encode
                mus, log_variances = self.encoder(ten)
                # we need the true variances, not the log one
                variances = log_variances.mul(0.5).exp_()
                # sample from a gaussian
                ten = eps.mul(variances).add_(mus)
                # decode the tensor
                ten = self.decoder(ten)
                ten_from_normal = self.decoder(ten_from_normal)
                ten_layer = self.discriminator(ten, ten_original, ten_from_normal, "REC")
                ten_class = self.discriminator(ten_original, ten, ten_from_normal, "GAN")
                return ten, ten_class, ten_layer, mus, log_variances
            mus, log_variances = self.encoder(ten)
            return self.decoder(mus)

        @staticmethod
        def loss(
            ten_original: Any,
            ten_predict: Any,
            layer_original: Any,
            layer_predicted: Any,
            labels_original: Any,
            labels_predicted: Any,
            labels_sampled: Any,
            mus: Any,
            variances: Any,
        ) -> tuple[Any, ...]:
            # reconstruction error, not used for the loss but useful to evaluate quality
            nle = 0.5 * (ten_original.view(len(ten_original), -1) - ten_predict) ** 2
            # kl-divergence
            kl = -0.5 * torch.sum(-variances.exp() - torch.pow(mus, 2) + variances + 1, 1)
            # mse between intermediate layers
            mse = torch.sum(0.5 * (layer_original - layer_predicted) ** 2, 1)
            # bce for decoder and discriminator for original, sampled and reconstructed
            bce_dis_original = -torch.log(labels_original + 1e-3)
            bce_dis_sampled = -torch.log(1 - labels_sampled + 1e-3)
            bce_dis_predicted = -torch.log(1 - labels_predicted + 1e-3)
            return nle, kl, mse, bce_dis_original, bce_dis_predicted, bce_dis_sampled

    return VaeGan()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    RMSprop, ExponentialLR = torch.optim.RMSprop, torch.optim.lr_scheduler.ExponentialLR
    rng = np.random.default_rng(3)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    values: list[float] = []

    lr, decay_lr, lambda_mse, equilibrium, margin = 3e-3, 0.75, 1e-2, 0.68, 0.35
    optimizer_encoder = RMSprop(
        params=net.encoder.parameters(), lr=lr, alpha=0.9, eps=1e-8, weight_decay=0
    )
    lr_encoder = ExponentialLR(optimizer_encoder, gamma=decay_lr)
    optimizer_decoder = RMSprop(
        params=net.decoder.parameters(), lr=lr, alpha=0.9, eps=1e-8, weight_decay=0
    )
    lr_decoder = ExponentialLR(optimizer_decoder, gamma=decay_lr)
    optimizer_discriminator = RMSprop(
        params=net.discriminator.parameters(), lr=lr, alpha=0.9, eps=1e-8, weight_decay=0
    )
    lr_discriminator = ExponentialLR(optimizer_discriminator, gamma=decay_lr)

    data = np.tanh(rng.standard_normal((3, BATCH, D_IN)) + np.linspace(-1, 1, D_IN))
    for epoch in range(2):
        net.train()
        for i in range(len(data)):
            x = torch.from_numpy(data[i])
            eps = torch.from_numpy(rng.standard_normal((BATCH, D_Z)))
            ten_from_normal = torch.from_numpy(rng.standard_normal((BATCH, D_Z)))
            ten, out_labels, out_layer, mus, variances = net(x, eps, ten_from_normal)
            # split so we can get the different parts
            out_layer_predicted = out_layer[:BATCH]
            out_layer_original = out_layer[BATCH:-BATCH]
            out_labels_original = out_labels[:BATCH]
            out_labels_predicted = out_labels[BATCH:-BATCH]
            out_labels_sampled = out_labels[-BATCH:]
            nle, kl, mse, bce_dis_original, bce_dis_predicted, bce_dis_sampled = net.loss(
                x,
                ten,
                out_layer_original,
                out_layer_predicted,
                out_labels_original,
                out_labels_predicted,
                out_labels_sampled,
                mus,
                variances,
            )
            # the three losses
            loss_encoder = torch.sum(kl) + torch.sum(mse)
            loss_discriminator = (
                torch.sum(bce_dis_original)
                + torch.sum(bce_dis_predicted)
                + torch.sum(bce_dis_sampled)
            )
            loss_decoder = torch.sum(lambda_mse * mse) - (1.0 - lambda_mse) * loss_discriminator

            # selectively disable the decoder of the discriminator if they are unbalanced
            train_dis = True
            train_dec = True
            if (
                torch.mean(bce_dis_original).item() < equilibrium - margin
                or torch.mean(bce_dis_predicted).item() < equilibrium - margin
            ):
                train_dis = False
            if (
                torch.mean(bce_dis_original).item() > equilibrium + margin
                or torch.mean(bce_dis_predicted).item() > equilibrium + margin
            ):
                train_dec = False
            if train_dec is False and train_dis is False:
                train_dis = True
                train_dec = True

            if epoch == 0 and i == 0:
                # the original script's order (step, then backward through the same graph)
                net.zero_grad()
                loss_encoder.backward(retain_graph=True)
                saved = [p.detach().clone() for p in net.encoder.parameters()]
                optimizer_encoder.step()
                try:
                    loss_decoder.backward(retain_graph=True)
                    values.append(0.0)
                except RuntimeError as err:  # "... modified by an inplace operation"
                    assert "modified by an in" in str(err)
                    values.append(1.0)
                with torch.no_grad():
                    for p, s in zip(net.encoder.parameters(), saved):
                        p.copy_(s)
                optimizer_encoder.state.clear()
                # the graph saw the old versions: rebuild it
                continue

            net.zero_grad()
            loss_encoder.backward(retain_graph=True, inputs=list(net.encoder.parameters()))
            enc_grad = sum(p.grad.norm() ** 2 for p in net.encoder.parameters()).sqrt()
            if train_dec:
                loss_decoder.backward(retain_graph=True, inputs=list(net.decoder.parameters()))
                torch.nn.utils.clip_grad_norm_(net.decoder.parameters(), 5.0)
            if train_dis:
                loss_discriminator.backward(inputs=list(net.discriminator.parameters()))
            assert all(p.grad is None for p in net.discriminator.parameters()) != train_dis
            optimizer_encoder.step()
            if train_dec:
                optimizer_decoder.step()
            if train_dis:
                optimizer_discriminator.step()
            values += [
                loss_encoder.item(),
                loss_decoder.item(),
                loss_discriminator.item(),
                torch.sum(nle).item(),
                enc_grad.item(),
                float(train_dis),
                float(train_dec),
            ]
        lr_encoder.step()
        lr_decoder.step()
        lr_discriminator.step()
    values.append(optimizer_decoder.param_groups[0]["lr"])

    net.eval()
    with torch.no_grad():
        rec = net(torch.from_numpy(data[0]), None, None)
        values.append(rec.abs().sum().item())
    return values
