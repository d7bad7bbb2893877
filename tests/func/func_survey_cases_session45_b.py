"""Session 45 survey cases (see ``func_survey_cases_session45``): ``functional_call`` with tied
weights, ``strict``, tuples of dicts and buffers; ``stack_module_state`` ensembles;
``replace_all_batch_norm_modules_``.
"""

from __future__ import annotations

from typing import Any

from .func_survey_cases_session45 import S3, SEQ, B, V, W, X, _t, case

__all__: list[str] = []  # (the cases register into CASES)


# ---------------------------------------------- functional_call / stack_module_state


def _net(m: Any, tied: bool = False) -> Any:
    m.manual_seed(0)
    net = m.nn.Sequential(m.nn.Linear(5, 5), m.nn.Tanh(), m.nn.Linear(5, 5)).double()
    if tied:
        net[2].weight = net[0].weight
    return net


def _params(m: Any, net: Any, scale: float = 0.5) -> dict:
    return {k: (v.detach() * scale).requires_grad_() for k, v in net.named_parameters()}


@case("functional_call_plain")
def _(m: Any) -> Any:
    net = _net(m)
    return m.func.functional_call(net, _params(m, net), (_t(m, V),))


@case("functional_call_tied_one_given")
def _(m: Any) -> Any:
    net = _net(m, tied=True)
    p = {"0.weight": _t(m, W)}
    return m.func.functional_call(net, p, (_t(m, V),), tie_weights=True)


@case("functional_call_tied_untied")
def _(m: Any) -> Any:
    net = _net(m, tied=True)
    p = {"0.weight": _t(m, W)}
    return m.func.functional_call(net, p, (_t(m, V),), tie_weights=False)


@case("functional_call_tied_both_differ")
def _(m: Any) -> Any:
    net = _net(m, tied=True)
    p = {"0.weight": _t(m, W), "2.weight": _t(m, W * 2)}
    return m.func.functional_call(net, p, (_t(m, V),))


@case("functional_call_tied_both_same")
def _(m: Any) -> Any:
    net = _net(m, tied=True)
    w = _t(m, W)
    return m.func.functional_call(net, {"0.weight": w, "2.weight": w}, (_t(m, V),))


@case("functional_call_strict_missing")
def _(m: Any) -> Any:
    net = _net(m)
    return m.func.functional_call(net, {"0.weight": _t(m, W)}, (_t(m, V),), strict=True)


@case("functional_call_strict_unexpected")
def _(m: Any) -> Any:
    net = _net(m)
    p = dict(_params(m, net), extra=_t(m, S3))
    return m.func.functional_call(net, p, (_t(m, V),), strict=True)


@case("functional_call_strict_ok")
def _(m: Any) -> Any:
    net = _net(m)
    return m.func.functional_call(net, _params(m, net), (_t(m, V),), strict=True)


@case("functional_call_tuple_of_dicts")
def _(m: Any) -> Any:
    net = _net(m)
    p = _params(m, net)
    a = {k: v for k, v in p.items() if k.startswith("0")}
    b = {k: v for k, v in p.items() if k.startswith("2")}
    return m.func.functional_call(net, (a, b), (_t(m, V),))


@case("functional_call_tuple_of_dicts_overlap")
def _(m: Any) -> Any:
    net = _net(m)
    p = _params(m, net)
    return m.func.functional_call(net, (p, {"0.bias": p["0.bias"]}), (_t(m, V),))


@case("functional_call_kwargs")
def _(m: Any) -> Any:
    m.manual_seed(0)
    lin = m.nn.Bilinear(5, 5, 2).double()
    return m.func.functional_call(
        lin, dict(lin.named_parameters()), (_t(m, V),), {"input2": _t(m, V)}
    )


def _bn_net(m: Any) -> Any:
    m.manual_seed(0)
    return m.nn.Sequential(m.nn.Linear(5, 4), m.nn.BatchNorm1d(4)).double()


@case("functional_call_buffers_train")
def _(m: Any) -> Any:
    net = _bn_net(m)
    bufs = {k: v.clone() for k, v in net.named_buffers()}
    out = m.func.functional_call(net, {**dict(net.named_parameters()), **bufs}, (_t(m, V),))
    return out, bufs["1.running_mean"], bufs["1.running_var"], bufs["1.num_batches_tracked"]


@case("functional_call_buffers_eval")
def _(m: Any) -> Any:
    net = _bn_net(m).eval()
    bufs = {"1.running_mean": _t(m, S3[:1].repeat(4)), "1.running_var": m.ones(4).double() * 2}
    return m.func.functional_call(net, bufs, (_t(m, V),))


@case("functional_call_module_unchanged")
def _(m: Any) -> Any:
    net = _bn_net(m)
    m.func.functional_call(net, {"0.weight": m.zeros(4, 5, dtype=m.float64)}, (_t(m, V),))
    return net[0].weight.detach(), net[1].running_mean


@case("functional_call_grad_params")
def _(m: Any) -> Any:
    net = _net(m)
    p = {k: v.detach() for k, v in net.named_parameters()}
    return m.func.grad(lambda q, x: m.func.functional_call(net, q, (x,)).pow(2).sum())(
        p, _t(m, V[0])
    )


@case("functional_call_vmap_per_sample_grads")
def _(m: Any) -> Any:
    net = _net(m)
    p = {k: v.detach() for k, v in net.named_parameters()}

    def loss(q: Any, x: Any) -> Any:
        return m.func.functional_call(net, q, (x[None],)).sin().sum()

    return m.func.vmap(m.func.grad(loss), in_dims=(None, 0))(p, _t(m, V))


def _models(m: Any, n: int = B) -> list:
    m.manual_seed(1)
    return [m.nn.Linear(5, 3).double() for _ in range(n)]


@case("stack_module_state_shapes")
def _(m: Any) -> Any:
    params, bufs = m.func.stack_module_state(_models(m))
    return [params[k] for k in sorted(params)] + [len(bufs)]


@case("stack_module_state_requires_grad")
def _(m: Any) -> Any:
    params, _ = m.func.stack_module_state(_models(m))
    return m.tensor([bool(params[k].requires_grad) and params[k].is_leaf for k in sorted(params)])


@case("stack_module_state_ensemble_same_input")
def _(m: Any) -> Any:
    models = _models(m)
    params, bufs = m.func.stack_module_state(models)
    base = models[0].to("meta") if m.__name__ == "torch" else models[0]

    def f(p: Any, b: Any, x: Any) -> Any:
        return m.func.functional_call(base, (p, b), (x,))

    return m.func.vmap(f, in_dims=(0, 0, None))(params, bufs, _t(m, V))


@case("stack_module_state_ensemble_own_input")
def _(m: Any) -> Any:
    models = _models(m)
    params, bufs = m.func.stack_module_state(models)
    return m.func.vmap(lambda p, b, x: m.func.functional_call(models[0], (p, b), (x,)))(
        params, bufs, _t(m, X)
    )


@case("stack_module_state_buffers")
def _(m: Any) -> Any:
    m.manual_seed(2)
    models = [m.nn.BatchNorm1d(5).double().eval() for _ in range(B)]
    for k, mod in enumerate(models):
        mod.running_mean.fill_(k)
    params, bufs = m.func.stack_module_state(models)
    out = m.func.vmap(lambda p, b, x: m.func.functional_call(models[0], (p, b), (x,)))(
        params, bufs, _t(m, X)
    )
    return out, bufs["running_mean"], bufs["num_batches_tracked"]


@case("stack_module_state_mismatch")
def _(m: Any) -> Any:
    m.manual_seed(3)
    return m.func.stack_module_state([m.nn.Linear(5, 3), m.nn.Linear(5, 4)])


@case("stack_module_state_empty")
def _(m: Any) -> Any:
    return m.func.stack_module_state([])


@case("stack_module_state_train_eval_mix")
def _(m: Any) -> Any:
    a, b = _models(m, 2)
    b.eval()
    return m.func.stack_module_state([a, b])


@case("stack_module_state_grad_ensemble")
def _(m: Any) -> Any:
    params, bufs = m.func.stack_module_state(_models(m))
    net = _models(m, 1)[0]

    def loss(p: Any, x: Any) -> Any:
        return m.func.functional_call(net, p, (x,)).pow(2).sum()

    return m.func.vmap(m.func.grad(loss))(params, _t(m, X))


# ----------------------------------------------------- replace_all_batch_norm_modules_


def _bn_model(m: Any) -> Any:
    m.manual_seed(4)
    return m.nn.Sequential(
        m.nn.Conv1d(2, 4, 3), m.nn.BatchNorm1d(4), m.nn.ReLU(), m.nn.Sequential(m.nn.BatchNorm1d(4))
    ).double()


@case("replace_bn_returns_module_and_buffers")
def _(m: Any) -> Any:
    net = _bn_model(m)
    r = m.func.replace_all_batch_norm_modules_(net)
    assert r is net
    bn = net[1]
    return m.tensor(
        [
            bn.running_mean is None,
            bn.running_var is None,
            bn.track_running_stats,
            net[3][0].running_mean is None,
        ]
    )


@case("replace_bn_then_vmap_train")
def _(m: Any) -> Any:
    net = m.func.replace_all_batch_norm_modules_(_bn_model(m))
    return m.func.vmap(lambda s: net(s[None]))(_t(m, SEQ))


@case("replace_bn_without_vmap_train")
def _(m: Any) -> Any:
    net = m.func.replace_all_batch_norm_modules_(_bn_model(m))
    return net(_t(m, SEQ))


@case("replace_bn_eval_refused_or_not")
def _(m: Any) -> Any:
    net = m.func.replace_all_batch_norm_modules_(_bn_model(m)).eval()
    return net(_t(m, SEQ))


@case("bn_vmap_without_replace")
def _(m: Any) -> Any:
    net = _bn_model(m)
    return m.func.vmap(lambda s: net(s[None]))(_t(m, SEQ))


@case("replace_bn_functional_call_ensemble")
def _(m: Any) -> Any:
    m.manual_seed(5)
    models = [m.nn.Sequential(m.nn.Linear(5, 4), m.nn.BatchNorm1d(4)).double() for _ in range(B)]
    for mod in models:
        m.func.replace_all_batch_norm_modules_(mod)
    params, bufs = m.func.stack_module_state(models)
    out = m.func.vmap(lambda p, x: m.func.functional_call(models[0], p, (x,)))(params, _t(m, X))
    return out, m.tensor([len(bufs)])


@case("replace_bn_no_bn_modules")
def _(m: Any) -> Any:
    net = _net(m)
    return m.func.replace_all_batch_norm_modules_(net)(_t(m, V))
