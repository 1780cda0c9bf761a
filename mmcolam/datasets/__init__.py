from . import samplers  # noqa: F401
from .class_balanced_split import class_balanced_split

__all__ = ['class_balanced_split']
