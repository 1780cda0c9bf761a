# The glyph data set: 118 classes of Latin letters, digits, symbols and
# accented letters in 32x32 grey PNGs, rendered from Debian's font packages
# by tools/dataset_converters/render_glyphs.py into data/glyphs (MMPretrain's
# CustomDataset layout). Train, val and test share no typeface design: the
# task is to read a character in a typeface never seen. The images are
# augmented when rendered (affine, blur, noise), so training adds no
# augmentation (and never a flip: a flipped 'b' is a 'd').
dataset_type = 'CustomDataset'
data_root = 'data/glyphs'
# The training split's pixel mean and std (manifest.json: train_mean,
# train_std).
data_preprocessor = dict(num_classes=118, mean=[28.31], std=[44.16])

# Grayscale: LoadImageFromFile here reads one channel, but
# ImageClassificationInferencer replaces it by its own loading, which reads
# every file as three channels.
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='Grayscale'),
    dict(type='PackInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=500,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Top-1 accuracy, and how well the confidence is calibrated (as for
# Fashion-MNIST: configs/_base_/datasets/fashion_mnist_bs128.py).
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='ExpectedCalibrationError', num_bins=15),
    dict(type='NegativeLogLikelihood'),
]
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], data_prefix='test'))
test_evaluator = val_evaluator
