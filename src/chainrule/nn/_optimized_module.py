"""``OptimizedModule``: what ``torch.compile(module)`` returns, run eagerly (PyTorch's
``torch._dynamo.eval_frame.OptimizedModule``, which ``cr._dynamo.eval_frame`` re-exports).

PyTorch wraps a compiled module in ``torch._dynamo.eval_frame.OptimizedModule``: the
original is its only child, ``_orig_mod``, so the wrapper's ``state_dict`` keys carry the
``_orig_mod.`` prefix (which checkpoints saved from compiled models show, and which loading
code such as nanoGPT's strips), while attribute reads and writes pass through to the
original (``compiled.fc1``, ``compiled.training``, ``compiled.foo = 1``). chainrule keeps
that shape, so such code runs unchanged; calling the wrapper calls the original module,
hooks included.
"""

from __future__ import annotations

from typing import Any

from .module import Module

__all__ = ["OptimizedModule"]

# The wrapper's own attributes; every other attribute lives on the original module.
_OWN = frozenset({"_orig_mod", "dynamo_ctx", "forward", "training"})


class OptimizedModule(Module):
    """The module ``cr.compile(module)`` returns: ``_orig_mod`` called eagerly."""

    def __init__(self, mod: Module) -> None:
        super().__init__()
        self._orig_mod = mod  # a child: state_dict keys read "_orig_mod.<name>"
        self.__dict__["forward"] = mod.__call__

    @property
    def training(self) -> bool:  # type: ignore[override]
        """The original module's mode: ``train()``/``eval()`` on either is seen by both."""
        return self._orig_mod.training

    @training.setter
    def training(self, mode: bool) -> None:
        self._orig_mod.training = mode

    def __getattr__(self, name: str) -> Any:
        modules = self.__dict__.get("_modules")  # absent while copy/pickle rebuild the object
        if modules is None or "_orig_mod" not in modules:
            raise AttributeError(f"'OptimizedModule' object has no attribute '{name}'")
        if name == "_orig_mod":
            return modules["_orig_mod"]
        return getattr(modules["_orig_mod"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN or "_modules" not in self.__dict__ or "_orig_mod" not in self._modules:
            super().__setattr__(name, value)
        else:
            setattr(self._orig_mod, name, value)

    def __delattr__(self, name: str) -> None:
        if name in _OWN:
            super().__delattr__(name)
        else:
            delattr(self._orig_mod, name)

    def __len__(self) -> int:
        return len(self._orig_mod)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._orig_mod)))
