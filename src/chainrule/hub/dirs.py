"""Where ``cr.hub`` keeps what it downloads: ``get_dir`` / ``set_dir``.

PyTorch uses ``$TORCH_HOME/hub`` (default ``$XDG_CACHE_HOME/torch/hub``, i.e.
``~/.cache/torch/hub``). chainrule keeps its own cache, so the two never share files:

1. the folder given to :func:`set_dir`, if it was called (it wins over the environment);
2. else ``$CHAINRULE_HOME/hub``;
3. else ``$XDG_CACHE_HOME/chainrule/hub``;
4. else ``~/.cache/chainrule/hub``.

Inside it, checkpoints from ``load_state_dict_from_url`` go to ``checkpoints/``, GitHub
repositories for ``cr.hub.load`` to ``<owner>_<repo>_<ref>/``, and the repositories the
user trusts are listed in ``trusted_list``.
"""

from __future__ import annotations

import os

__all__ = ["ENV_CHAINRULE_HOME", "ENV_XDG_CACHE_HOME", "get_dir", "set_dir"]

ENV_CHAINRULE_HOME = "CHAINRULE_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"

_hub_dir: str | None = None


def _chainrule_home() -> str:
    home = os.environ.get(ENV_CHAINRULE_HOME)
    if home:
        return os.path.expanduser(home)
    cache = os.environ.get(ENV_XDG_CACHE_HOME) or os.path.join("~", ".cache")
    return os.path.join(os.path.expanduser(cache), "chainrule")


def get_dir() -> str:
    """The hub cache folder (mirrors ``torch.hub.get_dir``; see the module docstring for
    the order: :func:`set_dir`, ``$CHAINRULE_HOME/hub``, ``$XDG_CACHE_HOME/chainrule/hub``,
    ``~/.cache/chainrule/hub``). The folder is not created here.

    Example:
        >>> cr.hub.get_dir()  # doctest: +SKIP
        '/home/me/.cache/chainrule/hub'
    """
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_chainrule_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub cache folder from now on, over any environment variable
    (mirrors ``torch.hub.set_dir``; ``~`` is expanded).

    Args:
        d: path to a local folder for downloaded weights and repositories.
    """
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))
