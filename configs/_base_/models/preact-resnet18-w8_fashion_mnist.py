# A narrow PreActResNet-18 (base width 8, 176k parameters) for 28x28 grey
# images: it fits a few thousand Fashion-MNIST images (>= 99 % training
# accuracy), the regime of the paper's CIFAR networks, on a CPU.
custom_imports = dict(imports=['mmcolam'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='PreActResNet', depth=18, in_channels=1, base_channels=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
