"""Function transforms (``cr.func``): grad, vjp, jvp, jacrev, jacfwd, hessian."""
from .autograd.functional import grad, hessian, jacfwd, jacrev, jvp, vjp

__all__ = ["grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]
