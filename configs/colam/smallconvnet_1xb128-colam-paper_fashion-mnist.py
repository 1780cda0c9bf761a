# COLAM in the paper's form (target y @ S, T = 2, no guard) on the small CNN:
# 4 stages of 3 epochs, K = 100 peers per class.
_base_ = ['../baselines/smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='COLAMHead',
        target='paper',  # y @ S (the paper's Eq. 4), no guard
        temperature=2.0,
        loss=dict(use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=3)]
