# COLAM, ResNet-101 from ImageNet-1k weights on FGVC-Aircraft: the paper's
# exact form (target y @ S, no guard); settings and their sources:
# configs/colam/README.md, Settings.
_base_ = ['../baselines/resnet101_in1k-pre_1xb64-hl_fgvc-aircraft.py']

model = dict(
    head=dict(
        type='COLAMHead',
        target='paper',  # y @ S (the paper's Eq. 4), no guard
        temperature=2.0,
        loss=dict(use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=5, num_peers=None)]
