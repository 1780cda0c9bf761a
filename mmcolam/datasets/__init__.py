from . import samplers  # noqa: F401
from .class_balanced_split import class_balanced_split, class_balanced_subset
from .fashion_mnist import FashionMNISTGz, unpack_fashion_mnist
from .grayscale import Grayscale

__all__ = [
    'class_balanced_split', 'class_balanced_subset', 'FashionMNISTGz',
    'Grayscale', 'unpack_fashion_mnist'
]
