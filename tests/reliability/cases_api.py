"""API families of the bad-input table: creation, nn layers and losses, optim and data."""

from __future__ import annotations

from typing import Any

import numpy as np

from .cases import Case, T

__all__ = [
    "autograd_cases",
    "creation_cases",
    "functional_cases",
    "layer_ctor_cases",
    "nn_cases",
    "optim_data_cases",
]

_SIZES = {
    "-1": (-1,),
    "2,-1": (2, -1),
    "0": (0,),
    "2,3": (2, 3),
    "float": (2.5,),
    "str": ("2",),
    "tuple-neg": ((2, -3),),
}


def _sized(name: str, args: tuple) -> Any:
    def fn(lib: Any) -> Any:
        if name == "full":
            return lib.full(args[0] if len(args) == 1 and isinstance(args[0], tuple) else args, 2.0)
        return getattr(lib, name)(*args)

    return fn


def creation_cases() -> list[Case]:
    """Factories with negative/zero/float sizes, ranges, random parameters, data and devices."""
    out = []
    for name in ("zeros", "ones", "empty", "rand", "randn", "full"):
        for label, size in _SIZES.items():
            rnd = name in ("rand", "randn", "empty")
            out.append(Case(f"create-{name}-{label}", name, _sized(name, size), random=rnd))
    inf, nan = float("inf"), float("nan")
    for args in [
        (5,),
        (0, 5, 0),
        (0, inf),
        (0, nan),
        (0, 5, -1),
        (5, 5),
        (5, 0, -1),
        (0.0, 1.0, 0.25),
        (-inf, 0),
        (0, 1, inf),
        (1, 0),
    ]:
        out.append(Case(f"create-arange-{args}", "arange", lambda lib, a=args: lib.arange(*a)))
    for steps in (-1, 0, 1, 5):
        out.append(
            Case(
                f"create-linspace-{steps}",
                "linspace",
                lambda lib, s=steps: lib.linspace(0.0, 1.0, s),
            )
        )
    for args in [(-1,), (2, -1), (0,), (3,), (2, 3)]:
        out.append(Case(f"create-eye-{args}", "eye", lambda lib, a=args: lib.eye(*a)))
    for args in [
        (5, 5, (2,)),
        (5, 3, (2,)),
        (0, (2,)),
        (0, 3, (-1,)),
        (0, 3, (2,)),
        (-3, -1, (4,)),
    ]:
        out.append(
            Case(
                f"create-randint-{args}",
                "randint",
                lambda lib, a=args: lib.randint(*a),
                random=True,
            )
        )
    for n in (-1, 0, 3):
        out.append(
            Case(f"create-randperm-{n}", "randperm", lambda lib, n=n: lib.randperm(n), random=True)
        )
    for std in (-1.0, nan, 0.0, 1.0):
        out.append(
            Case(
                f"create-normal-std{std}",
                "normal",
                lambda lib, s=std: lib.normal(0.0, s, size=(2,)),
                random=True,
            )
        )
    out.append(
        Case(
            "create-normal-tensor-neg",
            "normal",
            lambda lib: lib.normal(lib.zeros(2), -lib.ones(2)),
            random=True,
        )
    )
    data = {
        "ragged": [[1, 2], [3]],
        "ragged-deep": [[[1], [2]], [[3], [4, 5]]],
        "mixed": [1, [2]],
        "ok": [[1, 2], [3, 4]],
        "str": "a",
        "none": None,
        "bools": [True, False],
        "empty": [],
        "empty2": [[], []],
    }
    for label, d in data.items():
        out.append(Case(f"create-tensor-{label}", "tensor", lambda lib, d=d: lib.tensor(d)))
    for kind in ("object", "str", "datetime64[D]", "float16", "uint8"):
        out.append(
            Case(
                f"create-from_numpy-{kind}",
                "from_numpy",
                lambda lib, k=kind: lib.from_numpy(
                    np.array(["1"] if k in ("str",) else [1], dtype=k)
                ),
            )
        )
    for spec in ("cpu", "cpu:-1", "cuda:x", "gpu", "", "cuda:-1", "cpu:0", "cpu::0", "CPU"):
        out.append(
            Case(f"create-device-{spec!r}", "device", lambda lib, s=spec: lib.zeros(2, device=s))
        )
    for s in (-5, 0, 2**64, -(2**63) - 1, 2**63):
        out.append(
            Case(
                f"create-manual_seed-{s}",
                "manual_seed",
                lambda lib, s=s: lib.manual_seed(s).initial_seed(),
            )
        )
    return out


def _F(lib: Any) -> Any:
    return lib.nn.functional


def _x(lib: Any, shape: tuple) -> Any:
    return T(lib, np.linspace(-1, 1, int(np.prod(shape))).reshape(shape))


def _loss(name: str, xs: tuple, target: Any, **kw: Any) -> Any:
    def fn(lib: Any) -> Any:
        t = T(lib, np.array(target)) if not isinstance(target, str) else None
        if isinstance(target, np.ndarray) and target.dtype.kind == "i":
            t = T(lib, target, dtype=lib.int64)
        x = _x(lib, xs)
        if name == "binary_cross_entropy":
            x = lib.sigmoid(x)
        return getattr(_F(lib), name)(x, t, **kw)

    return fn


def _layer(make: Any, shape: tuple) -> Any:
    def fn(lib: Any) -> Any:
        lib.manual_seed(0)
        return make(lib)(_x(lib, shape).float()).shape

    return fn


def nn_cases() -> list[Case]:
    """Layers fed the wrong shapes or built with invalid options; losses with bad targets."""
    out = []
    layers = {
        "Linear": (lambda lib: lib.nn.Linear(3, 2), [(2, 3), (2, 4), (3,), ()]),
        "Conv2d": (
            lambda lib: lib.nn.Conv2d(2, 1, 3),
            [(1, 2, 5, 5), (1, 3, 5, 5), (1, 2, 2, 2), (2, 5, 5)],
        ),
        "BatchNorm1d": (lambda lib: lib.nn.BatchNorm1d(3), [(2, 3), (2, 4), (1, 3), (3,)]),
        "BatchNorm1d-eps": (lambda lib: lib.nn.BatchNorm1d(3, eps=-1.0), [(2, 3)]),
        "LayerNorm": (lambda lib: lib.nn.LayerNorm(3), [(2, 3), (3, 2)]),
        "AdaptiveAvgPool2d": (lambda lib: lib.nn.AdaptiveAvgPool2d(0), [(1, 2, 3, 3)]),
        "AdaptiveAvgPool2d-02": (lambda lib: lib.nn.AdaptiveAvgPool2d((0, 2)), [(1, 2, 3, 3)]),
        "AdaptiveMaxPool2d": (lambda lib: lib.nn.AdaptiveMaxPool2d(0), [(1, 2, 3, 3)]),
        "MaxPool2d": (lambda lib: lib.nn.MaxPool2d(2), [(1, 1, 4, 4), (1, 1, 1, 1)]),
        "Embedding": (lambda lib: lib.nn.Embedding(3, 2), []),
    }
    for name, (make, shapes) in layers.items():
        op = name.split("-")[0].lower().replace("2d", "").replace("1d", "")
        op = {
            "adaptiveavgpool": "adaptive_avg_pool2d",
            "adaptivemaxpool": "adaptive_max_pool2d",
            "maxpool": "pool",
            "layernorm": "layer_norm",
            "batchnorm": "batch_norm|BatchNorm",
            "conv": "conv|Kernel size",  # torch's too-small-input text names no op
        }.get(op, op)
        for s in shapes:
            out.append(Case(f"nn-{name}-{s}", op, _layer(make, s)))
    for idx in ([0, 2], [3], [-1]):
        out.append(
            Case(
                f"nn-embedding-{idx}",
                "embedding",
                lambda lib, i=idx: _F(lib).embedding(T(lib, i, dtype=lib.int64), T(lib, np.eye(3))),
            )
        )
    out.append(
        Case(
            "nn-embedding-sparse",
            "sparse",
            lambda lib: (
                _F(lib)
                .embedding(T(lib, [0], dtype=lib.int64), T(lib, np.eye(3)), sparse=True)
                .shape
            ),
        )
    )
    ce_targets = {
        "ok": np.array([0, 2]),
        "oob": np.array([0, 3]),
        "neg": np.array([0, -2]),
        "ignore": np.array([0, -100]),
        "shape": np.array([0, 1, 2]),
    }
    for label, tgt in ce_targets.items():
        for name in ("cross_entropy", "nll_loss"):
            out.append(Case(f"loss-{name}-{label}", name, _loss(name, (2, 3), tgt)))
    bce_targets = {
        "ok": [0.0, 1.0, 0.5],
        "over": [0.0, 2.0, 0.5],
        "neg": [0.0, -0.1, 0.5],
        "shape": [0.0, 1.0],
    }
    for label, tgt in bce_targets.items():
        for name in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss"):
            out.append(Case(f"loss-{name}-{label}", name, _loss(name, (3,), tgt)))
    out.append(
        Case(
            "loss-mse-reduction",
            "mse_loss",
            _loss("mse_loss", (3,), [0.0, 1.0, 0.5], reduction="avg"),
        )
    )
    modules = {
        "to-int64": lambda lib: lib.nn.Linear(2, 2).to(lib.int64),
        "to-float64": lambda lib: lib.nn.Linear(2, 2).to(lib.float64).weight.dtype,
        "buffer-dot": lambda lib: lib.nn.Module().register_buffer("a.b", None),
        "buffer-empty": lambda lib: lib.nn.Module().register_buffer("", None),
        "param-dot": lambda lib: lib.nn.Module().register_parameter("a.b", None),
        "modulelist-5": lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])[5],
        "modulelist-str": lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])["a"],
        "sequential-5": lambda lib: lib.nn.Sequential(lib.nn.ReLU())[5],
        "moduledict-missing": lambda lib: lib.nn.ModuleDict({"a": lib.nn.ReLU()})["b"],
    }
    for label, fn in modules.items():
        op = label.split("-")[0]
        op = {
            "to": "to",
            "buffer": "buffer",
            "param": "parameter",
            "modulelist": "ModuleList",
            "sequential": "Sequential",
            "moduledict": "b",
        }[op]
        out.append(Case(f"module-{label}", op, fn))
    return out


def _params(lib: Any) -> list:
    return [lib.nn.Parameter(lib.zeros(2))]


def _lambda_lr(value: Any) -> Any:
    def fn(lib: Any) -> Any:
        opt = lib.optim.SGD(_params(lib), lr=0.1)
        sched = lib.optim.lr_scheduler.LambdaLR(opt, lambda e: value if e else 1.0)
        opt.step()
        sched.step()
        return opt.param_groups[0]["lr"]

    return fn


def optim_data_cases() -> list[Case]:
    """Optimizer options, parameter groups, schedulers, datasets and samplers."""
    out = []
    opts = {
        "SGD": {"lr": ["0.1", -1.0, 0.1], "momentum": [-1.0], "weight_decay": [-1.0]},
        "Adam": {"lr": ["0.1", -1.0], "betas": [(1.5, 0.9), (0.9, -0.1)], "eps": [-1.0]},
        "RMSprop": {"lr": ["0.1", -1.0], "alpha": [-1.0]},
        "Adagrad": {"lr": ["0.1", -1.0]},
    }
    for opt, options in opts.items():
        for key, values in options.items():
            for v in values:
                kw = {"lr": 0.1, key: v}
                out.append(
                    Case(
                        f"optim-{opt}-{key}-{v!r}",
                        opt,
                        lambda lib, o=opt, kw=kw: (
                            type(getattr(lib.optim, o)(_params(lib), **kw)).__name__
                        ),
                    )
                )
    out.append(
        Case("optim-group-no-params", "params", lambda lib: lib.optim.SGD([{"lr": 0.1}], lr=0.1))
    )
    out.append(Case("optim-empty", "empty", lambda lib: lib.optim.SGD([], lr=0.1)))
    for v in ("x", None, 0.5):
        out.append(Case(f"sched-LambdaLR-{v!r}", "LambdaLR", _lambda_lr(v)))

    def ds(lib: Any) -> Any:
        return lib.utils.data.TensorDataset(T(lib, np.arange(6.0).reshape(3, 2)))

    for idx in (5, -4, -1, 1):
        out.append(
            Case(f"data-TensorDataset-{idx}", "TensorDataset", lambda lib, i=idx: ds(lib)[i][0])
        )
    sampler = {
        "replacement-yes": {"replacement": "yes"},
        "num_samples-0": {"num_samples": 0},
        "num_samples-2": {"num_samples": 2, "replacement": True},
    }
    for label, kw in sampler.items():
        out.append(
            Case(
                f"data-RandomSampler-{label}",
                "replacement" if "repl" in label else "num_samples",
                lambda lib, kw=kw: len(list(lib.utils.data.RandomSampler(range(3), **kw))),
                random=True,
            )
        )
    for bs in (0, -1, 2):
        out.append(
            Case(
                f"data-DataLoader-batch_size-{bs}",
                "batch_size",
                lambda lib, bs=bs: len(lib.utils.data.DataLoader(ds(lib), batch_size=bs)),
            )
        )
    out.append(
        Case(
            "data-random_split-bad",
            "random_split",
            lambda lib: lib.utils.data.random_split(ds(lib), [2, 2]),
            random=True,
        )
    )
    out.append(
        Case(
            "data-Subset-oob",
            "out of bounds",
            lambda lib: lib.utils.data.Subset(ds(lib), [5])[0][0],
        )
    )
    out.append(
        Case(
            "data-BatchSampler-0",
            "batch_size",
            lambda lib: lib.utils.data.BatchSampler(range(3), 0, False),
        )
    )
    return out


def _bad_hook(lib: Any) -> Any:
    x = T(lib, np.array([0.3, -0.7, 1.1]), requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g[:2])
    y.sum().backward()
    return x.grad


def _bad_function(lib: Any) -> Any:
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g[:2]

    x = T(lib, np.array([0.3, -0.7, 1.1]), requires_grad=True)
    Bad.apply(x).sum().backward()
    return x.grad


def autograd_cases() -> list[Case]:
    """Hooks and custom Functions returning gradients of the wrong shape."""
    return [
        Case("autograd-hook-wrong-shape", "Backward|hook", _bad_hook),
        Case("autograd-function-wrong-shape", "BadBackward", _bad_function),
    ]


def _built(make: Any, shape: tuple) -> Any:
    def fn(lib: Any) -> Any:
        lib.manual_seed(0)
        layer = make(lib.nn)
        return tuple(layer(_x(lib, shape).float()).shape)

    return fn


# (label, op named in the error, make(nn) -> layer, input shape)
_CTORS = [
    ("Linear-neg", "Linear|features", lambda nn: nn.Linear(-1, 2), (2, 3)),
    ("Linear-zero-out", "Linear", lambda nn: nn.Linear(3, 0), (2, 3)),
    ("Conv2d-ch0", "Conv|channels", lambda nn: nn.Conv2d(0, 1, 3), (1, 2, 5, 5)),
    ("Conv2d-k0", "Conv|kernel", lambda nn: nn.Conv2d(2, 1, 0), (1, 2, 5, 5)),
    ("Conv2d-stride0", "Conv|stride", lambda nn: nn.Conv2d(2, 1, 3, stride=0), (1, 2, 5, 5)),
    ("Conv2d-pad-neg", "Conv|padding", lambda nn: nn.Conv2d(2, 1, 3, padding=-1), (1, 2, 5, 5)),
    ("Conv2d-groups", "Conv|groups", lambda nn: nn.Conv2d(2, 2, 3, groups=3), (1, 2, 5, 5)),
    ("Conv2d-dil0", "Conv|dilation", lambda nn: nn.Conv2d(2, 1, 3, dilation=0), (1, 2, 5, 5)),
    (
        "Conv2d-pad-mode",
        "Conv|padding_mode",
        lambda nn: nn.Conv2d(2, 1, 3, padding_mode="x"),
        (1, 2, 5, 5),
    ),
    (
        "Conv2d-same-stride",
        "Conv|same",
        lambda nn: nn.Conv2d(2, 1, 3, padding="same", stride=2),
        (1, 2, 5, 5),
    ),
    ("Dropout-p1.5", "Dropout|p", lambda nn: nn.Dropout(1.5), (2, 3)),
    ("Dropout-neg", "Dropout|p", lambda nn: nn.Dropout(-0.1), (2, 3)),
    ("MaxPool2d-k0", "pool|kernel", lambda nn: nn.MaxPool2d(0), (1, 1, 4, 4)),
    ("MaxPool2d-stride0", "pool|stride", lambda nn: nn.MaxPool2d(2, stride=0), (1, 1, 4, 4)),
    ("MaxPool2d-pad-big", "pool|pad", lambda nn: nn.MaxPool2d(2, padding=2), (1, 1, 4, 4)),
    ("AvgPool2d-pad-big", "pool|pad", lambda nn: nn.AvgPool2d(2, padding=2), (1, 1, 4, 4)),
    ("MaxPool2d-too-small", "pool|size", lambda nn: nn.MaxPool2d(5), (1, 1, 4, 4)),
    ("Embedding-neg", "Embedding|num_embeddings", lambda nn: nn.Embedding(-1, 2), (2,)),
    ("Embedding-pad", "Embedding|padding_idx", lambda nn: nn.Embedding(3, 2, padding_idx=5), (2,)),
    ("GroupNorm-groups", "group", lambda nn: nn.GroupNorm(3, 4), (2, 4, 3)),
    (
        "LayerNorm-shape",
        "layer_norm|normalized_shape|LayerNorm",
        lambda nn: nn.LayerNorm(4),
        (2, 3),
    ),
    ("Softmax-dim", "softmax|dim", lambda nn: nn.Softmax(dim=5), (2, 3)),
    ("Flatten-dim", "flatten|dim", lambda nn: nn.Flatten(5), (2, 3)),
    ("Unflatten-size", "unflatten|size|shape", lambda nn: nn.Unflatten(1, (2, 2)), (2, 3)),
    ("BatchNorm2d-3d", "batch|BatchNorm|dim", lambda nn: nn.BatchNorm2d(3), (2, 3, 4)),
]


def layer_ctor_cases() -> list[Case]:
    """Layers built with invalid options, then called on a valid input."""
    return [Case(f"nn-ctor-{label}", op, _built(make, shape)) for label, op, make, shape in _CTORS]


_FUNCTIONAL = [
    (
        "conv2d-stride0",
        "conv|stride",
        "conv2d",
        (1, 2, 5, 5),
        (lambda lib: lib.ones(1, 2, 3, 3, dtype=lib.float64),),
        {"stride": 0},
    ),
    (
        "conv2d-channels",
        "conv|channels|shape",
        "conv2d",
        (1, 3, 5, 5),
        (lambda lib: lib.ones(1, 2, 3, 3, dtype=lib.float64),),
        {},
    ),
    (
        "conv2d-kernel-big",
        "conv|kernel|size",
        "conv2d",
        (1, 2, 2, 2),
        (lambda lib: lib.ones(1, 2, 3, 3, dtype=lib.float64),),
        {},
    ),
    (
        "conv2d-groups",
        "conv|groups",
        "conv2d",
        (1, 2, 5, 5),
        (lambda lib: lib.ones(2, 1, 3, 3, dtype=lib.float64),),
        {"groups": 3},
    ),
    (
        "linear-shape",
        "linear|shape|mat",
        "linear",
        (2, 3),
        (lambda lib: lib.ones(2, 4, dtype=lib.float64),),
        {},
    ),
    ("max_pool2d-k0", "pool|kernel", "max_pool2d", (1, 1, 4, 4), (0,), {}),
    ("max_pool2d-pad", "pool|pad", "max_pool2d", (1, 1, 4, 4), (2,), {"padding": 2}),
    ("avg_pool2d-stride0", "pool|stride", "avg_pool2d", (1, 1, 4, 4), (2,), {"stride": 0}),
    ("dropout-p2", "dropout|p", "dropout", (2, 3), (), {"p": 2.0}),
    ("softmax-dim5", "softmax|dim", "softmax", (2, 3), (), {"dim": 5}),
    ("normalize-dim5", "normalize|norm|dim", "normalize", (2, 3), (), {"dim": 5}),
    ("layer_norm-shape", "layer_norm|normalized_shape", "layer_norm", (2, 3), ((4,),), {}),
    ("group_norm-groups", "group", "group_norm", (2, 4, 3), (3,), {}),
    ("pad-mode", "pad|mode", "pad", (1, 2, 3), ((1, 1),), {"mode": "bogus"}),
    ("pad-odd", "pad", "pad", (1, 2, 3), ((1,),), {}),
    ("one_hot-small", "one_hot|class", "one_hot", (0,), (), {}),
    (
        "interpolate-neg",
        "interpolate|scale|size",
        "interpolate",
        (1, 1, 4, 4),
        (),
        {"scale_factor": -2.0},
    ),
    (
        "interpolate-mode",
        "interpolate|mode",
        "interpolate",
        (1, 1, 4, 4),
        (),
        {"scale_factor": 2.0, "mode": "bogus"},
    ),
]


def _functional_case(label: str, op: str, name: str, shape: tuple, args: tuple, kw: dict) -> Case:
    def fn(lib: Any) -> Any:
        real = tuple(a(lib) if callable(a) else a for a in args)
        if name == "one_hot":
            return tuple(_F(lib).one_hot(lib.tensor([0, 3]), 2).shape)
        return tuple(getattr(_F(lib), name)(_x(lib, shape), *real, **kw).shape)

    return Case(f"functional-{label}", op, fn)


def functional_cases() -> list[Case]:
    """nn.functional ops with invalid arguments (strides, kernels, groups, dims, modes)."""
    out = [_functional_case(*row) for row in _FUNCTIONAL]
    out.append(
        Case(
            "functional-cross_entropy-smoothing",
            "label_smoothing",
            _loss("cross_entropy", (2, 3), np.array([0, 1]), label_smoothing=2.0),
        )
    )
    out.append(
        Case(
            "functional-nll_loss-1d-target-2d",
            "nll_loss|target",
            _loss("nll_loss", (2, 3), np.array([[0, 1]])),
        )
    )
    return out
