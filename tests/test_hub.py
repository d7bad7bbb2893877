"""``cr.hub`` / ``cr.utils.model_zoo`` against ``torch.hub``: all local (``file://`` URLs in
``tmp_path``), never the network. The GitHub path is exercised by pointing
``chainrule.hub.repos.GITHUB_URL`` (and ``GITHUB_API_URL``) at a folder of zipballs."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import pickle
import sys
import urllib.error
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.utils.model_zoo as model_zoo
from chainrule import _download as download
from chainrule.hub import dirs, repos

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _forget_helper_modules() -> Iterator[None]:
    """Drop the modules a test's hubconf imported (``helper_*``) from ``sys.modules``."""
    yield
    for name in [n for n in sys.modules if n.startswith("helper_local")]:
        del sys.modules[name]


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """chainrule's hub folder set to ``tmp_path/hub`` (restored after the test)."""
    monkeypatch.setattr(dirs, "_hub_dir", None)
    cr.hub.set_dir(tmp_path / "hub")
    return tmp_path / "hub"


def _checkpoint(folder: Path, name: str = "state.pth", **extra: object) -> tuple[Path, str]:
    """A ``torch.save``d state dict in ``folder``; its path and SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    torch.save({"w": torch.arange(6, dtype=torch.float64).reshape(2, 3), **extra}, path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _outcome(fn, *args, **kwargs) -> str:
    try:
        fn(*args, **kwargs)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the outcome is compared between frameworks
        return f"{type(exc).__name__}: {exc}"


# --- get_dir / set_dir ---------------------------------------------------------------------


def test_get_dir_follows_the_environment_like_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dirs, "_hub_dir", None)
    for var in ("TORCH_HOME", "CHAINRULE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    assert torch.hub.get_dir() == os.path.expanduser("~/.cache/torch/hub")
    assert cr.hub.get_dir() == os.path.expanduser("~/.cache/chainrule/hub")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert torch.hub.get_dir() == "/xdg/torch/hub"
    assert cr.hub.get_dir() == "/xdg/chainrule/hub"
    monkeypatch.setenv("TORCH_HOME", "/th")
    monkeypatch.setenv("CHAINRULE_HOME", "/ch")
    assert torch.hub.get_dir() == "/th/hub"
    assert cr.hub.get_dir() == "/ch/hub"


def test_set_dir_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dirs, "_hub_dir", None)
    monkeypatch.setenv("CHAINRULE_HOME", "/ch")
    cr.hub.set_dir(Path("~/elsewhere"))
    assert cr.hub.get_dir() == os.path.expanduser("~/elsewhere")  # str, ~ expanded (as torch)


# --- download_url_to_file ------------------------------------------------------------------


def test_download_checks_the_hash_prefix_like_torch(tmp_path: Path) -> None:
    src, sha = _checkpoint(tmp_path / "srv")
    url = src.as_uri()
    for prefix in ("deadbeef", sha[:8].upper()):
        want = _outcome(torch.hub.download_url_to_file, url, str(tmp_path / "t"), prefix, False)
        got = _outcome(cr.hub.download_url_to_file, url, str(tmp_path / "c"), prefix, False)
        assert got == want and want.startswith("RuntimeError: invalid hash value (expected")
    assert sorted(os.listdir(tmp_path)) == ["srv"]  # no partial file left, nothing renamed
    cr.hub.download_url_to_file(url, str(tmp_path / "ok.pth"), sha[:12], progress=False)
    assert (tmp_path / "ok.pth").read_bytes() == src.read_bytes()


def test_download_errors_match_torch(tmp_path: Path) -> None:
    src, _ = _checkpoint(tmp_path)
    missing = (tmp_path / "nope.pth").as_uri()
    with pytest.raises(urllib.error.URLError):
        torch.hub.download_url_to_file(missing, str(tmp_path / "a"), progress=False)
    with pytest.raises(urllib.error.URLError):
        cr.hub.download_url_to_file(missing, str(tmp_path / "a"), progress=False)
    for fn in (torch.hub.download_url_to_file, cr.hub.download_url_to_file):
        with pytest.raises(FileNotFoundError):
            fn(src.as_uri(), str(tmp_path / "no_dir" / "x.pth"), progress=False)


def test_download_streams_in_chunks_with_a_progress_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    data = np.random.default_rng(0).bytes(1000)
    (tmp_path / "blob").write_bytes(data)
    reads: list[int] = []
    real_urlopen = download.urllib.request.urlopen

    def spying_urlopen(*args, **kwargs):
        response = real_urlopen(*args, **kwargs)
        real_read = response.read
        response.read = lambda n=-1: reads.append(n) or real_read(n)
        return response

    monkeypatch.setattr(download, "CHUNK_SIZE", 64)
    monkeypatch.setattr(download.urllib.request, "urlopen", spying_urlopen)
    cr.hub.download_url_to_file((tmp_path / "blob").as_uri(), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == data
    assert reads and set(reads) == {64}  # never read(-1): the whole body is never in memory
    assert "100%" in capsys.readouterr().err  # the tqdm bar


def test_download_without_tqdm_shows_no_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    src, _ = _checkpoint(tmp_path)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes ``import tqdm`` fail
    cr.hub.download_url_to_file(src.as_uri(), str(tmp_path / "out"), progress=True)
    assert (tmp_path / "out").read_bytes() == src.read_bytes()
    assert capsys.readouterr().err == ""


# --- load_state_dict_from_url --------------------------------------------------------------


def test_load_state_dict_from_url_caches_like_torch(
    tmp_path: Path, hub_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    src, sha = _checkpoint(tmp_path / "srv", "weights.tmp")
    named = src.with_name(f"weights-{sha[:8]}.pth")
    src.rename(named)
    t_dir, c_dir = tmp_path / "t", tmp_path / "c"
    want = torch.hub.load_state_dict_from_url(named.as_uri(), str(t_dir), check_hash=True)
    t_out = capsys.readouterr().out
    got = cr.hub.load_state_dict_from_url(named.as_uri(), str(c_dir), check_hash=True)
    c_out = capsys.readouterr().out
    assert c_out == t_out.replace(str(t_dir), str(c_dir))  # 'Downloading: "<url>" to <path>'
    np.testing.assert_array_equal(got["w"].numpy(), want["w"].numpy())
    assert os.listdir(c_dir) == os.listdir(t_dir) == [named.name]
    named.unlink()  # the cached copy is used, nothing is downloaded
    again = model_zoo.load_url(named.as_uri(), str(c_dir), check_hash=True)
    assert capsys.readouterr().out == "" and cr.equal(again["w"], got["w"])
    assert model_zoo.load_url is cr.hub.load_state_dict_from_url


def test_default_model_dir_is_hub_checkpoints(tmp_path: Path, hub_dir: Path) -> None:
    src, _ = _checkpoint(tmp_path / "srv")
    state = cr.hub.load_state_dict_from_url(src.as_uri(), map_location="cpu", progress=False)
    assert isinstance(state["w"], cr.Tensor)
    assert os.listdir(hub_dir / "checkpoints") == ["state.pth"]


def test_hash_in_the_file_name_is_read_like_torch(tmp_path: Path) -> None:
    src, sha = _checkpoint(tmp_path / "srv")
    p = sha[:8]
    names = [
        f"w-{p}.pth",  # checked, passes
        f"a-zz-{p}.tar.pth",  # the first '-<hex>.' counts
        f"a-{p}-b.pth",  # 'b' is the hash part: fails
        f"x-ab.y-{p}.pth",  # 'ab': fails
        f"w-{p.upper()}.pth",  # uppercase is no hash part: not checked
        "a-deadbeef.pth",  # fails
        "plain.pth",  # not checked
    ]
    for i, name in enumerate(names):
        url = src.as_uri()
        kwargs = {"check_hash": True, "progress": False, "file_name": name}
        want = _outcome(torch.hub.load_state_dict_from_url, url, str(tmp_path / f"t{i}"), **kwargs)
        got = _outcome(cr.hub.load_state_dict_from_url, url, str(tmp_path / f"c{i}"), **kwargs)
        assert got == want, name
        assert os.listdir(tmp_path / f"c{i}") == os.listdir(tmp_path / f"t{i}")  # fail: empty


def test_a_zipped_checkpoint_is_unpacked_like_torch(tmp_path: Path) -> None:
    src, _ = _checkpoint(tmp_path / "srv")
    zipped = tmp_path / "srv" / "weights.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(src, "sub/inner.pth")
    with pytest.warns(FutureWarning, match="old format"):  # torch deprecates this form
        want = torch.hub.load_state_dict_from_url(
            zipped.as_uri(), str(tmp_path / "t"), progress=False
        )
    got = cr.hub.load_state_dict_from_url(zipped.as_uri(), str(tmp_path / "c"), progress=False)
    np.testing.assert_array_equal(got["w"].numpy(), want["w"].numpy())
    assert sorted(os.listdir(tmp_path / "c")) == sorted(os.listdir(tmp_path / "t"))
    assert (tmp_path / "c" / "sub" / "inner.pth").is_file()


def test_a_zipped_checkpoint_may_not_escape_model_dir(tmp_path: Path) -> None:
    src, _ = _checkpoint(tmp_path / "srv")
    zipped = tmp_path / "srv" / "evil.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(src, "../escaped.pth")
    with pytest.raises(ValueError, match="directory traversal"):
        cr.hub.load_state_dict_from_url(zipped.as_uri(), str(tmp_path / "c"), progress=False)
    assert not (tmp_path / "escaped.pth").exists()


def test_loading_never_runs_code_even_with_weights_only_false(tmp_path: Path) -> None:
    src, _ = _checkpoint(tmp_path / "srv", counts=collections.defaultdict(int, a=1))
    url = src.as_uri()
    # torch's default (weights_only=False) unpickles anything; chainrule refuses, and says why
    assert torch.hub.load_state_dict_from_url(url, str(tmp_path / "t"), progress=False)["counts"]
    with pytest.raises(pickle.UnpicklingError, match="always loads weights-only"):
        cr.hub.load_state_dict_from_url(url, str(tmp_path / "c"), weights_only=False)
    with pytest.raises(TypeError, match="weights_only must be a bool"):
        cr.hub.load_state_dict_from_url(url, str(tmp_path / "c"), weights_only="no")


# --- hub.load from a local folder ----------------------------------------------------------


def _write_repo(folder: Path, deps: list[str], helper: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{helper}.py").write_text("VALUE = 42\n")
    (folder / "hubconf.py").write_text(
        f"dependencies = {deps!r}\n"
        f"import {helper}\n"
        "def model_a(n=1, *, scale=2):\n"
        '    """Builds model A."""\n'
        f"    return ('A', n, scale, {helper}.VALUE)\n"
        "def _private():\n    return 'p'\n"
        "not_callable = 3\n"
    )
    return folder


def test_local_load_matches_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    repo = str(_write_repo(tmp_path / "repo", ["numpy"], "helper_local_ok"))
    path_before = list(sys.path)
    for hub in (torch.hub, cr.hub):
        assert hub.load(repo, "model_a", 5, source="local", scale=3) == ("A", 5, 3, 42)
        assert hub.load(repo, "_private", source="LOCAL") == "p"
        assert sys.path == path_before and "hubconf.py" not in sys.modules
    cases = [
        ((repo, "nope"), {"source": "local"}),
        ((repo, "not_callable"), {"source": "local"}),
        ((repo, 5), {"source": "local"}),
        ((repo, "model_a"), {"source": "bogus"}),
    ]
    for args, kwargs in cases:
        assert _outcome(cr.hub.load, *args, **kwargs) == _outcome(torch.hub.load, *args, **kwargs)
    with pytest.raises(FileNotFoundError):
        cr.hub.load(str(tmp_path / "none"), "model_a", source="local")


def test_missing_dependencies_are_listed_like_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps = ["numpy", "no_such_pkg_xyz", "also_missing_xyz"]
    repo = tmp_path / "repo"
    _write_repo(repo, deps, "helper_local_deps")
    want = _outcome(torch.hub.load, str(repo), "model_a", source="local")
    assert want == "RuntimeError: Missing dependencies: no_such_pkg_xyz, also_missing_xyz"
    assert _outcome(cr.hub.load, str(repo), "model_a", source="local") == want
    # a dotted name whose parent is missing is listed too (torch lets find_spec raise)
    _write_repo(repo, ["no_such.sub_pkg"], "helper_local_deps")
    with pytest.raises(RuntimeError, match=r"^Missing dependencies: no_such\.sub_pkg$"):
        cr.hub.load(str(repo), "model_a", source="local")


# --- hub.load / list / help from GitHub (a file:// stand-in) -------------------------------


def _zipball(base: Path, owner: str, name: str, ref: str, body: str, evil: bool = False) -> None:
    """``base/owner/name/zipball/<ref>``: a GitHub-style archive with one top folder."""
    path = base / owner / name / "zipball" / ref
    path.parent.mkdir(parents=True, exist_ok=True)
    top = f"{owner}-{name}-abc1234/"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(top, "")
        archive.writestr(top + "hubconf.py", body)
        archive.writestr(top + "sub/data.txt", "x")
        if evil:
            archive.writestr(top + "../../escaped.py", "boom")


_HUBCONF = 'dependencies = []\ndef m(x=1):\n    """m doc"""\n    return ("{tag}", x)\n'


@pytest.fixture
def github(tmp_path: Path, hub_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "github"
    base.mkdir()
    monkeypatch.setattr(repos, "GITHUB_URL", base.as_uri())
    return base


def test_github_download_cache_and_reload(
    github: Path, hub_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    _zipball(github, "someone", "repo", "v1", _HUBCONF.format(tag="one"))
    got = cr.hub.load("someone/repo:v1", "m", 2, trust_repo=True, skip_validation=True)
    assert got == ("one", 2)
    assert sorted(os.listdir(hub_dir)) == ["someone_repo_v1", "trusted_list"]  # zip removed
    assert sorted(os.listdir(hub_dir / "someone_repo_v1")) == ["hubconf.py", "sub"]
    assert (hub_dir / "trusted_list").read_text() == "someone_repo\n"
    assert "zipball/v1" in capsys.readouterr().out
    _zipball(github, "someone", "repo", "v1", _HUBCONF.format(tag="two"))
    assert cr.hub.load("someone/repo:v1", "m", skip_validation=True) == ("one", 1)  # cached
    assert "Using cache found in" in capsys.readouterr().err
    again = cr.hub.load("someone/repo:v1", "m", force_reload=True, skip_validation=True)
    assert again == ("two", 1)
    assert cr.hub.list("someone/repo:v1", skip_validation=True, verbose=False) == ["m"]
    assert cr.hub.help("someone/repo:v1", "m", skip_validation=True) == "m doc"


def test_github_default_branch_and_slashed_refs(github: Path, hub_dir: Path) -> None:
    _zipball(github, "someone", "old", "master", _HUBCONF.format(tag="master"))
    assert cr.hub.load("someone/old", "m", trust_repo=True) == ("master", 1)  # no main
    _zipball(github, "someone", "new", "main", _HUBCONF.format(tag="main"))
    _zipball(github, "someone", "new", "master", _HUBCONF.format(tag="master"))
    assert cr.hub.load("someone/new", "m", trust_repo=True) == ("main", 1)
    _zipball(github, "someone", "new", "feat/x", _HUBCONF.format(tag="feat"))
    got = cr.hub.load("someone/new:feat/x", "m", trust_repo=True, skip_validation=True)
    assert got == ("feat", 1) and (hub_dir / "someone_new_feat_x").is_dir()
    with pytest.raises(ValueError, match="invalid GitHub repository"):
        cr.hub.load("someone-new", "m", trust_repo=True)


def test_untrusted_repositories_are_refused(
    github: Path, hub_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _zipball(github, "someone", "repo", "v1", _HUBCONF.format(tag="one"))
    _zipball(github, "pytorch", "repo", "v1", _HUBCONF.format(tag="pt"))
    for trust in ("check", False):  # no terminal: an error, never a prompt
        with pytest.raises(RuntimeError, match="Untrusted repository.*trust_repo=True"):
            cr.hub.load("someone/repo:v1", "m", trust_repo=trust, skip_validation=True)
    assert sorted(os.listdir(hub_dir)) == ["trusted_list"]  # nothing was downloaded
    with pytest.raises(ValueError, match="trust_repo must be"):
        cr.hub.load("someone/repo:v1", "m", trust_repo="yes", skip_validation=True)
    assert cr.hub.load("pytorch/repo:v1", "m", skip_validation=True) == ("pt", 1)  # owner
    assert (hub_dir / "trusted_list").read_text() == ""
    monkeypatch.setattr(repos, "_interactive", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: "n")
    with pytest.raises(RuntimeError, match=r"^Untrusted repository\.$"):  # torch's words
        cr.hub.load("someone/repo:v1", "m", trust_repo=False, skip_validation=True)
    monkeypatch.setattr("builtins.input", lambda question: "y")
    assert cr.hub.load("someone/repo:v1", "m", skip_validation=True) == ("one", 1)
    assert (hub_dir / "trusted_list").read_text() == "someone_repo\n"


def test_refs_are_validated_with_the_api(
    github: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _zipball(github, "someone", "repo", "v1", _HUBCONF.format(tag="one"))
    api = tmp_path / "api" / "repos" / "someone" / "repo"
    api.mkdir(parents=True)
    page = "?per_page=100&page=1"  # file:// keeps the query in the file name
    branches = [{"name": "main", "commit": {"sha": "0123456789abcdef"}}]
    (api / f"branches{page}").write_text(json.dumps(branches))
    (api / f"tags{page}").write_text(json.dumps([{"name": "v1", "commit": {"sha": "fe"}}]))
    monkeypatch.setattr(repos, "GITHUB_API_URL", (tmp_path / "api").as_uri())
    assert cr.hub.load("someone/repo:v1", "m", trust_repo=True) == ("one", 1)
    with pytest.raises(ValueError, match="Cannot find fork-sha in"):
        cr.hub.load("someone/repo:fork-sha", "m", trust_repo=True)


def test_zipball_entries_may_not_escape_like_torch(
    github: Path, hub_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _zipball(github, "someone", "repo", "v1", _HUBCONF.format(tag="one"), evil=True)
    zipball = github / "someone" / "repo" / "zipball" / "v1"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(
        torch.hub,
        "download_url_to_file",
        lambda url, dst, *a, **k: Path(dst).write_bytes(zipball.read_bytes()),
    )
    args = ("someone/repo:v1", "m")
    kwargs = {"trust_repo": True, "skip_validation": True}
    want = _outcome(torch.hub.load, *args, **kwargs)
    assert want.startswith("ValueError: Archive entry contains directory traversal")
    assert _outcome(cr.hub.load, *args, **kwargs) == want
    assert not any(p.name == "escaped.py" for p in tmp_path.rglob("*"))
    assert sorted(os.listdir(hub_dir)) == ["trusted_list"]  # no repo, no zip, no staging
