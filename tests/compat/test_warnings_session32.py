"""chainrule's warnings in PyTorch's words: the same category, a message that starts with
PyTorch 2.13's text (``warnings.filterwarnings("ignore", message="torch.meshgrid")``
matches by the start), and PyTorch's once-per-process or every-call firing.

PyTorch's side runs in a fresh subprocess (its warn-once warnings fire only the first time
in a process); chainrule's in this one, its warn-once record cleared per test (conftest)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import pytest

import chainrule as cr

pytest.importorskip("torch")

# name -> statements run with L as the library (torch or chainrule), three times each
CASES: dict[str, str] = {
    "meshgrid": "L.meshgrid(L.ones(2), L.ones(3))",
    "cross_default_dim": "a = L.ones(3, 3); L.cross(a, a)",
    "searchsorted_boundary": "L.searchsorted(L.arange(8.0)[::2], L.ones(2))",
    "searchsorted_values": "L.searchsorted(L.arange(4.0), L.ones(4)[::2])",
    "T_3d": "L.ones(2, 3, 4).T",
    "T_0d": "L.tensor(1.0).T",
    "mT_0d": "L.tensor(1.0).mT",
    "H_0d": "L.tensor(1.0).H",
    "range": "L.range(0, 3)",
    "cov_dof": "L.cov(L.ones(2, 1))",
    "var_dof": "L.ones(1).var()",
    "std_mean_dof": "L.std_mean(L.ones(1))",
    "uint8_index": "L.ones(3)[L.tensor([1, 0, 1], dtype=L.uint8)]",
    "out_resized": "L.add(L.ones(3), 1, out=L.empty(2))",
    "resize": "L.ones(4).resize(2, 2)",
    "where_uint8": "L.where(L.tensor([1, 0], dtype=L.uint8), L.ones(2), L.zeros(2))",
    "scatter_reduce_arg": "L.zeros(3).scatter(0, L.tensor([0, 1]), L.ones(2), reduce='add')",
    "istft_no_window": (
        "w = L.hann_window(16); L.istft(L.stft(L.ones(64), 16, window=w, return_complex=True), 16)"
    ),
    "istft_short_signal": (
        "w = L.hann_window(16); s = L.stft(L.ones(64), 16, window=w, return_complex=True); "
        "L.istft(s, 16, window=w, length=200)"
    ),
    "complex_to_real": "L.tensor([1 + 1j]).to(L.float32)",
    "softmax_implicit_dim": "L.nn.functional.softmax(L.ones(2, 2))",
    "upsample": "L.nn.functional.upsample(L.ones(1, 1, 2), scale_factor=2)",
    "dropout2d_3d": "L.nn.functional.dropout2d(L.ones(2, 2, 2))",
    "affine_grid_align": "L.nn.functional.affine_grid(L.ones(1, 2, 3), [1, 1, 2, 2])",
    "init_zero_element": "L.nn.init.kaiming_uniform_(L.empty(0, 3))",
    "init_deprecated_name": "L.nn.init.uniform(L.empty(3))",
    "instance_norm_features": "L.nn.InstanceNorm1d(3)(L.ones(1, 4, 5))",
    "rnn_dropout": "L.nn.LSTM(2, 2, dropout=0.5)",
    "state_dict_positional": "L.nn.Linear(1, 1).state_dict({}, '')",
    "weight_norm": "L.nn.utils.weight_norm(L.nn.Linear(1, 1))",
    "set_default_tensor_type": "L.set_default_tensor_type(L.FloatTensor)",
    "scheduler_before_optimizer": (
        "p = L.nn.Parameter(L.ones(1)); o = L.optim.SGD([p], lr=0.1); "
        "L.optim.lr_scheduler.StepLR(o, 1).step()"
    ),
}

_RUNNER = textwrap.dedent(
    """
    import json, sys, warnings
    import {lib} as L
    cases = json.loads(sys.stdin.read())
    out = {{}}
    for name, code in cases.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                exec(code, {{"L": L}})
        out[name] = [[w.category.__name__, str(w.message)] for w in caught]
        L.set_default_dtype(L.float32)
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def torch_warnings() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER.format(lib="torch")],
        input=json.dumps(CASES),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _first_sentence(message: str) -> str:
    message = message.split(" (Triggered internally at ")[0]  # PyTorch's C++ location
    return message.split(". ")[0].split(".\n")[0]


@pytest.mark.parametrize("name", list(CASES))
def test_warning_matches_torch(name: str, torch_warnings: dict) -> None:
    want = torch_warnings[name]
    assert want, f"torch 2.13 no longer warns for {name}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for _ in range(3):
                exec(CASES[name], {"L": cr})
        finally:
            cr.set_default_dtype(cr.float32)
    got = [[w.category.__name__, str(w.message)] for w in caught]
    assert len(got) == len(want), (name, got, want)  # once per process, or every call
    (got_cat, got_msg), (want_cat, want_msg) = got[0], want[0]
    assert got_cat == want_cat, (name, got_cat, want_cat)
    want_msg = want_msg.split(" (Triggered internally at ")[0]
    assert got_msg == want_msg or got_msg.startswith(_first_sentence(want_msg)), (
        name,
        got_msg,
        want_msg,
    )


def test_filters_by_torch_text_silence_chainrule() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message="torch.meshgrid")
        warnings.filterwarnings("ignore", message="Using torch.cross without")
        warnings.filterwarnings("ignore", message="indexing with dtype torch.uint8")
        cr.meshgrid(cr.ones(2), cr.ones(3))
        cr.cross(cr.ones(3, 3), cr.ones(3, 3))
        cr.ones(3)[cr.tensor([1, 0, 1], dtype=cr.uint8)]
    assert caught == []
