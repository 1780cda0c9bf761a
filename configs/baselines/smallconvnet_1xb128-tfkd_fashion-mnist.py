# Teacher-free KD with a manually designed teacher, Tf-KD_reg (Yuan et al.,
# CVPR 2020) on Fashion-MNIST (not in the paper): the hard-label run with
#   L = (1 - alpha) CE(z, y)
#       + alpha * kl_weight * KL(softmax(u / T) || softmax(z))
# where u puts a = 0.99 on the true class and 0.01 / (C - 1) elsewhere.
# TfKDRegLoss's defaults: the authors' CIFAR-100 ResNet-18 run (reg_alpha 0.1,
# reg_temperature 20, a = 0.99, an unsoftened student) with their multiplier
# 100 turned into the per-sample KL weight multiplier / C = 1 for C = 100. The
# same per-sample weight 1 is kept for C = 10 (their code applied literally,
# a mean over N*C entries times 100, would weigh the KL by 100 / 10 = 10).
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(head=dict(loss=dict(_delete_=True, type='TfKDRegLoss')))
