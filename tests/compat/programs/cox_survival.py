"""DeepSurv / Cox proportional-hazards training as pycox (``pycox/models/loss.py``,
``pycox/models/cox.py``), czifan/DeepSurv.pytorch (``networks.py``) and torchsurv
(``loss/cox.py``, ``metrics/cindex.py``) write it, size-reduced.

The idioms: pycox's ``cox_ph_loss`` (``idx = durations.sort(descending=True)[1]``,
``events = events[idx]``, ``log_h = log_h[idx]``) and ``cox_ph_loss_sorted`` (``if
events.dtype is torch.bool: events = events.float()``, ``events.view(-1)``, ``gamma =
log_h.max()``, ``log_h.sub(gamma).exp().cumsum(0).add(eps).log().add(gamma)``, ``-
log_h.sub(log_cumsum_h).mul(events).sum().div(events.sum())``); torchsurv's partial
likelihood with ``torch.argsort(time)``, ``torch.logcumsumexp(log_hz_sorted.flip(0),
dim=0).flip(0)`` and the event mask ``log_hz_sorted[event_sorted] -
log_denominator[event_sorted]``; DeepSurv.pytorch's ``DeepSurv`` (``layers.append(eval(
'nn.{}()'.format(self.activation)))``, ``nn.BatchNorm1d`` after each ``nn.Linear``,
``nn.Sequential(*layers)``), its ``Regularization`` (``for name, w in
model.named_parameters(): if 'weight' in name: reg_loss = reg_loss + torch.norm(w,
p=self.order)``) and the quadratic ``NegativeLogLikelihood`` (``mask = torch.ones(
y.shape[0], y.shape[0])``, ``mask[(y.T - y) > 0] = 0``, ``torch.sum(log_loss, dim=0) /
torch.sum(mask, dim=0)``, ``torch.log(log_loss).reshape(-1, 1)``); the self-normalising
variant (``nn.SELU()`` with ``nn.AlphaDropout(p)``, ``lecun_normal`` as
``nn.init.kaiming_normal_(w, nonlinearity='linear')``) evaluated in ``model.eval()``; the
concordance index as tensor ops (``time.unsqueeze(1) < time.unsqueeze(0)``, ``&
event.unsqueeze(1)``, ties in risk counted one half with ``torch.where``); pycox's
``compute_baseline_hazards`` shape (Breslow: ``groupby`` duration as ``torch.unique(
return_inverse=True)`` and ``index_add_``); and ``optim.Adam(..., weight_decay=...)`` with
``lr_scheduler.ExponentialLR``.

Changed: sizes (24 subjects, 5 covariates, hidden 8) and a NumPy simulation of exponential
survival times with random censoring instead of the METABRIC / SUPPORT sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["make_model", "run"]

N, IN_FEATURES, HIDDEN, STEPS = 24, 5, 8, 5


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class DeepSurv(nn.Module):
        """The module class performs building network according to config"""

        def __init__(self, config: dict) -> None:
            super().__init__()
            self.drop = config["drop"]
            self.norm = config["norm"]
            self.dims = config["dims"]
            self.activation = config["activation"]
            self.model = self._build_network()

        def _build_network(self) -> Any:
            layers = []
            for i in range(len(self.dims) - 1):
                if i and self.drop is not None:  # adds dropout layer
                    layers.append(
                        nn.AlphaDropout(self.drop)
                        if self.activation == "SELU"
                        else nn.Dropout(self.drop)
                    )
                layers.append(nn.Linear(self.dims[i], self.dims[i + 1]))
                if self.norm and i < len(self.dims) - 2:  # adds batchnormalize layer
                    layers.append(nn.BatchNorm1d(self.dims[i + 1]))
                if i < len(self.dims) - 2:
                    layers.append(eval("nn.{}()".format(self.activation)))  # noqa: S307, UP032
            return nn.Sequential(*layers)

        def forward(self, X: Any) -> Any:
            return self.model(X)

    relu_net = DeepSurv(
        {"drop": None, "norm": True, "dims": [IN_FEATURES, HIDDEN, HIDDEN, 1], "activation": "ReLU"}
    )
    selu_net = DeepSurv(
        {"drop": 0.2, "norm": False, "dims": [IN_FEATURES, HIDDEN, 1], "activation": "SELU"}
    )
    for m in selu_net.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="linear")
    return nn.ModuleDict({"deepsurv": relu_net, "snn": selu_net})


def cox_ph_loss_sorted(torch_like: Any, log_h: Any, events: Any, eps: float = 1e-7) -> Any:
    torch = torch_like
    if events.dtype is torch.bool:
        events = events.float()
    events = events.view(-1)
    log_h = log_h.view(-1)
    gamma = log_h.max()
    log_cumsum_h = log_h.sub(gamma).exp().cumsum(0).add(eps).log().add(gamma)
    return -log_h.sub(log_cumsum_h).mul(events).sum().div(events.sum())


def cox_ph_loss(torch_like: Any, log_h: Any, durations: Any, events: Any, eps: float = 1e-7) -> Any:
    idx = durations.sort(descending=True)[1]
    events = events[idx]
    log_h = log_h[idx]
    return cox_ph_loss_sorted(torch_like, log_h, events, eps)


def torchsurv_neg_partial_log_likelihood(
    torch_like: Any, log_hz: Any, event: Any, time: Any
) -> Any:
    torch = torch_like
    idx = torch.argsort(time)
    log_hz_sorted = log_hz.squeeze(-1)[idx]
    event_sorted = event[idx]
    log_denominator = torch.logcumsumexp(log_hz_sorted.flip(0), dim=0).flip(0)
    pll = log_hz_sorted[event_sorted] - log_denominator[event_sorted]
    return -torch.nanmean(pll)


class Regularization:
    def __init__(self, order: int, weight_decay: float) -> None:
        self.order = order
        self.weight_decay = weight_decay

    def __call__(self, torch_like: Any, model: Any) -> Any:
        reg_loss = 0
        for name, w in model.named_parameters():
            if "weight" in name:
                reg_loss = reg_loss + torch_like.norm(w, p=self.order)
        return self.weight_decay * reg_loss


def deepsurv_nll(torch_like: Any, risk_pred: Any, y: Any, e: Any, model: Any) -> Any:
    torch = torch_like
    mask = torch.ones(y.shape[0], y.shape[0])
    mask[(y.T - y) > 0] = 0
    log_loss = torch.exp(risk_pred) * mask
    log_loss = torch.sum(log_loss, dim=0) / torch.sum(mask, dim=0)
    log_loss = torch.log(log_loss).reshape(-1, 1)
    neg_log_loss = -torch.sum((risk_pred - log_loss) * e) / torch.sum(e)
    l2_loss = Regularization(order=2, weight_decay=1e-3)(torch, model)
    return neg_log_loss + l2_loss


def concordance_index(torch_like: Any, risk: Any, time: Any, event: Any) -> Any:
    """Harrell's C: among comparable pairs (i had the event before j's time), the fraction
    where i's risk is higher; ties in risk count one half."""
    torch = torch_like
    risk = risk.view(-1)
    comparable = (time.unsqueeze(1) < time.unsqueeze(0)) & event.unsqueeze(1)
    concordant = (risk.unsqueeze(1) > risk.unsqueeze(0)).to(risk.dtype)
    tied = (risk.unsqueeze(1) == risk.unsqueeze(0)).to(risk.dtype)
    score = torch.where(comparable, concordant + 0.5 * tied, torch.zeros_like(concordant))
    return score.sum() / comparable.sum()


def breslow_baseline(torch_like: Any, log_h: Any, durations: Any, events: Any) -> Any:
    """pycox's ``_compute_baseline_hazards``: events per unique time over the risk set's sum."""
    torch = torch_like
    times, inverse = torch.unique(durations, sorted=True, return_inverse=True)
    n_events = torch.zeros(times.shape[0]).index_add_(0, inverse, events.to(log_h.dtype))
    exp_h = torch.zeros(times.shape[0]).index_add_(0, inverse, log_h.view(-1).exp())
    at_risk = exp_h.flip(0).cumsum(0).flip(0)
    return (n_events / at_risk).cumsum(0)


def simulate(rng: np.random.Generator, n: int) -> tuple:
    x = rng.standard_normal((n, IN_FEATURES))
    beta = np.array([0.8, -0.5, 0.3, 0.0, 0.2])
    t = rng.exponential(np.exp(-(x @ beta)))
    c = rng.exponential(1.5, n)
    time = (
        np.minimum(t, c) + 0.01
    )  # continuous: no ties (torch's unstable sort orders them its own way)
    event = t <= c
    return x, time, event


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    models = make_model(torch_like)
    models.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    rng = np.random.default_rng(5)
    values: list[float] = []

    model = models["deepsurv"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    for _step in range(STEPS):
        x, t, e = simulate(rng, N)
        X = as_tensor(torch_like, x)
        durations = as_tensor(torch_like, t)
        events = as_tensor(torch_like, e)
        model.train()
        log_h = model(X)
        loss = cox_ph_loss(torch, log_h, durations, events)
        other = torchsurv_neg_partial_log_likelihood(torch, log_h, events, durations)
        y = durations.reshape(-1, 1)
        quad = deepsurv_nll(torch, log_h, y, events.float().reshape(-1, 1), model)
        optimizer.zero_grad()
        (loss + 0.5 * quad).backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), other.item(), quad.item(), scheduler.get_last_lr()[0]]

    model.eval()
    x, t, e = simulate(rng, N)
    X, durations, events = (
        as_tensor(torch_like, x),
        as_tensor(torch_like, t),
        as_tensor(torch_like, e),
    )
    with torch.no_grad():
        risk = model(X)
    values += [concordance_index(torch, risk, durations, events).item()]
    grouped = torch.round(durations, decimals=1)  # Breslow's grouping by tied times
    values += breslow_baseline(torch, risk, grouped, events)[-3:].tolist()
    values += [float(model.model[1].num_batches_tracked.item())]
    values += model.model[1].running_mean.tolist()

    snn = models["snn"]
    snn_opt = torch.optim.Adam(snn.parameters(), lr=5e-3)
    snn.eval()  # AlphaDropout is the identity in evaluation
    for _step in range(2):
        log_h = snn(X)
        loss = cox_ph_loss(torch, log_h, durations, events)
        snn_opt.zero_grad()
        loss.backward()
        snn_opt.step()
        values.append(loss.item())
    with torch.no_grad():
        h = snn.model[1](snn.model[0](X))
        values += [float(torch.equal(snn.model[2](h), h)), h.mean().item(), h.std().item()]
        snn.train()
        torch.manual_seed(0)
        dropped = snn.model[2](h)
        values += [*dropped.shape, float(not torch.equal(dropped, h))]
    snn.eval()
    values += [concordance_index(torch, snn(X).detach(), durations, events).item()]
    return values
