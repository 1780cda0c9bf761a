# Label Refinery (Bagherinezhad et al. 2018) for ResNet-101 on ImageNet,
# generation 2: ResNet-101 retrained on the softmax of a frozen ResNet-101
# trained on the labels, for the same augmented crop, without the ground
# truth, on the same schedule. Generation 1 is MMPretrain's released
# resnet101_8xb32_in1k (77.97 % top-1).
_base_ = ['mmpretrain::resnet/resnet101_8xb32_in1k.py']
custom_imports = dict(imports=['mmcolam'], allow_failed_imports=False)
model = dict(
    type='LabelRefinery',
    teacher=dict(
        config='mmpretrain::resnet/resnet101_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/'
        'resnet/resnet101_8xb32_in1k_20210831-539c63f8.pth'),
    head=dict(
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
# Augmentation seeded by its place in training: --resume is exact.
default_hooks = dict(sampler_seed=dict(type='AugmentationSeedHook'))
