# Hard labels (HL) with WRN-40-4 on CIFAR-100 (paper Table 2): plain
# cross-entropy, the paper's "vanilla training" (Section 4.2). MMPretrain's
# CIFAR-100 settings already hold the paper's augmentation (pad 4, random 32x32
# crop, horizontal flip); the batch is the paper's 64 on one GPU, the schedule
# the paper's 160 epochs with our lr decay (see the schedule file).
_base_ = [
    '../_base_/models/wide_resnet40_4_cifar.py',
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    '../_base_/schedules/cifar_bs64_160e.py',
    'mmpretrain::_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))

train_dataloader = dict(batch_size=64)
# Keep the three latest checkpoints (each holds the soft labels of a
# COLAM run), not one per epoch.
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3),
    # Augmentation seeded by its place in training: --resume is exact.
    sampler_seed=dict(type='AugmentationSeedHook'))
