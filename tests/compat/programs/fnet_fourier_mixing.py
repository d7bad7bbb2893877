"""FNet token mixing as written in its PyTorch ports: rishikksh20/FNet-pytorch's ``FNetBlock``
(``torch.fft.fft(torch.fft.fft(x, dim=-1), dim=-2).real``) and the common one-call form
``torch.fft.fft2(x, dim=(-2, -1)).real``, and HuggingFace ``modeling_fnet.py``'s
``FNetBasicFourierTransform`` (``partial(torch.fft.fftn, dim=(1, 2))`` and, for the TPU
optimisation, ``two_dim_matmul``: DFT matrices as ``register_buffer`` of ``complex64`` tensors,
``x.type(torch.complex64)``, ``torch.einsum("bij,jk,ni->bnk", x, matrix_dim_two,
matrix_dim_one)``, ``matrix_dim_one[:seq_length, :seq_length]``); ``FNetEmbeddings``
(word + position + token-type ``nn.Embedding``, ``self.position_ids[:, :seq_length]`` from a
``register_buffer(..., persistent=False)`` of ``torch.arange(...).expand((1, -1))``,
``LayerNorm``, the ``projection`` Linear), the ``PreNorm``/``FeedForward`` residual layers with
``nn.GELU``, the pooler (``torch.tanh(self.dense(hidden_states[:, 0]))``) and sequence
classification with ``CrossEntropyLoss`` and AdamW, one model per mixing form.

Changed: hidden 768 -> 8, 12 layers -> 2, vocab 32000 -> 20, sequences of 6 tokens, 3 steps per
model; the DFT matrices are ``np.fft.fft(np.eye(n))`` (``scipy.linalg.dft`` in the library);
data from a seeded NumPy generator. float64 (PyTorch's float32 ``tanh`` rounds to exactly 1 on
a band of large inputs where NumPy's stays one ulp below, so a saturated pooler unit has a zero
gradient in one and ~1e-9 in the other, which Adam turns into a full step).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

RTOL, ATOL = 1e-5, 1e-7  # the DFT-matrix path runs in complex64
VOCAB, HIDDEN, SEQ, MAX_POS, LABELS = 20, 8, 6, 8, 3
KINDS = ("fft_fft", "fft2", "fftn", "dft_matmul")


def make_model(torch_like: Any, kind: str = "fft2") -> Any:
    torch, nn = torch_like, torch_like.nn

    def two_dim_matmul(x: Any, matrix_dim_one: Any, matrix_dim_two: Any) -> Any:
        """Applies 2D matrix multiplication to 3D input arrays."""
        seq_length = x.shape[1]
        matrix_dim_one = matrix_dim_one[:seq_length, :seq_length]
        x = x.type(torch.complex64)
        return torch.einsum("bij,jk,ni->bnk", x, matrix_dim_two, matrix_dim_one)

    class FNetBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if kind == "fftn":
                self.fourier_transform = partial(torch.fft.fftn, dim=(1, 2))
            elif kind == "dft_matmul":
                dft_seq = np.fft.fft(np.eye(MAX_POS))
                dft_hidden = np.fft.fft(np.eye(HIDDEN))
                self.register_buffer(
                    "dft_mat_hidden", torch.tensor(dft_hidden, dtype=torch.complex64)
                )
                self.register_buffer("dft_mat_seq", torch.tensor(dft_seq, dtype=torch.complex64))
                self.fourier_transform = partial(two_dim_matmul, matrix_dim_one=self.dft_mat_seq,
                                                 matrix_dim_two=self.dft_mat_hidden)  # fmt: skip

        def forward(self, x: Any) -> Any:
            if kind == "fft_fft":
                x = torch.fft.fft(torch.fft.fft(x, dim=-1), dim=-2).real
                return x
            if kind == "fft2":
                return torch.fft.fft2(x, dim=(-2, -1)).real
            return self.fourier_transform(x).real

    class PreNorm(nn.Module):
        def __init__(self, dim: int, fn: Any) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(dim)
            self.fn = fn

        def forward(self, x: Any, **kwargs: Any) -> Any:
            return self.fn(self.norm(x), **kwargs)

    class FeedForward(nn.Module):
        def __init__(self, dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(dim, hidden_dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_dim, dim),
                nn.Dropout(dropout),
            )

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class FNetEmbeddings(nn.Module):
        """Construct the embeddings from word, position and token_type embeddings."""

        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=3)
            self.position_embeddings = nn.Embedding(MAX_POS, HIDDEN)
            self.token_type_embeddings = nn.Embedding(2, HIDDEN)
            self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-12)
            # NOTE: This is the project layer and will be needed. The original code allows
            # for different embedding and different model dimensions.
            self.projection = nn.Linear(HIDDEN, HIDDEN)
            self.dropout = nn.Dropout(0.0)
            self.register_buffer(
                "position_ids", torch.arange(MAX_POS).expand((1, -1)), persistent=False
            )
            self.register_buffer(
                "token_type_ids",
                torch.zeros(self.position_ids.size(), dtype=torch.long),
                persistent=False,
            )

        def forward(self, input_ids: Any, token_type_ids: Any = None) -> Any:
            input_shape = input_ids.size()
            seq_length = input_shape[1]
            position_ids = self.position_ids[:, :seq_length]
            if token_type_ids is None:
                buffered_token_type_ids = self.token_type_ids[:, :seq_length]
                token_type_ids = buffered_token_type_ids.expand(input_shape[0], seq_length)
            inputs_embeds = self.word_embeddings(input_ids)
            token_type_embeddings = self.token_type_embeddings(token_type_ids)
            embeddings = inputs_embeds + token_type_embeddings
            embeddings += self.position_embeddings(position_ids)
            embeddings = self.LayerNorm(embeddings)
            embeddings = self.projection(embeddings)
            embeddings = self.dropout(embeddings)
            return embeddings

    class FNetForSequenceClassification(nn.Module):
        def __init__(self, depth: int = 2, mlp_dim: int = 16) -> None:
            super().__init__()
            self.embeddings = FNetEmbeddings()
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                self.layers.append(
                    nn.ModuleList(
                        [
                            PreNorm(HIDDEN, FNetBlock()),
                            PreNorm(HIDDEN, FeedForward(HIDDEN, mlp_dim)),
                        ]
                    )
                )
            self.dense = nn.Linear(HIDDEN, HIDDEN)
            self.classifier = nn.Linear(HIDDEN, LABELS)

        def forward(self, input_ids: Any, token_type_ids: Any = None) -> Any:
            x = self.embeddings(input_ids, token_type_ids)
            for attn, ff in self.layers:
                x = attn(x) + x
                x = ff(x) + x
            # We "pool" the model by simply taking the hidden state corresponding
            # to the first token.
            pooled_output = torch.tanh(self.dense(x[:, 0]))
            return self.classifier(pooled_output)

    return FNetForSequenceClassification()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    values: list[float] = []
    for kind in KINDS:
        rng = np.random.default_rng(2021)
        model = make_model(torch_like, kind)
        if init is not None:
            model.load_state_dict({k: torch.tensor(v) for k, v in init.items()}, strict=False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        loss_fct = torch.nn.CrossEntropyLoss()
        for _step in range(3):
            input_ids = torch.from_numpy(rng.integers(0, VOCAB, (4, SEQ)))
            token_type_ids = torch.from_numpy((np.arange(SEQ) >= 3).astype(np.int64)).expand(4, -1)
            labels = torch.from_numpy(rng.integers(0, LABELS, 4))
            logits = model(input_ids, token_type_ids if _step % 2 else None)
            loss = loss_fct(logits.view(-1, LABELS), labels.view(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(rng.integers(0, VOCAB, (2, SEQ - 1))))
        values += [logits.softmax(-1)[:, 0].sum().item()]
    return values
