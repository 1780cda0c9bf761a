# Online Label Smoothing, OLS (Zhang et al. 2021) for PreActResNet-34 on
# CIFAR-100: the hard-label run plus COLAM's head and hook configured as the
# authors' CIFAR script runs OLS (table at zeros, loss 0.5 CE(y) + 0.5
# CE(S[y]), each epoch's mean softmax of the correctly classified samples,
# 1/C for a class without one). See ./smallconvnet_1xb128-ols_fashion-mnist.py
# for the formulas and README.md for what still differs.
_base_ = [
    './preact-resnet34_1xb64-hl_cifar100.py',
    '../_base_/methods/ols.py'
]
model = dict(head={{_base_.ols_head}})
custom_hooks = [{{_base_.ols_hook}}]
