from .cskd_classifier import CSKDClassifier
from .label_refinery import LabelRefinery

__all__ = ['CSKDClassifier', 'LabelRefinery']
