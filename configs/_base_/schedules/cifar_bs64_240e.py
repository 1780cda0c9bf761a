# The paper's CIFAR schedule for DenseNet-BC-100, which "converges slower"
# (Section 4.2): as cifar_bs64_160e.py but 240 epochs, with the same
# (our) lr decay at 50 % and 75 % of training: epochs 120 and 180.
_base_ = './cifar_bs64_160e.py'

param_scheduler = dict(milestones=[120, 180])
train_cfg = dict(max_epochs=240)
