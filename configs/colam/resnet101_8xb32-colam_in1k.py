# COLAM, ResNet-101 on ImageNet-1k: the paper's exact form (target y @ S, no
# guard); settings and their sources: configs/colam/README.md, Settings.
_base_ = ['../baselines/resnet101_8xb32-hl_in1k.py']

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
