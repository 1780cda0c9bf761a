# Class-wise self-knowledge distillation (CS-KD, Yun et al. 2020) with
# ResNet-101 on ImageNet-1k (paper Table 3): a CSKDHead with the authors'
# temperature 4 and weight 1, fed by ClassPairSampler, which puts a random
# sample of the anchor's class (possibly the anchor itself, as in the
# authors' sampler) after every sample. A batch of 64 per GPU therefore holds
# 32 (anchor, partner) pairs: 32 anchors per GPU as the hard-label run has 32
# images, the same number of iterations per epoch and the same lr.
# CSKDClassifier runs the partners in a second, no-grad forward pass with
# their own BatchNorm statistics, as the authors' train.py does.
# auto_scale_lr counts the loader's images, 8 x 64 = 512, so the lr (the
# hard-label run's, for 256 anchors a step) is not rescaled.
_base_ = ['./resnet101_8xb32-hl_in1k.py']

model = dict(
    type='CSKDClassifier',
    head=dict(type='CSKDHead', temperature=4.0, lambda_cls=1.0))
train_dataloader = dict(
    batch_size=64,
    sampler=dict(_delete_=True, type='ClassPairSampler', shuffle=True))
auto_scale_lr = dict(base_batch_size=512)
