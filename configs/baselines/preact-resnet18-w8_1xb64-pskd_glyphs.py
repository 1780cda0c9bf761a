# PS-KD (Kim et al. 2021) on the glyph data set: the settings of
# preact-resnet18-w8_1xb64-pskd_fashion-mnist.py, which explains them.
_base_ = ['./preact-resnet18-w8_1xb64-hl_glyphs.py']
model = dict(
    head=dict(
        type='PSKDHead',
        alpha_T=0.8,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='PSKDHook')]
