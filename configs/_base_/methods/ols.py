# Online Label Smoothing, OLS (Zhang et al. 2021), as COLAM's head and hook:
# configs/baselines/smallconvnet_1xb128-ols_fashion-mnist.py explains the
# settings. A config takes them with `_base_ = [<its hard-label config>,
# '../_base_/methods/ols.py']`, `model = dict(head={{_base_.ols_head}})` and
# `custom_hooks = [{{_base_.ols_hook}}]` (two bases cannot both set `model`).
ols_head = dict(
    type='COLAMHead',
    temperature=1.0,
    target='paper',
    hard_label_weight=0.5,
    initial_table='zeros',
    loss=dict(type='CrossEntropyLoss', use_soft=True))
ols_hook = dict(
    type='SoftLabelHook',
    interval=1,
    peer_mode='online',
    statistic='probs',
    only_correct=True,
    empty_rows='uniform')
