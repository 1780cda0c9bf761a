# Label Refinery (Bagherinezhad et al. 2018) for ResNet-50 on ImageNet,
# generation 2: ResNet-50 retrained on the softmax of a frozen ResNet-50
# trained on the labels (the paper's "ResNet-50 refined by ResNet-50"), for the
# same augmented crop, without the ground truth, on the same schedule.
# Generation 1 is MMPretrain's released resnet50_8xb32_in1k (76.55 % top-1),
# so no first run is needed; tools/label_refinery.sh with
# mmpretrain::resnet/resnet50_8xb32_in1k.py as CONFIG_GEN1 trains your own.
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py']
custom_imports = dict(imports=['mmcolam'], allow_failed_imports=False)
model = dict(
    type='LabelRefinery',
    teacher=dict(
        config='mmpretrain::resnet/resnet50_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/'
        'resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
    head=dict(
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
# Augmentation seeded by its place in training: --resume is exact.
default_hooks = dict(sampler_seed=dict(type='AugmentationSeedHook'))
