# COLAM on Fashion-MNIST: the hard-label run plus a COLAMHead and a
# SoftLabelHook. 12 epochs = 4 stages of 3 epochs (updates after epochs 3, 6
# and 9); T = 2 from the paper's recommended range [1, 2] (Section 5.3);
# K = 100 peers per class, the largest K of the paper's grid (Fig. 4).
_base_ = ['../baselines/smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='COLAMHead',
        temperature=2.0,
        loss=dict(type='CrossEntropyLoss', use_soft=True, loss_weight=1.0)))
custom_hooks = [dict(type='SoftLabelHook', interval=3, num_peers=100)]
