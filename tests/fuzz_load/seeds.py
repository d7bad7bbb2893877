"""Valid files of every format ``cr.load`` reads: the starting points of the mutations.

Each seed is ``(name, format, entries)``: ``format`` is ``"zip"`` (a checkpoint archive),
``"legacy"`` (PyTorch's pre-1.6 pickle stream) or ``"st"`` (safetensors); ``entries`` are
the loading entry points of :mod:`.child` the file is meant for.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

__all__ = ["Seed", "write_seeds"]

ZIP_ENTRIES = ("load", "load_mmap", "load_fileobj", "load_full")
ST_ENTRIES = ("load", "load_mmap", "load_fileobj")


class Seed:
    def __init__(self, name: str, fmt: str, entries: tuple, path: str) -> None:
        self.name, self.fmt, self.entries, self.path = name, fmt, entries, path
        with open(path, "rb") as fh:
            self.data = fh.read()

    def __repr__(self) -> str:
        return f"Seed({self.name!r}, {self.fmt!r}, {len(self.data)} bytes)"


def _cr_objects():
    import chainrule as cr
    from chainrule import nn

    cr.manual_seed(0)
    base = cr.arange(12.0).reshape(3, 4)
    views = {
        "base": base,
        "row": base[1],
        "col": base[:, 2],
        "t": base.t(),
        "i64": cr.tensor([1, 2, 3]),
        "mask": cr.tensor([True, False]),
        "half": cr.ones(2, dtype=cr.float16),
    }
    plain = {"w": cr.randn(2, 3), "n": 3, "s": "text", "t": (1, 2.5), "none": None}
    lin = nn.Linear(3, 2)
    return cr, nn, views, plain, lin


def _torch_objects():
    import torch

    torch.manual_seed(0)
    base = torch.arange(12.0).reshape(3, 4)
    lin = torch.nn.Linear(3, 2)
    obj = OrderedDict(
        [
            ("weight", lin.weight),
            ("bias", lin.bias.detach()),
            ("view", base[:, 1]),
            ("base", base),
            ("ints", torch.tensor([1, 2], dtype=torch.int32)),
            ("expanded", torch.ones(3).expand(100, 3)),
            ("conj", torch.tensor([1 + 2j, 3 - 1j]).conj()),
            ("neg", torch.tensor([1.0, 2.0])._neg_view()),
            ("size", torch.Size([2, 3])),
            ("dtype", torch.float64),
        ]
    )
    return torch, obj


def write_seeds(directory: str) -> list[Seed]:
    """Write the seed files into ``directory`` and return them."""
    import safetensors.numpy

    from chainrule.train import save_checkpoint

    cr, nn, views, plain, lin = _cr_objects()
    out: list[Seed] = []

    def add(name: str, fmt: str, entries: tuple, writer) -> None:
        path = os.path.join(directory, name)
        writer(path)
        out.append(Seed(name, fmt, entries, path))

    add("cr_plain.pt", "zip", ZIP_ENTRIES, lambda p: cr.save(plain, p))
    add("cr_views.pt", "zip", ZIP_ENTRIES, lambda p: cr.save(views, p))
    add("cr_state_dict.pt", "zip", ZIP_ENTRIES, lambda p: cr.save(lin.state_dict(), p))
    add("cr_module.pt", "zip", ("load_full",), lambda p: cr.save(lin, p))
    add(
        "cr_tree.safetensors",
        "st",
        ST_ENTRIES,
        lambda p: cr.save({"a": views["base"], 1: (views["i64"], np.float32(2.0)), "s": "x"}, p),
    )
    add(
        "st_lib.safetensors",
        "st",
        ST_ENTRIES,
        lambda p: safetensors.numpy.save_file(
            {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(3, np.int64)},
            p,
            metadata={"k": "v"},
        ),
    )
    opt = cr.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(cr.randn(4, 3)).sum().backward()
    opt.step()
    add("ckpt.pt", "zip", ("load_checkpoint",), lambda p: save_checkpoint(p, lin, opt, epoch=1))
    add(
        "ckpt.safetensors",
        "st",
        ("load_checkpoint",),
        lambda p: save_checkpoint(p, lin, opt, epoch=1),
    )
    torch, tobj = _torch_objects()
    add("torch_state.pt", "zip", ZIP_ENTRIES, lambda p: torch.save(tobj, p))
    add(
        "torch_legacy.pt",
        "legacy",
        ("load",),
        lambda p: torch.save(tobj, p, _use_new_zipfile_serialization=False),
    )
    return out
