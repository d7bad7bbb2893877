"""Random training loops, run the same way on torch and on chainrule and compared.

A :class:`Program` is plain data (a failure prints as a program to paste into
``test_found_cases.py``): the optimizer class and its constructor options, the parameters
(shapes, complex or not; their values and every gradient come from seeds), the parameter
groups with per-group options, groups added mid-run, a scheduler spec and a list of actions.
:func:`draw` makes one from a seeded generator, :func:`observe` runs it with one library
(``torch`` or ``chainrule``) and returns a trace (parameters after every step, gradients
after ``zero_grad``, learning rates after every scheduler step, state dicts, the error that
stopped the run), :func:`compare` lists the differences between two traces and
:func:`check` does both.

The work is split by responsibility: :mod:`.program_data` (the :class:`Program`),
:mod:`.program_options` (options and scheduler specs), :mod:`.program_draw` (:func:`draw`),
:mod:`.program_run` (:func:`observe`) and :mod:`.program_compare` (:func:`compare`,
:func:`check`). This module gathers the names the hunts, tests and :mod:`.swa` import.

Option values: a plain number, or ``("T", x)`` for a 0-d tensor (``lr`` as a tensor).

Actions:

``("grad", seed, mask, sparse, scale)`` a fresh gradient for each parameter whose bit is
set in ``mask`` (``None`` for the others; sparse COO with repeated indices if ``sparse``);
``("step",)`` ``opt.step()``; ``("cstep",)`` ``opt.step(closure)`` (a smooth loss of the
parameters); ``("zero", set_to_none)``; ``("add", k)`` ``add_param_group(extra[k])``;
``("reload",)`` ``state_dict()`` loaded into a fresh optimizer over the same groups, which
replaces the old one; ``("sreload",)`` the scheduler's ``state_dict()`` loaded into a new
scheduler on the same optimizer; ``("sched", metric)`` the scheduler's ``step``
(``step(metric)`` for ``ReduceLROnPlateau``) and its ``get_last_lr()``; ``("sd",)`` record
``state_dict()``; ``("resume",)`` a fresh optimizer and a fresh scheduler on it, loaded with
the old ones' state dicts, replacing them; ``("setlr", factor)`` every group's ``lr``
multiplied by hand.
"""

from __future__ import annotations

from .program_compare import _cmp_desc, check, compare
from .program_data import FUSED_OK, OPTIMIZERS, SCHEDULERS, SPARSE_OK, Program
from .program_draw import draw
from .program_options import draw_options
from .program_run import _desc, observe

__all__ = ["Program", "draw", "observe", "compare", "check", "OPTIMIZERS"]
# (and the helpers :mod:`.swa` and the tests reuse)
__all__ += ["FUSED_OK", "SCHEDULERS", "SPARSE_OK", "draw_options", "_cmp_desc", "_desc"]
