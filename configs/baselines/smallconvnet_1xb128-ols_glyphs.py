# Online Label Smoothing (Zhang et al. 2021) on the glyphs: the settings
# of smallconvnet_1xb128-ols_fashion-mnist.py, which explains them.
_base_ = ['./smallconvnet_1xb128-hl_glyphs.py']
model = dict(
    head=dict(
        type='COLAMHead',
        temperature=1.0,
        target='paper',
        hard_label_weight=0.5,
        initial_table='zeros',
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [
    dict(
        type='SoftLabelHook',
        interval=1,
        peer_mode='online',
        statistic='probs',
        only_correct=True,
        empty_rows='uniform')
]
