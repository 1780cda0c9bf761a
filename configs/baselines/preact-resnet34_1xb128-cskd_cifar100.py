# Class-wise self-knowledge distillation, CS-KD (Yun et al., CVPR 2020) with
# PreActResNet-34 on CIFAR-100: CSKDHead with the authors' temperature 4 and
# weight 1, fed by ClassPairSampler (a random other sample of the same class
# after every sample).
# The batch of 64 images holds 32 (anchor, partner) pairs: twice the
# iterations per epoch of the hard-label run, each with half its anchors, at
# its lr. The authors' layout (their CIFAR runs: 128 anchors + 128 partners a
# step, as many steps as plain training) is here
#   --cfg-options train_dataloader.batch_size=128 \
#       auto_scale_lr.base_batch_size=128
_base_ = ['./preact-resnet34_1xb64-hl_cifar100.py']
model = dict(head=dict(type='CSKDHead', temperature=4.0, lambda_cls=1.0))
train_dataloader = dict(
    batch_size=64,
    sampler=dict(_delete_=True, type='ClassPairSampler', shuffle=True))
