"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 10, "Adversarial Attacks" (FGSM and the adversarial patch), size-reduced.

The idioms: the frozen pretrained classifier (``for p in pretrained_model.parameters():
p.requires_grad = False``, ``pretrained_model.eval()``); ``eval_model``'s ``tp +=
(preds.argmax(dim=-1) == labels).sum()`` and ``(preds.topk(5, dim=-1)[1] ==
labels[...,None]).any(dim=-1).sum()``; ``fast_gradient_sign_method`` (``inp_imgs =
imgs.clone().requires_grad_()``, ``F.log_softmax``, ``-torch.gather(preds, 1,
labels.to(device).unsqueeze(dim=-1))``, ``loss.sum().backward()``, ``torch.sign(
inp_imgs.grad.to(imgs.device))``, ``fake_imgs.detach_()``); ``TENSOR_MEANS, TENSOR_STD =
torch.FloatTensor(NORM_MEAN)[:,None,None], ...``; ``patch_forward`` (``(torch.tanh(patch) + 1
- 2 * TENSOR_MEANS) / (2 * TENSOR_STD)``); ``place_patch`` writing ``img[i,:,h_offset:
h_offset+patch.shape[1],w_offset:w_offset+patch.shape[2]] = patch_forward(patch)`` at
``np.random.randint`` offsets into the loader's batch; ``patch_attack`` (``torch.utils.data.
random_split(dataset, [...])``, ``nn.Parameter(torch.zeros(3, patch_size[0], patch_size[1]),
requires_grad=True)``, ``torch.optim.SGD([patch], lr=1e-1, momentum=0.8)``, ``torch.zeros(
img.shape[0], device=pred.device, dtype=torch.long).fill_(target_class)``,
``loss.mean().backward()``, ``f"Epoch {epoch}, Loss: {loss.item():4.2f}"``); ``eval_patch``
under ``torch.no_grad()`` (``torch.logical_and(pred.argmax(dim=-1) == target_class,
img_labels != target_class).sum()``, the top-5 variant, ``tp/counter``) and ``return
patch.data, {"acc": acc.item(), "top5": top5.item()}``.

Changed: ResNet-34 on ImageNet -> a small conv net on random 3x10x10 images with 10 classes
(trained a few steps first, as the tutorial loads pretrained weights), 64x64 patches -> 3x3,
4500/500 images -> 24/8, 5 epochs -> 2, ``num_workers`` -> 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
NORM_MEAN = np.array([0.485, 0.456, 0.406])
NORM_STD = np.array([0.229, 0.224, 0.225])


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False),
        nn.BatchNorm2d(6),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F, data = nn.functional, torch.utils.data
    device = torch.device("cpu")
    rng = np.random.default_rng(10)
    np.random.seed(10)
    values: list[float] = []

    images = (rng.random((32, 3, 10, 10)) - NORM_MEAN[:, None, None]) / NORM_STD[:, None, None]
    labels = rng.integers(0, 10, 32)
    dataset = data.TensorDataset(
        torch.from_numpy(images.astype(np.float32)), torch.from_numpy(labels)
    )

    pretrained_model = make_model(torch_like)
    load_numpy_state(torch_like, pretrained_model, init)
    opt = torch.optim.Adam(pretrained_model.parameters(), lr=1e-2)  # "pretraining"
    for _ in range(4):
        loss = F.cross_entropy(pretrained_model(dataset.tensors[0]), dataset.tensors[1])
        opt.zero_grad()
        loss.backward()
        opt.step()
    # No gradients needed for the network
    pretrained_model.eval()
    for p in pretrained_model.parameters():
        p.requires_grad = False

    def eval_model(dataset_loader: Any, img_func: Any = None) -> tuple[float, float]:
        tp, tp_5, counter = 0.0, 0.0, 0.0
        for imgs, labels in dataset_loader:
            imgs = imgs.to(device)
            labels = labels.to(device)
            if img_func is not None:
                imgs = img_func(imgs, labels)
            with torch.no_grad():
                preds = pretrained_model(imgs)
            tp += (preds.argmax(dim=-1) == labels).sum()
            tp_5 += (preds.topk(5, dim=-1)[1] == labels[..., None]).any(dim=-1).sum()
            counter += preds.shape[0]
        acc = tp.float().item() / counter
        top5 = tp_5.float().item() / counter
        return acc, top5

    def fast_gradient_sign_method(model, imgs, labels, epsilon=0.02):  # noqa: ANN001, ANN202
        # Determine prediction of the model
        inp_imgs = imgs.clone().requires_grad_()
        preds = model(inp_imgs.to(device))
        preds = F.log_softmax(preds, dim=-1)
        # Calculate loss by NLL
        loss = -torch.gather(preds, 1, labels.to(device).unsqueeze(dim=-1))
        loss.sum().backward()
        # Update image to adversarial example as written above
        noise_grad = torch.sign(inp_imgs.grad.to(imgs.device))
        fake_imgs = imgs + epsilon * noise_grad
        fake_imgs.detach_()
        return fake_imgs, noise_grad

    data_loader = data.DataLoader(dataset, batch_size=8, shuffle=False, drop_last=False)
    values += list(eval_model(data_loader))
    values += list(eval_model(data_loader, img_func=lambda x, y: fast_gradient_sign_method(
        pretrained_model, x, y, epsilon=0.5)[0]))  # fmt: skip
    adv_imgs, noise_grad = fast_gradient_sign_method(
        pretrained_model, dataset.tensors[0][:4], dataset.tensors[1][:4], epsilon=0.02
    )
    values += [noise_grad.abs().sum().item(), adv_imgs.sum().item()]

    TENSOR_MEANS = torch.FloatTensor(NORM_MEAN)[:, None, None]
    TENSOR_STD = torch.FloatTensor(NORM_STD)[:, None, None]

    def patch_forward(patch: Any) -> Any:
        # Map patch values from [-infty,infty] to ImageNet min and max
        patch = (torch.tanh(patch) + 1 - 2 * TENSOR_MEANS) / (2 * TENSOR_STD)
        return patch

    def place_patch(img: Any, patch: Any) -> Any:
        for i in range(img.shape[0]):
            h_offset = np.random.randint(0, img.shape[2] - patch.shape[1] - 1)
            w_offset = np.random.randint(0, img.shape[3] - patch.shape[2] - 1)
            img[
                i, :, h_offset : h_offset + patch.shape[1], w_offset : w_offset + patch.shape[2]
            ] = patch_forward(patch)
        return img

    def eval_patch(model, patch, val_loader, target_class):  # noqa: ANN001, ANN202
        model.eval()
        tp, tp_5, counter = 0.0, 0.0, 0.0
        with torch.no_grad():
            for img, img_labels in val_loader:
                # For stability, place the patch at 4 random locations per image
                for _ in range(4):
                    patch_img = place_patch(img, patch)
                    patch_img = patch_img.to(device)
                    img_labels = img_labels.to(device)
                    pred = model(patch_img)
                    tp += torch.logical_and(
                        pred.argmax(dim=-1) == target_class, img_labels != target_class
                    ).sum()
                    tp_5 += torch.logical_and(
                        (pred.topk(5, dim=-1)[1] == target_class).any(dim=-1),
                        img_labels != target_class,
                    ).sum()
                    counter += (img_labels != target_class).sum()
        acc = tp / counter
        top5 = tp_5 / counter
        return acc, top5

    def patch_attack(model, target_class, patch_size=3, num_epochs=2):  # noqa: ANN001, ANN202
        train_set, val_set = torch.utils.data.random_split(dataset, [24, 8])
        train_loader = data.DataLoader(train_set, batch_size=8, shuffle=True, drop_last=True,
                                       num_workers=0)  # fmt: skip
        val_loader = data.DataLoader(val_set, batch_size=8, shuffle=False, drop_last=False,
                                     num_workers=0)  # fmt: skip

        # Create parameter and optimizer
        if not isinstance(patch_size, tuple):
            patch_size = (patch_size, patch_size)
        patch = nn.Parameter(torch.zeros(3, patch_size[0], patch_size[1]), requires_grad=True)
        optimizer = torch.optim.SGD([patch], lr=1e-1, momentum=0.8)
        loss_module = nn.CrossEntropyLoss()

        # Training loop
        for epoch in range(num_epochs):
            for img, _ in train_loader:
                img = place_patch(img, patch)
                img = img.to(device)
                pred = model(img)
                labels = torch.zeros(img.shape[0], device=pred.device, dtype=torch.long).fill_(
                    target_class
                )
                loss = loss_module(pred, labels)
                optimizer.zero_grad()
                loss.mean().backward()
                optimizer.step()
                desc = f"Epoch {epoch}, Loss: {loss.item():4.2f}"  # t.set_description(...)
                values.extend([loss.item(), float(desc.split()[-1])])

        # Final validation
        acc, top5 = eval_patch(model, patch, val_loader, target_class)

        return patch.data, {"acc": acc.item(), "top5": top5.item()}

    torch.manual_seed(42)
    patch, results = patch_attack(pretrained_model, target_class=3)
    values += [patch.sum().item(), patch.abs().max().item(), results["acc"], results["top5"]]
    return values
