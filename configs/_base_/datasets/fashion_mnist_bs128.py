# Fashion-MNIST from its four IDX .gz files, in data/fashion_mnist or where
# Debian's dataset-fashion-mnist package puts them: FashionMNISTGz unpacks them
# into data/fashion_mnist on first use, where MMPretrain's FashionMNIST reads.
# num_workers=0: the images are already in memory, and a worker only adds the
# cost of sending every sample to the main process (MMEngine's pseudo_collate
# keeps samples apart): on 2 cores, 2 epochs on 5,000 images took 16.1 s with
# one worker and 7.5 s with none.
dataset_type = 'FashionMNISTGz'
data_root = 'data/fashion_mnist'
data_preprocessor = dict(num_classes=10, mean=[72.94], std=[90.02])

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
# Grayscale: image files (ImageClassificationInferencer, LoadImageFromFile)
# are read as three channels; the data set's arrays are grey already.
test_pipeline = [dict(type='Grayscale'), dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        download=False,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        download=False,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Top-1 accuracy, and how well the confidence is calibrated: the expected
# calibration error of the top-1 confidence (15 equal-width bins, in %) and
# the mean negative log-likelihood of the true class (mmcolam's metrics).
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='ExpectedCalibrationError', num_bins=15),
    dict(type='NegativeLogLikelihood'),
]
test_dataloader = val_dataloader
test_evaluator = val_evaluator
