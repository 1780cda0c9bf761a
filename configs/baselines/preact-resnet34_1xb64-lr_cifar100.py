# Label Refinery (Bagherinezhad et al. 2018) for PreActResNet-34 on CIFAR-100,
# generation 2: trained on the softmax of a frozen generation 1 (the
# hard-label run of the same network) for the same augmented crop, without the
# ground truth. Same schedule as generation 1 (the paper keeps the learning-
# rate regime). The checkpoint below is where `python tools/train.py
# configs/baselines/preact-resnet34_1xb64-hl_cifar100.py` leaves its last epoch
# (160); tools/label_refinery.sh trains both generations and passes the real
# path with --cfg-options model.teacher.checkpoint=PATH.
_base_ = ['./preact-resnet34_1xb64-hl_cifar100.py']
model = dict(
    type='LabelRefinery',
    teacher=dict(
        config='{{ fileDirname }}/preact-resnet34_1xb64-hl_cifar100.py',
        checkpoint='work_dirs/preact-resnet34_1xb64-hl_cifar100/'
        'epoch_160.pth'),
    head=dict(
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
