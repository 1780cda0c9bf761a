# Hard labels (HL) with ResNet-101 on ImageNet-1k (paper Table 3): MMPretrain's
# ResNet-101 recipe unchanged: 8 GPUs x 32 images, SGD with lr 0.1, momentum
# 0.9 and weight decay 1e-4, 100 epochs with the lr divided by 10 at epochs 30,
# 60 and 90, random resized crop 224 + horizontal flip. The paper gives no
# ImageNet schedule beyond the 224 crops and the flip.
_base_ = ['mmpretrain::resnet/resnet101_8xb32_in1k.py']
custom_imports = dict(imports=['mmcolam'], allow_failed_imports=False)
# Augmentation seeded by its place in training: --resume is exact.
default_hooks = dict(sampler_seed=dict(type='AugmentationSeedHook'))
