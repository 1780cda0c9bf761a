# Hard labels: the plain MMPretrain run every method is measured against.
_base_ = [
    '../_base_/models/smallconvnet_fashion_mnist.py',
    '../_base_/datasets/fashion_mnist_bs128.py',
    '../_base_/schedules/fashion_mnist_12e.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_hooks = dict(
    logger=dict(interval=50),
    # Augmentation seeded by its place in training: --resume is exact.
    sampler_seed=dict(type='AugmentationSeedHook'))
