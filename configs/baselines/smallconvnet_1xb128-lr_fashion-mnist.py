# Label Refinery (Bagherinezhad et al. 2018) on Fashion-MNIST, generation 2:
# the hard-label network retrained on the softmax of a frozen copy of itself
# trained on the labels (generation 1), for the same augmented crop; the
# ground truth is not used. Loss: soft cross-entropy against the teacher's
# probabilities (the paper's KL has the same gradient).
#
# Generation 1 is smallconvnet_1xb128-hl_fashion-mnist.py. The checkpoint below
# is where `python tools/train.py <that config>` leaves its last epoch; any
# other is given with --cfg-options model.teacher.checkpoint=PATH.
# tools/label_refinery.sh trains both generations in one go:
#   bash tools/label_refinery.sh \
#       configs/baselines/smallconvnet_1xb128-hl_fashion-mnist.py \
#       configs/baselines/smallconvnet_1xb128-lr_fashion-mnist.py \
#       work_dirs/lr_fashion-mnist
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(
    type='LabelRefinery',
    teacher=dict(
        config='{{ fileDirname }}/smallconvnet_1xb128-hl_fashion-mnist.py',
        checkpoint='work_dirs/smallconvnet_1xb128-hl_fashion-mnist/'
        'epoch_12.pth'),
    head=dict(
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
