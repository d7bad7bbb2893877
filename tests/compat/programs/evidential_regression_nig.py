"""aamini/evidential-deep-learning (Deep Evidential Regression, NeurIPS 2020), in the PyTorch
form its ports write ``evidential_deep_learning/layers/dense.py`` (``DenseNormalGamma``),
``losses/continuous.py`` (``NIG_NLL``, ``NIG_Reg``, ``EvidentialRegression``) and
``hello_world.py``, size-reduced: ``DenseNormalGamma`` (one ``nn.Linear(in, 4 * units)``, the
output split into ``mu, logv, logalpha, logbeta`` with ``torch.split(output, self.units,
dim=-1)``, ``F.softplus`` evidence, ``alpha = self.evidence(logalpha) + 1``, ``torch.cat([mu, v,
alpha, beta], dim=-1)``); ``NIG_NLL`` (``twoBlambda = 2 * beta * (1 + v)``, ``0.5 *
torch.log(np.pi / v)``, ``(alpha + 0.5) * torch.log(v * (y - gamma) ** 2 + twoBlambda)``,
``torch.lgamma(alpha) - torch.lgamma(alpha + 0.5)``, ``torch.mean`` when ``reduce``);
``NIG_Reg`` (``torch.abs(y - gamma) * (2 * v + alpha)``); ``EvidentialRegression(y_true,
evidential_output, coeff)`` unpacking with ``torch.split(evidential_output, 1, dim=-1)``;
the cubic ``hello_world`` data (``x ** 3`` plus noise, train on ``[-4, 4]``, test on ``[-6,
6]``), an ``Adam(lr=5e-3)`` loop, and the predictive uncertainties ``beta / (alpha - 1)``
(aleatoric) and ``beta / (v * (alpha - 1))`` (epistemic); the Student-t predictive as
``torch.distributions.StudentT(2 * alpha, gamma, torch.sqrt(beta * (1 + v) / (v * alpha)))``.

Changed: 1000 training points -> 32 (seeded NumPy), hidden width 64 -> 8, 500 epochs -> 6
full-batch steps; ``coeff`` 1e-2 as in ``hello_world.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state


def _classes(torch_like: Any) -> tuple[type, type]:
    nn, F = torch_like.nn, torch_like.nn.functional
    torch = torch_like

    class DenseNormalGamma(nn.Module):
        def __init__(self, in_features: int, units: int) -> None:
            super().__init__()
            self.units = int(units)
            self.dense = nn.Linear(in_features, 4 * self.units)

        def evidence(self, x: Any) -> Any:
            # return tf.exp(x)
            return F.softplus(x)

        def forward(self, x: Any) -> Any:
            output = self.dense(x)
            mu, logv, logalpha, logbeta = torch.split(output, self.units, dim=-1)
            v = self.evidence(logv)
            alpha = self.evidence(logalpha) + 1
            beta = self.evidence(logbeta)
            return torch.cat([mu, v, alpha, beta], dim=-1)

        def extra_repr(self) -> str:
            return f"units={self.units}"

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(1, 8),
                nn.ReLU(),
                nn.Linear(8, 8),
                nn.ReLU(),
                DenseNormalGamma(8, 1),
            )

        def forward(self, x: Any) -> Any:
            return self.model(x)

    return DenseNormalGamma, Net


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)[1]()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like

    def NIG_NLL(y, gamma, v, alpha, beta, reduce=True):  # noqa: ANN001, ANN202, N802
        twoBlambda = 2 * beta * (1 + v)  # noqa: N806

        nll = (
            0.5 * torch.log(np.pi / v)
            - alpha * torch.log(twoBlambda)
            + (alpha + 0.5) * torch.log(v * (y - gamma) ** 2 + twoBlambda)
            + torch.lgamma(alpha)
            - torch.lgamma(alpha + 0.5)
        )

        return torch.mean(nll) if reduce else nll

    def NIG_Reg(y, gamma, v, alpha, beta, omega=0.01, reduce=True, kl=False):  # noqa: ANN001, ANN202, N802
        # error = tf.stop_gradient(tf.abs(y-gamma))
        error = torch.abs(y - gamma)

        evi = 2 * v + alpha
        reg = error * evi

        return torch.mean(reg) if reduce else reg

    def EvidentialRegression(y_true, evidential_output, coeff=1.0):  # noqa: ANN001, ANN202, N802
        gamma, v, alpha, beta = torch.split(evidential_output, 1, dim=-1)
        loss_nll = NIG_NLL(y_true, gamma, v, alpha, beta)
        loss_reg = NIG_Reg(y_true, gamma, v, alpha, beta)
        return loss_nll + coeff * loss_reg

    def my_data(x_min, x_max, n, train=True):  # noqa: ANN001, ANN202
        x = np.linspace(x_min, x_max, n)
        x = np.expand_dims(x, -1).astype(np.float64)
        sigma = 3 * np.ones_like(x) if train else np.zeros_like(x)
        y = x**3 + rng.normal(0, sigma).astype(np.float64)
        return x, y

    rng = np.random.default_rng(0)
    x_train, y_train = my_data(-4, 4, 32)
    x_test, y_test = my_data(-6, 6, 12, train=False)
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train / 10.0)
    x_test = torch.from_numpy(x_test)

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    values: list[float] = []
    for _step in range(6):
        optimizer.zero_grad()
        loss = EvidentialRegression(y_train, model(x_train), coeff=1e-2)
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    with torch.no_grad():
        y_pred = model(x_test)
    mu, v, alpha, beta = torch.split(y_pred, 1, dim=-1)
    mu = mu[:, 0]
    var = torch.sqrt(beta / (v * (alpha - 1)))
    var = torch.minimum(var, torch.tensor(1e3))[:, 0]  # for visualization
    aleatoric = (beta / (alpha - 1))[:, 0]
    values += mu.tolist() + var.tolist() + aleatoric.tolist()
    student = torch.distributions.StudentT(2 * alpha, mu[:, None],
                                           torch.sqrt(beta * (1 + v) / (v * alpha)))  # fmt: skip
    values += student.log_prob(torch.from_numpy(y_test / 10.0)).squeeze(-1).tolist()
    per_point = NIG_NLL(y_train, *torch.split(model(x_train), 1, dim=-1), reduce=False)
    values += [per_point.shape[0], per_point.sum().item()]
    return values
