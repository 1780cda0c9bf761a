# Online Label Smoothing (Zhang et al. 2021), fitting regime: COLAM's
# machinery as in smallconvnet_1xb128-ols_fashion-mnist.py, which explains it.
_base_ = [
    './preact-resnet18-w8_1xb64-hl_fashion-mnist.py',
    '../_base_/methods/ols.py'
]
model = dict(head={{_base_.ols_head}})
custom_hooks = [{{_base_.ols_hook}}]
