"""Loss of a trained chainrule language-model run on the *whole* validation split.

The trainer prints nanoGPT's 20-batch estimate (standard error ~0.015 on Tiny Shakespeare);
this reports the loss over every validation token, in non-overlapping windows of the run's
block size, the figure RESULTS.md compares with ``nanogpt_reference.py``'s.

Usage:  python benchmarks/lm_full_validation.py RUN_DIR [--data-dir DIR]
(RUN_DIR is the --out of ``chainrule train --data tiny-shakespeare --model gpt``; DIR holds
tiny-shakespeare.txt, default $CHAINRULE_DATA.)
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

import chainrule as cr
from chainrule.data.text import load_corpus, split_tokens
from chainrule.data.text.tokenizers import load_tokenizer
from chainrule.train.lm import LMConfig, build_language_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--data-dir", default=os.environ.get("CHAINRULE_DATA"))
    args = parser.parse_args()
    with open(os.path.join(args.run, "config.json"), encoding="utf-8") as fh:
        raw = json.load(fh)
    cfg = LMConfig(**{k: raw[k] for k in LMConfig.__dataclass_fields__ if k in raw})
    tok = load_tokenizer(os.path.join(args.run, "tokenizer.json"))
    model = build_language_model(cfg, tok.vocab_size)
    model.load_state_dict(cr.load(os.path.join(args.run, "model.safetensors")))
    model.eval()
    text = load_corpus("tiny-shakespeare", args.data_dir)
    _, val = split_tokens(np.asarray(tok.encode(text), np.int64), 0.1)
    block = cfg.block_size
    k = (len(val) - 1) // block
    xs = val[: k * block].reshape(k, block)
    ys = val[1 : k * block + 1].reshape(k, block)
    total = 0.0
    with cr.no_grad():
        for i in range(0, k, 128):
            logits = model(cr.tensor(xs[i : i + 128])).reshape(-1, tok.vocab_size).double()
            target = cr.tensor(ys[i : i + 128].reshape(-1))
            total += cr.nn.functional.cross_entropy(logits, target, reduction="sum").item()
    print(f"{args.run}: whole validation split ({k * block} tokens) {total / (k * block):.4f}")


if __name__ == "__main__":
    main()
