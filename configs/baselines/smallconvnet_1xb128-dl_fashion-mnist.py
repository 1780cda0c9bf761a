# DisturbLabel (DL, Xie et al. 2016) on Fashion-MNIST (not in the paper): each
# training label is replaced by a uniformly drawn class with probability alpha
# = 0.1, DisturbLabelLoss's default (the paper gives no alpha). Otherwise the
# hard-label run.
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='DisturbLabelLoss')))
