"""Stanford CS231n assignment 3, ``Transformer_Captioning.ipynb`` (``cs231n/
transformer_layers.py``, ``cs231n/classifiers/transformer.py``,
``cs231n/captioning_solver_transformer.py``), size-reduced.

The idioms: ``PositionalEncoding`` (``torch.zeros(1, max_len, embed_dim)``, ``torch.pow(10000,
-torch.arange(0, embed_dim, 2) / embed_dim)``, ``pe[0, :, 0::2] = torch.sin(i * pows)``,
``self.register_buffer('pe', pe)``, the unused ``torch.empty((N, S, D))`` placeholder then ``x
+ self.pe[:, :S]``); the hand-written ``MultiHeadAttention`` (``.view(N, S, H, E//H)
.transpose(1, 2)``, ``q @ k.transpose(2, 3) / math.sqrt(self.head_dim)``,
``e.masked_fill(attn_mask == 0, -math.inf)``, ``(a @ v).transpose(1, 2).reshape(N, S, E)``);
the post-norm ``TransformerDecoderLayer`` called with keyword ``query=``/``key=``/``value=``,
``clones`` (``nn.ModuleList([copy.deepcopy(module) for _ in range(N)])``);
``CaptioningTransformer`` (``nn.Embedding(vocab_size, wordvec_dim,
padding_idx=self._null)``, ``self.apply(self._init_weights)`` before the output layer is made,
``self.visual_projection(features).unsqueeze(1)``, ``torch.tril(torch.ones(T, T,
device=..., dtype=...))``, and ``sample``: ``torch.Tensor(features)`` from a NumPy float64
array, ``self._null * np.ones((N, max_length), dtype=np.int32)``,
``torch.LongTensor(partial_caption)``, ``torch.argmax(output_logits, axis=1)``,
``captions[:, t] = word.numpy()``, ``torch.cat([partial_caption, word], dim=1)``); the
notebook's ``torch.manual_seed(231)``/``np.random.seed(231)`` checks of ``PositionalEncoding(D,
dropout=0.0, max_len=S)`` and of the attention with a ``torch.randn(S, T) < 0.5`` mask; and
the solver's ``_step`` (``captions[:, :-1]``/``[:, 1:]``, ``mask = captions_out !=
self._null``, ``torch.LongTensor(mask)`` of a bool array, ``transformer_temporal_softmax_loss``
with ``cross_entropy(x_flat, y_flat, reduction='none')``, ``torch.mul(loss, mask_flat)``,
``torch.mean``, ``loss.detach().numpy()`` into ``loss_history``, ``torch.optim.Adam(
self.model.parameters(), self.learning_rate)``).

Changed: COCO features (512-d PCA) and captions -> random 6-d features and 7-token captions
over a 9-word vocabulary; wordvec_dim 256 -> 8, 2 heads, 2 layers, ``dim_feedforward`` 2048 ->
16; 100 iterations -> 4; sampling of 5 words.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
WORD_TO_IDX = {w: i for i, w in enumerate(
    ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "on", "the", "mat"])}  # fmt: skip


def _classes(torch_like: Any) -> tuple:
    torch, nn = torch_like, torch_like.nn

    class PositionalEncoding(nn.Module):
        """
        Encodes information about the positions of the tokens in the sequence. In
        this case, the layer has no learnable parameters, since it is a simple
        function of sines and cosines.
        """

        def __init__(self, embed_dim: int, dropout: float = 0.1, max_len: int = 5000) -> None:
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            assert embed_dim % 2 == 0
            # Create an array with a "batch dimension" of 1 (which will broadcast
            # across all examples in the batch).
            pe = torch.zeros(1, max_len, embed_dim)
            i = torch.arange(max_len)[:, None]
            pows = torch.pow(10000, -torch.arange(0, embed_dim, 2) / embed_dim)
            pe[0, :, 0::2] = torch.sin(i * pows)
            pe[0, :, 1::2] = torch.cos(i * pows)

            # Make sure the positional encodings will be saved with the model
            # parameters (mostly for completeness).
            self.register_buffer("pe", pe)

        def forward(self, x: Any) -> Any:
            N, S, D = x.shape
            # Create a placeholder, to be overwritten by your code below.
            output = torch.empty((N, S, D))
            output = x + self.pe[:, :S]
            output = self.dropout(output)
            return output

    class MultiHeadAttention(nn.Module):
        def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.1) -> None:
            super().__init__()
            assert embed_dim % num_heads == 0

            # We will initialize these layers for you, since swapping the ordering
            # would affect the random number generation (and therefore your exact
            # outputs relative to the autograder). Note that the layers use a bias
            # term, but this isn't strictly necessary (and varies by
            # implementation).
            self.key = nn.Linear(embed_dim, embed_dim)
            self.query = nn.Linear(embed_dim, embed_dim)
            self.value = nn.Linear(embed_dim, embed_dim)
            self.proj = nn.Linear(embed_dim, embed_dim)

            self.attn_drop = nn.Dropout(dropout)

            self.n_head = num_heads
            self.emd_dim = embed_dim
            self.head_dim = self.emd_dim // self.n_head

        def forward(self, query: Any, key: Any, value: Any, attn_mask: Any = None) -> Any:
            N, S, E = query.shape
            N, T, E = value.shape
            # Create a placeholder, to be overwritten by your code below.
            output = torch.empty((N, S, E))
            H = self.n_head
            q = self.query(query).view(N, S, H, E // H).transpose(1, 2)
            k = self.key(key).view(N, T, H, E // H).transpose(1, 2)
            v = self.value(value).view(N, T, H, E // H).transpose(1, 2)
            e = q @ k.transpose(2, 3) / math.sqrt(self.head_dim)
            if attn_mask is not None:
                e = e.masked_fill(attn_mask == 0, -math.inf)
            a = torch.softmax(e, dim=-1)
            a = self.attn_drop(a)
            output = (a @ v).transpose(1, 2).reshape(N, S, E)
            output = self.proj(output)
            return output

    class TransformerDecoderLayer(nn.Module):
        """
        A single layer of a Transformer decoder, to be used with TransformerDecoder.
        """

        def __init__(self, input_dim: int, num_heads: int, dim_feedforward: int = 2048,
                     dropout: float = 0.1) -> None:  # fmt: skip
            super().__init__()
            self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
            self.multihead_attn = MultiHeadAttention(input_dim, num_heads, dropout)
            self.linear1 = nn.Linear(input_dim, dim_feedforward)
            self.dropout = nn.Dropout(dropout)
            self.linear2 = nn.Linear(dim_feedforward, input_dim)

            self.norm1 = nn.LayerNorm(input_dim)
            self.norm2 = nn.LayerNorm(input_dim)
            self.norm3 = nn.LayerNorm(input_dim)
            self.dropout1 = nn.Dropout(dropout)
            self.dropout2 = nn.Dropout(dropout)
            self.dropout3 = nn.Dropout(dropout)

            self.activation = nn.ReLU()

        def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None) -> Any:
            # Perform self-attention on the target sequence (along with dropout and
            # layer norm).
            tgt2 = self.self_attn(query=tgt, key=tgt, value=tgt, attn_mask=tgt_mask)
            tgt = tgt + self.dropout1(tgt2)
            tgt = self.norm1(tgt)

            # Attend to both the target sequence and the sequence from the last
            # encoder layer.
            tgt2 = self.multihead_attn(query=tgt, key=memory, value=memory)
            tgt = tgt + self.dropout2(tgt2)
            tgt = self.norm2(tgt)

            # Pass
            tgt2 = self.linear2(self.dropout(self.activation(self.linear1(tgt))))
            tgt = tgt + self.dropout3(tgt2)
            tgt = self.norm3(tgt)
            return tgt

    def clones(module: Any, N: int) -> Any:
        "Produce N identical layers."
        return nn.ModuleList([copy.deepcopy(module) for _ in range(N)])

    class TransformerDecoder(nn.Module):
        def __init__(self, decoder_layer: Any, num_layers: int) -> None:
            super().__init__()
            self.layers = clones(decoder_layer, num_layers)
            self.num_layers = num_layers

        def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None) -> Any:
            output = tgt

            for mod in self.layers:
                output = mod(output, memory, tgt_mask=tgt_mask)

            return output

    class CaptioningTransformer(nn.Module):
        """
        A CaptioningTransformer produces captions from image features using a
        Transformer decoder.

        The Transformer receives input vectors of size D, has a vocab size of V,
        works on sequences of length T, uses word vectors of dimension W, and
        operates on minibatches of size N.
        """

        def __init__(self, word_to_idx: dict, input_dim: int, wordvec_dim: int,  # fmt: skip
                     num_heads: int = 4, num_layers: int = 2,
                     max_length: int = 50) -> None:  # fmt: skip
            super().__init__()

            vocab_size = len(word_to_idx)
            self.vocab_size = vocab_size
            self._null = word_to_idx["<NULL>"]
            self._start = word_to_idx.get("<START>", None)
            self._end = word_to_idx.get("<END>", None)

            self.visual_projection = nn.Linear(input_dim, wordvec_dim)
            self.embedding = nn.Embedding(vocab_size, wordvec_dim, padding_idx=self._null)
            self.positional_encoding = PositionalEncoding(wordvec_dim, max_len=max_length)

            decoder_layer = TransformerDecoderLayer(input_dim=wordvec_dim, num_heads=num_heads,
                                                    dim_feedforward=16)  # fmt: skip
            self.transformer = TransformerDecoder(decoder_layer, num_layers=num_layers)
            self.apply(self._init_weights)

            self.output = nn.Linear(wordvec_dim, vocab_size)

        def _init_weights(self, module: Any) -> None:
            """
            Initialize the weights of the network.
            """
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)

        def forward(self, features: Any, captions: Any) -> Any:
            N, T = captions.shape
            # Create a placeholder, to be overwritten by your code below.
            scores = torch.empty((N, T, self.vocab_size))
            caption_embeddings = self.embedding(captions)
            caption_embeddings = self.positional_encoding(caption_embeddings)
            projected_features = self.visual_projection(features).unsqueeze(1)
            tgt_mask = torch.tril(torch.ones(T, T, device=caption_embeddings.device,
                                             dtype=caption_embeddings.dtype))  # fmt: skip
            features = self.transformer(caption_embeddings, projected_features, tgt_mask)
            scores = self.output(features)
            return scores

        def sample(self, features: Any, max_length: int = 30) -> Any:
            with torch.no_grad():
                features = torch.Tensor(features)
                N = features.shape[0]

                # Create an empty captions tensor (where all tokens are NULL).
                captions = self._null * np.ones((N, max_length), dtype=np.int32)

                # Create a partial caption, with only the start token.
                partial_caption = self._start * np.ones(N, dtype=np.int32)
                partial_caption = torch.LongTensor(partial_caption)
                # [N] -> [N, 1]
                partial_caption = partial_caption.unsqueeze(1)

                for t in range(max_length):
                    # Predict the next token (ignoring all other time steps).
                    output_logits = self.forward(features, partial_caption)
                    output_logits = output_logits[:, -1, :]

                    # Choose the most likely word ID from the vocabulary.
                    # [N, V] -> [N]
                    word = torch.argmax(output_logits, axis=1)

                    # Update our overall caption and our current partial caption.
                    captions[:, t] = word.numpy()
                    word = word.unsqueeze(1)
                    partial_caption = torch.cat([partial_caption, word], dim=1)

                return captions

    return PositionalEncoding, MultiHeadAttention, CaptioningTransformer


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)[2](
        word_to_idx=WORD_TO_IDX, input_dim=6, wordvec_dim=8, num_heads=2, num_layers=2,
        max_length=30,
    )  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    PositionalEncoding, MultiHeadAttention, _ = _classes(torch_like)
    values: list[float] = []

    # the notebook's checks (with its seeds)
    torch.manual_seed(231)
    np.random.seed(231)
    N, S, D = 1, 4, 6
    x = np.random.randn(N, S, D)
    pe = PositionalEncoding(D, dropout=0.0, max_len=S)
    output = pe(torch.Tensor(x))
    values += [output.sum().item(), pe.pe[0, 3, 1].item()]

    attn = MultiHeadAttention(8, num_heads=2, dropout=0.0)
    state = {k: torch.from_numpy(np.random.randn(*v.shape).astype(np.float32) * 0.3)
             for k, v in attn.state_dict().items()}  # fmt: skip
    attn.load_state_dict(state)
    data = torch.Tensor(np.random.randn(1, 4, 8))
    other = torch.Tensor(np.random.randn(1, 3, 8))
    mask = torch.from_numpy(np.random.randn(4, 3) < 0.5)
    values.append(attn(query=data, key=other, value=other, attn_mask=mask).sum().item())
    values.append(attn(query=data, key=data, value=data).sum().item())

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    learning_rate = 1e-3
    optim = torch.optim.Adam(model.parameters(), learning_rate)
    _null = WORD_TO_IDX["<NULL>"]

    def transformer_temporal_softmax_loss(x: Any, y: Any, mask: Any) -> Any:
        N, T, V = x.shape

        x_flat = x.reshape(N * T, V)
        y_flat = y.reshape(N * T)
        mask_flat = mask.reshape(N * T)

        loss = torch.nn.functional.cross_entropy(x_flat, y_flat, reduction="none")
        loss = torch.mul(loss, mask_flat)
        loss = torch.mean(loss)

        return loss

    rng = np.random.default_rng(231)
    loss_history = []
    torch.manual_seed(0)
    for _ in range(4):
        captions = rng.integers(4, 9, (4, 7)).astype(np.int32)
        captions[:, 0] = WORD_TO_IDX["<START>"]
        ends = rng.integers(3, 7, 4)
        for row, end in enumerate(ends):
            captions[row, end] = WORD_TO_IDX["<END>"]
            captions[row, end + 1 :] = _null
        features = rng.normal(size=(4, 6))

        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != _null

        t_features = torch.Tensor(features)
        t_captions_in = torch.LongTensor(captions_in)
        t_captions_out = torch.LongTensor(captions_out)
        t_mask = torch.LongTensor(mask)
        logits = model(t_features, t_captions_in)

        loss = transformer_temporal_softmax_loss(logits, t_captions_out, t_mask)
        loss_history.append(loss.detach().numpy())
        optim.zero_grad()
        loss.backward()
        optim.step()
    values += [float(v) for v in loss_history]

    model.eval()
    sampled = model.sample(rng.normal(size=(2, 6)), max_length=5)
    values += [int(sampled.sum()), sampled.dtype == np.int32]
    return values
