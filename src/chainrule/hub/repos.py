"""GitHub repositories for ``cr.hub.load`` / ``list`` / ``help``: trust, download, cache.

``"owner/repo[:ref]"`` is fetched as ``{GITHUB_URL}/{owner}/{repo}/zipball/{ref}`` (the ref
defaults to ``main``, else ``master``), extracted safely (no entry may leave the folder:
:mod:`.archives`) and cached as ``<hub dir>/<owner>_<repo>_<ref>`` (``/`` in the ref becomes
``_``). A cached copy is reused unless ``force_reload=True``. ``GITHUB_URL`` and
``GITHUB_API_URL`` are module attributes so that tests (and mirrors) can point them
elsewhere, e.g. at a ``file://`` folder.

Trust (``trust_repo``, as in PyTorch 1.12+): a repository's ``hubconf.py`` is code that
``cr.hub.load`` runs, so it is loaded only from repositories the user trusts:

* ``True`` (and ``None``, PyTorch's legacy value): trusted; added to
  ``<hub dir>/trusted_list``.
* ``"check"`` (the default): trusted if it is in ``trusted_list``, belongs to an owner
  PyTorch trusts by default (``pytorch``, ``facebookresearch``, ...), or was downloaded
  before; otherwise handled as ``False``.
* ``False``: ask on the terminal (``y`` adds it to ``trusted_list``). Without a terminal
  (a script, a test, a job) chainrule never waits for an answer: it raises
  ``RuntimeError`` saying how to trust the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
import uuid
import zipfile
from typing import Any

from .._download import USER_AGENT
from .archives import extract_all, single_top_folder
from .dirs import get_dir
from .download import download_url_to_file

__all__ = [
    "ENV_GITHUB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_URL",
    "TRUSTED_OWNERS",
    "get_repo_dir",
    "parse_repo_info",
]

GITHUB_URL = "https://github.com"
GITHUB_API_URL = "https://api.github.com"
ENV_GITHUB_TOKEN = "GITHUB_TOKEN"
TRUSTED_OWNERS = ("facebookresearch", "facebookincubator", "pytorch", "fairinternal")
_DEFAULT_BRANCHES = ("main", "master")


def parse_repo_info(github: str) -> tuple[str, str, str | None]:
    """Split ``"owner/repo[:ref]"`` into ``(owner, repo, ref or None)``."""
    if not isinstance(github, str):
        raise TypeError(f"hub: the repository must be a str 'owner/repo[:ref]', got {github!r}")
    repo_info, _, ref = github.partition(":")
    parts = repo_info.split("/")
    if len(parts) != 2 or not all(parts) or (":" in github and not ref):
        raise ValueError(
            f"hub: invalid GitHub repository {github!r}; expected 'owner/repo' or "
            "'owner/repo:ref' (a branch, tag or commit), e.g. 'pytorch/vision:v0.10.0'"
        )
    return parts[0], parts[1], ref or None


def _repo_dir(hub_dir: str, owner: str, name: str, ref: str) -> str:
    return os.path.join(hub_dir, f"{owner}_{name}_{ref.replace('/', '_')}")


def _trusted_list_path(hub_dir: str) -> str:
    return os.path.join(hub_dir, "trusted_list")


def _read_trusted(hub_dir: str) -> set[str]:
    path = _trusted_list_path(hub_dir)
    if not os.path.exists(path):
        open(path, "a").close()  # as PyTorch does: an empty list once trust was checked
        return set()
    with open(path) as fh:
        return {line.strip() for line in fh if line.strip()}


def _add_trusted(hub_dir: str, owner_name: str) -> None:
    with open(_trusted_list_path(hub_dir), "a") as fh:
        fh.write(owner_name + "\n")


def _interactive() -> bool:
    """Whether a person can answer a question on stdin."""
    return sys.stdin is not None and sys.stdin.isatty()


def _check_trust(
    hub_dir: str, owner: str, name: str, trust_repo: Any, cached: bool, calling_fn: str
) -> None:
    if trust_repo not in (True, False, "check", None):
        raise ValueError(
            f"hub.{calling_fn}: trust_repo must be True, False, 'check' or None, got {trust_repo!r}"
        )
    owner_name = f"{owner}_{name}"
    trusted = _read_trusted(hub_dir)
    if trust_repo is True or trust_repo is None:
        if owner_name not in trusted:
            _add_trusted(hub_dir, owner_name)
        return
    if trust_repo == "check" and (owner_name in trusted or owner in TRUSTED_OWNERS or cached):
        return
    question = (
        f"The repository {owner_name} does not belong to the list of trusted repositories "
        "and as such cannot be downloaded. Do you trust this repository and wish to add it "
        "to the trusted list of repositories (y/N)?"
    )
    if not _interactive():
        raise RuntimeError(
            f"Untrusted repository: {owner}/{name} is not in the trusted list "
            f"({_trusted_list_path(hub_dir)}) and there is no terminal to ask. Its hubconf.py "
            f"would run as Python code; if you trust it, call hub.{calling_fn}(..., "
            "trust_repo=True), which also adds it to the list."
        )
    if input(question).strip().lower() not in ("y", "yes"):
        raise RuntimeError("Untrusted repository.")
    _add_trusted(hub_dir, owner_name)


def _api_get(url: str) -> Any:
    headers = {"User-Agent": USER_AGENT}
    token = os.environ.get(ENV_GITHUB_TOKEN)
    if token:
        headers["Authorization"] = f"token {token}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return json.loads(response.read().decode("utf-8"))


def _validate_ref(owner: str, name: str, ref: str) -> None:
    """Check with the GitHub API that ``ref`` is a branch or tag of ``owner/name`` (or the
    head commit of one): GitHub also serves a fork's commit under the parent's URL."""
    for kind in ("branches", "tags"):
        page = 1
        while True:
            url = f"{GITHUB_API_URL}/repos/{owner}/{name}/{kind}?per_page=100&page={page}"
            items = _api_get(url)
            for item in items:
                sha = str(item.get("commit", {}).get("sha", ""))
                if item.get("name") == ref or (len(ref) >= 7 and sha.startswith(ref)):
                    return
            if len(items) < 100:
                break
            page += 1
    raise ValueError(
        f"Cannot find {ref} in {GITHUB_URL}/{owner}/{name}. If it's a commit from a forked "
        "repo, please call hub.load() with the forked repo directly."
    )


def _not_found(exc: urllib.error.URLError) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 404
    return isinstance(exc.reason, FileNotFoundError)


def _download_repo(hub_dir: str, owner: str, name: str, ref: str) -> str:
    """Fetch the zipball of ``ref``, put its one top folder in the cache and return that."""
    repo_dir = _repo_dir(hub_dir, owner, name, ref)
    url = f"{GITHUB_URL}/{owner}/{name}/zipball/{ref}"
    zip_path = os.path.join(hub_dir, f"{ref.replace('/', '_')}.zip")
    staging = os.path.join(hub_dir, f".tmp-{os.path.basename(repo_dir)}-{uuid.uuid4().hex}")
    sys.stdout.write(f'Downloading: "{url}" to {zip_path}\n')
    try:
        download_url_to_file(url, zip_path, progress=False)
        with zipfile.ZipFile(zip_path) as archive:
            top = single_top_folder(archive)
            if top is None:
                raise RuntimeError(
                    f"hub: {url} is not a GitHub repository archive: its entries are not "
                    "all inside one top-level folder"
                )
            extract_all(archive, staging)
        if os.path.exists(repo_dir):
            shutil.rmtree(repo_dir)
        os.replace(os.path.join(staging, top), repo_dir)
        return repo_dir
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.exists(zip_path):
            os.remove(zip_path)


def get_repo_dir(
    github: str,
    force_reload: bool,
    trust_repo: Any,
    calling_fn: str,
    verbose: bool = True,
    skip_validation: bool = False,
) -> str:
    """The local folder of ``github`` (``"owner/repo[:ref]"``), downloaded if needed, after
    the trust check."""
    owner, name, ref = parse_repo_info(github)
    hub_dir = get_dir()
    os.makedirs(hub_dir, exist_ok=True)
    refs = (ref,) if ref is not None else _DEFAULT_BRANCHES
    cached = [r for r in refs if os.path.isdir(_repo_dir(hub_dir, owner, name, r))]
    _check_trust(hub_dir, owner, name, trust_repo, bool(cached), calling_fn)
    if cached and not force_reload:
        repo_dir = _repo_dir(hub_dir, owner, name, cached[0])
        if verbose:
            sys.stderr.write(f"Using cache found in {repo_dir}\n")
        return repo_dir
    if ref is not None and not skip_validation:
        _validate_ref(owner, name, ref)
    for candidate in refs[:-1]:  # only without a ref: "main", whose absence means "master"
        try:
            return _download_repo(hub_dir, owner, name, candidate)
        except urllib.error.URLError as exc:
            if not _not_found(exc):
                raise
    return _download_repo(hub_dir, owner, name, refs[-1])
