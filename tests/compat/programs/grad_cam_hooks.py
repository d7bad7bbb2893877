"""jacobgil/pytorch-grad-cam (``activations_and_gradients.py``, ``base_cam.py``,
``grad_cam.py``, ``guided_backprop.py``, ``utils/model_targets.py``), size-reduced:
``ActivationsAndGradients`` (``target_layer.register_forward_hook(self.save_activation)`` and a
second forward hook that calls ``output.register_hook(_store_grad)`` -- the repository avoids
backward module hooks -- ``hasattr(output, "requires_grad")``, ``activation.cpu().detach()``,
``handle.remove()`` in ``release``); ``ClassifierOutputTarget`` (``model_output[:,
self.category]`` or ``model_output[self.category]``); ``BaseCAM.forward`` (``input_tensor =
input_tensor.to(self.device)``, ``requires_grad=True`` on the input, ``torch.argmax``-free
``np.argmax(outputs.cpu().data.numpy(), axis=-1)`` targets, ``sum([target(output) for ...])``,
``self.model.zero_grad()``, ``loss.backward(retain_graph=True)``), ``GradCAM.get_cam_weights``
(``np.mean(grads, axis=(2, 3))``) and ``get_cam_image`` (``weights[:, :, None, None] *
activations``, ``cam.sum(axis=1)``, ``np.maximum(cam, 0)``) with the min-max ``scale_cam_image``
(its ``cv2.resize`` is ``F.interpolate(..., mode='bilinear')``); ``GuidedBackpropReLU`` (a
``torch.autograd.Function`` with ``torch.addcmul(torch.zeros(input_img.size()).type_as(
input_img), input_img, positive_mask)`` forward and the doubly masked backward,
``ctx.save_for_backward``/``ctx.saved_tensors``), ``GuidedBackpropReLUasModule`` and
``replace_all_layer_type_recursive`` (``model._modules.items()``, ``model._modules[name] =
new_layer``, restored afterwards), guided backprop as ``input_img.grad.cpu().data.numpy()``
and the Guided Grad-CAM product. Also the classic "feature extraction with a forward hook" idiom
(``activation[name] = output.detach()``) and ``register_full_backward_hook`` (``grad_output[0]``)
on the same layer, compared with the tensor-hook gradient.

Changed: the torchvision ResNet-50 is a small ``nn.Sequential`` CNN on 1x8x8 NumPy images
(``target_layers = [model.features[-2]]`` as ``[model.layer4[-1]]``); the image files and
``cv2`` colour maps are left out; the CAM is upsampled by ``F.interpolate`` instead of
``cv2.resize``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SmallNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(4, 6, 3, padding=1),
                nn.ReLU(),
            )
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(6, 3)

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = self.avgpool(x).flatten(1)
            return self.fc(x)

    return SmallNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Function = torch_like.autograd.Function
    rng = np.random.default_rng(41)
    images = rng.random((3, 1, 8, 8))
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    model.eval()
    values: list[float] = []

    class ActivationsAndGradients:
        """Class for extracting activations and
        registering gradients from targetted intermediate layers"""

        def __init__(self, model: Any, target_layers: list, reshape_transform: Any) -> None:
            self.model = model
            self.gradients: list = []
            self.activations: list = []
            self.reshape_transform = reshape_transform
            self.handles = []
            for target_layer in target_layers:
                self.handles.append(target_layer.register_forward_hook(self.save_activation))
                # Because of https://github.com/pytorch/pytorch/issues/61519,
                # we don't use backward hook to record gradients.
                self.handles.append(target_layer.register_forward_hook(self.save_gradient))

        def save_activation(self, module: Any, input: Any, output: Any) -> None:  # noqa: A002
            activation = output
            if self.reshape_transform is not None:
                activation = self.reshape_transform(activation)
            self.activations.append(activation.cpu().detach())

        def save_gradient(self, module: Any, input: Any, output: Any) -> None:  # noqa: A002
            if not hasattr(output, "requires_grad") or not output.requires_grad:
                # You can only register hooks on tensor requires grad.
                return

            # Gradients are computed in reverse order
            def _store_grad(grad: Any) -> None:
                if self.reshape_transform is not None:
                    grad = self.reshape_transform(grad)
                self.gradients = [grad.cpu().detach()] + self.gradients

            output.register_hook(_store_grad)

        def __call__(self, x: Any) -> Any:
            self.gradients = []
            self.activations = []
            return self.model(x)

        def release(self) -> None:
            for handle in self.handles:
                handle.remove()

    class ClassifierOutputTarget:
        def __init__(self, category: int) -> None:
            self.category = category

        def __call__(self, model_output: Any) -> Any:
            if len(model_output.shape) == 1:
                return model_output[self.category]
            return model_output[:, self.category]

    def scale_cam_image(cam: np.ndarray, target_size: Any = None) -> np.ndarray:
        result = []
        for img in cam:
            img = img - np.min(img)
            img = img / (1e-7 + np.max(img))
            if target_size is not None:
                t = torch.from_numpy(np.ascontiguousarray(img))[None, None]
                img = F.interpolate(t, size=target_size, mode="bilinear").numpy()[0, 0]
            result.append(img)
        return np.float32(result)

    class GradCAM:
        def __init__(self, model: Any, target_layers: list) -> None:
            self.model = model.eval()
            self.target_layers = target_layers
            self.device = "cpu"
            self.activations_and_grads = ActivationsAndGradients(self.model, target_layers, None)

        def get_cam_weights(self, grads: np.ndarray) -> np.ndarray:
            return np.mean(grads, axis=(2, 3))

        def get_cam_image(self, activations: np.ndarray, grads: np.ndarray) -> np.ndarray:
            weights = self.get_cam_weights(grads)
            weighted_activations = weights[:, :, None, None] * activations
            cam = weighted_activations.sum(axis=1)
            return cam

        def forward(self, input_tensor: Any, targets: list | None) -> np.ndarray:
            input_tensor = input_tensor.to(self.device)
            input_tensor = torch_like.autograd.Variable(input_tensor, requires_grad=True)
            self.outputs = outputs = self.activations_and_grads(input_tensor)
            if targets is None:
                target_categories = np.argmax(outputs.cpu().data.numpy(), axis=-1)
                targets = [ClassifierOutputTarget(category) for category in target_categories]
            self.model.zero_grad()
            loss = sum([target(output) for target, output in zip(targets, outputs)])
            loss.backward(retain_graph=True)

            activations = self.activations_and_grads.activations[0].cpu().data.numpy()
            grads = self.activations_and_grads.gradients[0].cpu().data.numpy()
            cam = self.get_cam_image(activations, grads)
            cam = np.maximum(cam, 0)
            return scale_cam_image(cam, input_tensor.shape[-2:])

        __call__ = forward

    target_layers = [model.features[-2]]
    cam = GradCAM(model=model, target_layers=target_layers)
    input_tensor = torch.from_numpy(images)
    grayscale_cam = cam(input_tensor=input_tensor, targets=None)
    values += [float(grayscale_cam.sum()), float(grayscale_cam[:, 2:6, 2:6].sum())]
    grayscale_cam1 = cam(input_tensor=input_tensor, targets=[ClassifierOutputTarget(1)] * 3)
    values.append(float(grayscale_cam1.sum()))
    tensor_hook_grad = cam.activations_and_grads.gradients[0]
    cam.activations_and_grads.release()

    # classic feature extraction with a forward hook, and a full backward hook
    activation: dict = {}

    def get_activation(name: str) -> Any:
        def hook(model: Any, input: Any, output: Any) -> None:  # noqa: A002
            activation[name] = output.detach()

        return hook

    grads: dict = {}

    def backward_hook(module: Any, grad_input: Any, grad_output: Any) -> None:
        grads["out"] = grad_output[0].detach()

    h1 = model.features[-2].register_forward_hook(get_activation("conv2"))
    h2 = model.features[-2].register_full_backward_hook(backward_hook)
    x = torch.from_numpy(images).requires_grad_()
    out = model(x)
    out[:, 1].sum().backward()
    h1.remove()
    h2.remove()
    values.append(activation["conv2"].sum().item())
    values.append((grads["out"] - tensor_hook_grad).abs().max().item())

    # guided backpropagation
    class GuidedBackpropReLU(Function):
        @staticmethod
        def forward(self: Any, input_img: Any) -> Any:
            positive_mask = (input_img > 0).type_as(input_img)
            output = torch.addcmul(
                torch.zeros(input_img.size()).type_as(input_img), input_img, positive_mask
            )
            self.save_for_backward(input_img, output)
            return output

        @staticmethod
        def backward(self: Any, grad_output: Any) -> Any:
            input_img, output = self.saved_tensors
            grad_input = None

            positive_mask_1 = (input_img > 0).type_as(grad_output)
            positive_mask_2 = (grad_output > 0).type_as(grad_output)
            grad_input = torch.addcmul(
                torch.zeros(input_img.size()).type_as(input_img),
                torch.addcmul(
                    torch.zeros(input_img.size()).type_as(input_img),
                    grad_output,
                    positive_mask_1,
                ),
                positive_mask_2,
            )
            return grad_input

    class GuidedBackpropReLUasModule(nn.Module):
        def __init__(self) -> None:
            super(GuidedBackpropReLUasModule, self).__init__()  # noqa: UP008

        def forward(self, input_img: Any) -> Any:
            return GuidedBackpropReLU.apply(input_img)

    def replace_all_layer_type_recursive(model: Any, old_layer_type: type, new_layer: Any) -> None:
        for name, layer in model._modules.items():
            if isinstance(layer, old_layer_type):
                model._modules[name] = new_layer
            replace_all_layer_type_recursive(layer, old_layer_type, new_layer)

    def guided_backprop(input_img: Any, target_category: int | None = None) -> np.ndarray:
        replace_all_layer_type_recursive(model, nn.ReLU, GuidedBackpropReLUasModule())
        input_img = input_img.requires_grad_(True)
        output = model(input_img)
        if target_category is None:
            target_category = np.argmax(output.cpu().data.numpy())
        loss = output[0, target_category]
        loss.backward(retain_graph=True)
        output = input_img.grad.cpu().data.numpy()
        output = output[0, :, :, :]
        output = output.transpose((1, 2, 0))
        replace_all_layer_type_recursive(model, GuidedBackpropReLUasModule, nn.ReLU())
        return output

    gb = guided_backprop(torch.from_numpy(images[:1].copy()))
    values += [float(np.abs(gb).sum()), float((gb > 0).sum())]
    cam_mask = np.stack([grayscale_cam[0]], axis=-1)
    cam_gb = cam_mask * gb
    values.append(float(cam_gb.sum()))
    values.append(float(sum(isinstance(m, nn.ReLU) for m in model.modules())))
    return values


def check(values: list[float]) -> None:
    """The full backward hook sees the gradient the tensor hook stored."""
    assert values[4] < 1e-12, values[4]
