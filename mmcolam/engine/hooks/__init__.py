from .soft_label_hook import SoftLabelHook

__all__ = ['SoftLabelHook']
