"""Function transforms (``cr.func``): grad, vjp, jvp, jacrev, jacfwd, hessian, and
``functional_call`` (a module as a function of its parameters)."""
from .autograd.functional import grad, hessian, jacfwd, jacrev, jvp, vjp
from .nn.utils.stateless import functional_call

__all__ = ["functional_call", "grad", "hessian", "jacfwd", "jacrev", "jvp", "vjp"]
