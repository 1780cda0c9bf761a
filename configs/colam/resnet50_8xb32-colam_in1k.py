# COLAM, ResNet-50 on ImageNet-1k: the paper's exact form (target y @ S, no
# guard); settings and their sources: configs/colam/README.md, Settings.
_base_ = ['../baselines/resnet50_8xb32-hl_in1k.py']

model = dict(
    head=dict(
        type='COLAMHead',
        target='paper',  # y @ S (the paper's Eq. 4), no guard
        temperature=2.0,
        loss=dict(use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=5)]
