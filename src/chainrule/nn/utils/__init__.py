"""Training utilities: gradient clipping, parameter <-> vector conversion."""

# submodules: cr.nn.utils.rnn.pack_padded_sequence, parametrizations.weight_norm, ...
from . import parametrizations, parametrize, rnn, stateless  # noqa: F401
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .stateless import functional_call

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "functional_call",
    "parameters_to_vector",
    "vector_to_parameters",
]
