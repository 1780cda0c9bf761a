# Online Label Smoothing, OLS (Zhang et al., "Delving Deep into Label
# Smoothing", IEEE TIP 2021) on Fashion-MNIST, built from COLAM's machinery
# as the authors' CIFAR/ImageNet script (github.com/zhangchbin/
# OnlineLabelSmoothing, cifar/scripts/train_cifar_all_methods.py) runs it.
#
# Every iteration:  L = CE(z, 0.5*y + 0.5*S[y])
#                     = 0.5*CE(z, y) + 0.5*CE(z, S[y])
#                   (CE is linear in the target): their 0.5/0.5 loss at
#                   temperature 1. S starts at zeros (initial_table), so the
#                   first epoch trains on 0.5*CE(z, y) alone, as theirs.
# End of each epoch: S[c] = mean softmax probability of the training samples
#                   of class c that the model classified correctly during
#                   that epoch (training forward passes, augmented inputs),
#                   used for the whole next epoch; a class without any gets
#                   the uniform row 1/C (empty_rows='uniform'), as theirs.
# target='paper' implies the hook's guard off (OLS has none; with
# only_correct=True every counted probability vector has its true class on
# top, so their mean does too).
#
# What still differs from their code: ./README.md (their
# fine-grained script's variant is not offered; Mixup/CutMix scores are
# accepted, a mixed sample counting for its class of largest score).
_base_ = [
    './smallconvnet_1xb128-hl_fashion-mnist.py',
    '../_base_/methods/ols.py'
]
model = dict(head={{_base_.ols_head}})
custom_hooks = [{{_base_.ols_hook}}]
