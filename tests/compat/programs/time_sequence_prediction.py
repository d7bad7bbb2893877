"""pytorch/examples ``time_sequence_prediction`` (``train.py`` and ``generate_sine_wave.py``),
size-reduced: two stacked ``nn.LSTMCell``s and a ``nn.Linear`` unrolled by hand over
``input.split(1, dim=1)``, state initialised with ``torch.zeros(..., dtype=torch.double)``,
``seq.double()``, ``optim.LBFGS(lr=0.8)`` stepped with a closure, and a ``no_grad`` prediction of
``future`` extra steps fed back from the model's own output, read out with ``.detach().numpy()``.

Sizes: hidden 51 -> 6, 100 waves of length 1000 -> 6 waves of length 10, 15 steps -> 2,
``future`` 1000 -> 3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HIDDEN, T, L, N = 6, 20, 10, 6
FUTURE = 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Sequence(nn.Module):
        def __init__(self) -> None:
            super(Sequence, self).__init__()  # noqa: UP008 (as in the example)
            self.lstm1 = nn.LSTMCell(1, HIDDEN)
            self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
            self.linear = nn.Linear(HIDDEN, 1)

        def forward(self, input: Any, future: int = 0) -> Any:
            outputs = []
            h_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
            c_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)

            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _i in range(future):  # if we should predict the future
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            outputs = torch.cat(outputs, dim=1)
            return outputs

    return Sequence()


def _sine_waves() -> np.ndarray:
    """``generate_sine_wave.py``: shifted sine waves (float64, as the example saves them)."""
    rs = np.random.RandomState(2)
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + rs.randint(-4 * T, 4 * T, N).reshape(N, 1)
    return np.sin(x / 1.0 / T).astype("float64")


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    data = _sine_waves()
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    # build the model
    seq = make_model(torch_like)
    seq.double()
    if init is not None:
        seq.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    criterion = nn.MSELoss()
    # use LBFGS as optimizer since we can load the whole data to train
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    values = []
    # begin to train
    for _i in range(2):

        def closure() -> Any:
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            values.append(loss.item())  # noqa: B023 (the example defines closure in the loop)
            loss.backward()
            return loss

        optimizer.step(closure)
        # begin to predict, no need to track gradient here
        with torch.no_grad():
            future = FUTURE
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            values.append(loss.item())
            y = pred.detach().numpy()
        values += list(y[:, -future:].ravel())
    return values
