"""Language-model training loop: schedule, learning, exact resume, sampling, run directory."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.models.language import BigramLanguageModel, generate_tokens
from chainrule.train.lm import LMConfig, lr_at, run_lm_training, sample_from_run


def _cfg(tmp_path, **kw):
    base = dict(
        model="bigram",
        max_iters=60,
        eval_interval=20,
        eval_iters=4,
        batch_size=16,
        block_size=8,
        lr=0.1,
        min_lr=0.01,
        warmup_iters=5,
        out=str(tmp_path / "run"),
        sample_tokens=20,
    )
    base.update(kw)
    return LMConfig(**base)


def test_lr_schedule_warmup_cosine_floor():
    cfg = LMConfig(lr=1e-3, min_lr=1e-4, warmup_iters=100, max_iters=2000)
    assert lr_at(0, cfg) == pytest.approx(1e-3 / 101)
    assert lr_at(99, cfg) == pytest.approx(1e-3 * 100 / 101)
    assert lr_at(100, cfg) == pytest.approx(1e-3)
    mid = 100 + (2000 - 100) // 2
    assert lr_at(mid, cfg) == pytest.approx(5.5e-4)
    assert lr_at(2000, cfg) == pytest.approx(1e-4)
    assert lr_at(5000, cfg) == 1e-4
    lrs = [lr_at(i, cfg) for i in range(100, 2001)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_bigram_learns_the_sample_and_writes_the_run(tmp_path):
    res = run_lm_training(_cfg(tmp_path, max_iters=200, eval_interval=100), verbose=False)
    run = tmp_path / "run"
    # uniform over ~58 characters is ln(58) = 4.06 nats; a bigram table reaches ~2.5
    assert res["val_loss"] < 3.0 < math.log(58)
    for name in (
        "config.json",
        "model.safetensors",
        "checkpoint.safetensors",
        "history.csv",
        "samples.txt",
        "tokenizer.json",
    ):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["kind"] == "language-model" and config["vocab_size"] > 40
    assert (run / "history.csv").read_text().count("\n") == 1 + 3  # header + iters 0/100/200


def test_resume_is_exact(tmp_path):
    # A run stopped at iteration 40 (as if killed) and resumed with the same settings.
    full = _cfg(tmp_path, out=str(tmp_path / "full"), max_iters=60, lr_decay_iters=60)
    run_lm_training(full, verbose=False)
    part = _cfg(tmp_path, out=str(tmp_path / "part"), max_iters=40, lr_decay_iters=60)
    run_lm_training(part, verbose=False)
    resumed = _cfg(tmp_path, out=str(tmp_path / "part"), max_iters=60, lr_decay_iters=60)
    run_lm_training(resumed, resume=True, verbose=False)
    a = cr.load(str(tmp_path / "full" / "model.safetensors"))
    b = cr.load(str(tmp_path / "part" / "model.safetensors"))
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    ha = (tmp_path / "full" / "history.csv").read_text().splitlines()
    hb = (tmp_path / "part" / "history.csv").read_text().splitlines()
    assert [r.split(",")[:3] for r in ha] == [r.split(",")[:3] for r in hb]


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="loss became") as e:
        run_lm_training(
            _cfg(tmp_path, lr=1e300, min_lr=1e300, grad_clip=0.0, max_iters=50, weight_decay=0.0),
            verbose=False,
        )
    assert not (tmp_path / "run" / "model.safetensors").exists()
    # a library error names the settings, not the command line's flags
    assert "(lr)" in str(e.value) and "grad_clip" in str(e.value)
    assert "--" not in str(e.value) and "chainrule train" not in str(e.value)


def test_library_errors_leave_the_command_line_to_the_cli(tmp_path, capsys, monkeypatch):
    with pytest.raises(FileNotFoundError, match="sample_from_run: .* not found") as e:
        sample_from_run(str(tmp_path / "nope"))
    assert "chainrule" not in str(e.value) and "--out" not in str(e.value)
    assert main(["generate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chainrule generate: sample_from_run:") and "--out" in err
    # a named corpus that is not there: the CLI adds its flag to the library's message
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["train", "--data", "names", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "download=True" in err and "add --download" in err
    corpus = tmp_path / "c.txt"
    corpus.write_text("abcabcabcabc " * 50)
    flags = ["--lr", "1e300", "--min-lr", "1e300", "--grad-clip", "0", "--weight-decay", "0"]
    with np.errstate(all="ignore"):
        code = main(
            ["train", "--data", f"text:{corpus}", "--model", "bigram", "--block-size", "4"]
            + ["--max-iters", "20", "--out", str(tmp_path / "nan"), "--quiet", *flags]
        )
    err = capsys.readouterr().err
    assert code == 1 and "loss became" in err and "--lr, --grad-clip" in err


@pytest.mark.parametrize(
    "bad",
    [
        dict(block_size=0),
        dict(lr=float("inf")),
        dict(dropout=1.0),
        dict(tokenizer="words"),
        dict(model="rnn9"),
    ],
)
def test_bad_settings_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        run_lm_training(_cfg(tmp_path, **bad), verbose=False)


def test_generate_is_seeded_and_respects_top_k():
    cr.manual_seed(0)
    m = BigramLanguageModel(5)
    g1 = generate_tokens(m, np.array([[1]]), 30, generator=cr.Generator().manual_seed(4))
    g2 = generate_tokens(m, np.array([[1]]), 30, generator=cr.Generator().manual_seed(4))
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    assert g1.shape == (1, 31) and g1.numpy()[0, 0] == 1
    greedy = generate_tokens(m, np.array([[2]]), 10, top_k=1)
    table = m.table.weight.detach().numpy()
    tok = 2
    for nxt in greedy.numpy()[0, 1:]:
        assert nxt == table[tok].argmax()
        tok = nxt
    with pytest.raises(ValueError, match="temperature"):
        generate_tokens(m, np.array([[1]]), 3, temperature=0.0)
    with pytest.raises(ValueError, match="idx"):
        generate_tokens(m, np.zeros((1, 0), np.int64), 3)


def test_sampling_matches_the_softmax_distribution():
    cr.manual_seed(0)
    m = BigramLanguageModel(4)
    with cr.no_grad():
        m.table.weight.data[...] = np.log(np.array([0.1, 0.2, 0.3, 0.4]))[None, :]
    out = generate_tokens(
        m, np.zeros((2000, 1), np.int64), 1, generator=cr.Generator().manual_seed(0)
    )
    freq = np.bincount(out.numpy()[:, 1], minlength=4) / 2000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.035)


def test_generate_command_prints_a_sample(tmp_path, capsys):
    run_lm_training(_cfg(tmp_path), verbose=False)
    assert (
        main(
            [
                "generate",
                str(tmp_path / "run"),
                "--prompt",
                "ROMEO:",
                "--tokens",
                "25",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("ROMEO:") and len(out.rstrip("\n")) >= len("ROMEO:")
    assert out.rstrip("\n") == sample_from_run(str(tmp_path / "run"), "ROMEO:", 25, seed=3)
    assert main(["generate", str(tmp_path / "nope")]) == 2
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text('{"kind": "classifier"}')
    assert main(["generate", str(tmp_path / "bad")]) == 2


def test_cli_trains_a_language_model_on_the_builtin_sample(tmp_path, capsys):
    out = tmp_path / "lm"
    code = main(
        [
            "train",
            "--data",
            "text",
            "--model",
            "bigram",
            "--max-iters",
            "30",
            "--eval-interval",
            "10",
            "--eval-iters",
            "2",
            "--batch-size",
            "8",
            "--block-size",
            "8",
            "--lr",
            "0.1",
            "--out",
            str(out),
            "--quiet",
            "--tensorboard",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("val loss ") and "nats/token" in printed
    assert (out / "model.safetensors").is_file()
    assert any((out / "tensorboard").iterdir())
    assert main(["generate", str(out), "--tokens", "5"]) == 0


def test_cli_text_path_and_bad_language_model_flags(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("abcabcabcabc " * 50)
    args = [
        "train",
        "--data",
        f"text:{corpus}",
        "--model",
        "bigram",
        "--max-iters",
        "5",
        "--eval-interval",
        "5",
        "--eval-iters",
        "1",
        "--batch-size",
        "4",
        "--block-size",
        "4",
        "--out",
        str(tmp_path / "r"),
        "--quiet",
    ]
    assert main(args) == 0
    assert main(args[:-3] + ["--block-size", "0", "--out", str(tmp_path / "r2")]) == 2
    assert "block_size" in capsys.readouterr().err
    assert main(["train", "--data", "text", "--distributed"]) == 2
    with pytest.raises(SystemExit):
        main(["train", "--data", "wikipedia"])


SHAKESPEARE = (
    __import__("pathlib").Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "text"
    / "tiny-shakespeare.txt"
)


@pytest.mark.slow
@pytest.mark.parametrize("model,bound", [("gpt", 2.6), ("char_lstm", 2.6)])
def test_language_models_learn_real_text(tmp_path, model, bound):
    """A few hundred iterations on 100 kB of Tiny Shakespeare (the built-in sample where the
    corpus is absent): the validation loss falls from ln(65) = 4.17 nats to below ``bound``
    (a bigram model's level), which only a model that learned the text reaches."""
    corpus = tmp_path / "slice.txt"
    text = SHAKESPEARE.read_text()[:100_000] if SHAKESPEARE.is_file() else None
    if text is None:
        from chainrule.data.text import sample_text

        text = sample_text()
    corpus.write_text(text)
    cfg = LMConfig(
        data=str(corpus),
        model=model,
        n_layer=2,
        n_head=2,
        n_embd=64,
        block_size=32,
        batch_size=16,
        max_iters=300,
        eval_interval=300,
        eval_iters=10,
        lr=3e-3,
        min_lr=3e-4,
        warmup_iters=20,
        weight_decay=0.0,
        sample_tokens=0,
        out=str(tmp_path / "run"),
    )
    res = run_lm_training(cfg, verbose=False)
    assert res["val_loss"] < bound, res
