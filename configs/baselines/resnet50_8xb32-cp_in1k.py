# Confidence penalty (CP, Pereyra et al. 2017) with ResNet-50 on ImageNet-1k
# (paper Table 3): cross-entropy minus beta times the entropy of the
# prediction, with ConfidencePenaltyLoss's default beta = 0.1 (the paper gives
# no beta). Otherwise the hard-label run.
_base_ = ['./resnet50_8xb32-hl_in1k.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='ConfidencePenaltyLoss')))
