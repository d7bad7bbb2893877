"""ethanjperez/film (``vr/models/filmed_net.py``, ``vr/models/film_gen.py``,
``vr/models/layers.py``), size-reduced: ``FiLM.forward`` (``gammas.unsqueeze(2).unsqueeze(3)
.expand_as(x)``, ``(gammas * x) + betas``); ``FiLMedResBlock`` in 'bn-film' mode (an
``input_proj`` 1x1 conv on the features concatenated with coordinate maps, ``nn.BatchNorm2d(
out_dim, affine=False)`` before the FiLM layer, ``F.relu``, the residual ``x + out``);
``coord_map`` (``torch.linspace(start, end, steps=n).type(torch.FloatTensor)``,
``.unsqueeze(0).expand(torch.Size((m, n))).unsqueeze(0)``, ``Variable(torch.cat([x_coords,
y_coords], 0))``) expanded over the batch; ``FiLMGen.encoder``'s last non-null token search
(``idx = torch.LongTensor(N).fill_(T-1)``, ``x_cpu = x.data.cpu()``, the double Python loop
comparing ``x_cpu[i, t] != self.NULL``, ``idx.type_as(x.data).long()``, ``idx.requires_grad =
False``, ``idx.view(N, 1, 1).expand(N, 1, H)``, ``hs.gather(1, idx).view(N, H)``) over an
``nn.Embedding`` + ``nn.GRU(batch_first=True)``; the decoder's ``film_pre_mod.view(N,
self.num_modules, self.cond_feat_size)``; ``FiLMedNet.forward``'s ``gammas, betas =
torch.split(film[:,:,:2*self.module_dim], self.module_dim, dim=-1)``, the linear gamma
baseline ``gammas = gammas + self.gamma_baseline``, per-module ``gammas[:,fn_num,:]`` and the
classifier's ``nn.MaxPool2d`` + ``nn.Linear``; ``train_loop``'s ``Adam`` for both networks,
``F.cross_entropy(scores, answers)`` and ``scores.data.cpu().max(1)`` accuracy.

Changed: the ResNet-101 feature extractor on CLEVR -> random 6-channel 4x4 feature maps, 128 ->
4 module channels, 4 -> 2 FiLMed blocks, vocabulary 12 tokens, 3 answers, 4 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
VOCAB, NULL, T, MODULE_DIM, NUM_MODULES, N_ANSWERS, FEAT_C = 12, 0, 5, 4, 2, 3, 6


def coord_map(torch: Any, shape: tuple, start: float = -1, end: float = 1) -> Any:
    """
    Gives, a 2d shape tuple, returns two mxn coordinate maps,
    Ranging min-max in the x and y directions, respectively.
    """
    Variable = torch.autograd.Variable
    m, n = shape
    x_coord_row = torch.linspace(start, end, steps=n).type(torch.FloatTensor)
    y_coord_row = torch.linspace(start, end, steps=m).type(torch.FloatTensor)
    x_coords = x_coord_row.unsqueeze(0).expand(torch.Size((m, n))).unsqueeze(0)
    y_coords = y_coord_row.unsqueeze(1).expand(torch.Size((m, n))).unsqueeze(0)
    return Variable(torch.cat([x_coords, y_coords], 0))


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class FiLM(nn.Module):
        """
        A Feature-wise Linear Modulation Layer from
        'FiLM: Visual Reasoning with a General Conditioning Layer'
        """

        def forward(self, x: Any, gammas: Any, betas: Any) -> Any:
            gammas = gammas.unsqueeze(2).unsqueeze(3).expand_as(x)
            betas = betas.unsqueeze(2).unsqueeze(3).expand_as(x)
            return (gammas * x) + betas

    class FiLMedResBlock(nn.Module):
        def __init__(self, in_dim: int, out_dim: int | None = None, with_residual: bool = True,
                     with_batchnorm: bool = True, num_extra_channels: int = 2,
                     with_input_proj: int = 1, kernel_size: int = 3,
                     batchnorm_affine: bool = False) -> None:  # fmt: skip
            if out_dim is None:
                out_dim = in_dim
            super(FiLMedResBlock, self).__init__()  # noqa: UP008
            self.with_residual = with_residual
            self.with_batchnorm = with_batchnorm
            self.with_input_proj = with_input_proj  # Kernel size of input projection
            self.kernel_size = kernel_size
            self.input_proj = nn.Conv2d(in_dim + num_extra_channels, in_dim,
                                        kernel_size=with_input_proj,
                                        padding=with_input_proj // 2)  # fmt: skip
            self.conv1 = nn.Conv2d(in_dim, out_dim, kernel_size=self.kernel_size,
                                   padding=self.kernel_size // 2)  # fmt: skip
            if self.with_batchnorm:
                self.bn1 = nn.BatchNorm2d(out_dim, affine=batchnorm_affine)
            self.film = FiLM()

        def forward(self, x: Any, gammas: Any = None, betas: Any = None,
                    extra_channels: Any = None) -> Any:  # fmt: skip
            if self.with_input_proj:
                x = torch.cat([x, extra_channels], 1)
            x = F.relu(self.input_proj(x))
            out = x

            out = self.conv1(out)
            if self.with_batchnorm:
                out = self.bn1(out)
            out = self.film(out, gammas, betas)
            out = F.relu(out)

            if self.with_residual:
                out = x + out
            return out

    class FiLMGen(nn.Module):
        def __init__(self, null_token: int = 0, wordvec_dim: int = 6, hidden_dim: int = 8,
                     module_dim: int = MODULE_DIM,
                     num_modules: int = NUM_MODULES) -> None:  # fmt: skip
            super(FiLMGen, self).__init__()  # noqa: UP008
            self.NULL = null_token
            self.num_modules = num_modules
            self.module_dim = module_dim
            self.cond_feat_size = 2 * self.module_dim  # FiLM params per ResBlock
            self.encoder_embed = nn.Embedding(VOCAB, wordvec_dim)
            self.encoder_rnn = nn.GRU(wordvec_dim, hidden_dim, 1, dropout=0, batch_first=True)
            self.decoder_linear = nn.Linear(hidden_dim, self.num_modules * self.cond_feat_size)

        def encoder(self, x: Any) -> Any:
            V_in, V_out, D, H, H_full, L, N, T_in, T_out = self.get_dims(x=x)
            embed = self.encoder_embed(x)
            # Find the last non-null element in each sequence
            idx = torch.LongTensor(N).fill_(T_in - 1)
            x_cpu = x.data.cpu()
            for i in range(N):
                for t in range(T_in - 1):
                    if x_cpu[i, t] != self.NULL and x_cpu[i, t + 1] == self.NULL:
                        idx[i] = t
                        break
            idx = idx.type_as(x.data).long()
            idx.requires_grad = False

            hs, _ = self.encoder_rnn(embed)

            H = hs.size(2)
            idx = idx.view(N, 1, 1).expand(N, 1, H)
            return hs.gather(1, idx).view(N, H)

        def get_dims(self, x: Any = None) -> tuple:
            V_in = self.encoder_embed.num_embeddings
            V_out = self.cond_feat_size
            D = self.encoder_embed.embedding_dim
            H = self.encoder_rnn.hidden_size
            H_full = self.encoder_rnn.hidden_size * self.encoder_rnn.num_layers
            L = self.encoder_rnn.num_layers
            N = x.size(0) if x is not None else None
            T_in = x.size(1) if x is not None else None
            T_out = self.num_modules
            return V_in, V_out, D, H, H_full, L, N, T_in, T_out

        def forward(self, x: Any) -> Any:
            encoded = self.encoder(x)
            film_pre_mod = self.decoder_linear(encoded)
            N = x.size(0)
            film_pre_mod = film_pre_mod.view(N, self.num_modules, self.cond_feat_size)
            return film_pre_mod

    class FiLMedNet(nn.Module):
        def __init__(self) -> None:
            super(FiLMedNet, self).__init__()  # noqa: UP008
            self.module_dim = MODULE_DIM
            self.num_modules = NUM_MODULES
            self.gamma_baseline = 1
            self.stem = nn.Sequential(nn.Conv2d(FEAT_C + 2, MODULE_DIM, 3, padding=1),
                                      nn.BatchNorm2d(MODULE_DIM), nn.ReLU())  # fmt: skip
            self.module_blocks = nn.ModuleList(
                [FiLMedResBlock(MODULE_DIM) for _ in range(NUM_MODULES)]
            )
            self.classifier = nn.Sequential(
                nn.Conv2d(MODULE_DIM + 2, 8, kernel_size=1),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=2, stride=2, padding=0),
                nn.Flatten(),
                nn.Linear(8 * 2 * 2, N_ANSWERS),
            )

        def forward(self, x: Any, film: Any) -> Any:
            N = x.size(0)
            coords = coord_map(torch, (x.size(2), x.size(3)))
            batch_coords = coords.unsqueeze(0).expand(torch.Size((N, *coords.size())))
            gammas, betas = torch.split(film[:, :, : 2 * self.module_dim], self.module_dim,
                                        dim=-1)  # fmt: skip
            gammas = gammas + self.gamma_baseline
            feats = self.stem(torch.cat([x, batch_coords], 1))
            for fn_num in range(self.num_modules):
                feats = self.module_blocks[fn_num](feats, gammas[:, fn_num, :],
                                                   betas[:, fn_num, :], batch_coords)  # fmt: skip
            return self.classifier(torch.cat([feats, batch_coords], 1))

    return nn.ModuleDict({"program_generator": FiLMGen(), "execution_engine": FiLMedNet()})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(9)
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    program_generator = models["program_generator"]
    execution_engine = models["execution_engine"]
    pg_optimizer = torch.optim.Adam(program_generator.parameters(), lr=3e-3)
    ee_optimizer = torch.optim.Adam(execution_engine.parameters(), lr=3e-3, weight_decay=1e-5)
    values: list[float] = []
    for _ in range(4):
        questions = rng.integers(1, VOCAB, size=(3, T))
        for i, length in enumerate(rng.integers(2, T + 1, size=3)):
            questions[i, length:] = NULL
        questions_var = as_tensor(torch, questions)
        feats_var = as_tensor(torch, rng.normal(size=(3, FEAT_C, 4, 4)).astype(np.float32))
        answers_var = as_tensor(torch, rng.integers(0, N_ANSWERS, size=3))
        pg_optimizer.zero_grad()
        ee_optimizer.zero_grad()
        programs_pred = program_generator(questions_var)
        scores = execution_engine(feats_var, programs_pred)
        loss = F.cross_entropy(scores, answers_var)
        loss.backward()
        pg_optimizer.step()
        ee_optimizer.step()
        _, preds = scores.data.cpu().max(1)
        values += [loss.item(), float((preds == answers_var).sum())]
    return values
