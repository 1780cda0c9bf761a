# Hard labels, fitting regime: a narrow PreActResNet-18 on Fashion-MNIST
# without augmentation, 30 epochs, so that it fits its training images
# (tools/analysis_tools/benchmark.py --train-subset picks how many) as the
# paper's networks fit CIFAR's, at a cost a CPU can pay.
_base_ = [
    '../_base_/models/preact-resnet18-w8_fashion_mnist.py',
    '../_base_/datasets/fashion_mnist_bs128.py',
    '../_base_/schedules/fashion_mnist_30e.py',
    'mmpretrain::_base_/default_runtime.py',
]
train_dataloader = dict(
    batch_size=64, dataset=dict(pipeline=[dict(type='PackInputs')]))
default_hooks = dict(
    logger=dict(interval=50),
    # Augmentation seeded by its place in training: --resume is exact.
    sampler_seed=dict(type='AugmentationSeedHook'))
