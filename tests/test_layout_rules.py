"""The package layout states a rule (issue 10, item 3; CONTRIBUTING.md, "Where things go"):
every derivative rule, a ``Function`` subclass, lives in ``chainrule.ops``;
``chainrule.nn.functional`` is PyTorch's functional API only (argument checks, defaults,
reductions and compositions, calls into ops). This test keeps the rule true."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil

import chainrule
import chainrule.nn.functional as F
from chainrule.autograd.function import Function
from chainrule.ops import (
    affine,
    binary_cross_entropy,
    embedding,
    fold,
    layer_norm,
    losses,
    normalization,
)


def _modules(package):
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        yield importlib.import_module(info.name)


def _functions_defined_in(module):
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Function) and obj.__module__ == module.__name__
    ]


def test_no_function_subclass_is_defined_in_nn_functional():
    offenders = {m.__name__: [c.__name__ for c in _functions_defined_in(m)] for m in _modules(F)}
    offenders = {name: classes for name, classes in offenders.items() if classes}
    assert not offenders, (
        f"derivative rules (Function subclasses) belong in chainrule.ops, "
        f"not nn.functional: {offenders}"
    )


def test_the_walk_sees_the_moved_ops():
    """The check above is not vacuous: nn.functional's modules are walked, and the ops that
    were moved out of them are found (with their home) in chainrule.ops."""
    names = {m.__name__ for m in _modules(F)}
    assert {
        f"chainrule.nn.functional.{m}" for m in ("fold", "linear", "loss", "normalization")
    } <= names
    homes = {
        c.__name__: c.__module__
        for m in (affine, embedding, fold, normalization, layer_norm, losses, binary_cross_entropy)
        for c in _functions_defined_in(m)
    }
    assert homes == {
        "LinearFn": "chainrule.ops.affine",
        "EmbeddingFn": "chainrule.ops.embedding",
        "ScatterRowsFn": "chainrule.ops.embedding",
        "FoldFn": "chainrule.ops.fold",
        "Im2Col": "chainrule.ops.fold",  # F.unfold's node (session 34)
        "NormalizeFn": "chainrule.ops.normalization",
        "BatchNormFn": "chainrule.ops.normalization",
        "LayerNormFn": "chainrule.ops.layer_norm",
        "CrossEntropyFn": "chainrule.ops.losses",
        "NLLLossFn": "chainrule.ops.losses",
        "BinaryCrossEntropyFn": "chainrule.ops.binary_cross_entropy",
        "MseLossFn": "chainrule.ops.losses",
    }


def test_every_package_declares_its_public_names():
    """``__all__`` in every package (the style rule), naming only what exists."""
    root = pathlib.Path(chainrule.__file__).parent
    for init in sorted(root.rglob("__init__.py")):
        name = ".".join(("chainrule", *init.parent.relative_to(root).parts))
        pkg = importlib.import_module(name)
        assert hasattr(pkg, "__all__"), f"{name} has no __all__"
        missing = [n for n in pkg.__all__ if not hasattr(pkg, n)]
        assert not missing, f"{name}.__all__ names missing attributes: {missing}"


def test_star_import_gives_the_torch_like_api():
    """``from chainrule import *`` binds the op API and the root names, as torch's does."""
    namespace: dict = {}
    exec("from chainrule import *", namespace)
    for name in ("tensor", "exp", "matmul", "no_grad", "float32", "manual_seed", "save", "vmap"):
        assert namespace[name] is getattr(chainrule, name), name
    assert "nn" not in namespace and "_root_names" not in namespace
