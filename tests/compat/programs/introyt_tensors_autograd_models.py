"""PyTorch's "Introduction to PyTorch - YouTube Series" tutorials (``beginner/introyt/``:
``tensors_deeper_tutorial.py``, ``autogradyt_tutorial.py``, ``modelsyt_tutorial.py`` and
``trainingyt.py``), size-reduced.

The idioms of the tensor tutorial: ``torch.empty(3, 4)``, the ``torch.manual_seed(1729)``
replays of ``torch.rand(2, 3)``, ``torch.empty_like``/``zeros_like``/``ones_like``/
``rand_like``, ``torch.tensor`` of nested tuples and lists, ``torch.ones((2, 3),
dtype=torch.int16)``, ``torch.rand((2, 3), dtype=torch.float64) * 20.`` and ``b.to(torch.int32)``;
arithmetic with scalars (``(torch.ones(2, 2) * 7 - 1) / 2``, ``twos ** 0.5``, ``twos **
torch.tensor([[1, 2], [3, 4]])``) and broadcasting (``a * torch.rand(3, 1)``); the common
functions (``torch.abs``/``ceil``/``floor``/``clamp``, ``torch.asin(torch.sin(angles))``,
``torch.bitwise_xor``, ``torch.eq(d, e)`` broadcast, ``torch.max(d).item()``, ``torch.std``,
``torch.prod``, ``torch.unique``, ``torch.linalg.cross``, ``torch.linalg.matmul``,
``torch.linalg.svd``); in-place ops (``a.sin_()``, ``a.add_(b)``, ``b.mul_(b)``) and ``out=``
(``d = torch.matmul(a, b, out=c)`` returning ``c`` itself, ``torch.rand(2, 2, out=c)``);
copying (``b = a`` aliasing, ``a.clone()``, ``a.detach().clone()``); shapes (``unsqueeze(0)``,
``squeeze(0)`` of a non-1 dimension, ``batch_me.unsqueeze_(0)``, ``output3d.reshape(6 * 20 *
20)``, ``torch.reshape(output3d, (6 * 20 * 20,))``); the NumPy bridge both ways
(``torch.from_numpy`` and ``.numpy()`` sharing memory). The autograd tutorial: ``torch.linspace(
0., 2. * math.pi, steps=25, requires_grad=True)``, ``d.grad_fn.next_functions`` walked to the
``AccumulateGrad`` leaf, ``out.backward()``; ``TinyModel`` trained with
``(ideal_output - prediction).pow(2).sum()``, gradients accumulating over five backward passes
and ``optimizer.zero_grad(set_to_none=False)``; ``a.requires_grad = False``, ``torch.no_grad()``
and the ``@torch.no_grad()`` decorator, ``x.detach()``; ``torch.sin_(a)`` on a leaf raising
"a leaf Variable that requires grad is being used in an in-place operation."; ``y.backward(v)``
after ``while y.data.norm() < 1000: y = y * 2``; ``torch.autograd.functional.jacobian(
exp_adder, inputs)`` and ``torch.autograd.functional.vjp(do_some_doubling, inputs,
v=my_gradients)``. The models tutorial: ``LeNet``'s ``num_flat_features`` (``x.size()[1:]``),
``lin = torch.nn.Linear(3, 2)`` with ``for param in lin.parameters()``, the ``LSTMTagger``
(``lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))``, ``F.log_softmax(tag_space,
dim=1)``), ``torch.nn.MaxPool2d(3)``, ``torch.nn.BatchNorm1d(4)`` on ``torch.rand(1, 4, 4) * 20 +
5``, ``torch.nn.Dropout(p=0.4)``. The training tutorial: ``GarmentClassifier``, ``train_one_epoch``
(``running_loss += loss.item()``, ``last_loss = running_loss / 1000`` every 1000 batches) and
the validation loop (``avg_vloss = running_vloss / (i + 1)``).

Changed: the sizes (``3 x 226 x 226`` images -> ``3 x 6 x 6``; ``DIM_IN`` 1000 -> 20;
Fashion-MNIST 28x28 -> 16 seeded 1x28x28 NumPy images in batches of 4, the 1000-batch report
-> every 2 batches); the prints are the returned values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DTYPE = "float32"


def init_state(tmp_path: Any) -> None:
    """No shared state: the tutorial draws everything from ``torch.manual_seed``."""
    return None


def _tensors(torch_like: Any, out: list) -> None:
    torch = torch_like
    x = torch.empty(3, 4)
    out += [x.shape[0] * x.shape[1], int(type(x) is torch.Tensor)]
    zeros = torch.zeros(2, 3)
    ones = torch.ones(2, 3)
    torch.manual_seed(1729)
    random = torch.rand(2, 3)
    out += [zeros.sum().item(), ones.sum().item(), random.sum().item()]
    torch.manual_seed(1729)
    random1 = torch.rand(2, 3)
    random2 = torch.rand(2, 3)
    torch.manual_seed(1729)
    random3 = torch.rand(2, 3)
    random4 = torch.rand(2, 3)
    out += [int(torch.equal(random1, random3)), int(torch.equal(random2, random4))]
    x = torch.empty(2, 2, 3)
    empty_like_x = torch.empty_like(x)
    zeros_like_x = torch.zeros_like(x)
    ones_like_x = torch.ones_like(x)
    rand_like_x = torch.rand_like(x)
    out += [empty_like_x.shape[2], zeros_like_x.sum().item(), ones_like_x.sum().item(),
            rand_like_x.sum().item()]  # fmt: skip
    some_constants = torch.tensor([[3.1415926, 2.71828], [1.61803, 0.0072897]])
    some_integers = torch.tensor((2, 3, 5, 7, 11, 13, 17, 19))
    more_integers = torch.tensor(((2, 4, 6), [3, 6, 9]))
    out += [some_constants.sum().item(), some_integers.sum().item(), more_integers.sum().item()]
    a = torch.ones((2, 3), dtype=torch.int16)
    b = torch.rand((2, 3), dtype=torch.float64) * 20.0
    c = b.to(torch.int32)
    out += [str(a.dtype) == "torch.int16", b.sum().item(), c.sum().item()]

    ones = torch.zeros(2, 2) + 1
    twos = torch.ones(2, 2) * 2
    threes = (torch.ones(2, 2) * 7 - 1) / 2
    fours = twos**2
    sqrt2s = twos**0.5
    powers2 = twos ** torch.tensor([[1, 2], [3, 4]])
    fives = ones + fours
    dozens = threes * fours
    out += [t.sum().item() for t in (threes, sqrt2s, powers2, fives, dozens)]
    rand = torch.rand(2, 4)
    doubled = rand * (torch.ones(1, 4) * 2)
    a = torch.ones(4, 3, 2)
    b = a * torch.rand(3, 2)  # 3rd & 2nd dims identical to a, dim 1 absent
    c = a * torch.rand(3, 1)  # 3rd dim = 1, 2nd dim identical to a
    d = a * torch.rand(1, 2)  # 3rd dim identical to a, 2nd dim = 1
    out += [t.sum().item() for t in (doubled, b, c, d)]

    a = torch.rand(2, 4) * 2 - 1
    out += [torch.abs(a).sum().item(), torch.ceil(a).sum().item(), torch.floor(a).sum().item(),
            torch.clamp(a, -0.5, 0.5).sum().item()]  # fmt: skip
    angles = torch.tensor([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])
    sines = torch.sin(angles)
    inverses = torch.asin(sines)
    out += inverses.tolist()
    b = torch.tensor([1, 5, 11])
    c = torch.tensor([2, 7, 10])
    out += torch.bitwise_xor(b, c).tolist()
    d = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    e = torch.ones(1, 2)  # many comparison ops support broadcasting!
    out += torch.eq(d, e).reshape(-1).tolist()
    out += [torch.max(d).item(), torch.mean(d).item(), torch.std(d).item(),
            torch.prod(d).item()]  # fmt: skip
    out += torch.unique(torch.tensor([1, 2, 1, 2, 1, 2])).tolist()
    v1 = torch.tensor([1.0, 0.0, 0.0])  # x unit vector
    v2 = torch.tensor([0.0, 1.0, 0.0])  # y unit vector
    m1 = torch.rand(2, 2)  # random matrix
    m2 = torch.tensor([[3.0, 0.0], [0.0, 3.0]])  # three times identity matrix
    out += torch.linalg.cross(v2, v1).tolist()  # negative of z unit vector (v1 x v2 == -v2 x v1)
    m3 = torch.linalg.matmul(m1, m2)
    out += m3.reshape(-1).tolist()
    out += torch.linalg.svd(m3).S.tolist()

    a = torch.tensor([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])
    out += torch.sin(a).tolist()  # this operation creates a new tensor in memory
    out += a.tolist()  # a has not changed
    a.sin_()  # note the underscore
    out += a.tolist()  # a has changed
    a = torch.ones(2, 2)
    b = torch.rand(2, 2)
    a.add_(b)
    b.mul_(b)
    out += [a.sum().item(), b.sum().item()]
    a = torch.rand(2, 2)
    b = torch.rand(2, 2)
    c = torch.zeros(2, 2)
    old_id = id(c)
    d = torch.matmul(a, b, out=c)
    assert c is d  # test c & d are same object, not just containing equal values
    assert id(c) == old_id  # make sure that our new c is the same object as the old one
    out.append(c.sum().item())
    torch.rand(2, 2, out=c)  # works for creation too!
    out.append(c.sum().item())
    assert id(c) == old_id  # still the same object!

    a = torch.ones(2, 2)
    b = a
    a[0][1] = 561  # we change a...
    out.append(b[0][1].item())  # ...and b is also altered
    a = torch.ones(2, 2)
    b = a.clone()
    assert b is not a  # different objects in memory...
    out.append(int(torch.eq(a, b).all()))  # ...but still with the same contents!
    a[0][1] = 561  # a changes...
    out.append(b[0][1].item())  # ...but b is still all ones
    a = torch.rand(2, 2, requires_grad=True)  # turn on autograd
    b = a.clone()
    c = a.detach().clone()
    out += [int(b.requires_grad), int(c.requires_grad), int(b.grad_fn is not None)]

    a = torch.rand(3, 6, 6)
    b = a.unsqueeze(0)
    c = torch.rand(1, 1, 1, 1, 1)
    out += [b.dim(), c.sum().item()]
    a = torch.rand(1, 20)
    b = a.squeeze(0)
    c = torch.rand(2, 2)
    d = c.squeeze(0)
    out += [b.dim(), d.dim()]
    a = torch.ones(4, 3, 2)
    b = torch.rand(3)  # trying to multiply a * b will give a runtime error
    c = b.unsqueeze(1)  # change to a 2-dimensional tensor, adding new dim at the end
    out += [(a * c).sum().item()]
    batch_me = torch.rand(3, 6, 6)
    batch_me.unsqueeze_(0)
    out.append(batch_me.shape[0])
    output3d = torch.rand(6, 20, 20)
    input1d = output3d.reshape(6 * 20 * 20)
    out += [input1d.shape[0], torch.reshape(output3d, (6 * 20 * 20,)).shape[0]]

    numpy_array = np.ones((2, 3))
    pytorch_tensor = torch.from_numpy(numpy_array)
    pytorch_rand = torch.rand(2, 3)
    numpy_rand = pytorch_rand.numpy()
    numpy_array[1, 1] = 23
    pytorch_rand[1, 1] = 17
    out += [pytorch_tensor.sum().item(), float(numpy_rand[1, 1])]


def _autograd(torch_like: Any, out: list) -> None:
    torch = torch_like
    a = torch.linspace(0.0, 2.0 * math.pi, steps=25, requires_grad=True)
    b = torch.sin(a)
    c = 2 * b
    d = c + 1
    out_ = d.sum()
    names = [type(d.grad_fn).__name__]
    fn = d.grad_fn
    while fn.next_functions:
        fn = fn.next_functions[0][0]
        names.append(type(fn).__name__)
    out.append(len(names))
    assert names == ["AddBackward0", "MulBackward0", "SinBackward0", "AccumulateGrad"], names
    out_.backward()
    out += a.grad.tolist()

    BATCH_SIZE, DIM_IN, HIDDEN_SIZE, DIM_OUT = 4, 20, 10, 3

    class TinyModel(torch.nn.Module):
        def __init__(self) -> None:
            super(TinyModel, self).__init__()  # noqa: UP008

            self.layer1 = torch.nn.Linear(DIM_IN, HIDDEN_SIZE)
            self.relu = torch.nn.ReLU()
            self.layer2 = torch.nn.Linear(HIDDEN_SIZE, DIM_OUT)

        def forward(self, x: Any) -> Any:
            x = self.layer1(x)
            x = self.relu(x)
            x = self.layer2(x)
            return x

    some_input = torch.randn(BATCH_SIZE, DIM_IN, requires_grad=False)
    ideal_output = torch.randn(BATCH_SIZE, DIM_OUT, requires_grad=False)
    model = TinyModel()
    out += model.layer2.weight[0][0:10].tolist()
    assert model.layer2.weight.grad is None
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    prediction = model(some_input)
    loss = (ideal_output - prediction).pow(2).sum()
    out.append(loss.item())
    loss.backward()
    out += model.layer2.weight.grad[0][0:10].tolist()
    optimizer.step()
    out += model.layer2.weight[0][0:10].tolist()
    for _i in range(0, 5):
        prediction = model(some_input)
        loss = (ideal_output - prediction).pow(2).sum()
        loss.backward()
    out += model.layer2.weight.grad[0][0:10].tolist()
    optimizer.zero_grad(set_to_none=False)
    out += model.layer2.weight.grad[0][0:10].tolist()

    a = torch.ones(2, 3, requires_grad=True)
    b1 = 2 * a
    a.requires_grad = False
    b2 = 2 * a
    out += [int(b1.requires_grad), int(b2.requires_grad)]
    a = torch.ones(2, 3, requires_grad=True) * 2
    b = torch.ones(2, 3, requires_grad=True) * 3
    c1 = a + b
    with torch.no_grad():
        c2 = a + b
    c3 = a * b
    out += [int(c1.requires_grad), int(c2.requires_grad), int(c3.requires_grad)]

    def add_tensors1(x: Any, y: Any) -> Any:
        return x + y

    @torch.no_grad()
    def add_tensors2(x: Any, y: Any) -> Any:
        return x + y

    a = torch.ones(2, 3, requires_grad=True) * 2
    b = torch.ones(2, 3, requires_grad=True) * 3
    out += [int(add_tensors1(a, b).requires_grad), int(add_tensors2(a, b).requires_grad)]
    x = torch.rand(5, requires_grad=True)
    y = x.detach()
    out += [int(x.requires_grad), int(y.requires_grad)]

    a = torch.linspace(0.0, 2.0 * math.pi, steps=25, requires_grad=True)
    try:
        torch.sin_(a)
    except RuntimeError as err:
        assert str(err).startswith(
            "a leaf Variable that requires grad is being used in an in-place operation."
        ), str(err)
        out.append(1)

    x = torch.randn(3, requires_grad=True)
    y = x * 2
    while y.data.norm() < 1000:
        y = y * 2
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)  # stand-in for gradients
    y.backward(v)
    out += x.grad.tolist()

    def exp_adder(x: Any, y: Any) -> Any:
        return 2 * x.exp() + 3 * y

    inputs = (torch.rand(1), torch.rand(1))  # arguments for the function
    out += [t.item() for t in torch.autograd.functional.jacobian(exp_adder, inputs)]
    inputs = (torch.rand(3), torch.rand(3))  # arguments for the function
    jac = torch.autograd.functional.jacobian(exp_adder, inputs)
    out += jac[0].reshape(-1).tolist() + jac[1].reshape(-1).tolist()

    def do_some_doubling(x: Any) -> Any:
        y = x * 2
        while y.data.norm() < 1000:
            y = y * 2
        return y

    inputs = torch.randn(3)
    my_gradients = torch.tensor([0.1, 1.0, 0.0001])
    output, vjp = torch.autograd.functional.vjp(do_some_doubling, inputs, v=my_gradients)
    out += output.tolist() + vjp.tolist()


def _models(torch_like: Any, out: list) -> None:
    torch = torch_like
    F = torch.nn.functional

    class LeNet(torch.nn.Module):
        def __init__(self) -> None:
            super(LeNet, self).__init__()  # noqa: UP008
            # 1 input image channel (black & white), 6 output channels, 5x5 square convolution
            # kernel
            self.conv1 = torch.nn.Conv2d(1, 6, 5)
            self.conv2 = torch.nn.Conv2d(6, 16, 3)
            # an affine operation: y = Wx + b
            self.fc1 = torch.nn.Linear(16 * 6 * 6, 120)  # 6*6 from image dimension
            self.fc2 = torch.nn.Linear(120, 84)
            self.fc3 = torch.nn.Linear(84, 10)

        def forward(self, x: Any) -> Any:
            # Max pooling over a (2, 2) window
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            # If the size is a square you can only specify a single number
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, self.num_flat_features(x))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

        def num_flat_features(self, x: Any) -> int:
            size = x.size()[1:]  # all dimensions except the batch dimension
            num_features = 1
            for s in size:
                num_features *= s
            return num_features

    net = LeNet()
    input = torch.rand(1, 1, 32, 32)  # noqa: A001 - stand-in for a 32x32 black & white image
    output = net(input)
    out += output.reshape(-1).tolist()

    lin = torch.nn.Linear(3, 2)
    x = torch.rand(1, 3)
    y = lin(x)
    for param in lin.parameters():
        out.append(param.sum().item())
    out += y.reshape(-1).tolist()

    class LSTMTagger(torch.nn.Module):
        def __init__(self, embedding_dim: int, hidden_dim: int, vocab_size: int,
                     tagset_size: int) -> None:  # fmt: skip
            super(LSTMTagger, self).__init__()  # noqa: UP008
            self.hidden_dim = hidden_dim

            self.word_embeddings = torch.nn.Embedding(vocab_size, embedding_dim)

            # The LSTM takes word embeddings as inputs, and outputs hidden states
            # with dimensionality hidden_dim.
            self.lstm = torch.nn.LSTM(embedding_dim, hidden_dim)

            # The linear layer that maps from hidden state space to tag space
            self.hidden2tag = torch.nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence: Any) -> Any:
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            tag_scores = F.log_softmax(tag_space, dim=1)
            return tag_scores

    tagger = LSTMTagger(6, 6, 9, 3)
    out += tagger(torch.tensor([0, 4, 2, 8])).reshape(-1).tolist()

    my_tensor = torch.rand(1, 6, 6)
    maxpool_layer = torch.nn.MaxPool2d(3)
    out += maxpool_layer(my_tensor).reshape(-1).tolist()
    my_tensor = torch.rand(1, 4, 4) * 20 + 5
    out.append(my_tensor.mean().item())
    norm_layer = torch.nn.BatchNorm1d(4)
    normed_tensor = norm_layer(my_tensor)
    out += [normed_tensor.mean().item(), normed_tensor.pow(2).sum().item()]
    my_tensor = torch.rand(1, 4, 4)
    dropout = torch.nn.Dropout(p=0.4)
    out += dropout(my_tensor).reshape(-1).tolist()
    out += dropout(my_tensor).reshape(-1).tolist()


def _training(torch_like: Any, out: list) -> None:
    torch = torch_like
    nn, F = torch.nn, torch.nn.functional

    class GarmentClassifier(nn.Module):
        def __init__(self) -> None:
            super(GarmentClassifier, self).__init__()  # noqa: UP008
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 4 * 4, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 16 * 4 * 4)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    rng = np.random.default_rng(28)
    images = rng.random((24, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 24)
    training_set = torch.utils.data.TensorDataset(torch.tensor(images[:16]),
                                                  torch.tensor(labels[:16]))  # fmt: skip
    validation_set = torch.utils.data.TensorDataset(torch.tensor(images[16:]),
                                                    torch.tensor(labels[16:]))  # fmt: skip
    training_loader = torch.utils.data.DataLoader(training_set, batch_size=4, shuffle=True)
    validation_loader = torch.utils.data.DataLoader(validation_set, batch_size=4, shuffle=False)
    model = GarmentClassifier()
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)

    def train_one_epoch(epoch_index: int) -> float:
        running_loss = 0.0
        last_loss = 0.0
        for i, data in enumerate(training_loader):
            # Every data instance is an input + label pair
            inputs, labels = data
            # Zero your gradients for every batch!
            optimizer.zero_grad()
            # Make predictions for this batch
            outputs = model(inputs)
            # Compute the loss and its gradients
            loss = loss_fn(outputs, labels)
            loss.backward()
            # Adjust learning weights
            optimizer.step()
            # Gather data and report
            running_loss += loss.item()
            if i % 2 == 1:
                last_loss = running_loss / 2  # loss per batch
                out.append(last_loss)
                running_loss = 0.0
        return last_loss

    best_vloss = 1_000_000.0
    for epoch_number in range(2):
        model.train(True)
        avg_loss = train_one_epoch(epoch_number)
        running_vloss = 0.0
        model.eval()
        with torch.no_grad():
            for i, vdata in enumerate(validation_loader):  # noqa: B007 (read after the loop)
                vinputs, vlabels = vdata
                voutputs = model(vinputs)
                vloss = loss_fn(voutputs, vlabels)
                running_vloss += vloss
        avg_vloss = running_vloss / (i + 1)
        out += [avg_loss, avg_vloss.item()]
        if avg_vloss < best_vloss:
            best_vloss = avg_vloss
    out.append(float(best_vloss))


def run(torch_like: Any, init: None) -> list[float]:
    out: list[float] = []
    _tensors(torch_like, out)
    torch_like.manual_seed(42)
    _autograd(torch_like, out)
    torch_like.manual_seed(7)
    _models(torch_like, out)
    torch_like.manual_seed(8)
    _training(torch_like, out)
    return [float(v) for v in out]
