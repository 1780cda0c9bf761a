# Hard labels on the glyph data set (118 classes; test typefaces never seen
# in training): the small CNN (24k parameters), which cannot fit 118 classes
# of many typefaces, on the Fashion-MNIST schedule (12 epochs).
_base_ = [
    '../_base_/models/smallconvnet_fashion_mnist.py',
    '../_base_/datasets/glyphs_bs128.py',
    '../_base_/schedules/fashion_mnist_12e.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=118))
default_hooks = dict(
    logger=dict(interval=50),
    # Augmentation seeded by its place in training: --resume is exact.
    sampler_seed=dict(type='AugmentationSeedHook'))
