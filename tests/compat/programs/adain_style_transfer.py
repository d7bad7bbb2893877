"""naoto0804/pytorch-AdaIN (``function.py``, ``net.py``, ``train.py``, ``test.py``),
size-reduced: ``calc_mean_std`` (``feat.view(N, C, -1).var(dim=2) + eps``, ``.sqrt().view(N, C,
1, 1)``), ``adaptive_instance_normalization`` (``content_mean.expand(size)``), the encoder cut
from a VGG ``nn.Sequential`` with ``nn.Sequential(*list(vgg.children())[:31])`` and sliced into
``enc_1..enc_4`` (``enc_layers[:4]``, ``[4:11]``, ``[11:18]``, ``[18:31]``; ``ReflectionPad2d((1,
1, 1, 1))``, ``MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)``), frozen through
``getattr(self, name).parameters()``; ``encode_with_intermediate`` (``getattr(self,
'enc_{:d}'.format(i + 1))``), the content loss (``assert (target.requires_grad is False)``,
``nn.MSELoss``) and the style loss on means and stds; the decoder with ``nn.Upsample(
scale_factor=2, mode='nearest')``; ``train.py``'s ``adjust_learning_rate`` writing
``param_group['lr']`` and Adam over ``network.decoder.parameters()``; ``test.py``'s
``style_transfer`` with ``alpha`` and ``interpolation_weights`` (``torch.FloatTensor(1, C, H,
W).zero_()``, ``base_feat[i:i + 1]``), and ``coral`` colour preservation
(``_calc_feat_flatten_mean_std`` with ``std(dim=-1, keepdim=True)``, ``_mat_sqrt`` through
``torch.svd`` and ``D.pow(0.5).diag()``, ``torch.inverse``, ``expand_as``).

Changed: VGG widths 64..512 -> 4..16, 256x256 crops -> 16x16 images from a seeded NumPy
generator, 160000 iterations -> 4, ``style_weight`` 10 kept; the pretrained VGG weights are the
initial state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state


def _vgg_decoder(torch_like: Any) -> tuple[Any, Any]:
    nn = torch_like.nn

    def block(cin: int, cout: int) -> list[Any]:
        return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]

    def pool() -> Any:
        return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)

    vgg = nn.Sequential(
        nn.Conv2d(3, 3, (1, 1)),
        *block(3, 4),  # relu1-1
        *block(4, 4),  # relu1-2
        pool(),
        *block(4, 8),  # relu2-1
        *block(8, 8),  # relu2-2
        pool(),
        *block(8, 8),  # relu3-1
        *block(8, 8),
        *block(8, 8),
        *block(8, 8),
        pool(),
        *block(8, 16),  # relu4-1, this is the last layer used
        *block(16, 16),
    )
    decoder = nn.Sequential(
        *block(16, 8),
        nn.Upsample(scale_factor=2, mode="nearest"),
        *block(8, 8),
        *block(8, 8),
        *block(8, 8),
        *block(8, 8),
        nn.Upsample(scale_factor=2, mode="nearest"),
        *block(8, 4),
        nn.Upsample(scale_factor=2, mode="nearest"),
        *block(4, 4),
        nn.ReflectionPad2d((1, 1, 1, 1)),
        nn.Conv2d(4, 3, (3, 3)),
    )
    return vgg, decoder


def _functions(torch_like: Any) -> tuple[Any, Any, Any]:
    torch = torch_like

    def calc_mean_std(feat: Any, eps: float = 1e-5) -> tuple[Any, Any]:
        # eps is a small value added to the variance to avoid divide-by-zero.
        size = feat.size()
        assert len(size) == 4
        N, C = size[:2]
        feat_var = feat.view(N, C, -1).var(dim=2) + eps
        feat_std = feat_var.sqrt().view(N, C, 1, 1)
        feat_mean = feat.view(N, C, -1).mean(dim=2).view(N, C, 1, 1)
        return feat_mean, feat_std

    def adaptive_instance_normalization(content_feat: Any, style_feat: Any) -> Any:
        assert content_feat.size()[:2] == style_feat.size()[:2]
        size = content_feat.size()
        style_mean, style_std = calc_mean_std(style_feat)
        content_mean, content_std = calc_mean_std(content_feat)

        normalized_feat = (content_feat - content_mean.expand(size)) / content_std.expand(size)
        return normalized_feat * style_std.expand(size) + style_mean.expand(size)

    def _calc_feat_flatten_mean_std(feat: Any) -> tuple[Any, Any, Any]:
        # takes 3D feat (C, H, W), return mean and std of array within channels
        assert feat.size()[0] == 3
        assert isinstance(feat, torch.DoubleTensor)  # FloatTensor there; this run is float64
        feat_flatten = feat.view(3, -1)
        mean = feat_flatten.mean(dim=-1, keepdim=True)
        std = feat_flatten.std(dim=-1, keepdim=True)
        return feat_flatten, mean, std

    def _mat_sqrt(x: Any) -> Any:
        U, D, V = torch.svd(x)
        return torch.mm(torch.mm(U, D.pow(0.5).diag()), V.t())

    def coral(source: Any, target: Any) -> Any:
        # assume both source and target are 3D array (C, H, W)
        # Note: flatten -> f
        source_f, source_f_mean, source_f_std = _calc_feat_flatten_mean_std(source)
        source_f_norm = (source_f - source_f_mean.expand_as(source_f)) / source_f_std.expand_as(
            source_f
        )
        source_f_cov_eye = torch.mm(source_f_norm, source_f_norm.t()) + torch.eye(3)

        target_f, target_f_mean, target_f_std = _calc_feat_flatten_mean_std(target)
        target_f_norm = (target_f - target_f_mean.expand_as(target_f)) / target_f_std.expand_as(
            target_f
        )
        target_f_cov_eye = torch.mm(target_f_norm, target_f_norm.t()) + torch.eye(3)

        source_f_norm_transfer = torch.mm(
            _mat_sqrt(target_f_cov_eye),
            torch.mm(torch.inverse(_mat_sqrt(source_f_cov_eye)), source_f_norm),
        )

        source_f_transfer = source_f_norm_transfer * target_f_std.expand_as(
            source_f_norm
        ) + target_f_mean.expand_as(source_f_norm)

        return source_f_transfer.view(source.size())

    return calc_mean_std, adaptive_instance_normalization, coral


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    calc_mean_std, adain, _coral = _functions(torch_like)

    class Net(nn.Module):
        def __init__(self, encoder: Any, decoder: Any) -> None:
            super(Net, self).__init__()  # noqa: UP008 (as in the repository)
            enc_layers = list(encoder.children())
            self.enc_1 = nn.Sequential(*enc_layers[:4])  # input -> relu1_1
            self.enc_2 = nn.Sequential(*enc_layers[4:11])  # relu1_1 -> relu2_1
            self.enc_3 = nn.Sequential(*enc_layers[11:18])  # relu2_1 -> relu3_1
            self.enc_4 = nn.Sequential(*enc_layers[18:31])  # relu3_1 -> relu4_1
            self.decoder = decoder
            self.mse_loss = nn.MSELoss()

            # fix the encoder
            for name in ["enc_1", "enc_2", "enc_3", "enc_4"]:
                for param in getattr(self, name).parameters():
                    param.requires_grad = False

        # extract relu1_1, relu2_1, relu3_1, relu4_1 from input image
        def encode_with_intermediate(self, input: Any) -> list[Any]:
            results = [input]
            for i in range(4):
                func = getattr(self, "enc_{:d}".format(i + 1))  # noqa: UP032
                results.append(func(results[-1]))
            return results[1:]

        # extract relu4_1 from input image
        def encode(self, input: Any) -> Any:
            for i in range(4):
                input = getattr(self, "enc_{:d}".format(i + 1))(input)  # noqa: UP032
            return input

        def calc_content_loss(self, input: Any, target: Any) -> Any:
            assert input.size() == target.size()
            assert target.requires_grad is False
            return self.mse_loss(input, target)

        def calc_style_loss(self, input: Any, target: Any) -> Any:
            assert input.size() == target.size()
            assert target.requires_grad is False
            input_mean, input_std = calc_mean_std(input)
            target_mean, target_std = calc_mean_std(target)
            return self.mse_loss(input_mean, target_mean) + self.mse_loss(input_std, target_std)

        def forward(self, content: Any, style: Any, alpha: float = 1.0) -> tuple[Any, Any]:
            assert 0 <= alpha <= 1
            style_feats = self.encode_with_intermediate(style)
            content_feat = self.encode(content)
            t = adain(content_feat, style_feats[-1])
            t = alpha * t + (1 - alpha) * content_feat

            g_t = self.decoder(t)
            g_t_feats = self.encode_with_intermediate(g_t)

            loss_c = self.calc_content_loss(g_t_feats[-1], t)
            loss_s = self.calc_style_loss(g_t_feats[0], style_feats[0])
            for i in range(1, 4):
                loss_s += self.calc_style_loss(g_t_feats[i], style_feats[i])
            return loss_c, loss_s

    vgg, decoder = _vgg_decoder(torch_like)
    vgg = nn.Sequential(*list(vgg.children())[:31])
    return Net(vgg, decoder)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    _calc, adaptive_instance_normalization, coral = _functions(torch_like)
    rng = np.random.default_rng(36)
    network = make_model(torch_like)
    load_numpy_state(torch_like, network, init)
    network.train()
    lr, lr_decay, content_weight, style_weight = 1e-3, 5e-5 * 1000, 1.0, 10.0
    optimizer = torch.optim.Adam(network.decoder.parameters(), lr=lr)

    def adjust_learning_rate(optimizer: Any, iteration_count: int) -> None:
        """Imitating the original implementation"""
        lr_now = lr / (1.0 + lr_decay * iteration_count)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr_now

    values: list[float] = []
    for i in range(4):
        adjust_learning_rate(optimizer, iteration_count=i)
        content_images = torch.from_numpy(rng.random((2, 3, 16, 16)))
        style_images = torch.from_numpy(rng.random((2, 3, 16, 16)))
        loss_c, loss_s = network(content_images, style_images)
        loss_c = content_weight * loss_c
        loss_s = style_weight * loss_s
        loss = loss_c + loss_s

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss_c.item(), loss_s.item()]

    vgg = torch.nn.Sequential(network.enc_1, network.enc_2, network.enc_3, network.enc_4)
    decoder = network.decoder
    vgg.eval()
    decoder.eval()

    def style_transfer(
        vgg: Any, decoder: Any, content: Any, style: Any, alpha: float = 1.0, weights: Any = None
    ) -> Any:
        assert 0.0 <= alpha <= 1.0
        content_f = vgg(content)
        style_f = vgg(style)
        if weights:
            _, C, H, W = content_f.size()
            feat = torch.FloatTensor(1, C, H, W).zero_().to(content_f.dtype)
            base_feat = adaptive_instance_normalization(content_f, style_f)
            for i, w in enumerate(weights):
                feat = feat + w * base_feat[i : i + 1]
            content_f = content_f[0:1]
        else:
            feat = adaptive_instance_normalization(content_f, style_f)
        feat = feat * alpha + content_f * (1 - alpha)
        return decoder(feat)

    content = torch.from_numpy(rng.random((3, 16, 16)))
    style = torch.from_numpy(rng.random((3, 16, 16)))
    style = coral(style, content)  # preserve_color
    with torch.no_grad():
        output = style_transfer(vgg, decoder, content.unsqueeze(0), style.unsqueeze(0), 0.7)
    values += [output.sum().item(), output.abs().mean().item()]
    styles = torch.stack([style, torch.from_numpy(rng.random((3, 16, 16)))])
    contents = content.unsqueeze(0).expand_as(styles)
    with torch.no_grad():
        output = style_transfer(vgg, decoder, contents, styles, 1.0, [0.3, 0.7])
    values += [output.sum().item(), output.std().item()]
    return values
