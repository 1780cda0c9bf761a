# Online Label Smoothing (Zhang et al. 2021) on the glyphs: the settings
# of smallconvnet_1xb128-ols_fashion-mnist.py, which explains them.
_base_ = [
    './smallconvnet_1xb128-hl_glyphs.py',
    '../_base_/methods/ols.py'
]
model = dict(head={{_base_.ols_head}})
custom_hooks = [{{_base_.ols_hook}}]
