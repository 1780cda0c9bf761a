# Class-wise self-knowledge distillation, CS-KD (Yun et al., CVPR 2020) with
# PreActResNet-34 on CIFAR-100, in the authors' layout: every step trains on
# as many anchors as the hard-label run's batch (64) and runs as many partners
# (a random sample of the anchor's class, possibly the anchor itself) in a
# second, no-grad pass, as their train.py does (CSKDClassifier). The loader's
# batch of 128 images is 64 (anchor, partner) pairs, so an epoch has as many
# steps as the hard-label run, at its lr (auto_scale_lr counts images: 128).
# CSKDHead has the authors' temperature 4 and weight 1. The CS-KD authors'
# own CIFAR runs (their train.py defaults: 128 anchors a step, 200 epochs,
# lr / 10 at epochs 100 and 150, weight decay 1e-4) differ from the COLAM
# paper's schedule used here; their batch is
#   --cfg-options train_dataloader.batch_size=256 \
#       auto_scale_lr.base_batch_size=256
_base_ = ['./preact-resnet34_1xb64-hl_cifar100.py']
model = dict(
    type='CSKDClassifier',
    head=dict(type='CSKDHead', temperature=4.0, lambda_cls=1.0))
train_dataloader = dict(
    batch_size=128,
    sampler=dict(_delete_=True, type='ClassPairSampler', shuffle=True))
auto_scale_lr = dict(base_batch_size=128)
