"""Text for language models (``cr.data.text``): tokenizers, corpora and token datasets.

- :class:`CharTokenizer`, :class:`ByteBPETokenizer` (trained offline), :class:`TiktokenTokenizer`
- :func:`load_corpus` (a path, ``"tiny-shakespeare"``, ``"names"`` or the built-in ``"sample"``)
- :class:`NextTokenDataset`, :class:`TokenData` (random nanoGPT-style batches), token files
  memory-mapped with :func:`write_token_file` / :func:`load_token_file`
"""

from __future__ import annotations

from .corpus import CORPORA, Corpus, load_corpus, resolve_corpus, sample_text
from .tokenizers import ByteBPETokenizer, CharTokenizer, TiktokenTokenizer, load_tokenizer
from .tokens import NextTokenDataset, TokenData, load_token_file, split_tokens, write_token_file

__all__ = [
    "CORPORA",
    "ByteBPETokenizer",
    "CharTokenizer",
    "Corpus",
    "NextTokenDataset",
    "TiktokenTokenizer",
    "TokenData",
    "load_corpus",
    "load_token_file",
    "load_tokenizer",
    "resolve_corpus",
    "sample_text",
    "split_tokens",
    "write_token_file",
]
