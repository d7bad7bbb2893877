"""Optimizer state is what PyTorch keeps: tensors (the moments) and 0-d tensors (``step``,
ASGD's ``eta``/``mu``, NAdam's ``mu_product``), so code that reads or edits
``optimizer.state[p]`` the PyTorch way (``state["step"].item()``, ``state["exp_avg"].norm()``,
``state["exp_avg"].zero_()``, moving every tensor entry with ``.to(device)``, an optimizer
wrapper storing its own tensors there) runs unchanged, and the update rules still see the same
memory."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adam", {"amsgrad": True}),
    ("AdamW", {}),
    ("Adagrad", {}),
    ("Adadelta", {}),
    ("Adamax", {}),
    ("NAdam", {}),
    ("RAdam", {}),
    ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("Rprop", {}),
    ("ASGD", {}),
    ("Adafactor", {}),
    ("LBFGS", {}),
]
W0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -4.0]])


def _run(lib, name, kw, dtype, steps=3):
    p = lib.nn.Parameter(lib.tensor(W0, dtype=getattr(lib, dtype)))
    opt = getattr(lib.optim, name)([p], **kw)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum() + p.sum()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return p, opt


def _describe(value):
    if isinstance(value, list):
        return ["list", len(value)] + [_describe(v) for v in value[:1]]
    if isinstance(value, (cr.Tensor, torch.Tensor)):
        return ["tensor", str(value.dtype).split(".")[-1], tuple(value.shape)]
    return [type(value).__name__]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "kw"), CASES, ids=[c[0] for c in CASES])
def test_state_entries_have_torchs_types_and_values(name, kw, dtype):
    with _default(dtype):
        cp, copt = _run(cr, name, kw, dtype)
        tp, topt = _run(torch, name, kw, dtype)
    cstate, tstate = copt.state[cp], topt.state[tp]
    keys = sorted(tstate)
    assert sorted(cstate) == keys
    for key in keys:
        assert _describe(cstate[key]) == _describe(tstate[key]), key
        if isinstance(tstate[key], torch.Tensor):
            np.testing.assert_allclose(
                np.asarray(cstate[key]), tstate[key].numpy(), rtol=1e-5, atol=1e-6
            )
    np.testing.assert_allclose(cp.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


class _default:
    """Set the default dtype of both libraries for one block."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.prev = (cr.get_default_dtype(), torch.get_default_dtype())
        cr.set_default_dtype(getattr(cr, self.dtype))
        torch.set_default_dtype(getattr(torch, self.dtype))

    def __exit__(self, *exc):
        cr.set_default_dtype(self.prev[0])
        torch.set_default_dtype(self.prev[1])


def test_reading_state_the_torch_way():
    for lib in (cr, torch):
        p, opt = _run(lib, "Adam", {}, "float64", steps=4)
        state = opt.state[p]
        assert state["step"].item() == 4.0
        assert isinstance(state["step"].item(), float)
        norm = state["exp_avg"].norm().item()
        if lib is cr:
            cr_norm = norm
        else:
            assert cr_norm == pytest.approx(norm, rel=1e-12)


def test_editing_state_in_place_reaches_the_update():
    """Resetting the moments in place (``exp_avg.zero_()``, as warm-restart code does) is
    seen by the next step, in both libraries."""
    results = []
    for lib in (cr, torch):
        p, opt = _run(lib, "Adam", {"lr": 0.1}, "float64", steps=2)
        opt.state[p]["exp_avg"].zero_()
        opt.state[p]["exp_avg_sq"].fill_(1.0)
        opt.state[p]["step"].fill_(10)
        opt.zero_grad()
        ((p**2).sum() + p.sum()).backward()
        opt.step()
        results.append((p.detach().numpy().copy(), opt.state[p]["step"].item()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    assert results[0][1] == results[1][1] == 11.0


def test_replaced_state_tensors_are_used():
    """The resume idiom ``state[k] = v.to(device)`` (every tensor entry replaced) and a new
    tensor assigned by user code are what the next step reads."""
    results = []
    for lib in (cr, torch):
        p, opt = _run(lib, "RMSprop", {"lr": 0.05, "momentum": 0.5}, "float64", steps=2)
        for state in opt.state.values():
            for k, v in state.items():
                if isinstance(v, lib.Tensor):
                    state[k] = v.to("cpu")
        opt.state[p]["square_avg"] = lib.full((2, 3), 0.5, dtype=lib.float64)
        opt.zero_grad()
        ((p**2).sum() + p.sum()).backward()
        opt.step()
        results.append((p.detach().numpy().copy(), opt.state[p]["square_avg"].numpy().copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_a_wrappers_own_tensors_survive_steps_and_state_dict():
    """Lookahead-style wrappers keep their slow weights in the inner optimizer's state; the
    entry stays the same tensor across steps and comes back as a tensor from a state dict."""
    p, opt = _run(cr, "SGD", {"lr": 0.1}, "float64", steps=1)
    slow = p.detach().clone()
    opt.state[p]["slow_buffer"] = slow
    opt.zero_grad()
    (p**2).sum().backward()
    opt.step()
    assert opt.state[p]["slow_buffer"] is slow
    q = cr.nn.Parameter(cr.tensor(W0))
    opt2 = cr.optim.SGD([q], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    restored = opt2.state[q]["slow_buffer"]
    assert isinstance(restored, cr.Tensor) and restored is slow  # torch's .to(): kept as is
    np.testing.assert_array_equal(restored.numpy(), slow.numpy())


def test_older_checkpoints_with_number_steps_still_load():
    """A state dict written before the state was tensors (``step`` an int, moments arrays)
    loads as PyTorch loads one: ``step`` becomes a 0-d tensor of the scalar dtype."""
    p, opt = _run(cr, "Adam", {}, "float32", steps=2)
    sd = opt.state_dict()
    legacy = {
        "state": {
            0: {
                k: (int(v.item()) if k == "step" else v.numpy().copy())
                for k, v in sd["state"][0].items()
            }
        },
        "param_groups": sd["param_groups"],
    }
    q = cr.nn.Parameter(cr.tensor(W0, dtype=cr.float32))
    opt2 = cr.optim.Adam([q])
    opt2.load_state_dict(legacy)
    step = opt2.state[q]["step"]
    assert isinstance(step, cr.Tensor) and step.dtype == cr.float32 and step.item() == 2.0
    assert isinstance(opt2.state[q]["exp_avg"], cr.Tensor)


def test_step_dtype_is_kept_on_load_and_others_follow_the_parameter():
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.ones(3, dtype=lib.float32))
        opt = lib.optim.ASGD([p])
        opt.load_state_dict(
            {
                "state": {
                    0: {
                        "step": lib.tensor(5.0, dtype=lib.float64),
                        "eta": lib.tensor(0.5, dtype=lib.float64),
                        "mu": lib.tensor(1.0, dtype=lib.float64),
                        "ax": lib.zeros(3, dtype=lib.float64),
                    }
                },
                "param_groups": opt.state_dict()["param_groups"],
            }
        )
        got = {k: str(v.dtype).split(".")[-1] for k, v in opt.state[p].items()}
        assert got == {"step": "float64", "eta": "float32", "mu": "float32", "ax": "float32"}


def test_sparse_adagrad_state_is_tensors():
    for lib in (cr, torch):
        emb = lib.nn.Embedding(4, 2, sparse=True)
        opt = lib.optim.Adagrad(emb.parameters(), lr=0.1)
        emb(lib.tensor([0, 2, 2])).sum().backward()
        opt.step()
        state = opt.state[emb.weight]
        assert isinstance(state["step"], lib.Tensor) and state["step"].item() == 1.0
        assert isinstance(state["sum"], lib.Tensor)
