"""Module's state-dict protocol against PyTorch: each scenario is written once against a
framework namespace (``torch`` or ``cr``), run on both, and the results compared."""

from __future__ import annotations

import io
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def _both(scenario):
    """Run ``scenario(lib)`` with torch and with chainrule; return both results."""
    return scenario(torch), scenario(cr)


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the scenario compares the error itself
        return type(e).__name__, str(e)
    return None


def _keys(sd):
    return list(sd)


# ----------------------------------------------------------------------------- saving
def test_state_dict_walk_metadata_and_hooks():
    def scenario(lib):
        log = []

        class Inner(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(2, 2)
                self.register_buffer("kept", lib.zeros(1))
                self.register_buffer("dropped", lib.zeros(1), persistent=False)

            def _save_to_state_dict(self, destination, prefix, keep_vars):
                log.append(("save", prefix, list(destination)))
                super()._save_to_state_dict(destination, prefix, keep_vars)

        shared = lib.nn.Linear(1, 1)
        m = lib.nn.Sequential(Inner(), shared, shared)

        def pre(mod, prefix, keep_vars):
            log.append(("pre", type(mod).__name__, prefix, keep_vars))

        def post(mod, sd, prefix, local_metadata):
            log.append(("post", type(mod).__name__, prefix, dict(local_metadata), list(sd)))

        def private(mod, sd, prefix, local_metadata):
            log.append(("private", prefix))
            sd[prefix + "added"] = 1  # in place: kept by the parent

        for mod in (m, m[0], m[0].lin):
            mod.register_state_dict_pre_hook(pre)
            mod.register_state_dict_post_hook(post)
        m[0]._register_state_dict_hook(private)
        sd = m.state_dict(prefix="top.")
        kept = m.state_dict(keep_vars=True)
        out = {
            "keys": _keys(sd),
            "metadata": dict(sd._metadata),
            "log": log,
            "type": type(sd).__name__,
            "kept_is_param": kept["0.lin.weight"] is m[0].lin.weight,
            "detached_grad": sd["top.0.lin.weight"].requires_grad,
            "no_dot_prefix": dict(m.state_dict(prefix="x")._metadata),
        }
        dest = {}
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            got = m.state_dict(dest, "p.")
        out["positional"] = (got is dest, _keys(dest), hasattr(dest, "_metadata"))
        out["warned"] = [x.category.__name__ for x in w]
        bad = lib.nn.Linear(1, 1)
        bad.register_state_dict_post_hook(lambda *a: {})
        out["post_returned"] = _err(bad.state_dict)
        swap = lib.nn.Linear(1, 1)
        swap._register_state_dict_hook(lambda *a: {"new": 1})
        out["private_replaces"] = swap.state_dict()
        return out

    t, c = _both(scenario)
    assert c == t
    assert t["keys"][-1] == "top.2.bias" and "top.0.dropped" not in t["keys"]


def test_state_dict_positional_arguments_warn():
    m = nn.Linear(1, 1)
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        m.state_dict(None, "a.", True)
    with pytest.raises(TypeError, match="at most 3 positional"):
        m.state_dict({}, "", False, 1)


# ----------------------------------------------------------------------------- loading
def test_user_override_renames_an_old_key():
    def scenario(lib):
        class Old(lib.nn.Module):
            _version = 2

            def __init__(self):
                super().__init__()
                self.weight = lib.nn.Parameter(lib.zeros(2, 3, dtype=lib.float64))

            def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
                version = local_metadata.get("version")
                if version is None or version < 2:
                    old = prefix + "w_old"
                    if old in state_dict:
                        state_dict[prefix + "weight"] = state_dict.pop(old).t()
                super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)

        m = lib.nn.Sequential(lib.nn.Identity(), Old())
        values = np.arange(6.0).reshape(3, 2)
        old = OrderedDict({"1.w_old": lib.tensor(values)})
        old._metadata = OrderedDict({"": {"version": 1}, "1": {"version": 1}})
        res = m.load_state_dict(old)
        saved = m.state_dict()
        return repr(res), m[1].weight.detach().numpy().tolist(), dict(saved._metadata)

    t, c = _both(scenario)
    assert c == t and t[1] == np.arange(6.0).reshape(3, 2).T.tolist()


def test_extra_state_round_trip_and_keys():
    def scenario(lib):
        class Counter(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.p = lib.nn.Parameter(lib.ones(1))
                self.count = 0

            def get_extra_state(self):
                return {"count": self.count}

            def set_extra_state(self, state):
                self.count = state["count"]

        class OnlyGet(lib.nn.Module):
            def get_extra_state(self):
                return 5

        a, b = Counter(), Counter()
        a.count = 7
        sd = a.state_dict(prefix="")
        out = {"keys": _keys(sd), "extra": sd["_extra_state"]}
        buf = io.BytesIO()
        lib.save(a.state_dict(), buf)
        buf.seek(0)
        b.load_state_dict(lib.load(buf, weights_only=False))
        out["loaded"] = b.count
        out["missing"] = _err(lambda: b.load_state_dict({"p": lib.ones(1)}))
        out["lenient"] = repr(b.load_state_dict({"p": lib.ones(1)}, strict=False))
        out["only_get"] = _err(lambda: OnlyGet().load_state_dict({"_extra_state": 1}))
        out["base_get"] = _err(lib.nn.Module().get_extra_state)[0]
        out["base_set"] = _err(lambda: lib.nn.Module().set_extra_state(1))[0]
        return out

    t, c = _both(scenario)
    assert c == t and t["loaded"] == 7


def test_load_hooks_order_arguments_and_post_hooks():
    def scenario(lib):
        log = []
        m = lib.nn.Sequential(lib.nn.Sequential(lib.nn.Linear(1, 1)), lib.nn.Linear(1, 1))

        def pre(mod, sd, prefix, local_metadata, strict, missing, unexpected, errors):
            log.append(("pre", type(mod).__name__, prefix, sorted(sd), local_metadata, strict))
            if prefix == "0.":  # a parent's hook reaches its children's keys
                sd["0.0.weight"] = lib.full((1, 1), 7.0)
                sd["0.junk"] = lib.zeros(1)

        def post(mod, keys):
            log.append(
                ("post", type(mod).__name__, list(keys.missing_keys), list(keys.unexpected_keys))
            )

        for mod in m.modules():
            mod.register_load_state_dict_pre_hook(pre)
            mod.register_load_state_dict_post_hook(post)
        m[1]._register_load_state_dict_pre_hook(lambda *a: log.append(("private", len(a), a[1])))
        m[1]._register_load_state_dict_pre_hook(
            lambda *a: log.append(("with_module", len(a), type(a[0]).__name__)), with_module=True
        )
        sd = m.state_dict()
        sd["top"] = lib.zeros(1)
        del sd["1.bias"]
        res = m.load_state_dict(sd, strict=False)
        out = {"log": list(log), "res": repr(res), "w": m[0][0].weight.item()}
        log.clear()
        m.load_state_dict(dict(m.state_dict()), strict=False, assign=True)
        out["assign_metadata"] = [e[4] for e in log if e[0] == "pre"]

        quiet = lib.nn.Linear(1, 1)

        def clear(mod, keys):
            keys.missing_keys.clear()
            keys.unexpected_keys.clear()

        quiet.register_load_state_dict_post_hook(clear)
        out["cleared"] = repr(quiet.load_state_dict({"zz": lib.zeros(1)}))
        loud = lib.nn.Linear(1, 1)
        loud.register_load_state_dict_post_hook(lambda mod, keys: 1)
        out["returned"] = _err(lambda: loud.load_state_dict(loud.state_dict()))
        return out

    t, c = _both(scenario)
    assert c == t and t["w"] == 7.0


def test_error_texts_and_incompatible_keys():
    def scenario(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.Linear(3, 1)))
        m.register_module("gone", None)
        good = m.state_dict()
        bad = dict(good)
        bad["0.weight"] = lib.zeros(3, 3)
        bad["zz"] = lib.ones(1)
        bad["1.0.weight.x"] = lib.ones(1)
        bad["gone.w"] = lib.ones(1)  # under a None child: neither loaded nor unexpected
        del bad["1.0.bias"]
        listed = dict(good)
        listed["0.bias"] = [1.0, 2.0, 3.0]
        part = dict(good)
        del part["0.bias"]
        keys = m.load_state_dict(part, strict=False)
        return {
            "strict": _err(lambda: m.load_state_dict(bad)),
            "lenient_size": _err(lambda: m.load_state_dict(bad, strict=False)),
            "not_tensor": _err(lambda: m.load_state_dict(listed)),
            "not_mapping": _err(lambda: m.load_state_dict([1])),
            "keys": (repr(keys), str(keys), keys.missing_keys, keys == (["0.bias"], [])),
            "matched": (repr(m.load_state_dict(good)), type(m.load_state_dict(good)).__name__),
        }

    t, c = _both(scenario)
    assert c == t
    assert "Missing key(s)" in t["strict"][1] and "size mismatch" in t["strict"][1]


def test_copy_semantics():
    def scenario(lib):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.zeros(2, dtype=lib.float32))
        m.s = lib.nn.Parameter(lib.tensor(0.0))
        m.register_buffer("n", lib.tensor(0))
        w = m.w
        v0 = m.w._version
        src = {
            "w": lib.tensor([1.25, 2.5], dtype=lib.float64, requires_grad=True),
            "s": lib.tensor([3.0]),  # a (1,) value loads into a 0-d parameter
            "n": lib.tensor(5.7),
        }
        m.load_state_dict(src)
        scalar = _err(lambda: m.load_state_dict({**src, "w": lib.tensor(1.0)}))
        return {
            "same": m.w is w,
            "bumped": m.w._version > v0,
            "leaf": (m.w.is_leaf, m.w.grad_fn is None, m.w.requires_grad),
            "dtype": str(m.w.dtype).split(".")[-1],
            "values": (m.w.tolist(), m.s.item(), m.n.item(), str(m.n.dtype).split(".")[-1]),
            "scalar_mismatch": scalar,
        }

    t, c = _both(scenario)
    assert c == t


def test_assign_replaces_tensors():
    def scenario(lib):
        m = lib.nn.Linear(2, 2)
        m.weight.requires_grad_(False)
        bn = lib.nn.BatchNorm1d(2)
        weight = lib.ones(2, 2, dtype=lib.float64, requires_grad=True) * 2
        bias = lib.nn.Parameter(lib.zeros(2), requires_grad=False)
        m.load_state_dict({"weight": weight, "bias": bias}, assign=True)
        mean = lib.full((2,), 3.0, dtype=lib.float64)
        bn.load_state_dict({**bn.state_dict(), "running_mean": mean}, assign=True)
        return {
            "weight": (type(m.weight).__name__, str(m.weight.dtype).split(".")[-1]),
            "weight_flags": (m.weight.requires_grad, m.weight.is_leaf, m.weight.tolist()),
            "bias": (m.bias is bias, m.bias.requires_grad),
            "buffer": (bn.running_mean is mean, type(bn.running_mean).__name__),
            "mismatch": _err(
                lambda: lib.nn.Linear(2, 2).load_state_dict(
                    {"weight": lib.ones(3, 2), "bias": lib.ones(2)}, assign=True
                )
            ),
        }

    t, c = _both(scenario)
    assert c == t


def test_numpy_arrays_load_as_before():
    m = nn.Linear(2, 1)
    m.load_state_dict({"weight": np.ones((1, 2)), "bias": np.zeros(1)})
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones((1, 2), np.float32))
    lazy = nn.Sequential(nn.LazyLinear(1))  # arrays materialise a lazy module too
    lazy.load_state_dict({"0.weight": np.ones((1, 3)), "0.bias": np.zeros(1)})
    assert lazy[0].in_features == 3


def test_lazy_module_inside_a_tree_materialises_on_load():
    ref = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3))
    sd = {k: cr.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()}
    m = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d())
    assert repr(m.load_state_dict(sd)) == "<All keys matched successfully>"
    assert m[0].in_features == 5 and m[1].num_features == 3
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    m.eval()
    ref.eval()
    np.testing.assert_allclose(
        m(cr.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(), atol=1e-5
    )
    lazy = nn.LazyLinear(3)
    lazy.load_state_dict(nn.LazyLinear(3).state_dict())  # placeholders into placeholders
    assert lazy.has_uninitialized_params()


# ----------------------------------------------------------------------------- other methods
def test_register_backward_hook_is_refused():
    # torch's legacy hook sees the last node's gradients: for (x * 2).sin() + 1 that is
    # add's (grad, None), not the gradient with respect to x, and it warns
    class Ops(torch.nn.Module):
        def forward(self, x):
            return (x * 2).sin() + 1

    seen = []
    mt = Ops()
    mt.register_backward_hook(lambda mod, gi, go: seen.append(gi))
    x = torch.ones(3, requires_grad=True)
    with pytest.warns(FutureWarning, match="register_full_backward_hook"):
        y = mt(x)
    y.sum().backward()
    assert seen[0][1] is None and torch.equal(seen[0][0], torch.ones(3))
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        nn.Linear(1, 1).register_backward_hook(lambda *a: None)


def test_paths_conversions_and_flags():
    def scenario(lib):
        m = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.Sequential(lib.nn.BatchNorm1d(2)))
        m.register_module("n", None)
        out = {
            "buffer": tuple(m.get_buffer("1.0.running_mean").shape),
            "buffer_errors": [
                _err(lambda t=t: m.get_buffer(t))
                for t in ("1.0.weight", "1.0.nothere", "2.x", "n.x")
            ],
            "path_errors": [
                _err(lambda: m.get_submodule("n.x")),
                _err(lambda: m.get_submodule("1.0.x")),
                _err(lambda: m.get_parameter("1.0.running_mean")),
                _err(lambda: m.get_parameter("1.0.zz")),
            ],
            "root": m.get_submodule("") is m,
            "set_errors": [
                _err(lambda a=a: m.set_submodule(*a))
                for a in (
                    ("1.6", lib.nn.ReLU(), True),
                    ("7.x", lib.nn.ReLU()),
                    ("0.weight", lib.nn.ReLU()),
                    ("", lib.nn.ReLU()),
                    ("1.0", 3),
                )
            ],
            "name": (m._get_name(), m[0]._get_name()),
            "flags": (lib.nn.Module._version, lib.nn.Module.call_super_init),
            "dump": lib.nn.Module.dump_patches,
            "init_errors": [_err(lambda: lib.nn.Module(3)), _err(lambda: lib.nn.Module(a=1))],
        }
        m.set_submodule("1.0", lib.nn.ReLU())
        m.set_submodule("1.5", lib.nn.Tanh())
        out["set"] = repr(m)
        bn = lib.nn.BatchNorm1d(2)
        bn.type(lib.float64)
        out["type"] = str(bn.num_batches_tracked.dtype).split(".")[-1]
        lin = lib.nn.Linear(2, 2)
        w = lin.weight
        lin.to_empty(device="cpu")
        out["to_empty"] = (lin.weight is w, tuple(lin.weight.shape), lin.weight.requires_grad)
        out["to_empty_positional"] = _err(lambda: lin.to_empty("cpu"))[0]
        return out

    t, c = _both(scenario)
    assert c == t


def test_apply_override_sees_to_and_call_super_init():
    class Cached(nn.Linear):
        def __init__(self):
            super().__init__(2, 2)
            self.cache = cr.zeros(3)

        def _apply(self, fn, recurse=True):
            super()._apply(fn, recurse)
            self.cache = fn(self.cache)
            return self

    m = nn.Sequential(Cached()).double()
    assert m[0].cache.dtype == np.float64 and m[0].weight.dtype == np.float64

    class Base:
        def __init__(self, *args, **kwargs):
            self.seen = (args, kwargs)

    class Both(nn.Module, Base):
        call_super_init = True

        def __init__(self):
            super().__init__(5, k=2)

    assert Both().seen == ((5,), {"k": 2})
    assert nn.Module.T_destination is nn.module.T_destination


def test_module_compile_does_what_cr_compile_does():
    with pytest.warns(UserWarning, match="no graph compiler"):
        assert nn.Linear(1, 1).compile() is None
    m = nn.Linear(1, 1)
    assert m.compile(disable=True) is None  # as torch's Module.compile, it returns None
    x = cr.ones(1, 1)
    np.testing.assert_array_equal(
        m(x).detach().numpy(), (x @ m.weight.t() + m.bias).detach().numpy()
    )


def test_batch_norm_loads_checkpoints_without_num_batches_tracked_as_torch():
    """Version-2 metadata (num_batches_tracked) as torch's; an older or metadata-less
    checkpoint without the counter keeps the module's own count."""
    for lib in (torch, cr):
        bn = lib.nn.BatchNorm1d(3)
        sd = bn.state_dict()
        assert sd._metadata[""]["version"] == 2
        del sd["num_batches_tracked"]
        sd._metadata[""]["version"] = 1
        bn.num_batches_tracked.fill_(5)
        assert not bn.load_state_dict(sd).missing_keys and bn.num_batches_tracked.item() == 5
        plain = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
        assert not lib.nn.BatchNorm1d(3).load_state_dict(plain).missing_keys
        sd2 = bn.state_dict()
        del sd2["num_batches_tracked"]  # version 2 says it must be there
        with pytest.raises(RuntimeError, match="num_batches_tracked"):
            lib.nn.BatchNorm1d(3).load_state_dict(sd2)
