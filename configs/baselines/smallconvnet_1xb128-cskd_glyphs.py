# CS-KD (Yun et al. 2020) on the glyphs: the settings of
# smallconvnet_1xb128-cskd_fashion-mnist.py, which explains them
# (a batch holds half as many (anchor, partner) pairs as images).
_base_ = ['./smallconvnet_1xb128-hl_glyphs.py']
model = dict(
    type='CSKDClassifier',
    head=dict(type='CSKDHead', temperature=4.0, lambda_cls=1.0))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassPairSampler', shuffle=True))
