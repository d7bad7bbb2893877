"""``cr.nn.functional`` (imported as F): stateless versions of the layers.

Each family lives in its own file; this package only re-exports them.
"""

import sys as _sys

from ...ops.indexing import one_hot  # noqa: F401
from ...ops.shape import pad  # noqa: F401
from ...ops.unary import sigmoid, softplus, tanh  # noqa: F401
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .classification_loss import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .conv3d import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .dropout_more import *  # noqa: F401,F403
from .embedding_bag import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .gumbel import *  # noqa: F401,F403
from .instance_normalization import *  # noqa: F401,F403
from .interpolate import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .linear_loss import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .loss_extra import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pixel_shuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .pooling3d import *  # noqa: F401,F403
from .pooling_extra import *  # noqa: F401,F403
from .pooling_fractional import *  # noqa: F401,F403
from .pooling_more import *  # noqa: F401,F403
from .softmax_functions import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403

_FAMILIES = (
    "activation",
    "attention",
    "classification_loss",
    "conv",
    "conv3d",
    "ctc",
    "distance",
    "dropout",
    "embedding_bag",
    "fold",
    "gumbel",
    "interpolate",
    "linear",
    "linear_loss",
    "loss",
    "loss_extra",
    "normalization",
    "instance_normalization",
    "pixel_shuffle",
    "pooling",
    "pooling3d",
    "pooling_extra",
    "vision",
    "pooling_more",
    "dropout_more",
    "pooling_fractional",
    "softmax_functions",
)

# Public names: every family's ``__all__`` plus the ops re-exported above (a family module
# may share its name with one of its functions, ``fold``, so modules are looked up by path).
__all__ = sorted(
    {n for fam in _FAMILIES for n in _sys.modules[f"{__name__}.{fam}"].__all__}
    | {"native_channel_shuffle", "one_hot", "pad", "relu", "sigmoid", "softplus", "tanh"}
)

from ..native_functions import native_channel_shuffle  # noqa: E402 - needs the families
