from .pskd_hook import PSKDHook
from .soft_label_hook import SoftLabelHook

__all__ = ['PSKDHook', 'SoftLabelHook']
