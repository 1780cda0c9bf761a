# PS-KD (Kim et al. 2021), fitting regime: the SmallConvNet config's settings.
_base_ = ['./preact-resnet18-w8_1xb64-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='PSKDHead',
        alpha_T=0.8,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='PSKDHook')]
