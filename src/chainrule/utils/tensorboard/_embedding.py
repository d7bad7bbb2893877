"""``SummaryWriter.add_embedding``'s projector files, laid out as PyTorch's.

``<log_dir>/<step:05d>/<tag>/`` (``%`` and ``/`` in the tag escaped as ``%25``/``%2f``) holds
``tensors.tsv``, ``metadata.tsv`` (with ``metadata``) and ``sprite.png`` (with ``label_img``:
the images tiled in a square grid, padded to a square); ``<log_dir>/projector_config.pbtxt``
lists every embedding this writer added.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ._media import make_grid, png, to_uint8


def embedding_dir(log_dir: str, tag: str, global_step: Any) -> tuple[str, str]:
    step = 0 if global_step is None else int(global_step)
    sub = f"{step:05d}/{tag.replace('%', '%25').replace('/', '%2f')}"
    return sub, os.path.join(log_dir, sub)


def write_metadata(path: str, metadata: list, header: Any) -> None:
    lines = []
    if header is not None:
        lines.append("\t".join(str(h) for h in header))
        lines += ["\t".join(str(x) for x in row) for row in metadata]
    else:
        lines += [str(x) for x in metadata]
    with open(os.path.join(path, "metadata.tsv"), "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def write_sprite(path: str, nchw: np.ndarray) -> None:
    n = nchw.shape[0]
    grid = make_grid(nchw, ncols=math.ceil(math.sqrt(n)))
    side = max(grid.shape[1:])
    square = np.zeros((grid.shape[0], side, side), grid.dtype)
    square[:, : grid.shape[1], : grid.shape[2]] = grid
    with open(os.path.join(path, "sprite.png"), "wb") as f:
        f.write(png(to_uint8(np.transpose(square, (1, 2, 0))), "add_embedding"))


def write_tensors(path: str, mat: np.ndarray) -> None:
    with open(os.path.join(path, "tensors.tsv"), "w", encoding="utf-8") as f:
        f.write("".join("\t".join(str(x) for x in row) + "\n" for row in mat.tolist()))


def write_config(pb: Any, log_dir: str, embeddings: list) -> None:
    from google.protobuf import text_format

    config = pb.projector(embeddings=embeddings)
    with open(os.path.join(log_dir, "projector_config.pbtxt"), "w", encoding="utf-8") as f:
        f.write(text_format.MessageToString(config))
