"""cr.data.text: tokenizers (round trips, deterministic BPE), corpora, token datasets/files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data.text import (
    CORPORA,
    ByteBPETokenizer,
    CharTokenizer,
    NextTokenDataset,
    TiktokenTokenizer,
    TokenData,
    load_corpus,
    load_token_file,
    load_tokenizer,
    resolve_corpus,
    sample_text,
    split_tokens,
    write_token_file,
)
from chainrule.data.text import corpus as corpus_mod
from chainrule.utils.data import DataLoader

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "text"
TEXT = "the cat sat on the mat; the cat ate the rat. 12 cats! a_b_c\n\tTHE END ünïcødé 😀"


def test_char_tokenizer_round_trip_and_order():
    tok = CharTokenizer.from_text("hello")
    assert tok.chars == ["e", "h", "l", "o"]
    assert tok.encode("hole") == [1, 3, 2, 0]
    assert tok.decode(np.array([1, 3, 2, 0])) == "hole"
    assert tok.decode(cr.tensor([1, 0])) == "he"


def test_char_tokenizer_errors():
    tok = CharTokenizer.from_text("ab")
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        tok.encode("az")
    with pytest.raises(ValueError, match="outside"):
        tok.decode([5])
    with pytest.raises(TypeError, match="1-d sequence of integer"):
        tok.decode([[0]])


def test_bpe_training_is_deterministic_and_merges_frequent_pairs():
    a = ByteBPETokenizer.train(TEXT * 3, 280)
    b = ByteBPETokenizer.train(TEXT * 3, 280)
    assert a.merges == b.merges
    assert a.vocab_size == 256 + len(a.merges)
    # "the" occurs most: its pieces are among the first merges, and encoding compresses it.
    assert a.token_bytes(256) in (b"th", b"he", b" t", b"at")
    assert len(a.encode("the cat")) < len(b"the cat")


def test_bpe_merges_on_a_fixed_text_are_the_expected_ones():
    tok = ByteBPETokenizer.train("aaab aaab aab", 259)
    # counts: chunks "aaab" x1, " aaab" x1, " aab" x1. Pair (a,a)=5 is most frequent.
    assert tok.merges[0] == (ord("a"), ord("a"))
    assert tok.encode("aaab")[0] == 256


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_bpe_round_trip_any_string(s):
    tok = _BPE
    assert tok.decode(tok.encode(s)) == s


_BPE = ByteBPETokenizer.train(TEXT * 2, 300)


def test_tokenizers_save_and_load(tmp_path):
    for tok in (CharTokenizer.from_text(TEXT), _BPE):
        p = tmp_path / f"{tok.kind}.json"
        tok.save(p)
        back = load_tokenizer(p)
        assert type(back) is type(tok)
        assert back.encode(TEXT) == tok.encode(TEXT)


def test_load_tokenizer_rejects_bad_files(tmp_path):
    p = tmp_path / "t.json"
    p.write_text("[" * 100_000)
    with pytest.raises(ValueError, match="not valid JSON"):
        load_tokenizer(p)
    p.write_text(json.dumps({"kind": "byte_bpe", "merges": [[1, "x"]]}))
    with pytest.raises(ValueError, match="list of"):
        load_tokenizer(p)
    p.write_text(json.dumps({"kind": "byte_bpe", "merges": [[999, 1]]}))
    with pytest.raises(ValueError, match="does not exist yet"):
        load_tokenizer(p)
    p.write_text(json.dumps({"kind": "pickle"}))
    with pytest.raises(ValueError, match="not a chainrule tokenizer"):
        load_tokenizer(p)


def test_bpe_rejects_small_vocab():
    with pytest.raises(ValueError, match=">= 256"):
        ByteBPETokenizer.train("abc", 100)


def test_tiktoken_adapter_matches_our_bpe():
    pytest.importorskip("tiktoken", reason="optional extra chainrule[text] not installed")
    fast = TiktokenTokenizer.from_bpe(_BPE)
    assert fast.vocab_size == _BPE.vocab_size
    for s in (TEXT, "the rat sat", "  spaces  and\nnewlines\n\n"):
        assert fast.encode(s) == _BPE.encode(s)
        assert fast.decode(fast.encode(s)) == s


def test_split_and_next_token_dataset():
    toks = np.arange(100)
    train, val = split_tokens(toks, 0.1)
    assert len(train) == 90 and len(val) == 10 and val[0] == 90
    ds = NextTokenDataset(train, block_size=8)
    assert len(ds) == (90 - 9) // 8 + 1
    x, y = ds[3]
    assert x.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), np.arange(24, 32))
    np.testing.assert_array_equal(y.numpy(), np.arange(25, 33))
    with pytest.raises(IndexError):
        ds[len(ds)]
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 8)
    with pytest.raises(ValueError, match="too few"):
        NextTokenDataset(np.arange(5), block_size=8)
    with pytest.raises(ValueError, match="val_fraction"):
        split_tokens(toks, 1.5)


def test_token_data_batches_are_windows_and_seeded():
    toks = np.arange(1000)
    data = TokenData(*split_tokens(toks, 0.2), block_size=16)
    x1, y1 = data.get_batch("train", 8, cr.Generator().manual_seed(3))
    x2, _ = data.get_batch("train", 8, cr.Generator().manual_seed(3))
    np.testing.assert_array_equal(x1.numpy(), x2.numpy())
    assert x1.shape == (8, 16)
    np.testing.assert_array_equal(y1.numpy(), x1.numpy() + 1)  # consecutive ids
    assert (np.diff(x1.numpy(), axis=1) == 1).all()
    assert x1.numpy().max() < 800
    xv, _ = data.get_batch("val", 4)
    assert xv.numpy().min() >= 800
    with pytest.raises(ValueError, match="split"):
        data.get_batch("test", 2)


def test_token_file_round_trip_memmap(tmp_path):
    toks = np.array([0, 5, 70000, 3], dtype=np.int64)
    p = write_token_file(tmp_path / "t.bin", toks)
    mm = load_token_file(p)
    assert isinstance(mm, np.memmap) and mm.dtype == np.uint32
    np.testing.assert_array_equal(mm, toks)
    small = load_token_file(write_token_file(tmp_path / "s.bin", np.arange(10)))
    assert small.dtype == np.uint16
    data = TokenData(small, small, block_size=4)
    assert data.get_batch("train", 2)[0].shape == (2, 4)


def test_token_file_rejects_bad_files(tmp_path):
    p = tmp_path / "bad.bin"
    p.write_bytes(b"not a token file at all")
    with pytest.raises(ValueError, match="bad header"):
        load_token_file(p)
    good = write_token_file(tmp_path / "g.bin", np.arange(10))
    p.write_bytes(good.read_bytes() + b"\x00")  # half a uint16 token
    with pytest.raises(ValueError, match="whole number"):
        load_token_file(p)


def test_sample_corpus_is_builtin_and_nonempty():
    text = sample_text()
    assert len(text) > 5000 and "First Citizen" in text
    assert load_corpus("sample") == text


def test_corpus_by_path_and_errors(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("hello world", encoding="utf-8")
    assert load_corpus(p) == "hello world"
    with pytest.raises(FileNotFoundError, match="not a file"):
        load_corpus(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="not UTF-8"):
        load_corpus(tmp_path / "bin.txt")
    with pytest.raises(ValueError, match="unknown corpus"):
        resolve_corpus("wikipedia")


def test_named_corpus_found_in_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="download=True") as e:
        resolve_corpus("names")
    assert "--download" not in str(e.value)  # the CLI adds its flag itself
    (tmp_path / "names.txt").write_text("emma\nolivia\n")
    assert load_corpus("names") == "emma\nolivia\n"


def test_download_with_checksum_from_a_local_url(tmp_path, monkeypatch):
    src = tmp_path / "src.txt"
    src.write_text("to be or not to be\n")
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    fake = corpus_mod.Corpus("fake.txt", (src.as_uri(),), src.stat().st_size, md5)
    monkeypatch.setitem(CORPORA, "fake", fake)
    dest = tmp_path / "data"
    path = resolve_corpus("fake", root=dest, download=True)
    assert path == dest / "fake.txt" and path.read_text() == "to be or not to be\n"
    bad = corpus_mod.Corpus("bad.txt", (src.as_uri(),), src.stat().st_size, "0" * 32)
    monkeypatch.setitem(CORPORA, "bad", bad)
    with pytest.raises(RuntimeError, match="MD5"):
        resolve_corpus("bad", root=dest, download=True)
    assert not (dest / "bad.txt").exists()


@pytest.mark.skipif(
    not (SHARED / "tiny-shakespeare.txt").is_file(),
    reason="the shared corpus folder is not on this machine",
)
def test_real_corpora_match_their_checksums():
    for name, corpus in CORPORA.items():
        data = (SHARED / corpus.filename).read_bytes()
        assert len(data) == corpus.size, name
        assert hashlib.md5(data).hexdigest() == corpus.md5, name
