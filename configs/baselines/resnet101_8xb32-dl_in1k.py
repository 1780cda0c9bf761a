# DisturbLabel (DL, Xie et al. 2016) with ResNet-101 on ImageNet-1k (paper
# Table 3): each training label is replaced by a uniformly drawn class with
# probability alpha = 0.1, DisturbLabelLoss's default (the paper gives no
# alpha). Otherwise the hard-label run.
_base_ = ['./resnet101_8xb32-hl_in1k.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='DisturbLabelLoss')))
