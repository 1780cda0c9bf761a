# Class-wise self-knowledge distillation, CS-KD (Yun et al., CVPR 2020) on
# Fashion-MNIST (not in the paper): CSKDHead with the authors' temperature 4
# and weight 1, fed by ClassPairSampler, which puts a random sample of the
# anchor's class (possibly the anchor itself, as in the authors' sampler)
# after every sample; CSKDClassifier runs the partners in a second, no-grad
# forward pass, as the authors' train.py does.
# The batch of 128 images holds 64 (anchor, partner) pairs, so an epoch has
# twice the iterations of the hard-label run, each with half its anchors (the
# lr is the hard-label run's). The authors' layout, as many anchors per step
# as the hard-label batch (and as many steps), is
#   --cfg-options train_dataloader.batch_size=256 \
#       auto_scale_lr.base_batch_size=256
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(
    type='CSKDClassifier',
    head=dict(type='CSKDHead', temperature=4.0, lambda_cls=1.0))
train_dataloader = dict(
    batch_size=128,
    sampler=dict(_delete_=True, type='ClassPairSampler', shuffle=True))
