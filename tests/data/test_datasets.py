"""Datasets on small files the tests write: IDX (MNIST layout), CIFAR-10 pickles, MNIST-1D."""

from __future__ import annotations

import functools
import gzip
import hashlib
import operator
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.datasets import (
    CIFAR10,
    MNIST,
    MNIST1D,
    FashionMNIST,
    make_mnist1d,
    read_idx,
    safe_unpickle,
    write_idx,
)
from chainrule.utils.data import DataLoader, default_collate


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "cache"))


def _write_mnist(folder: Path, n_train=12, n_test=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y)
        out[prefix] = (x, y)
    return out


# ----------------------------------------------------------------------------- IDX reader
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, dtype, gz):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(p, a)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == gz
    b = read_idx(p)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(a, b)


def test_idx_header_is_big_endian_as_specified(tmp_path):
    p = tmp_path / "labels"
    p.write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 8, 9]))
    np.testing.assert_array_equal(read_idx(p), [7, 8, 9])


def test_idx_truncated_oversized_and_bad_magic(tmp_path):
    a = np.zeros((3, 28, 28), np.uint8)
    p = tmp_path / "x.idx"
    write_idx(p, a)
    good = p.read_bytes()
    p.write_bytes(good[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)
    p.write_bytes(good + b"\x00")
    with pytest.raises(ValueError, match="longer than its header"):
        read_idx(p)
    p.write_bytes(b"\x01\x00" + good[2:])
    with pytest.raises(ValueError, match="magic"):
        read_idx(p)
    p.write_bytes(good[:6])
    with pytest.raises(ValueError, match="truncated header"):
        read_idx(p)
    p.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        read_idx(p)


def test_idx_damaged_gzip(tmp_path):
    p = tmp_path / "x.gz"
    write_idx(p, np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8))
    good = p.read_bytes()
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="damaged or truncated gzip"):
        read_idx(p)
    bad = bytearray(good)
    bad[-6] ^= 0xFF  # corrupt the CRC / length trailer
    p.write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="gzip"):
        read_idx(p)


# ----------------------------------------------------------------------------- MNIST family
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_layouts(tmp_path, layout, gz):
    folder = tmp_path / "root" if layout == "flat" else tmp_path / "root" / "MNIST" / "raw"
    ref = _write_mnist(folder, gz=gz)
    ds = MNIST(tmp_path / "root", train=True)
    assert len(ds) == 12 and ds.data.dtype == np.uint8 and ds.data.shape == (12, 28, 28)
    np.testing.assert_array_equal(ds.data, ref["train"][0])
    np.testing.assert_array_equal(ds.targets, ref["train"][1])
    assert ds.targets.dtype == np.int64
    img, label = ds[3]
    assert isinstance(img, cr.Tensor) and img.shape == (1, 28, 28) and img.dtype == np.float32
    np.testing.assert_allclose(img.numpy()[0], ref["train"][0][3] / 255.0, rtol=1e-6)
    assert label == int(ref["train"][1][3])
    test = MNIST(tmp_path / "root", train=False)
    assert len(test) == 5
    assert len(ds.classes) == 10


def test_fashion_mnist_root_search_env_and_transforms(tmp_path, monkeypatch):
    data_root = tmp_path / "envdata"
    ref = _write_mnist(data_root / "FashionMNIST" / "raw")
    monkeypatch.setenv("CHAINRULE_DATA", str(data_root))
    ds = FashionMNIST(transform=lambda im: im.sum(), target_transform=lambda t: t + 100)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    img, label = ds[0]
    assert img == ref["train"][0][0].sum() and label == ref["train"][1][0] + 100


def test_missing_files_message(tmp_path):
    with pytest.raises(RuntimeError, match="download=True"):
        MNIST(tmp_path / "nothing")


def test_mismatched_files_rejected(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="labels for"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((3, 27, 28), np.uint8))
    with pytest.raises(ValueError, match="28, 28"):
        MNIST(tmp_path)


def test_as_arrays_and_dataloader_fast_path(tmp_path):
    ref = _write_mnist(tmp_path)
    ds = MNIST(tmp_path)
    x, y = ds.as_arrays()
    assert x.shape == (12, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert ds.as_arrays(flatten=True)[0].shape == (12, 784)
    np.testing.assert_allclose(x[:, 0], ref["train"][0] / 255.0, rtol=1e-6)
    cr.manual_seed(5)
    fast = list(DataLoader(ds, batch_size=5, shuffle=True))
    cr.manual_seed(5)
    slow = list(DataLoader(ds, batch_size=5, shuffle=True, collate_fn=lambda b: default_collate(b)))
    for (a, b), (c, d) in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
    assert ds._gather is not None
    assert MNIST(tmp_path, transform=lambda i: i)._gather is None


def _serve(tmp_path, files):
    """Write small gz IDX files to a 'mirror' folder; return a file:// URL and resources."""
    mirror = tmp_path / "mirror"
    _write_mnist(mirror)
    resources = {}
    for f in files:
        data = (mirror / f).read_bytes()
        resources[f] = (hashlib.md5(data).hexdigest(), len(data))
    return mirror.as_uri() + "/", resources


def test_download_verifies_and_writes_atomically(tmp_path, monkeypatch):
    files = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    url, resources = _serve(tmp_path, files)
    monkeypatch.setattr(FashionMNIST, "mirrors", ["file:///nonexistent/mirror/", url])
    monkeypatch.setattr(FashionMNIST, "resources", resources)
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())  # ignore a system-wide copy
    ds = FashionMNIST(download=True)
    cache = Path(os.environ["CHAINRULE_DATA"]) / "FashionMNIST" / "raw"
    assert ds.root == cache and len(ds) == 12
    assert sorted(p.name for p in cache.iterdir()) == sorted(files[:2])  # no leftovers
    np.testing.assert_array_equal(ds.data, read_idx(tmp_path / "mirror" / files[0]))
    # second construction finds the cached files, no network needed
    monkeypatch.setattr(FashionMNIST, "mirrors", [])
    assert len(FashionMNIST()) == 12


def test_download_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    url, resources = _serve(tmp_path, files)
    md5, size = resources[files[0]]
    resources[files[0]] = ("0" * 32, size)
    monkeypatch.setattr(MNIST, "mirrors", [url])
    monkeypatch.setattr(MNIST, "resources", resources)
    root = tmp_path / "dl"
    with pytest.raises(RuntimeError, match="MD5"):
        MNIST(root, download=True)
    leftovers = list((root / "MNIST" / "raw").iterdir())
    assert leftovers == []
    resources[files[0]] = (md5, size + 1)
    with pytest.raises(RuntimeError, match="size"):
        MNIST(root, download=True)


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist_from_debian_package(monkeypatch, tmp_path):
    ds = FashionMNIST(train=False)
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert np.bincount(ds.targets).tolist() == [1000] * 10
    assert ds.targets[:5].tolist() == [9, 2, 1, 1, 6]


# ----------------------------------------------------------------------------- CIFAR-10
def _write_cifar(root: Path, per_batch=4, protocol=2):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    all_x, all_y = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, per_batch)]
        entry = {
            b"batch_label": name.encode(),
            b"labels": y,
            b"data": x,
            b"filenames": [f"{i}.png".encode() for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=protocol))
        all_x.append(x)
        all_y.append(y)
    names = [
        b"airplane",
        b"automobile",
        b"bird",
        b"cat",
        b"deer",
        b"dog",
        b"frog",
        b"horse",
        b"ship",
        b"truck",
    ]
    meta = {b"label_names": names, b"num_cases_per_batch": per_batch, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return all_x, all_y


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar10_small_batches(tmp_path, protocol):
    xs, ys = _write_cifar(tmp_path, protocol=protocol)
    ds = CIFAR10(tmp_path, train=True)
    assert len(ds) == 20 and ds.data.shape == (20, 32, 32, 3) and ds.data.dtype == np.uint8
    assert ds.classes[0] == "airplane" and len(ds.classes) == 10
    np.testing.assert_array_equal(ds.data[0], xs[0][0].reshape(3, 32, 32).transpose(1, 2, 0))
    assert ds.targets.tolist() == functools.reduce(operator.iadd, ys[:5], [])
    img, label = ds[5]
    assert img.shape == (3, 32, 32) and img.dtype == np.float32 and label == ys[1][1]
    np.testing.assert_allclose(img.numpy(), xs[1][1].reshape(3, 32, 32) / 255.0, rtol=1e-6)
    test = CIFAR10(tmp_path / "cifar-10-batches-py", train=False)
    assert len(test) == 4 and test.targets.tolist() == ys[5]
    x, _y = test.as_arrays()
    assert x.shape == (4, 3, 32, 32)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + str(_Evil.marker),))


def test_malicious_pickle_is_refused_and_not_executed(tmp_path):
    _Evil.marker = tmp_path / "pwned"
    payload = pickle.dumps({b"data": _Evil()}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        safe_unpickle(payload)
    assert not _Evil.marker.exists()
    for bad in [pickle.dumps(eval, protocol=2), pickle.dumps(getattr, protocol=2)]:
        with pytest.raises(pickle.UnpicklingError):
            safe_unpickle(bad)
    # a batch file carrying the payload is refused by the dataset too
    _write_cifar(tmp_path / "c")
    (tmp_path / "c" / "cifar-10-batches-py" / "test_batch").write_bytes(payload)
    with pytest.raises(pickle.UnpicklingError):
        CIFAR10(tmp_path / "c", train=False)
    assert not _Evil.marker.exists()


def test_safe_unpickle_plain_data():
    obj = {
        "a": [1, 2.5, "s", b"b", (1, 2)],
        "arr": np.arange(6, dtype=np.float32).reshape(2, 3),
        "s": {1, 2},
    }
    out = safe_unpickle(pickle.dumps(obj, protocol=2))
    np.testing.assert_array_equal(out["arr"], obj["arr"])
    assert out["a"] == obj["a"] and out["s"] == {1, 2}


# ----------------------------------------------------------------------------- MNIST-1D
@pytest.fixture(scope="module")
def mnist1d_arrays():
    return make_mnist1d()


def test_mnist1d_shapes_and_determinism(mnist1d_arrays, tmp_path):
    d = mnist1d_arrays
    assert d["x"].shape == (4000, 40) and d["x_test"].shape == (1000, 40)
    assert np.bincount(np.concatenate([d["y"], d["y_test"]])).tolist() == [500] * 10
    both = np.concatenate([d["x"], d["x_test"]])
    assert abs(both.mean()) < 1e-10 and abs(both.std() - 1) < 1e-10
    small = make_mnist1d(num_samples=200)
    np.testing.assert_array_equal(small["x"], make_mnist1d(num_samples=200)["x"])
    assert not np.allclose(small["x"], make_mnist1d(num_samples=200, seed=1)["x"])
    with pytest.raises(TypeError, match="unknown"):
        make_mnist1d(bogus=1)


def test_mnist1d_matches_reference_package(mnist1d_arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = pytest.importorskip("mnist1d.data")
        ref = data.make_dataset(data.get_dataset_args())
    for k in ("x", "y", "x_test", "y_test"):
        np.testing.assert_allclose(mnist1d_arrays[k], ref[k], rtol=0, atol=1e-10)


def test_mnist1d_dataset_cache_and_items(mnist1d_arrays, tmp_path):
    cache = tmp_path / "MNIST1D" / "mnist1d_seed42.npz"
    cache.parent.mkdir()
    np.savez(cache, **mnist1d_arrays)
    ds = MNIST1D(root=tmp_path)  # loaded from the cache (generation is tested above)
    with np.load(cache, allow_pickle=False) as f:  # plain arrays, no pickle
        np.testing.assert_array_equal(f["y"], mnist1d_arrays["y"])
    np.testing.assert_allclose(ds.data, mnist1d_arrays["x"].astype(np.float32))
    x, y = ds[0]
    assert x.shape == (1, 40) and x.dtype == np.float32 and y == mnist1d_arrays["y"][0]
    test = MNIST1D(root=tmp_path, train=False)  # loaded from cache
    assert len(test) == 1000 and len(ds) == 4000
    cache.write_bytes(b"garbage")
    regen = MNIST1D(root=tmp_path, train=False)  # damaged cache is regenerated and rewritten
    np.testing.assert_allclose(regen.data, mnist1d_arrays["x_test"].astype(np.float32))
    with np.load(cache, allow_pickle=False) as f:
        assert f["x"].shape == (4000, 40)
    xa, _ = ds.as_arrays(channel=True)
    assert xa.shape == (4000, 1, 40)


def test_mnist1d_is_learnable_beyond_chance(mnist1d_arrays):
    d = mnist1d_arrays
    x, y, xt, yt = d["x"], d["y"], d["x_test"], d["y_test"]
    # nearest class mean: a weak baseline, but clearly above 10% chance
    means = np.stack([x[y == c].mean(0) for c in range(10)])
    pred = np.argmin(((xt[:, None] - means[None]) ** 2).sum(-1), axis=1)
    acc_nm = (pred == yt).mean()
    # logistic regression by gradient descent (the paper reports ~32%)
    w, b = np.zeros((40, 10)), np.zeros(10)
    onehot = np.eye(10)[y]
    for _ in range(300):  # einsum, not BLAS: tiny products, no thread contention
        z = np.einsum("nd,dk->nk", x, w) + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(x)
        w -= 0.5 * np.einsum("nd,nk->dk", x, g)
        b -= 0.5 * g.sum(0)
    acc_lr = ((xt @ w + b).argmax(1) == yt).mean()
    assert acc_nm > 0.2 and acc_lr > 0.27, (acc_nm, acc_lr)  # chance is 0.10


def test_gzip_module_is_used_for_gz_only(tmp_path):
    raw = tmp_path / "x"
    write_idx(raw, np.arange(5, dtype=np.uint8), compress=False)
    assert raw.read_bytes()[:4] == bytes([0, 0, 8, 1])
    gz = tmp_path / "y.gz"
    write_idx(gz, np.arange(5, dtype=np.uint8))
    assert gzip.decompress(gz.read_bytes()) == raw.read_bytes()
