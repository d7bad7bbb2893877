"""``cr.models``: a zoo of classic CNNs and a torchinfo-style ``summary``.

``list_models()`` names them; ``get_model(name, num_classes=..., in_channels=...)`` builds
one. Models torchvision also has use its layer names and parameter counts, so a
torchvision-style state_dict (converted to safetensors) loads with ``load_state_dict``.
"""

from . import cifar_resnet, densenet, language, lenet, mobilenet, resnet, vgg  # noqa: F401
from .char_lstm import char_lstm, gru  # noqa: F401
from .cifar_resnet import (  # noqa: F401
    preact_resnet18,
    resnet18_cifar,
    resnet20,
    resnet32,
    resnet44,
    resnet56,
    resnet110,
    wrn28_10,
)
from .densenet import densenet121, densenet_bc_100_12  # noqa: F401
from .googlenet import googlenet  # noqa: F401
from .gpt import gpt, gpt2  # noqa: F401
from .language import bigram  # noqa: F401
from .lenet import cnn1d, lenet5  # noqa: F401
from .mobilenet import mobilenet_v1, mobilenet_v2  # noqa: F401
from .registry import get_model, list_models, register_model
from .resnet import (  # noqa: F401
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
    se_resnet50,
    wide_resnet50_2,
)
from .summary import summary
from .transformer_classifier import transformer_classifier  # noqa: F401
from .vgg import alexnet, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn  # noqa: F401

__all__ = ["get_model", "list_models", "register_model", "summary"]
