"""The plain data of an optimizer program: the :class:`Program` and the names of the
optimizers and schedulers it draws from.

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
the old ones' state dicts, replacing them; ``("wreload",)`` ``reload`` through ``save`` and
``load(weights_only=True)``; ``("setlr", factor)`` every group's ``lr``
multiplied by hand; ``("hooks", factor)`` a step pre-hook scaling the gradients by
``factor`` and a post-hook recording the lrs (both removed after two steps);
``("sepoch", epoch)`` the scheduler's deprecated ``step(epoch)``; ``("clip", how, value,
norm_type, foreach)`` ``clip_grad_norm_`` (``how`` ``"norm"``, its total norm recorded) or
``clip_grad_value_`` (``"value"``) over every parameter, then the gradients recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPTIMIZERS = (
    "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta", "RMSprop",
    "Rprop", "ASGD", "SparseAdam", "LBFGS", "Adafactor", "Muon",
)  # fmt: skip
SCHEDULERS = (
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "OneCycleLR", "CyclicLR", "LinearLR", "ConstantLR", "PolynomialLR", "ReduceLROnPlateau",
    "SequentialLR", "ChainedScheduler", "LambdaLR", "MultiplicativeLR",
)  # fmt: skip
# optimizers whose sparse-gradient rule torch has (SparseAdam takes sparse gradients only)
SPARSE_OK = ("SGD", "Adagrad", "SparseAdam")
# torch's fused CPU kernels
FUSED_OK = ("SGD", "Adam", "AdamW", "Adagrad")
LAMBDAS = {
    "exp": lambda e: 0.9**e,
    "inv": lambda e: 1.0 / (e + 1),
    "const": lambda e: 0.5,
    "saw": lambda e: 1.0 + (e % 3),
    "obj": None,  # a callable object (below), made fresh for each scheduler
}


class _Decay:
    """An lr_lambda that is an object: its attributes are in the scheduler's state dict
    (``last``: the latest epoch it was asked about) and restored into it on load."""

    def __init__(self) -> None:
        self.rate = 0.8
        self.last = -1

    def __call__(self, epoch: int) -> float:
        self.last = max(self.last, epoch)
        return self.rate**epoch


def _lambda(name: str) -> Any:
    return _Decay() if name == "obj" else LAMBDAS[name]


@dataclass(frozen=True)
class Program:
    opt: str
    dtype: str = "float64"
    params: tuple = ()  # ((shape, complex), ...)
    defaults: tuple = ()  # ((key, value), ...): the constructor's keyword options
    groups: tuple = ()  # ((param indices, ((key, value), ...)), ...); () = one list of all
    extra: tuple = ()  # groups added mid-run, same form
    actions: tuple = ()
    sched: tuple | None = None  # (name, ((key, value), ...)); nested for Sequential/Chained
    seed: int = 0

    def __repr__(self) -> str:
        fields = [f"{self.opt!r}"]
        for name, default in (
            ("dtype", "float64"), ("params", ()), ("defaults", ()), ("groups", ()),
            ("extra", ()), ("actions", ()), ("sched", None), ("seed", 0),
        ):  # fmt: skip
            v = getattr(self, name)
            if v != default:
                fields.append(f"{name}={v!r}")
        return f"Program({', '.join(fields)})"
