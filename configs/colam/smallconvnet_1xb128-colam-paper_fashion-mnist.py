# COLAM in the paper's form (target y @ S, T = 2, no guard) on the small CNN:
# 4 stages of 3 epochs, K = 100 peers per class.
_base_ = ['../baselines/smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='COLAMHead',
        temperature=2.0,
        smoothing=None,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [
    dict(
        type='SoftLabelHook',
        interval=3,
        keep_true_class_top=False,
        label_temperature=None)
]
