custom_imports = dict(imports=['mmcolam'], allow_failed_imports=False)

# model settings
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DenseNetBC',
        depth=100,
        growth_rate=12,
        compression=0.5,
        out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=342,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))
