"""Layer types by name, so that a checkpoint can rebuild a network.

A layer class registers itself with ``@register_layer``; ``Sequential.load``
looks the names written in a checkpoint up here. A student's own layer can
register too, as long as its ``config()`` returns its constructor arguments.
"""

from __future__ import annotations

#: the registered layer classes by name (``register_layer`` adds them)
LAYER_TYPES: dict[str, type] = {}


def register_layer(cls: type) -> type:
    """Class decorator: make ``cls`` loadable from a checkpoint by its name."""
    name = cls.__name__
    if name in LAYER_TYPES and LAYER_TYPES[name] is not cls:
        raise ValueError(f"a different layer type is already registered as {name!r}")
    LAYER_TYPES[name] = cls
    return cls


def layer_type(name: str) -> type:
    """The registered class called ``name``; a clear error for an unknown one."""
    try:
        return LAYER_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(LAYER_TYPES)) or "none"
        raise ValueError(f"unknown layer type {name!r} (registered: {known})") from None
