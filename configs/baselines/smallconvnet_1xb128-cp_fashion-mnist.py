# Confidence penalty (CP, Pereyra et al. 2017) on Fashion-MNIST (not in the
# paper): cross-entropy minus beta times the entropy of the prediction, with
# ConfidencePenaltyLoss's default beta = 0.1 (the paper gives no beta).
# Otherwise the hard-label run.
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='ConfidencePenaltyLoss')))
