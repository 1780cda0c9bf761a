from . import backbones, classifiers, heads, losses  # noqa: F401
