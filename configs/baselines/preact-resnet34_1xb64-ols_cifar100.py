# Online Label Smoothing, OLS (Zhang et al. 2021) for PreActResNet-34 on
# CIFAR-100: the hard-label run plus COLAM's head and hook configured as OLS.
# See ./smallconvnet_1xb128-ols_fashion-mnist.py for the formulas and where
# this differs from the authors' code (first epoch: S = I here, S = 0 there;
# a class with no correct sample keeps its row here, gets 1/C there).
_base_ = ['./preact-resnet34_1xb64-hl_cifar100.py']
model = dict(
    head=dict(
        type='COLAMHead',
        temperature=1.0,
        target='paper',
        hard_label_weight=0.5,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [
    dict(
        type='SoftLabelHook',
        interval=1,
        peer_mode='online',
        statistic='probs',
        only_correct=True,
        keep_true_class_top=False)
]
