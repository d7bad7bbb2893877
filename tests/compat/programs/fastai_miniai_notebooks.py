"""fast.ai "Practical Deep Learning for Coders" part 2 (2022), the ``miniai`` library its
notebooks build (``09_learner``, ``10_activations``, ``11_initializing``, ``12_accel_sgd``),
size-reduced.

The idioms: the ``with_cbs`` decorator class (``o.callback(f'before_{self.nm}')``, the
exception looked up as ``globals()[f'Cancel{self.nm.title()}Exception']``, ``finally:
o.callback(f'cleanup_{self.nm}')``); the ``Learner`` whose ``__getattr__`` turns ``predict`` /
``get_loss`` / ``backward`` / ``step`` / ``zero_grad`` into ``partial(self.callback, name)``,
``for self.iter, self.batch in enumerate(self.dl)``, ``torch.no_grad()(self.one_epoch)(False)``
(``no_grad`` used as a decorator on a bound method), ``self.model.train(training)`` and
``run_cbs``' ``sorted(cbs, key=attrgetter('order'))``; ``TrainCB`` and the subclassed
``TrainLearner`` / ``MomentumLearner`` (``p.grad *= self.mom`` under ``torch.no_grad()`` as its
``zero_grad``); ``SingleBatchCB`` raising ``CancelFitException``; ``to_cpu``
(``x.detach().cpu()``, ``res.float() if res.dtype == torch.float16``); a metrics callback;
``LRFinderCB`` with ``ExponentialLR``, ``math.isnan(loss)`` on a tensor, ``loss < self.min``
and ``CancelEpochException`` for validation.

``10_activations``: ``Hook`` / ``Hooks`` (a ``list`` subclass and context manager whose
``__del__`` removes the hooks) over ``m.register_forward_hook(partial(f, self))``,
``HooksCallback`` / ``ActivationStats`` with ``append_stats``' ``acts.mean()``, ``acts.std()``
and ``acts.abs().histc(40, 0, 10)``, ``get_hist``' ``torch.stack(h.stats[2]).t().float().
log1p()`` (the "color_dim" picture) and ``get_min``'s ``h1[0] / h1.sum(0)`` (the "dead chart");
``11_initializing``: ``conv(ni, nf, ks, stride, act, norm, bias)`` / ``get_model`` with
``nn.Flatten()``, ``GeneralRelu`` (``F.leaky_relu(x, self.leak)``, ``x -= self.sub``,
``x.clamp_max_(self.maxv)``), ``init_weights`` with ``init.kaiming_normal_(m.weight,
a=leaky)`` under ``model.apply(partial(init_weights, leaky=0.1))``, input normalisation with
``xb.mean(), xb.std()`` in a ``BatchTransformCB``, ``lsuv_init``'s ``while model(xb) is not
None and (abs(h.std - 1) > 1e-3 or abs(h.mean) > 1e-3): m_in.bias -= h.mean;
m_in.weight.data /= h.std``, and the from-scratch ``LayerNorm`` (``nn.Parameter(tensor(1.))``,
``x.var((1, 2, 3), keepdim=True)``) and ``BatchNorm`` (``register_buffer('vars', torch.ones(1,
nf, 1, 1))``, ``self.means.lerp_(m, self.mom)`` under ``torch.no_grad()``); ``12_accel_sgd``:
the hand-written ``SGD`` / ``Momentum`` / ``RMSProp`` / ``Adam`` optimizers (``p -= p.grad *
self.lr`` under ``torch.no_grad()``, state stored as attributes on the parameters
(``p.grad_avg``, ``p.sqr_avg``, ``p.avg``), ``p.grad.data.zero_()``), ``opt.state[param]``
of ``optim.SGD(momentum=0.9)``, ``BatchSchedCB`` with ``partial(lr_scheduler.OneCycleLR,
max_lr=lr, total_steps=tmax)`` over ``optim.AdamW`` and ``RecorderCB(lr=_lr, mom=_beta1)``
reading ``cb.pg['lr']`` and ``cb.pg['betas'][0]``.

Changed: Fashion-MNIST (28x28, Hugging Face ``datasets``) is 8x8 NumPy "digits"; the widths
``[1, 8, 16, 32, 64]`` -> ``[1, 4, 8, 16]``; ``torcheval``'s ``MulticlassAccuracy`` is a
counted accuracy; plots and ``fastprogress`` are the numbers they would show; the random
``kaiming_normal_`` draws are replaced by NumPy draws with the std ``calculate_gain`` gives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from operator import attrgetter
from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

N_TRAIN, N_VALID, BS, IMG = 24, 16, 8, 8
# ``get_hist``/``get_min`` go through float32 (``.float().log1p()``), where NumPy's and PyTorch's
# log1p may differ by an ulp; everything else is float64
RTOL = 1e-6


class CancelFitException(Exception):
    pass


class CancelBatchException(Exception):
    pass


class CancelEpochException(Exception):
    pass


class with_cbs:  # noqa: N801 (miniai's name)
    def __init__(self, nm: str) -> None:
        self.nm = nm

    def __call__(self, f: Any) -> Any:
        def _f(o: Any, *args: Any, **kwargs: Any) -> None:
            try:
                o.callback(f"before_{self.nm}")
                f(o, *args, **kwargs)
                o.callback(f"after_{self.nm}")
            except globals()[f"Cancel{self.nm.title()}Exception"]:
                pass
            finally:
                o.callback(f"cleanup_{self.nm}")

        return _f


class Callback:
    order = 0


def run_cbs(cbs: list, method_nm: str, learn: Any = None) -> None:
    for cb in sorted(cbs, key=attrgetter("order")):
        method = getattr(cb, method_nm, None)
        if method is not None:
            method(learn)


def init_state(tmp_path: Any) -> dict[str, Any]:
    rng = np.random.default_rng(2022)
    n = N_TRAIN + N_VALID
    y = rng.integers(0, 10, n)
    x = 0.3 * rng.random((n, 1, IMG, IMG))
    for i, c in enumerate(y):
        x[i, 0, c % IMG, :] += 0.8
        x[i, 0, :, (3 * c) % IMG] += 0.5
    return {"x": x * 255.0 / 1.3, "y": y, "z": rng.standard_normal(4096), "seed": 7}


def run(torch_like: Any, init: dict[str, Any]) -> list[float]:  # noqa: C901 (a notebook)
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F, init_ = torch_like.nn.functional, torch_like.nn.init
    lr_scheduler = torch_like.optim.lr_scheduler
    from_numpy = torch.from_numpy
    values: list[float] = []
    z_pos = [0]

    def draws(shape: tuple) -> Any:
        k = int(np.prod(shape))
        start = z_pos[0] % (4096 - k)
        z_pos[0] += k
        return from_numpy(init["z"][start : start + k].reshape(shape).copy())

    # ---- data (the notebooks' ``DataLoaders.from_dd``) -----------------------------------------
    x = from_numpy(init["x"]) / 255.0
    y = from_numpy(init["y"])
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader

    class DataLoaders:
        def __init__(self, *dls: Any) -> None:
            self.train, self.valid = dls[:2]

    dls = DataLoaders(
        DataLoader(TensorDataset(x[:N_TRAIN], y[:N_TRAIN]), batch_size=BS),
        DataLoader(TensorDataset(x[N_TRAIN:], y[N_TRAIN:]), batch_size=BS * 2),
    )
    xb, yb = next(iter(dls.train))
    xmean, xstd = xb.mean(), xb.std()
    values += [xmean.item(), xstd.item(), float(yb.sum())]

    def to_cpu(x: Any) -> Any:
        if isinstance(x, Mapping):
            return {k: to_cpu(v) for k, v in x.items()}
        if isinstance(x, list):
            return [to_cpu(o) for o in x]
        if isinstance(x, tuple):
            return tuple(to_cpu(list(x)))
        res = x.detach().cpu()
        return res.float() if res.dtype == torch.float16 else res

    # ---- the Learner (09_learner) ----------------------------------------------------------------
    class Learner:
        def __init__(
            self, model, dls=(0,), loss_func=F.mse_loss, lr=0.1, cbs=None, opt_func=optim.SGD
        ):
            cbs = list(cbs or [])
            self.model, self.dls, self.loss_func = model, dls, loss_func
            self.lr, self.cbs, self.opt_func = lr, cbs, opt_func

        @with_cbs("batch")
        def _one_batch(self) -> None:
            self.predict()
            self.callback("after_predict")
            self.get_loss()
            self.callback("after_loss")
            if self.training:
                self.backward()
                self.callback("after_backward")
                self.step()
                self.callback("after_step")
                self.zero_grad()

        @with_cbs("epoch")
        def _one_epoch(self) -> None:
            for self.iter, self.batch in enumerate(self.dl):  # noqa: B020 (miniai's)
                self._one_batch()

        def one_epoch(self, training: bool) -> None:
            self.model.train(training)
            self.dl = self.dls.train if training else self.dls.valid
            self._one_epoch()

        @with_cbs("fit")
        def _fit(self, train: bool, valid: bool) -> None:
            for self.epoch in self.epochs:  # noqa: B020
                if train:
                    self.one_epoch(True)
                if valid:
                    torch.no_grad()(self.one_epoch)(False)

        def fit(self, n_epochs=1, train=True, valid=True, cbs=None, lr=None) -> None:
            cbs = list(cbs or [])
            for cb in cbs:
                self.cbs.append(cb)
            try:
                self.n_epochs = n_epochs
                self.epochs = range(n_epochs)
                if lr is None:
                    lr = self.lr
                if self.opt_func:
                    self.opt = self.opt_func(self.model.parameters(), lr)
                self._fit(train, valid)
            finally:
                for cb in cbs:
                    self.cbs.remove(cb)

        def __getattr__(self, name: str) -> Any:
            if name in ("predict", "get_loss", "backward", "step", "zero_grad"):
                return partial(self.callback, name)
            raise AttributeError(name)

        @property
        def training(self) -> bool:
            return self.model.training

        def callback(self, method_nm: str) -> None:
            run_cbs(self.cbs, method_nm, self)

    class TrainCB(Callback):
        def __init__(self, n_inp: int = 1) -> None:
            self.n_inp = n_inp

        def predict(self, learn):
            learn.preds = learn.model(*learn.batch[: self.n_inp])

        def get_loss(self, learn):
            learn.loss = learn.loss_func(learn.preds, *learn.batch[self.n_inp :])

        def backward(self, learn):
            learn.loss.backward()

        def step(self, learn):
            learn.opt.step()

        def zero_grad(self, learn):
            learn.opt.zero_grad()

    class TrainLearner(Learner):
        def predict(self):
            self.preds = self.model(self.batch[0])

        def get_loss(self):
            self.loss = self.loss_func(self.preds, self.batch[1])

        def backward(self):
            self.loss.backward()

        def step(self):
            self.opt.step()

        def zero_grad(self):
            self.opt.zero_grad()

    class MomentumLearner(TrainLearner):
        def __init__(self, model, dls, loss_func, lr=None, cbs=None, opt_func=optim.SGD, mom=0.85):
            self.mom = mom
            super().__init__(model, dls, loss_func, lr, cbs, opt_func)

        def zero_grad(self):
            with torch.no_grad():
                for p in self.model.parameters():
                    p.grad *= self.mom

    class MetricsCB(Callback):
        """``MetricsCB(accuracy=MulticlassAccuracy())`` with the accuracy counted by hand."""

        def before_epoch(self, learn):
            self.correct, self.count, self.loss = 0, 0, 0.0

        def after_batch(self, learn):
            x, y = to_cpu(learn.batch)
            preds = to_cpu(learn.preds)
            self.correct += (preds.argmax(dim=1) == y).sum().item()
            self.count += len(x)
            self.loss += to_cpu(learn.loss) * len(x)

        def after_epoch(self, learn):
            values.extend([self.correct / self.count, float(self.loss / self.count)])

    class SingleBatchCB(Callback):
        order = 1

        def after_batch(self, learn):
            raise CancelFitException()

    class BatchTransformCB(Callback):
        def __init__(self, tfm, on_train=True, on_val=True):
            self.tfm, self.on_train, self.on_val = tfm, on_train, on_val

        def before_batch(self, learn):
            if (self.on_train and learn.training) or (self.on_val and not learn.training):
                learn.batch = self.tfm(learn.batch)

    def _norm(b):
        return (b[0] - xmean) / xstd, b[1]

    norm_cb = BatchTransformCB(_norm)

    class LRFinderCB(Callback):
        def __init__(self, gamma=1.3, max_mult=3):
            self.gamma, self.max_mult = gamma, max_mult

        def before_fit(self, learn):
            self.sched = lr_scheduler.ExponentialLR(learn.opt, self.gamma)
            self.lrs, self.losses = [], []
            self.min = math.inf

        def after_batch(self, learn):
            if not learn.training:
                raise CancelEpochException()
            self.lrs.append(learn.opt.param_groups[0]["lr"])
            loss = to_cpu(learn.loss)
            self.losses.append(loss)
            if loss < self.min:
                self.min = loss
            if math.isnan(loss) or (loss > self.min * self.max_mult):
                raise CancelFitException()
            self.sched.step()

    # ---- models (11_initializing) ----------------------------------------------------------------
    class GeneralRelu(nn.Module):
        def __init__(self, leak=None, sub=None, maxv=None):
            super().__init__()
            self.leak, self.sub, self.maxv = leak, sub, maxv

        def forward(self, x):
            x = F.leaky_relu(x, self.leak) if self.leak is not None else F.relu(x)
            if self.sub is not None:
                x -= self.sub
            if self.maxv is not None:
                x.clamp_max_(self.maxv)
            return x

    def conv(ni, nf, ks=3, stride=2, act=nn.ReLU, norm=None, bias=None):
        if bias is None:
            bias = not isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))
        layers = [nn.Conv2d(ni, nf, stride=stride, kernel_size=ks, padding=ks // 2, bias=bias)]
        if norm:
            layers.append(norm(nf))
        if act:
            layers.append(act())
        return nn.Sequential(*layers)

    def get_model(act=nn.ReLU, nfs=None, norm=None):
        if nfs is None:
            nfs = [1, 4, 8, 16]
        layers = [conv(nfs[i], nfs[i + 1], act=act, norm=norm) for i in range(len(nfs) - 1)]
        return nn.Sequential(
            *layers, conv(nfs[-1], 10, act=None, norm=False, bias=True), nn.Flatten()
        )

    def init_weights(m, leaky=0.0):
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            init_.kaiming_normal_(m.weight, a=leaky)
            # the notebook keeps the random draw; here NumPy's, with kaiming's std
            fan_in, _ = init_._calculate_fan_in_and_fan_out(m.weight)
            std = init_.calculate_gain("leaky_relu", leaky) / math.sqrt(fan_in)
            with torch.no_grad():
                m.weight.copy_(draws(tuple(m.weight.shape)) * std)
                if m.bias is not None:
                    m.bias.zero_()

    def fresh(model: Any) -> Any:
        """The default init replaced by NumPy draws (what ``set_seed`` makes repeatable)."""
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(draws(tuple(p.shape)) * 0.3)
        return model

    # ---- hooks (10_activations) ------------------------------------------------------------------
    class Hook:
        def __init__(self, m, f):
            self.hook = m.register_forward_hook(partial(f, self))

        def remove(self):
            self.hook.remove()

        def __del__(self):
            self.remove()

    def append_stats(hook, mod, inp, outp):
        if not hasattr(hook, "stats"):
            hook.stats = ([], [], [])
        acts = to_cpu(outp)
        hook.stats[0].append(acts.mean())
        hook.stats[1].append(acts.std())
        hook.stats[2].append(acts.abs().histc(40, 0, 10))

    def get_hist(h):
        return torch.stack(h.stats[2]).t().float().log1p()

    def get_min(h):
        h1 = torch.stack(h.stats[2]).t().float()
        return h1[0] / h1.sum(0)

    class Hooks(list):
        def __init__(self, ms, f):
            super().__init__([Hook(m, f) for m in ms])

        def __enter__(self, *args):
            return self

        def __exit__(self, *args):
            self.remove()

        def __del__(self):
            self.remove()

        def __delitem__(self, i):
            self[i].remove()
            super().__delitem__(i)

        def remove(self):
            for h in self:
                h.remove()

    class HooksCallback(Callback):
        def __init__(self, hookfunc, mod_filter=lambda x: True, on_train=True, on_valid=False):
            self.hookfunc, self.mod_filter = hookfunc, mod_filter
            self.on_train, self.on_valid = on_train, on_valid
            super().__init__()

        def before_fit(self, learn):
            mods = [m for m in learn.model.modules() if self.mod_filter(m)]
            self.hooks = Hooks(mods, partial(self._hookfunc, learn))

        def _hookfunc(self, learn, *args, **kwargs):
            if (self.on_train and learn.training) or (self.on_valid and not learn.training):
                self.hookfunc(*args, **kwargs)

        def after_fit(self, learn):
            self.hooks.remove()

        def __iter__(self):
            return iter(self.hooks)

        def __len__(self):
            return len(self.hooks)

    class ActivationStats(HooksCallback):
        def __init__(self, mod_filter=lambda x: True):
            super().__init__(append_stats, mod_filter)

        def color_dim(self):
            return [get_hist(h) for h in self]

        def dead_chart(self):
            return [get_min(h) for h in self]

        def plot_stats(self):
            return [(torch.stack(h.stats[0]), torch.stack(h.stats[1])) for h in self]

    # 1. a plain conv net with ActivationStats, TrainCB and a metrics callback
    model = fresh(get_model())
    astats = ActivationStats(lambda m: isinstance(m, nn.Sequential) and len(m) > 1)
    learn = Learner(
        model, dls, F.cross_entropy, lr=0.2, cbs=[TrainCB(), norm_cb, MetricsCB(), astats]
    )
    learn.fit(2)
    for hist in astats.color_dim():
        values += [hist.sum().item(), hist.shape[0], hist.shape[1]]
    for dead in astats.dead_chart():
        values += [dead.mean().item()]
    for means, stds in astats.plot_stats():
        values += [means.sum().item(), stds.sum().item()]
    values.append(len(astats))

    # SingleBatchCB: one batch, then CancelFitException stops the fit quietly
    learn.fit(1, cbs=[SingleBatchCB()])
    values += [learn.iter, len(learn.cbs), learn.loss.item()]

    # the learning-rate finder on the MomentumLearner
    learn = MomentumLearner(fresh(get_model()), dls, F.cross_entropy, lr=1e-3, cbs=[norm_cb])
    lrfind = LRFinderCB(gamma=2.0, max_mult=3)
    learn.fit(2, cbs=[lrfind])
    values += lrfind.lrs + [float(v) for v in lrfind.losses]

    # 2. GeneralRelu, kaiming init through ``apply`` and LSUV
    act_gr = partial(GeneralRelu, leak=0.1, sub=0.4)
    model = get_model(act_gr)
    model.apply(partial(init_weights, leaky=0.1))
    relu = GeneralRelu(leak=0.1, sub=0.4, maxv=0.5)
    values.append(relu(torch.linspace(-2, 2, 9)).sum().item())

    def _lsuv_stats(hook, mod, inp, outp):
        acts = to_cpu(outp)
        hook.mean = acts.mean()
        hook.std = acts.std()

    def lsuv_init(model, m, m_in, xb):
        h = Hook(m, _lsuv_stats)
        n = 0
        with torch.no_grad():
            while model(xb) is not None and (abs(h.std - 1) > 1e-3 or abs(h.mean) > 1e-3):
                m_in.bias -= h.mean
                m_in.weight.data /= h.std
                n += 1
        h.remove()
        return n

    xb_norm = (xb - xmean) / xstd
    relus = [o for o in model.modules() if isinstance(o, GeneralRelu)]
    convs = [o for o in model.modules() if isinstance(o, nn.Conv2d)]
    for ms in zip(relus, convs):
        values.append(lsuv_init(model, *ms, xb_norm))
    astats = ActivationStats(lambda m: isinstance(m, GeneralRelu))
    learn = MomentumLearner(
        model, dls, F.cross_entropy, lr=0.05, cbs=[norm_cb, MetricsCB(), astats]
    )
    learn.fit(1)
    values += [torch.stack(h.stats[1]).mean().item() for h in astats]

    # 3. LayerNorm and BatchNorm from scratch, trained by the hand-written optimizers
    class LayerNorm(nn.Module):
        def __init__(self, dummy, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.mult = nn.Parameter(torch.tensor(1.0))
            self.add = nn.Parameter(torch.tensor(0.0))

        def forward(self, x):
            m = x.mean((1, 2, 3), keepdim=True)
            v = x.var((1, 2, 3), keepdim=True)
            x = (x - m) / ((v + self.eps).sqrt())
            return x * self.mult + self.add

    class BatchNorm(nn.Module):
        def __init__(self, nf, mom=0.1, eps=1e-5):
            super().__init__()
            self.mom, self.eps = mom, eps
            self.mults = nn.Parameter(torch.ones(nf, 1, 1))
            self.adds = nn.Parameter(torch.zeros(nf, 1, 1))
            self.register_buffer("vars", torch.ones(1, nf, 1, 1))
            self.register_buffer("means", torch.zeros(1, nf, 1, 1))

        def update_stats(self, x):
            m = x.mean((0, 2, 3), keepdim=True)
            v = x.var((0, 2, 3), keepdim=True)
            self.means.lerp_(m, self.mom)
            self.vars.lerp_(v, self.mom)
            return m, v

        def forward(self, x):
            if self.training:
                with torch.no_grad():
                    m, v = self.update_stats(x)
            else:
                m, v = self.means, self.vars
            x = (x - m) / (v + self.eps).sqrt()
            return x * self.mults + self.adds

    class SGD:
        def __init__(self, params, lr, wd=0.0):
            params = list(params)
            self.params, self.lr, self.wd = params, lr, wd
            self.i = 0

        def step(self):
            with torch.no_grad():
                for p in self.params:
                    self.reg_step(p)
                    self.opt_step(p)
            self.i += 1

        def opt_step(self, p):
            p -= p.grad * self.lr

        def reg_step(self, p):
            if self.wd != 0:
                p *= 1 - self.lr * self.wd

        def zero_grad(self):
            for p in self.params:
                p.grad.data.zero_()

    class Momentum(SGD):
        def __init__(self, params, lr, wd=0.0, mom=0.9):
            super().__init__(params, lr=lr, wd=wd)
            self.mom = mom

        def opt_step(self, p):
            if not hasattr(p, "grad_avg"):
                p.grad_avg = torch.zeros_like(p.grad)
            p.grad_avg = p.grad_avg * self.mom + p.grad * (1 - self.mom)
            p -= self.lr * p.grad_avg

    class RMSProp(SGD):
        def __init__(self, params, lr, wd=0.0, sqr_mom=0.99, eps=1e-5):
            super().__init__(params, lr=lr, wd=wd)
            self.sqr_mom, self.eps = sqr_mom, eps

        def opt_step(self, p):
            if not hasattr(p, "sqr_avg"):
                p.sqr_avg = p.grad**2
            p.sqr_avg = p.sqr_avg * self.sqr_mom + p.grad**2 * (1 - self.sqr_mom)
            p -= self.lr * p.grad / (p.sqr_avg.sqrt() + self.eps)

    class Adam(SGD):
        def __init__(self, params, lr, wd=0.0, beta1=0.9, beta2=0.99, eps=1e-5):
            super().__init__(params, lr=lr, wd=wd)
            self.beta1, self.beta2, self.eps = beta1, beta2, eps

        def opt_step(self, p):
            if not hasattr(p, "avg"):
                p.avg = torch.zeros_like(p.grad.data)
            if not hasattr(p, "sqr_avg"):
                p.sqr_avg = torch.zeros_like(p.grad.data)
            p.avg = self.beta1 * p.avg + (1 - self.beta1) * p.grad
            unbias_avg = p.avg / (1 - (self.beta1 ** (self.i + 1)))
            p.sqr_avg = self.beta2 * p.sqr_avg + (1 - self.beta2) * (p.grad**2)
            unbias_sqr_avg = p.sqr_avg / (1 - (self.beta2 ** (self.i + 1)))
            p -= self.lr * unbias_avg / (unbias_sqr_avg + self.eps).sqrt()

    for norm, opt_func, lr in [
        (LayerNorm, partial(SGD, wd=0.01), 0.1),
        (BatchNorm, Momentum, 0.1),
        (BatchNorm, RMSProp, 0.01),
        (BatchNorm, partial(Adam, wd=0.01), 0.01),
    ]:
        model = get_model(act_gr, norm=norm)
        model.apply(partial(init_weights, leaky=0.1))
        learn = TrainLearner(
            model, dls, F.cross_entropy, lr=lr, cbs=[norm_cb, MetricsCB()], opt_func=opt_func
        )
        learn.fit(2)
        if norm is BatchNorm:
            bn = model[0][1]
            values += [bn.means.sum().item(), bn.vars.sum().item(), len(list(model.buffers()))]
            p = next(iter(model.parameters()))
            values += [
                getattr(p, a).sum().item() for a in ("grad_avg", "sqr_avg", "avg") if hasattr(p, a)
            ]
        model.eval()
        with torch.no_grad():
            values.append(model((xb - xmean) / xstd).sum().item())

    # 4. torch.optim.SGD's state, then OneCycleLR through a batch scheduler callback
    class BaseSchedCB(Callback):
        def __init__(self, sched):
            self.sched = sched

        def before_fit(self, learn):
            self.schedo = self.sched(learn.opt)

        def _step(self, learn):
            if learn.training:
                self.schedo.step()

    class BatchSchedCB(BaseSchedCB):
        def after_batch(self, learn):
            self._step(learn)

    class RecorderCB(Callback):
        def __init__(self, **d):
            self.d = d

        def before_fit(self, learn):
            self.recs = {k: [] for k in self.d}
            self.pg = learn.opt.param_groups[0]

        def after_batch(self, learn):
            if not learn.training:
                return
            for k, v in self.d.items():
                self.recs[k].append(v(self))

    def _lr(cb):
        return cb.pg["lr"]

    def _beta1(cb):
        return cb.pg["betas"][0]

    model = get_model(act_gr, norm=nn.BatchNorm2d)
    model.apply(partial(init_weights, leaky=0.1))
    learn = TrainLearner(
        model,
        dls,
        F.cross_entropy,
        lr=0.1,
        cbs=[norm_cb],
        opt_func=partial(optim.SGD, momentum=0.9),
    )
    learn.fit(1)
    opt = learn.opt
    param = next(iter(learn.model.parameters()))
    st = opt.state[param]
    values += [
        st["momentum_buffer"].sum().item(),
        len(opt.param_groups),
        len(opt.state_dict()["state"]),
    ]

    epochs, lr = 3, 6e-2
    tmax = epochs * len(dls.train)
    sched = partial(lr_scheduler.OneCycleLR, max_lr=lr, total_steps=tmax)
    rec = RecorderCB(lr=_lr, mom=_beta1)
    model = get_model(act_gr, norm=nn.BatchNorm2d)
    model.apply(partial(init_weights, leaky=0.1))
    learn = TrainLearner(
        model,
        dls,
        F.cross_entropy,
        lr=lr,
        cbs=[norm_cb, MetricsCB(), BatchSchedCB(sched), rec],
        opt_func=optim.AdamW,
    )
    learn.fit(epochs)
    values += rec.recs["lr"] + rec.recs["mom"]
    return values
