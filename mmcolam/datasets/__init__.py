from . import samplers  # noqa: F401
from .class_balanced_split import class_balanced_split
from .fashion_mnist import FashionMNISTGz, unpack_fashion_mnist
from .grayscale import Grayscale

__all__ = [
    'class_balanced_split', 'FashionMNISTGz', 'Grayscale',
    'unpack_fashion_mnist'
]
