# COLAM in the paper's form (target y @ S, T = 2, no guard), fitting regime:
# 6 stages of 5 epochs, K = 100 peers per class.
_base_ = ['../baselines/preact-resnet18-w8_1xb64-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='COLAMHead',
        temperature=2.0,
        smoothing=None,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [
    dict(
        type='SoftLabelHook',
        interval=5,
        keep_true_class_top=False,
        label_temperature=None)
]
