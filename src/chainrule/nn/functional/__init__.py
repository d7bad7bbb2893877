"""``cr.nn.functional`` (imported as F): stateless versions of the layers.

Each family lives in its own file; this package only re-exports them.
"""

from ...ops.indexing import one_hot  # noqa: F401
from ...ops.shape import pad  # noqa: F401
from ...ops.softmax import log_softmax, softmax  # noqa: F401
from ...ops.unary import relu, sigmoid, softplus, tanh  # noqa: F401
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .classification_loss import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .gumbel import *  # noqa: F401,F403
from .interpolate import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pixel_shuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
