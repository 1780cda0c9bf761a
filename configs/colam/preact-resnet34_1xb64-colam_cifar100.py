# COLAM, PreActResNet-34 on CIFAR-100: the paper's exact form (target y @ S, no
# guard); settings and their sources: configs/colam/README.md, Settings.
_base_ = ['../baselines/preact-resnet34_1xb64-hl_cifar100.py']

model = dict(
    head=dict(
        type='COLAMHead',
        target='paper',  # y @ S (the paper's Eq. 4), no guard
        temperature=2.0,
        loss=dict(use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=5)]
