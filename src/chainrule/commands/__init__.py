"""Sub-commands of the ``chainrule`` CLI: one module each, exposing ``register(subparsers)``."""
