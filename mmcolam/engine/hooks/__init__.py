from .augmentation_seed_hook import AugmentationSeedHook
from .pskd_hook import PSKDHook
from .soft_label_hook import SoftLabelHook

__all__ = ['AugmentationSeedHook', 'PSKDHook', 'SoftLabelHook']
