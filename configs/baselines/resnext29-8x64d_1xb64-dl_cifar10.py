# DisturbLabel (DL, Xie et al. 2016) with ResNeXt-29 8x64d on CIFAR-10 (paper
# Table 1): each training label is replaced by a uniformly drawn class with
# probability alpha = 0.1, DisturbLabelLoss's default (the paper gives no
# alpha). Otherwise the hard-label run.
_base_ = ['./resnext29-8x64d_1xb64-hl_cifar10.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='DisturbLabelLoss')))
