# CS-KD (Yun et al. 2020), fitting regime: the SmallConvNet config's settings
# (smallconvnet_1xb128-cskd_fashion-mnist.py explains them); the batch of 64
# images is 32 (anchor, partner) pairs.
_base_ = ['./preact-resnet18-w8_1xb64-hl_fashion-mnist.py']
model = dict(
    type='CSKDClassifier',
    head=dict(type='CSKDHead', temperature=4.0, lambda_cls=1.0))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassPairSampler', shuffle=True))
