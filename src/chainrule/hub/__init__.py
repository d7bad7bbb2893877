"""``cr.hub``: pretrained weights by URL and models from hub repositories (``torch.hub``).

* :func:`load_state_dict_from_url` downloads a checkpoint once into
  ``<get_dir()>/checkpoints``, optionally checks the SHA-256 prefix in its name, and loads
  it **weights-only** (never running code from the file, unlike PyTorch's default).
* :func:`download_url_to_file` streams a URL to a file in chunks, verified, atomically.
* :func:`list`, :func:`help` and :func:`load` use a repository's ``hubconf.py``, from a
  local folder or from GitHub (downloaded after the ``trust_repo`` check). **They execute
  that hubconf.py**: that is what a hub entrypoint is.
* :func:`get_dir` / :func:`set_dir`: the cache folder, ``$CHAINRULE_HOME/hub`` or
  ``~/.cache/chainrule/hub`` (``$XDG_CACHE_HOME`` respected) unless :func:`set_dir` says
  otherwise; PyTorch's ``$TORCH_HOME`` is not used.

Example:
    >>> state = cr.hub.load_state_dict_from_url(  # doctest: +SKIP
    ...     "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    ...     map_location="cpu", progress=True, check_hash=True,
    ... )
"""

from __future__ import annotations

from .checkpoints import load_state_dict_from_url
from .dirs import get_dir, set_dir
from .download import download_url_to_file
from .entrypoints import help, list, load

__all__ = [
    "download_url_to_file",
    "get_dir",
    "help",
    "list",
    "load",
    "load_state_dict_from_url",
    "set_dir",
]
