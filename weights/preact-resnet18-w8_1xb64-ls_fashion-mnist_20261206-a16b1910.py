auto_scale_lr = dict(base_batch_size=64)
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'mmcolam',
    ])
data_preprocessor = dict(
    mean=[
        72.94,
    ], num_classes=10, std=[
        90.02,
    ])
data_root = 'data/fashion_mnist'
dataset_type = 'FashionMNISTGz'
default_hooks = dict(
    checkpoint=dict(_scope_='mmpretrain', interval=1, type='CheckpointHook'),
    logger=dict(_scope_='mmpretrain', interval=50, type='LoggerHook'),
    param_scheduler=dict(_scope_='mmpretrain', type='ParamSchedulerHook'),
    sampler_seed=dict(_scope_='mmpretrain', type='DistSamplerSeedHook'),
    timer=dict(_scope_='mmpretrain', type='IterTimerHook'),
    visualization=dict(
        _scope_='mmpretrain', enable=False, type='VisualizationHook'))
default_scope = 'mmpretrain'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
load_from = None
log_level = 'INFO'
model = dict(
    backbone=dict(
        base_channels=8, depth=18, in_channels=1, type='PreActResNet'),
    head=dict(
        in_channels=64,
        loss=dict(
            label_smooth_val=0.1, mode='original', type='LabelSmoothLoss'),
        num_classes=10,
        type='LinearClsHead'),
    neck=dict(type='GlobalAveragePooling'),
    type='ImageClassifier')
optim_wrapper = dict(
    optimizer=dict(lr=0.1, momentum=0.9, type='SGD', weight_decay=0.0001))
param_scheduler = dict(
    by_epoch=True, gamma=0.1, milestones=[
        20,
        26,
    ], type='MultiStepLR')
randomness = dict(deterministic=False, seed=None)
resume = False
test_cfg = dict()
test_dataloader = dict(
    batch_size=500,
    dataset=dict(
        data_root='data/fashion_mnist',
        download=False,
        pipeline=[
            dict(type='Grayscale'),
            dict(type='PackInputs'),
        ],
        split='test',
        type='FashionMNISTGz'),
    num_workers=0,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(topk=(1, ), type='Accuracy')
test_pipeline = [
    dict(type='Grayscale'),
    dict(type='PackInputs'),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=30)
train_dataloader = dict(
    batch_size=64,
    dataset=dict(
        data_root='data/fashion_mnist',
        download=False,
        pipeline=[
            dict(type='PackInputs'),
        ],
        split='train',
        type='FashionMNISTGz'),
    num_workers=0,
    sampler=dict(shuffle=True, type='DefaultSampler'))
train_pipeline = [
    dict(crop_size=28, padding=2, type='RandomCrop'),
    dict(direction='horizontal', prob=0.5, type='RandomFlip'),
    dict(type='PackInputs'),
]
val_cfg = dict()
val_dataloader = dict(
    batch_size=500,
    dataset=dict(
        data_root='data/fashion_mnist',
        download=False,
        pipeline=[
            dict(type='Grayscale'),
            dict(type='PackInputs'),
        ],
        split='test',
        type='FashionMNISTGz'),
    num_workers=0,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(topk=(1, ), type='Accuracy')
vis_backends = [
    dict(_scope_='mmpretrain', type='LocalVisBackend'),
]
visualizer = dict(
    _scope_='mmpretrain',
    type='UniversalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
