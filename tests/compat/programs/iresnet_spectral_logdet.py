"""Invertible residual networks (Behrmann et al., 2019) as jhjacobsen/invertible-resnet writes
them (``models/conv_iResNet.py``'s ``conv_iresnet_block`` and ``ActNorm2D``, ``models/
model_utils.py``'s ``power_series_matrix_logarithm_trace``, ``spectral_norm_fc.py`` and
``spectral_norm_conv_inplace.py``, ``train_cifar.py``'s density objective), size-reduced.

The idioms: the log-determinant's power series with a Hutchinson estimator (``u =
torch.randn(dim).to(x.device)`` with ``dim = list(Fx.sum(dim=0).shape)`` and two
``dim.insert(0, ...)``; the vector-Jacobian products ``torch.autograd.grad(Fx, x,
grad_outputs=vectors[:, i], retain_graph=True, create_graph=True)[0]`` stacked by
``torch.stack(vectors, dim=1)``; ``torch.matmul(vjp4D, u4D)`` of ``view(x.size(0), n, 1, -1)``
and ``view(x.size(0), n, -1, 1)``; ``trLn += summand / float(j)`` alternating with ``-=``;
``trLn.mean(dim=1).squeeze()``); the soft spectral norms as forward pre-hooks (a copy of
PyTorch's ``SpectralNorm`` with ``coeff``: ``delattr(module, fn.name)``, ``module.
register_parameter(fn.name + "_orig", weight)``, ``setattr(module, fn.name, weight.data)``,
``register_buffer`` of ``_u``/``_v``/``_sigma``, ``module.register_forward_pre_hook(fn)``,
``module._register_state_dict_hook``; the power iteration under ``torch.no_grad()`` writing
``normalize(torch.mv(weight_mat.t(), u), dim=0, eps=self.eps, out=v)`` and, for the 3x3
convolutions, ``normalize(conv_transpose2d(u.view(self.out_shape), weight, stride=stride,
padding=padding, output_padding=0).view(-1), dim=0, eps=self.eps, out=v)``; ``factor =
torch.max(torch.ones(1).to(weight.device), sigma / self.coeff)``; ``sigma_log.copy_(sigma.
detach())`` and ``torch.max(a, b, out=sigma_log)``); ``ActNorm2D``'s data-dependent
initialisation (``torch.transpose(x, 0, 1).contiguous().view(self.num_channels, -1).
mean(dim=1)``, ``self._shift.data = - mean * torch.exp(log_scale)``, ``self._init = True``) and
its ``logdet = log_scale.sum() * x.size(2) * x.size(3)``; the bottleneck ``nn.Sequential`` of
``nn.ELU``/spectrally normalised ``nn.Conv2d`` (3x3, 1x1, 3x3); the block's ``y = Fx + x`` and
its fixed-point ``inverse`` (``x = y - summand`` under ``torch.no_grad()``); the prior
``distributions.Normal(self.prior_mu, self.prior_logstd.exp())`` on non-trainable
``nn.Parameter(..., requires_grad=False)``, ``logpx = logpz + trace``, the bits-per-dimension
objective, ``optim.Adamax(model.parameters(), lr=args.lr)``.

Changed: the multi-scale CIFAR model (squeezes, 3 stages of blocks) -> 2 stride-1 blocks on
2x4x4 inputs, 512 -> 4 hidden channels, ``n_power_iter`` 1 -> 2, 5 trace samples / 5 series
terms -> 2 / 3; ``np.float(j)`` (removed from NumPy) -> ``float(j)``; the state-dict
hook writes only the version (the original's load-state pre-hook, for pre-version checkpoints,
is left out); NumPy-drawn inputs; a few steps.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

IN_SHAPE, INT_CH, BATCH, STEPS = (2, 4, 4), 4, 3, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    from_f = torch.nn.functional
    normalize, conv2d, conv_transpose2d = from_f.normalize, from_f.conv2d, from_f.conv_transpose2d
    Parameter = nn.Parameter  # noqa: N806

    def power_series_matrix_logarithm_trace(Fx, x, k, n):  # noqa: ANN001, ANN202, N803
        """
        Fx: output of f(x)
        x: input
        k: number of power series terms
        n: number of Hutchinson samples
        """
        # trace estimation including power series
        outSum = Fx.sum(dim=0)  # noqa: N806
        dim = list(outSum.shape)
        dim.insert(0, n)
        dim.insert(0, x.size(0))
        u = torch.randn(dim).to(x.device)
        trLn = 0  # noqa: N806
        for j in range(1, k + 1):
            if j == 1:
                vectors = u
            # compute vector-jacobian product
            vectors = [torch.autograd.grad(Fx, x, grad_outputs=vectors[:, i], retain_graph=True,
                                           create_graph=True)[0] for i in range(n)]  # fmt: skip
            # compute summand
            vectors = torch.stack(vectors, dim=1)
            vjp4D = vectors.view(x.size(0), n, 1, -1)  # noqa: N806
            u4D = u.view(x.size(0), n, -1, 1)  # noqa: N806
            summand = torch.matmul(vjp4D, u4D)
            # add summand to power series
            if (j + 1) % 2 == 0:
                trLn += summand / float(j)  # noqa: N806
            else:
                trLn -= summand / float(j)  # noqa: N806
        trace = trLn.mean(dim=1).squeeze()
        return trace

    class SpectralNormStateDictHook:
        def __init__(self, fn):  # noqa: ANN001
            self.fn = fn

        def __call__(self, module, state_dict, prefix, local_metadata):  # noqa: ANN001, ANN204
            if "spectral_norm" not in local_metadata:
                local_metadata["spectral_norm"] = {}
            key = self.fn.name + ".version"
            if key in local_metadata["spectral_norm"]:
                raise RuntimeError(
                    "Unexpected key in metadata['spectral_norm']: {}".format(key)  # noqa: UP032
                )
            local_metadata["spectral_norm"][key] = self.fn._version

    class SpectralNormFC:
        _version = 1

        def __init__(self, coeff, name="weight", n_power_iterations=1, dim=0, eps=1e-12):  # noqa: ANN001
            self.coeff = coeff
            self.name = name
            self.dim = dim
            if n_power_iterations <= 0:
                raise ValueError(
                    "Expected n_power_iterations to be positive, but "
                    f"got n_power_iterations={n_power_iterations}"  # noqa: UP032
                )
            self.n_power_iterations = n_power_iterations
            self.eps = eps

        def reshape_weight_to_matrix(self, weight):  # noqa: ANN001, ANN202
            weight_mat = weight
            if self.dim != 0:
                # permute dim to front
                weight_mat = weight_mat.permute(
                    self.dim, *[d for d in range(weight_mat.dim()) if d != self.dim]
                )
            height = weight_mat.size(0)
            return weight_mat.reshape(height, -1)

        def compute_weight(self, module, do_power_iteration):  # noqa: ANN001, ANN202
            weight = getattr(module, self.name + "_orig")
            u = getattr(module, self.name + "_u")
            v = getattr(module, self.name + "_v")
            sigma_log = getattr(module, self.name + "_sigma")  # for logging
            weight_mat = self.reshape_weight_to_matrix(weight)

            if do_power_iteration:
                with torch.no_grad():
                    for _ in range(self.n_power_iterations):
                        # Spectral norm of weight equals to `u^T W v`, where `u` and `v`
                        # are the first left and right singular vectors.
                        # This power iteration produces approximations of `u` and `v`.
                        v = normalize(torch.mv(weight_mat.t(), u), dim=0, eps=self.eps, out=v)
                        u = normalize(torch.mv(weight_mat, v), dim=0, eps=self.eps, out=u)
                    if self.n_power_iterations > 0:
                        # See above on why we need to clone
                        u = u.clone()
                        v = v.clone()

            sigma = torch.dot(u, torch.mv(weight_mat, v))
            # soft normalization: only when sigma larger than coeff
            factor = torch.max(torch.ones(1).to(weight.device), sigma / self.coeff)
            weight = weight / factor

            # for logging
            sigma_log.copy_(sigma.detach())

            return weight

        def __call__(self, module, inputs):  # noqa: ANN001, ANN204
            setattr(
                module, self.name, self.compute_weight(module, do_power_iteration=module.training)
            )

        @staticmethod
        def apply(module, coeff, name, n_power_iterations, dim, eps):  # noqa: ANN001, ANN205
            for k, hook in module._forward_pre_hooks.items():  # noqa: B007
                if isinstance(hook, SpectralNormFC) and hook.name == name:
                    raise RuntimeError(
                        f"Cannot register two spectral_norm hooks on the same parameter {name}"  # noqa: UP032
                    )

            fn = SpectralNormFC(coeff, name, n_power_iterations, dim, eps)
            weight = module._parameters[name]

            with torch.no_grad():
                weight_mat = fn.reshape_weight_to_matrix(weight)
                h, w = weight_mat.size()
                # randomly initialize `u` and `v`
                u = normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=fn.eps)
                v = normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=fn.eps)

            delattr(module, fn.name)
            module.register_parameter(fn.name + "_orig", weight)
            # We still need to assign weight back as fn.name because all sorts of
            # things may assume that it exists, e.g., when initializing weights.
            # However, we can't directly assign as it could be an nn.Parameter and
            # gets added as a parameter. Instead, we register weight.data as a plain
            # attribute.
            setattr(module, fn.name, weight.data)
            module.register_buffer(fn.name + "_u", u)
            module.register_buffer(fn.name + "_v", v)
            module.register_buffer(fn.name + "_sigma", torch.ones(1).to(weight.device))

            module.register_forward_pre_hook(fn)

            module._register_state_dict_hook(SpectralNormStateDictHook(fn))
            return fn

    class SpectralNormConv:
        _version = 1

        def __init__(self, coeff, input_dim, name="weight", n_power_iterations=1, eps=1e-12):  # noqa: ANN001
            self.coeff = coeff
            self.input_dim = input_dim
            self.name = name
            if n_power_iterations <= 0:
                raise ValueError(
                    "Expected n_power_iterations to be positive, but "
                    f"got n_power_iterations={n_power_iterations}"  # noqa: UP032
                )
            self.n_power_iterations = n_power_iterations
            self.eps = eps

        def compute_weight(self, module, do_power_iteration):  # noqa: ANN001, ANN202
            weight = getattr(module, self.name + "_orig")
            u = getattr(module, self.name + "_u")
            v = getattr(module, self.name + "_v")
            sigma_log = getattr(module, self.name + "_sigma")  # for logging

            # get settings from conv-module (for transposed convolution)
            stride = module.stride
            padding = module.padding

            if do_power_iteration:
                with torch.no_grad():
                    for _ in range(self.n_power_iterations):
                        v_s = conv_transpose2d(u.view(self.out_shape), weight, stride=stride,
                                               padding=padding, output_padding=0)  # fmt: skip
                        # Note: out flag for in-place changes
                        v = normalize(v_s.view(-1), dim=0, eps=self.eps, out=v)

                        u_s = conv2d(v.view(self.input_dim), weight, stride=stride,
                                     padding=padding, bias=None)  # fmt: skip
                        u = normalize(u_s.view(-1), dim=0, eps=self.eps, out=u)
                    if self.n_power_iterations > 0:
                        # See above on why we need to clone
                        u = u.clone()
                        v = v.clone()
            weight_v = conv2d(v.view(self.input_dim), weight, stride=stride, padding=padding,
                              bias=None)  # fmt: skip
            weight_v = weight_v.view(-1)
            sigma = torch.dot(u.view(-1), weight_v)
            # enforce spectral norm only as constraint
            factorReverse = torch.max(torch.ones(1).to(weight.device), sigma / self.coeff)  # noqa: N806

            # for logging
            weight_v_det = weight_v.detach()
            u_det = u.detach()
            torch.max(torch.dot(u_det.view(-1), weight_v_det),
                      torch.dot(u_det.view(-1), weight_v_det), out=sigma_log)  # fmt: skip

            # rescaling
            weight = weight / (factorReverse + 1e-5)  # for stability
            return weight

        def __call__(self, module, inputs):  # noqa: ANN001, ANN204
            setattr(
                module, self.name, self.compute_weight(module, do_power_iteration=module.training)
            )

        @staticmethod
        def apply(module, coeff, input_dim, name, n_power_iterations, eps):  # noqa: ANN001, ANN205
            for k, hook in module._forward_pre_hooks.items():  # noqa: B007
                if isinstance(hook, SpectralNormConv) and hook.name == name:
                    raise RuntimeError(
                        f"Cannot register two spectral_norm hooks on the same parameter {name}"  # noqa: UP032
                    )

            fn = SpectralNormConv(coeff, input_dim, name, n_power_iterations, eps)
            weight = module._parameters[name]

            with torch.no_grad():
                num_input_dim = input_dim[0] * input_dim[1] * input_dim[2] * input_dim[3]
                v = normalize(torch.randn(num_input_dim), dim=0, eps=fn.eps)

                # get settings from conv-module (for transposed convolution)
                stride = module.stride
                padding = module.padding
                # forward call to infer the shape
                u = conv2d(v.view(input_dim), weight, stride=stride, padding=padding, bias=None)
                fn.out_shape = u.shape
                num_output_dim = (
                    fn.out_shape[0] * fn.out_shape[1] * fn.out_shape[2] * fn.out_shape[3]
                )
                # overwrite u with random init
                u = normalize(torch.randn(num_output_dim), dim=0, eps=fn.eps)

            delattr(module, fn.name)
            module.register_parameter(fn.name + "_orig", weight)
            setattr(module, fn.name, weight.data)
            module.register_buffer(fn.name + "_u", u)
            module.register_buffer(fn.name + "_v", v)
            module.register_buffer(fn.name + "_sigma", torch.ones(1).to(weight.device))

            module.register_forward_pre_hook(fn)

            module._register_state_dict_hook(SpectralNormStateDictHook(fn))
            return fn

    def spectral_norm_fc(module, coeff, name="weight", n_power_iterations=1, eps=1e-12,  # noqa: ANN001, ANN202
                         dim=None):  # fmt: skip
        if dim is None:
            if isinstance(module, (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d,
                                   torch.nn.ConvTranspose3d)):  # fmt: skip
                dim = 1
            else:
                dim = 0
        SpectralNormFC.apply(module, coeff, name, n_power_iterations, dim, eps)
        return module

    def spectral_norm_conv(module, coeff, input_dim, name="weight", n_power_iterations=1,  # noqa: ANN001, ANN202
                           eps=1e-12):  # fmt: skip
        input_dim_4d = (1, input_dim[0], input_dim[1], input_dim[2])
        SpectralNormConv.apply(module, coeff, input_dim_4d, name, n_power_iterations, eps)
        return module

    class ActNorm2D(nn.Module):
        def __init__(self, num_channels, eps=1e-5):  # noqa: ANN001
            super(ActNorm2D, self).__init__()  # noqa: UP008 (as in the repository)
            self.eps = eps
            self.num_channels = num_channels
            self._log_scale = Parameter(torch.Tensor(num_channels))
            self._shift = Parameter(torch.Tensor(num_channels))
            self._init = False

        def log_scale(self):  # noqa: ANN202
            return self._log_scale[None, :, None, None]

        def shift(self):  # noqa: ANN202
            return self._shift[None, :, None, None]

        def forward(self, x):  # noqa: ANN001, ANN202
            if not self._init:
                with torch.no_grad():
                    # initialize params to input stats
                    assert self.num_channels == x.size(1)
                    mean = (
                        torch.transpose(x, 0, 1)
                        .contiguous()
                        .view(self.num_channels, -1)
                        .mean(dim=1)
                    )
                    zero_mean = x - mean[None, :, None, None]
                    var = (
                        torch.transpose(zero_mean**2, 0, 1)
                        .contiguous()
                        .view(self.num_channels, -1)
                        .mean(dim=1)
                    )
                    std = (var + self.eps) ** 0.5
                    log_scale = torch.log(1.0 / std)
                    self._shift.data = -mean * torch.exp(log_scale)
                    self._log_scale.data = log_scale
                    self._init = True
            log_scale = self.log_scale()
            logdet = log_scale.sum() * x.size(2) * x.size(3)
            return x * torch.exp(log_scale) + self.shift(), logdet

        def inverse(self, x):  # noqa: ANN001, ANN202
            return (x - self.shift()) * torch.exp(-self.log_scale())

    class conv_iresnet_block(nn.Module):  # noqa: N801
        def __init__(self, in_shape, int_ch, numTraceSamples=0, numSeriesTerms=0, stride=1,  # noqa: ANN001, N803
                     coeff=0.97, input_nonlin=True, actnorm=True, n_power_iter=5,
                     nonlin="elu"):  # fmt: skip
            super(conv_iresnet_block, self).__init__()  # noqa: UP008
            assert stride in (1,)
            self.stride = stride
            self.coeff = coeff
            self.numTraceSamples = numTraceSamples
            self.numSeriesTerms = numSeriesTerms
            self.n_power_iter = n_power_iter
            nonlin = {"relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus}[nonlin]

            # set shapes for spectral norm conv
            in_ch, h, w = in_shape

            layers = []
            if input_nonlin:
                layers.append(nonlin())

            in_ch = in_ch * stride**2
            kernel_size1 = 3  # kernel size for first conv
            layers.append(self._wrapper_spectral_norm(
                nn.Conv2d(in_ch, int_ch, kernel_size=kernel_size1, stride=1, padding=1),
                (in_ch, h, w), kernel_size1))  # fmt: skip
            layers.append(nonlin())
            kernel_size2 = 1  # kernel size for second conv
            layers.append(self._wrapper_spectral_norm(
                nn.Conv2d(int_ch, int_ch, kernel_size=kernel_size2, padding=0),
                (int_ch, h, w), kernel_size2))  # fmt: skip
            layers.append(nonlin())
            kernel_size3 = 3  # kernel size for third conv
            layers.append(self._wrapper_spectral_norm(
                nn.Conv2d(int_ch, in_ch, kernel_size=kernel_size3, padding=1),
                (int_ch, h, w), kernel_size3))  # fmt: skip
            self.bottleneck_block = nn.Sequential(*layers)
            if actnorm:
                self.actnorm = ActNorm2D(in_ch)
            else:
                self.actnorm = None

        def forward(self, x, ignore_logdet=False):  # noqa: ANN001, ANN202
            """bijective or injective block forward"""
            if self.actnorm is not None:
                x, an_logdet = self.actnorm(x)
            else:
                an_logdet = 0.0

            Fx = self.bottleneck_block(x)  # noqa: N806
            # Compute approximate trace for use in training
            if (self.numTraceSamples == 0 and self.numSeriesTerms == 0) or ignore_logdet:
                trace = torch.tensor(0.0)
            else:
                trace = power_series_matrix_logarithm_trace(
                    Fx, x, self.numSeriesTerms, self.numTraceSamples
                )

            # add residual to output
            y = Fx + x
            return y, trace + an_logdet

        def inverse(self, y, maxIter=100):  # noqa: ANN001, ANN202, N803
            with torch.no_grad():
                # inversion of ResNet-block (fixed-point iteration)
                x = y
                for iter_index in range(maxIter):  # noqa: B007
                    summand = self.bottleneck_block(x)
                    x = y - summand

                if self.actnorm is not None:
                    x = self.actnorm.inverse(x)
            return x

        def _wrapper_spectral_norm(self, layer, shapes, kernel_size):  # noqa: ANN001, ANN202
            if kernel_size == 1:
                # use spectral norm fc, because bound are tight for 1x1 convolutions
                return spectral_norm_fc(layer, self.coeff, n_power_iterations=self.n_power_iter)
            else:
                # use spectral norm based on conv, because bound not tight
                return spectral_norm_conv(layer, self.coeff, shapes,
                                          n_power_iterations=self.n_power_iter)  # fmt: skip

    class TinyIResNet(nn.Module):
        def __init__(self):  # noqa: ANN204
            super().__init__()
            self.stack = nn.ModuleList(
                [
                    conv_iresnet_block(
                        IN_SHAPE,
                        INT_CH,
                        numTraceSamples=2,
                        numSeriesTerms=3,
                        input_nonlin=True,
                        n_power_iter=2,
                    )
                    for i in range(2)
                ]  # fmt: skip
            )
            self.prior_mu = nn.Parameter(torch.zeros(int(np.prod(IN_SHAPE))), requires_grad=False)
            self.prior_logstd = nn.Parameter(
                torch.zeros(int(np.prod(IN_SHAPE))), requires_grad=False
            )

        def prior(self):  # noqa: ANN202
            return torch.distributions.Normal(self.prior_mu, self.prior_logstd.exp())

        def logpz(self, z):  # noqa: ANN001, ANN202
            return self.prior().log_prob(z.view(z.size(0), -1)).sum(dim=1)

        def forward(self, x, ignore_logdet=False):  # noqa: ANN001, ANN202
            z = x
            traces = []
            for block in self.stack:
                z, tr = block(z, ignore_logdet=ignore_logdet)
                traces.append(tr)
            return z, sum(traces)

        def inverse(self, z, max_iter=10):  # noqa: ANN001, ANN202
            with torch.no_grad():
                x = z
                for block in reversed(self.stack):
                    x = block.inverse(x, maxIter=max_iter)
            return x

    return TinyIResNet()


def run(torch_like: Any, init: dict) -> list[float]:
    with warnings.catch_warnings():
        return _run(torch_like, init)


def _run(torch_like: Any, init: dict) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    assert sum("spectral_norm" in v for v in model.state_dict()._metadata.values()) == 6
    optimizer = optim.Adamax(model.parameters(), lr=0.01)
    rng = np.random.default_rng(13)
    torch.manual_seed(0)
    values: list[float] = []
    # ``torch.max(..., out=sigma_log)`` resizes the (1,) buffer to the 0-d result: PyTorch's
    # deprecation warning, which a script shows and goes on
    warnings.filterwarnings("ignore", message="An output with one or more elements was resized")
    for _ in range(STEPS):
        x = torch.from_numpy(rng.normal(size=(BATCH, *IN_SHAPE)) * 0.5 + 0.1)
        model.train()
        z, trace = model(x)
        logpz = model.logpz(z)
        logpx = logpz + trace
        loss = -(logpx / (np.prod(IN_SHAPE) * math.log(2.0))).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.extend([loss.item(), trace.mean().item()])
        values.extend(float(b.bottleneck_block[1].weight_sigma.max()) for b in model.stack)
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(rng.normal(size=(BATCH, *IN_SHAPE)) * 0.5)
        z, _ = model(x, ignore_logdet=True)
        x_re = model.inverse(z)
        values.append((x_re - x).abs().max().item())
        values.append(z.pow(2).mean().item())
    return values
