# PS-KD (Kim et al. 2021) on the glyph data set: the settings of
# smallconvnet_1xb128-pskd_fashion-mnist.py, which explains them.
_base_ = ['./smallconvnet_1xb128-hl_glyphs.py']
model = dict(
    head=dict(
        type='PSKDHead',
        alpha_T=0.8,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='PSKDHook')]
