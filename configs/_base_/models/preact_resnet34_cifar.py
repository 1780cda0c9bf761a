custom_imports = dict(imports=['mmcolam'], allow_failed_imports=False)

# model settings
model = dict(
    type='ImageClassifier',
    backbone=dict(type='PreActResNet', depth=34, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))
