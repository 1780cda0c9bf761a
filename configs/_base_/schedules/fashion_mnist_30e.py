# The paper's CIFAR optimiser (SGD, lr 0.1, momentum 0.9, weight decay 1e-4,
# batch 64) on a 30-epoch step schedule.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[20, 26],
                       gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=30)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
