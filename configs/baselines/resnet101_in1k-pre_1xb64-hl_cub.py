# Hard labels (HL) for transfer learning: ResNet-101 from ImageNet-1k weights,
# fine-tuned on CUB-200-2011 (paper Table 4). The paper's transfer settings
# (Section 4.2): 40 epochs, batch 64, SGD with lr 0.01, momentum 0.9 and weight
# decay 1e-4, ImageNet augmentation; the whole network is fine-tuned from
# MMPretrain's resnet101_8xb32_in1k backbone with a new head.
_base_ = [
    '../_base_/models/resnet101_in1k-pre.py',
    '../_base_/datasets/cub_bs64.py',
    '../_base_/schedules/transfer_bs64_40e.py',
    'mmpretrain::_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=200))
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3),
    # Augmentation seeded by its place in training: --resume is exact.
    sampler_seed=dict(type='AugmentationSeedHook'))
