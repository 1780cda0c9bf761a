# The paper's transfer-learning schedule (Section 4.2): fine-tune for 40
# epochs with SGD, lr 0.01, momentum 0.9, weight decay 1e-4, batch 64.
# The paper gives no learning-rate decay nor the number of GPUs; we use one
# GPU and, as for CIFAR, divide the lr by 10 at 50 % and 75 % of training
# (epochs 20 and 30).
_base_ = 'mmpretrain::_base_/schedules/imagenet_bs256.py'

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[20, 30], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=1)
auto_scale_lr = dict(base_batch_size=64)
