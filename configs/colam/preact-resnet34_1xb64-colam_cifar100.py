# COLAM, PreActResNet-34 on CIFAR-100: the paper's exact form (target y @ S, no
# guard); settings and their sources: configs/colam/README.md, Settings.
_base_ = ['../baselines/preact-resnet34_1xb64-hl_cifar100.py']

model = dict(
    head=dict(
        type='COLAMHead',
        temperature=2.0,
        smoothing=None,  # the paper's target y @ S (Eq. 4)
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [
    dict(
        type='SoftLabelHook',
        interval=5,
        keep_true_class_top=False,
        label_temperature=None)
]
