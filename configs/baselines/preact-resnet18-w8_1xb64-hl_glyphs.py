# Hard labels on the glyph data set with the larger network: the narrow
# PreActResNet-18 (base width 8) that fits Fashion-MNIST's training subsets,
# 30 epochs. (tools/analysis_tools/benchmark.py --train-subset picks fewer
# training images where it must fit them.)
_base_ = [
    '../_base_/models/preact-resnet18-w8_fashion_mnist.py',
    '../_base_/datasets/glyphs_bs128.py',
    '../_base_/schedules/fashion_mnist_30e.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=118))
train_dataloader = dict(batch_size=64)
default_hooks = dict(
    logger=dict(interval=50),
    # Augmentation seeded by its place in training: --resume is exact.
    sampler_seed=dict(type='AugmentationSeedHook'))
