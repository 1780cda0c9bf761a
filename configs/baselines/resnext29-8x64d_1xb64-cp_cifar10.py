# Confidence penalty (CP, Pereyra et al. 2017) with ResNeXt-29 8x64d on
# CIFAR-10 (paper Table 1): cross-entropy minus beta times the entropy of the
# prediction, with ConfidencePenaltyLoss's default beta = 0.1 (the paper gives
# no beta). Otherwise the hard-label run.
_base_ = ['./resnext29-8x64d_1xb64-hl_cifar10.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='ConfidencePenaltyLoss')))
