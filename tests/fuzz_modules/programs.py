"""Drawing and checking fuzzed module constructions: :data:`KINDS` names the families,
:func:`draw` picks one and draws a :class:`~.case.Case`, :func:`check` runs it on torch and
chainrule and returns the differences."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

from .case import Case, compare, observe
from .kinds_extra import EXTRA_DRAWERS
from .kinds_layers import LAYER_DRAWERS, pick
from .kinds_losses import LOSS_DRAWERS
from .kinds_more import MORE_DRAWERS
from .kinds_round2 import ROUND2_DRAWERS
from .kinds_s43 import S43_DRAWERS
from .kinds_s44 import S44_DRAWERS
from .kinds_s46 import S46_DRAWERS
from .kinds_s47 import S47_DRAWERS
from .lifecycle import check_lifecycle
from .utils_s38 import check_utils
from .utils_s40 import check_utils_s40
from .utils_s41 import check_utils_s41
from .utils_s42 import check_utils_s42

__all__ = ["KINDS", "DRAWERS", "P_WEIRD", "Case", "draw", "check"]

DRAWERS = {**LAYER_DRAWERS, **MORE_DRAWERS, **LOSS_DRAWERS, **EXTRA_DRAWERS, **ROUND2_DRAWERS}
DRAWERS.update(S43_DRAWERS)
DRAWERS.update(S44_DRAWERS)
DRAWERS.update(S46_DRAWERS)
DRAWERS.update(S47_DRAWERS)
KINDS = tuple(DRAWERS)
P_WEIRD = 0.08  # how often one argument is replaced by a value of an odd type
P_LIFE = 0.25  # how often a case is a life cycle (lifecycle.py) rather than one forward
P_UTILS = 0.15  # how often another case is an nn.utils check (utils_s38.py, _s40.py, ...)
_WEIRD = (None, 2.5, -3, 0, "x", True, [2], (), 1e30, float("nan"))


def draw(rng: np.random.Generator, kinds: tuple = KINDS, weird: float | None = None) -> Case:
    """A random construction of a module of one of ``kinds`` (a family name of
    :data:`KINDS`), with its inputs, mode and input seed; with probability ``weird``
    (default :data:`P_WEIRD`) one argument is replaced by a value of an odd type."""
    kind = str(pick(rng, kinds))
    name, args, kwargs, inputs = DRAWERS[kind](rng)
    if rng.random() < (P_WEIRD if weird is None else weird):
        args, kwargs = _weird(rng, args, kwargs)
    train = bool(rng.random() < 0.6)
    seed = int(rng.integers(0, 1000))
    life = bool(rng.random() < P_LIFE)
    utils = not life and bool(rng.random() < P_UTILS)
    return Case(name, args, kwargs, inputs, train, seed, life, utils)


def _weird(rng: np.random.Generator, args: tuple, kwargs: tuple) -> tuple:
    """``args``/``kwargs`` with one value replaced by one of :data:`_WEIRD` (an odd type, a
    negative or huge number): both libraries must accept it or raise the same type."""
    n = len(args) + len(kwargs)
    if n == 0:
        return args, kwargs
    k = int(rng.integers(n))
    v = _WEIRD[int(rng.integers(len(_WEIRD)))]
    if k < len(args):
        return args[:k] + (v,) + args[k + 1 :], kwargs
    k -= len(args)
    return args, kwargs[:k] + ((kwargs[k][0], v),) + kwargs[k + 1 :]


def check(case: Case) -> list[str]:
    """[] if torch and chainrule agree on ``case``, else the differences."""
    if case.life:
        return [] if _zero_layers(case) else check_lifecycle(case)
    if case.utils:
        if _zero_layers(case):
            return []
        return (
            check_utils(case)
            or check_utils_s40(case)
            or check_utils_s41(case)
            or check_utils_s42(case)
        )
    ref, values = observe(torch, case)
    got, _ = observe(cr, case, values)
    padding = dict(case.kwargs).get("padding")
    if case.name.startswith("ConvTranspose") and isinstance(padding, str):
        # a string padding: PyTorch's ConvTranspose stores its characters as the padding
        # tuple (repr padding=('s', 'a', 'm', 'e')) and fails in the forward (TypeError);
        # chainrule keeps the string: the reprs are not compared
        ref, got = ([e for e in tr if e[0] != "repr"] for tr in (ref, got))
    if _known_difference(ref, got) or _no_layers(case, ref, got):
        return []
    return compare(ref, got)


def _known_difference(ref: list, got: list) -> bool:
    """Steered-around differences, each with its reason:

    * chainrule checks constructor arguments at construction that PyTorch first checks
      when the module is called (a loss's ``reduction``, ``kernel_size=0``, a padding
      tuple of the wrong length, ...): chainrule's error names the module, the argument and
      the valid values. Accepted when PyTorch then fails in the forward.
    * an empty output (an adaptive pool's output size 0, MaxUnpool's kernel_size 0):
      PyTorch's backward fails (the pools: "Expected grad_output to have non-zero size";
      MaxUnpool gathers the gradient at its now out-of-range indices); chainrule returns
      the (zero) gradient of the empty output.
    """
    t, c = ref[-1], got[-1]
    if c[:2] == ("error", "ctor") and t[:2] == ("error", "forward"):
        return True
    outs = [e for e in ref if e[0] == "out"]
    empty = bool(outs) and all(0 in shape for shape, _ in outs[0][1])
    return t[:2] == ("error", "backward") and empty and c[0] != "error"


def _no_layers(case: Case, ref: list, got: list) -> bool:
    """A known difference: a TransformerEncoder of ``num_layers=0`` (or a Transformer of
    ``num_encoder_layers=0`` or ``num_decoder_layers=0``) builds in both, but PyTorch's
    forward fails (IndexError: it looks at ``layers[0]``); chainrule returns the source
    (normed)."""
    t = ref[-1]
    forward_index_error = t[:3] == ("error", "forward", "IndexError")
    return _zero_layers(case) and forward_index_error and got[-1][0] != "error"


def _zero_layers(case: Case) -> bool:
    """Whether ``case`` builds a Transformer(Encoder) of no layers (see :func:`_no_layers`;
    a life-cycle case of one is not compared: its forwards are PyTorch's IndexError)."""
    kw = dict(case.kwargs)
    return 0 in (kw.get("num_encoder_layers"), kw.get("num_decoder_layers")) or (
        case.name == "TransformerEncoder" and len(case.args) > 1 and case.args[1] == 0
    )
