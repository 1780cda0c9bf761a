# Online Label Smoothing, OLS (Zhang et al., "Delving Deep into Label
# Smoothing", IEEE TIP 2021) on Fashion-MNIST, built from COLAM's machinery:
# no new math module.
#
# Ours, every iteration:  L = CE(z, 0.5*y + 0.5*S[y])
#                           = 0.5*CE(z, y) + 0.5*CE(z, S[y])   (CE is linear
#                         in the target), the authors' 0.5/0.5 loss (alpha =
#                         0.5, their CIFAR/ImageNet script) at temperature 1.
# Ours, end of each epoch: S[c] = normalised mean softmax probability of the
#                         training samples of class c that the model
#                         classified correctly during that epoch (training
#                         forward passes, augmented inputs), used for the
#                         whole next epoch, as the authors do.
#
# Where the authors' code (github.com/zhangchbin/OnlineLabelSmoothing,
# cifar/scripts/train_cifar_all_methods.py) and ours differ:
# - First epoch. Theirs starts from S = 0, so epoch 1 trains on 0.5*CE(hard)
#   alone (their fine-grained script starts from the uniform 1/C). Ours
#   starts from S = I, so epoch 1 trains on the full CE(hard): the same
#   targets, twice their loss scale in that one epoch.
# - A class with no correctly classified sample in an epoch: theirs resets
#   its row to the uniform 1/C, ours keeps the previous row (with a warning).
# - keep_true_class_top=False (the guard off): OLS has no guard. With
#   only_correct=True every counted probability vector has its true class on
#   top, so their mean does too and the guard could only fire on exact ties.
# - Their fine-grained script also weights the two terms 1.0/1.0 and skips
#   updating rows whose top entry is already >= 0.88; not used here (nor by
#   them on CIFAR/ImageNet).
# - Ours also accepts Mixup/CutMix scores (a mixed sample counts for the
#   class of largest score, if predicted); theirs has no batch augmentation.
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='COLAMHead',
        temperature=1.0,
        target='paper',
        hard_label_weight=0.5,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [
    dict(
        type='SoftLabelHook',
        interval=1,
        peer_mode='online',
        statistic='probs',
        only_correct=True,
        keep_true_class_top=False)
]
