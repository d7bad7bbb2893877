"""Sub-commands of the ``chainrule`` CLI: one module each, exposing ``register(subparsers)``."""

__all__: list[str] = []  # the sub-command modules are loaded by chainrule.cli, not re-exported
