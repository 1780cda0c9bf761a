# COLAM, fitting regime: the hard-label run plus a COLAMHead and a
# SoftLabelHook, 6 stages of 5 epochs, K = 100 peers per class.
_base_ = ['../baselines/preact-resnet18-w8_1xb64-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='COLAMHead',
        temperature=1.0,
        smoothing=0.1,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=5)]
