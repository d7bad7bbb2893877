"""Stanford CS224n assignment 5 (2021-2023, "Self-Attention, Transformers, and Pretraining":
``src/dataset.py``, ``src/attention.py``, ``src/model.py``, ``src/trainer.py``,
``src/utils.py``, ``src/run.py``), size-reduced: span-corruption pretraining, then name ->
birthplace finetuning of a minGPT with the dense ``SynthesizerAttention``.

The idioms: ``CharCorruptionDataset.__getitem__`` (``random.randint(4, int(self.block_size*7/8))``
truncation, ``prefix + self.MASK_CHAR + suffix + self.MASK_CHAR + masked_content``, ``+=
self.PAD_CHAR * (self.block_size - len(masked_string))``, ``torch.tensor([self.stoi[c] for c in
x], dtype=torch.long)``) and ``NameDataset`` (``self.data[idx].split('\t')``, ``y =
self.PAD_CHAR*(len(inp)-1) + x[len(inp):]``); ``CausalSelfAttention`` (a
``register_buffer("mask", torch.tril(torch.ones(...)).view(1, 1, block_size, block_size))``,
``(q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))``, ``att.masked_fill(
self.mask[:,:,:T,:T] == 0, -1e10)``, ``y.transpose(1, 2).contiguous().view(B, T, C)``);
``SynthesizerAttention`` (``nn.Parameter(torch.zeros(config.n_embd // config.n_head,
config.block_size-1))``, ``nn.init.uniform_(self.w2,-0.001,0.001)``, ``F.relu(self.w1(x))
.view(B, T, self.n_head, d_k).transpose(1, 2)``, ``(relu_out @ self.w2) + self.b2``,
``scores[:,:,:T,:T]``); the ``GPT`` (``nn.Parameter(torch.zeros(1, config.block_size,
config.n_embd))`` positions, ``self.apply(self._init_weights)`` with ``module.weight.data
.normal_(mean=0.0, std=0.02)``, ``F.cross_entropy(logits.view(-1, logits.size(-1)),
targets.view(-1), ignore_index=0)``); the ``Trainer`` (``no_decay = ["bias",
"LayerNorm.weight"]`` parameter groups into ``optim.AdamW(optim_groups, lr=...,
betas=config.betas)``, ``self.tokens += (y >= 0).sum()``, the warmup/cosine ``lr_mult`` set on
every ``param_group['lr']``, ``torch.nn.utils.clip_grad_norm_``, ``model.load_state_dict(
torch.load(...))`` between the two phases); and ``utils.sample`` under
``@torch.no_grad()`` (``x[:, -block_size:]``, ``top_k_logits``' ``out[out < v[:, [-1]]] =
-float('Inf')``, ``torch.topk(probs, k=1, dim=-1)``, ``torch.cat((x, ix), dim=1)``) with the
``evaluate_places`` accuracy.

Changed: the Wikipedia and birth-place corpora -> a few synthetic lines; block_size 128 -> 32,
n_layer 4 -> 1, n_head 8 -> 2, n_embd 256 -> 8; 650 + 75 epochs -> 2 steps each, batch 4;
``num_workers`` 4 -> 0; the checkpoint goes to a temporary directory.
"""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

DTYPE = "float32"
PRETRAIN = (
    "Khatchig Mouradian. Khatchig Mouradian is a journalist, writer and translator born in "
    "Lebanon.\n"
    "Jacob Henry Studer. Jacob Henry Studer was a printer, publisher, engraver born in Columbus.\n"
    "John Stephen. Born in Glasgow, Stephen became a major figure in the fashion world.\n"
    "Georgina Willis. Georgina Willis is an award winning film director who was born in "
    "Australia.\n"
)
NAMES = "Khatchig Mouradian\tLebanon\nJacob Henry Studer\tColumbus\nJohn Stephen\tGlasgow\n"


def run(torch_like: Any, init: Any) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader
    random.seed(224)
    values: list[float] = []

    class CharCorruptionDataset(Dataset):
        def __init__(self, data: str, block_size: int) -> None:
            self.MASK_CHAR = "\u2047"  # the doublequestionmark character, for mask
            self.PAD_CHAR = "\u25a1"  # the empty square character, for pad

            chars = list(sorted(list(set(data))))
            assert self.MASK_CHAR not in chars
            assert self.PAD_CHAR not in chars
            chars.insert(0, self.MASK_CHAR)
            chars.insert(0, self.PAD_CHAR)

            self.stoi = {ch: i for i, ch in enumerate(chars)}
            self.itos = {i: ch for i, ch in enumerate(chars)}

            data_size, vocab_size = len(data), len(chars)  # noqa: F841 (as in the assignment)
            self.block_size = block_size
            self.vocab_size = vocab_size
            self.data = data.split("\n")

        def __len__(self) -> int:
            # returns the length of the dataset
            return len(self.data)

        def __getitem__(self, idx: int) -> tuple[Any, Any]:
            document = self.data[idx]
            truncated_len = random.randint(4, int(self.block_size * 7 / 8))
            truncated_document = document[:truncated_len]
            masked_content_len = random.randint(1, int(truncated_len / 2))
            prefix_len = random.randint(1, truncated_len - masked_content_len - 1)
            prefix = truncated_document[:prefix_len]
            masked_content = truncated_document[prefix_len : prefix_len + masked_content_len]
            suffix = truncated_document[prefix_len + masked_content_len :]
            masked_string = prefix + self.MASK_CHAR + suffix + self.MASK_CHAR + masked_content
            masked_string += self.PAD_CHAR * (self.block_size - len(masked_string))
            x = masked_string[:-1]
            y = masked_string[1:]
            x = torch.tensor([self.stoi[c] for c in x], dtype=torch.long)
            y = torch.tensor([self.stoi[c] for c in y], dtype=torch.long)
            return x, y

    class NameDataset(Dataset):
        def __init__(self, pretraining_dataset: Any, data: str) -> None:
            self.MASK_CHAR = pretraining_dataset.MASK_CHAR  # the doublequestionmark character
            self.PAD_CHAR = pretraining_dataset.PAD_CHAR  # the empty square character, for pad
            self.itos = pretraining_dataset.itos
            self.stoi = pretraining_dataset.stoi
            self.block_size = pretraining_dataset.block_size
            self.data = list(data.encode("utf-8").decode("ascii", errors="ignore").split("\n"))

        def __len__(self) -> int:
            # returns the length of the dataset
            return len(self.data) - 1

        def __getitem__(self, idx: int) -> tuple[Any, Any]:
            inp, oup = self.data[idx].split("\t")
            x = inp + self.MASK_CHAR + oup + self.MASK_CHAR
            x = x + self.PAD_CHAR * (self.block_size - len(x))
            y = self.PAD_CHAR * (len(inp) - 1) + x[len(inp) :]

            x = x[:-1]
            x = torch.tensor([self.stoi[c] for c in x], dtype=torch.long)
            y = torch.tensor([self.stoi[c] for c in y], dtype=torch.long)
            return x, y

    class CausalSelfAttention(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            assert config.n_embd % config.n_head == 0
            # key, query, value projections for all heads
            self.key = nn.Linear(config.n_embd, config.n_embd)
            self.query = nn.Linear(config.n_embd, config.n_embd)
            self.value = nn.Linear(config.n_embd, config.n_embd)
            # regularization
            self.attn_drop = nn.Dropout(config.attn_pdrop)
            self.resid_drop = nn.Dropout(config.resid_pdrop)
            # output projection
            self.proj = nn.Linear(config.n_embd, config.n_embd)
            # causal mask to ensure that attention is only applied to the left in the input
            self.register_buffer(
                "mask",
                torch.tril(torch.ones(config.block_size, config.block_size)).view(
                    1, 1, config.block_size, config.block_size
                ),
            )
            self.n_head = config.n_head

        def forward(self, x: Any, layer_past: Any = None) -> Any:
            B, T, C = x.size()

            # calculate query, key, values for all heads in batch
            k = (
                self.key(x).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            )  # (B, nh, T, hs)
            q = (
                self.query(x).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            )  # (B, nh, T, hs)
            v = (
                self.value(x).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            )  # (B, nh, T, hs)

            # causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.mask[:, :, :T, :T] == 0, -1e10)
            att = F.softmax(att, dim=-1)
            att = self.attn_drop(att)
            y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
            y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs

            # output projection
            y = self.resid_drop(self.proj(y))
            return y

    class SynthesizerAttention(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            assert config.n_embd % config.n_head == 0
            # NOTE: MLP maps n_embd to block_size
            self.w1 = nn.Linear(config.n_embd, config.n_embd)
            self.w2 = nn.Parameter(
                torch.zeros(config.n_embd // config.n_head, config.block_size - 1)
            )
            self.b2 = nn.Parameter(torch.zeros(config.block_size - 1))
            # value projection
            self.value = nn.Linear(config.n_embd, config.n_embd)
            # regularization
            self.attn_drop = nn.Dropout(config.attn_pdrop)
            self.resid_drop = nn.Dropout(config.resid_pdrop)
            # output projection
            self.proj = nn.Linear(config.n_embd, config.n_embd)
            # causal mask to ensure that attention is only applied to the left in the input
            self.register_buffer(
                "mask",
                torch.tril(torch.ones(config.block_size, config.block_size)).view(
                    1, 1, config.block_size, config.block_size
                ),
            )
            self.n_head = config.n_head
            self.block_size = config.block_size

            nn.init.uniform_(self.w2, -0.001, 0.001)

        def forward(self, x: Any, layer_past: Any = None) -> Any:
            B, T, C = x.size()
            d_k = C // self.n_head
            relu_out = F.relu(self.w1(x)).view(B, T, self.n_head, d_k).transpose(1, 2)
            v = self.value(x).view(B, T, self.n_head, d_k).transpose(1, 2)
            scores = (relu_out @ self.w2) + self.b2
            scores = scores[:, :, :T, :T]  # to ensure it runs for T<block_size
            scores = scores.masked_fill(self.mask[:, :, :T, :T] == 0, -1e10)
            prob = F.softmax(scores, dim=-1)
            prob = self.attn_drop(prob)
            y = prob @ v
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            y = self.resid_drop(self.proj(y))
            return y

    class Block(nn.Module):
        """an unassuming Transformer block"""

        def __init__(self, config: Any) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(config.n_embd)
            self.ln2 = nn.LayerNorm(config.n_embd)
            if config.synthesizer:
                self.attn = SynthesizerAttention(config)
            else:
                self.attn = CausalSelfAttention(config)
            self.mlp = nn.Sequential(
                nn.Linear(config.n_embd, 4 * config.n_embd),
                nn.GELU(),
                nn.Linear(4 * config.n_embd, config.n_embd),
                nn.Dropout(config.resid_pdrop),
            )

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            x = x + self.mlp(self.ln2(x))
            return x

    class GPT(nn.Module):
        """the full GPT language model, with a context size of block_size"""

        def __init__(self, config: Any) -> None:
            super().__init__()

            # input embedding stem
            self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
            self.pos_emb = nn.Parameter(torch.zeros(1, config.block_size, config.n_embd))
            self.drop = nn.Dropout(config.embd_pdrop)
            # transformer
            self.blocks = nn.Sequential(*[Block(config) for _ in range(config.n_layer)])
            # decoder head
            self.ln_f = nn.LayerNorm(config.n_embd)
            self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

            self.block_size = config.block_size
            self.apply(self._init_weights)

        def _init_weights(self, module: Any) -> None:
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)

        def get_block_size(self) -> int:
            return self.block_size

        def forward(self, idx: Any, targets: Any = None) -> tuple[Any, Any]:
            b, t = idx.size()
            assert t <= self.block_size, "Cannot forward, model block size is exhausted."

            # forward the GPT model
            token_embeddings = self.tok_emb(idx)  # each index maps to a (learnable) vector
            position_embeddings = self.pos_emb[:, :t, :]  # each position maps to a vector
            x = self.drop(token_embeddings + position_embeddings)
            x = self.blocks(x)
            x = self.ln_f(x)
            logits = self.head(x)

            # if we are given some desired targets also calculate the loss
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                       ignore_index=0)  # fmt: skip

            return logits, loss

    def train(model: Any, train_dataset: Any, config: Any) -> None:
        no_decay = ["bias", "LayerNorm.weight"]
        params_decay = [
            p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)
        ]
        params_nodecay = [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)]
        optim_groups = [
            {"params": params_decay, "weight_decay": config.weight_decay},
            {"params": params_nodecay, "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(optim_groups, lr=config.learning_rate, betas=config.betas)
        tokens = 0  # counter used for learning rate decay
        for _epoch in range(config.max_epochs):
            model.train()
            loader = DataLoader(train_dataset, batch_size=config.batch_size,
                                num_workers=config.num_workers)  # fmt: skip
            for _it, (x, y) in enumerate(loader):
                logits, loss = model(x, y)
                loss = loss.mean()  # collapse all losses if they are scattered on multiple gpus
                model.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_norm_clip)
                optimizer.step()
                if config.lr_decay:
                    tokens += (y >= 0).sum()  # number of tokens processed this step
                    if tokens < config.warmup_tokens:
                        # linear warmup
                        lr_mult = float(tokens) / float(max(1, config.warmup_tokens))
                    else:
                        # cosine learning rate decay
                        progress = float(tokens - config.warmup_tokens) / float(
                            max(1, config.final_tokens - config.warmup_tokens)
                        )
                        lr_mult = max(0.1, 0.5 * (1.0 + math.cos(math.pi * progress)))
                    lr = config.learning_rate * lr_mult
                    for param_group in optimizer.param_groups:
                        param_group["lr"] = lr
                values.extend([loss.item(), optimizer.param_groups[0]["lr"]])

    def top_k_logits(logits: Any, k: int) -> Any:
        v, ix = torch.topk(logits, k)
        out = logits.clone()
        out[out < v[:, [-1]]] = -float("Inf")
        return out

    @torch.no_grad()
    def sample(model, x, steps, temperature=1.0, sample=False, top_k=None):  # noqa: ANN001, ANN202
        block_size = model.get_block_size()
        model.eval()
        for _k in range(steps):
            x_cond = x if x.size(1) <= block_size else x[:, -block_size:]  # crop context
            logits, _ = model(x_cond)
            # pluck the logits at the final step and scale by temperature
            logits = logits[:, -1, :] / temperature
            # optionally crop probabilities to only the top k options
            if top_k is not None:
                logits = top_k_logits(logits, top_k)
            # apply softmax to convert to probabilities
            probs = F.softmax(logits, dim=-1)
            # sample from the distribution or take the most likely
            if sample:
                ix = torch.multinomial(probs, num_samples=1)
            else:
                _, ix = torch.topk(probs, k=1, dim=-1)
            # append to the sequence and continue
            x = torch.cat((x, ix), dim=1)
        return x

    block_size = 32
    pretrain_dataset = CharCorruptionDataset(PRETRAIN, block_size)
    x, y = pretrain_dataset[0]
    values += [len(x), int((x == pretrain_dataset.stoi[pretrain_dataset.MASK_CHAR]).sum())]
    mconf = SimpleNamespace(vocab_size=pretrain_dataset.vocab_size, block_size=block_size,
                            n_layer=1, n_head=2, n_embd=8, synthesizer=True, embd_pdrop=0.1,
                            resid_pdrop=0.1, attn_pdrop=0.1)  # fmt: skip
    torch.manual_seed(0)
    model = GPT(mconf)
    rng = np.random.default_rng(224)
    model.load_state_dict({
        k: torch.from_numpy(rng.normal(0, 0.2, tuple(v.shape)).astype(np.float32))
        if not k.endswith("mask") else v
        for k, v in model.state_dict().items()
    })  # fmt: skip

    tconf = SimpleNamespace(max_epochs=1, batch_size=4, learning_rate=6e-3, lr_decay=True,
                            warmup_tokens=8, final_tokens=200, num_workers=0, betas=(0.9, 0.95),
                            grad_norm_clip=1.0, weight_decay=0.1)  # fmt: skip
    train(model, pretrain_dataset, tconf)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "synthesizer.pretrain.params")
        torch.save(model.state_dict(), path)
        model = GPT(mconf)
        model.load_state_dict(torch.load(path))
    finetune_dataset = NameDataset(pretrain_dataset, NAMES)
    tconf.learning_rate, tconf.warmup_tokens = 6e-4, 1
    train(model, finetune_dataset, tconf)

    correct, total = 0, 0
    for line in NAMES.strip().split("\n"):
        name, place = line.split("\t")
        x = name + "\u2047"
        x = torch.tensor([pretrain_dataset.stoi[s] for s in x], dtype=torch.long)[None, ...]
        pred = sample(model, x, 4, sample=False)[0]
        completion = "".join([pretrain_dataset.itos[int(i)] for i in pred])
        pred = completion.split("\u2047")[1]
        total += 1
        correct += int(pred == place)
        values.append(sum(ord(c) for c in pred))
    torch.manual_seed(1)
    sampled = sample(model, x, 3, temperature=0.8, sample=True, top_k=5)
    values += [correct / total, sampled.sum().item()]

    cconf = SimpleNamespace(n_embd=8, n_head=2, attn_pdrop=0.0, resid_pdrop=0.0,
                            block_size=block_size)  # fmt: skip
    causal = CausalSelfAttention(cconf)
    h = torch.from_numpy(rng.normal(size=(2, 5, 8)).astype(np.float32))
    values.append(causal(h).shape[1])
    return values
