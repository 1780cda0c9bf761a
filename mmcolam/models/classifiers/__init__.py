from .label_refinery import LabelRefinery

__all__ = ['LabelRefinery']
