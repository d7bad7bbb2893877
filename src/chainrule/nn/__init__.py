"""Neural-network building blocks (``cr.nn``): Module, Parameter, layers, losses, init."""
from . import functional, init, utils  # noqa: F401
from .layers import *  # noqa: F401,F403
from .module import Module
from .parameter import Buffer, Parameter

__all__ = ["Module", "Parameter", "Buffer", "functional", "init", "utils"]
