# ResNet-101 initialised from MMPretrain's ImageNet-1k model
# (resnet101_8xb32_in1k, 77.97 % top-1 in MMPretrain's model zoo), for the
# paper's transfer-learning experiments (Section 4.2). Only the backbone is
# loaded; set model.head.num_classes to the target data set's classes.
_base_ = 'mmpretrain::_base_/models/resnet101.py'
custom_imports = dict(imports=['mmcolam'], allow_failed_imports=False)

pretrained = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet101_8xb32_in1k_20210831-539c63f8.pth'  # noqa: E501
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone')))
