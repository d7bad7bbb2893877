"""Training utilities: gradient clipping, parameter <-> vector conversion."""
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from . import rnn  # noqa: E402,F401  (cr.nn.utils.rnn.pack_padded_sequence, ...)
from . import stateless  # noqa: E402,F401
from . import parametrizations, parametrize  # noqa: E402,F401  (weight_norm, spectral_norm)
from .stateless import functional_call

__all__ = ["clip_grad_norm_", "clip_grad_value_", "functional_call", "parameters_to_vector",
           "vector_to_parameters"]
