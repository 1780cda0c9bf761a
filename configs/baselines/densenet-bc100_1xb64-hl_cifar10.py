# Hard labels (HL) with DenseNet-BC-100 (k = 12) on CIFAR-10 (paper Table 1):
# plain cross-entropy, the paper's "vanilla training" (Section 4.2).
# MMPretrain's CIFAR-10 settings already hold the paper's augmentation (pad 4,
# random 32x32 crop, horizontal flip); the batch is the paper's 64 on one GPU,
# the schedule the paper's 240 epochs (DenseNet-BC-100 converges slower) with
# our lr decay (see the schedule file).
_base_ = [
    '../_base_/models/densenet_bc100_cifar.py',
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar_bs64_240e.py',
    'mmpretrain::_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=64)
# Keep the three latest checkpoints (each holds the soft labels of a
# COLAM run), not one per epoch.
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3),
    # Augmentation seeded by its place in training: --resume is exact.
    sampler_seed=dict(type='AugmentationSeedHook'))
