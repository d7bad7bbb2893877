"""The PyTorch "Neural Transfer Using PyTorch" tutorial (``advanced/neural_style_tutorial``),
size-reduced: ``ContentLoss``/``StyleLoss`` modules that stash ``self.loss`` as a side effect of
``forward``, ``gram_matrix`` (``view``, ``torch.mm(features, features.t())``, ``div``), a
``Normalization`` module built from ``mean.clone().detach().view(-1, 1, 1)``,
``get_style_model_and_losses`` walking ``cnn.children()`` with ``isinstance`` checks, renaming
layers ``conv_i``/``relu_i``/``pool_i``, replacing in-place ReLUs by ``nn.ReLU(inplace=False)``,
``model.add_module``, trimming with ``model[:(i + 1)]``; then ``run_style_transfer``:
``input_img.requires_grad_(True)``, ``model.eval()``, ``model.requires_grad_(False)``,
``optim.LBFGS([input_img])`` with a closure that clamps the image in place under ``no_grad``,
sums the losses into Python ``0`` accumulators and counts calls in ``run = [0]``.

VGG19's pretrained ``features`` is replaced by a tiny random ``nn.Sequential`` of the same layer
kinds (``Conv2d``, ``ReLU(inplace=True)``, ``MaxPool2d``); images are 3x12x12 NumPy arrays;
``num_steps`` 300 -> 12, ``style_weight`` 1e6 -> 1e3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

SIZE = 12


def make_model(torch_like: Any) -> Any:
    """Stand-in for ``models.vgg19(weights=...).features.eval()``."""
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(3, 4, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(4, 4, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(4, 6, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(6, 6, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 8, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, kernel_size=3, padding=1),
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    device = torch.device("cpu")
    torch.set_default_device(device)

    rng = np.random.default_rng(4)
    # The tutorial loads float32 images (``torch.float``); float64 here keeps the comparison tight
    # (L-BFGS amplifies float32 rounding differences to ~1e-3 within 20 iterations).
    dtype = torch.get_default_dtype()
    # image_loader(): PIL image -> ToTensor() -> unsqueeze(0)
    style_img = torch.from_numpy(rng.random((3, SIZE, SIZE))).unsqueeze(0).to(device, dtype)
    content_img = torch.from_numpy(rng.random((3, SIZE, SIZE))).unsqueeze(0).to(device, dtype)
    assert style_img.size() == content_img.size(), (
        "we need to import style and content images of the same size"
    )

    class ContentLoss(nn.Module):
        def __init__(self, target: Any) -> None:
            super(ContentLoss, self).__init__()  # noqa: UP008 (as in the tutorial)
            # we 'detach' the target content from the tree used
            # to dynamically compute the gradient: this is a stated value,
            # not a variable. Otherwise the forward method of the criterion
            # will throw an error.
            self.target = target.detach()

        def forward(self, input: Any) -> Any:
            self.loss = F.mse_loss(input, self.target)
            return input

    def gram_matrix(input: Any) -> Any:
        a, b, c, d = input.size()  # a=batch size(=1)
        # b=number of feature maps
        # (c,d)=dimensions of a f. map (N=c*d)

        features = input.view(a * b, c * d)  # resize F_XL into \hat F_XL

        G = torch.mm(features, features.t())  # compute the gram product

        # we 'normalize' the values of the gram matrix
        # by dividing by the number of element in each feature maps.
        return G.div(a * b * c * d)

    class StyleLoss(nn.Module):
        def __init__(self, target_feature: Any) -> None:
            super(StyleLoss, self).__init__()  # noqa: UP008
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input: Any) -> Any:
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    cnn = make_model(torch_like).eval()
    load_numpy_state(torch_like, cnn, init)

    cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
    cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])

    # create a module to normalize input image so we can easily put it in a
    # ``nn.Sequential``
    class Normalization(nn.Module):
        def __init__(self, mean: Any, std: Any) -> None:
            super(Normalization, self).__init__()  # noqa: UP008
            # .view the mean and std to make them [C x 1 x 1] so that they can
            # directly work with image Tensor of shape [B x C x H x W].
            # B is batch size. C is number of channels. H is height and W is width.
            self.mean = mean.clone().detach().view(-1, 1, 1)
            self.std = std.clone().detach().view(-1, 1, 1)

        def forward(self, img: Any) -> Any:
            # normalize ``img``
            return (img - self.mean) / self.std

    # desired depth layers to compute style/content losses :
    content_layers_default = ["conv_4"]
    style_layers_default = ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]

    def get_style_model_and_losses(
        cnn: Any,
        normalization_mean: Any,
        normalization_std: Any,
        style_img: Any,
        content_img: Any,
        content_layers: list[str] = content_layers_default,
        style_layers: list[str] = style_layers_default,
    ) -> tuple[Any, list, list]:
        # normalization module
        normalization = Normalization(normalization_mean, normalization_std)

        # just in order to have an iterable access to or list of content/style
        # losses
        content_losses = []
        style_losses = []

        # assuming that ``cnn`` is a ``nn.Sequential``, so we make a new ``nn.Sequential``
        # to put in modules that are supposed to be activated sequentially
        model = nn.Sequential(normalization)

        i = 0  # increment every time we see a conv
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = f"conv_{i}"
            elif isinstance(layer, nn.ReLU):
                name = f"relu_{i}"
                # The in-place version doesn't play very nicely with the ``ContentLoss``
                # and ``StyleLoss`` we insert below. So we replace with out-of-place
                # ones here.
                layer = nn.ReLU(inplace=False)
            elif isinstance(layer, nn.MaxPool2d):
                name = f"pool_{i}"
            elif isinstance(layer, nn.BatchNorm2d):
                name = f"bn_{i}"
            else:
                raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")

            model.add_module(name, layer)

            if name in content_layers:
                # add content loss:
                target = model(content_img).detach()
                content_loss = ContentLoss(target)
                model.add_module(f"content_loss_{i}", content_loss)
                content_losses.append(content_loss)

            if name in style_layers:
                # add style loss:
                target_feature = model(style_img).detach()
                style_loss = StyleLoss(target_feature)
                model.add_module(f"style_loss_{i}", style_loss)
                style_losses.append(style_loss)

        # now we trim off the layers after the last content and style losses
        for i in range(len(model) - 1, -1, -1):  # noqa: B007
            if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                break

        model = model[: (i + 1)]

        return model, style_losses, content_losses

    input_img = content_img.clone()

    def get_input_optimizer(input_img: Any) -> Any:
        # this line to show that input is a parameter that requires a gradient
        optimizer = optim.LBFGS([input_img])
        return optimizer

    values = []

    def run_style_transfer(
        cnn: Any,
        normalization_mean: Any,
        normalization_std: Any,
        content_img: Any,
        style_img: Any,
        input_img: Any,
        num_steps: int = 12,
        style_weight: float = 1000,
        content_weight: float = 1,
    ) -> Any:
        """Run the style transfer."""
        print("Building the style transfer model..")
        model, style_losses, content_losses = get_style_model_and_losses(
            cnn, normalization_mean, normalization_std, style_img, content_img
        )

        # We want to optimize the input and not the model parameters so we
        # update all the requires_grad fields accordingly
        input_img.requires_grad_(True)
        # We also put the model in evaluation mode, so that specific layers
        # such as dropout or batch normalization layers behave correctly.
        model.eval()
        model.requires_grad_(False)

        optimizer = get_input_optimizer(input_img)

        print("Optimizing..")
        run = [0]
        while run[0] <= num_steps:

            def closure() -> Any:
                # correct the values of updated input image
                with torch.no_grad():
                    input_img.clamp_(0, 1)

                optimizer.zero_grad()
                model(input_img)
                style_score = 0
                content_score = 0

                for sl in style_losses:
                    style_score += sl.loss
                for cl in content_losses:
                    content_score += cl.loss

                style_score *= style_weight
                content_score *= content_weight

                loss = style_score + content_score
                loss.backward()

                run[0] += 1
                if run[0] % 4 == 0:
                    print(f"run {run}:")
                    print(
                        f"Style Loss : {style_score.item():4f} "
                        f"Content Loss: {content_score.item():4f}"
                    )
                    print()
                    values.extend([style_score.item(), content_score.item()])

                return style_score + content_score

            optimizer.step(closure)

        # a last correction...
        with torch.no_grad():
            input_img.clamp_(0, 1)

        return input_img

    try:
        output = run_style_transfer(
            cnn, cnn_normalization_mean, cnn_normalization_std, content_img, style_img, input_img
        )
    finally:
        torch.set_default_device(None)
    values.append(float(output.detach().sum()))
    values.append(float((output.detach() - content_img).abs().max()))
    return values
