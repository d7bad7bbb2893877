"""``cr.hub.list`` / ``help`` / ``load``: the entrypoints of a repository's ``hubconf.py``.

A hub repository (a GitHub repository or a local folder) has a ``hubconf.py`` whose public
callables are its entrypoints, and an optional ``dependencies`` list of module names that
must be importable. **These functions import ``hubconf.py``, which executes it as Python
code**, with the repository's folder first on ``sys.path`` while it runs (so it can import
its own modules). That is the point of a hub, and it is why GitHub repositories go through
the ``trust_repo`` check first (:mod:`.repos`). Nothing else in ``cr.hub`` runs code from
a download: checkpoints are always loaded weights-only.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .repos import get_repo_dir

__all__ = ["MODULE_HUBCONF", "VAR_DEPENDENCY", "help", "list", "load"]

MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"

_list = list  # the builtin, before ``list`` below shadows it


def _import_hubconf(repo_dir: str) -> ModuleType:
    """Import ``<repo_dir>/hubconf.py`` as a fresh module (this runs its code)."""
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    spec = importlib.util.spec_from_file_location(MODULE_HUBCONF, path)
    assert spec is not None and spec.loader is not None  # a .py path always has a loader
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(MODULE_HUBCONF)
    sys.modules[MODULE_HUBCONF] = module  # while it runs: dataclasses look themselves up
    sys.path.insert(0, repo_dir)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(repo_dir)
        if previous is None:
            sys.modules.pop(MODULE_HUBCONF, None)
        else:
            sys.modules[MODULE_HUBCONF] = previous
    _check_dependencies(module)
    return module


def _check_dependencies(module: ModuleType) -> None:
    deps = getattr(module, VAR_DEPENDENCY, None)
    if deps is None:
        return
    names = [deps] if isinstance(deps, str) else _list(deps)
    missing = [n for n in names if not _importable(n)]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a dotted name whose parent is missing
        return False


def _entrypoint(module: ModuleType, model: Any) -> Callable[..., Any]:
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    func = getattr(module, model, None)
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return func


def list(  # noqa: A001 - torch.hub.list
    github: str,
    force_reload: bool = False,
    skip_validation: bool = False,
    trust_repo: bool | str | None = "check",
    verbose: bool = True,
) -> list[str]:
    """The names of the public callables in a GitHub repository's ``hubconf.py`` (mirrors
    ``torch.hub.list``). **Runs the repository's hubconf.py** (see the module docstring).

    Args:
        github: ``"owner/repo[:ref]"``; the ref (branch, tag or commit) defaults to ``main``,
            else ``master``.
        force_reload: download again even when a cached copy exists.
        skip_validation: do not ask the GitHub API whether ``ref`` belongs to the repository
            (set ``GITHUB_TOKEN`` to raise its rate limit).
        trust_repo: ``"check"``, ``True`` or ``False`` (see :mod:`chainrule.hub.repos`).
        verbose: report when a cached copy is used.

    Example:
        >>> cr.hub.list("owner/repo:v1", trust_repo=True)  # doctest: +SKIP
        ['resnet18', 'resnet50']
    """
    repo_dir = get_repo_dir(github, force_reload, trust_repo, "list", verbose, skip_validation)
    module = _import_hubconf(repo_dir)
    return [
        name for name in dir(module) if callable(getattr(module, name)) and not name.startswith("_")
    ]


def help(  # noqa: A001 - torch.hub.help
    github: str,
    model: str,
    force_reload: bool = False,
    skip_validation: bool = False,
    trust_repo: bool | str | None = "check",
) -> str | None:
    """The docstring of entrypoint ``model`` of a GitHub repository (mirrors
    ``torch.hub.help``). **Runs the repository's hubconf.py**; arguments as :func:`list`."""
    repo_dir = get_repo_dir(github, force_reload, trust_repo, "help", True, skip_validation)
    return _entrypoint(_import_hubconf(repo_dir), model).__doc__


def load(
    repo_or_dir: str,
    model: str,
    *args: Any,
    source: str = "github",
    trust_repo: bool | str | None = "check",
    force_reload: bool = False,
    verbose: bool = True,
    skip_validation: bool = False,
    **kwargs: Any,
) -> Any:
    """Call entrypoint ``model`` of a repository's ``hubconf.py`` with ``*args, **kwargs``
    (mirrors ``torch.hub.load``): usually it builds a model and loads its weights.

    **This executes the repository's hubconf.py (and whatever it imports) as Python code**:
    use it only for repositories you trust. A GitHub repository must pass the
    ``trust_repo`` check first; a local folder is the caller's own code, explicitly asked
    for.

    Args:
        repo_or_dir: ``"owner/repo[:ref]"`` for ``source="github"``, a folder holding
            ``hubconf.py`` for ``source="local"``.
        model: the name of a callable in ``hubconf.py``.
        *args: positional arguments for it.
        source: ``"github"`` (default) or ``"local"`` (case-insensitive).
        trust_repo: ``"check"`` (default), ``True`` or ``False``; GitHub only (see
            :mod:`chainrule.hub.repos`).
        force_reload: download the GitHub repository again (no effect for a local folder).
        verbose: report when a cached copy is used (no effect for a local folder).
        skip_validation: do not check with the GitHub API that the ref belongs to the
            repository.
        **kwargs: keyword arguments for the entrypoint.

    Returns:
        What the entrypoint returns.

    Raises:
        ValueError: an unknown ``source``, or ``model`` is not a str.
        RuntimeError: ``model`` is not a callable of hubconf, a module in its
            ``dependencies`` is missing, or the repository is not trusted.

    Example:
        >>> net = cr.hub.load("./repo", "resnet18", source="local")  # doctest: +SKIP
    """
    kind = source.lower() if isinstance(source, str) else source
    if kind not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if kind == "github":
        repo_or_dir = get_repo_dir(
            repo_or_dir, force_reload, trust_repo, "load", verbose, skip_validation
        )
    module = _import_hubconf(os.path.expanduser(os.fspath(repo_or_dir)))
    return _entrypoint(module, model)(*args, **kwargs)
