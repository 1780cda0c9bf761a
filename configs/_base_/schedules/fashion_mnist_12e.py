# A short schedule for the small CNN: SGD as in the paper's CIFAR setting
# (momentum 0.9, weight decay 1e-4), lr 0.1, step decay.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11],
                       gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
