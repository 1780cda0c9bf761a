# Teacher-free KD with a manually designed teacher, Tf-KD_reg (Yuan et al.,
# CVPR 2020) with PreActResNet-34 on CIFAR-100: the hard-label run with
# TfKDRegLoss's defaults, which are the authors' CIFAR-100 ResNet-18 run
# (alpha 0.1, teacher temperature 20, a = 0.99, unsoftened student, their
# multiplier 100 = per-sample KL weight 1 for 100 classes); the authors give no
# PreActResNet-34 run, the ResNet-18 one is the closest network.
_base_ = ['./preact-resnet34_1xb64-hl_cifar100.py']
model = dict(head=dict(loss=dict(_delete_=True, type='TfKDRegLoss')))
