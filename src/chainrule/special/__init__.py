"""``cr.special``: PyTorch's ``torch.special`` namespace (special mathematical functions).

Every public function of ``torch.special`` with its signature (parameter names, keyword-only
``out=``):

- differentiable, as in PyTorch (``_differentiable.py``): other names of chainrule ops
  (``expit`` = sigmoid, ``gammaln`` = lgamma, ``psi`` = digamma, ``multigammaln`` = mvlgamma,
  ``erf``, ``erfc``, ``erfinv``, ``exp2``, ``expm1``, ``log1p``, ``i0``, ``logit``, ``sinc``,
  ``round``, ``xlogy``, ``polygamma``, ``softmax``, ``log_softmax``, ``logsumexp``), ``ndtr``
  composed from erfc, and the functions only ``torch.special`` has (``erfcx``, ``log_ndtr``,
  ``ndtri``, ``i0e``, ``i1``, ``i1e``, ``entr``, ``xlog1py``, ``zeta``, ``gammainc``,
  ``gammaincc``; ``ops/special_more.py``). ``zeta``, ``gammainc`` and ``gammaincc`` are
  differentiable in their second argument only; the first raises NotImplementedError at
  backward, as in PyTorch;
- not differentiable in PyTorch, so results that never require grad (``_nondiff.py``): the
  Bessel functions ``bessel_j0/j1/y0/y1``, ``modified_bessel_i0/i1/k0/k1``,
  ``scaled_modified_bessel_k0/k1``, ``spherical_bessel_j0``, ``airy_ai`` and the orthogonal
  polynomials ``chebyshev_polynomial_t/u/v/w``, ``shifted_chebyshev_polynomial_t/u/v/w``,
  ``hermite_polynomial_h/he``, ``laguerre_polynomial_l``, ``legendre_polynomial_p``.

All kernels are NumPy (no SciPy), in float64, rounded to the input's dtype.
"""

from __future__ import annotations

from .._package_dir import package_dir as _package_dir
from ._differentiable import (
    digamma,
    entr,
    erf,
    erfc,
    erfcx,
    erfinv,
    exp2,
    expit,
    expm1,
    gammainc,
    gammaincc,
    gammaln,
    i0,
    i0e,
    i1,
    i1e,
    log1p,
    log_ndtr,
    log_softmax,
    logit,
    logsumexp,
    multigammaln,
    ndtr,
    ndtri,
    polygamma,
    psi,
    round,
    sinc,
    softmax,
    xlog1py,
    xlogy,
    zeta,
)
from ._nondiff import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
    spherical_bessel_j0,
)

__all__ = [
    "airy_ai",
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "sinc",
    "softmax",
    "spherical_bessel_j0",
    "xlog1py",
    "xlogy",
    "zeta",
]

# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(globals())
