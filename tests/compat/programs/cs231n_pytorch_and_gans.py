"""Stanford CS231n assignment 2 ``PyTorch.ipynb`` (the three levels of abstraction) and
assignment 3 ``Generative_Adversarial_Networks_PyTorch.ipynb`` (``gan_pytorch.py``),
size-reduced.

The idioms of ``PyTorch.ipynb``: ``dtype = torch.float32``, the ``ChunkSampler(sampler.Sampler)``
handed to ``DataLoader(..., sampler=ChunkSampler(NUM_TRAIN, 0))`` and ``loader.dataset.train``;
part II's barebones ``flatten`` (``x.view(N, -1)``), ``two_layer_fc`` (``F.relu(x.mm(w1))``)
and ``three_layer_convnet`` (``F.conv2d(x, conv_w1, conv_b1, padding=2)``,
``flatten(x).mm(fc_w) + fc_b``), ``random_weight``'s ``fan_in = np.prod(shape[1:])`` and
``torch.randn(shape, device=device, dtype=dtype) * np.sqrt(2. / fan_in)`` (a tensor times a
NumPy scalar) with ``w.requires_grad = True``, ``zero_weight``'s ``torch.zeros(shape,
device=device, dtype=dtype, requires_grad=True)``, ``train_part2``'s manual ``w -=
learning_rate * w.grad`` and ``w.grad.zero_()`` under ``torch.no_grad()``,
``check_accuracy``'s ``x.to(device=device, dtype=dtype)``, ``y.to(device=device,
dtype=torch.long)``, ``_, preds = scores.max(1)``, ``num_correct += (preds == y).sum()`` (a
tensor accumulated into an int) and ``float(num_correct) / num_samples``; part III's
``nn.Module`` subclasses with ``nn.init.kaiming_normal_(self.fc1.weight)`` /
``nn.init.zeros_``; part IV's ``nn.Sequential(Flatten(), nn.Linear(...), nn.ReLU(), ...)`` with
``optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9, nesterov=True)`` and
``train_part34``'s ``model.train()`` / ``optimizer.zero_grad()``.

The GAN notebook's: ``dtype = torch.FloatTensor`` and ``.type(dtype)`` everywhere (the legacy
type objects); ``sample_noise``'s ``*
2 - 1``; the fully-connected ``discriminator`` / ``generator`` (``nn.Flatten()``,
``nn.LeakyReLU(0.01)``, ``nn.Tanh()``); ``bce_loss`` via ``nn.functional.
binary_cross_entropy_with_logits``, ``discriminator_loss`` (``torch.ones_like(logits_real).
type(dtype)``, ``1 - true_labels``) and ``generator_loss``; the least-squares losses
``0.5 * torch.mean((scores_real - 1) ** 2) + 0.5 * torch.mean(scores_fake ** 2)``;
``get_optimizer``'s ``optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))``;
``initialize_weights`` (``nn.init.xavier_uniform_(m.weight.data)`` through ``.apply``); the
DCGAN ``build_dc_classifier`` (the hand-written ``Unflatten(batch_size, 1, 28, 28)``'s
``x.view(self.N, self.C, self.H, self.W)``, ``nn.Conv2d(1, 32, kernel_size=5, stride=1)``,
``nn.MaxPool2d(2, 2)``, the hand-written ``Flatten``'s ``N, C, H, W = x.size()``) and
``build_dc_generator`` (``nn.Linear``, ``nn.ReLU``, ``nn.BatchNorm1d``, ``nn.Unflatten(1, (128,
7, 7))``, ``nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1)``,
``nn.BatchNorm2d``, ``nn.Tanh``, ``nn.Flatten``); ``run_a_gan``
(``if len(x) != batch_size: continue``, ``D(2 * (real_data - 0.5)).type(dtype)``,
``G(g_fake_seed).detach()``, ``fake_images.view(batch_size, 1, 28, 28)``,
``fake_images.data.cpu().numpy()``); ``count_params``' ``np.sum([np.prod(p.size()) for p in
model.parameters()])``; and ``show_images``' ``np.reshape`` / ``np.ceil(np.sqrt(...))`` grid
arithmetic.

Changed: CIFAR-10 and MNIST are NumPy images (3x8x8 and 1x16x16, so 28 -> 16 and the DCGAN's
7x7 -> 4x4); widths, hidden sizes (1024 -> 16, 256 -> 12) and iteration counts are small;
``torch.randn`` / ``torch.rand`` draws (weights, noise) come from NumPy, and the random
initialisers' results are overwritten with NumPy draws of the same scale; the 2021 notebook's
``SubsetRandomSampler`` is the older ``ChunkSampler`` (shuffles cannot agree between two
frameworks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

DTYPE = "float32"  # both notebooks run in PyTorch's default float32
NUM_TRAIN, NUM_VAL, BS = 24, 8, 8
C, H, CLASSES = 3, 8, 4
IMG, NOISE_DIM, GAN_BS = 16, 6, 4


def init_state(tmp_path: Any) -> dict[str, Any]:
    rng = np.random.default_rng(231)
    y = rng.integers(0, CLASSES, NUM_TRAIN + NUM_VAL)
    x = rng.random((NUM_TRAIN + NUM_VAL, C, H, H)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, c % C, c : c + 3, :] += 1.0
    digits = 0.1 * rng.random((10, 1, IMG, IMG))
    for i in range(10):
        digits[i, 0, 2 + i % 5 : 6 + i % 5, 3:13] = 0.9
    return {
        "x": x,
        "y": y,
        "mnist": digits.astype(np.float32),
        "z": rng.standard_normal(20000),
        "u": rng.random(40000),
    }


def run(torch_like: Any, init: dict[str, Any]) -> list[float]:  # noqa: C901 (two notebooks)
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    sampler = torch_like.utils.data.sampler
    DataLoader, Dataset = torch_like.utils.data.DataLoader, torch_like.utils.data.Dataset
    values: list[float] = []
    pos = {"z": 0, "u": 0}

    def numpy_draw(kind: str, shape: tuple) -> np.ndarray:
        k = int(np.prod(shape))
        start = pos[kind]
        pos[kind] += k
        return init[kind][start : start + k].reshape(shape).copy()

    USE_GPU = True
    dtype = torch.float32
    if USE_GPU and torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        device = torch.device("cpu")
    print_every = 2

    class ChunkSampler(sampler.Sampler):
        """Samples elements sequentially from some offset."""

        def __init__(self, num_samples, start=0):
            self.num_samples = num_samples
            self.start = start

        def __iter__(self):
            return iter(range(self.start, self.start + self.num_samples))

        def __len__(self):
            return self.num_samples

    class CIFAR10(Dataset):
        def __init__(self, train: bool) -> None:
            self.train = train
            self.data, self.targets = init["x"], init["y"]

        def __len__(self) -> int:
            return len(self.targets)

        def __getitem__(self, i: int) -> tuple:
            return torch.from_numpy(self.data[i]), int(self.targets[i])

    loader_train = DataLoader(CIFAR10(True), batch_size=BS, sampler=ChunkSampler(NUM_TRAIN, 0))
    loader_val = DataLoader(CIFAR10(True), batch_size=BS, sampler=ChunkSampler(NUM_VAL, NUM_TRAIN))
    loader_test = DataLoader(
        CIFAR10(False), batch_size=BS, sampler=ChunkSampler(NUM_VAL, NUM_TRAIN)
    )

    # ---- part II: barebones PyTorch -------------------------------------------------------------
    def flatten(x):
        N = x.shape[0]  # read in N, C, H, W
        return x.view(N, -1)  # "flatten" the C * H * W values into a single vector per image

    def two_layer_fc(x, params):
        x = flatten(x)
        w1, w2 = params
        x = F.relu(x.mm(w1))
        x = x.mm(w2)
        return x

    def three_layer_convnet(x, params):
        conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
        x = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))
        x = F.relu(F.conv2d(x, conv_w2, conv_b2, padding=1))
        scores = flatten(x).mm(fc_w) + fc_b
        return scores

    def random_weight(shape):
        if len(shape) == 2:  # FC weight
            fan_in = shape[0]
        else:
            fan_in = np.prod(shape[1:])  # conv weight [out_channel, in_channel, kH, kW]
        # randn is standard normal distribution generator (the draw is NumPy's here)
        w = torch.randn(shape, device=device, dtype=dtype)
        w = torch.from_numpy(numpy_draw("z", shape)).to(device=device, dtype=dtype) * np.sqrt(
            2.0 / fan_in
        )
        w.requires_grad = True
        return w

    def zero_weight(shape):
        return torch.zeros(shape, device=device, dtype=dtype, requires_grad=True)

    def check_accuracy_part2(loader, model_fn, params):
        split = "val" if loader.dataset.train else "test"
        num_correct, num_samples = 0, 0
        with torch.no_grad():
            for x, y in loader:
                x = x.to(device=device, dtype=dtype)  # move to device, e.g. GPU
                y = y.to(device=device, dtype=torch.int64)
                scores = model_fn(x, params)
                _, preds = scores.max(1)
                num_correct += (preds == y).sum()
                num_samples += preds.size(0)
            acc = float(num_correct) / num_samples
        values.extend([acc, float(split == "val")])
        return acc

    def train_part2(model_fn, params, learning_rate):
        for t, (x, y) in enumerate(loader_train):
            x = x.to(device=device, dtype=dtype)
            y = y.to(device=device, dtype=torch.long)
            scores = model_fn(x, params)
            loss = F.cross_entropy(scores, y)
            loss.backward()
            with torch.no_grad():
                for w in params:
                    w -= learning_rate * w.grad
                    w.grad.zero_()
            values.append(loss.item())
            if t % print_every == 0:
                check_accuracy_part2(loader_val, model_fn, params)

    x = torch.zeros((64, 50), dtype=dtype)
    values.append(flatten(torch.arange(12).view(2, 1, 3, 2)).sum(1)[1].item())
    scores = two_layer_fc(x, [zero_weight((50, 42)), zero_weight((42, 10))])
    values.append(float(list(scores.size()) == [64, 10]))
    hidden = 10
    w1 = random_weight((C * H * H, hidden))
    w2 = random_weight((hidden, CLASSES))
    train_part2(two_layer_fc, [w1, w2], 0.05)
    channel_1, channel_2 = 4, 3
    params = [
        random_weight((channel_1, C, 5, 5)),
        zero_weight((channel_1,)),
        random_weight((channel_2, channel_1, 3, 3)),
        zero_weight((channel_2,)),
        random_weight((channel_2 * H * H, CLASSES)),
        zero_weight(CLASSES),
    ]
    train_part2(three_layer_convnet, params, 0.02)
    check_accuracy_part2(loader_test, three_layer_convnet, params)

    # ---- parts III / IV: nn.Module and nn.Sequential ---------------------------------------------
    def kaiming_numpy(weight):
        nn.init.kaiming_normal_(weight)
        fan_in = weight.shape[1] * int(np.prod(weight.shape[2:]))
        with torch.no_grad():
            weight.copy_(
                torch.from_numpy(numpy_draw("z", tuple(weight.shape))) * math.sqrt(2.0 / fan_in)
            )

    class TwoLayerFC(nn.Module):
        def __init__(self, input_size, hidden_size, num_classes):
            super().__init__()
            self.fc1 = nn.Linear(input_size, hidden_size)
            kaiming_numpy(self.fc1.weight)
            self.fc2 = nn.Linear(hidden_size, num_classes)
            kaiming_numpy(self.fc2.weight)
            nn.init.zeros_(self.fc1.bias)
            nn.init.zeros_(self.fc2.bias)

        def forward(self, x):
            x = flatten(x)
            scores = self.fc2(F.relu(self.fc1(x)))
            return scores

    class ThreeLayerConvNet(nn.Module):
        def __init__(self, in_channel, channel_1, channel_2, num_classes):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channel, channel_1, (5, 5), padding=2, bias=True)
            kaiming_numpy(self.conv1.weight)
            nn.init.constant_(self.conv1.bias, 0)
            self.conv2 = nn.Conv2d(channel_1, channel_2, (3, 3), padding=1, bias=True)
            kaiming_numpy(self.conv2.weight)
            nn.init.constant_(self.conv2.bias, 0)
            self.fc = nn.Linear(channel_2 * H * H, num_classes)
            kaiming_numpy(self.fc.weight)
            nn.init.constant_(self.fc.bias, 0)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            scores = self.fc(flatten(x))
            return scores

    def check_accuracy_part34(loader, model):
        num_correct = 0
        num_samples = 0
        model.eval()  # set model to evaluation mode
        with torch.no_grad():
            for x, y in loader:
                x = x.to(device=device, dtype=dtype)
                y = y.to(device=device, dtype=torch.long)
                scores = model(x)
                _, preds = scores.max(1)
                num_correct += (preds == y).sum()
                num_samples += preds.size(0)
            acc = float(num_correct) / num_samples
        values.append(acc)

    def train_part34(model, optimizer, epochs=1):
        model = model.to(device=device)  # move the model parameters to CPU/GPU
        for _e in range(epochs):
            for t, (x, y) in enumerate(loader_train):
                model.train()  # put model to training mode
                x = x.to(device=device, dtype=dtype)
                y = y.to(device=device, dtype=torch.long)
                scores = model(x)
                loss = F.cross_entropy(scores, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                values.append(loss.item())
                if t % print_every == 0:
                    check_accuracy_part34(loader_val, model)

    class Flatten(nn.Module):
        def forward(self, x):
            return flatten(x)

    model = TwoLayerFC(C * H * H, 10, CLASSES)
    train_part34(model, optim.SGD(model.parameters(), lr=0.05))
    model = ThreeLayerConvNet(C, 4, 3, CLASSES)
    train_part34(model, optim.SGD(model.parameters(), lr=0.02))
    model = nn.Sequential(Flatten(), nn.Linear(C * H * H, 10), nn.ReLU(), nn.Linear(10, CLASSES))
    for m in model:
        if isinstance(m, nn.Linear):
            kaiming_numpy(m.weight)
            nn.init.zeros_(m.bias)
    optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.9, nesterov=True)
    train_part34(model, optimizer, epochs=2)
    check_accuracy_part34(loader_test, model)

    # ---- the GAN notebook ----------------------------------------------------------------------
    dtype = torch.FloatTensor

    def sample_noise(batch_size, dim, seed=None):
        if seed is not None:
            torch.manual_seed(seed)
        uniform = torch.from_numpy(numpy_draw("u", (batch_size, dim)))  # torch.rand's stand-in
        return uniform * 2 - 1

    class GanFlatten(nn.Module):
        def forward(self, x):
            N, C, H, W = x.size()  # read in N, C, H, W
            return x.view(N, -1)

    class Unflatten(nn.Module):
        def __init__(self, N=-1, C=128, H=7, W=7):
            super(Unflatten, self).__init__()  # noqa: UP008
            self.N, self.C, self.H, self.W = N, C, H, W

        def forward(self, x):
            return x.view(self.N, self.C, self.H, self.W)

    def initialize_weights(m):
        if isinstance(m, nn.Linear) or isinstance(m, nn.ConvTranspose2d):
            nn.init.xavier_uniform_(m.weight.data)
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
            a = math.sqrt(6.0 / (fan_in + fan_out))
            u = torch.from_numpy(numpy_draw("u", tuple(m.weight.shape)))
            m.weight.data.copy_((u * 2 - 1) * a)

    def numpy_init(model):
        """The default ``reset_parameters`` draws, replaced by NumPy's of the same scale."""
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() == 1 and p.shape[0] > 0 and float(p.abs().sum()) == float(p.numel()):
                    continue  # a BatchNorm weight of ones
                if p.dim() == 1:
                    p.copy_(torch.from_numpy(numpy_draw("u", tuple(p.shape))) * 0.2 - 0.1)
                elif p.dim() == 4:  # a Conv2d weight, which ``initialize_weights`` leaves alone
                    bound = 1 / math.sqrt(p[0].numel())
                    p.copy_((torch.from_numpy(numpy_draw("u", tuple(p.shape))) * 2 - 1) * bound)
        model.apply(initialize_weights)
        return model

    def discriminator(seed=None):
        if seed is not None:
            torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Flatten(),
            nn.Linear(IMG * IMG, 12),
            nn.LeakyReLU(0.01),
            nn.Linear(12, 12),
            nn.LeakyReLU(0.01),
            nn.Linear(12, 1),
        )
        return model

    def generator(noise_dim=NOISE_DIM, seed=None):
        if seed is not None:
            torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Linear(noise_dim, 16),
            nn.ReLU(),
            nn.Linear(16, 16),
            nn.ReLU(),
            nn.Linear(16, IMG * IMG),
            nn.Tanh(),
        )
        return model

    def bce_loss(input, target):
        return nn.functional.binary_cross_entropy_with_logits(input, target)

    def discriminator_loss(logits_real, logits_fake):
        true_labels = torch.ones_like(logits_real).type(dtype)
        loss = bce_loss(logits_real, true_labels) + bce_loss(logits_fake, 1 - true_labels)
        return loss

    def generator_loss(logits_fake):
        true_labels = torch.ones_like(logits_fake).type(dtype)
        loss = bce_loss(logits_fake, true_labels)
        return loss

    def ls_discriminator_loss(scores_real, scores_fake):
        loss = 0.5 * torch.mean((scores_real - 1) ** 2) + 0.5 * torch.mean(scores_fake**2)
        return loss

    def ls_generator_loss(scores_fake):
        loss = 0.5 * torch.mean((scores_fake - 1) ** 2)
        return loss

    def get_optimizer(model):
        optimizer = optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
        return optimizer

    def build_dc_classifier(batch_size):
        return nn.Sequential(
            Unflatten(batch_size, 1, IMG, IMG),
            nn.Conv2d(1, 4, kernel_size=5, stride=1),
            nn.LeakyReLU(0.01),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(4, 6, kernel_size=5, stride=1),
            nn.LeakyReLU(0.01),
            nn.MaxPool2d(2, 2),
            GanFlatten(),
            nn.Linear(6, 6),
            nn.LeakyReLU(0.01),
            nn.Linear(6, 1),
        )

    def build_dc_generator(noise_dim=NOISE_DIM):
        return nn.Sequential(
            nn.Linear(noise_dim, 16),
            nn.ReLU(),
            nn.BatchNorm1d(16),
            nn.Linear(16, 4 * 4 * 8),
            nn.ReLU(),
            nn.BatchNorm1d(4 * 4 * 8),
            nn.Unflatten(1, (8, 4, 4)),
            nn.ConvTranspose2d(8, 4, kernel_size=4, stride=2, padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(4),
            nn.ConvTranspose2d(4, 1, kernel_size=4, stride=2, padding=1),
            nn.Tanh(),
            nn.Flatten(),
        )

    def count_params(model):
        """Count the number of parameters in the model."""
        param_count = np.sum([np.prod(p.size()) for p in model.parameters()])
        return param_count

    def show_images(images):
        images = np.reshape(images, [images.shape[0], -1])  # images reshape to (batch_size, D)
        sqrtn = int(np.ceil(np.sqrt(images.shape[0])))
        sqrtimg = int(np.ceil(np.sqrt(images.shape[1])))
        return float(np.abs(images.reshape(-1, sqrtimg, sqrtimg)).sum()) + sqrtn

    mnist = [(torch.from_numpy(img), 0) for img in init["mnist"]]
    loader_mnist = DataLoader(mnist, batch_size=GAN_BS, sampler=ChunkSampler(len(mnist), 0))

    def run_a_gan(
        D,
        G,
        D_solver,
        G_solver,
        discriminator_loss,
        generator_loss,
        show_every=2,
        batch_size=GAN_BS,
        noise_size=NOISE_DIM,
        num_epochs=2,
    ):
        iter_count = 0
        for _epoch in range(num_epochs):
            for x, _ in loader_mnist:
                if len(x) != batch_size:
                    continue
                D_solver.zero_grad()
                real_data = x.type(dtype)
                logits_real = D(2 * (real_data - 0.5)).type(dtype)

                g_fake_seed = sample_noise(batch_size, noise_size).type(dtype)
                fake_images = G(g_fake_seed).detach()
                logits_fake = D(fake_images.view(batch_size, 1, IMG, IMG))

                d_total_error = discriminator_loss(logits_real, logits_fake)
                d_total_error.backward()
                D_solver.step()

                G_solver.zero_grad()
                g_fake_seed = sample_noise(batch_size, noise_size).type(dtype)
                fake_images = G(g_fake_seed)

                gen_logits_fake = D(fake_images.view(batch_size, 1, IMG, IMG))
                g_error = generator_loss(gen_logits_fake)
                g_error.backward()
                G_solver.step()

                values.extend([d_total_error.item(), g_error.item()])
                if iter_count % show_every == 0:
                    imgs_numpy = fake_images.data.cpu().numpy()
                    values.append(show_images(imgs_numpy[0:16]))
                iter_count += 1

    z = sample_noise(3, 5)
    values += [float(z.min() >= -1), float(z.max() <= 1), float(z.dtype == torch.float64)]
    for d_loss, g_loss in (
        (discriminator_loss, generator_loss),
        (ls_discriminator_loss, ls_generator_loss),
    ):
        D = numpy_init(discriminator()).type(dtype)
        G = numpy_init(generator()).type(dtype)
        values += [float(count_params(D)), float(count_params(G))]
        run_a_gan(D, G, get_optimizer(D), get_optimizer(G), d_loss, g_loss)
        values.append(float(next(D.parameters()).dtype == torch.float32))

    D_DC = numpy_init(build_dc_classifier(GAN_BS)).type(dtype)
    G_DC = numpy_init(build_dc_generator()).type(dtype)
    values += [float(count_params(D_DC)), float(count_params(G_DC))]
    run_a_gan(
        D_DC, G_DC, get_optimizer(D_DC), get_optimizer(G_DC), discriminator_loss, generator_loss
    )
    # the older hand-written Unflatten reshapes the same way nn.Unflatten does
    flat = torch.arange(2 * 8 * 16, dtype=torch.float32).view(2, 8 * 16)
    values.append(float(torch.equal(Unflatten(2, 8, 4, 4)(flat), nn.Unflatten(1, (8, 4, 4))(flat))))
    G_DC.eval()
    with torch.no_grad():
        values.append(G_DC(sample_noise(2, NOISE_DIM).type(dtype)).sum().item())
    return values
