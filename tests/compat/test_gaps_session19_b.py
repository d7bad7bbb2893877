"""Gaps found by the session-19 (b) drop-in programs (``hypernetwork_functional_call``,
``tabular_embeddings_mlp``, ``quantile_regression``, ``yolo_box_utils``,
``orthogonal_rnn_parametrize``) and the probes around their idioms, each checked against PyTorch.

- ``nn.Sequential`` lacked ``__setitem__`` (``model.classifier[6] = nn.Linear(...)``, the
  transfer-learning head swap), ``__delitem__``, ``pop``, ``insert``, ``extend``, ``+``,
  ``+=``, ``*`` (also ``2 * seq`` and ``*=``); ``nn.ModuleList`` lacked ``__delitem__``,
  ``pop``, ``+`` and ``+=``; ``nn.ModuleDict`` lacked ``pop`` and ``clear``. Deleting renumbers
  the keys ``0..n-1`` as PyTorch does.
- A non-string module name (``nn.ModuleDict({1: m})``) raised "argument of type 'int' is not
  iterable"; PyTorch says "module name should be a string. Got int" (TypeError both).
- ``F.cross_entropy`` / ``F.nll_loss`` with class indices promoted a ``weight`` of another
  dtype (float32 weights on a float64 model); PyTorch raises RuntimeError ("expected scalar
  type Double but found Float").
- ``F.cross_entropy`` with probability targets ignored a non-default ``ignore_index``; PyTorch
  raises RuntimeError. ``label_smoothing > 1`` raised ValueError (PyTorch: RuntimeError) and a
  negative one was refused (PyTorch runs it as no smoothing).
- ``BatchNorm1d/2d/3d`` given the wrong channel count raised ValueError (PyTorch:
  RuntimeError "running_mean should contain 4 elements not 3"), and raised even with no
  running statistics and no weight, where PyTorch normalises any channel count. BatchNorm2d/3d
  accepted an unbatched (C, H, W) input, which PyTorch refuses (ValueError).
- ``F.embedding`` accepted int16/uint8/bool indices and raised TypeError for float ones;
  PyTorch takes only Long and Int, raising RuntimeError for the rest.
- ``OneCycleLR`` accepted ``total_steps=5.0`` / ``epochs=2.0`` / NumPy integers; PyTorch
  requires a Python int (ValueError).
- ``torch.histc`` of an integer tensor raised RuntimeError (PyTorch: NotImplementedError,
  "not implemented for 'Long'") and refused bfloat16 input, which PyTorch counts.
- ``parametrize.register_parametrization`` failed when the parametrization's
  ``right_inverse`` raises NotImplementedError; PyTorch registers (the original is the tensor
  itself) and raises only on assignment.
- ``parametrizations.orthogonal(..., use_trivialization=False)`` raised NotImplementedError;
  PyTorch keeps the weight as the original for ``matrix_exp``/``cayley`` (assignment raises)
  and stores geqrf's reflectors for ``householder``.
- Assigning an ``nn.Parameter`` to a parametrized name ran ``right_inverse``; PyTorch
  raises KeyError ("attribute 'weight' already exists"; a plain tensor is the way to assign).
- ``torch.func.jacrev`` / ``jacfwd`` / ``hessian`` took one tensor only: a dict of parameters
  (torch.func's NTK recipe, ``vmap(jacrev(fnet_single), (None, 0))(params, x)``) raised
  TypeError, and ``argnums`` tuples, pytree outputs and ``has_aux`` were missing (jacrev's
  ``chunk_size`` too). ``torch.func.vjp`` / ``jvp`` refused a dict primal outside vmap.
- ``vmap`` over a model ensemble (``stack_module_state`` + ``functional_call``) with
  ``BatchNorm`` in train mode failed ("'LogicalArray' object is not subscriptable"): the running
  statistics, batched by vmap, are now updated per model as PyTorch does, and unbatched ones
  under a batched input raise PyTorch's RuntimeError.
- ``torch.func.vjp`` refused an output that does not depend on the primals (the first of
  ``(a * 2, b.sum())`` w.r.t. ``b``); PyTorch's vector-Jacobian product is zero for it.
- ``vector_to_parameters`` refused a vector longer than the parameters and a 2-d one (PyTorch
  slices dim 0 and views each piece as its parameter) and raised ValueError for a short one
  (PyTorch: RuntimeError from the view).
- ``clamp()`` with neither bound raised ValueError; PyTorch raises RuntimeError.
- ``print(optimizer)`` showed ``weight_decay: 0.0`` (and ``momentum``/``dampening``/
  ``lr_decay``/``initial_accumulator_value``: 0.0, LBFGS ``lr: 1.0``) where PyTorch's integer
  defaults print ``0`` (``1``): SGD, Adam, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam,
  LBFGS.
- ``torch.quantile(x, q, out=o)`` cast the result into an ``out`` of another dtype; PyTorch
  requires the input's dtype (RuntimeError), for ``nanquantile`` too.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [chainrule, torch]
RNG = np.random.default_rng(1902)


def _close(got: Any, want: Any, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=atol)


def _layers(lib: Any) -> list[Any]:
    nn = lib.nn
    return [nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.ELU()]


def _named(lib: Any) -> Any:
    a, b, c, _ = _layers(lib)
    return lib.nn.Sequential(OrderedDict([("a", a), ("b", b), ("c", c)]))


# ---- containers -------------------------------------------------------------------------


SEQUENTIAL_CASES = {
    "setitem": lambda lib, s: s.__setitem__(1, lib.nn.GELU()) or s,
    "setitem-negative": lambda lib, s: s.__setitem__(-1, lib.nn.GELU()) or s,
    "delitem": lambda lib, s: s.__delitem__(1) or s,
    "delitem-slice": lambda lib, s: s.__delitem__(slice(0, 2)) or s,
    "pop": lambda lib, s: (s.pop(1), s),
    "pop-slice": lambda lib, s: (s.pop(slice(1, None)), s),
    "add": lambda lib, s: s + lib.nn.Sequential(lib.nn.GELU()),
    "iadd": lambda lib, s: s.__iadd__(lib.nn.Sequential(lib.nn.GELU())),
    "mul": lambda lib, s: s * 2,
    "rmul": lambda lib, s: 2 * s,
    "imul": lambda lib, s: s.__imul__(3),  # named: KeyError in both
    "extend": lambda lib, s: s.extend([lib.nn.GELU(), lib.nn.SiLU()]),
}


@pytest.mark.parametrize("case", list(SEQUENTIAL_CASES))
@pytest.mark.parametrize("named", [False, True], ids=["numbered", "named"])
def test_sequential_list_operations_match_torch(case: str, named: bool) -> None:
    def run(lib: Any) -> Any:
        s = _named(lib) if named else lib.nn.Sequential(*_layers(lib)[:3])
        try:
            out = SEQUENTIAL_CASES[case](lib, s)
        except KeyError as err:  # PyTorch's in-place repeat reads numbered keys back
            return type(err).__name__, list(s._modules)
        return repr(out), list(s._modules)

    assert run(chainrule) == run(torch)


def test_sequential_setitem_swaps_a_trained_head() -> None:
    """``model.classifier[-1] = nn.Linear(...)``: the new layer's parameters are the model's."""
    for lib in LIBS:
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
        model[-1] = lib.nn.Linear(4, 5)
        assert [tuple(p.shape) for p in model.parameters()] == [(4, 3), (4,), (5, 4), (5,)]
        assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
        assert tuple(model(lib.ones(2, 3)).shape) == (2, 5)


def test_sequential_insert_matches_torch() -> None:
    def run(lib: Any) -> Any:
        s = lib.nn.Sequential(*_layers(lib)[:3])
        s.insert(1, lib.nn.GELU())
        s.insert(-1, lib.nn.SiLU())
        s.insert(len(s), lib.nn.Identity())
        return repr(s)

    assert run(chainrule) == run(torch)


SEQUENTIAL_ERRORS = {
    "add-list": (ValueError, lambda lib, s: s + [lib.nn.ReLU()]),
    "add-modulelist": (ValueError, lambda lib, s: s + lib.nn.ModuleList([lib.nn.ReLU()])),
    "iadd-list": (ValueError, lambda lib, s: s.__iadd__([lib.nn.ReLU()])),
    "mul-zero": (ValueError, lambda lib, s: s * 0),
    "mul-negative": (ValueError, lambda lib, s: s * -1),
    "mul-float": (TypeError, lambda lib, s: s * 1.5),
    "imul-zero": (ValueError, lambda lib, s: s.__imul__(0)),
    "delitem-range": (IndexError, lambda lib, s: s.__delitem__(5)),
    "delitem-str": (TypeError, lambda lib, s: s.__delitem__("a")),
    "setitem-range": (IndexError, lambda lib, s: s.__setitem__(5, lib.nn.ReLU())),
    "pop-range": (IndexError, lambda lib, s: s.pop(7)),
    "insert-range": (IndexError, lambda lib, s: s.insert(10, lib.nn.ReLU())),
    "insert-not-module": (AssertionError, lambda lib, s: s.insert(0, 3)),
    "extend-int": (TypeError, lambda lib, s: s.extend(5)),
}


@pytest.mark.parametrize("case", list(SEQUENTIAL_ERRORS))
def test_sequential_bad_operations_raise_as_torch(case: str) -> None:
    error, fn = SEQUENTIAL_ERRORS[case]
    for lib in LIBS:
        with pytest.raises(error):
            fn(lib, lib.nn.Sequential(*_layers(lib)[:3]))


MODULELIST_CASES = {
    "delitem": lambda lib, m: m.__delitem__(0) or m,
    "delitem-negative": lambda lib, m: m.__delitem__(-1) or m,
    "delitem-step-slice": lambda lib, m: m.__delitem__(slice(None, None, 2)) or m,
    "pop": lambda lib, m: (m.pop(1), m),
    "pop-slice": lambda lib, m: (m.pop(slice(0, 2)), m),
    "add-list": lambda lib, m: m + [lib.nn.GELU()],
    "add-sequential": lambda lib, m: m + lib.nn.Sequential(lib.nn.GELU()),
    "iadd": lambda lib, m: m.__iadd__([lib.nn.GELU()]),
}


@pytest.mark.parametrize("case", list(MODULELIST_CASES))
def test_module_list_operations_match_torch(case: str) -> None:
    def run(lib: Any) -> Any:
        m = lib.nn.ModuleList(_layers(lib))
        out = MODULELIST_CASES[case](lib, m)
        return repr(out), list(m._modules)

    assert run(chainrule) == run(torch)


def test_module_list_iadd_is_in_place_and_registers() -> None:
    for lib in LIBS:
        blocks = lib.nn.ModuleList([lib.nn.Linear(2, 2)])
        same = blocks
        blocks += [lib.nn.Linear(2, 3)]
        assert same is blocks
        assert list(blocks.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
        del blocks[0]
        assert list(blocks.state_dict()) == ["0.weight", "0.bias"]


MODULELIST_ERRORS = {
    "delitem-range": (IndexError, lambda lib, m: m.__delitem__(9)),
    "delitem-str": (TypeError, lambda lib, m: m.__delitem__("0")),
    "pop-range": (IndexError, lambda lib, m: m.pop(7)),
    "add-int": (TypeError, lambda lib, m: m + 3),
    "add-non-module": (TypeError, lambda lib, m: m + [3]),
    "iadd-int": (TypeError, lambda lib, m: m.__iadd__(3)),
    "extend-int": (TypeError, lambda lib, m: m.extend(3)),
}


@pytest.mark.parametrize("case", list(MODULELIST_ERRORS))
def test_module_list_bad_operations_raise_as_torch(case: str) -> None:
    error, fn = MODULELIST_ERRORS[case]
    for lib in LIBS:
        with pytest.raises(error):
            fn(lib, lib.nn.ModuleList(_layers(lib)))


def test_module_list_extend_error_names_the_iterable() -> None:
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        chainrule.nn.ModuleList().extend(3)


def test_module_dict_pop_and_clear_match_torch() -> None:
    def run(lib: Any) -> Any:
        d = lib.nn.ModuleDict({"emb": lib.nn.Embedding(3, 2), "act": lib.nn.ReLU()})
        popped = d.pop("emb")
        keys = list(d.keys())
        sd = list(d.state_dict())
        d.clear()
        return repr(popped), keys, sd, len(d), repr(d)

    assert run(chainrule) == run(torch)
    for lib in LIBS:
        with pytest.raises(KeyError):
            lib.nn.ModuleDict({"a": lib.nn.ReLU()}).pop("zz")


def test_module_name_must_be_a_string() -> None:
    for lib in LIBS:
        with pytest.raises(TypeError, match="module name should be a string. Got int"):
            lib.nn.ModuleDict({1: lib.nn.ReLU()})
        with pytest.raises(TypeError, match="module name should be a string"):
            lib.nn.Module().add_module(2.0, lib.nn.ReLU())


# ---- losses -----------------------------------------------------------------------------

LOGITS = RNG.standard_normal((5, 3))
TARGET = np.array([0, 2, 1, 1, 0])


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize(
    "x_dtype,w_dtype", [("float64", "float32"), ("float32", "float64"), ("float64", "int64")]
)
def test_class_weight_of_another_dtype_raises_as_torch(
    name: str, x_dtype: str, w_dtype: str
) -> None:
    for lib in LIBS:
        x = lib.tensor(LOGITS, dtype=getattr(lib, x_dtype))
        w = lib.tensor([1, 2, 3], dtype=getattr(lib, w_dtype))
        with pytest.raises(RuntimeError, match="expected scalar type"):
            getattr(lib.nn.functional, name)(x, lib.tensor(TARGET), weight=w)


def test_class_weight_of_the_input_dtype_still_works() -> None:
    def run(lib: Any) -> Any:
        x = lib.tensor(LOGITS, requires_grad=True)
        weight = lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64)
        loss = lib.nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1)
        out = loss(x, lib.tensor(TARGET))
        out.backward()
        return out, x.grad

    (got, got_grad), (want, want_grad) = run(chainrule), run(torch)
    _close(got, want)
    _close(got_grad, want_grad)


def test_probability_target_refuses_ignore_index() -> None:
    for lib in LIBS:
        x = lib.tensor(LOGITS)
        with pytest.raises(RuntimeError, match="ignore_index is not supported"):
            lib.nn.functional.cross_entropy(x, x.softmax(1), ignore_index=1)
        # the default -100 is not an ignore_index request
        lib.nn.functional.cross_entropy(x, x.softmax(1), ignore_index=-100)


@pytest.mark.parametrize("probabilities", [False, True], ids=["indices", "probabilities"])
def test_label_smoothing_range_as_torch(probabilities: bool) -> None:
    def run(lib: Any, smoothing: float) -> Any:
        x = lib.tensor(LOGITS, requires_grad=True)
        t = x.detach().softmax(1) if probabilities else lib.tensor(TARGET)
        out = lib.nn.functional.cross_entropy(x, t, label_smoothing=smoothing)
        out.backward()
        return out, x.grad

    for smoothing in (-0.1, 0.0, 1.0):
        got, want = run(chainrule, smoothing), run(torch, smoothing)
        _close(got[0], want[0])
        _close(got[1], want[1])
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
            run(lib, 1.5)


# ---- normalization and embeddings -------------------------------------------------------


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda nn: nn.BatchNorm1d(3), (2, 4)),
        (lambda nn: nn.BatchNorm1d(3).eval(), (2, 4, 5)),
        (lambda nn: nn.BatchNorm1d(3, track_running_stats=False), (2, 4)),
        (lambda nn: nn.BatchNorm2d(3), (2, 4, 2, 2)),
        (lambda nn: nn.BatchNorm3d(3), (2, 4, 2, 2, 2)),
    ],
)
def test_batchnorm_wrong_channel_count_raises_runtime_error(make: Any, shape: tuple) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="should contain 4 elements not 3"):
            make(lib.nn)(lib.ones(*shape))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_without_stats_or_weight_takes_any_channel_count(training: bool) -> None:
    x = RNG.standard_normal((4, 5))

    def run(lib: Any) -> Any:
        bn = lib.nn.BatchNorm1d(3, affine=False, track_running_stats=False).double()
        bn.train(training)
        return bn(lib.tensor(x))

    _close(run(chainrule), run(torch))


@pytest.mark.parametrize(
    "make,shape",
    [(lambda nn: nn.BatchNorm2d(3), (3, 4, 5)), (lambda nn: nn.BatchNorm3d(3), (3, 4, 5, 2))],
)
def test_batchnorm_2d_3d_refuse_unbatched_input(make: Any, shape: tuple) -> None:
    for lib in LIBS:
        with pytest.raises(ValueError):
            make(lib.nn)(lib.ones(*shape))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "int8", "uint8", "bool"])
def test_embedding_takes_only_long_or_int_indices(dtype: str) -> None:
    for lib in LIBS:
        idx = lib.tensor([1, 0]).to(getattr(lib, dtype))
        with pytest.raises(RuntimeError, match="Long, Int"):
            lib.nn.functional.embedding(idx, lib.ones(3, 2))
        with pytest.raises(RuntimeError, match="Long, Int"):
            lib.nn.Embedding(3, 2)(idx)


def test_embedding_int32_indices_still_work() -> None:
    weight = RNG.standard_normal((4, 2))

    def run(lib: Any) -> Any:
        idx = lib.tensor([3, 0, 3], dtype=lib.int32)
        return lib.nn.functional.embedding(idx, lib.tensor(weight))

    _close(run(chainrule), run(torch))


# ---- schedulers, histograms -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"total_steps": 5.0},
        {"total_steps": np.int64(5)},
        {"epochs": 2.0, "steps_per_epoch": 3},
        {"epochs": 2, "steps_per_epoch": np.int32(3)},
        {"total_steps": 0},
    ],
    ids=["float-total", "numpy-total", "float-epochs", "numpy-steps", "zero"],
)
def test_one_cycle_wants_python_int_steps(kwargs: dict) -> None:
    for lib in LIBS:
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1, momentum=0.9)
        with pytest.raises(ValueError, match="Expected positive integer"):
            lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, **kwargs)


def test_one_cycle_integer_steps_still_work() -> None:
    def run(lib: Any) -> list[float]:
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=3)
        lrs = []
        for _ in range(6):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        return lrs

    np.testing.assert_allclose(run(chainrule), run(torch), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_histc_of_integers_is_not_implemented(dtype: str) -> None:
    for lib in LIBS:
        with pytest.raises(NotImplementedError, match="not implemented"):
            lib.histc(lib.tensor([1, 2, 3]).to(getattr(lib, dtype)), bins=3)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_histc_of_half_precision_matches_torch(dtype: str) -> None:
    data = [0.1, 0.5, 0.5, 0.9, 1.7, -0.3]

    def run(lib: Any, **kw: Any) -> Any:
        return lib.histc(lib.tensor(data).to(getattr(lib, dtype)), **kw).float()

    for kw in ({"bins": 4}, {"bins": 3, "min": 0, "max": 1}):
        got, want = run(chainrule, **kw), run(torch, **kw)
        assert str(run(chainrule, **kw).dtype).split(".")[-1] == "float32"
        _close(got, want)


# ---- parametrizations -------------------------------------------------------------------


def _unassignable(lib: Any) -> Any:
    class Doubled(lib.nn.Module):
        def forward(self, x: Any) -> Any:
            return 2 * x

        def right_inverse(self, x: Any) -> Any:
            raise NotImplementedError("no inverse")

    return Doubled()


def test_register_parametrization_with_unimplemented_right_inverse() -> None:
    w = RNG.standard_normal((3, 2))
    for lib in LIBS:
        layer = lib.nn.Linear(2, 3)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w, dtype=layer.weight.dtype))
        lib.nn.utils.parametrize.register_parametrization(layer, "weight", _unassignable(lib))
        original = layer.parametrizations.weight.original
        np.testing.assert_allclose(original.detach().numpy(), w.astype(np.float32))
        np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * w.astype(np.float32))
        with pytest.raises(NotImplementedError, match="no inverse"):
            layer.weight = lib.ones(3, 2)


def _orthogonal_weight(lib: Any, w: np.ndarray, orthogonal_map: str) -> Any:
    class Holder(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = lib.nn.Parameter(lib.tensor(w))

    holder = Holder()
    return lib.nn.utils.parametrizations.orthogonal(
        holder, orthogonal_map=orthogonal_map, use_trivialization=False
    )


@pytest.mark.parametrize(
    "shape,orthogonal_map",
    [
        ((4, 4), "householder"),
        ((5, 3), "householder"),
        ((3, 5), "householder"),
        ((2, 4, 3), "householder"),
        ((4, 4), "matrix_exp"),
        ((4, 4), "cayley"),
    ],
)
def test_orthogonal_without_trivialization_matches_torch(shape: tuple, orthogonal_map: str) -> None:
    w = RNG.standard_normal(shape)
    x = RNG.standard_normal(shape)

    def run(lib: Any) -> Any:
        layer = _orthogonal_weight(lib, w, orthogonal_map)
        (layer.weight * lib.tensor(x)).sum().backward()
        original = layer.parametrizations.weight.original
        return layer.weight, original, original.grad, list(layer.state_dict())

    got, want = run(chainrule), run(torch)
    assert got[3] == want[3] == ["parametrizations.weight.original"]
    for g, t in zip(got[:3], want[:3], strict=True):
        _close(g, t, rtol=1e-9, atol=1e-12)


def test_orthogonal_without_trivialization_assignment() -> None:
    w = RNG.standard_normal((4, 4))
    q = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
    for lib in LIBS:
        for orthogonal_map in ("matrix_exp", "cayley"):
            layer = _orthogonal_weight(lib, w, orthogonal_map)
            with pytest.raises(NotImplementedError, match="use_trivialization=False"):
                layer.weight = lib.tensor(q)

    def run(lib: Any) -> Any:
        layer = _orthogonal_weight(lib, w, "householder")
        with lib.no_grad():
            layer.weight = lib.tensor(q)
        return layer.weight, layer.parametrizations.weight.original

    got, want = run(chainrule), run(torch)
    _close(got[0], want[0], rtol=1e-9, atol=1e-12)
    _close(got[0], torch.tensor(q), rtol=1e-9, atol=1e-12)  # an orthogonal Q is kept exactly
    _close(got[1], want[1], rtol=1e-9, atol=1e-12)


# ---- torch.func Jacobians over pytrees -------------------------------------------------

VX, VY = RNG.standard_normal(2), RNG.standard_normal(3)


def _flat(tree: Any) -> list:
    """The leaves of a nested result, each as (shape, values), in order."""
    if isinstance(tree, dict):
        return [(k, leaf) for k in tree for leaf in _flat(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [(type(tree).__name__, leaf) for t in tree for leaf in _flat(t)]
    return [(tuple(tree.shape), tree.detach().numpy().round(12).tolist())]


JACOBIAN_CASES = {
    "dict-input": lambda lib, jac: jac(lambda d: d["a"].sum() * d["b"])(
        {"a": lib.tensor(VX), "b": lib.tensor(VY)}
    ),
    "argnums-tuple": lambda lib, jac: jac(lambda a, b: (a * 2, b.sum() + a), argnums=(0, 1))(
        lib.tensor(VX), lib.tensor(VY)
    ),
    "output-independent-of-input": lambda lib, jac: jac(
        lambda a, b: (a * 2, b.sum() + a), argnums=1
    )(lib.tensor(VX), lib.tensor(VY)),
    "dict-and-list-output": lambda lib, jac: jac(lambda a: {"o": a.sin(), "p": [a.sum()]})(
        lib.tensor(VX)
    ),
    "has-aux": lambda lib, jac: jac(lambda a: (a.sin() * a.sum(), {"aux": a * 2}), has_aux=True)(
        lib.tensor(VX)
    ),
    "matrix": lambda lib, jac: jac(lambda a: a @ a.T)(lib.tensor(np.arange(6.0).reshape(2, 3))),
    "scalar": lambda lib, jac: jac(lambda a: a.sum() ** 2)(lib.tensor(2.0)),
}


@pytest.mark.parametrize("case", list(JACOBIAN_CASES))
@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
def test_jacobians_over_pytrees_match_torch(case: str, name: str) -> None:
    got = JACOBIAN_CASES[case](chainrule, getattr(chainrule.func, name))
    want = JACOBIAN_CASES[case](torch, getattr(torch.func, name))
    assert _flat(got) == _flat(want)


def test_jacrev_chunk_size() -> None:
    for lib in LIBS:
        x = lib.tensor(VX)
        got = lib.func.jacrev(lambda a: a.sin() * a.sum(), chunk_size=1)(x)
        _close(got, torch.func.jacrev(lambda a: a.sin() * a.sum())(torch.tensor(VX)))
        with pytest.raises(ValueError, match="chunk_size"):
            lib.func.jacrev(lambda a: a.sin(), chunk_size=0)(x)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
@pytest.mark.parametrize(
    "argnums,match",
    [((), "non-empty"), (2, "Got argnum=2"), (1.0, "must be int or Tuple"), ((0, 0), "unique")],
)
def test_jacobian_argnums_errors_as_torch(name: str, argnums: Any, match: str) -> None:
    for lib in LIBS:
        jac = getattr(lib.func, name)(lambda a, b: a * b.sum(), argnums=argnums)
        with pytest.raises(RuntimeError, match=match):
            jac(lib.tensor(VX), lib.tensor(VY))


def test_hessian_over_a_dict_and_argnums() -> None:
    def run(lib: Any) -> Any:
        d = {"a": lib.tensor(VX), "b": lib.tensor(VY)}
        h1 = lib.func.hessian(lambda d: (d["a"] ** 3).sum() + d["b"].sum() ** 2)(d)
        h2 = lib.func.hessian(lambda a, b: (a**3).sum() * b.sum(), argnums=(0, 1))(d["a"], d["b"])
        return h1, h2

    assert _flat(run(chainrule)) == _flat(run(torch))


def test_ntk_recipe_matches_torch() -> None:
    """torch.func's neural-tangent-kernel tutorial, size-reduced."""
    w = [RNG.standard_normal(s) for s in [(3, 2), (3,), (2, 3), (2,)]]
    x1, x2 = RNG.standard_normal((4, 2)), RNG.standard_normal((3, 2))

    def run(lib: Any) -> Any:
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Tanh(), lib.nn.Linear(3, 2)).double()
        params = {k: lib.tensor(a) for (k, _), a in zip(net.named_parameters(), w)}

        def fnet_single(params: dict, x: Any) -> Any:
            return lib.func.functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

        jac1 = lib.func.vmap(lib.func.jacrev(fnet_single), (None, 0))(params, lib.tensor(x1))
        jac2 = lib.func.vmap(lib.func.jacrev(fnet_single), (None, 0))(params, lib.tensor(x2))
        jac1 = [j.flatten(2) for j in jac1.values()]
        jac2 = [j.flatten(2) for j in jac2.values()]
        terms = [lib.einsum("Naf,Mbf->NMab", a, b) for a, b in zip(jac1, jac2)]
        return lib.stack(terms).sum(0)

    _close(run(chainrule), run(torch))


def test_func_vjp_and_jvp_take_a_dict_primal_outside_vmap() -> None:
    w = {"w": RNG.standard_normal((2, 3)), "b": RNG.standard_normal(2)}
    x = RNG.standard_normal(3)

    def run(lib: Any) -> Any:
        params = {k: lib.tensor(v) for k, v in w.items()}

        def f(p: dict) -> Any:
            return (p["w"] @ lib.tensor(x) + p["b"]).tanh()

        out, vjp_fn = lib.func.vjp(f, params)
        (cot,) = vjp_fn(lib.ones(2, dtype=out.dtype))
        _, tangent_out = lib.func.jvp(f, (params,), (cot,))
        return out, cot, tangent_out

    assert _flat(run(chainrule)) == _flat(run(torch))
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="same python structure"):
            params = {"a": lib.ones(2)}
            lib.func.jvp(lambda d: d["a"] * 2, (params,), ({"b": lib.ones(2)},))


def test_func_vjp_of_an_output_independent_of_the_primal_is_zero() -> None:
    for lib in LIBS:
        a, b = lib.tensor(VX), lib.tensor(VY)
        out, vjp_fn = lib.func.vjp(lambda b, a=a: (a * 2, b.sum() * a), b)
        (g,) = vjp_fn((lib.ones(2), lib.zeros(2)))
        np.testing.assert_array_equal(g.numpy(), np.zeros(3))


# ---- small argument checks --------------------------------------------------------------


def test_vector_to_parameters_slices_as_torch() -> None:
    def run(lib: Any, vec: Any) -> list:
        ps = [lib.nn.Parameter(lib.zeros(2, 2)), lib.nn.Parameter(lib.zeros(3))]
        lib.nn.utils.vector_to_parameters(vec, ps)
        return [p.detach().numpy().tolist() for p in ps]

    for make in (lambda lib: lib.arange(10.0), lambda lib: lib.arange(7.0).reshape(7, 1)):
        assert run(chainrule, make(chainrule)) == run(torch, make(torch))
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="is invalid for input of size"):
            run(lib, lib.arange(5.0))
        with pytest.raises(RuntimeError, match="is invalid for input of size"):
            run(lib, lib.arange(14.0).reshape(7, 2))
        with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
            run(lib, [1.0, 2.0])
        with pytest.raises(IndexError):
            run(lib, lib.tensor(1.0))


def test_clamp_without_bounds_raises_runtime_error() -> None:
    for lib in LIBS:
        for call in (
            lambda x: x.clamp(),
            lambda x, lib=lib: lib.clamp(x),
            lambda x: x.clamp_(None, None),
        ):
            with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
                call(lib.ones(2))


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_out_must_have_the_input_dtype(name: str) -> None:
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0, 4.0], dtype=lib.float64)
        fn = getattr(lib, name)
        with pytest.raises(RuntimeError, match="out tensor must be same dtype as the input"):
            fn(x, 0.5, out=lib.empty((), dtype=lib.float32))
        out = lib.empty((), dtype=lib.float64)
        assert fn(x, 0.25, out=out) is out
        assert out.item() == 1.5


@pytest.mark.parametrize(
    "name", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS"]
)
def test_optimizer_prints_torch_defaults(name: str) -> None:
    def run(lib: Any) -> str:
        p = lib.nn.Parameter(lib.zeros(2))
        return repr(getattr(lib.optim, name)([p]))

    assert run(chainrule) == run(torch)


def test_assigning_a_parameter_to_a_parametrized_name_raises_key_error() -> None:
    for lib in LIBS:
        layer = lib.nn.Linear(2, 2)
        lib.nn.utils.parametrize.register_parametrization(layer, "weight", _unassignable(lib))
        with pytest.raises(KeyError, match="attribute 'weight' already exists"):
            layer.weight = lib.nn.Parameter(lib.ones(2, 2))


def test_vmap_ensemble_with_batchnorm_in_train_mode() -> None:
    x = RNG.standard_normal((5, 3))
    ws = [[RNG.standard_normal(s) for s in [(4, 3), (4,), (4,), (4,)]] for _ in range(2)]

    def run(lib: Any) -> Any:
        models = []
        for w in ws:
            m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4)).double()
            with lib.no_grad():
                for p, a in zip(m.parameters(), w):
                    p.copy_(lib.tensor(a))
            models.append(m)
        params, buffers = lib.func.stack_module_state(models)

        def f(p: dict, b: dict, x: Any) -> Any:
            return lib.func.functional_call(models[0], (p, b), (x,))

        out = lib.func.vmap(f, in_dims=(0, 0, None))(params, buffers, lib.tensor(x))
        return out, buffers["1.running_mean"], buffers["1.running_var"]

    for g, w in zip(run(chainrule), run(torch), strict=True):
        _close(g, w)


def test_vmap_batchnorm_with_unbatched_running_stats_raises() -> None:
    x = RNG.standard_normal((2, 5, 4))
    for lib in LIBS:
        bn = lib.nn.BatchNorm1d(4).double()
        with pytest.raises(RuntimeError, match="running_mean or running_var"):
            lib.func.vmap(bn)(lib.tensor(x))
        free = lib.nn.BatchNorm1d(4, track_running_stats=False).double()
        assert tuple(lib.func.vmap(free)(lib.tensor(x)).shape) == (2, 5, 4)
