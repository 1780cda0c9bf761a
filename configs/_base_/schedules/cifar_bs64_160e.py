# The paper's CIFAR schedule (Section 4.2): SGD with lr 0.1, momentum 0.9 and
# weight decay 1e-4, batch 64 on one GPU, 160 epochs.
# The paper gives no learning-rate decay. We divide the lr by 10 at 50 % and
# 75 % of training (epochs 80 and 120), the usual step schedule for these
# networks (ResNet, WRN, ResNeXt and DenseNet papers on CIFAR).
_base_ = 'mmpretrain::_base_/schedules/cifar10_bs128.py'

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[80, 120], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=160, val_interval=1)
# The lr above is for one GPU with batch 64; --auto-scale-lr scales it.
auto_scale_lr = dict(base_batch_size=64)
