# DisturbLabel (DL, Xie et al. 2016) with WRN-40-4 on CIFAR-100 (paper Table
# 2): each training label is replaced by a uniformly drawn class with
# probability alpha = 0.1, DisturbLabelLoss's default (the paper gives no
# alpha). Otherwise the hard-label run.
_base_ = ['./wide-resnet40-4_1xb64-hl_cifar100.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='DisturbLabelLoss')))
