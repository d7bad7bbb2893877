"""The PyTorch "Deep Learning for NLP with PyTorch" tutorials (``beginner/nlp/``), size-reduced:
from "Deep Learning with PyTorch", the ``BoWClassifier`` (``nn.Linear(vocab_size, num_labels)``,
``F.log_softmax(self.linear(bow_vec), dim=1)``), ``make_bow_vector``
(``torch.zeros(len(word_to_ix))`` filled by ``vec[word_to_ix[word]] += 1``, ``vec.view(1, -1)``),
``make_target``
(``torch.LongTensor([label_to_ix[label]])``), ``next(model.parameters())``, the log probs before
and after training under ``torch.no_grad()``, and ``model.zero_grad()`` / ``nn.NLLLoss()`` /
``optim.SGD(lr=0.1)``; and from "Word Embeddings: Encoding Lexical Semantics", the
``NGramLanguageModeler`` (``nn.Embedding``, ``self.embeddings(inputs).view((1, -1))``, two
``nn.Linear``s, ``log_softmax``) trained on trigrams of the Shakespeare sonnet
(``torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)``, ``total_loss +=
loss.item()``), and ``model.embeddings.weight[word_to_ix["beauty"]]``.

Sizes: the sonnet cut to its first two lines, 100 epochs -> 3 (BoW) and 10 -> 3 (n-gram), the
n-gram embedding 10 -> 6 and hidden 128 -> 16. The initial weights come from NumPy
(``init_state``) because the program builds two models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

DTYPE = "float32"

data = [
    ("me gusta comer en la cafeteria".split(), "SPANISH"),
    ("Give it to me".split(), "ENGLISH"),
    ("No creo que sea una buena idea".split(), "SPANISH"),
    ("No it is not a good idea to get lost at sea".split(), "ENGLISH"),
]
test_data = [
    ("Yo creo que si".split(), "SPANISH"),
    ("it is lost on me".split(), "ENGLISH"),
]

# word_to_ix maps each word in the vocab to a unique integer, which will be its
# index into the Bag of words vector
word_to_ix: dict[str, int] = {}
for sent, _ in data + test_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
VOCAB_SIZE = len(word_to_ix)
NUM_LABELS = 2
label_to_ix = {"SPANISH": 0, "ENGLISH": 1}

CONTEXT_SIZE = 2
EMBEDDING_DIM = 6
# We will use Shakespeare Sonnet 2
test_sentence = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,""".split()
# we should tokenize the input, but we will ignore that for now
# build a list of tuples.
# Each tuple is ([ word_i-CONTEXT_SIZE, ..., word_i-1 ], target word)
ngrams = [
    ([test_sentence[i - j - 1] for j in range(CONTEXT_SIZE)], test_sentence[i])
    for i in range(CONTEXT_SIZE, len(test_sentence))
]
vocab = sorted(set(test_sentence))  # set order varies between runs; sorted keeps it fixed
ngram_word_to_ix = {word: i for i, word in enumerate(vocab)}


def init_state(tmp_path: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "bow.linear.weight": rng.uniform(-0.2, 0.2, (NUM_LABELS, VOCAB_SIZE)),
        "bow.linear.bias": rng.uniform(-0.2, 0.2, NUM_LABELS),
        "ngram.embeddings.weight": rng.standard_normal((len(vocab), EMBEDDING_DIM)),
        "ngram.linear1.weight": rng.uniform(-0.3, 0.3, (16, CONTEXT_SIZE * EMBEDDING_DIM)),
        "ngram.linear1.bias": rng.uniform(-0.3, 0.3, 16),
        "ngram.linear2.weight": rng.uniform(-0.25, 0.25, (len(vocab), 16)),
        "ngram.linear2.bias": rng.uniform(-0.25, 0.25, len(vocab)),
    }


def _load(torch_like: Any, model: Any, init: dict[str, np.ndarray], prefix: str) -> None:
    model.load_state_dict(
        {
            k[len(prefix) :]: torch_like.tensor(v.astype(np.float32))
            for k, v in init.items()
            if k.startswith(prefix)
        }
    )


def _bow(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional

    class BoWClassifier(nn.Module):  # inheriting from nn.Module!
        def __init__(self, num_labels: int, vocab_size: int) -> None:
            # calls the init function of nn.Module.  Dont get confused by syntax,
            # just always do it in an nn.Module
            super(BoWClassifier, self).__init__()  # noqa: UP008 (as in the tutorial)

            # Define the parameters that you will need.  In this case, we need A and b,
            # the parameters of the affine mapping.
            # Torch defines nn.Linear(), which provides the affine map.
            # Make sure you understand why the input dimension is vocab_size
            # and the output is num_labels!
            self.linear = nn.Linear(vocab_size, num_labels)

            # NOTE! The non-linearity log softmax does not have parameters! So we don't need
            # to worry about that here

        def forward(self, bow_vec: Any) -> Any:
            # Pass the input through the linear layer,
            # then pass that through log_softmax.
            # Many non-linearities and other functions are in torch.nn.functional
            return F.log_softmax(self.linear(bow_vec), dim=1)

    def make_bow_vector(sentence: list[str], word_to_ix: dict[str, int]) -> Any:
        vec = torch.zeros(len(word_to_ix))
        for word in sentence:
            vec[word_to_ix[word]] += 1
        return vec.view(1, -1)

    def make_target(label: str, label_to_ix: dict[str, int]) -> Any:
        return torch.LongTensor([label_to_ix[label]])

    model = BoWClassifier(NUM_LABELS, VOCAB_SIZE)
    _load(torch_like, model, init, "bow.")
    values = [next(model.parameters()).sum().item()]

    # Run on test data before we train, just to see a before-and-after
    with torch.no_grad():
        for instance, _label in test_data:
            bow_vec = make_bow_vector(instance, word_to_ix)
            log_probs = model(bow_vec)
            values += log_probs.flatten().tolist()

    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    # Usually you want to pass over the training data several times.
    for _epoch in range(3):
        for instance, label in data:
            # Step 1. Remember that PyTorch accumulates gradients.
            # We need to clear them out before each instance
            model.zero_grad()

            # Step 2. Make our BOW vector and also we must wrap the target in a
            # Tensor as an integer.
            bow_vec = make_bow_vector(instance, word_to_ix)
            target = make_target(label, label_to_ix)

            # Step 3. Run our forward pass.
            log_probs = model(bow_vec)

            # Step 4. Compute the loss, gradients, and update the parameters by
            # calling optimizer.step()
            loss = loss_function(log_probs, target)
            loss.backward()
            optimizer.step()
            values.append(loss.item())

    with torch.no_grad():
        for instance, _label in test_data:
            bow_vec = make_bow_vector(instance, word_to_ix)
            log_probs = model(bow_vec)
            values += log_probs.flatten().tolist()

    # Index corresponding to Spanish goes up, English goes down!
    values += next(model.parameters())[:, word_to_ix["creo"]].tolist()
    return values


def _ngram(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional

    class NGramLanguageModeler(nn.Module):
        def __init__(self, vocab_size: int, embedding_dim: int, context_size: int) -> None:
            super(NGramLanguageModeler, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.linear1 = nn.Linear(context_size * embedding_dim, 16)
            self.linear2 = nn.Linear(16, vocab_size)

        def forward(self, inputs: Any) -> Any:
            embeds = self.embeddings(inputs).view((1, -1))
            out = F.relu(self.linear1(embeds))
            out = self.linear2(out)
            log_probs = F.log_softmax(out, dim=1)
            return log_probs

    losses = []
    loss_function = nn.NLLLoss()
    model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
    _load(torch_like, model, init, "ngram.")
    optimizer = optim.SGD(model.parameters(), lr=0.001 * 50)

    for _epoch in range(3):
        total_loss = 0
        for context, target in ngrams:
            # Step 1. Prepare the inputs to be passed to the model (i.e, turn the words
            # into integer indices and wrap them in tensors)
            context_idxs = torch.tensor([ngram_word_to_ix[w] for w in context], dtype=torch.long)

            # Step 2. Recall that torch *accumulates* gradients. Before passing in a
            # new instance, you need to zero out the gradients from the old
            # instance
            model.zero_grad()

            # Step 3. Run the forward pass, getting log probabilities over next
            # words
            log_probs = model(context_idxs)

            # Step 4. Compute your loss function. (Again, Torch wants the target
            # word wrapped in a tensor)
            loss = loss_function(
                log_probs, torch.tensor([ngram_word_to_ix[target]], dtype=torch.long)
            )

            # Step 5. Do the backward pass and update the gradient
            loss.backward()
            optimizer.step()

            # Get the Python number from a 1-element Tensor by calling tensor.item()
            total_loss += loss.item()
        losses.append(total_loss)

    # To get the embedding of a particular word, e.g. "beauty"
    values = losses + model.embeddings.weight[ngram_word_to_ix["beauty's"]].tolist()
    return values


def run(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    return _bow(torch_like, init) + _ngram(torch_like, init)
