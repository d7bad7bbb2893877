"""caogang/wgan-gp ``gan_toy.py`` (the reference PyTorch port of "Improved Training of
Wasserstein GANs" on 2-D toy data), size-reduced: the ReLU ``Generator``/``Discriminator``
``nn.Sequential`` MLPs (``nn.ReLU(True)``, ``output.view(-1)``, the ``FIXED_GENERATOR`` switch),
``weights_init`` by class name (``classname.find('Linear') != -1``,
``m.weight.data.normal_(0.0, 0.02)``, ``m.bias.data.fill_(0)``) through ``netG.apply``; the
``8gaussians`` generator (``dataset /= 1.414``); ``calc_gradient_penalty`` (``alpha.expand(
real_data.size())``, ``alpha * real_data + ((1 - alpha) * fake_data)``, ``autograd.Variable(
interpolates, requires_grad=True)``, ``autograd.grad(outputs=..., inputs=...,
grad_outputs=torch.ones(disc_interpolates.size()), create_graph=True, retain_graph=True,
only_inputs=True)[0]``, ``((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA``) whose
``backward`` differentiates through the gradient (double backward through ReLU MLPs); the
training loop (``for p in netD.parameters(): p.requires_grad = True`` / ``False`` around the
critic and generator phases, ``netD.zero_grad()``, ``D_real.backward(mone)``/
``D_fake.backward(one)``, ``autograd.Variable(netG(noisev, real_data_v).data)`` to cut the
generator out of the critic's graph, ``D_cost``/``Wasserstein_D``, ``optim.Adam(lr, betas=(0.5,
0.9))``, ``G.backward(mone)``).

Changed: DIM 512 -> 16, BATCH_SIZE 256 -> 16, ITERS 100000 -> 3 (CRITIC_ITERS 5 kept), lr 1e-4
-> 1e-3; every random draw (the data, ``torch.randn(BATCH_SIZE, 2)`` noise, ``torch.rand(
BATCH_SIZE, 1)`` alphas) comes from a seeded NumPy generator; ``one = torch.FloatTensor([1])``
is ``torch.tensor(1, dtype=torch.float)`` (a shape-[1] gradient for a 0-d output is an error in
modern PyTorch, and the repository's later revision made the same change); ``Variable(noise,
volatile=True)`` is plain ``Variable(noise)`` under ``torch.no_grad()`` (``volatile`` has been
removed and warns); both the learned and the ``FIXED_GENERATOR`` settings are run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-6
DIM, BATCH_SIZE, CRITIC_ITERS, ITERS, LAMBDA = 16, 16, 5, 3, 0.1


def _nets(torch_like: Any, fixed_generator: bool) -> tuple[Any, Any]:
    nn = torch_like.nn

    class Generator(nn.Module):
        def __init__(self) -> None:
            super(Generator, self).__init__()  # noqa: UP008 (as in the repository)

            main = nn.Sequential(
                nn.Linear(2, DIM),
                nn.ReLU(True),
                nn.Linear(DIM, DIM),
                nn.ReLU(True),
                nn.Linear(DIM, DIM),
                nn.ReLU(True),
                nn.Linear(DIM, 2),
            )
            self.main = main

        def forward(self, noise: Any, real_data: Any) -> Any:
            if fixed_generator:
                return noise + real_data
            else:
                output = self.main(noise)
                return output

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super(Discriminator, self).__init__()  # noqa: UP008

            main = nn.Sequential(
                nn.Linear(2, DIM),
                nn.ReLU(True),
                nn.Linear(DIM, DIM),
                nn.ReLU(True),
                nn.Linear(DIM, DIM),
                nn.ReLU(True),
                nn.Linear(DIM, 1),
            )
            self.main = main

        def forward(self, inputs: Any) -> Any:
            output = self.main(inputs)
            return output.view(-1)

    return Generator(), Discriminator()


def make_model(torch_like: Any) -> Any:
    # custom weights initialization called on netG and netD
    def weights_init(m: Any) -> None:
        classname = m.__class__.__name__
        if classname.find("Linear") != -1:
            m.weight.data.normal_(0.0, 0.02)
            m.bias.data.fill_(0)
        elif classname.find("BatchNorm") != -1:
            m.weight.data.normal_(1.0, 0.02)
            m.bias.data.fill_(0)

    netG, netD = _nets(torch_like, fixed_generator=False)
    netG.apply(weights_init)
    netD.apply(weights_init)
    return torch_like.nn.ModuleDict({"G": netG, "D": netD})


def run(torch_like: Any, init: dict | None) -> list[float]:
    values: list[float] = []
    for fixed in (False, True):
        values += _train(torch_like, init, fixed)
    return values


def _train(torch_like: Any, init: dict | None, fixed: bool) -> list[float]:
    torch, optim, autograd = torch_like, torch_like.optim, torch_like.autograd
    values: list[float] = []
    rng = np.random.default_rng(23)
    netG, netD = _nets(torch_like, fixed_generator=fixed)
    if init is not None:
        nets = torch.nn.ModuleDict({"G": netG, "D": netD})
        nets.load_state_dict({k: torch.tensor(v) for k, v in init.items()})

    def inf_train_gen() -> Any:
        scale = 2.0
        centers = [(1, 0), (-1, 0), (0, 1), (0, -1)]
        centers += [(1.0 / np.sqrt(2), 1.0 / np.sqrt(2)), (1.0 / np.sqrt(2), -1.0 / np.sqrt(2))]
        centers += [(-1.0 / np.sqrt(2), 1.0 / np.sqrt(2))]
        centers += [(-1.0 / np.sqrt(2), -1.0 / np.sqrt(2))]
        centers = [(scale * x, scale * y) for x, y in centers]
        while True:
            dataset = []
            for _i in range(BATCH_SIZE):
                point = rng.standard_normal(2) * 0.02
                center = centers[int(rng.integers(len(centers)))]
                point[0] += center[0]
                point[1] += center[1]
                dataset.append(point)
            dataset = np.array(dataset, dtype="float32")
            dataset /= 1.414  # stdev
            yield dataset

    def calc_gradient_penalty(netD: Any, real_data: Any, fake_data: Any) -> Any:
        alpha = torch.from_numpy(rng.random((BATCH_SIZE, 1)).astype(np.float32))
        alpha = alpha.expand(real_data.size())

        interpolates = alpha * real_data + ((1 - alpha) * fake_data)
        interpolates = autograd.Variable(interpolates, requires_grad=True)

        disc_interpolates = netD(interpolates)

        gradients = autograd.grad(
            outputs=disc_interpolates,
            inputs=interpolates,
            grad_outputs=torch.ones(disc_interpolates.size()),
            create_graph=True,
            retain_graph=True,
            only_inputs=True,
        )[0]

        gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
        return gradient_penalty

    optimizerD = optim.Adam(netD.parameters(), lr=1e-3, betas=(0.5, 0.9))
    optimizerG = optim.Adam(netG.parameters(), lr=1e-3, betas=(0.5, 0.9))

    one = torch.tensor(1, dtype=torch.float)
    mone = one * -1

    data = inf_train_gen()

    for _iteration in range(ITERS):
        ############################
        # (1) Update D network
        ###########################
        for p in netD.parameters():  # reset requires_grad
            p.requires_grad = True  # they are set to False below in netG update

        for _iter_d in range(CRITIC_ITERS):
            _data = next(data)
            real_data = torch.Tensor(_data)
            real_data_v = autograd.Variable(real_data)

            netD.zero_grad()

            # train with real
            D_real = netD(real_data_v)
            D_real = D_real.mean()
            D_real.backward(mone)

            # train with fake
            noise = torch.from_numpy(rng.standard_normal((BATCH_SIZE, 2)).astype(np.float32))
            with torch.no_grad():
                noisev = autograd.Variable(noise)  # totally freeze netG
                fake = autograd.Variable(netG(noisev, real_data_v).data)
            inputv = fake
            D_fake = netD(inputv)
            D_fake = D_fake.mean()
            D_fake.backward(one)

            # train with gradient penalty
            gradient_penalty = calc_gradient_penalty(netD, real_data_v.data, fake.data)
            gradient_penalty.backward()

            D_cost = D_fake - D_real + gradient_penalty
            Wasserstein_D = D_real - D_fake
            optimizerD.step()
            values += [D_cost.item(), Wasserstein_D.item(), gradient_penalty.item()]

        if not fixed:
            ############################
            # (2) Update G network
            ###########################
            for p in netD.parameters():
                p.requires_grad = False  # to avoid computation
            netG.zero_grad()

            _data = next(data)
            real_data = torch.Tensor(_data)
            real_data_v = autograd.Variable(real_data)

            noise = torch.from_numpy(rng.standard_normal((BATCH_SIZE, 2)).astype(np.float32))
            noisev = autograd.Variable(noise)
            fake = netG(noisev, real_data_v)
            G = netD(fake)
            G = G.mean()
            G.backward(mone)
            G_cost = -G
            optimizerG.step()
            values.append(G_cost.item())
            values.append(sum(p.grad is None for p in netD.parameters()))
    return values
