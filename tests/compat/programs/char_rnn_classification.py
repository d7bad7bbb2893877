"""The PyTorch "NLP From Scratch: Classifying Names with a Character-Level RNN" tutorial
(``intermediate/char_rnn_classification_tutorial``, the classic hand-written-RNN version),
size-reduced: ``unicodeToAscii`` (``unicodedata.normalize('NFD', ...)``), ``letterToIndex`` and
``lineToTensor`` (one-hot ``torch.zeros(len(line), 1, n_letters)`` filled by chained indexing
``tensor[li][0][letterToIndex(letter)] = 1``), the ``RNN`` module (``torch.cat((input, hidden),
1)``, ``i2h``, ``h2o``, ``nn.LogSoftmax(dim=1)``, ``initHidden``), ``categoryFromOutput``
(``output.topk(1)``, ``top_i[0].item()``), ``train`` (``rnn.zero_grad()``, a loop over
``line_tensor.size()[0]``, ``nn.NLLLoss``, the manual SGD update
``p.data.add_(p.grad.data, alpha=-learning_rate)``), the confusion matrix
(``confusion[category_i][guess_i] += 1``, ``confusion[i] = confusion[i] / confusion[i].sum()``)
and ``predict`` (``output.topk(n_predictions, 1, True)``, ``topv[0][i].item()``).

The data/names/*.txt files are replaced by a dozen names per language written here; training
examples are drawn with a seeded ``random.Random`` instead of ``random.choice`` on the global
generator; n_hidden 128 -> 10, n_iters 100000 -> 120.
"""

from __future__ import annotations

import random
import string
import unicodedata
from typing import Any

from ._common import load_numpy_state

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)

category_lines = {
    "English": ["Smith", "Brown", "Taylor", "Wilson", "Walker", "Wright"],
    "French": ["Dubois", "Lefèvre", "Moreau", "Girard", "Bélanger", "Rousseau"],
    "Japanese": ["Satō", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Itō"],
    "Polish": ["Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)
n_hidden = 10


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

            self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input: Any, hidden: Any) -> tuple[Any, Any]:
            combined = torch.cat((input, hidden), 1)
            hidden = self.i2h(combined)
            output = self.h2o(hidden)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self) -> Any:
            return torch.zeros(1, self.hidden_size)

    return RNN(n_letters, n_hidden, n_categories)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    lines = {c: [unicodeToAscii(n) for n in names] for c, names in category_lines.items()}

    # Find letter index from all_letters, e.g. "a" = 0
    def letterToIndex(letter: str) -> int:
        return all_letters.find(letter)

    # Turn a line into a <line_length x 1 x n_letters>,
    # or an array of one-hot letter vectors
    def lineToTensor(line: str) -> Any:
        tensor = torch.zeros(len(line), 1, n_letters)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    rnn = make_model(torch_like)
    load_numpy_state(torch_like, rnn, init)

    def categoryFromOutput(output: Any) -> tuple[str, int]:
        top_n, top_i = output.topk(1)
        category_i = top_i[0].item()
        return all_categories[category_i], category_i

    rand = random.Random(0)

    def randomChoice(seq: list) -> Any:
        return seq[rand.randint(0, len(seq) - 1)]

    def randomTrainingExample() -> tuple[str, str, Any, Any]:
        category = randomChoice(all_categories)
        line = randomChoice(lines[category])
        category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
        line_tensor = lineToTensor(line)
        return category, line, category_tensor, line_tensor

    criterion = nn.NLLLoss()
    learning_rate = (
        0.05  # If you set this too high, it might explode. If too low, it might not learn
    )

    def train(category_tensor: Any, line_tensor: Any) -> tuple[Any, float]:
        hidden = rnn.initHidden()

        rnn.zero_grad()

        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)

        loss = criterion(output, category_tensor)
        loss.backward()

        # Add parameters' gradients to their values, multiplied by learning rate
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)

        return output, loss.item()

    n_iters, plot_every = 120, 20
    current_loss = 0
    all_losses = []
    correct = []
    for iter in range(1, n_iters + 1):
        category, line, category_tensor, line_tensor = randomTrainingExample()
        output, loss = train(category_tensor, line_tensor)
        current_loss += loss
        guess, guess_i = categoryFromOutput(output)
        correct.append(float(guess == category))
        # Add current loss avg to list of losses
        if iter % plot_every == 0:
            all_losses.append(current_loss / plot_every)
            current_loss = 0

    # Keep track of correct guesses in a confusion matrix
    confusion = torch.zeros(n_categories, n_categories)
    n_confusion = 40

    # Just return an output given a line
    def evaluate(line_tensor: Any) -> Any:
        hidden = rnn.initHidden()

        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)

        return output

    # Go through a bunch of examples and record which are correctly guessed
    for _i in range(n_confusion):
        category, line, category_tensor, line_tensor = randomTrainingExample()
        output = evaluate(line_tensor)
        guess, guess_i = categoryFromOutput(output)
        category_i = all_categories.index(category)
        confusion[category_i][guess_i] += 1

    # Normalize by dividing every row by its sum
    for i in range(n_categories):
        confusion[i] = confusion[i] / confusion[i].sum()

    predictions_out = []

    def predict(input_line: str, n_predictions: int = 3) -> None:
        print(f"\n> {input_line}")
        with torch.no_grad():
            output = evaluate(lineToTensor(input_line))

            # Get top N categories
            topv, topi = output.topk(n_predictions, 1, True)
            predictions = []

            for i in range(n_predictions):
                value = topv[0][i].item()
                category_index = topi[0][i].item()
                print(f"({value:.2f}) {all_categories[category_index]}")
                predictions.append([value, all_categories[category_index]])
        predictions_out.extend(p[0] for p in predictions)
        predictions_out.extend(float(all_categories.index(p[1])) for p in predictions)

    predict("Dovesky")
    predict("Jackson")
    predict("Satoshi")
    return [*all_losses, sum(correct), *confusion.flatten().tolist(), *predictions_out]
