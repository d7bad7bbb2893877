"""The ``chainrule`` command line.

Each sub-command lives in its own module under :mod:`chainrule.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function that
runs it. This file only assembles them, so commands can be added without touching it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from . import commands
from .version import chainrule_version, torch_api_version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="chainrule: train, inspect and explain neural networks on NumPy.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"chainrule {chainrule_version} (PyTorch {torch_api_version} API)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
