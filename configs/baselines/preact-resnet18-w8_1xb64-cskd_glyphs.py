# CS-KD (Yun et al. 2020) on the glyphs: the settings of
# preact-resnet18-w8_1xb64-cskd_fashion-mnist.py, which explains them
# (a batch holds half as many (anchor, partner) pairs as images).
_base_ = ['./preact-resnet18-w8_1xb64-hl_glyphs.py']
model = dict(
    type='CSKDClassifier',
    head=dict(type='CSKDHead', temperature=4.0, lambda_cls=1.0))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassPairSampler', shuffle=True))
