# COLAM, ResNet-101 from ImageNet-1k weights on DTD: the paper's exact form
# (target y @ S, no guard); settings and their sources:
# configs/colam/README.md, Settings.
_base_ = ['../baselines/resnet101_in1k-pre_1xb64-hl_dtd.py']

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
        num_peers=None,
        keep_true_class_top=False,
        label_temperature=None)
]
