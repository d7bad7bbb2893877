"""The PyTorch tutorial "NLP From Scratch: Generating Names with a Character-Level RNN"
(``intermediate/char_rnn_generation_tutorial``), size-reduced.

The idioms: ``all_letters = string.ascii_letters + " .,;'-"`` with ``n_letters =
len(all_letters) + 1`` (the EOS marker); ``unicodeToAscii``; the ``RNN`` module conditioned on
the category (``torch.cat((category, input, hidden), 1)``, ``i2h``/``i2o`` on the combination,
``o2o`` on ``torch.cat((hidden, output), 1)``, ``nn.Dropout(0.1)``, ``nn.LogSoftmax(dim=1)``,
``initHidden`` returning ``torch.zeros(1, self.hidden_size)``); ``categoryTensor``
(``tensor[0][li] = 1``), ``inputTensor`` (one-hot ``torch.zeros(len(line), 1, n_letters)``
with ``tensor[li][0][all_letters.find(letter)] = 1``) and ``targetTensor``
(``torch.LongTensor(letter_indexes)`` ending with the EOS index); ``train`` with
``target_line_tensor.unsqueeze_(-1)``, ``rnn.zero_grad()``, ``loss = torch.Tensor([0])``
accumulated by ``loss += l`` over ``nn.NLLLoss`` per character, ``loss.backward()`` and the
manual update ``p.data.add_(p.grad.data, alpha=-learning_rate)``, returning ``loss.item() /
input_line_tensor.size(0)``; ``timeSince`` (``math.floor``); the loss curve averaged every
``plot_every`` iterations; and ``sample``/``samples`` under ``torch.no_grad()``
(``output.topk(1)``, ``topi = topi[0][0]``, ``if topi == n_letters - 1: break``,
``all_letters[topi]`` indexing a ``str`` with a 0-d tensor, ``inputTensor(letter)``).

Changed: the data/names/*.txt files are replaced by a few names per language written here;
training pairs are drawn with a seeded ``random.Random`` (``randint`` as the tutorial's
``randomChoice``); n_hidden 128 -> 16, n_iters 100000 -> 60, learning rate 0.0005 -> 0.05, and
the dropout is switched off while the frameworks are compared (``rnn.dropout.p = 0.0``: their
random masks differ), then checked in ``eval()`` mode; the samples' letters are returned as
their indices.
"""

from __future__ import annotations

import math
import random
import string
import time
import unicodedata
from typing import Any

from ._common import load_numpy_state

all_letters = string.ascii_letters + " .,;'-"
n_letters = len(all_letters) + 1  # Plus EOS marker

category_lines = {
    "German": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker"],
    "Italian": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"],
    "Spanish": ["García", "Fernández", "López", "Martínez", "Sánchez", "Pérez"],
    "Russian": ["Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)
n_hidden = 16


# Turn a Unicode string to plain ASCII, thanks to https://stackoverflow.com/a/518232/2809427
def unicodeToAscii(s: str) -> str:
    return "".join(
        c
        for c in unicodedata.normalize("NFD", s)
        if unicodedata.category(c) != "Mn" and c in all_letters
    )


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class RNN(nn.Module):
        def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
            super(RNN, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.hidden_size = hidden_size

            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(0.1)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category: Any, input: Any, hidden: Any) -> tuple[Any, Any]:
            input_combined = torch.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = torch.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self) -> Any:
            return torch.zeros(1, self.hidden_size)

    return RNN(n_letters, n_hidden, n_letters)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    lines = {c: [unicodeToAscii(n) for n in names] for c, names in category_lines.items()}
    assert lines["German"][0] == "Muller" and lines["Spanish"][1] == "Fernandez"
    rng = random.Random(29)

    rnn = make_model(torch)
    load_numpy_state(torch, rnn, init)
    rnn.dropout.p = 0.0  # the frameworks' dropout masks differ; the module still runs

    # Random item from a list
    def randomChoice(lst: list) -> Any:
        return lst[rng.randint(0, len(lst) - 1)]

    # Get a random category and random line from that category
    def randomTrainingPair() -> tuple[str, str]:
        category = randomChoice(all_categories)
        line = randomChoice(lines[category])
        return category, line

    # One-hot vector for category
    def categoryTensor(category: str) -> Any:
        li = all_categories.index(category)
        tensor = torch.zeros(1, n_categories)
        tensor[0][li] = 1
        return tensor

    # One-hot matrix of first to last letters (not including EOS) for input
    def inputTensor(line: str) -> Any:
        tensor = torch.zeros(len(line), 1, n_letters)
        for li in range(len(line)):
            letter = line[li]
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    # ``LongTensor`` of second letter to end (EOS) for target
    def targetTensor(line: str) -> Any:
        letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
        letter_indexes.append(n_letters - 1)  # EOS
        return torch.LongTensor(letter_indexes)

    # Make category, input, and target tensors from a random category, line pair
    def randomTrainingExample() -> tuple[Any, Any, Any]:
        category, line = randomTrainingPair()
        category_tensor = categoryTensor(category)
        input_line_tensor = inputTensor(line)
        target_line_tensor = targetTensor(line)
        return category_tensor, input_line_tensor, target_line_tensor

    criterion = nn.NLLLoss()

    learning_rate = 0.05

    def train(category_tensor: Any, input_line_tensor: Any, target_line_tensor: Any) -> Any:
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.initHidden()

        rnn.zero_grad()

        loss = torch.Tensor([0])  # you can also just simply use ``loss = 0``

        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
            l = criterion(output, target_line_tensor[i])  # noqa: E741 (the tutorial's name)
            loss += l

        loss.backward()

        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)

        return output, loss.item() / input_line_tensor.size(0)

    def timeSince(since: float) -> str:
        now = time.time()
        s = now - since
        m = math.floor(s / 60)
        s -= m * 60
        return "%dm %ds" % (m, s)  # noqa: UP031 (as in the tutorial)

    n_iters = 60
    print_every = 20
    plot_every = 10
    all_losses = []
    total_loss = 0  # Reset every ``plot_every`` ``iters``
    values: list[float] = []

    start = time.time()

    for iter in range(1, n_iters + 1):
        output, loss = train(*randomTrainingExample())
        total_loss += loss
        values.append(loss)

        if iter % print_every == 0:
            message = "%s (%d %d%%) %.4f" % (  # noqa: UP031 (as in the tutorial)
                timeSince(start),
                iter,
                iter / n_iters * 100,
                loss,
            )
            assert message.startswith("0m")

        if iter % plot_every == 0:
            all_losses.append(total_loss / plot_every)
            total_loss = 0
    values += all_losses
    values += output[0].tolist()

    max_length = 20

    # Sample from a category and starting letter
    def sample(category: str, start_letter: str = "A") -> str:
        with torch.no_grad():  # no need to track history in sampling
            category_tensor = categoryTensor(category)
            input = inputTensor(start_letter)
            hidden = rnn.initHidden()

            output_name = start_letter

            for _i in range(max_length):
                output, hidden = rnn(category_tensor, input[0], hidden)
                topv, topi = output.topk(1)
                topi = topi[0][0]
                if topi == n_letters - 1:
                    break
                else:
                    letter = all_letters[topi]
                    output_name += letter
                input = inputTensor(letter)

            return output_name

    # Get multiple samples from one category and multiple starting letters
    def samples(category: str, start_letters: str = "ABC") -> list[str]:
        return [sample(category, start_letter) for start_letter in start_letters]

    for category, starts in (("Russian", "RUS"), ("German", "GER"), ("Italian", "IT")):
        for name in samples(category, starts):
            values.append(float(len(name)))
            values += [float(all_letters.find(c)) for c in name]

    # the module in eval() mode: dropout (p restored) is the identity
    rnn.dropout.p = 0.1
    rnn.eval()
    with torch.no_grad():
        hidden = rnn.initHidden()
        output, hidden = rnn(categoryTensor("Spanish"), inputTensor("G")[0], hidden)
    values += output[0, :5].tolist()
    values.append(float(rnn.dropout.training))
    return values
