# Online Label Smoothing (Zhang et al. 2021), fitting regime: COLAM's
# machinery as in smallconvnet_1xb128-ols_fashion-mnist.py, which explains it.
_base_ = ['./preact-resnet18-w8_1xb64-hl_fashion-mnist.py']
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
