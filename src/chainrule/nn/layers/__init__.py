"""Layer modules, one file per family."""

import sys as _sys

from .activation import *  # noqa: F401,F403
from .adaptive_softmax import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .conv3d import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .dropout_more import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .lazy_more import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .linear_loss import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .loss_extra import *  # noqa: F401,F403
from .misc_more import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .padding_more import *  # noqa: F401,F403
from .param_containers import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .pooling3d import *  # noqa: F401,F403
from .pooling_extra import *  # noqa: F401,F403
from .pooling_more import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .rnn_cells import *  # noqa: F401,F403
from .sync_batchnorm import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

_FAMILIES = (
    "activation",
    "adaptive_softmax",
    "attention",
    "container",
    "conv",
    "conv3d",
    "ctc",
    "distance",
    "dropout",
    "embedding",
    "instancenorm",
    "lazy",
    "linear",
    "linear_loss",
    "loss",
    "loss_extra",
    "normalization",
    "padding",
    "param_containers",
    "pooling",
    "pooling_extra",
    "pooling3d",
    "recurrent",
    "rnn_cells",
    "sync_batchnorm",
    "transformer",
    "upsampling",
    "pooling_more",
    "lazy_more",
    "padding_more",
    "dropout_more",
    "misc_more",
)
# Public names: every family's ``__all__`` (looked up by module path, not attribute).
__all__ = sorted({n for fam in _FAMILIES for n in _sys.modules[f"{__name__}.{fam}"].__all__})
